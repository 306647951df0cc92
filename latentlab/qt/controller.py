"""Dispatch: turns the window's intents into session changes and jobs.

The state lives in :class:`~latentlab.core.session.Session`; the work in
:mod:`latentlab.core.analysis` and :mod:`latentlab.core.training_run`. The
controller loads and saves models, decodes clicks, asks for manifolds and relays
a training run (which trains on a thread of its own,
:mod:`latentlab.core.training_thread`) into the session. The models the GUI
thread decodes with are CPU copies that no other thread writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from latentlab.core import perf
from latentlab.core.analysis.planes import (
    DatasetCache,
    GridRequest,
    Prepared,
    decode_at,
    decode_manifold,
    load_and_prepare,
    prepare,
    refresh_from_snapshot,
)
from latentlab.core.codes_csv import write_codes_csv
from latentlab.core.errors import LatentLabError
from latentlab.core.latent import LatentSlice
from latentlab.core.session import SIDE_NAMES, SIDES, Session, Side, side_scope
from latentlab.core.threads import set_job_threads, training_threads
from latentlab.core.training_events import RunLog
from latentlab.core.training_run import TrainingStarted, training_job
from latentlab.qt.jobs import JobRunner

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from latentlab.core.checkpoints import Checkpoint
    from latentlab.core.data import ImageDataset
    from latentlab.core.latent import LatentRect
    from latentlab.core.models import Autoencoder
    from latentlab.core.training import TrainResult
    from latentlab.core.training_run import TrainSpec
    from latentlab.core.training_thread import TrainingThread

TRAINING_POINTS = 2500  # test images plotted while training
SNAPSHOT_STAGGER_MS = 250


class Controller(QObject):
    """Loads, saves, decodes and trains on behalf of the window.

    Signals
    -------
    decoded(int, object)
        side, :class:`~latentlab.core.analysis.planes.Decoded`
    gridReady(int, object)
        side, :class:`~latentlab.core.analysis.planes.Manifold`
    loaded(int, str)
        side, path: a file opened (for Open Recent)
    """

    decoded = Signal(int, object)
    gridReady = Signal(int, object)
    loaded = Signal(int, str)
    saved = Signal(int, str)
    trainingStarted = Signal(object)  # TrainSpec
    trainingProgress = Signal(object)  # TrainProgress
    trainingEpoch = Signal(object)  # EpochEnd
    trainingFinished = Signal(str)  # "done" | "stopped" | "failed"
    trainingPaused = Signal(bool)
    errorRaised = Signal(str, str)  # title, message
    status = Signal(str)
    loadingChanged = Signal(int, bool)  # side, busy
    # side, Checkpoint: a model trained elsewhere whose file names no dataset;
    # the window asks the user and calls use_dataset (or show_without_dataset).
    datasetNeeded = Signal(int, object)
    codesExported = Signal(int, str)  # side, path

    def __init__(
        self,
        data_dir: str | None = None,
        parent: QObject | None = None,
        session: Session | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_dir = data_dir
        self.session = session or Session()
        self.jobs = JobRunner(self.session, self)
        self.datasets = DatasetCache()
        self._grid_wanted: list[GridRequest | None] = [None, None]
        self._trainer: TrainingThread | None = None
        self._train_paused = False
        self._train_models: tuple[Autoencoder, ...] = ()
        self._train_identity: dict[str, Any] = {}
        self._train_log = RunLog(len(SIDES))
        self._train_spec: TrainSpec | None = None
        self._final_status = "stopped"
        self._closed = False
        self._last_xy: tuple[float, float] | None = None
        # True once a window handles datasetNeeded (asks which dataset a model
        # trained elsewhere was trained on); otherwise such a model is shown
        # without a test set.
        self.asks_dataset = False
        # Training holds a pool thread for its whole run; short jobs (grids,
        # loads, refreshes) must not queue behind it on a 2-core machine. The
        # ``thread_pool_size`` device (core/perf.py); the plain path keeps Qt's
        # default but never fewer than 2, one beside training's relay.
        pool = QThreadPool.globalInstance()
        wanted = 4 if perf.enabled("thread_pool_size") else 2
        pool.setMaxThreadCount(max(pool.maxThreadCount(), wanted))
        self.jobs.busyChanged.connect(self._on_busy)
        self.run_checkpoints: list[Checkpoint] = []
        """The last run's models, while it trained and as it ended (its curves
        stay on screen while they are shown)."""

    @property
    def panels(self) -> list[Side]:
        """The session's two sides (read-only use)."""
        return self.session.sides

    def _on_busy(self, kind: str, busy: bool) -> None:
        if kind.startswith("load"):
            self.loadingChanged.emit(int(kind[-1]), busy)

    # --- loading -----------------------------------------------------------------

    def load_file(self, side: int, path: str | os.PathLike[str]) -> None:
        """Load a checkpoint into ``side`` in the background.

        The side keeps its current model until the new one is ready; a bad file
        raises ``errorRaised`` and changes nothing.
        """
        name = Path(path).name
        if self._closed:
            return
        self.status.emit(f"Loading {name}…")
        self.jobs.submit(
            f"load{side}",
            load_and_prepare,
            str(path),
            self.data_dir,
            self.datasets,
            scopes=("run",),
            on_result=lambda prepared: self._on_file_loaded(side, prepared),
            on_error=lambda exc: self._report(f"Could not open {name}", exc),
        )

    def _on_file_loaded(self, side: int, prepared: Prepared) -> None:
        if prepared.checkpoint.needs_dataset and self.asks_dataset:
            self.datasetNeeded.emit(side, prepared.checkpoint)
            return
        self._install(side, prepared, unsaved=False)

    def use_dataset(self, side: int, checkpoint: Checkpoint, name: str | None) -> None:
        """Show a model trained elsewhere with the test set of dataset ``name``
        (None: without a test set; it still decodes)."""
        if name:
            checkpoint.dataset = {"name": name}
        self.set_checkpoint(side, checkpoint, unsaved=False)

    def export_codes(self, side: int, path: str | os.PathLike[str]) -> None:
        """Write ``side``'s encoded test set as CSV in the background."""
        state = self.session.sides[side]
        if state.codes is None or state.dataset is None:
            self.errorRaised.emit(
                "No codes to export", "This side shows no encoded test set"
            )
            return
        target = Path(path)
        dataset = state.dataset
        self.jobs.submit(
            f"csv{side}",
            write_codes_csv,
            target,
            state.codes,
            dataset.test_labels.numpy(),
            dataset.class_names,
            overwrite=True,  # the file dialog asked before replacing
            on_result=lambda written: self._on_codes_written(side, written),
            on_error=lambda exc: self._report(f"Could not write {target.name}", exc),
        )

    def _on_codes_written(self, side: int, written: Path) -> None:
        self.status.emit(f"Wrote the {SIDE_NAMES[side]} codes to {written}")
        self.codesExported.emit(side, str(written))

    def set_checkpoint(
        self, side: int, checkpoint: Checkpoint, *, unsaved: bool = False
    ) -> None:
        """Show an in-memory checkpoint in ``side`` (data prepared in background)."""
        self.jobs.submit(
            f"load{side}",
            prepare,
            checkpoint,
            self.data_dir,
            self.datasets,
            scopes=("run",),
            allow_folder_scan=True,  # trained or made here: the user chose its data
            on_result=lambda prepared: self._install(side, prepared, unsaved=unsaved),
            on_error=lambda exc: self._report("Could not show the model", exc),
        )

    def _install(self, side: int, prepared: Prepared, *, unsaved: bool) -> None:
        if self.session.sides[side].training:
            return  # training owns this side now; the load lost the race
        ckpt = prepared.checkpoint
        self._grid_wanted[side] = None  # the plane asks again for the new model
        self.session.set_side(
            side,
            Side(
                checkpoint=ckpt,
                model=ckpt.model,
                dataset=prepared.dataset,
                codes=prepared.codes,
                latent_slice=prepared.latent_slice,
                unsaved=unsaved,
                note=prepared.note,
            ),
        )
        name = ckpt.path.name if ckpt.path else "model"
        self.status.emit(
            f"{SIDE_NAMES[side].capitalize()}: {name} — {ckpt.title()}"
            + (f" ({prepared.note})" if prepared.note else "")
        )
        if ckpt.path is not None:
            self.loaded.emit(side, str(ckpt.path))
        self._report_skipped(prepared.dataset)
        if self._last_xy is not None:
            self._decode_side(side, *self._last_xy)

    def _report_skipped(self, dataset: ImageDataset | None) -> None:
        """Say which files of an image folder were not read, and why: in a
        box, as a status message would be gone before a short run ends."""
        if dataset is not None and dataset.skipped:
            note = dataset.skipped_note()
            self.errorRaised.emit(
                "Files of the folder skipped", note[0].upper() + note[1:]
            )

    # --- decoding ----------------------------------------------------------------

    def decode_at(self, x: float, y: float) -> None:
        """Decode plane point (x, y) in both sides (GUI thread, well under a frame)."""
        self._last_xy = (float(x), float(y))
        for side in SIDES:
            self._decode_side(side, x, y)

    def _decode_side(self, side: int, x: float, y: float) -> None:
        state = self.session.sides[side]
        if state.model is None:
            return
        self.decoded.emit(side, decode_at(state.model, state.latent_slice, x, y))

    def request_grid(self, side: int, rect: LatentRect, n: int) -> None:
        """Decode a manifold over ``rect`` in the background; ``n`` 0 means none.

        ``n`` tiles go along the longer side and cells stay square, so decoded
        images keep their aspect ratio however the plane is shaped. While
        training, each snapshot redraws the last requested manifold itself.
        """
        state = self.session.sides[side]
        if n <= 0:
            self._grid_wanted[side] = None
            self.jobs.cancel(f"grid{side}")
            return
        request = GridRequest(rect, n, state.latent_slice)
        self._grid_wanted[side] = request
        if state.model is None or self._closed:
            return
        self.jobs.submit(
            f"grid{side}",
            decode_manifold,
            state.model,
            request,
            scopes=(side_scope(side),),
            keep_superseded=True,  # the previous zoom's tiles are right, only older
            on_result=lambda manifold: self.gridReady.emit(side, manifold),
            on_error=lambda exc: self._report("Could not draw the manifold", exc),
        )

    def set_slice(self, side: int, latent_slice: LatentSlice) -> None:
        """Choose the two shown dims and the held values of the others."""
        if self.session.sides[side].checkpoint is None:
            return
        self.session.update_side(side, latent_slice=latent_slice)

    # --- saving ------------------------------------------------------------------

    def _save_args(self, side: int) -> tuple[Checkpoint, dict[str, Any]] | None:
        from latentlab.core.checkpoints import metrics_summary

        state = self.session.sides[side]
        if state.checkpoint is None or state.training:
            self.errorRaised.emit("Nothing to save", "This side has no finished model")
            return None
        ckpt = state.checkpoint
        return ckpt, {
            "history": ckpt.history,
            "dataset": ckpt.dataset,
            "metrics": ckpt.metrics or metrics_summary(ckpt.history),
            "timeline": ckpt.timeline,
        }

    def _mark_saved(self, side: int, ckpt: Checkpoint, written: Path) -> None:
        ckpt.path = written
        if self.session.sides[side].checkpoint is ckpt:
            self.session.update_side(side, unsaved=False)
        message = f"Saved {written}"
        if ckpt.timeline is not None and written.suffix.lower() == ".safetensors":
            # The format holds weights, config and history only.
            message += " without its training timeline (save as .pt to keep it)"
        self.status.emit(message)
        self.saved.emit(side, str(written))

    def save(self, side: int, path: str | os.PathLike[str], overwrite: bool) -> None:
        """Save ``side``'s model to ``path`` in the background (atomic write)."""
        from latentlab.core.checkpoints import save_checkpoint

        args = self._save_args(side)
        if args is None:
            return
        ckpt, extra = args
        target = Path(path)
        self.jobs.submit(
            f"save{side}",
            save_checkpoint,
            target,
            ckpt.model,
            overwrite=overwrite,
            on_result=lambda written: self._mark_saved(side, ckpt, written),
            on_error=lambda exc: self._report(f"Could not save {target.name}", exc),
            **extra,
        )

    def save_now(self, side: int, path: str | os.PathLike[str]) -> bool:
        """Save at once, on this thread (before quitting); True when written."""
        from latentlab.core.checkpoints import save_checkpoint

        args = self._save_args(side)
        if args is None:
            return False
        ckpt, extra = args
        try:
            written = save_checkpoint(Path(path), ckpt.model, overwrite=True, **extra)
        except LatentLabError as exc:
            self._report(f"Could not save {Path(path).name}", exc)
            return False
        self._mark_saved(side, ckpt, written)
        return True

    # --- training ----------------------------------------------------------------

    @property
    def training(self) -> bool:
        """True while a training job runs."""
        return self.jobs.busy("training")

    def preload_dataset(self, name: str, data_dir: str | None) -> None:
        """Load a dataset the training form shows, so Train starts at once.

        Quiet: a dataset that cannot load says so when Train is pressed. An
        image folder is read only when Train is pressed: the field may still
        hold a folder the user has not chosen for it."""
        if self._closed or name == "folder":
            return
        self.jobs.submit(
            "preload", self.datasets.get, name, data_dir, on_error=lambda _exc: None
        )

    def start_training(self, spec: TrainSpec) -> None:
        """Train an AE (left) and a VAE (right) on ``spec.dataset``."""
        from latentlab.core.training_thread import TrainingThread

        if self.training or self._closed:
            return
        self._train_spec = spec
        self._train_log = RunLog(len(SIDES))
        self.run_checkpoints = []
        self._train_paused = False
        self._final_status = "stopped"
        threads = training_threads()  # the GUI keeps a core
        set_job_threads(1)  # the window's jobs keep to that core
        self._trainer = TrainingThread()
        self.session.new_run()
        self.jobs.submit(
            "training",
            training_job,
            spec,
            self.datasets,
            self._trainer,
            threads,
            on_progress=self._on_training_yield,
            on_result=self._on_training_returned,
            on_error=self._on_training_error,
            on_finish=self._on_training_finished,
        )
        self.trainingStarted.emit(spec)
        self.status.emit(f"Training AE and VAE on {spec.dataset}…")

    def toggle_pause(self) -> None:
        """Pause or resume training (takes effect after the current step)."""
        if self._trainer is None or self._trainer.stopping:
            return
        self._train_paused = not self._train_paused
        self._trainer.pause(self._train_paused)
        self.trainingPaused.emit(self._train_paused)

    def stop_training(self) -> None:
        """Stop after the current step; the models keep what they learned."""
        if self._trainer is not None:
            self._trainer.stop()  # also ends a pause

    def _on_training_yield(self, event: Any) -> None:
        from latentlab.core.checkpoints import Checkpoint
        from latentlab.core.training import EpochEnd, ModelSnapshot, TrainProgress
        from latentlab.core.training_thread import Autosaved

        if isinstance(event, TrainingStarted):
            self._train_models = event.models
            self._train_identity = event.identity
            self.datasets.put(event.dataset, self._train_spec.data_dir)
            self._report_skipped(event.dataset)
            # Redrawn twice a second while training: a few thousand points show
            # the shape of the code space at a fraction of the cost of all 10k.
            shown = event.dataset.test_subset(TRAINING_POINTS)
            for side, model in zip(SIDES, event.models, strict=True):
                self._grid_wanted[side] = None  # asked again at the first snapshot
                checkpoint = Checkpoint(model=model, dataset=dict(event.identity))
                self.run_checkpoints.append(checkpoint)
                self.session.set_side(
                    side,
                    Side(
                        checkpoint=checkpoint,
                        dataset=shown,
                        latent_slice=self.session.sides[side].latent_slice
                        if self.session.sides[side].latent_slice.latent_dim
                        == model.config.latent_dim
                        else _default_slice(model.config.latent_dim),
                        training=True,
                    ),
                )
        elif isinstance(event, TrainProgress):
            self.trainingProgress.emit(event)
        elif isinstance(event, EpochEnd):
            self._train_log.add(event)
            for side in SIDES:
                state = self.session.sides[side]
                if state.checkpoint is not None and state.training:
                    state.checkpoint.history = list(self._train_log.histories[side])
                    self.session.update_side(side)  # the title counts epochs
            self.trainingEpoch.emit(event)
        elif isinstance(event, ModelSnapshot):
            # The right plane updates half a snapshot later than the left, so
            # no single frame carries both redraws.
            left, right = event.state_dicts
            self._show_snapshot(0, left)
            stamp = self.session.stamp("run")
            QTimer.singleShot(
                SNAPSHOT_STAGGER_MS,
                self,
                lambda: (
                    self.session.is_current(("run",), stamp)
                    and self._show_snapshot(1, right)
                ),
            )
        elif isinstance(event, Autosaved):
            self.status.emit(
                f"Autosaved epoch {event.epoch} to {event.paths[0].parent}"
            )

    def _show_snapshot(self, side: int, state: dict[str, Any]) -> None:
        current = self.session.sides[side]
        if self._closed or not current.training or not self._train_models:
            return
        wanted = self._grid_wanted[side]
        if wanted is not None:  # the dims shown may have changed since
            wanted = GridRequest(wanted.rect, wanted.n, current.latent_slice)
        self.jobs.submit(
            f"refresh{side}",
            refresh_from_snapshot,
            self._train_models[side].config,
            state,
            current.dataset,
            wanted,
            scopes=("run",),
            on_result=lambda result: self._on_refreshed(side, result),
            on_error=lambda exc: self._report("Could not refresh the plane", exc),
        )

    def _on_refreshed(self, side: int, result: Any) -> None:
        if not self.session.sides[side].training:
            return
        self.session.update_side(side, model=result.model, codes=result.codes)
        if result.manifold is not None:
            self.gridReady.emit(side, result.manifold)
        if self._last_xy is not None:
            self._decode_side(side, *self._last_xy)

    def _on_training_returned(self, result: TrainResult) -> None:
        status = "stopped" if result.cancelled else "done"
        self._final_status = status
        self._finish_training_sides(result.histories)
        done = sum(len(h) for h in result.histories) // max(len(result.histories), 1)
        self.status.emit(
            f"Training {status} after {done} epoch(s) in {result.seconds:.1f}s"
        )

    def _on_training_error(self, exc: Exception) -> None:
        self._final_status = "failed"
        self._finish_training_sides(self._train_log.histories)
        self._report("Training failed", exc)

    def _finish_training_sides(self, histories: Sequence[Sequence[Any]]) -> None:
        from latentlab.core.checkpoints import Checkpoint, metrics_summary

        if not self._train_models:
            return
        self.session.new_run()  # a snapshot still queued must not replace these
        for side, model in zip(SIDES, self._train_models, strict=True):
            ckpt = Checkpoint(
                model=model,
                history=list(histories[side]),
                dataset=dict(self._train_identity),
                timeline=self._train_log.timeline(side),
            )
            ckpt.metrics = metrics_summary(ckpt.history)
            self.run_checkpoints.append(ckpt)
            self.session.update_side(side, training=False, unsaved=True)
            self.set_checkpoint(side, ckpt, unsaved=True)

    def _on_training_finished(self) -> None:
        set_job_threads(None)
        if self._trainer is not None:
            self._trainer.close()
            self._trainer = None
        if self._train_paused:
            self._train_paused = False
            self.trainingPaused.emit(False)
        status = self._final_status
        for side in SIDES:
            if self.session.sides[side].training:  # aborted: no final weights
                self.session.update_side(side, training=False)
        self._train_models = ()
        self.trainingFinished.emit(status)

    # --- errors and shutdown -----------------------------------------------------

    def _report(self, title: str, exc: Exception) -> None:
        message = str(exc) if isinstance(exc, LatentLabError) else repr(exc)
        self.errorRaised.emit(title, message)
        self.status.emit(f"{title}: {message}")

    def shutdown(self, msecs: int = 1000) -> bool:
        """Stop every job and wait up to ``msecs``; True when no thread is left."""
        self._closed = True
        if self._trainer is not None:
            self._trainer.kill()  # closing: no final weights to wait for
        return self.jobs.shutdown(msecs)


def _default_slice(latent_dim: int) -> LatentSlice:
    return LatentSlice(latent_dim, (0, 1) if latent_dim > 1 else (0, 0))
