"""The window's adapter to the workspace: relays its events as Qt signals.

Everything the program does is arranged by the Qt-free
:class:`~latentlab.core.workspace.Workspace` (loading, saving, decoding,
manifolds, training, analyses); the controller gives it the Qt job runner, sizes
the thread pool, and relays its psygnal events (emitted on the GUI thread) as
Qt signals for the widgets. It holds no state of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, Signal

from latentlab.core import perf
from latentlab.qt.jobs import qt_workspace

if TYPE_CHECKING:
    from latentlab.core.session import Session
    from latentlab.core.workspace import Workspace


class Controller(QObject):
    """The workspace of the window, with its events as Qt signals.

    Signals
    -------
    decoded(int, object)
        slot, :class:`~latentlab.core.analysis.planes.Decoded`
    gridReady(int, object)
        slot, :class:`~latentlab.core.analysis.planes.Manifold`
    loaded(int, str), saved(int, str), codesExported(int, str)
        slot, path
    The others mirror the workspace's signals of the same meaning.
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
    loadingChanged = Signal(int, bool)  # slot, busy
    datasetNeeded = Signal(int, object)  # slot, Checkpoint
    codesExported = Signal(int, str)  # slot, path

    def __init__(
        self,
        data_dir: str | None = None,
        parent: QObject | None = None,
        session: Session | None = None,
    ) -> None:
        super().__init__(parent)
        self.workspace: Workspace = qt_workspace(session, self, data_dir=data_dir)
        ws = self.workspace
        self.session = ws.session
        self.jobs = ws  # views and exports submit their jobs to the workspace
        # Training holds a pool thread for its whole run; short jobs (grids,
        # loads, refreshes) must not queue behind it on a 2-core machine. The
        # ``thread_pool_size`` device (core/perf.py); the plain path keeps Qt's
        # default but never fewer than 2, one beside training's relay.
        pool = QThreadPool.globalInstance()
        wanted = 4 if perf.enabled("thread_pool_size") else 2
        pool.setMaxThreadCount(max(pool.maxThreadCount(), wanted))
        for source, target in (
            (ws.decoded, self.decoded),
            (ws.manifoldReady, self.gridReady),
            (ws.opened, self.loaded),
            (ws.saved, self.saved),
            (ws.trainingStarted, self.trainingStarted),
            (ws.trainingProgress, self.trainingProgress),
            (ws.trainingEpoch, self.trainingEpoch),
            (ws.trainingFinished, self.trainingFinished),
            (ws.trainingPaused, self.trainingPaused),
            (ws.errorRaised, self.errorRaised),
            (ws.status, self.status),
            (ws.loading, self.loadingChanged),
            (ws.datasetNeeded, self.datasetNeeded),
            (ws.codesExported, self.codesExported),
        ):
            source.connect(target.emit)

    # --- what the window asks: each one workspace command ------------------------

    @property
    def data_dir(self) -> str | None:
        """Where datasets are found."""
        return self.workspace.data_dir

    @property
    def asks_dataset(self) -> bool:
        """True once the window answers :attr:`datasetNeeded`."""
        return self.workspace.asks_dataset

    @asks_dataset.setter
    def asks_dataset(self, value: bool) -> None:
        self.workspace.asks_dataset = value

    @property
    def training(self) -> bool:
        """True while a training job runs."""
        return self.workspace.training

    @property
    def run_checkpoints(self):
        """The last run's models (its curves stay on screen while shown)."""
        return self.workspace.run_checkpoints

    @property
    def datasets(self):
        """The workspace's dataset cache."""
        return self.workspace.datasets

    def load_file(self, side, path) -> None:
        self.workspace.open(path, side)

    def use_dataset(self, side, checkpoint, name) -> None:
        self.workspace.use_dataset(side, checkpoint, name)

    def set_checkpoint(self, side, checkpoint, *, unsaved: bool = False) -> None:
        self.workspace.show_checkpoint(side, checkpoint, unsaved=unsaved)

    def export_codes(self, side, path) -> None:
        self.workspace.export_codes(side, path)

    def decode_at(self, x: float, y: float) -> None:
        self.workspace.decode(x, y)

    def request_grid(self, side, rect, n) -> None:
        self.workspace.request_manifold(side, rect, n)

    def set_slice(self, side, latent_slice) -> None:
        self.workspace.set_slice(side, latent_slice)

    def save(self, side, path, overwrite: bool) -> None:
        self.workspace.save(side, path, overwrite=overwrite)

    def save_now(self, side, path) -> bool:
        return self.workspace.save_now(side, path)

    def preload_dataset(
        self, name: str, data_dir: str | None, shape: dict | None = None
    ) -> None:
        self.workspace.preload_dataset(name, data_dir, **(shape or {}))

    def start_training(self, spec) -> None:
        self.workspace.train(spec)

    def toggle_pause(self) -> None:
        self.workspace.pause()

    def stop_training(self) -> None:
        self.workspace.stop()

    def shutdown(self, msecs: int = 1000) -> bool:
        """Stop every job and wait up to ``msecs``; True when no thread is left."""
        return self.workspace.close(msecs)
