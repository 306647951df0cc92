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
    without its pauses.
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

    @property
    def fraction(self) -> float:
        """Share of all steps done, in [0, 1]."""
        return self.step / max(self.total_steps, 1)

    @property
    def eta_s(self) -> float:
        """Estimated seconds left at the current pace."""
        done = self.fraction
        return self.elapsed_s * (1.0 - done) / done if done > 0 else math.inf


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
