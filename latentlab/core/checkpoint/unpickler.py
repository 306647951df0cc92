"""The stub unpickler: reads a torch checkpoint's ``data.pkl`` into plain values
and stubs of its tensors (sizes, strides, stored records), building no tensor and
calling nothing, so every size can be checked before torch allocates a byte."""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentlab.core.checkpoint.format import MAX_INT, _corrupt
from latentlab.core.errors import CheckpointError
from latentlab.core.text import format_int, printable

if TYPE_CHECKING:
    from latentlab.core.checkpoint.archive import _Archive

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
