"""Numbers a checkpoint declares: each one bounded before it is used or shown.

Python refuses to turn an integer of more than 4,300 digits into text (and back),
so a file holding one must be refused in words before any message formats it;
an integer just under that limit must not be echoed whole either. A history's
epochs are positive, strictly increasing and bounded, and its figures finite.
Every case is a real file, a safetensors header edited as JSON or a payload
written by ``torch.save``, refused with one short line naming the file.
"""

from __future__ import annotations

import copy
import io
import json
import struct
import warnings
import zipfile
from typing import TYPE_CHECKING, Any

import pytest
import torch

from latentlab.core import safetensors_io
from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.errors import CheckpointError
from latentlab.core.training import EpochMetrics, new_model
from tests.core.test_foreign import ExampleVAE
from tests.core.test_hostile_checkpoints import CFG, ROW, _copy, assert_refused

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

DIGITS_5000 = "1" * 5000  # past Python's integer-string limit (4,300 digits)
DIGITS_4000 = "9" * 4000  # under it: parses, and must still not be echoed


# --- safetensors: the header and the metadata -------------------------------------


@pytest.fixture(scope="module")
def st_parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], bytes]:
    path = tmp_path_factory.mktemp("st") / "base.safetensors"
    save_checkpoint(path, new_model(CFG, seed=1), dataset={"name": "shapes"})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def _st_bytes(header: dict[str, Any] | str, data: bytes) -> bytes:
    text = (header if isinstance(header, str) else json.dumps(header)).encode()
    return struct.pack("<Q", len(text)) + text + data


def _meta(key: str, value: str) -> Callable[[dict[str, Any]], None]:
    def change(h: dict[str, Any]) -> None:
        h["__metadata__"][key] = value

    return change


def _history_json(*rows: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return _meta("history", json.dumps(list(rows)))


def _first_tensor(h: dict[str, Any]) -> str:
    return next(k for k in h if k != "__metadata__")


# Edits to the header as a dict, then written as JSON.
ST_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "version of 5,000 digits": (_meta("version", DIGITS_5000), "format version"),
    "version superscript two": (_meta("version", "\u00b2"), "format version"),
    "version Arabic-Indic one": (_meta("version", "\u0661"), "format version"),
    "version with spaces": (_meta("version", " 1"), "format version"),
    "history epoch 10**100": (_history_json({**ROW, "epoch": 10**100}), "'history'"),
    "history epoch 0": (_history_json({**ROW, "epoch": 0}), "epoch"),
    "history epoch negative": (_history_json({**ROW, "epoch": -3}), "epoch"),
    "history epoch past 1e6": (_history_json({**ROW, "epoch": 10**6 + 1}), "epoch"),
    "history repeated epochs": (
        _history_json(ROW, {**ROW, "epoch": 1}),
        "epoch",
    ),
    "history decreasing epochs": (
        _history_json({**ROW, "epoch": 2}, {**ROW, "epoch": 1}),
        "epoch",
    ),
    "history loss infinite": (
        _meta(
            "history",
            json.dumps([ROW]).replace('"train_loss": 1.0', '"train_loss": 1e400'),
        ),
        "train_loss",
    ),
    "history loss integer 10**400": (
        _history_json({**ROW, "train_loss": 10**400}),
        "digits",
    ),
    "metrics integer 10**400": (_meta("metrics", json.dumps({"a": 10**400})), "digits"),
    "metrics infinite": (_meta("metrics", '{"a": 1e400}'), "malformed metrics"),
    "dataset integer 10**30": (
        _meta("dataset", json.dumps({"name": "shapes", "n_train": 10**30})),
        "digits",
    ),
    "config latent of 4,000 digits": (
        _meta("config", json.dumps({**CFG.to_dict(), "latent_dim": int(DIGITS_4000)})),
        "digits",
    ),
    "offset of 4,000 digits": (
        lambda h: h[_first_tensor(h)].__setitem__(
            "data_offsets", [0, int(DIGITS_4000)]
        ),
        "digits",
    ),
    "shape of 4,000 digits": (
        lambda h: h[_first_tensor(h)].__setitem__("shape", [int(DIGITS_4000), 1]),
        "digits",
    ),
}

# Raw JSON texts: integers Python's json cannot turn into an int at all.
ST_RAW_CASES: dict[str, tuple[Callable[[str], str], str]] = {
    "offset of 5,000 digits": (
        lambda text: text.replace(
            '"data_offsets": [0, ', f'"data_offsets": [{DIGITS_5000}, ', 1
        ),
        "5,000 digits",
    ),
    "history epoch of 5,000 digits": (
        lambda text: text.replace('\\"epoch\\": 1', f'\\"epoch\\": {DIGITS_5000}', 1),
        "5,000 digits",
    ),
}


def _assert_short_refusal(path: Path, *words: str) -> str:
    msg = assert_refused(path, *words)
    for internal in ("set_int_max_str_digits", "Exceeds the limit", DIGITS_4000[:100]):
        assert internal not in msg, msg
    return msg


@pytest.mark.parametrize("case", list(ST_CASES))
def test_hostile_safetensors_numbers_are_refused(tmp_path: Path, st_parts, case: str):
    header, data = st_parts
    change, words = ST_CASES[case]
    edited = copy.deepcopy(header)
    edited["__metadata__"]["history"] = json.dumps([ROW])
    change(edited)
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(_st_bytes(edited, data))
    _assert_short_refusal(path, words)


@pytest.mark.parametrize("case", list(ST_RAW_CASES))
def test_unparseable_safetensors_integers_are_refused(tmp_path: Path, st_parts, case):
    header, data = st_parts
    edit, words = ST_RAW_CASES[case]
    edited = copy.deepcopy(header)
    edited["__metadata__"]["history"] = json.dumps([ROW])
    text = json.dumps(edited)
    changed = edit(text)
    assert changed != text
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(_st_bytes(changed, data))
    _assert_short_refusal(path, words)


def test_a_foreign_files_dataset_record_with_a_huge_integer_is_refused(tmp_path):
    path = tmp_path / "vae.safetensors"
    record = '{"name": "mnist", "n_train": ' + DIGITS_5000 + "}"
    with path.open("wb") as fh:
        safetensors_io.write(fh, ExampleVAE(h=8, d=2).state_dict(), {"dataset": record})
    _assert_short_refusal(path, "dataset", "digits")


def test_a_sound_history_still_loads(tmp_path: Path, st_parts) -> None:
    header, data = st_parts
    edited = copy.deepcopy(header)
    rows = [{**ROW, "epoch": e, "train_loss": 3} for e in (1, 2, 5)]
    edited["__metadata__"]["history"] = json.dumps(rows)
    path = tmp_path / "ok.safetensors"
    path.write_bytes(_st_bytes(edited, data))
    ckpt = load_checkpoint(path)
    assert [m.epoch for m in ckpt.history] == [1, 2, 5]
    assert all(type(m.train_loss) is float for m in ckpt.history)


# --- torch.save payloads ------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("base") / "base.pt"
    save_checkpoint(path, new_model(CFG, seed=1), dataset={"name": "shapes"})
    return torch.load(path, weights_only=True)


def _field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        p[name] = value

    return change


def _rows(*rows: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return _field("history", list(rows))


def _config(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        p["config"][name] = value

    return change


PT_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "version 10**5000": (_field("version", 10**5000), "newer LatentLab"),
    "version 10**3999": (_field("version", 10**3999), "newer LatentLab"),
    "history epoch 10**100": (_rows({**ROW, "epoch": 10**100}), "epoch"),
    "history epoch 10**400": (_rows({**ROW, "epoch": 10**400}), "epoch"),
    "history epoch 10**5000": (_rows({**ROW, "epoch": 10**5000}), "epoch"),
    "history epoch 0": (_rows({**ROW, "epoch": 0}), "epoch"),
    "history repeated epochs": (_rows(ROW, ROW), "epoch"),
    "history decreasing epochs": (_rows({**ROW, "epoch": 3}, ROW), "epoch"),
    "history loss 10**400": (_rows({**ROW, "train_loss": 10**400}), "train_loss"),
    "history loss infinite": (_rows({**ROW, "test_kl": float("inf")}), "test_kl"),
    "history seconds NaN": (_rows({**ROW, "seconds": float("nan")}), "seconds"),
    "metrics 10**400": (_field("metrics", {"a": 10**400}), "malformed metrics"),
    "metrics infinite": (_field("metrics", {"a": float("-inf")}), "malformed metrics"),
    "metrics NaN": (_field("metrics", {"a": float("nan")}), "malformed metrics"),
    "dataset 10**5000": (
        _field("dataset", {"name": "shapes", "n_train": 10**5000}),
        "malformed dataset",
    ),
    "dataset 2**64": (
        _field("dataset", {"name": "shapes", "n_test": 2**64}),
        "malformed dataset",
    ),
    "dataset list of huge": (
        _field("dataset", {"name": "shapes", "sizes": [1, 10**3999]}),
        "malformed dataset",
    ),
    "dataset NaN": (
        _field("dataset", {"name": "shapes", "x": float("nan")}),
        "malformed dataset",
    ),
    "image height 10**5000": (_config("image_shape", [1, 10**5000, 28]), "too large"),
    "image height 10**3999": (_config("image_shape", [1, 10**3999, 28]), "too large"),
    "latent 10**5000": (_config("latent_dim", 10**5000), "latent size"),
    "beta 10**400": (_config("beta", 10**400), "beta must be a finite number"),
}


@pytest.mark.parametrize("case", list(PT_CASES))
def test_hostile_pt_numbers_are_refused(tmp_path: Path, base, case: str) -> None:
    change, words = PT_CASES[case]
    payload = _copy(base)
    change(payload)
    path = tmp_path / "hostile.pt"
    torch.save(payload, path)
    _assert_short_refusal(path, words)


def test_a_huge_latent_size_is_described_by_its_size(tmp_path: Path, base) -> None:
    payload = _copy(base)
    payload["config"]["latent_dim"] = 10**5000
    path = tmp_path / "hostile.pt"
    torch.save(payload, path)
    msg = _assert_short_refusal(path, "latent size")
    assert "5,001 digits" in msg, msg


# --- integers inside the pickle itself ----------------------------------------------


def _long4(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8b" + struct.pack("<i", len(raw)) + raw


def _with_edited_pickle(base: dict[str, Any], edit) -> bytes:
    """A checkpoint whose head.bias is 251 zeros, with ``edit`` applied to the
    bytes of its ``data.pkl``."""
    payload = _copy(base)
    payload["state_dict"]["head.bias"] = torch.zeros(251)
    buf = io.BytesIO()
    torch.save(payload, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        entries = [(i.filename, zf.read(i)) for i in zf.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for name, data in entries:
            zf.writestr(name, edit(data) if name.endswith("data.pkl") else data)
    return out.getvalue()


def _with_pickled_size(base: dict[str, Any], value: int) -> bytes:
    """A checkpoint whose head.bias pickles its size (251,) as ``(value,)``."""

    def edit(data: bytes) -> bytes:
        assert data.count(b"K\xfb\x85") == 1  # BININT1 251, TUPLE1
        return data.replace(b"K\xfb\x85", _long4(value) + b"\x85")

    return _with_edited_pickle(base, edit)


def _with_pickled_numel(base: dict[str, Any], value: int) -> bytes:
    """A checkpoint whose head.bias storage (251 floats) declares ``value``."""

    def edit(data: bytes) -> bytes:
        # the persistent id ends ..., 'cpu', 251): BININT1 251, TUPLE
        assert data.count(b"K\xfbt") == 1
        at = data.index(b"K\xfbt")
        return data[:at] + _long4(value) + data[at + 2 :]

    return _with_edited_pickle(base, edit)


@pytest.mark.parametrize(
    ("make", "value"),
    [
        (_with_pickled_size, 10**3999),
        (_with_pickled_size, 10**5000),
        (_with_pickled_size, 2**70),
        (_with_pickled_numel, 10**3999),
    ],
    ids=["size 4,000 digits", "size 5,001 digits", "size 2**70", "numel 4,000 digits"],
)
def test_huge_integers_in_the_pickle_are_refused(tmp_path, base, make, value) -> None:
    path = tmp_path / "hostile.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path.write_bytes(make(base, value))
    msg = _assert_short_refusal(path)
    assert "malformed weights" in msg, msg


def test_a_long_path_is_shown_with_its_file_name(tmp_path: Path, st_parts) -> None:
    folder = tmp_path
    for i in range(12):  # a path of ~700 characters, within PATH_MAX
        folder = folder / (f"{i:02d}" + "d" * 50)
    folder.mkdir(parents=True)
    path = folder / "my-model.safetensors"
    path.write_bytes(b"\0" * 16)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "my-model.safetensors" in msg and "…" in msg, msg
    assert len(msg) < 500, msg


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"history": [EpochMetrics(**ROW), EpochMetrics(**ROW)]}, "do not increase"),
        ({"history": [EpochMetrics(**{**ROW, "test_kl": float("inf")})]}, "test_kl"),
        ({"metrics": {"test_recon": float("nan")}}, "malformed metrics"),
        ({"dataset": {"name": "shapes", "n_train": 2**64}}, "n_train"),
    ],
    ids=["repeated epochs", "infinite KL", "NaN metric", "65-bit size"],
)
def test_a_record_that_would_not_load_is_not_saved(tmp_path, record, words) -> None:
    """The loader refuses these, so saving them would only lose the model."""
    for name in ("m.pt", "m.safetensors"):
        path = tmp_path / name
        with pytest.raises(CheckpointError) as info:
            save_checkpoint(path, new_model(CFG, seed=1), **record)
        msg = str(info.value)
        assert msg.startswith(f"not saving {path}: it would have "), msg
        assert words in msg, msg
        assert not path.exists() and list(tmp_path.iterdir()) == []
