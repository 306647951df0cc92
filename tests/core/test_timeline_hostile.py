"""Hostile timelines: each a CheckpointError in words, before anything is allocated."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
import torch

from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.timeline import Timeline, timeline_indices
from latentlab.core.training import new_model
from tests.core.test_hostile_checkpoints import CFG, assert_refused

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

EPOCHS, POINTS = 3, 40


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    tl = Timeline(
        indices=timeline_indices(100, POINTS, 0),
        epochs=np.arange(1, EPOCHS + 1, dtype=np.int64),
        codes=rng.standard_normal((EPOCHS, POINTS, 2)).astype(np.float16),
        sigma=rng.uniform(0.1, 1, (EPOCHS, POINTS, 2)).astype(np.float16),
        test_recon=np.ones(EPOCHS, np.float32),
        test_kl=np.ones(EPOCHS, np.float32),
        run_id="0123abcd",
        seed=4,
    )
    path = tmp_path_factory.mktemp("tl") / "base.pt"
    save_checkpoint(path, new_model(CFG, seed=1), timeline=tl)
    return torch.load(path, weights_only=True)


def _copy(payload: dict[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    out["timeline"] = dict(payload["timeline"])
    return out


def _tl(name: str, make: Callable[[Any], Any]) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        p["timeline"][name] = make(p["timeline"][name])

    return change


def _whole(value: Any) -> Callable[[dict[str, Any]], None]:
    def change(p: dict[str, Any]) -> None:
        p["timeline"] = value

    return change


def _pop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda p: p["timeline"].pop(name)


def _add(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda p: p["timeline"].__setitem__(name, 1)


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "list": (_whole([1, 2]), "malformed timeline"),
    "state dict": (_whole({"a": torch.zeros(2)}), "malformed timeline"),
    "missing codes": (_pop("codes"), "missing or unexpected codes"),
    "extra key": (_add("evil"), "unexpected evil"),
    "run id int": (_tl("run_id", lambda _: 5), "run id"),
    "run id long": (_tl("run_id", lambda _: "x" * 10_000), "run id"),
    "seed str": (_tl("seed", lambda _: "4"), "seed"),
    "seed bool": (_tl("seed", lambda _: True), "seed"),
    "codes list": (_tl("codes", lambda t: t.tolist()), "not a tensor"),
    "codes float32": (_tl("codes", lambda t: t.float()), "float32, expected float16"),
    "codes float64": (_tl("codes", lambda t: t.double()), "expected float16"),
    "codes 2-D": (_tl("codes", lambda t: t[0]), "not (epochs, images, latent)"),
    "codes 3 dims": (_tl("codes", lambda t: torch.zeros(3, 40, 3).half()), "3-D"),
    "codes nan": (_tl("codes", lambda t: torch.full_like(t, float("nan"))), "NaN"),
    "codes inf": (_tl("codes", lambda t: torch.full_like(t, float("inf"))), "NaN"),
    "codes strided": (
        _tl("codes", lambda t: torch.zeros(2, 40, 3).half().transpose(0, 2)),
        "contiguously",
    ),
    "codes expanded": (
        _tl("codes", lambda t: torch.zeros(1).half().expand(*t.shape)),
        "contiguously",
    ),
    "codes sparse": (_tl("codes", lambda t: t.float().to_sparse()), "sparse"),
    "codes huge": (
        _tl("codes", lambda t: torch.zeros(1).half().expand(10_000, 10_000, 2)),
        "more than LatentLab stores",
    ),
    "too many images": (
        _tl("codes", lambda t: torch.zeros(1, 20_000, 2).half()),
        "20,000 images",
    ),
    "no epochs": (_tl("codes", lambda t: t[:0]), "0 epochs"),
    "epochs disagree": (
        _tl("epochs", lambda t: torch.arange(1, 5)),
        "epochs is 4, expected 3",
    ),
    "epochs int32": (_tl("epochs", lambda t: t.int()), "int32, expected int64"),
    "epochs from 0": (_tl("epochs", lambda t: t - 1), "epochs are not increasing"),
    "epochs repeat": (
        _tl("epochs", lambda t: torch.ones_like(t)),
        "epochs are not increasing",
    ),
    "epochs huge": (_tl("epochs", lambda t: t * 10**6), "past"),
    "indices repeat": (
        _tl("indices", lambda t: torch.zeros_like(t)),
        "distinct and increasing",
    ),
    "indices negative": (_tl("indices", lambda t: t - 10**6), "distinct"),
    "indices float": (_tl("indices", lambda t: t.double()), "expected int64"),
    "indices short": (_tl("indices", lambda t: t[:5]), "indices is 5, expected 40"),
    "sigma missing in a VAE": (_tl("sigma", lambda _: None), "needs its sigma"),
    "sigma zero": (_tl("sigma", torch.zeros_like), "not all positive"),
    "sigma shape": (_tl("sigma", lambda t: t[:, :5]), "sigma is 3x5x2"),
    "test recon nan": (
        _tl("test_recon", lambda t: torch.full_like(t, float("nan"))),
        "NaN",
    ),
    "test kl float16": (_tl("test_kl", lambda t: t.half()), "expected float32"),
    "test kl parameter": (_tl("test_kl", torch.nn.Parameter), "nn.Parameter"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_timeline_is_refused(tmp_path: Path, base, case: str) -> None:
    change, words = CASES[case]
    payload = _copy(base)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's beta/deprecation notes
        change(payload)
    path = tmp_path / "hostile.pt"
    torch.save(payload, path)
    assert_refused(path, words)


def test_sigma_in_an_autoencoders_timeline_is_refused(tmp_path: Path, base) -> None:
    payload = _copy(base)
    payload["config"] = {**payload["config"], "kind": "ae"}
    payload["state_dict"] = new_model(CFG.__class__(**{**CFG.to_dict(), "kind": "ae"}))
    payload["state_dict"] = dict(payload["state_dict"].state_dict())
    path = tmp_path / "ae.pt"
    torch.save(payload, path)
    assert_refused(path, "autoencoder's timeline has no sigma")


def test_the_sound_base_loads(tmp_path: Path, base) -> None:
    path = tmp_path / "ok.pt"
    torch.save(_copy(base), path)
    tl = load_checkpoint(path).timeline
    assert tl is not None and tl.codes.shape == (EPOCHS, POINTS, 2)
    assert tl.run_id == "0123abcd" and tl.seed == 4
