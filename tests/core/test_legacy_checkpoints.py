"""Checkpoints saved by earlier versions keep opening, to the same model.

``tests/data/legacy/<version>/`` holds files as those versions wrote them, and
``expected.json`` what they opened to then (``make_legacy.py`` beside them).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from latentlab.core.checkpoints import load_checkpoint

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy"
CASES = [
    (folder.name, name)
    for folder in sorted(LEGACY.iterdir())
    if (folder / "expected.json").is_file()
    for name in json.loads((folder / "expected.json").read_text())
]


def _make_legacy():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_legacy", LEGACY / "make_legacy.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_legacy_files_of_every_kind() -> None:
    names = {name for _, name in CASES}
    assert {".pt", ".safetensors", ".pth"} <= {Path(n).suffix for n in names}


@pytest.mark.parametrize(("version", "name"), CASES)
def test_a_legacy_checkpoint_opens_to_the_same_model(version: str, name: str) -> None:
    expected = json.loads((LEGACY / version / "expected.json").read_text())[name]
    got = _make_legacy().record(LEGACY / version / name)
    decoded = got.pop("decoded_at_zero")
    want_decoded = expected.pop("decoded_at_zero")
    assert decoded == pytest.approx(want_decoded, abs=1e-5)
    if got["last_neg_elbo"] is not None:
        assert got.pop("last_neg_elbo") == pytest.approx(expected.pop("last_neg_elbo"))
    assert got == expected


def test_the_legacy_timeline_still_replays() -> None:
    ckpt = load_checkpoint(LEGACY / "v1" / "small-vae-3d.pt")
    assert ckpt.timeline is not None and ckpt.timeline.count == 2
    assert [m.epoch for m in ckpt.history] == [1, 2]
