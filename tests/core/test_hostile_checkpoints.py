"""Structurally valid but hostile checkpoints: each one a CheckpointError in words.

Every case is a real file that ``torch.save`` (or a zip or pickle written by
hand) produces: wrong-typed and extreme fields, odd tensor layouts, lies in the
zip directory or the pickle. The loader must refuse each with one line that
names the file, before allocating what the file declares, and never with a
foreign exception or Python's internal wording.
"""

from __future__ import annotations

import io
import pickle
import struct
import time
import warnings
import zipfile
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import pytest
import torch

from latentlab.core.checkpoints import MAX_HISTORY, load_checkpoint, save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError
from latentlab.core.training import new_model

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

CFG = ModelConfig(kind="vae", hidden=(8,), latent_dim=2)
ROW = {
    "epoch": 1,
    "train_loss": 1.0,
    "train_recon": 1.0,
    "train_kl": 0.5,
    "test_recon": 1.0,
    "test_kl": 0.5,
    "seconds": 0.1,
    "samples_per_s": 10.0,
}
# Python's own wording that must never reach a user.
INTERNAL = (
    "pop from",
    "has no attribute",
    "object is not",
    "NoneType",
    "unhashable",
    "<class",
    "Traceback",
    "not supported between",
    "index out of range",
    "codec can't",
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("base") / "base.pt"
    save_checkpoint(path, new_model(CFG, seed=1), dataset={"name": "shapes"})
    return torch.load(path, weights_only=True)


def _copy(payload: dict[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    out["config"] = dict(payload["config"])
    out["state_dict"] = dict(payload["state_dict"])
    out["dataset"] = dict(payload["dataset"])
    return out


def assert_refused(path: Path, *words: str) -> str:
    """The file loads as a CheckpointError: one line, the path, user words."""
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    elapsed = time.perf_counter() - start
    msg = str(info.value)
    assert "\n" not in msg and "\r" not in msg, msg
    assert str(path) in msg, msg
    assert len(msg) < len(str(path)) + 300, msg
    assert not any(w in msg for w in INTERNAL), msg
    assert "\x1b" not in msg, msg
    for word in words:
        assert word in msg, (word, msg)
    assert elapsed < 3.0, f"took {elapsed:.1f}s to refuse"
    return msg


def _key(payload: dict[str, Any], prefix: str = "encoder") -> str:
    return next(k for k in payload["state_dict"] if k.startswith(prefix))


def _field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        p[name] = value

    return change


def _config(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        p["config"][name] = value

    return change


def _history_rows(rows: Any) -> Callable[[dict[str, Any]], None]:
    return _field("history", rows)


def _tensor(make: Callable[[torch.Tensor], Any]) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        key = "head.weight"
        p["state_dict"][key] = make(p["state_dict"][key])

    return change


def _noncontiguous(t: torch.Tensor) -> torch.Tensor:
    return torch.empty(t.shape[::-1]).t()


_ONE_ROW = dict(ROW)

PAYLOAD_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    # top level
    "extra field": (_field("evil", 1), "unexpected field 'evil'"),
    "format as int": (_field("format", 1), "not a LatentLab checkpoint"),
    "version bool": (_field("version", True), "invalid format version"),
    "version float": (_field("version", 1.0), "invalid format version"),
    "version huge": (_field("version", 10**30), "newer LatentLab"),
    "created list": (_field("created", ["x"]), "malformed 'created'"),
    "created long": (_field("created", "x" * 10_000), "malformed 'created'"),
    "history str": (_history_rows("abc"), "malformed history"),
    "history ints": (_history_rows([1, 2]), "entry 1"),
    "history extra key": (_history_rows([{**ROW, "x": 1}]), "malformed history"),
    "history missing key": (
        _history_rows([{k: v for k, v in ROW.items() if k != "seconds"}]),
        "malformed history",
    ),
    "history epoch float": (_history_rows([{**ROW, "epoch": 1.5}]), "entry 1"),
    "history bool value": (_history_rows([{**ROW, "test_kl": True}]), "entry 1"),
    "history str value": (_history_rows([{**ROW, "test_kl": "1"}]), "entry 1"),
    "history 10**6": (_history_rows([_ONE_ROW] * 10**6), "1,000,000 epochs"),
    "history one too long": (
        _history_rows([_ONE_ROW] * (MAX_HISTORY + 1)),
        f"{MAX_HISTORY + 1:,} epochs",
    ),
    "dataset list": (_field("dataset", [1]), "malformed dataset"),
    "dataset int key": (_field("dataset", {1: "x"}), "malformed dataset"),
    "dataset nested": (_field("dataset", {"name": {"a": 1}}), "malformed dataset"),
    "dataset long str": (_field("dataset", {"name": "x" * 10**5}), "malformed dataset"),
    "metrics str": (_field("metrics", {"a": "b"}), "malformed metrics"),
    "metrics bool": (_field("metrics", {"a": True}), "malformed metrics"),
    "metrics list": (_field("metrics", [1.0]), "malformed metrics"),
    # config
    "config list": (_field("config", []), "must be a mapping"),
    "config int key": (_config(7, 1), "unknown model config keys"),
    "latent 10**9": (_config("latent_dim", 10**9), "latent size"),
    "latent bool": (_config("latent_dim", True), "latent size"),
    "latent float": (_config("latent_dim", 2.0), "latent size"),
    "latent negative": (_config("latent_dim", -2), "latent size"),
    "hidden 10**9": (_config("hidden", [10**9]), "hidden sizes"),
    "hidden 9 layers": (_config("hidden", [8] * 9), "hidden sizes"),
    "hidden 10**5 layers": (_config("hidden", [8] * 10**5), "malformed model config"),
    "hidden empty": (_config("hidden", []), "hidden sizes"),
    "hidden str": (_config("hidden", "8"), "malformed model config"),
    "hidden float": (_config("hidden", [8.5]), "malformed model config"),
    "hidden bool": (_config("hidden", [True]), "malformed model config"),
    "hidden widest": (_config("hidden", [65536] * 8), "weights do not fit"),
    "hidden huge pair": (_config("hidden", [60_000, 60_000]), "weights do not fit"),
    "image 2-D": (_config("image_shape", [1, 28]), "image shape"),
    "image float": (_config("image_shape", [1, 28, 28.0]), "malformed model config"),
    "image 2 channels": (_config("image_shape", [2, 28, 28]), "1 (grey) or 3 (RGB)"),
    "image huge": (_config("image_shape", [1, 10**6, 10**6]), "too large"),
    "image negative": (_config("image_shape", [1, -28, 28]), "image shape"),
    "image str": (_config("image_shape", "1x28x28"), "malformed model config"),
    "kind list": (_config("kind", ["vae"]), "model kind"),
    "kind escape": (_config("kind", "\x1b[31mvae"), "\\x1b[31mvae"),
    "kind huge": (_config("kind", "v" * 10**6), "model kind"),
    "beta str": (_config("beta", "1"), "beta"),
    "beta nan": (_config("beta", float("nan")), "beta"),
    "beta bool": (_config("beta", True), "beta"),
    "backbone none": (_config("backbone", None), "backbone"),
    # weights
    "state empty": (_field("state_dict", {}), "no valid weights"),
    "state int key": (
        lambda p: p["state_dict"].__setitem__(5, torch.zeros(1)),
        "no valid weights",
    ),
    "state extra key": (
        lambda p: p["state_dict"].__setitem__("evil.weight", torch.zeros(1)),
        "unexpected evil.weight",
    ),
    "state missing key": (
        lambda p: p["state_dict"].pop("head.bias"),
        "missing head.bias",
    ),
    "float64": (_tensor(lambda t: t.double()), "float64"),
    "float16": (_tensor(lambda t: t.half()), "float16"),
    "bfloat16": (_tensor(lambda t: t.bfloat16()), "bfloat16"),
    "int64": (_tensor(lambda t: t.long()), "int64"),
    "bool": (_tensor(lambda t: t.bool()), "bool"),
    "complex": (_tensor(lambda t: t.to(torch.complex64)), "complex64"),
    "non-contiguous": (_tensor(_noncontiguous), "not stored contiguously"),
    "expanded": (_tensor(lambda t: torch.zeros(1).expand(*t.shape)), "contiguously"),
    "sparse coo": (_tensor(lambda t: t.to_sparse()), "sparse tensor"),
    "sparse csr": (_tensor(lambda t: t.to_sparse_csr()), "refused"),
    "quantized": (
        _tensor(lambda t: torch.quantize_per_tensor(t, 0.1, 0, torch.qint8)),
        "quantized tensor",
    ),
    "meta": (_tensor(lambda t: torch.empty(t.shape, device="meta")), "meta"),
    "wrong ndim": (_tensor(lambda t: t.unsqueeze(0)), "1x4x8 in the file"),
    "scalar": (_tensor(lambda t: torch.tensor(1.0)), "a scalar in the file"),
    "parameter": (_tensor(torch.nn.Parameter), "nn.Parameter"),
    "numpy array": (_tensor(lambda t: t.numpy()), "refused"),
    "list of floats": (_tensor(lambda t: t.tolist()), "no valid weights"),
    "nan": (_tensor(lambda t: torch.full_like(t, float("nan"))), "NaN or infinite"),
}


@pytest.mark.parametrize("case", list(PAYLOAD_CASES))
def test_hostile_payload_is_refused(tmp_path: Path, base, case: str) -> None:
    change, words = PAYLOAD_CASES[case]
    payload = _copy(base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's beta/deprecation notes
        change(payload)
    path = tmp_path / "hostile.pt"
    torch.save(payload, path)
    assert_refused(path, words)


@pytest.mark.parametrize(
    "change",
    [
        _tensor(lambda t: torch.zeros(t.numel() + 100)[100:].view(t.shape)),  # offset
        _tensor(lambda t: t.clone().requires_grad_(True)),
        lambda p: p.__setitem__("state_dict", OrderedDict(p["state_dict"])),
        lambda p: p.__setitem__("dataset", {"name": "\x1b]0;pwned\x07", "n": None}),
        _history_rows([{**ROW, "epoch": e} for e in range(1, MAX_HISTORY + 1)]),
    ],
    ids=["storage offset", "requires grad", "OrderedDict", "escapes", "longest"],
)
def test_odd_but_sound_payloads_load(tmp_path: Path, base, change) -> None:
    payload = _copy(base)
    change(payload)
    path = tmp_path / "odd.pt"
    torch.save(payload, path)
    start = time.perf_counter()
    ckpt = load_checkpoint(path)
    assert time.perf_counter() - start < 3.0
    assert ckpt.config == CFG
    assert "\x1b" not in ckpt.title() and "\x07" not in ckpt.title()


# --- the zip and the pickle themselves ------------------------------------------


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _zip(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("zip") / "good.pt"
    return save_checkpoint(path, new_model(CFG, seed=1)).read_bytes()


def _pickle_of(entries: list[tuple[str, bytes]]) -> bytes:
    return next(d for n, d in entries if n.endswith("data.pkl"))


def _with_pickle(entries, data: bytes) -> list[tuple[str, bytes]]:
    return [(n, data if n.endswith("data.pkl") else d) for n, d in entries]


def _patch_central_size(data: bytes, name: bytes, size: int) -> bytes:
    """Rewrite one entry's uncompressed size in the central directory."""
    at = 0
    while True:
        at = data.index(b"PK\x01\x02", at)
        n = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + n].endswith(name):
            buf = bytearray(data)
            struct.pack_into("<I", buf, at + 24, size)
            return bytes(buf)
        at += 4


class _Evil:
    def __reduce__(self):
        return (eval, ("1+1",))


def _zip_cases(good: bytes) -> dict[str, tuple[bytes, str]]:
    entries = _entries(good)
    pkl = _pickle_of(entries)
    prefix = entries[0][0].split("/")[0]
    big_pickle = pickle.dumps({"format": "x", "pad": "x" * (5 * 1024**2)}, protocol=2)
    data0 = next(d for n, d in entries if n.endswith("data/0"))
    numel = len(data0) // 4
    if numel < 256:
        op = b"K" + bytes([numel])
    elif numel < 65536:
        op = b"M" + struct.pack("<H", numel)
    else:
        op = b"J" + struct.pack("<i", numel)
    # data/0 claims 2**31 - 1 floats (8 GB) over its few stored bytes.
    lie = pkl.replace(op, b"J" + struct.pack("<i", 2**31 - 1))
    assert lie != pkl
    evil = pickle.dumps({"format": "latentlab-checkpoint", "x": _Evil()}, protocol=4)
    legacy = io.BytesIO()
    torch.save({"a": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    script = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), script)
    # A history nested 100,000 lists deep: MARK x n, EMPTY_LIST, LIST x n builds
    # it without recursion; only a recursive reader of it would overflow.
    payload = torch.load(io.BytesIO(good), weights_only=True)
    payload["history"] = "DEEPNEST"
    marked = io.BytesIO()
    torch.save(payload, marked)
    marked_entries = _entries(marked.getvalue())
    nested = _pickle_of(marked_entries).replace(
        b"X\x08\x00\x00\x00DEEPNEST", b"(" * 100_000 + b"]" + b"l" * 100_000
    )
    deep = _zip(_with_pickle(marked_entries, nested))
    encrypted = bytearray(_zip(entries))
    encrypted[6] |= 0x1  # the first local header's "encrypted" flag
    at = bytes(encrypted).index(b"PK\x01\x02")
    encrypted[at + 8] |= 0x1  # and its central directory copy
    return {
        "deflated entries": (_zip(entries, zipfile.ZIP_DEFLATED), "compressed"),
        "history nested deep": (deep, "malformed history"),
        "encrypted flag": (bytes(encrypted), "encrypted"),
        "size beyond file": (
            _patch_central_size(good, b"data/0", 0xF000_0000),
            "sizes beyond the file",
        ),
        "pickle over 4 MB": (
            _zip(_with_pickle(entries, big_pickle)),
            "pickled data",
        ),
        "2000 entries": (
            _zip(entries + [(f"{prefix}/junk/{i}", b"") for i in range(2000)]),
            "entries",
        ),
        "numel lie": (_zip(_with_pickle(entries, lie)), "holds"),
        "missing record": (
            _zip([(n, d) for n, d in entries if not n.endswith("data/0")]),
            "missing",
        ),
        "unreferenced 10 MB": (
            _zip([*entries, (f"{prefix}/data/99", bytes(10 * 1024**2))]),
            "of data but its model has",
        ),
        "two folders": (_zip([*entries, ("other/x", b"")]), "one folder"),
        "no data.pkl": (
            _zip([(n, d) for n, d in entries if not n.endswith("data.pkl")]),
            "no data.pkl",
        ),
        "protocol-4 global in zip": (
            _zip(_with_pickle(entries, evil)),
            "builtins.eval",
        ),
        "bare pickle global": (evil, "nothing in the file was executed"),
        "truncated pickle": (_zip(_with_pickle(entries, pkl[:-20])), "malformed"),
        "empty pickle": (_zip(_with_pickle(entries, b"")), "malformed"),
        "stack underflow": (_zip(_with_pickle(entries, b"\x80\x02a.")), "malformed"),
        "legacy torch format": (legacy.getvalue(), "not a zip archive"),
        "torchscript": (script.getvalue(), "compressed"),
        "bad persistent id": (
            _zip(_with_pickle(entries, pickle.dumps(("storage", 1), protocol=2))),
            "not a LatentLab checkpoint",
        ),
    }


def test_zip_and_pickle_lies_are_refused(tmp_path: Path, good_bytes: bytes) -> None:
    cases = _zip_cases(good_bytes)
    for name, (data, words) in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.pt"
        path.write_bytes(data)
        try:
            assert_refused(path, words)
        except BaseException as exc:
            raise AssertionError(f"case {name!r}: {exc}") from None
    print(f"\n{len(cases)} zip/pickle lies refused")


def test_persistent_id_forms_are_refused(tmp_path: Path, good_bytes: bytes) -> None:
    """Hand-written pickles whose storage references are each wrong in one way."""
    entries = _entries(good_bytes)

    class _Pid(pickle.Pickler):
        def __init__(self, fh, pid):
            super().__init__(fh, protocol=2)
            self.pid = pid

        def persistent_id(self, obj):
            return self.pid if obj == "STORAGE" else None

    pids = [
        ("storage", "FloatStorage", "0", "cpu", 4),  # type is a str, not the class
        ("storage", None, "0", "cpu", -1),
        ("tensor", None, "0", "cpu", 4),
        ["storage"],
        ("storage",) * 5,
    ]
    for i, pid in enumerate(pids):
        buf = io.BytesIO()
        _Pid(buf, pid).dump({"format": "latentlab-checkpoint", "w": "STORAGE"})
        path = tmp_path / f"pid{i}.pt"
        path.write_bytes(_zip(_with_pickle(entries, buf.getvalue())))
        assert_refused(path)
