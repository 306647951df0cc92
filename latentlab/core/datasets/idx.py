"""MNIST, Fashion-MNIST and KMNIST: their four IDX files found in torchvision's
layout, read with every declared size checked before memory is allocated, and
downloaded through torchvision only when asked."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentlab.core.catalog import IDX_SETS
from latentlab.core.datasets.image_dataset import ImageDataset, check_data_dir
from latentlab.core.errors import DataError
from latentlab.core.limits import format_bytes, idx_limit, memory_budget
from latentlab.core.text import printable_path

if TYPE_CHECKING:
    import numpy.typing as npt

# deflate's best case is ~1032:1; a .gz declaring more than this per stored byte
# cannot hold what its IDX header promises.
_MAX_GZIP_RATIO = 1100
_READ_CHUNK = 1 << 20


_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


SHIPPED_SETS = ("mnist",)  # with the package: the subset the shipped models need


def shipped_data_dir() -> Path:
    """The data shipped with LatentLab (``resources/data``: the MNIST subset
    the shipped MNIST models were trained on; see its README for the licence)."""
    from latentlab.core.resources import resources_dir

    return resources_dir() / "data"


def find_dataset_files(
    key: str, data_dir: str | os.PathLike[str]
) -> tuple[dict[str, Path], bool] | None:
    """The four IDX files of ``key``: in ``data_dir`` when there, else the
    shipped copy (``True`` second); None when neither has them."""
    files = find_idx_files(key, data_dir)
    if files is not None:
        return files, False
    if key in SHIPPED_SETS:
        files = find_idx_files(key, shipped_data_dir())
        if files is not None:
            return files, True
    return None


def default_data_dir() -> Path:
    """``$LATENTLAB_DATA`` or ``~/.cache/latentlab/data``."""
    env = os.environ.get("LATENTLAB_DATA")
    return Path(env) if env else Path.home() / ".cache" / "latentlab" / "data"


def find_idx_files(
    key: str, data_dir: str | os.PathLike[str]
) -> dict[str, Path] | None:
    """Locate the four IDX files of ``key`` under ``data_dir``, or None."""
    folder = IDX_SETS[key][0]
    root = Path(data_dir)
    candidates = [root / folder / "raw", root / "raw", root]
    for base in candidates:
        found = {}
        for part, stem in _IDX_FILES.items():
            for name in (stem + ".gz", stem):
                if (base / name).is_file():
                    found[part] = base / name
                    break
        if len(found) == len(_IDX_FILES):
            return found
    return None


def load_idx_dataset(
    key: str, data_dir: str | os.PathLike[str] | None = None, *, download: bool = False
) -> ImageDataset:
    """Read an IDX dataset from ``data_dir`` (torchvision layout)."""
    import torch

    folder, class_names = IDX_SETS[key]
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    names = ", ".join(stem + ".gz" for stem in _IDX_FILES.values())
    if data_dir is not None:
        check_data_dir(root)
        if not root.is_dir():
            raise DataError(
                f"data directory {printable_path(root)} does not exist. Create it "
                f"and put {names} into {printable_path(root / folder / 'raw')}."
            )
    files = find_idx_files(key, root)
    if files is None and download:
        _download_with_torchvision(key, root)
        files = find_idx_files(key, root)
    if files is None:
        raise DataError(
            f"{folder} not found in {root}. Put {names} into "
            f"{root / folder / 'raw'} (or allow a download when online)."
        )
    # One budget for the four files: each may not take what the others need.
    budget = min(4 * idx_limit(), memory_budget())
    arrays = {}
    for part, path in files.items():
        limit = min(budget, idx_limit())
        array = read_idx(path, ndim=3 if part.endswith("images") else 1, limit=limit)
        budget -= array.nbytes
        arrays[part] = array
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{folder} {split} files disagree: images {images.shape}, "
                f"labels {labels.shape} (in {files[f'{split}_images'].parent})"
            )
        if labels.size and int(labels.max()) >= len(class_names):
            raise DataError(
                f"{folder} {split} labels exceed {len(class_names)} classes"
            )
    train_hw = arrays["train_images"].shape[1:]
    test_hw = arrays["test_images"].shape[1:]
    if train_hw != test_hw:
        raise DataError(
            f"{folder} train images are {train_hw[0]}x{train_hw[1]} but test images "
            f"are {test_hw[0]}x{test_hw[1]} (in {files['test_images'].parent})"
        )
    return ImageDataset(
        name=key,
        train_images=torch.from_numpy(arrays["train_images"]),
        train_labels=torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        test_images=torch.from_numpy(arrays["test_images"]),
        test_labels=torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        class_names=class_names,
        source=str(files["train_images"].parent),
    )


def read_idx(
    path: str | os.PathLike[str],
    *,
    ndim: int | None = None,
    limit: int | None = None,
) -> npt.NDArray[np.uint8]:
    """Read a uint8 IDX file (optionally gzipped) into an array.

    The header is read first, and its declared size is checked against
    ``limit`` (default :func:`~latentlab.core.limits.idx_limit`) and against
    what the file can hold before any memory is allocated; the body is then
    read in bounded chunks straight into the array, and must end exactly
    where the header says. A gzip stream that inflates past that point is
    refused without being inflated further.

    Parameters
    ----------
    ndim : int, optional
        Refuse a file with another number of dimensions (3 for images, 1 for
        labels), before reading its body.
    limit : int, optional
        Most bytes the body may have.
    """
    path = Path(path)
    limit = idx_limit() if limit is None else limit
    shown = printable_path(path)
    try:
        stored = path.stat().st_size
        opened = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")
    except OSError as exc:
        raise DataError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    try:
        with opened as fh:
            return _read_idx_stream(
                fh, shown, stored, ndim, limit, path.suffix == ".gz"
            )
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {shown}: {exc}") from exc


def _read_exactly(fh: Any, n: int) -> bytes:
    data = fh.read(n)
    return data if data is not None else b""


def _read_idx_stream(
    fh: Any, shown: str, stored: int, ndim: int | None, limit: int, gz: bool
) -> npt.NDArray[np.uint8]:
    magic = _read_exactly(fh, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08:
        raise DataError(f"{shown} is not a uint8 IDX file")
    dims = magic[3]
    head = _read_exactly(fh, 4 * dims)
    if dims < 1 or len(head) < 4 * dims:
        raise DataError(f"{shown} has a malformed IDX header")
    shape = tuple(int.from_bytes(head[4 * i : 4 * i + 4], "big") for i in range(dims))
    if ndim is not None and dims != ndim:
        raise DataError(
            f"{shown} has {dims} dimension(s) {'x'.join(map(str, shape))}; "
            f"expected {ndim}"
        )
    count = math.prod(shape)  # exact: np.prod would wrap for a bogus header
    if count > limit:
        raise DataError(
            f"{shown} declares {count:,} values ({format_bytes(count)}), more than "
            f"LatentLab reads into memory on this machine ({format_bytes(limit)})"
        )
    room = stored * _MAX_GZIP_RATIO if gz else stored - 4 - 4 * dims
    if count > room:
        raise DataError(
            f"{shown} is truncated or padded: header says {count} values, the file "
            f"can hold at most {max(room, 0)}"
        )
    out = np.empty(count, np.uint8)
    view = memoryview(out)
    got = 0
    while got < count:
        n = fh.readinto(view[got : got + _READ_CHUNK])
        if not n:
            break
        got += n
    if got < count or _read_exactly(fh, 1):
        # Past the declared end nothing more is inflated: "more" is all we know.
        held = str(got) if got < count else "more"
        raise DataError(
            f"{shown} is truncated or padded: header says {count} values, file "
            f"holds {held}"
        )
    return out.reshape(shape)


def _download_with_torchvision(key: str, root: Path) -> None:
    folder = IDX_SETS[key][0]
    try:
        import torchvision.datasets as tvd
    except Exception as exc:  # torchvision may be broken beside this torch
        raise DataError(
            f"{folder} is not in {root} and torchvision, needed to download it, "
            f"cannot be imported ({exc}). Copy the four .gz files into "
            f"{root / folder / 'raw'} instead."
        ) from exc
    cls = getattr(tvd, folder)
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as exc:  # network errors come in many types
        # torchvision's messages span lines and end in a newline: one line here.
        reason = " ".join(str(exc).split()).rstrip(".") or type(exc).__name__
        raise DataError(
            f"could not download {folder} into {root}: {reason}. Without internet, "
            f"copy the four .gz files into {root / folder / 'raw'}."
        ) from exc
