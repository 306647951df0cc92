"""The training timeline: recorded every epoch, stored compactly, loaded strictly."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch

from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.config import ModelConfig, TrainConfig
from latentlab.core.data import make_shapes
from latentlab.core.latent import encode_images
from latentlab.core.timeline import (
    Timeline,
    TimelineRecorder,
    timeline_indices,
    write_gif,
)
from latentlab.core.training import EpochEnd, new_model, train

if TYPE_CHECKING:
    from pathlib import Path


def _run(models, dataset, config):
    run = train(models, dataset, config)
    events = []
    while True:
        try:
            events.append(next(run))
        except StopIteration as stop:
            return stop.value, events


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(n_train=256, n_test=300, seed=3)


@pytest.fixture(scope="module")
def run(shapes):
    cfg = ModelConfig(kind="ae", hidden=(32,), image_shape=shapes.image_shape)
    models = [
        new_model(cfg, seed=0),
        new_model(ModelConfig(**{**cfg.to_dict(), "kind": "vae"}), seed=0),
    ]
    config = TrainConfig(epochs=2, batch_size=64, threads=1, timeline_points=200)
    result, events = _run(models, shapes, config)
    return models, result, events


def test_indices_are_seeded_distinct_and_sorted() -> None:
    a = timeline_indices(10_000, 2000, seed=5)
    assert len(a) == 2000 and len(set(a.tolist())) == 2000
    assert (np.diff(a) > 0).all() and a[0] >= 0 and a[-1] < 10_000
    assert np.array_equal(a, timeline_indices(10_000, 2000, seed=5))
    assert not np.array_equal(a, timeline_indices(10_000, 2000, seed=6))
    assert len(timeline_indices(50, 2000, seed=0)) == 50


def test_every_epoch_records_frames_and_the_run_shares_one_id(run) -> None:
    _, result, events = run
    ends = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in ends] == [1, 2]
    assert all(len(e.frames) == 2 for e in ends)
    ae, vae = result.timelines
    assert ae.run_id == vae.run_id == result.run_id != ""
    assert np.array_equal(ae.indices, vae.indices)
    assert ae.codes.shape == (2, 200, 2) and ae.codes.dtype == np.float16
    assert ae.sigma is None and vae.sigma.shape == (2, 200, 2)
    # The test figures are the history's.
    for tl, history in zip(result.timelines, result.histories, strict=True):
        np.testing.assert_allclose(
            tl.test_recon, [m.test_recon for m in history], rtol=1e-6
        )
        np.testing.assert_allclose(tl.test_kl, [m.test_kl for m in history], rtol=1e-6)


def test_last_epoch_codes_equal_the_final_models_codes(run, shapes) -> None:
    models, result, _ = run
    for model, tl in zip(models, result.timelines, strict=True):
        images = shapes.test_images[torch.from_numpy(tl.indices)]
        codes = encode_images(model, images)
        # float16 keeps 11 significant bits: relative error <= 2**-11.
        np.testing.assert_allclose(
            tl.codes[-1].astype(np.float32), codes.mu, rtol=2**-10, atol=1e-4
        )
        if codes.sigma is not None:
            np.testing.assert_allclose(
                tl.sigma[-1].astype(np.float32), codes.sigma, rtol=2**-10, atol=1e-4
            )


def test_the_timeline_round_trips_through_a_checkpoint(run, tmp_path: Path) -> None:
    models, result, _ = run
    for model, tl in zip(models, result.timelines, strict=True):
        path = tmp_path / f"{model.config.kind}.pt"
        save_checkpoint(path, model, timeline=tl)
        back = load_checkpoint(path).timeline
        assert back is not None and back.run_id == tl.run_id
        for name in ("indices", "epochs", "codes", "test_recon", "test_kl"):
            assert np.array_equal(getattr(back, name), getattr(tl, name)), name
        assert (back.sigma is None) == (tl.sigma is None)


def test_a_checkpoint_without_a_timeline_still_loads(run, tmp_path: Path) -> None:
    models, _, _ = run
    path = tmp_path / "plain.pt"
    save_checkpoint(path, models[0])
    assert "timeline" not in torch.load(path, weights_only=True)
    assert load_checkpoint(path).timeline is None


def test_a_30_epoch_2d_run_adds_well_under_a_megabyte(tmp_path: Path) -> None:
    cfg = ModelConfig(kind="vae", hidden=(8,))
    model = new_model(cfg)
    n, epochs = 2000, 30
    rng = np.random.default_rng(0)
    tl = Timeline(
        indices=timeline_indices(10_000, n, 0),
        epochs=np.arange(1, epochs + 1, dtype=np.int64),
        codes=rng.standard_normal((epochs, n, 2)).astype(np.float16),
        sigma=rng.uniform(0.1, 1, (epochs, n, 2)).astype(np.float16),
        test_recon=np.ones(epochs, np.float32),
        test_kl=np.ones(epochs, np.float32),
        run_id="a" * 32,
    )
    save_checkpoint(tmp_path / "without.pt", model)
    save_checkpoint(tmp_path / "with.pt", model, timeline=tl)
    added = (tmp_path / "with.pt").stat().st_size - (
        tmp_path / "without.pt"
    ).stat().st_size
    assert added < 600_000, f"a 30-epoch 2-D VAE timeline adds {added:,} bytes"
    assert load_checkpoint(tmp_path / "with.pt").timeline.count == epochs


def test_recorder_without_frames_gives_none() -> None:
    rec = TimelineRecorder(2)
    rec.add(())
    assert rec.timeline(0) is None and rec.timeline(5) is None


def test_gif_has_one_frame_per_epoch(tmp_path: Path) -> None:
    from PIL import Image

    frames = [np.full((20, 30, 3), 200, np.uint8) for _ in range(7)]
    for i, frame in enumerate(frames):  # as the epoch label does, each one differs
        frame[2:6, 2 + 3 * i : 5 + 3 * i] = (200, 30, 30)
    path = write_gif(tmp_path / "t.gif", frames)
    with Image.open(path) as im:
        assert im.n_frames == 7 and im.size == (30, 20)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_latentlab_train_stores_a_timeline(tmp_path: Path, capsys) -> None:
    from latentlab.cli import main

    out = tmp_path / "m.pt"
    args = ["train", "--dataset", "shapes", "--epochs", "1", "--hidden", "16"]
    rc = main([*args, "--threads", "1", "--device", "cpu", "--out", str(out)])
    capsys.readouterr()
    assert rc == 0
    tl = load_checkpoint(out).timeline
    assert tl is not None and tl.count == 1 and tl.points > 0
    assert tl.sigma is not None and tl.run_id


def test_autosave_stores_the_timeline_so_far(run, tmp_path: Path) -> None:
    from latentlab.core.training_events import EpochEnd, RunLog
    from latentlab.core.training_thread import Autosaver

    models, result, events = run
    log = RunLog(2)
    for event in events:
        if isinstance(event, EpochEnd):
            log.add(event)
    assert log.histories == result.histories, "the loop's log, rebuilt"
    saver = Autosaver(tmp_path, {"name": "shapes"})
    saved = saver.save(models, log)
    for path in saved.paths:
        tl = load_checkpoint(path).timeline
        assert tl is not None and tl.count == 2 and tl.run_id == result.run_id


def _frame(tl: Timeline, i: int):
    from latentlab.core.timeline import TimelineFrame

    sigma = None if tl.sigma is None else tl.sigma[i]
    return TimelineFrame(int(tl.epochs[i]), tl.indices, tl.codes[i], sigma, 1.0, 1.0)
