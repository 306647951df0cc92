"""CIFAR-10 from its official "python version": six pickled batches and their
meta file, read by an unpickler that builds numpy arrays and plain values only,
so a batch file can name no function that runs.

The batches are Python 2 pickles (protocol 2) of dicts with bytes keys; a batch
holds ``b"data"`` (uint8, one 3,072-byte row an image: the 32x32 red plane, then
green, then blue) and ``b"labels"``. Every global a pickle names goes through
:meth:`_BatchUnpickler.find_class`, which hands back stand-ins that check their
arguments (an array is only ever built by :func:`numpy.frombuffer` from bytes
of exactly its declared size) and refuses everything else by name.
"""

from __future__ import annotations

import _compat_pickle
import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.core.datasets.image_dataset import ImageDataset, check_data_dir
from latentlab.core.errors import DataError
from latentlab.core.limits import format_bytes, memory_budget
from latentlab.core.text import describe, printable, printable_path, shape_text

# torchvision's folder name, and the files in it LatentLab reads.
BATCHES_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
CIFAR_FILES = (*TRAIN_BATCHES, TEST_BATCH, META_FILE)

# An official batch is 31 MB; a file far larger is not one, and is not read.
MAX_BATCH_BYTES = 200_000_000
IMAGE_BYTES = 3 * 32 * 32
N_CLASSES = 10
# Numeric dtypes an array in a batch may have (anything else is refused).
_DTYPES = frozenset(
    f"{kind}{size}" for kind in "iu" for size in (1, 2, 4, 8)
) | frozenset({"f4", "f8", "b1"})
_MAX_DIMS = 8


class _Refused(Exception):
    """The pickle names a global a CIFAR batch never holds."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Malformed(Exception):
    """An allowed global was used in a way numpy's pickles never use it."""


def cifar_files(root: str | os.PathLike[str]) -> list[Path]:
    """The seven files :func:`load_cifar10` would read under ``root`` (the
    batches folder itself, or a folder holding ``cifar-10-batches-py``), found
    without being read; ``[]`` unless all of them are there."""
    folder = _batches_dir(Path(root))
    if folder is None:
        return []
    files = [folder / name for name in CIFAR_FILES]
    return files if all(f.is_file() for f in files) else []


def load_cifar10(root: str | os.PathLike[str]) -> ImageDataset:
    """Read CIFAR-10 (50,000 train, 10,000 test RGB images of 32x32).

    Parameters
    ----------
    root : path
        The folder ``cifar-10-batches-py`` (``data_batch_1`` … ``data_batch_5``,
        ``test_batch``, ``batches.meta``), or a folder holding it (torchvision's
        layout). A batch may hold any number of images.

    Raises
    ------
    DataError
        Files are missing, too large, malformed, of another layout, or name a
        Python object a CIFAR batch never holds (nothing in them is run).
    """
    import torch

    root = Path(root)
    check_data_dir(root, what="CIFAR-10 folder")
    if not root.is_dir():
        raise DataError(
            f"CIFAR-10 folder {printable_path(root)} does not exist. "
            f"{_layout_hint(root)}"
        )
    folder = _batches_dir(root) or root
    missing = [name for name in CIFAR_FILES if not (folder / name).is_file()]
    if missing:
        raise DataError(
            f"CIFAR-10 files missing in {printable_path(folder)}: "
            f"{', '.join(missing)}. {_layout_hint(root)}"
        )
    sizes = {name: _file_size(folder / name) for name in CIFAR_FILES}
    # The pickles' bytes, then the arrays copied into one stack: about twice.
    need = 2 * sum(sizes.values())
    if need > memory_budget():
        raise DataError(
            f"the CIFAR-10 files in {printable_path(folder)} add up to "
            f"{format_bytes(sum(sizes.values()))}; reading them needs about "
            f"{format_bytes(need)}, more than LatentLab uses on this machine "
            f"({format_bytes(memory_budget())})"
        )
    class_names = _class_names(_read_pickle(folder / META_FILE), folder)
    splits = {}
    for split, names in (("train", TRAIN_BATCHES), ("test", (TEST_BATCH,))):
        parts = [_batch(folder / name, _read_pickle(folder / name)) for name in names]
        images = np.concatenate([p[0] for p in parts]).reshape(-1, 3, 32, 32)
        labels = np.concatenate([p[1] for p in parts])
        splits[split] = (torch.from_numpy(images), torch.from_numpy(labels))
    return ImageDataset(
        name="cifar10",
        train_images=splits["train"][0],
        train_labels=splits["train"][1],
        test_images=splits["test"][0],
        test_labels=splits["test"][1],
        class_names=class_names,
        source=str(folder),
    )


def _read_pickle(path: str | os.PathLike[str]) -> Any:
    """Unpickle one CIFAR file (``encoding="bytes"``) into plain values (a
    dict's arrays as numpy arrays), refusing a file over :data:`MAX_BATCH_BYTES`
    before reading it and any global but the few numpy's array pickles name.

    Raises
    ------
    DataError
        Unreadable, too large, malformed, or naming another global (by name:
        nothing the file names is imported or called).
    """
    path = Path(path)
    shown = printable_path(path)
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_BATCH_BYTES:
                raise DataError(
                    f"{shown} is {format_bytes(size)}; a CIFAR-10 batch is about "
                    f"31 MB, and LatentLab reads none over "
                    f"{format_bytes(MAX_BATCH_BYTES)}"
                )
            loaded = _BatchUnpickler(fh).load()
    except DataError:
        raise
    except _Refused as exc:
        raise DataError(
            f"{shown} was refused: it names `{printable(exc.name, 80)}`, which a "
            "CIFAR batch never holds; LatentLab does not run code from data files, "
            "so nothing in it was run"
        ) from None
    except _Malformed as exc:
        raise DataError(f"{shown} is not a CIFAR-10 file: {exc}") from None
    except OSError as exc:
        raise DataError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    except RecursionError:
        raise DataError(
            f"{shown} is not a CIFAR-10 file: it nests too deeply"
        ) from None
    except MemoryError:
        raise DataError(f"{shown} is not a CIFAR-10 file: it is too large") from None
    except Exception:  # opcode, stack and memo faults come in every type
        raise DataError(
            f"{shown} is not a CIFAR-10 file: its pickle data is malformed"
        ) from None
    if isinstance(loaded, dict):
        return {k: v.array if isinstance(v, _Array) else v for k, v in loaded.items()}
    return loaded


class _NDArrayType:
    """What ``numpy.ndarray`` stands for: only ever passed to _reconstruct."""


_NDARRAY = _NDArrayType()


def _text(value: Any) -> str | None:
    """A str, or ASCII bytes (Python 2's str read as bytes), as str; else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes) and value.isascii():
        return value.decode("ascii")
    return None


class _DType:
    """A numeric dtype named by ``numpy.dtype(spec, align, copy)``; its BUILD
    state may set only the byte order."""

    __slots__ = ("dtype",)

    def __init__(self, spec: Any, align: Any = False, copy: Any = True) -> None:
        text = _text(spec)
        if text not in _DTYPES:
            raise _Malformed(
                f"it holds an array of type {describe(spec)}; a CIFAR batch holds "
                "numbers only"
            )
        self.dtype = np.dtype(text)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) < 2:
            raise _Malformed("an array's type has an odd description")
        order = _text(state[1])
        if order not in ("<", ">", "|", "="):
            raise _Malformed("an array's type has an odd byte order")
        if order in ("<", ">"):
            self.dtype = self.dtype.newbyteorder(order)


class _Array:
    """An array from ``_reconstruct``; BUILD gives it its shape, type and data,
    which must be exactly as many bytes as they declare."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _Malformed("an array has an odd state")
        shape, dtype, fortran, data = state[-4:]
        if (
            not isinstance(shape, tuple)
            or len(shape) > _MAX_DIMS
            or not all(type(n) is int and n >= 0 for n in shape)
        ):
            raise _Malformed(f"an array has the shape {describe(shape)}")
        if not isinstance(dtype, _DType) or not isinstance(data, bytes):
            raise _Malformed("an array has no plain data")
        need = math.prod(shape) * dtype.dtype.itemsize  # exact for any shape
        if need != len(data):
            raise _Malformed(
                f"an array of shape {shape_text(shape)} holds {len(data):,} bytes, "
                f"not the {need:,} it declares"
            )
        flat = np.frombuffer(data, dtype=dtype.dtype)
        self.array = flat.reshape(shape, order="F" if fortran else "C")


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _Array:
    """``numpy.core.multiarray._reconstruct(ndarray, (0,), b"b")``: numpy's
    pickles make an empty array and fill it with BUILD."""
    if subtype is not _NDARRAY or _text(typecode) not in ("b", "B"):
        raise _Malformed("it rebuilds an array in a way numpy does not")
    if not isinstance(shape, tuple) or not all(type(n) is int for n in shape):
        raise _Malformed("it rebuilds an array in a way numpy does not")
    return _Array()


def _latin1(text: Any, encoding: Any = "utf-8") -> bytes:
    """``_codecs.encode(text, "latin1")``: how a Python 3 protocol-2 pickle
    writes bytes. Only that: no other codec, no other argument type."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise _Malformed("it calls _codecs.encode as no pickle of bytes does")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    """``bytes()``: how a Python 3 protocol-2 pickle writes ``b""``."""
    if args:
        raise _Malformed("it calls bytes() as no pickle of bytes does")
    return b""


_ALLOWED: dict[str, Any] = {
    "numpy.core.multiarray._reconstruct": _reconstruct,
    "numpy._core.multiarray._reconstruct": _reconstruct,
    "numpy.ndarray": _NDARRAY,
    "numpy.dtype": _DType,
    "_codecs.encode": _latin1,
    "builtins.bytes": _empty_bytes,
}


class _BatchUnpickler(pickle.Unpickler):
    """Plain values and numpy arrays only; every other global is refused."""

    def __init__(self, fh: Any) -> None:
        super().__init__(fh, encoding="bytes")

    def find_class(self, module: str, name: str) -> Any:
        # Python 2's names as Python 3 calls them (``__builtin__`` is
        # ``builtins``), as pickle's own find_class maps them.
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        else:
            module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        found = _ALLOWED.get(f"{module}.{name}")
        if found is None:
            raise _Refused(f"{module}.{name}")
        return found


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise DataError(
            f"cannot read {printable_path(path)}: {exc.strerror or exc}"
        ) from exc


def _batches_dir(root: Path) -> Path | None:
    """``root`` when it holds CIFAR files, else ``root/cifar-10-batches-py``
    when that is a folder; None when neither."""
    for folder in (root, root / BATCHES_FOLDER):
        if folder.is_dir() and any((folder / n).is_file() for n in CIFAR_FILES):
            return folder
    nested = root / BATCHES_FOLDER
    return nested if nested.is_dir() else None


def _layout_hint(root: Path) -> str:
    nested = printable_path(root / BATCHES_FOLDER)
    return (
        f"Extract cifar-10-python.tar.gz so that {nested} holds "
        f"{', '.join(CIFAR_FILES)}; give that folder or the one above it."
    )


def _get(d: dict[Any, Any], key: str) -> Any:
    """``d[b"key"]`` (Python 2's pickles), else ``d["key"]``, else None."""
    value = d.get(key.encode("ascii"))
    return d.get(key) if value is None else value


def _class_names(meta: Any, folder: Path) -> tuple[str, ...]:
    shown = printable_path(folder / META_FILE)
    if not isinstance(meta, dict):
        raise DataError(f"{shown} holds {describe(meta)}, not CIFAR-10's meta dict")
    names = _get(meta, "label_names")
    if names is None:
        hint = " (CIFAR-100's?)" if _get(meta, "fine_label_names") is not None else ""
        raise DataError(
            f"{shown} has no label_names{hint}; LatentLab reads CIFAR-10's batches.meta"
        )
    if not isinstance(names, list) or len(names) != N_CLASSES:
        raise DataError(
            f"{shown}: label_names should be a list of {N_CLASSES} names, not "
            f"{describe(names)}"
        )
    out = []
    for i, raw in enumerate(names):
        text = _text(raw)
        if not text or not text.isprintable() or not text.isascii() or len(text) > 40:
            raise DataError(
                f"{shown}: class name {i} is {describe(raw)}, not a short ASCII name"
            )
        out.append(text)
    return tuple(out)


def _batch(path: Path, batch: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(data (n, 3072) uint8, labels (n,) int64)`` of one unpickled batch."""
    shown = printable_path(path)
    if not isinstance(batch, dict):
        raise DataError(f"{shown} holds {describe(batch)}, not a CIFAR-10 batch dict")
    data, labels = _get(batch, "data"), _get(batch, "labels")
    if labels is None and _get(batch, "fine_labels") is not None:
        raise DataError(
            f"{shown} is a CIFAR-100 batch (fine_labels); LatentLab reads CIFAR-10"
        )
    if data is None or labels is None:
        absent = " and ".join(
            k for k, v in (("data", data), ("labels", labels)) if v is None
        )
        raise DataError(f"{shown} has no {absent}; it is not a CIFAR-10 batch")
    if not isinstance(data, np.ndarray):
        raise DataError(f"{shown}: data is {describe(data)}, not a numpy array")
    if data.dtype != np.uint8:
        raise DataError(f"{shown}: data is {data.dtype}, not uint8 pixels")
    if data.ndim != 2 or data.shape[1] != IMAGE_BYTES:
        raise DataError(
            f"{shown}: data is {shape_text(data.shape)}; CIFAR-10's is n x "
            f"{IMAGE_BYTES} (3 planes of 32x32 a row)"
        )
    label_array = _labels(shown, labels)
    if len(label_array) != len(data):
        raise DataError(
            f"{shown} has {len(data):,} images but {len(label_array):,} labels"
        )
    return data, label_array


def _labels(shown: str, labels: Any) -> np.ndarray:
    if isinstance(labels, np.ndarray):
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise DataError(
                f"{shown}: labels are a {labels.dtype} array of shape "
                f"{shape_text(labels.shape)}, not a list of class numbers"
            )
        values = labels.tolist()
    elif isinstance(labels, list):
        values = labels
    else:
        raise DataError(f"{shown}: labels are {describe(labels)}, not a list")
    for i, v in enumerate(values):
        if type(v) is not int:
            raise DataError(f"{shown}: label {i} is {describe(v)}, not a whole number")
        if not 0 <= v < N_CLASSES:
            raise DataError(
                f"{shown}: label {i} is {describe(v)}; CIFAR-10's are class "
                f"numbers 0 to {N_CLASSES - 1}"
            )
    return np.array(values, dtype=np.int64)
