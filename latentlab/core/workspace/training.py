"""Training as a workspace job: one path for the window, the command line and
scripts (:func:`~latentlab.core.training_run.training_job`), one history and
timeline recorder (:class:`~latentlab.core.training_events.RunLog`).

With a background runner (the window) the models train on a thread of their
own below the window (:class:`~latentlab.core.training_thread.TrainingThread`)
and each snapshot redraws the slots; with a synchronous runner (scripts, the
command line) they train on the caller's thread and :meth:`train` returns when
the run ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psygnal import Signal

from latentlab.core.analysis.planes import GridRequest, refresh_from_snapshot
from latentlab.core.errors import LatentLabError
from latentlab.core.latent import LatentSlice
from latentlab.core.session import Side
from latentlab.core.training_events import RunLog
from latentlab.core.training_run import TrainingStarted, training_job

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.checkpoints import Checkpoint
    from latentlab.core.models import Autoencoder
    from latentlab.core.training import TrainResult
    from latentlab.core.training_run import TrainSpec
    from latentlab.core.training_thread import TrainingControl

TRAINING_POINTS = 2500  # test images plotted while training
SNAPSHOT_STAGGER_S = 0.25  # the second plane redraws half a snapshot later


class WorkspaceTraining:
    """The training commands and events of a
    :class:`~latentlab.core.workspace.Workspace`.

    Signals
    -------
    trainingStarted(TrainSpec), trainingProgress(TrainProgress),
    trainingEpoch(EpochEnd), trainingPaused(bool), autosaved(Autosaved)
        A run's course.
    trainingFinished(str)
        ``"done"``, ``"stopped"`` or ``"failed"`` (always last).
    """

    trainingStarted = Signal(object)
    trainingProgress = Signal(object)
    trainingEpoch = Signal(object)
    trainingPaused = Signal(bool)
    trainingFinished = Signal(str)
    autosaved = Signal(object)

    def _init_training(self) -> None:
        self._control: TrainingControl | None = None
        self._train_paused = False
        self._train_models: tuple[Autoencoder, ...] = ()
        self._train_slots: tuple[int, ...] = ()
        self._show_trained = True
        self._train_identity: dict[str, Any] = {}
        self._train_spec: TrainSpec | None = None
        self._final_status = "stopped"
        self.run_log = RunLog(0)
        """The last run's histories and timelines, epoch by epoch."""
        self.run_checkpoints: list[Checkpoint] = []
        """The last run's models, while it trained and as it ended."""
        self.last_run: TrainResult | None = None
        """What the last run returned (None while one runs, or when it failed)."""

    @property
    def training(self) -> bool:
        """True while a training job runs."""
        return self.busy("training")

    @property
    def paused(self) -> bool:
        """True while the run is paused."""
        return self._train_paused

    def preload_dataset(
        self,
        name: str,
        data_dir: str | None,
        *,
        image_size: int | tuple[int, int] | None = None,
        channels: int | None = None,
    ) -> None:
        """Load a dataset a training form shows (at the size and channels it
        shows), so Train starts at once.

        Quiet: a dataset that cannot load says so when Train is pressed. An
        image folder is read only then: the field may hold a folder the user
        has not chosen yet."""
        if self.closed or name == "folder":
            return
        self.submit(
            "preload",
            self.datasets.get,
            name,
            data_dir,
            image_size=image_size,
            channels=channels,
            on_error=lambda _exc: None,
        )

    def download_dataset(
        self, name: str, data_dir: str | None = None, **callbacks: Any
    ) -> None:
        """Download the dataset ``name`` (MNIST, Fashion-MNIST, KMNIST) through
        torchvision into ``data_dir`` (default: the workspace's, else
        ``$LATENTLAB_DATA`` or ``~/.cache/latentlab/data``) as a job; it needs
        internet, and a failure says what to copy where instead."""
        self.submit(
            "download",
            self.datasets.get,
            name,
            data_dir if data_dir is not None else self.data_dir,
            download=True,
            **callbacks,
        )

    def train(
        self,
        spec: TrainSpec,
        slots: Sequence[int] | None = None,
        *,
        show: bool = True,
    ) -> None:
        """Train one model per ``spec.kinds`` into ``slots`` (by default the
        first ones, added as needed): an AE and a VAE unless asked otherwise.

        A synchronous runner returns when the run ended (:attr:`last_run`);
        the window's returns at once and reports through the signals. With
        ``show=False`` the trained models go into their slots without their
        test set encoded (the command line saves them at once).
        """
        from latentlab.core.threads import set_job_threads, training_threads
        from latentlab.core.training_thread import TrainingControl, TrainingThread

        if self.training or self.closed:
            return
        if not spec.kinds:
            raise LatentLabError("nothing to train: TrainSpec.kinds is empty")
        if slots is None:
            slots = range(len(spec.kinds))
        slots = tuple(slots)
        if len(slots) != len(spec.kinds):
            raise ValueError(
                f"{len(spec.kinds)} models to train but {len(slots)} slots"
            )
        while len(self.slots) <= max(slots):
            self.add_slot()
        self._train_spec = spec
        self._train_slots = slots
        self._show_trained = show
        self.run_log = RunLog(len(slots))
        self.run_checkpoints = []
        self.last_run = None
        self._train_paused = False
        self._final_status = "stopped"
        if self.runner.background:
            threads = training_threads()  # the window keeps a core
            set_job_threads(1)  # and its jobs keep to that core
            self._control = TrainingThread()
        else:
            threads = None
            self._control = TrainingControl()
        self.session.new_run()
        self.trainingStarted.emit(spec)
        self.status.emit(
            f"Training {' and '.join(k.upper() for k in spec.kinds)} on {spec.dataset}…"
        )
        self.submit(
            "training",
            training_job,
            spec,
            self.datasets,
            self._control,
            threads,
            on_progress=self._on_training_event,
            on_result=self._on_training_returned,
            on_error=self._on_training_error,
            on_finish=self._on_training_finished,
        )

    def pause(self, paused: bool | None = None) -> None:
        """Pause (True), resume (False) or toggle (None) the run, after the
        current step."""
        if self._control is None or self._control.stopping:
            return
        if not self.runner.background:
            # The run is on this very thread: a pause would wait for itself.
            raise LatentLabError(
                "a run on the caller's thread cannot pause; stop() ends it"
            )
        self._train_paused = not self._train_paused if paused is None else paused
        self._control.pause(self._train_paused)
        self.trainingPaused.emit(self._train_paused)

    def stop(self) -> None:
        """Stop after the current step; the models keep what they learned."""
        if self._control is not None:
            self._control.stop()  # also ends a pause

    def _kill_training(self) -> None:
        if self._control is not None:
            self._control.kill()  # closing: no final weights to wait for

    def _on_training_event(self, event: Any) -> None:
        from latentlab.core.checkpoints import Checkpoint
        from latentlab.core.training import EpochEnd, ModelSnapshot, TrainProgress
        from latentlab.core.training_thread import Autosaved

        if isinstance(event, TrainingStarted):
            self._train_models = event.models
            self._train_identity = event.identity
            spec = self._train_spec
            self.datasets.put(event.dataset, spec.data_dir, name=spec.dataset)
            self._report_skipped(event.dataset)
            # Redrawn twice a second while training: a few thousand points show
            # the shape of the code space at a fraction of the cost of all 10k.
            shown = event.dataset.test_subset(TRAINING_POINTS)
            for slot, model in zip(self._train_slots, event.models, strict=True):
                self._grid_wanted.pop(slot, None)  # asked again at the first snapshot
                checkpoint = Checkpoint(model=model, dataset=dict(event.identity))
                self.run_checkpoints.append(checkpoint)
                old = self.slots[slot].latent_slice
                dim = model.config.latent_dim
                self.session.set_side(
                    slot,
                    Side(
                        checkpoint=checkpoint,
                        dataset=shown,
                        latent_slice=old if old.latent_dim == dim else _first_two(dim),
                        training=True,
                    ),
                )
        elif isinstance(event, TrainProgress):
            self.trainingProgress.emit(event)
        elif isinstance(event, EpochEnd):
            self.run_log.add(event)
            for i, slot in enumerate(self._train_slots):
                state = self.slots[slot]
                if state.checkpoint is not None and state.training:
                    state.checkpoint.history = list(self.run_log.histories[i])
                    self.session.update_side(slot)  # the title counts epochs
            self.trainingEpoch.emit(event)
        elif isinstance(event, ModelSnapshot):
            if self.runner.background:  # scripts get the final models
                for i, (slot, state) in enumerate(
                    zip(self._train_slots, event.state_dicts, strict=True)
                ):
                    # Staggered, so no single frame carries every redraw.
                    self._show_snapshot(i, slot, state, i * SNAPSHOT_STAGGER_S)
        elif isinstance(event, Autosaved):
            self.autosaved.emit(event)
            self.status.emit(
                f"Autosaved epoch {event.epoch} to {event.paths[0].parent}"
            )

    def _show_snapshot(
        self, index: int, slot: int, state: dict[str, Any], delay_s: float
    ) -> None:
        current = self.slots[slot]
        wanted = self._grid_wanted.get(slot)
        if wanted is not None:  # the dims shown may have changed since
            wanted = GridRequest(wanted.rect, wanted.n, current.latent_slice)
        self.submit(
            f"refresh{slot}",
            refresh_from_snapshot,
            self._train_models[index].config,
            state,
            current.dataset,
            wanted,
            inputs=("run",),
            delay_s=delay_s,
            on_result=lambda result: self._on_refreshed(slot, result),
            on_error=lambda exc: self._fail("Could not refresh the plane", exc),
        )

    def _on_refreshed(self, slot: int, result: Any) -> None:
        if not self.slots[slot].training:
            return
        self.session.update_side(slot, model=result.model, codes=result.codes)
        if result.manifold is not None:
            self.manifoldReady.emit(slot, result.manifold)
        if self.last_xy is not None:
            self._decode_slot(slot, *self.last_xy)

    def _on_training_returned(self, result: TrainResult) -> None:
        status = "stopped" if result.cancelled else "done"
        self._final_status = status
        self.last_run = result
        self._finish_training_slots(result.histories)
        done = sum(len(h) for h in result.histories) // max(len(result.histories), 1)
        self.status.emit(
            f"Training {status} after {done} epoch(s) in {result.seconds:.1f}s"
        )

    def _on_training_error(self, exc: Exception) -> None:
        self._final_status = "failed"
        self._finish_training_slots(self.run_log.histories)
        self._fail("Training failed", exc)

    def _finish_training_slots(self, histories: Sequence[Sequence[Any]]) -> None:
        from latentlab.core.checkpoints import Checkpoint, metrics_summary

        if not self._train_models:
            return
        self.session.new_run()  # a snapshot still queued must not replace these
        for i, (slot, model) in enumerate(
            zip(self._train_slots, self._train_models, strict=True)
        ):
            ckpt = Checkpoint(
                model=model,
                history=list(histories[i]),
                dataset=dict(self._train_identity),
                timeline=self.run_log.timeline(i),
            )
            ckpt.metrics = metrics_summary(ckpt.history)
            self.run_checkpoints.append(ckpt)
            self.cancel(f"refresh{slot}")  # a snapshot still on its way
            if self._show_trained:
                self.session.update_side(slot, training=False, unsaved=True)
                self.show_checkpoint(slot, ckpt, unsaved=True)
            else:
                self.session.update_side(
                    slot, checkpoint=ckpt, model=model, training=False, unsaved=True
                )

    def _on_training_finished(self) -> None:
        from latentlab.core.threads import set_job_threads

        if self.runner.background:
            set_job_threads(None)
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._train_paused:
            self._train_paused = False
            self.trainingPaused.emit(False)
        for slot in self._train_slots:
            if slot < len(self.slots) and self.slots[slot].training:
                self.session.update_side(slot, training=False)  # aborted: no weights
        self._train_models = ()
        self.trainingFinished.emit(self._final_status)


def _first_two(latent_dim: int) -> LatentSlice:
    return LatentSlice(latent_dim, (0, 1) if latent_dim > 1 else (0, 0))
