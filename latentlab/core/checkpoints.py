"""Checkpoint files: one model each, saved atomically, loaded without pickled code.

A checkpoint is a dict of tensors and primitives only, in torch's zip format.
Loading reads nothing blindly: the zip's directory is checked first (stored
entries only, sizes within the file), then the pickle is read by a stub
unpickler that builds no tensor and calls nothing, so the config, every
tensor's declared size and layout, and every other field are checked against
the format and the machine's memory before ``torch.load(..., weights_only=True)``
allocates anything. The model is built and filled before :func:`load_checkpoint`
returns. Every failure raises :class:`CheckpointError` naming the file and
saying, in one line, what is wrong with it.

Every number in the record is bounded before it is used or shown: a history's
epochs run from 1 to :data:`MAX_EPOCH` and strictly increase, its figures and
the metrics are finite, other integers fit 64 bits, and JSON integers have at
most 20 digits. Messages show numbers and strings from the file only through
:mod:`latentlab.core.text`, so no file makes a message long, and none reaches
Python's limit on turning a huge integer into text.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import io
import json
import math
import os
import pickle
import stat
import struct
import warnings
import zipfile
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import torch

from latentlab import __version__
from latentlab.core import safetensors_io
from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError, ConfigError
from latentlab.core.files import clean_stale_temps, temp_path
from latentlab.core.foreign import ForeignLayout, recognise
from latentlab.core.limits import format_bytes, memory_budget
from latentlab.core.models import build_model
from latentlab.core.text import (
    NumberError,
    bounded_int,
    describe,
    format_int,
    json_int,
    printable,
    printable_path,
    shape_text,
    shorten,
)
from latentlab.core.timeline import MAX_TIMELINE_POINTS, Timeline
from latentlab.core.training import EpochMetrics

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.models import Autoencoder

FORMAT_NAME = "latentlab-checkpoint"
FORMAT_VERSION = 1
SAFETENSORS_SUFFIX = ".safetensors"

# Bounds on what a file may declare. A 10,000-epoch history pickles to ~0.9 MB.
MAX_PICKLE_BYTES = 4 * 1024**2
MAX_ZIP_ENTRIES = 1024
MAX_HISTORY = 10_000
# The largest epoch number a history may name (LatentLab's runs stop at
# config.MAX_EPOCHS, 10,000; a plot or a table needs no more than this).
MAX_EPOCH = 1_000_000
# Integers in the dataset record and tensor sizes: 64-bit, as torch's are.
MAX_INT = 2**63 - 1
MAX_TEXT = 4096  # longest string kept from the dataset record (a path)
MAX_LIST = 10_000  # longest list in the dataset record (class names)
# Stored data beyond the model's own weights (unreferenced records) we tolerate.
DATA_SLACK_BYTES = 1024**2

_REQUIRED = ("format", "version", "config", "state_dict")
_OPTIONAL = (
    "latentlab_version",
    "created",
    "history",
    "dataset",
    "metrics",
    "timeline",
)
# The timeline's arrays: a 30-epoch 2-D run of 2,000 images holds ~0.5 MB.
MAX_TIMELINE_BYTES = 256 * 1024**2
MAX_RUN_ID = 64


@dataclass(slots=True)
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (CPU, eval mode) and its record."""

    model: Autoencoder
    path: Path | None = None
    history: list[EpochMetrics] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    created: str = ""
    # What a model trained elsewhere is ("PyTorch-example VAE, 784-400-20");
    # empty for LatentLab's own checkpoints.
    origin: str = ""
    timeline: Timeline | None = None

    @property
    def needs_dataset(self) -> bool:
        """True for a model trained elsewhere whose file names no dataset."""
        return bool(self.origin) and not self.dataset.get("name")

    @property
    def config(self) -> ModelConfig:
        """The model's config."""
        return self.model.config

    @property
    def epochs(self) -> int:
        """Epochs trained (length of the history)."""
        return len(self.history)

    def title(self) -> str:
        """One-line description: kind, dataset, latent size, beta, epochs.

        The dataset name comes from the file, so it is escaped
        (:func:`~latentlab.core.text.printable`) and shortened.
        """
        cfg = self.config
        name = self.dataset.get("name")
        shown = printable(name, 60) if isinstance(name, str) else "unknown data"
        if self.origin:
            history = (
                f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
                if self.history
                else "no training history"
            )
            text = f"{printable(self.origin, 80)}, {history}"
            return text if name is None else f"{text} · {shown}"
        parts = [cfg.kind.upper(), shown]
        parts.append(f"{cfg.latent_dim}-D")
        if cfg.kind == "vae":
            parts.append(f"β={cfg.beta:g}")
        if cfg.backbone != "mlp":
            parts.append(cfg.backbone)
        parts.append(f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        return " · ".join(parts)


# --- saving -----------------------------------------------------------------------


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Autoencoder,
    *,
    history: Sequence[EpochMetrics] = (),
    dataset: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    overwrite: bool = False,
    timeline: Timeline | None = None,
) -> Path:
    """Write ``model`` and its record to ``path`` atomically.

    ``timeline`` (the run's codes of a test subset, epoch by epoch) is stored
    when given; files without one load as before.

    The bytes go to a temporary file in the same folder
    (``.<name>.latentlab-tmp-<pid>-<hex>``), are flushed to disk, and only then
    replace ``path``, so a crash, a full disk or Ctrl+C mid-save leaves the old
    file intact and removes the temporary one. Temporary files of earlier saves
    that were killed are removed first. Without ``overwrite`` the file is linked
    into place, so a file that appears meanwhile is not replaced either.

    Raises
    ------
    CheckpointError
        ``path`` exists and ``overwrite`` is False, or the write failed.
    KeyboardInterrupt
        Ctrl+C during the save, after the temporary file was removed.
    """
    target = Path(path)
    shown = printable_path(target)
    if target.is_dir():
        raise CheckpointError(f"cannot save to {shown}: it is a folder")
    if not all(torch.isfinite(v).all() for v in model.state_dict().values()):
        # load_checkpoint refuses such a file, so writing it would only lose data.
        raise CheckpointError(
            f"not saving {shown}: the model has NaN or infinite weights"
        )
    _check_record(shown, history, dataset, metrics)
    if target.exists() and not overwrite:
        raise CheckpointError(
            f"{shown} already exists; choose another name or allow overwriting"
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(
            f"cannot save to {shown}: folder {printable_path(folder)} does not exist"
        )
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "latentlab_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "config": model.config.to_dict(),
        "state_dict": {
            k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
        },
        "history": [asdict(m) for m in history],
        "dataset": dict(dataset or {}),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
    }
    if timeline is not None:
        if timeline.codes.shape[-1] != model.config.latent_dim:
            raise CheckpointError(
                f"not saving {shown}: its timeline's codes are "
                f"{timeline.codes.shape[-1]}-D, the model's {model.config.latent_dim}-D"
            )
        payload["timeline"] = timeline.to_record()
    clean_stale_temps(folder)
    tmp = temp_path(folder / target.name)
    existed = target.exists()
    try:
        # os.open honours the umask (mkstemp would make the file private, 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise CheckpointError(f"could not save {shown}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            if is_safetensors_path(target):
                safetensors_io.write(fh, payload["state_dict"], _metadata(payload))
            else:
                torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        _put_in_place(tmp, target, overwrite=overwrite)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise _save_error(exc, shown, existed) from exc
    _sync_folder(folder)
    return target


def _check_record(
    shown: str,
    history: Sequence[EpochMetrics],
    dataset: dict[str, Any] | None,
    metrics: dict[str, float] | None,
) -> None:
    """Refuse to save a record :func:`load_checkpoint` would refuse (epochs that
    repeat, a non-finite figure): writing it would only lose the model."""
    try:
        _history(shown, [asdict(m) for m in history])
        _dataset(shown, dict(dataset or {}))
        _metrics(shown, dict(metrics or {}))
    except CheckpointError as exc:
        reason = str(exc).removeprefix(f"{shown} has ")
        raise CheckpointError(f"not saving {shown}: it would have {reason}") from None


def is_safetensors_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a safetensors file (by its extension)."""
    return Path(path).suffix.lower() == SAFETENSORS_SUFFIX


def _metadata(payload: dict[str, Any]) -> dict[str, str]:
    """A checkpoint's record as safetensors string metadata: one JSON text per
    field, under the same names as in the torch format."""
    meta = {
        "format": FORMAT_NAME,
        "version": str(FORMAT_VERSION),
        "latentlab_version": str(payload["latentlab_version"]),
        "created": str(payload["created"]),
    }
    for key in ("config", "history", "dataset", "metrics"):
        meta[key] = json.dumps(payload[key], allow_nan=False)
    return meta


def _put_in_place(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic and never replaces: EEXIST if one appeared
    except FileExistsError as exc:
        raise CheckpointError(
            f"{printable_path(target)} already exists; choose another name or "
            "allow overwriting"
        ) from exc
    except OSError:
        # No hard links here (FAT, some network mounts): check, then rename.
        if target.exists():
            raise CheckpointError(
                f"{printable_path(target)} already exists; choose another name "
                "or allow overwriting"
            ) from None
        os.replace(tmp, target)
    else:
        tmp.unlink()


def _sync_folder(folder: Path) -> None:
    """Make the rename durable; best effort (not every system can)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _save_error(exc: BaseException, shown: str, existed: bool) -> BaseException:
    """What a failed save raises: Ctrl+C stays itself, the rest a CheckpointError."""
    if isinstance(exc, CheckpointError | KeyboardInterrupt) or not isinstance(
        exc, Exception
    ):
        return exc
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, KeyboardInterrupt) for e in chain) or (
        "KeyboardInterrupt" in str(exc)
    ):
        # torch's writer reports an exception raised in its Python callback as
        # its own RuntimeError; Ctrl+C must still end the program as Ctrl+C.
        return KeyboardInterrupt()
    os_error = next((e for e in chain if isinstance(e, OSError)), None)
    if os_error is not None:
        reason = os_error.strerror or str(os_error)
    else:
        reason = shorten(
            str(exc).strip().splitlines()[0]
            if str(exc).strip()
            else type(exc).__name__,
            160,
        )
    kept = "; the existing file is unchanged" if existed else ""
    return CheckpointError(f"could not save {shown}: {reason}{kept}")


# --- loading ----------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Everything is checked before anything large is allocated, and the model is
    built and holds the file's weights before this returns: a caller gets a
    complete :class:`Checkpoint` or a :class:`CheckpointError`, never half.

    Raises
    ------
    CheckpointError
        For any file that is not a readable, intact, consistent LatentLab
        checkpoint of a version this LatentLab understands, or one that would
        need more memory than :func:`~latentlab.core.limits.memory_budget`.
    """
    p = Path(path)
    shown = printable_path(p)
    with _open(p, shown) as (fh, size):
        head = fh.read(16)
        fh.seek(0)
        if is_safetensors_path(p) or (
            not head.startswith(b"PK")
            and safetensors_io.looks_like_safetensors(head, size)
        ):
            record, payload = _read_safetensors(fh, size, shown)
        else:
            archive = _read_archive(fh, size, shown)
            record = _dry_load(archive, shown)
            fh.seek(0)
            payload = _torch_load(fh, shown)
            if record.layout is not None:  # a plain state dict is all weights
                payload = {"state_dict": payload}
    try:
        return _build(p, shown, record, payload)
    except CheckpointError:
        raise
    except Exception as exc:  # last line of defence: torch faults on odd tensors
        raise CheckpointError(
            f"{shown}: its weights cannot be loaded ({_reason(exc)})"
        ) from exc


@contextlib.contextmanager
def _open(p: Path, shown: str):
    try:
        # One stat inside the try: a folder we may not enter raises PermissionError
        # here, and a FIFO or device must be refused before open() blocks on it.
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise CheckpointError(f"{shown} is a folder, not a checkpoint file")
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{shown} is not a regular file")
        if info.st_size == 0:
            raise CheckpointError(f"{shown} is empty (0 bytes)")
        fh = p.open("rb")
    except FileNotFoundError as exc:
        raise CheckpointError(f"{shown} does not exist") from exc
    except PermissionError as exc:
        raise CheckpointError(f"cannot read {shown}: permission denied") from exc
    except OSError as exc:
        raise CheckpointError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    with fh:
        size = os.fstat(fh.fileno()).st_size  # the file we opened, not the name's
        budget = memory_budget()
        if size > budget:
            raise CheckpointError(
                f"{shown} is {format_bytes(size)}, more than LatentLab reads on "
                f"this machine ({format_bytes(budget)})"
            )
        yield fh, size


@dataclass(frozen=True, slots=True)
class _Archive:
    pickle: bytes
    records: dict[str, int]  # storage key -> stored bytes
    data_bytes: int


def _corrupt(shown: str, reason: str) -> CheckpointError:
    return CheckpointError(f"{shown} is corrupt or not a PyTorch file ({reason})")


def _read_archive(fh: BinaryIO, size: int, shown: str) -> _Archive:
    """Check the zip's directory and CRCs, and return its pickle and record sizes.

    torch.save stores every entry uncompressed; a compressed entry can declare
    gigabytes in a few kilobytes, so it is refused before anything inflates.
    """
    if not zipfile.is_zipfile(fh):
        fh.seek(0)
        head = fh.read(MAX_PICKLE_BYTES)
        _refuse_code(head, shown)  # a bare pickle asking for code says so
        raise _corrupt(shown, "not a zip archive, the format torch.save writes")
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            if not infos or len(infos) > MAX_ZIP_ENTRIES:
                raise _corrupt(shown, f"its zip archive has {len(infos)} entries")
            prefix = infos[0].filename.split("/", 1)[0] + "/"
            records: dict[str, int] = {}
            for info in infos:
                if not info.filename.startswith(prefix):
                    raise _corrupt(shown, "its zip entries are not in one folder")
                if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
                    raise _corrupt(
                        shown,
                        "it holds compressed or encrypted entries, which torch.save "
                        "never writes",
                    )
                end = info.header_offset + info.file_size
                if info.file_size != info.compress_size or end > size:
                    raise _corrupt(
                        shown, "its zip directory declares sizes beyond the file"
                    )
                name = info.filename[len(prefix) :]
                if name.startswith("data/"):
                    records[name[5:]] = info.file_size
            try:
                pkl = zf.getinfo(prefix + "data.pkl")
            except KeyError:
                raise _corrupt(shown, "it has no data.pkl") from None
            if pkl.file_size > MAX_PICKLE_BYTES:
                raise CheckpointError(
                    f"{shown} has {format_bytes(pkl.file_size)} of pickled data, more "
                    "than a LatentLab checkpoint holds "
                    f"({format_bytes(MAX_PICKLE_BYTES)})"
                )
            bad = zf.testzip()  # reads every entry in 1 MB chunks: checks CRCs
            if bad is not None:
                raise _corrupt(shown, f"the data of {printable(bad, 80)} is damaged")
            data = zf.read(pkl)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise _corrupt(shown, f"damaged zip archive: {_reason(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise _corrupt(shown, "a zip entry's name is not valid text") from exc
    except NotImplementedError as exc:  # zipfile: "zip file version 21.6" etc.
        raise _corrupt(shown, "it uses zip features torch.save never writes") from exc
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # a seek to a negative offset it declares
            raise _corrupt(shown, "damaged zip archive") from exc
        raise CheckpointError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    except (EOFError, ValueError, struct.error, OverflowError) as exc:
        raise _corrupt(shown, "damaged zip archive") from exc
    return _Archive(data, records, sum(records.values()))


# --- the stub unpickler -------------------------------------------------------------

# torch's storage classes -> (dtype name, element size).
_STORAGES = {
    "FloatStorage": ("float32", 4),
    "DoubleStorage": ("float64", 8),
    "HalfStorage": ("float16", 2),
    "BFloat16Storage": ("bfloat16", 2),
    "LongStorage": ("int64", 8),
    "IntStorage": ("int32", 4),
    "ShortStorage": ("int16", 2),
    "CharStorage": ("int8", 1),
    "ByteStorage": ("uint8", 1),
    "BoolStorage": ("bool", 1),
    "ComplexFloatStorage": ("complex64", 8),
    "ComplexDoubleStorage": ("complex128", 16),
}
_LAYOUT_WORDS = {
    "torch._utils._rebuild_sparse_tensor": "a sparse tensor",
    "torch._utils._rebuild_sparse_csr_tensor": "a sparse tensor",
    "torch._utils._rebuild_qtensor": "a quantized tensor",
    "torch._utils._rebuild_meta_tensor_no_storage": "a tensor without data (meta)",
    "torch._utils._rebuild_nested_tensor": "a nested tensor",
    "torch._utils._rebuild_wrapper_subclass": "a tensor subclass",
    "torch._utils._rebuild_parameter": "an nn.Parameter",
    "torch._utils._rebuild_parameter_with_state": "an nn.Parameter",
    "torch._utils._rebuild_device_tensor_from_numpy": "a numpy-backed tensor",
}


class _Refused(Exception):
    """The pickle names a global outside the few a checkpoint uses."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class _Malformed(Exception):
    """The pickle is well-formed but not torch's layout of a tensor."""


@dataclass(frozen=True, slots=True)
class _StorageType:
    dtype: str
    itemsize: int


@dataclass(frozen=True, slots=True, repr=False)
class _StorageStub:
    key: str
    dtype: str
    numel: int

    def __repr__(self) -> str:
        return f"stored {self.dtype} data"


@dataclass(frozen=True, slots=True, repr=False)
class _TensorStub:
    storage: _StorageStub
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def __repr__(self) -> str:  # what a message shows of a misplaced tensor
        return f"a tensor of shape {'x'.join(map(str, self.shape)) or '()'}"


def _ints(value: Any) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(
        type(v) is int and v >= 0 for v in value
    ):
        raise _Malformed("a tensor's size or stride is not a tuple of integers")
    if any(v > MAX_INT for v in value):  # torch's sizes are 64-bit
        raise _Malformed("a tensor's size or stride is beyond 64 bits")
    return value


def _rebuild_stub(
    storage: Any,
    storage_offset: Any,
    size: Any,
    stride: Any,
    requires_grad: Any = False,
    backward_hooks: Any = None,
    metadata: Any = None,
) -> _TensorStub:
    if not isinstance(storage, _StorageStub) or type(storage_offset) is not int:
        raise _Malformed("a tensor does not point at stored data")
    if (
        not 0 <= storage_offset <= MAX_INT
        or type(requires_grad) is not bool
        or metadata
    ):
        raise _Malformed("a tensor has an odd offset, flag or metadata")
    if backward_hooks is not None and backward_hooks != OrderedDict():
        raise _Malformed("a tensor carries backward hooks")
    shape, strides = _ints(size), _ints(stride)
    if len(shape) != len(strides) or len(shape) > 8:
        raise _Malformed("a tensor's size and stride disagree")
    return _TensorStub(storage, storage_offset, shape, strides)


class _StubUnpickler(pickle.Unpickler):
    """Reads data.pkl into plain values and stubs; builds and calls nothing else."""

    def __init__(self, data: bytes, records: dict[str, int]) -> None:
        super().__init__(io.BytesIO(data))
        self._records = records
        self._storages: dict[str, _StorageStub] = {}

    def find_class(self, module: str, name: str) -> Any:
        full = f"{module}.{name}"
        if full == "torch._utils._rebuild_tensor_v2":
            return _rebuild_stub
        if full == "collections.OrderedDict":
            return OrderedDict
        if module == "torch" and name in _STORAGES:
            return _StorageType(*_STORAGES[name])
        raise _Refused(full)

    def persistent_load(self, pid: Any) -> _StorageStub:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise _Malformed("it refers to data in a way torch.save does not")
        _, kind, key, location, numel = pid
        if not isinstance(kind, _StorageType) or not isinstance(key, str):
            raise _Malformed("it refers to data of an unknown type")
        if (
            not isinstance(location, str)
            or type(numel) is not int
            or not 0 <= numel <= MAX_INT
        ):
            raise _Malformed("it refers to data with an odd size or place")
        known = self._storages.get(key)
        if known is not None:
            if (known.dtype, known.numel) != (kind.dtype, numel):
                raise _Malformed(f"record {printable(key, 40)} is read two ways")
            return known
        stored = self._records.get(key)
        if stored is None:
            raise _Malformed(f"record data/{printable(key, 40)} is missing")
        if stored != numel * kind.itemsize:
            raise _Malformed(
                f"record data/{printable(key, 40)} holds {stored:,} bytes but is "
                f"declared as {format_int(numel)} {kind.dtype} values"
            )
        stub = _StorageStub(key, kind.dtype, numel)
        self._storages[key] = stub
        return stub


def _refused_message(shown: str, name: str) -> CheckpointError:
    what = _LAYOUT_WORDS.get(name)
    if what is not None:
        return CheckpointError(
            f"{shown} was refused: it holds {what} ({name}); LatentLab checkpoints "
            "hold only dense float32 weights"
        )
    return CheckpointError(
        f"{shown} was refused: it asks to build the Python object "
        f"{printable(name, 80)}. LatentLab reads only tensors and plain values, so "
        "nothing in the file was executed"
    )


def _refuse_code(data: bytes, shown: str) -> None:
    """Raise the refusal if a bare pickle asks for a global; else return."""
    try:
        _StubUnpickler(data, {}).load()
    except _Refused as exc:
        raise _refused_message(shown, exc.name) from None
    except Exception:  # anything else: not a pickle we recognise either
        return


def _unpickle(archive: _Archive, shown: str) -> Any:
    try:
        return _StubUnpickler(archive.pickle, archive.records).load()
    except _Refused as exc:
        raise _refused_message(shown, exc.name) from None
    except _Malformed as exc:
        raise CheckpointError(f"{shown} has malformed weights: {exc}") from None
    except RecursionError:
        raise _corrupt(shown, "its pickle data nests too deeply") from None
    except Exception:  # opcodes, stack and memo faults come in every type
        raise _corrupt(shown, "its pickle data is malformed") from None


# --- checking the record ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Record:
    config: ModelConfig
    expected: dict[str, tuple[int, ...]]
    history: list[EpochMetrics]
    dataset: dict[str, Any]
    metrics: dict[str, float]
    created: str
    layout: ForeignLayout | None = None  # a model trained elsewhere
    timeline: _TimelineShape | None = None


def _dry_load(archive: _Archive, shown: str) -> _Record:
    """Check everything the pickle declares, before torch allocates a byte."""
    payload = _unpickle(archive, shown)
    foreign = _foreign_record(shown, payload, archive.data_bytes)
    if foreign is not None:
        return foreign
    if type(payload) is not dict or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{shown} is not a LatentLab checkpoint: {_describe(payload)}"
        )
    version = payload.get("version")
    if type(version) is not int or version < 1:
        raise CheckpointError(
            f"{shown} has an invalid format version {describe(version)}"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{shown} was written by a newer LatentLab (format "
            f"v{format_int(version, grouped=False)}); this one reads up to "
            f"v{FORMAT_VERSION}. Upgrade LatentLab to open it."
        )
    extra = [k for k in payload if k not in _REQUIRED + _OPTIONAL]
    if extra:
        raise CheckpointError(
            f"{shown} has an unexpected field {describe(extra[0])}"
            + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        )
    try:
        config = ModelConfig.from_dict(payload.get("config"))
    except ConfigError as exc:
        raise CheckpointError(f"{shown} has an invalid model config: {exc}") from None
    state = payload.get("state_dict")
    if (
        type(state) not in (dict, OrderedDict)
        or not state
        or not all(
            isinstance(k, str) and isinstance(v, _TensorStub) for k, v in state.items()
        )
    ):
        raise CheckpointError(f"{shown} has no valid weights (state_dict)")
    expected = _expected_shapes(config)
    _check_shapes(shown, config, expected, {k: v.shape for k, v in state.items()})
    needed = 4 * sum(math.prod(s) for s in expected.values())
    budget = memory_budget()
    if needed > budget:
        raise CheckpointError(
            f"{shown}: its model needs {format_bytes(needed)}, more than LatentLab "
            f"loads on this machine ({format_bytes(budget)})"
        )
    for key, stub in state.items():
        _check_stub(shown, key, stub)
    timeline = _timeline_shape(shown, config, payload.get("timeline"))
    if timeline is not None:
        needed_all = needed + timeline.nbytes
        if needed_all > budget:
            raise CheckpointError(
                f"{shown}: its model and timeline need {format_bytes(needed_all)}, "
                f"more than LatentLab loads on this machine ({format_bytes(budget)})"
            )
        needed = needed_all
    if archive.data_bytes > needed + DATA_SLACK_BYTES:
        raise CheckpointError(
            f"{shown} stores {format_bytes(archive.data_bytes)} of data but its "
            f"model has {format_bytes(needed)} of weights"
        )
    return _Record(
        config=config,
        expected=expected,
        history=_history(shown, payload.get("history", [])),
        dataset=_dataset(shown, payload.get("dataset", {})),
        metrics=_metrics(shown, payload.get("metrics", {})),
        created=_short_text(shown, "created", payload.get("created", ""), 100),
        timeline=timeline,
    )


def _check_budget(shown: str, needed: int) -> None:
    budget = memory_budget()
    if needed > budget:
        raise CheckpointError(
            f"{shown}: its model needs {format_bytes(needed)}, more than LatentLab "
            f"loads on this machine ({format_bytes(budget)})"
        )


def _foreign_record(shown: str, payload: Any, data_bytes: int) -> _Record | None:
    """The record of a plain state dict in a layout :mod:`~latentlab.core.foreign`
    recognises, checked like a checkpoint's weights; None for anything else."""
    if (
        type(payload) not in (dict, OrderedDict)
        or not payload
        or not all(
            isinstance(k, str) and isinstance(v, _TensorStub)
            for k, v in payload.items()
        )
    ):
        return None
    layout = recognise({k: v.shape for k, v in payload.items()})
    if layout is None:
        return None
    needed = 4 * sum(math.prod(s) for s in layout.expected.values())
    _check_budget(shown, needed)
    for key, stub in payload.items():
        _check_stub(shown, key, stub)
    if data_bytes > needed + DATA_SLACK_BYTES:
        raise CheckpointError(
            f"{shown} stores {format_bytes(data_bytes)} of data but its model has "
            f"{format_bytes(needed)} of weights"
        )
    return _Record(
        config=layout.config,
        expected=dict(layout.expected),
        history=[],
        dataset={},
        metrics={},
        created="",
        layout=layout,
    )


def _json_field(shown: str, meta: dict[str, str], key: str, default: Any) -> Any:
    """A metadata field's JSON; its integers of at most 20 digits."""
    if key not in meta:
        return default
    try:
        return json.loads(meta[key], parse_int=json_int)
    except NumberError as exc:
        raise CheckpointError(
            f"{shown} has a malformed {key!r} field in its safetensors metadata: {exc}"
        ) from None
    except (ValueError, RecursionError):
        raise CheckpointError(
            f"{shown} has a malformed {key!r} field in its safetensors metadata"
        ) from None


def _read_safetensors(fh: BinaryIO, size: int, shown: str) -> tuple[_Record, Any]:
    """Check a safetensors file's header and record, then read its tensors.

    LatentLab's own files carry the record as JSON strings in the metadata
    (``format``, ``version``, ``config``, ``history``, ``dataset``,
    ``metrics``); a file without it loads when its tensors are in a layout
    :mod:`~latentlab.core.foreign` recognises (its metadata may name the
    dataset: ``"dataset": "mnist"`` or a JSON record).
    """
    try:
        header = safetensors_io.read_header(fh, size)
    except safetensors_io.SafetensorsFormatError as exc:
        raise CheckpointError(
            f"{shown} is corrupt or not a safetensors file ({exc})"
        ) from None
    meta = header.metadata
    shapes = header.shapes
    if meta.get("format") == FORMAT_NAME:
        version_text = meta.get("version", "")
        try:
            version = bounded_int(version_text, "the format version", max_digits=6)
        except NumberError:
            version = 0
        if version < 1:
            raise CheckpointError(
                f"{shown} has an invalid format version {describe(version_text)}"
            )
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{shown} was written by a newer LatentLab (format v{version}); "
                f"this one reads up to v{FORMAT_VERSION}. Upgrade LatentLab to "
                "open it."
            )
        try:
            config = ModelConfig.from_dict(_json_field(shown, meta, "config", None))
        except ConfigError as exc:
            raise CheckpointError(
                f"{shown} has an invalid model config: {exc}"
            ) from None
        expected = _expected_shapes(config)
        _check_shapes(shown, config, expected, shapes)
        layout = None
        history = _history(shown, _json_field(shown, meta, "history", []))
        dataset = _dataset(shown, _json_field(shown, meta, "dataset", {}))
        metrics = _metrics(shown, _json_field(shown, meta, "metrics", {}))
        created = _short_text(shown, "created", meta.get("created", ""), 100)
    else:
        layout = recognise(shapes)
        if layout is None:
            raise CheckpointError(
                f"{shown} is not a LatentLab checkpoint: a safetensors file of "
                f"{len(shapes)} tensors without LatentLab's record, in no layout "
                "LatentLab recognises (see the README, Models trained elsewhere)"
            )
        config, expected = layout.config, dict(layout.expected)
        history, metrics, created = [], {}, ""
        dataset = _foreign_dataset(shown, meta.get("dataset"))
    _check_budget(shown, 4 * sum(math.prod(s) for s in expected.values()))
    try:
        tensors = safetensors_io.read_tensors(fh, header)
    except safetensors_io.SafetensorsFormatError as exc:
        raise CheckpointError(f"{shown} has malformed weights: {exc}") from None
    record = _Record(config, expected, history, dataset, metrics, created, layout)
    return record, {"state_dict": tensors}


def _foreign_dataset(shown: str, raw: str | None) -> dict[str, Any]:
    """The dataset a foreign file's metadata names: a JSON record or a name."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw, parse_int=json_int)
    except NumberError as exc:
        raise CheckpointError(f"{shown} names its dataset oddly: {exc}") from None
    except (ValueError, RecursionError):
        value = raw
    if isinstance(value, dict):
        return _dataset(shown, value)
    if isinstance(value, str) and 0 < len(value) <= 100:
        return {"name": value}
    raise CheckpointError(f"{shown} names its dataset oddly: {describe(raw)}")


def _expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The state_dict shapes ``config`` implies; a "meta" model allocates nothing."""
    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in build_model(config).state_dict().items()}


def _check_shapes(
    shown: str,
    config: ModelConfig,
    expected: dict[str, tuple[int, ...]],
    got: dict[str, tuple[int, ...]],
) -> None:
    problems = [f"missing {k}" for k in expected if k not in got]
    problems += [f"unexpected {printable(k, 60)}" for k in got if k not in expected]
    problems += [
        f"{k} is {shape_text(got[k])} in the file, {shape_text(shape)} for the config"
        for k, shape in expected.items()
        if k in got and got[k] != shape
    ]
    if problems:
        shown_problems = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CheckpointError(
            f"{shown}: the weights do not fit its config ({config.kind}, latent "
            f"{config.latent_dim}, {config.backbone}): {shown_problems}{more}"
        )


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _check_stub(shown: str, key: str, stub: _TensorStub) -> None:
    if stub.storage.dtype != "float32":
        raise CheckpointError(
            f"{shown} has malformed weights: {key} is {stub.storage.dtype}, "
            "LatentLab stores float32"
        )
    numel = math.prod(stub.shape)
    if numel and any(
        st != want
        for n, st, want in zip(
            stub.shape, stub.stride, _contiguous_strides(stub.shape), strict=True
        )
        if n > 1
    ):
        raise CheckpointError(
            f"{shown} has malformed weights: {key} is not stored contiguously "
            "(a view or an expanded tensor)"
        )
    if stub.offset + numel > stub.storage.numel:
        raise CheckpointError(
            f"{shown} has malformed weights: {key} claims {format_int(numel * 4)} "
            f"bytes but its record stores "
            f"{format_int(max(stub.storage.numel - stub.offset, 0) * 4)}"
        )


# --- the timeline ---------------------------------------------------------------

_TIMELINE_KEYS = frozenset(
    ("run_id", "seed", "indices", "epochs", "codes", "sigma", "test_recon", "test_kl")
)


@dataclass(frozen=True, slots=True)
class _TimelineShape:
    """What the dry run checked of a timeline: its sizes, and its tensors' dtypes."""

    epochs: int
    points: int
    latent_dim: int
    has_sigma: bool
    run_id: str
    seed: int

    @property
    def nbytes(self) -> int:
        codes = self.epochs * self.points * self.latent_dim * 2
        return 8 * (self.points + self.epochs) + codes * (2 if self.has_sigma else 1)

    def shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        e, n, d = self.epochs, self.points, self.latent_dim
        out = {
            "indices": ((n,), "int64"),
            "epochs": ((e,), "int64"),
            "codes": ((e, n, d), "float16"),
            "test_recon": ((e,), "float32"),
            "test_kl": ((e,), "float32"),
        }
        if self.has_sigma:
            out["sigma"] = ((e, n, d), "float16")
        return out


def _bad_timeline(shown: str, reason: str) -> CheckpointError:
    return CheckpointError(f"{shown} has a malformed timeline: {reason}")


def _timeline_shape(shown: str, config: ModelConfig, raw: Any) -> _TimelineShape | None:
    """Check the timeline's record and declared tensors (stubs); None: absent."""
    if raw is None:
        return None
    if type(raw) is not dict:
        raise _bad_timeline(shown, _describe(raw))
    if set(raw) != _TIMELINE_KEYS:
        odd = sorted(
            printable(k, 20) if isinstance(k, str) else describe(k)
            for k in set(raw) ^ _TIMELINE_KEYS
        )
        raise _bad_timeline(shown, f"missing or unexpected {', '.join(odd[:4])}")
    run_id, seed = raw["run_id"], raw["seed"]
    if type(run_id) is not str or len(run_id) > MAX_RUN_ID:
        raise _bad_timeline(shown, f"run id is {describe(run_id)}")
    if type(seed) is not int or not -(2**63) <= seed < 2**63:
        raise _bad_timeline(shown, f"seed is {describe(seed)}")
    for name in _TIMELINE_KEYS - {"run_id", "seed", "sigma"}:
        if not isinstance(raw[name], _TensorStub):
            raise _bad_timeline(shown, f"{name} is {describe(raw[name])}, not a tensor")
    sigma = raw["sigma"]
    if config.kind == "vae" and not isinstance(sigma, _TensorStub):
        raise _bad_timeline(shown, "a VAE's timeline needs its sigma tensor")
    if config.kind == "ae" and sigma is not None:
        raise _bad_timeline(shown, "an autoencoder's timeline has no sigma")
    codes = raw["codes"].shape
    if len(codes) != 3:
        raise _bad_timeline(shown, "its codes are not (epochs, images, latent)")
    epochs, points, dim = codes
    if dim != config.latent_dim:
        raise _bad_timeline(
            shown,
            f"its codes are {format_int(dim)}-D, the model's {config.latent_dim}-D",
        )
    if not 1 <= epochs <= MAX_HISTORY:
        raise _bad_timeline(
            shown, f"{format_int(epochs)} epochs (1 to {MAX_HISTORY:,})"
        )
    if not 1 <= points <= MAX_TIMELINE_POINTS:
        raise _bad_timeline(
            shown, f"{format_int(points)} images (1 to {MAX_TIMELINE_POINTS:,})"
        )
    shape = _TimelineShape(epochs, points, dim, sigma is not None, run_id, seed)
    if shape.nbytes > MAX_TIMELINE_BYTES:
        raise _bad_timeline(
            shown,
            f"{format_bytes(shape.nbytes)} of codes, more than LatentLab stores "
            f"({format_bytes(MAX_TIMELINE_BYTES)})",
        )
    for name, (want, dtype) in shape.shapes().items():
        stub = raw[name]
        if stub.shape != want:
            raise _bad_timeline(
                shown,
                f"{name} is {shape_text(stub.shape)}, expected {shape_text(want)}",
            )
        if stub.storage.dtype != dtype:
            raise _bad_timeline(
                shown, f"{name} is {stub.storage.dtype}, expected {dtype}"
            )
        numel = math.prod(stub.shape)
        if stub.stride != _contiguous_strides(stub.shape) and numel > 1:
            raise _bad_timeline(shown, f"{name} is not stored contiguously")
        if stub.offset + numel > stub.storage.numel:
            raise _bad_timeline(shown, f"{name} claims more data than its record holds")
    return shape


def _timeline(shown: str, shape: _TimelineShape, raw: Any) -> Timeline:
    """The timeline torch loaded, checked against the dry run and for sense."""
    if type(raw) is not dict:
        raise _bad_timeline(shown, "it is not a record")
    arrays = {}
    for name, (want, dtype) in shape.shapes().items():
        t = raw.get(name)
        if (
            type(t) is not torch.Tensor
            or t.layout != torch.strided
            or t.device.type != "cpu"
            or str(t.dtype).removeprefix("torch.") != dtype
            or tuple(t.shape) != want
        ):
            raise _bad_timeline(shown, f"{name} does not match its record")
        arrays[name] = t.contiguous().numpy().copy()
    indices, epochs = arrays["indices"], arrays["epochs"]
    if indices[0] < 0 or (len(indices) > 1 and not (np.diff(indices) > 0).all()):
        raise _bad_timeline(shown, "its image indices are not distinct and increasing")
    if epochs[0] < 1 or (len(epochs) > 1 and not (np.diff(epochs) > 0).all()):
        raise _bad_timeline(shown, "its epochs are not increasing from 1")
    if epochs[-1] > MAX_HISTORY:
        raise _bad_timeline(shown, f"epoch {int(epochs[-1]):,} is past {MAX_HISTORY:,}")
    for name in ("codes", "sigma", "test_recon", "test_kl"):
        if name in arrays and not np.isfinite(arrays[name]).all():
            raise _bad_timeline(shown, f"its {name} hold NaN or infinity")
    sigma = arrays.get("sigma")
    if sigma is not None and not (sigma > 0).all():
        raise _bad_timeline(shown, "its sigma values are not all positive")
    return Timeline(
        indices=indices,
        epochs=epochs,
        codes=arrays["codes"],
        sigma=sigma,
        test_recon=arrays["test_recon"],
        test_kl=arrays["test_kl"],
        run_id=shape.run_id,
        seed=shape.seed,
    )


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _finite(value: Any) -> float | None:
    """``value`` (an int or a float) as a finite float; None for NaN, an
    infinity, an integer too large for a float, or anything else."""
    if not _number(value):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def _history(shown: str, raw: Any) -> list[EpochMetrics]:
    """The history's rows: every field present and numeric, the epochs from 1
    to :data:`MAX_EPOCH` and strictly increasing, every figure finite."""
    if type(raw) is not list:
        raise CheckpointError(f"{shown} has a malformed history: {_describe(raw)}")
    if len(raw) > MAX_HISTORY:
        raise CheckpointError(
            f"{shown} has a history of {len(raw):,} epochs; LatentLab trains at most "
            f"{MAX_HISTORY:,}"
        )
    names = [f.name for f in fields(EpochMetrics)]
    out = []
    last = 0
    for i, row in enumerate(raw, 1):
        if (
            type(row) is not dict
            or set(row) != set(names)
            or type(row["epoch"]) is not int
            or not all(_number(row[n]) for n in names)
        ):
            raise CheckpointError(
                f"{shown} has a malformed history: entry {i} is {describe(row)}"
            )
        epoch = row["epoch"]
        if not 1 <= epoch <= MAX_EPOCH:
            raise CheckpointError(
                f"{shown} has a malformed history: entry {i}'s epoch is "
                f"{describe(epoch)}, not from 1 to {MAX_EPOCH:,}"
            )
        if epoch <= last:
            raise CheckpointError(
                f"{shown} has a malformed history: its epochs do not increase "
                f"(entry {i} is epoch {epoch:,}, after epoch {last:,})"
            )
        last = epoch
        figures = {}
        for name in names[1:]:
            value = _finite(row[name])
            if value is None:
                raise CheckpointError(
                    f"{shown} has a malformed history: entry {i}'s {name} is "
                    f"{describe(row[name])}, not a finite number"
                )
            figures[name] = value
        out.append(EpochMetrics(epoch=epoch, **figures))
    return out


def _plain(value: Any) -> bool:
    """None, a bool, a 64-bit integer, a finite float or a string of at most
    :data:`MAX_TEXT` characters."""
    if value is None or type(value) is bool:
        return True
    if type(value) is int:
        return -MAX_INT - 1 <= value <= MAX_INT
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is str and len(value) <= MAX_TEXT


def _dataset(shown: str, raw: Any) -> dict[str, Any]:
    if type(raw) is not dict or not all(isinstance(k, str) for k in raw):
        raise CheckpointError(f"{shown} has a malformed dataset record")
    for key, value in raw.items():
        ok = _plain(value) or (
            type(value) is list and len(value) <= MAX_LIST and all(map(_plain, value))
        )
        if not ok or len(key) > 100:
            raise CheckpointError(
                f"{shown} has a malformed dataset record: {printable(key, 40)} is "
                f"{describe(value)}"
            )
    return dict(raw)


def _metrics(shown: str, raw: Any) -> dict[str, float]:
    """Named finite numbers, as floats."""
    if type(raw) is not dict or not all(
        isinstance(k, str) and len(k) <= 100 and _finite(v) is not None
        for k, v in raw.items()
    ):
        raise CheckpointError(f"{shown} has malformed metrics: {describe(raw)}")
    return {k: float(v) for k, v in raw.items()}


def _short_text(shown: str, name: str, raw: Any, limit: int) -> str:
    if type(raw) is not str or len(raw) > limit:
        raise CheckpointError(f"{shown} has a malformed {name!r} field")
    return raw


def _describe(payload: Any) -> str:
    if (
        isinstance(payload, dict)
        and payload
        and all(isinstance(v, _TensorStub | torch.Tensor) for v in payload.values())
    ):
        return (
            f"it holds a plain PyTorch state_dict ({len(payload)} tensors) without "
            "LatentLab's model config, in no layout LatentLab recognises (see the "
            "README, Models trained elsewhere)"
        )
    if isinstance(payload, dict):
        keys = sorted(printable(k, 30) for k in payload if isinstance(k, str))[:5]
        return f"a dict with keys {', '.join(keys) or '(none)'}"
    if isinstance(payload, _TensorStub | torch.Tensor):
        return "it holds a single tensor"
    return f"it holds a {type(payload).__name__}"


# --- torch.load and the model -------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """A short, one-line account of a foreign exception, cut at a word."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return printable(shorten(first, 160), 200)


def _torch_load(fh: BinaryIO, shown: str) -> Any:
    try:
        with warnings.catch_warnings():
            # e.g. "Detected pickle protocol 4": noise for a file we refuse.
            warnings.simplefilter("ignore")
            return torch.load(fh, map_location="cpu", weights_only=True)
    except Exception as exc:  # checked already; what remains is torch's own view
        text = str(exc)
        if "Weights only load failed" in text:
            return_msg = "its pickle data is not plain tensors"
        elif "record size" in text or "storage" in text.lower():
            return_msg = "its weights do not match their records"
        else:
            return_msg = _reason(exc)
        raise _corrupt(shown, return_msg) from exc


def _build(p: Path, shown: str, record: _Record, payload: Any) -> Checkpoint:
    """Check the tensors torch made against the dry run, then fill a model."""
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict) or set(state) != set(record.expected):
        raise CheckpointError(f"{shown} has no valid weights (state_dict)")
    for key, shape in record.expected.items():
        t = state[key]
        if (
            type(t) is not torch.Tensor
            or t.layout != torch.strided
            or t.is_quantized
            or t.device.type != "cpu"
            or t.dtype != torch.float32
            or tuple(t.shape) != shape
            or not t.is_contiguous()
        ):
            raise CheckpointError(f"{shown} has malformed weights: {key}")
    if not all(bool(torch.isfinite(t).all()) for t in state.values()):
        raise CheckpointError(f"{shown} contains NaN or infinite weights")
    if record.layout is not None:
        state = record.layout.convert(state)
    model = build_model(record.config)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        cfg = record.config
        raise CheckpointError(
            f"{shown}: the weights do not fit its config ({cfg.kind}, latent "
            f"{cfg.latent_dim}, {cfg.backbone}): {_reason(exc)}"
        ) from exc
    model.eval()
    timeline = None
    if record.timeline is not None:
        timeline = _timeline(shown, record.timeline, payload.get("timeline"))
    return Checkpoint(
        model=model,
        path=p,
        history=record.history,
        dataset=record.dataset,
        metrics=record.metrics,
        created=record.created,
        origin=record.layout.describe() if record.layout is not None else "",
        timeline=timeline,
    )


def metrics_summary(history: Sequence[EpochMetrics]) -> dict[str, float]:
    """The last epoch's test figures, for ``Checkpoint.metrics``."""
    if not history:
        return {}
    last = history[-1]
    return {
        "test_recon": last.test_recon,
        "test_kl": last.test_kl,
        "test_neg_elbo": last.test_neg_elbo,
        "train_seconds": math.fsum(m.seconds for m in history),
    }
