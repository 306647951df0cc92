"""The zip archive ``torch.save`` writes, checked before anything is read from it:
its directory (stored entries only, sizes within the file, one folder), its CRCs,
and the size of its pickle."""

from __future__ import annotations

import errno
import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from latentlab.core.checkpoint.format import (
    MAX_PICKLE_BYTES,
    MAX_ZIP_ENTRIES,
    _corrupt,
    _reason,
)
from latentlab.core.checkpoint.unpickler import _refuse_code
from latentlab.core.errors import CheckpointError
from latentlab.core.limits import format_bytes
from latentlab.core.text import printable


@dataclass(frozen=True, slots=True)
class _Archive:
    pickle: bytes
    records: dict[str, int]  # storage key -> stored bytes
    data_bytes: int


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
