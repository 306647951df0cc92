"""The session: two model panels, their data, and the jobs that feed them.

The controller owns the models and datasets, starts and cancels background jobs
(through :mod:`latentlab.qt.workers`) and announces results with signals; widgets
only display those results and send back intent. The models the GUI thread
decodes with are CPU copies that no other thread writes: training runs in a
child process (:mod:`latentlab.core.training_process`) and a worker thread relays
its events, snapshots' weights included (``ModelSnapshot``).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from latentlab.core.checkpoints import (
    Checkpoint,
    load_checkpoint,
    metrics_summary,
    save_checkpoint,
)
from latentlab.core.config import ModelConfig, TrainConfig
from latentlab.core.data import ImageDataset, load_dataset
from latentlab.core.errors import DataError, LatentLabError, TrainingError
from latentlab.core.latent import (
    Codes,
    LatentRect,
    LatentSlice,
    decode_grid,
    encode_images,
    square_cells,
)
from latentlab.core.models import build_model
from latentlab.core.training import (
    EpochEnd,
    ModelSnapshot,
    TrainProgress,
    TrainResult,
    new_model,
)
from latentlab.core.training_process import Autosaved, TrainingProcess
from latentlab.qt.workers import LatestJob, await_all, start_job

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    import numpy as np
    from superqt.utils import WorkerBase

    from latentlab.core.models import Autoencoder

SIDES = (0, 1)
SIDE_NAMES = ("left", "right")
TRAINING_POINTS = 2500  # test images plotted while training
SNAPSHOT_STAGGER_MS = 250


@dataclass(slots=True)
class Panel:
    """What one side shows. ``model`` is read on the GUI thread only."""

    checkpoint: Checkpoint | None = None
    model: Autoencoder | None = None
    dataset: ImageDataset | None = None
    codes: Codes | None = None
    latent_slice: LatentSlice = field(default_factory=LatentSlice)
    training: bool = False
    note: str = ""

    @property
    def title(self) -> str:
        """Kind, dataset, latent size, beta and epochs, or a placeholder."""
        if self.checkpoint is None:
            return "No model — open a checkpoint or train one"
        title = self.checkpoint.title()
        if self.training:
            title += " · training…"
        elif self.checkpoint.path is None:
            title += " · unsaved"
        return title


@dataclass(frozen=True, slots=True)
class PanelBundle:
    """A loaded model with its data, prepared off the GUI thread."""

    checkpoint: Checkpoint
    dataset: ImageDataset | None
    codes: Codes | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class TrainSpec:
    """What the Train action asked for: one AE and one VAE on one dataset."""

    dataset: str = "shapes"
    data_dir: str | None = None
    latent_dim: int = 2
    beta: float = 1.0
    backbone: str = "mlp"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    autosave_dir: str | None = None
    download: bool = False


@dataclass(frozen=True, slots=True)
class TrainingStarted:
    """First yield of a training job: the models it trains (owned by the job)."""

    dataset: ImageDataset
    identity: dict[str, Any]  # the dataset's, hashed here rather than on the GUI thread
    models: tuple[Autoencoder, ...]


class DatasetCache:
    """Datasets by (name, data dir), shared by jobs on several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], ImageDataset] = {}
        self._loading: dict[tuple[str, str], threading.Lock] = {}

    def get(
        self, name: str, data_dir: str | None, *, download: bool = False
    ) -> ImageDataset:
        """Load once, then hand out the same (read-only) dataset."""
        key = (name, str(data_dir or ""))
        with self._lock:
            if key in self._items:
                return self._items[key]
            loading = self._loading.setdefault(key, threading.Lock())
        # One load per key: two panels asking at once share it (and its memory).
        with loading:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            dataset = load_dataset(name, data_dir, download=download)
            with self._lock:
                self._items[key] = dataset
            return dataset

    def put(self, dataset: ImageDataset, data_dir: str | None) -> None:
        """Remember a dataset loaded elsewhere (e.g. by a training job)."""
        with self._lock:
            self._items.setdefault((dataset.name, str(data_dir or "")), dataset)


def find_dataset(
    checkpoint: Checkpoint, data_dir: str | None, cache: DatasetCache
) -> tuple[ImageDataset | None, str]:
    """The test set a checkpoint was trained on, or None and the reason."""
    ident = checkpoint.dataset
    name = str(ident.get("name", ""))
    if not name:
        return None, "the checkpoint does not say which dataset it was trained on"
    if name.startswith("folder:"):
        source = ident.get("source")
        if not source:
            return None, f"the image folder of {name} is unknown"
        name, data_dir = "folder", str(source)
    try:
        dataset = cache.get(name, data_dir)
    except DataError as exc:
        return None, f"no test set to plot: {exc}"
    if dataset.image_shape != tuple(checkpoint.config.image_shape):
        return None, (
            f"{dataset.name} images are {dataset.image_shape}, the model expects "
            f"{tuple(checkpoint.config.image_shape)}"
        )
    return dataset, ""


def prepare_bundle(
    checkpoint: Checkpoint, data_dir: str | None, cache: DatasetCache
) -> PanelBundle:
    """Find the checkpoint's test set and encode it (runs in a worker)."""
    dataset, note = find_dataset(checkpoint, data_dir, cache)
    codes = encode_images(checkpoint.model, dataset.test_images) if dataset else None
    return PanelBundle(checkpoint, dataset, codes, note)


def load_bundle(path: str, data_dir: str | None, cache: DatasetCache) -> PanelBundle:
    """Load a checkpoint file and prepare it (runs in a worker)."""
    return prepare_bundle(load_checkpoint(path), data_dir, cache)


@dataclass(frozen=True, slots=True)
class GridRequest:
    """The manifold a panel shows: ``n`` tiles along the longer side of ``rect``."""

    rect: LatentRect
    n: int
    latent_slice: LatentSlice


def decode_manifold(
    model: Autoencoder, request: GridRequest
) -> tuple[np.ndarray, LatentRect]:
    """The manifold image and the rectangle it covers (square tiles)."""
    grid_rect, cols, rows = square_cells(request.rect, request.n)
    image = decode_grid(
        model, grid_rect, cols, request.latent_slice, rows, for_display=True
    )
    return image, grid_rect


@dataclass(frozen=True, slots=True)
class Refreshed:
    """A training snapshot made ready to show, off the GUI thread."""

    model: Autoencoder
    codes: Codes | None
    grid: tuple[np.ndarray, LatentRect] | None


def refresh_codes(
    config: ModelConfig,
    state: dict[str, torch.Tensor],
    dataset: ImageDataset | None,
    grid: GridRequest | None = None,
) -> Refreshed:
    """Build a display model from snapshot weights, encode the test set and,
    when asked, decode the manifold: one update, so the plane repaints once."""
    with torch.device("meta"):
        display = build_model(config)  # no memory, no random init: weights follow
    display.load_state_dict(state, assign=True)
    display.eval()
    codes = encode_images(display, dataset.test_images) if dataset else None
    image = decode_manifold(display, grid) if grid is not None else None
    return Refreshed(display, codes, image)


def training_job(
    spec: TrainSpec,
    cache: DatasetCache,
    process: TrainingProcess,
    threads: int,
) -> Generator[Any, None, TrainResult]:
    """Train an AE and a VAE side by side in ``process`` (runs in a worker).

    This thread only loads the data and relays the child's events; the training
    itself runs in the child, which leaves the GUI process its core and its GIL.
    """
    dataset = cache.get(spec.dataset, spec.data_dir, download=spec.download)
    common = ModelConfig(
        latent_dim=spec.latent_dim,
        backbone=spec.backbone,  # type: ignore[arg-type]
        image_shape=dataset.image_shape,
        beta=spec.beta,
    )
    models = (
        new_model(replace(common, kind="ae"), seed=spec.seed),
        new_model(replace(common, kind="vae"), seed=spec.seed),
    )
    config = TrainConfig(
        epochs=spec.epochs,
        batch_size=spec.batch_size,
        lr=spec.lr,
        seed=spec.seed,
        threads=threads,
        snapshot_interval_s=0.5,
    )
    yield TrainingStarted(dataset, dataset.identity(), models)
    return (
        yield from process.train(
            models,
            dataset,
            config,
            autosave_dir=spec.autosave_dir,
        )
    )


class Controller(QObject):
    """Owns the session and its jobs; widgets listen to its signals."""

    panelChanged = Signal(int)  # side: checkpoint, title, dataset or codes changed
    gridReady = Signal(int, object, object)  # side, image (h, w) float32, LatentRect
    decoded = Signal(int, object, object)  # side, z (latent_dim,), image (h, w)
    trainingStarted = Signal()
    trainingProgress = Signal(object)  # TrainProgress
    trainingEpoch = Signal(object)  # EpochEnd
    trainingFinished = Signal(str)  # "done" | "stopped" | "failed"
    trainingPaused = Signal(bool)
    errorRaised = Signal(str, str)  # title, message
    status = Signal(str)
    loadingChanged = Signal(int, bool)  # side, busy

    def __init__(self, data_dir: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.data_dir = data_dir
        self.panels = [Panel(), Panel()]
        self.datasets = DatasetCache()
        self._load_jobs = [LatestJob(), LatestJob()]
        self._grid_jobs = [LatestJob(), LatestJob()]
        self._refresh_jobs = [LatestJob(), LatestJob()]
        self._grid_wanted: list[GridRequest | None] = [None, None]
        self._train_worker: WorkerBase | None = None
        self._train_process: TrainingProcess | None = None
        self._train_paused = False
        self._train_models: tuple[Autoencoder, ...] = ()
        self._train_identity: dict[str, Any] = {}
        self._train_history: list[list[Any]] = [[], []]
        self._train_spec: TrainSpec | None = None
        self._final_status = "stopped"
        self._closed = False
        # Training holds a pool thread for its whole run; short jobs (grids,
        # loads, refreshes) must not queue behind it on a 2-core machine.
        pool = QThreadPool.globalInstance()
        pool.setMaxThreadCount(max(pool.maxThreadCount(), 4))
        self._last_xy: tuple[float, float] | None = None

    # --- loading -----------------------------------------------------------------

    def load_file(self, side: int, path: str | os.PathLike[str]) -> None:
        """Load a checkpoint into ``side`` in the background.

        The panel keeps its current model until the new one is ready; a bad file
        raises ``errorRaised`` and changes nothing.
        """
        name = Path(path).name
        if not self._closed:
            self.status.emit(f"Loading {name}…")
        self._prepare(side, load_bundle, str(path), f"Could not open {name}")

    def set_checkpoint(self, side: int, checkpoint: Checkpoint) -> None:
        """Show an in-memory checkpoint in ``side`` (data prepared in background)."""
        self._prepare(side, prepare_bundle, checkpoint, "Could not show the model")

    def _prepare(self, side: int, job: Any, source: Any, error_title: str) -> None:
        """Run ``job(source, data dir, cache)`` for ``side``, then install it."""
        if self._closed:
            return
        self.loadingChanged.emit(side, True)
        self._load_jobs[side].submit(
            job,
            source,
            self.data_dir,
            self.datasets,
            on_return=lambda bundle: self._install(side, bundle),
            on_error=lambda exc: self._report(error_title, exc),
            on_finish=lambda: self.loadingChanged.emit(side, False),
        )

    def _install(self, side: int, bundle: PanelBundle) -> None:
        if self.panels[side].training:
            return  # training owns this panel now; the load lost the race
        ckpt = bundle.checkpoint
        dim = ckpt.config.latent_dim
        self.panels[side] = Panel(
            checkpoint=ckpt,
            model=ckpt.model,
            dataset=bundle.dataset,
            codes=bundle.codes,
            latent_slice=LatentSlice(dim, (0, 1) if dim > 1 else (0, 0)),
            note=bundle.note,
        )
        self._grid_wanted[side] = None  # the panel asks again for the new model
        self.panelChanged.emit(side)
        name = ckpt.path.name if ckpt.path else "model"
        self.status.emit(
            f"{SIDE_NAMES[side].capitalize()}: {name} — {ckpt.title()}"
            + (f" ({bundle.note})" if bundle.note else "")
        )
        if self._last_xy is not None:
            self._decode_side(side, *self._last_xy)

    # --- decoding ------------------------------------------------------------------

    def decode_at(self, x: float, y: float) -> None:
        """Decode plane point (x, y) in both panels (GUI thread, well under a frame)."""
        self._last_xy = (float(x), float(y))
        for side in SIDES:
            self._decode_side(side, x, y)

    def _decode_side(self, side: int, x: float, y: float) -> None:
        panel = self.panels[side]
        if panel.model is None:
            return
        z = panel.latent_slice.embed([(x, y)])
        with torch.inference_mode():
            image = panel.model.decode(torch.from_numpy(z))[0, 0].numpy()
        self.decoded.emit(side, z[0], image)

    def request_grid(self, side: int, rect: LatentRect, n: int) -> None:
        """Decode a manifold over ``rect`` in the background; ``n`` 0 means none.

        ``n`` tiles go along the longer side and cells stay square, so decoded
        images keep their aspect ratio however the plane is shaped. While
        training, each snapshot redraws the last requested manifold itself.
        """
        panel = self.panels[side]
        if n <= 0:
            self._grid_wanted[side] = None
            return
        request = GridRequest(rect, n, panel.latent_slice)
        self._grid_wanted[side] = request
        if panel.model is None or self._closed:
            return
        self._grid_jobs[side].submit(
            decode_manifold,
            panel.model,
            request,
            on_return=lambda result: self.gridReady.emit(side, *result),
            on_error=lambda exc: self._report("Could not draw the manifold", exc),
        )

    def set_slice(self, side: int, latent_slice: LatentSlice) -> None:
        """Choose the two shown dims and the held values of the others."""
        panel = self.panels[side]
        if panel.checkpoint is None:
            return
        panel.latent_slice = latent_slice
        self.panelChanged.emit(side)

    # --- saving --------------------------------------------------------------------

    def save(self, side: int, path: str | os.PathLike[str], overwrite: bool) -> None:
        """Save ``side``'s model to ``path`` in the background (atomic write)."""
        panel = self.panels[side]
        if panel.checkpoint is None or panel.training:
            self.errorRaised.emit("Nothing to save", "This panel has no finished model")
            return
        ckpt = panel.checkpoint
        target = Path(path)

        def saved(written: Path) -> None:
            ckpt.path = written
            self.panelChanged.emit(side)
            self.status.emit(f"Saved {written}")

        start_job(
            save_checkpoint,
            target,
            ckpt.model,
            history=ckpt.history,
            dataset=ckpt.dataset,
            metrics=ckpt.metrics or metrics_summary(ckpt.history),
            overwrite=overwrite,
            on_return=saved,
            on_error=lambda exc: self._report(f"Could not save {target.name}", exc),
        )

    # --- training ------------------------------------------------------------------

    @property
    def training(self) -> bool:
        """True while a training job runs."""
        return self._train_worker is not None

    def start_training(self, spec: TrainSpec) -> None:
        """Train an AE (left) and a VAE (right) on ``spec.dataset``."""
        if self.training or self._closed:
            return
        self._train_spec = spec
        self._train_history = [[], []]
        self._train_paused = False
        threads = max(1, (os.cpu_count() or 2) - 1)  # the GUI keeps a core
        # Spawned now, so its start-up overlaps the data loading in the worker.
        try:
            self._train_process = TrainingProcess()
        except OSError as exc:  # e.g. the process limit
            self._report("Could not start training", TrainingError(str(exc)))
            return
        self._train_worker = start_job(
            training_job,
            spec,
            self.datasets,
            self._train_process,
            threads,
            on_yield=self._on_training_yield,
            on_return=self._on_training_returned,
            on_error=self._on_training_error,
            on_finish=self._on_training_finished,
        )
        self.trainingStarted.emit()
        self.status.emit(f"Training AE and VAE on {spec.dataset}…")

    def toggle_pause(self) -> None:
        """Pause or resume training (takes effect after the current step)."""
        if self._train_process is None or self._train_process.stopping:
            return
        self._train_paused = not self._train_paused
        self._train_process.pause(self._train_paused)
        self.trainingPaused.emit(self._train_paused)

    def stop_training(self) -> None:
        """Stop after the current step; the models keep what they learned."""
        if self._train_process is not None:
            self._train_process.stop()  # also ends a pause

    def _on_training_yield(self, event: Any) -> None:
        if isinstance(event, TrainingStarted):
            self._train_models = event.models
            self._train_identity = event.identity
            self.datasets.put(event.dataset, self._train_spec.data_dir)
            # Redrawn twice a second while training: a few thousand points show
            # the shape of the code space at a fraction of the cost of all 10k.
            shown = event.dataset.test_subset(TRAINING_POINTS)
            for side, model in zip(SIDES, event.models, strict=True):
                ckpt = Checkpoint(model=model, dataset=dict(event.identity))
                self.panels[side] = Panel(
                    checkpoint=ckpt,
                    model=None,
                    dataset=shown,
                    latent_slice=LatentSlice(model.config.latent_dim),
                    training=True,
                )
                self._grid_wanted[side] = None  # asked again at the first snapshot
                self.panelChanged.emit(side)
        elif isinstance(event, TrainProgress):
            self.trainingProgress.emit(event)
        elif isinstance(event, EpochEnd):
            for side, metrics in zip(SIDES, event.metrics, strict=True):
                self._train_history[side].append(metrics)
                panel = self.panels[side]
                if panel.checkpoint is not None:
                    panel.checkpoint.history = list(self._train_history[side])
                    self.panelChanged.emit(side)
            self.trainingEpoch.emit(event)
        elif isinstance(event, ModelSnapshot):
            # The right plane updates half a snapshot later than the left, so
            # no single frame carries both redraws.
            left, right = event.state_dicts
            run = self._train_models
            self._show_snapshot(0, left, run)
            QTimer.singleShot(
                SNAPSHOT_STAGGER_MS, self, lambda: self._show_snapshot(1, right, run)
            )
        elif isinstance(event, Autosaved):
            self.status.emit(
                f"Autosaved epoch {event.epoch} to {event.paths[0].parent}"
            )

    def _show_snapshot(
        self,
        side: int,
        state: dict[str, torch.Tensor],
        run: tuple[Autoencoder, ...],
    ) -> None:
        panel = self.panels[side]
        if self._closed or not panel.training or run is not self._train_models:
            return  # a staggered refresh that arrives after its run ended
        wanted = self._grid_wanted[side]
        if wanted is not None:  # the dims shown may have changed since
            wanted = replace(wanted, latent_slice=panel.latent_slice)
        self._refresh_jobs[side].submit(
            refresh_codes,
            run[side].config,
            state,
            panel.dataset,
            wanted,
            on_return=lambda result: self._on_refreshed(side, panel, result),
            on_error=lambda exc: self._report("Could not refresh the plane", exc),
        )

    def _on_refreshed(self, side: int, asked_for: Panel, result: Refreshed) -> None:
        panel = self.panels[side]
        if panel is not asked_for or not panel.training:
            return  # training ended meanwhile: the final model is (being) shown
        panel.model = result.model
        panel.codes = result.codes
        self.panelChanged.emit(side)
        if result.grid is not None:
            self.gridReady.emit(side, *result.grid)
        if self._last_xy is not None:
            self._decode_side(side, *self._last_xy)

    def _on_training_returned(self, result: TrainResult) -> None:
        status = "stopped" if result.cancelled else "done"
        self._finish_training_panels(result.histories)
        done = sum(len(h) for h in result.histories) // max(len(result.histories), 1)
        self.status.emit(
            f"Training {status} after {done} epoch(s) in {result.seconds:.1f}s"
        )
        self._final_status = status

    def _on_training_error(self, exc: Exception) -> None:
        self._finish_training_panels(self._train_history)
        self._final_status = "failed"
        self._report("Training failed", exc)

    def _finish_training_panels(self, histories: Sequence[Sequence[Any]]) -> None:
        if not self._train_models:
            return
        for job in self._refresh_jobs:
            job.cancel()  # a snapshot still queued must not replace the final model
        for side, model in zip(SIDES, self._train_models, strict=True):
            ckpt = Checkpoint(
                model=model,
                history=list(histories[side]),
                dataset=dict(self._train_identity),
            )
            ckpt.metrics = metrics_summary(ckpt.history)
            self.panels[side].training = False
            self.set_checkpoint(side, ckpt)

    def _on_training_finished(self) -> None:
        self._train_worker = None
        if self._train_process is not None:
            self._train_process.close()
            self._train_process = None
        if self._train_paused:
            self._train_paused = False
            self.trainingPaused.emit(False)
        status = self._final_status
        self._final_status = "stopped"  # an abort (quit) never returns
        for panel in self.panels:
            panel.training = False
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
        for job in (*self._load_jobs, *self._grid_jobs, *self._refresh_jobs):
            job.cancel()
        if self._train_process is not None:
            self._train_process.kill()  # closing: no final weights to wait for
        if self._train_worker is not None:
            self._train_worker.quit()
        return await_all(msecs)
