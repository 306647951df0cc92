"""What a training run reports: the events :func:`~latentlab.core.training.train`
yields (:class:`TrainProgress`, :class:`EpochEnd`, :class:`ModelSnapshot`), the
per-epoch :class:`EpochMetrics` a history is made of, and the :class:`TrainResult`
it returns. Plain dataclasses; the loop itself is in
:mod:`latentlab.core.training`, which re-exports them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from latentlab.core.timeline import Timeline, TimelineFrame


@dataclass(frozen=True, slots=True)
class EpochMetrics:
    """Per-image means in nats for one epoch of one model; ``seconds`` (and the
    rate) of its training steps, pauses left out."""

    epoch: int
    train_loss: float
    train_recon: float
    train_kl: float
    test_recon: float
    test_kl: float
    seconds: float
    samples_per_s: float

    @property
    def test_neg_elbo(self) -> float:
        """Test negative ELBO (recon + KL), nats per image."""
        return self.test_recon + self.test_kl


@dataclass(frozen=True, slots=True)
class TrainProgress:
    """Running means since the previous progress event, for every model.

    ``samples_per_s`` counts training images (each steps every model) over the
    last ``rate_seconds`` of training steps (about
    :data:`~latentlab.core.training.RATE_SPAN_S`): test
    passes, snapshots and pauses are left out. ``elapsed_s`` is the run's time
    without its pauses; ``steps_s`` the part of it spent in the epochs' training
    steps (the time between epochs, their test passes, left out: NaN when not
    measured). ``images_per_epoch`` and ``test_images`` size an epoch's
    training and its test pass.
    """

    step: int
    total_steps: int
    epoch: int
    epochs: int
    recon: tuple[float, ...]
    kl: tuple[float, ...]
    loss: tuple[float, ...]
    samples_per_s: float
    elapsed_s: float
    rate_seconds: float
    steps_s: float = math.nan
    images_per_epoch: int = 0
    test_images: int = 0

    @property
    def fraction(self) -> float:
        """Share of all steps done, in [0, 1]."""
        return self.step / max(self.total_steps, 1)

    @property
    def eta_s(self) -> float:
        """Estimated seconds left at the run's pace so far (see :meth:`eta`)."""
        return self.eta().seconds

    def eta(self) -> Eta:
        """The run's time left, in its two parts: the training steps left at
        the pace of those done, and the time after each epoch left (its test
        pass, timeline frame, snapshot), as long as the ones so far took, or
        estimated from the steps' pace before the first has ended.

        Charging the time between epochs to the steps (the run's time so far
        over its share of steps) left it out until the first test pass, then
        counted it for every epoch left at once: the estimate rose.
        """
        if self.step <= 0:
            return Eta(math.inf, math.inf, False, math.inf)
        if not math.isfinite(self.steps_s):  # not measured: the run's own pace
            done = self.fraction
            return Eta(self.elapsed_s * (1.0 - done) / done, 0.0, True, math.nan)
        step_s = self.steps_s / self.step
        steps_left = step_s * max(self.total_steps - self.step, 0)
        ended = self.epoch - 1  # epochs whose test pass has run
        left = max(self.epochs - ended, 0)  # the current epoch's is to come
        if ended > 0:
            each = max(self.elapsed_s - self.steps_s, 0.0) / ended
            return Eta(steps_left, each * left, True, each)
        steps_per_epoch = self.total_steps / max(self.epochs, 1)
        share = self.test_images / max(self.images_per_epoch, 1)
        each = step_s * steps_per_epoch * share * TEST_IMAGE_COST
        return Eta(steps_left, each * left, False, each)


# A test image runs each model forward only; a training image forward, backward
# (about two forwards) and the optimizer: about a third of the cost.
TEST_IMAGE_COST = 1.0 / 3.0


@dataclass(frozen=True, slots=True)
class Eta:
    """A run's estimated time left: ``steps_s`` for its training steps and
    ``between_s`` for what follows each epoch left (``per_epoch_s`` each):
    timed on the epochs so far when ``measured``, else estimated from the
    steps' pace (a test image at :data:`TEST_IMAGE_COST` of a training one)."""

    steps_s: float
    between_s: float
    measured: bool
    per_epoch_s: float

    @property
    def seconds(self) -> float:
        """The whole time left."""
        return self.steps_s + self.between_s


@dataclass(frozen=True, slots=True)
class EpochEnd:
    """An epoch finished; ``metrics[i]`` and ``frames[i]`` belong to model ``i``.

    ``frames`` are the timeline codes recorded after this epoch (empty when the
    run records none); ``run_id`` is the same for every epoch of one run.
    """

    epoch: int
    metrics: tuple[EpochMetrics, ...]
    frames: tuple[TimelineFrame, ...] = ()
    run_id: str = ""
    seed: int = 0


@dataclass(frozen=True, slots=True)
class ModelSnapshot:
    """CPU copies of the models' weights, safe to use on another thread."""

    step: int
    epoch: int
    state_dicts: tuple[dict[str, torch.Tensor], ...]


TrainEvent = TrainProgress | EpochEnd | ModelSnapshot


@dataclass(slots=True)
class TrainResult:
    """What training produced. The models themselves were trained in place;
    ``seconds`` is the run's time, its pauses left out."""

    histories: list[list[EpochMetrics]]
    seconds: float
    steps: int
    cancelled: bool = False
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)
    timelines: list[Timeline | None] = field(default_factory=list)
    run_id: str = ""


class RunLog:
    """What a run has recorded, built from its :class:`EpochEnd` events in one
    place: each model's history and timeline.

    The training loop, the training thread (for its autosaves) and the window
    each keep one, fed the same events; none builds its own.

    Example
    -------
    >>> log = RunLog(2)
    >>> for event in events:  # doctest: +SKIP
    ...     if isinstance(event, EpochEnd):
    ...         log.add(event)
    """

    def __init__(self, n_models: int) -> None:
        from latentlab.core.timeline import TimelineRecorder

        self.histories: list[list[EpochMetrics]] = [[] for _ in range(n_models)]
        self._timelines = TimelineRecorder(n_models)

    def add(self, event: EpochEnd) -> None:
        """Record one epoch: its metrics and its frames, one per model."""
        for history, metrics in zip(self.histories, event.metrics, strict=True):
            history.append(metrics)
        self._timelines.add(event.frames, event.run_id, event.seed)

    @property
    def epochs(self) -> int:
        """Epochs recorded so far."""
        return len(self.histories[0]) if self.histories else 0

    def timeline(self, i: int) -> Timeline | None:
        """Model ``i``'s timeline so far, or None when no frame was recorded."""
        return self._timelines.timeline(i)
