"""Issue 28, item 10: the ETA counts the test passes from the start, so it does
not rise when the first one ends; the loop measures its steps apart from the
time between epochs."""

from __future__ import annotations

import math
import time
import types

import pytest

from latentlab.core import training
from latentlab.core.config import ModelConfig, TrainConfig
from latentlab.core.data import make_shapes
from latentlab.core.training import (
    EpochEnd,
    TrainProgress,
    new_model,
    train,
)
from latentlab.core.training_events import TEST_IMAGE_COST

EPOCHS, STEPS_PER_EPOCH = 10, 100
TRAIN_IMAGES, TEST_IMAGES = 6000, 1000


def _progress(step: int, step_s: float, pass_s: float) -> TrainProgress:
    """The progress event of a run whose steps take ``step_s`` each and whose
    test passes (after each epoch) take ``pass_s``, after ``step`` steps."""
    epoch = min((step - 1) // STEPS_PER_EPOCH + 1, EPOCHS)
    passes = epoch - 1
    return TrainProgress(
        step=step,
        total_steps=EPOCHS * STEPS_PER_EPOCH,
        epoch=epoch,
        epochs=EPOCHS,
        recon=(100.0,),
        kl=(0.0,),
        loss=(100.0,),
        samples_per_s=1.0,
        elapsed_s=step * step_s + passes * pass_s,
        rate_seconds=1.0,
        steps_s=step * step_s,
        images_per_epoch=TRAIN_IMAGES,
        test_images=TEST_IMAGES,
    )


def _end(step_s: float, pass_s: float) -> float:
    return EPOCHS * (STEPS_PER_EPOCH * step_s + pass_s)


def _old_eta(p: TrainProgress) -> float:
    """The ETA before issue 28: the run's time over its share of steps."""
    return p.elapsed_s * (1 - p.fraction) / p.fraction


def test_the_eta_counts_the_test_passes_before_the_first_is_timed() -> None:
    step_s = 0.1
    # A test pass at the cost the estimate assumes: a test image a third of a
    # training image's step.
    pass_s = STEPS_PER_EPOCH * step_s * TEST_IMAGES / TRAIN_IMAGES * TEST_IMAGE_COST
    before = _progress(STEPS_PER_EPOCH, step_s, pass_s)  # the first pass to come
    eta = before.eta()
    assert not eta.measured
    assert eta.per_epoch_s == pytest.approx(pass_s)
    assert eta.between_s == pytest.approx(EPOCHS * pass_s)
    assert eta.steps_s == pytest.approx((EPOCHS - 1) * STEPS_PER_EPOCH * step_s)
    # The end it predicts is the run's end, at every step: no jump at the
    # first test pass (the old figure rose by 9 passes there).
    for step in range(1, EPOCHS * STEPS_PER_EPOCH + 1, 7):
        p = _progress(step, step_s, pass_s)
        assert p.elapsed_s + p.eta_s == pytest.approx(_end(step_s, pass_s))
    after = _progress(STEPS_PER_EPOCH + 1, step_s, pass_s)
    assert after.eta().measured
    old_rise = _old_eta(after) - _old_eta(before)
    assert old_rise > 8 * pass_s
    assert after.eta_s < before.eta_s


def test_a_timed_test_pass_sets_the_rest_of_the_run() -> None:
    step_s, pass_s = 0.1, 4.0  # far slower than the estimate: an autosave, say
    for step in range(STEPS_PER_EPOCH + 1, EPOCHS * STEPS_PER_EPOCH + 1, 13):
        p = _progress(step, step_s, pass_s)
        eta = p.eta()
        assert eta.measured and eta.per_epoch_s == pytest.approx(pass_s)
        assert p.elapsed_s + p.eta_s == pytest.approx(_end(step_s, pass_s))


def test_an_event_without_step_seconds_keeps_the_runs_pace() -> None:
    p = TrainProgress(
        step=25,
        total_steps=100,
        epoch=1,
        epochs=4,
        recon=(1.0,),
        kl=(0.0,),
        loss=(1.0,),
        samples_per_s=1.0,
        elapsed_s=10.0,
        rate_seconds=1.0,
    )
    assert p.eta_s == pytest.approx(30.0)
    first = TrainProgress(0, 100, 1, 4, (1.0,), (0.0,), (1.0,), 0.0, 0.0, 0.0)
    assert first.eta_s == math.inf


class _JumpingClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def perf_counter(self) -> float:
        return time.perf_counter() + self.offset


def test_the_loop_times_its_steps_apart_from_the_time_between_epochs(
    monkeypatch,
) -> None:
    clock = _JumpingClock()
    monkeypatch.setattr(
        training, "time", types.SimpleNamespace(perf_counter=clock.perf_counter)
    )
    data = make_shapes(n_train=512, n_test=128, seed=7)
    config = TrainConfig(epochs=3, batch_size=64, threads=1)
    gen = train(new_model(ModelConfig(hidden=(64, 32))), data, config)
    events = []
    for event in gen:
        events.append(event)
        if isinstance(event, EpochEnd) and event.epoch == 1:
            clock.offset += 1000.0  # a slow test pass, say
    progress = [e for e in events if isinstance(e, TrainProgress)]
    assert all(p.images_per_epoch == 512 and p.test_images == 128 for p in progress)
    first = [p for p in progress if p.epoch == 1]
    later = [p for p in progress if p.epoch > 1]
    assert first and later
    assert all(not p.eta().measured for p in first)
    for p in later:
        assert p.elapsed_s > 1000 > p.steps_s
        eta = p.eta()
        assert eta.measured
        # One pass of 1,000 s over the passes so far, for each epoch left.
        assert eta.per_epoch_s == pytest.approx(1000 / (p.epoch - 1), rel=0.01)
        assert eta.between_s == pytest.approx(
            eta.per_epoch_s * (p.epochs - p.epoch + 1)
        )
