"""The safetensors format, read and written without running anything from a file.

A safetensors file is an 8-byte little-endian header length N, N bytes of JSON
(``{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
"__metadata__": {str: str}}``) and then the tensors' bytes
(huggingface/safetensors, ``README.md``, "Format"). The header is checked whole
(its size, its JSON, every dtype, shape and offset against the file's size,
no overlaps) before a tensor byte is read, so a file allocates at most what it
declares and that is bounded by the file itself. Only float32 tensors are
read, as LatentLab's models hold nothing else.

Every integer in the header is read with at most
:data:`~latentlab.core.text.MAX_JSON_DIGITS` digits (offsets within the file and
dimensions need no more), so no number is too long for Python to read or for a
message to show.

Errors are :class:`SafetensorsFormatError` with a one-line reason; the
checkpoint loader adds the file's name.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import torch

from latentlab.core.text import (
    NumberError,
    format_int,
    json_int,
    printable,
    shape_text,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

# A LatentLab header: a few hundred tensor entries and a history of up to
# 10,000 epochs as JSON (~1.5 MB).
MAX_HEADER_BYTES = 8 * 1024**2
MAX_TENSORS = 1024
MAX_DIMS = 8
ALIGN = 8  # the reference writer pads the header with spaces to 8 bytes

# safetensors dtype names -> bytes per element (all the spec lists).
_ITEMSIZE = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "F64": 8,
    "I64": 8,
    "U64": 8,
}


class SafetensorsFormatError(Exception):
    """The bytes are not a well-formed safetensors file (one-line reason)."""


@dataclass(frozen=True, slots=True)
class TensorEntry:
    """One tensor the header declares; offsets are from the file's start."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def nbytes(self) -> int:
        """Bytes it occupies in the file."""
        return self.end - self.begin


@dataclass(frozen=True, slots=True)
class Header:
    """A checked header: the tensors, in file order, and the string metadata."""

    tensors: dict[str, TensorEntry]
    metadata: dict[str, str]
    data_start: int

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape."""
        return {k: t.shape for k, t in self.tensors.items()}


def looks_like_safetensors(head: bytes, size: int) -> bool:
    """True when the first bytes of a file of ``size`` bytes start a safetensors
    header (a length that fits, then ``{``)."""
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n <= size - 8 and head[8:9] == b"{"


def _refuse_constant(name: str) -> Any:
    raise SafetensorsFormatError(f"its header holds the non-JSON number {name}")


def read_header(fh: BinaryIO, size: int) -> Header:
    """Read and check the header of the safetensors file ``fh`` (``size`` bytes).

    Raises
    ------
    SafetensorsFormatError
        The length, JSON or any entry is malformed or points outside the file.
    """
    fh.seek(0)
    raw = fh.read(8)
    if len(raw) < 8:
        raise SafetensorsFormatError("it is shorter than a safetensors header")
    (n,) = struct.unpack("<Q", raw)
    if n > MAX_HEADER_BYTES:
        raise SafetensorsFormatError(
            f"its header declares {n:,} bytes; LatentLab reads at most "
            f"{MAX_HEADER_BYTES:,}"
        )
    if n < 2 or 8 + n > size:
        raise SafetensorsFormatError(
            f"its header declares {n:,} bytes but the file has {size - 8:,} after "
            "the length"
        )
    text = fh.read(n)
    if len(text) != n:
        raise SafetensorsFormatError("the file ends inside its header")
    try:
        parsed = json.loads(
            text.decode("utf-8"), parse_constant=_refuse_constant, parse_int=json_int
        )
    except SafetensorsFormatError:
        raise
    except NumberError as exc:
        raise SafetensorsFormatError(f"in its header, {exc}") from None
    except RecursionError:
        raise SafetensorsFormatError("its header nests too deeply") from None
    except (UnicodeDecodeError, ValueError) as exc:
        reason = printable(str(exc), 80) if str(exc) else type(exc).__name__
        raise SafetensorsFormatError(
            f"its header is not valid JSON ({reason})"
        ) from None
    if not isinstance(parsed, dict):
        raise SafetensorsFormatError("its header is not a JSON object")
    data_start = 8 + n
    data_len = size - data_start
    metadata = parsed.pop("__metadata__", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsFormatError("its __metadata__ is not a map of strings")
    if len(parsed) > MAX_TENSORS:
        raise SafetensorsFormatError(
            f"it declares {len(parsed):,} tensors; LatentLab reads at most "
            f"{MAX_TENSORS:,}"
        )
    entries = []
    for name, spec in parsed.items():
        entries.append(_entry(name, spec, data_start, data_len))
    entries.sort(key=lambda e: (e.begin, e.end))
    last = data_start
    for e in entries:
        if e.begin < last:
            raise SafetensorsFormatError(
                f"tensor {_short(e.name)} overlaps the tensor before it"
            )
        last = e.end
    return Header({e.name: e for e in entries}, dict(metadata), data_start)


def _short(name: str) -> str:
    shown = name.encode("unicode_escape").decode("ascii")
    return repr(shown if len(shown) <= 40 else shown[:39] + "…")


def _entry(name: str, spec: Any, data_start: int, data_len: int) -> TensorEntry:
    if len(name) > 200:
        raise SafetensorsFormatError("a tensor name is longer than 200 characters")
    shown = _short(name)
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsFormatError(
            f"tensor {shown} is not described as dtype, shape and offsets"
        )
    dtype, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _ITEMSIZE:
        raise SafetensorsFormatError(f"tensor {shown} has an unknown dtype")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(type(s) is int and s >= 0 for s in shape)
    ):
        raise SafetensorsFormatError(f"tensor {shown} has a malformed shape")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(type(o) is int for o in offsets)
    ):
        raise SafetensorsFormatError(f"tensor {shown} has malformed data offsets")
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise SafetensorsFormatError(
            f"tensor {shown} declares bytes {format_int(begin)}..{format_int(end)} "
            f"but the file holds {data_len:,} bytes of data"
        )
    nbytes = math.prod(shape) * _ITEMSIZE[dtype]
    if nbytes != end - begin:
        raise SafetensorsFormatError(
            f"tensor {shown} is {shape_text(shape)} {dtype} "
            f"({format_int(nbytes)} bytes) but its offsets span {end - begin:,}"
        )
    return TensorEntry(name, dtype, tuple(shape), data_start + begin, data_start + end)


def read_tensors(fh: BinaryIO, header: Header) -> dict[str, torch.Tensor]:
    """Read the header's tensors (all float32: check ``dtype`` first)."""
    out = {}
    for entry in header.tensors.values():
        if entry.dtype != "F32":
            raise SafetensorsFormatError(
                f"tensor {_short(entry.name)} is {entry.dtype}; LatentLab reads float32"
            )
        fh.seek(entry.begin)
        buf = bytearray(entry.nbytes)
        if fh.readinto(buf) != entry.nbytes:
            raise SafetensorsFormatError("the file ends inside its tensor data")
        arr = np.frombuffer(buf, dtype="<f4")
        if sys.byteorder != "little":  # pragma: no cover - no such test machine
            arr = arr.astype(np.float32)
        out[entry.name] = torch.from_numpy(arr).reshape(entry.shape)
    return out


def write(
    fh: BinaryIO, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str]
) -> None:
    """Write ``tensors`` (float32, any device) and string ``metadata`` to ``fh``
    as a safetensors file, in sorted name order as the reference writer does."""
    header: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu", torch.float32).contiguous()
        data = t.numpy().astype("<f4", copy=False).tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    text += b" " * (-len(text) % ALIGN)
    fh.write(struct.pack("<Q", len(text)))
    fh.write(text)
    for data in blobs:
        fh.write(data)
