"""Memory from a small file: bombs refused before they inflate, in a limited child.

Measured against the loaders before this test existed: the zip bomb took 2.7 s
and 1 GB of resident memory, and the gzip bombs ended in MemoryError.

One child imports torch, loads a good checkpoint (so lazy imports are done),
then lowers its address-space limit (``RLIMIT_AS``) to what it uses plus
:data:`HEADROOM` and opens each bomb: a ~1 MB checkpoint whose zip entry
inflates to 1 GB, one whose pickle declares 8 GB of weights, and ~6 MB gzip
IDX files that inflate to 6 GB. Each must end in the documented one-line error,
quickly and with its resident memory barely moving; a MemoryError or a kill
fails the test. (torch alone maps ~3 GB of address space, so the limit is set
relative to the child's own size rather than as a fixed 3 GB.)
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.core.checkpoints import save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.training import new_model

REPO = Path(__file__).resolve().parents[2]
HEADROOM = 1536 * 1024**2  # above the 1 GB bomb, below what the 6 GB ones need
MIB = 1024**2


def _deflate_zeros(n_chunks: int, chunk: int = 16 * MIB) -> bytes:
    """Raw deflate of ``n_chunks * chunk`` zero bytes, built in ~0.1 s.

    After a full flush the compressor starts afresh, so every later chunk
    compresses to the same bytes and is repeated rather than recomputed.
    """
    zeros = bytes(chunk)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    return first + again * (n_chunks - 1) + c.flush()


def _local_and_central(name: bytes, data: bytes, size: int, method: int, offset: int):
    header = struct.pack(
        "<4s5H3I2H", b"PK\x03\x04", 20, 0, method, 0, 0, 0, len(data), size,
        len(name), 0,
    )  # fmt: skip
    central = struct.pack(
        "<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, method, 0, 0, 0, len(data), size,
        len(name), 0, 0, 0, 0, 0, offset,
    )  # fmt: skip
    return header + name + data, central + name


def _zip_with_raw(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of pre-compressed entries: (name, stored bytes, size, method)."""
    body, directory = b"", b""
    for name, data, size, method in entries:
        local, central = _local_and_central(
            name.encode(), data, size, method, len(body)
        )
        body += local
        directory += central
    end = struct.pack(
        "<4s4H2IH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(directory),
        len(body), 0,
    )  # fmt: skip
    return body + directory + end


def _checkpoint_bombs(folder: Path) -> dict[str, Path]:
    good = save_checkpoint(
        folder / "good.pt", new_model(ModelConfig(kind="vae", hidden=(8,)), seed=0)
    )
    with zipfile.ZipFile(good) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    pkl_name, pkl = next((n, d) for n, d in entries if n.endswith("data.pkl"))
    numel = len(next(d for n, d in entries if n.endswith("data/0"))) // 4
    op = (
        b"M" + struct.pack("<H", numel)
        if numel < 65536
        else b"J" + struct.pack("<i", numel)
    )
    # data/0 declares 2**28 floats (1 GB) and its zip entry inflates to exactly that.
    big = pkl.replace(op, b"J" + struct.pack("<i", 2**28))
    bomb = _deflate_zeros(64)
    raw = []
    for name, data in entries:
        if name.endswith("data/0"):
            raw.append((name, bomb, 1024**3, zipfile.ZIP_DEFLATED))
        else:
            raw.append(
                (
                    name,
                    big if name == pkl_name else data,
                    len(data) if name != pkl_name else len(big),
                    0,
                )
            )
    out = {"zip bomb": folder / "bomb.pt"}
    out["zip bomb"].write_bytes(_zip_with_raw(raw))
    # Stored, but the pickle declares 2**31 - 1 floats (8 GB) for data/0.
    lie = pkl.replace(op, b"J" + struct.pack("<i", 2**31 - 1))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zf.writestr(name, lie if name == pkl_name else data)
    out["declared 8 GB"] = folder / "lie.pt"
    out["declared 8 GB"].write_bytes(buf.getvalue())
    return out


def _gzip_bomb(path: Path, shape: tuple[int, ...], inflated: int) -> Path:
    """An IDX .gz whose header declares ``shape`` and whose stream inflates to
    ``inflated`` bytes: one small member repeated (gzip allows concatenation)."""
    header = bytes([0, 0, 8, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    member = gzip.compress(bytes(16 * MIB), compresslevel=9)
    path.write_bytes(gzip.compress(header) + member * (inflated // (16 * MIB)))
    return path


_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    import torch
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.data import read_idx
    from latentlab.core.errors import LatentLabError

    cases = json.loads(sys.argv[1])
    load_checkpoint(cases.pop("good")[1])  # lazy imports happen before the limit
    page = resource.getpagesize()
    with open("/proc/self/statm") as fh:
        size = int(fh.read().split()[0]) * page
    limit = size + int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
    results = {}
    for name, (kind, path) in cases.items():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            if kind == "checkpoint":
                load_checkpoint(path)
            else:
                read_idx(path)
            outcome = "LOADED"
        except LatentLabError as exc:
            outcome = type(exc).__name__ + ": " + str(exc)
        except BaseException as exc:
            outcome = "OTHER " + type(exc).__name__ + ": " + str(exc)[:200]
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        results[name] = [outcome, time.perf_counter() - start, grown * 1024]
    print(json.dumps(results))
    """
)


def test_small_files_cannot_make_the_loaders_allocate_gigabytes(tmp_path: Path):
    cases = {
        name: ("checkpoint", str(p)) for name, p in _checkpoint_bombs(tmp_path).items()
    }
    cases["good"] = ("checkpoint", str(tmp_path / "good.pt"))
    cases["gz 6 GB declared"] = (
        "idx",
        str(_gzip_bomb(tmp_path / "a-idx3-ubyte.gz", (7_700_000, 28, 28), 6 * 1024**3)),
    )
    cases["gz small header, 6 GB stream"] = (
        "idx",
        str(_gzip_bomb(tmp_path / "b-idx3-ubyte.gz", (1000, 28, 28), 6 * 1024**3)),
    )
    cases["gz 1.5 GB declared, over the budget"] = (
        "idx",
        str(_gzip_bomb(tmp_path / "c-idx3-ubyte.gz", (1_900_000, 28, 28), 1024**3)),
    )
    sizes = {n: Path(p).stat().st_size for n, (_, p) in cases.items()}
    assert max(sizes.values()) < 8 * MIB, sizes
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(cases), str(HEADROOM)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    expected = {
        "zip bomb": ("CheckpointError", "compressed"),
        "declared 8 GB": ("CheckpointError", "2,147,483,647 float32 values"),
        "gz 6 GB declared": ("DataError", "more than LatentLab reads"),
        "gz small header, 6 GB stream": ("DataError", "truncated or padded"),
        "gz 1.5 GB declared, over the budget": ("DataError", "more than LatentLab"),
    }
    for name, (kind, words) in expected.items():
        outcome, seconds, grown = results[name]
        shown = outcome.replace(str(tmp_path) + "/", "")
        print(
            f"\n{name}: {sizes[name] / MIB:.1f} MB file, {seconds:.2f} s, "
            f"+{grown / MIB:.0f} MB resident: {shown}"
        )
        assert outcome.startswith(kind + ": "), (name, outcome)
        assert words in outcome, (name, outcome)
        assert seconds < 5.0, (name, seconds)
        assert grown < 64 * MIB, (name, grown)


def test_a_gzip_stream_longer_than_its_header_is_read_only_that_far(tmp_path):
    """The bounded reader stops one byte past the declared size."""
    from latentlab.core.data import read_idx
    from latentlab.core.errors import DataError

    path = _gzip_bomb(tmp_path / "x-idx3-ubyte.gz", (10, 28, 28), 64 * MIB)
    with pytest.raises(DataError, match="header says 7840 values, file holds more"):
        read_idx(path)
    arr = np.zeros((10, 28, 28), np.uint8)
    head = bytes([0, 0, 8, 3]) + struct.pack(">3I", 10, 28, 28)
    path.write_bytes(gzip.compress(head + arr.tobytes()))
    assert read_idx(path).shape == (10, 28, 28)
    assert torch.from_numpy(read_idx(path)).sum() == 0
