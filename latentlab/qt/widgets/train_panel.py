"""TrainPanel: settings, Train / Pause / Stop, progress with ETA, live loss curves."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.training_run import TrainSpec
from latentlab.qt.widgets.plane_items import LegendBar
from latentlab.qt.widgets.plot_style import cache_axes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.training import EpochEnd, EpochMetrics, TrainProgress

DATASETS = (
    ("Embedded shapes (offline)", "shapes"),
    ("MNIST", "mnist"),
    ("Fashion-MNIST", "fashion-mnist"),
    ("KMNIST", "kmnist"),
    ("Image folder…", "folder"),
)
AXIS_WIDTH = 44  # px: room for tick labels up to 5 characters
REDRAW_INTERVAL_S = 0.2
AE_COLOUR, VAE_COLOUR = (31, 119, 180), (214, 39, 40)
TEST_STYLE = {"width": 2.5, "style": Qt.PenStyle.DashLine}  # per-epoch test lines


def format_seconds(seconds: float) -> str:
    """``75`` -> ``1:15``; unknown -> ``…``."""
    if not math.isfinite(seconds):
        return "…"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class _Curve:
    """A growing line, redrawn from Python lists."""

    def __init__(self, plot: pg.PlotItem, name: str, colour, **style) -> None:
        self.x: list[float] = []
        self.y: list[float] = []
        self._y_min = math.inf
        self._y_max = -math.inf
        self.item = plot.plot(name=name, pen=pg.mkPen(colour, **style))

    def append(self, x: float, y: float) -> None:
        if math.isfinite(y):
            self.x.append(x)
            self.y.append(y)
            self._y_min = min(self._y_min, y)
            self._y_max = max(self._y_max, y)

    def redraw(self) -> None:
        self.item.setData(self.x, self.y)

    def y_bounds(self) -> tuple[float, float] | None:
        return (self._y_min, self._y_max) if self.y else None

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()
        self._y_min, self._y_max = math.inf, -math.inf
        self.item.setData([], [])


class TrainPanel(QWidget):
    """The training dock's contents."""

    trainRequested = Signal(object)  # TrainSpec
    dataChosen = Signal(str, object)  # dataset key, data folder or None
    pauseRequested = Signal()
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset = QComboBox(self)
        for label, key in DATASETS:
            self.dataset.addItem(label, key)
        self.data_dir = QLineEdit(self)
        self.data_dir.setPlaceholderText("data folder (torchvision layout) or images")
        self.download = QCheckBox("Download if missing", self)
        self.download.setChecked(True)
        self.download.setToolTip(
            "Let torchvision download MNIST, Fashion-MNIST or KMNIST into the data "
            "folder when the files are not there"
        )
        browse = QToolButton(self)
        browse.setText("…")
        browse.setToolTip("Choose the data folder")
        self.epochs = QSpinBox(self)
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(10)
        self.latent_dim = QSpinBox(self)
        self.latent_dim.setRange(1, 64)
        self.latent_dim.setValue(2)
        self.beta = QDoubleSpinBox(self)
        self.beta.setRange(0.0, 100.0)
        self.beta.setSingleStep(0.5)
        self.beta.setValue(1.0)
        self.beta.setToolTip("KL weight of the VAE (1 = the ELBO)")
        self.backbone = QComboBox(self)
        self.backbone.addItem("MLP", "mlp")
        self.backbone.addItem("Convolutional", "conv")

        self.autosave = QCheckBox(self)
        self.autosave.setToolTip("Save both models after every epoch (atomic writes)")
        self.autosave_dir = QLineEdit(str(Path.home() / "LatentLab" / "autosave"), self)
        self.autosave_dir.setToolTip(
            "Folder for <dataset>-ae-autosave.pt and <dataset>-vae-autosave.pt"
        )

        self.train_button = QPushButton("Train AE + VAE", self)
        self.train_button.setToolTip("Train both models side by side in the background")
        self.pause_button = QPushButton("Pause", self)
        self.stop_button = QPushButton("Stop", self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)  # a reset bar (-1) draws no text
        self.progress.setFormat("Ready to train")
        self.progress.setTextVisible(True)
        self.readout = QLabel("", self)
        self.readout.setStyleSheet("font-family: monospace;")
        metrics = self.readout.fontMetrics()
        self.readout.setFixedHeight(2 * metrics.lineSpacing() + 6)  # never cut
        # Wide enough for the longest line, and no wider as figures change: a
        # new width re-lays the dock and redraws the curves' axes (~5 ms each).
        widest = "VAE recon (1 z ~ q) 9999.99  KL 9999.99"
        self.readout.setMinimumWidth(metrics.horizontalAdvance(widest) + 8)
        self.readout.setSizePolicy(
            QSizePolicy.Policy.Ignored, self.readout.sizePolicy().verticalPolicy()
        )

        dir_row = QHBoxLayout()
        dir_row.setSpacing(2)
        dir_row.addWidget(self.data_dir)
        dir_row.addWidget(browse)
        autosave_row = QHBoxLayout()
        autosave_row.setSpacing(4)
        autosave_row.addWidget(self.autosave)
        autosave_row.addWidget(self.autosave_dir)
        # Two label/field columns keep the dock short, leaving height to the planes.
        form = QGridLayout()
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(4)
        rows = (
            (("Dataset", self.dataset), ("Epochs", self.epochs)),
            (("Latent size", self.latent_dim), ("β (VAE)", self.beta)),
            (("Backbone", self.backbone), None),
        )
        for r, pair in enumerate(rows):
            for c, item in enumerate(pair):
                if item is not None:
                    form.addWidget(QLabel(item[0]), r, 2 * c)
                    form.addWidget(item[1], r, 2 * c + 1)
        form.addWidget(self.download, 2, 2, 1, 2)
        form.addWidget(QLabel("Data"), 3, 0)
        form.addLayout(dir_row, 3, 1, 1, 3)
        form.addWidget(QLabel("Autosave"), 4, 0)
        form.addLayout(autosave_row, 4, 1, 1, 3)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)
        status = QHBoxLayout()
        status.addWidget(self.progress, 1)
        left = QVBoxLayout()
        left.addLayout(form)
        left.addLayout(buttons)
        left.addLayout(status)
        left.addWidget(self.readout)
        left.addStretch(1)

        self.plots = pg.GraphicsLayoutWidget(self)
        self.plots.setBackground("w")
        self.recon_plot = self.plots.addPlot(title="−log p(x|z), nats / image")
        self.kl_plot = self.plots.addPlot(title="VAE KL (nats / image)")
        for plot in (self.recon_plot, self.kl_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            cache_axes(plot)
            # A fixed width: tick labels of a new y range ("1000" after "250")
            # would otherwise re-lay the plot and redraw both axes.
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.setLabel("bottom", "epoch")
        self.curves = {
            "ae_recon": _Curve(self.recon_plot, "AE train", AE_COLOUR),
            "vae_recon": _Curve(self.recon_plot, "VAE train", VAE_COLOUR),
            "ae_test": _Curve(
                self.recon_plot,
                "AE test",
                AE_COLOUR,
                **TEST_STYLE,
            ),
            "vae_test": _Curve(
                self.recon_plot,
                "VAE test",
                VAE_COLOUR,
                **TEST_STYLE,
            ),
            "vae_kl": _Curve(self.kl_plot, "VAE train", VAE_COLOUR),
            "vae_test_kl": _Curve(
                self.kl_plot,
                "VAE test",
                VAE_COLOUR,
                **TEST_STYLE,
            ),
        }
        self._plot_curves = (
            (self.recon_plot, ("ae_recon", "vae_recon", "ae_test", "vae_test")),
            (self.kl_plot, ("vae_kl", "vae_test_kl")),
        )
        # The key sits above the plots, where it hides no curve.
        self.key = LegendBar(self)
        self.key.set_entries([("AE", AE_COLOUR), ("VAE", VAE_COLOUR)])
        self.key.setText(self.key.text() + " &nbsp; solid: train &nbsp; dashed: test")
        self.source = QLabel("", self)
        self.source.setStyleSheet("color: #666;")
        self.key.setToolTip(
            "Nats per image: Bernoulli negative log-likelihood with the grey pixels "
            "in [0, 1] as targets (not binarized), and the VAE's KL"
        )
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.source)
        right.addLayout(key_row)
        right.addWidget(self.plots, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 0)
        layout.addLayout(right, 1)
        self._following = True  # the form follows the models shown until edited
        self._last_redraw = 0.0
        self._epochs = 0
        self._x_epochs = 0  # the epochs the x axes show
        self._paused = False

        self.train_button.clicked.connect(lambda: self.trainRequested.emit(self.spec()))
        self.pause_button.clicked.connect(self.pauseRequested)
        self.stop_button.clicked.connect(self.stopRequested)
        browse.clicked.connect(self._browse)
        self.dataset.currentIndexChanged.connect(lambda _: self._update_dir_hint())
        # The user's choice is announced so its data can load before Train.
        self.dataset.activated.connect(lambda _: self._announce_data())
        self.data_dir.editingFinished.connect(self._announce_data)
        for combo in (self.dataset, self.backbone):
            combo.activated.connect(self._user_edited)
        for spin in (self.latent_dim, self.beta, self.epochs):
            spin.editingFinished.connect(self._user_edited)
            spin.lineEdit().textEdited.connect(self._user_edited)
        self.set_running(False)

    def _user_edited(self, *_: object) -> None:
        self._following = False

    def follow(self, dataset: str, latent_dim: int, backbone: str, beta: float) -> None:
        """Show the settings of the models on screen, unless the user changed
        the form (then it keeps what they chose)."""
        if not self._following:
            return
        key = "folder" if dataset.startswith("folder:") else dataset
        index = self.dataset.findData(key)
        if index >= 0:
            self.dataset.setCurrentIndex(index)
        self.latent_dim.setValue(int(latent_dim))
        self.backbone.setCurrentIndex(max(self.backbone.findData(backbone), 0))
        self.beta.setValue(float(beta))

    def show_history(
        self,
        histories: Sequence[Sequence[EpochMetrics] | None],
        source: str,
    ) -> None:
        """Plot the per-epoch figures of the models shown (AE, VAE; None for a
        missing one), when no run is on screen."""
        for curve in self.curves.values():
            curve.clear()
        ae, vae = histories
        for key, history, field in (
            ("ae_recon", ae, "train_recon"),
            ("ae_test", ae, "test_recon"),
            ("vae_recon", vae, "train_recon"),
            ("vae_test", vae, "test_recon"),
            ("vae_kl", vae, "train_kl"),
            ("vae_test_kl", vae, "test_kl"),
        ):
            for m in history or ():
                self.curves[key].append(m.epoch, getattr(m, field))
            self.curves[key].redraw()
        self._epochs = max((len(h) for h in histories if h), default=0)
        self._fit_ranges()
        self.source.setText(source)

    def spec(self) -> TrainSpec:
        """The settings as a :class:`TrainSpec`."""
        return TrainSpec(
            dataset=self.dataset.currentData(),
            data_dir=self.data_dir.text().strip() or None,
            latent_dim=self.latent_dim.value(),
            beta=self.beta.value(),
            backbone=self.backbone.currentData(),
            epochs=self.epochs.value(),
            autosave_dir=self._autosave_folder(),
            download=self.download.isChecked() and self.download.isEnabled(),
        )

    def _autosave_folder(self) -> str | None:
        if not self.autosave.isChecked():
            return None
        # The training thread checks (and creates) it before the first epoch.
        return str(Path(self.autosave_dir.text().strip() or ".").expanduser())

    def set_data_dir(self, path: str | None) -> None:
        """Prefill the data folder."""
        self.data_dir.setText(path or "")

    def _announce_data(self) -> None:
        spec = self.spec()
        self.dataChosen.emit(spec.dataset, spec.data_dir)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Data folder", self.data_dir.text()
        )
        if folder:
            self.data_dir.setText(folder)

    def _update_dir_hint(self) -> None:
        key = self.dataset.currentData()
        self.data_dir.setEnabled(key != "shapes")
        self.download.setEnabled(key not in ("shapes", "folder"))
        self.data_dir.setPlaceholderText(
            "folder of images (sub-folders = classes)"
            if key == "folder"
            else "folder holding MNIST/raw/*.gz etc."
        )

    # --- state from the controller ---------------------------------------------------

    def set_running(self, running: bool) -> None:
        """Enable Train when idle, Pause/Stop while training."""
        self.train_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        for w in (
            self.dataset,
            self.data_dir,
            self.epochs,
            self.latent_dim,
            self.beta,
            self.backbone,
            self.autosave,
            self.autosave_dir,
            self.download,
        ):
            w.setEnabled(not running)
        if not running:
            self.pause_button.setText("Pause")
            self._update_dir_hint()

    def on_started(self) -> None:
        """Training began: clear the curves."""
        self.source.setText("this run")
        for curve in self.curves.values():
            curve.clear()
        self._epochs = 0
        self._paused = False
        self.progress.setValue(0)
        self.progress.setFormat("Starting: loading the data…")
        self.progress.setToolTip("")  # no figures on the bar yet
        self.readout.setText("")
        self.set_running(True)

    def on_progress(self, p: TrainProgress) -> None:
        """Append to the curves; redraw at most 10 times a second."""
        x = (p.step / max(p.total_steps, 1)) * p.epochs
        self.curves["ae_recon"].append(x, p.recon[0])
        self.curves["vae_recon"].append(x, p.recon[1])
        self.curves["vae_kl"].append(x, p.kl[1])
        now = time.perf_counter()
        if now - self._last_redraw < REDRAW_INTERVAL_S and p.step < p.total_steps:
            return
        self._last_redraw = now
        for key in ("ae_recon", "vae_recon", "vae_kl"):
            self.curves[key].redraw()
        self._epochs = p.epochs
        self._fit_ranges()
        self.progress.setValue(int(1000 * p.fraction))
        # Steps sent just before a pause still arrive after it.
        self.progress.setFormat(
            ("Paused — " if self._paused else "")
            + f"epoch {p.epoch}/{p.epochs} · {100 * p.fraction:.0f}% · "
            f"ETA {format_seconds(p.eta_s)} · {p.samples_per_s:,.0f} images/s"
        )
        tip = (
            "ETA: at this run's pace so far (its test passes so far included, "
            "pauses left out).\n"
            f"images/s: training images over the last {p.rate_seconds:.1f} s of "
            "steps (each image trains both models; test passes and pauses left out)"
        )
        if tip != self.progress.toolTip():  # a new tooltip costs the window ~1 ms
            self.progress.setToolTip(tip)
        self.readout.setText(
            f"AE recon (at its code) {p.recon[0]:7.2f}\n"
            f"VAE recon (1 z ~ q) {p.recon[1]:6.2f}  KL {p.kl[1]:5.2f}"
        )

    def _fit_ranges(self) -> None:
        """Frame the whole run in x and the curves in y, moving the axes rarely.

        Autorange would re-lay both axes at every redraw as the curves grow; a
        fixed x range shows how far the run is, and y changes only when a curve
        leaves its range or shrinks to under half of it.
        """
        # Any range call, even an unchanged one, makes the axes redraw their
        # ticks (~7 ms a plot): set x only when the run's length changes.
        new_x = self._epochs and self._epochs != self._x_epochs
        self._x_epochs = self._epochs
        for plot, keys in self._plot_curves:
            if new_x:
                plot.setXRange(0, self._epochs, padding=0.02)
            bounds = [b for b in (self.curves[k].y_bounds() for k in keys) if b]
            if not bounds:
                continue
            lo = min(b[0] for b in bounds)
            hi = max(b[1] for b in bounds)
            (y0, y1), span = plot.viewRange()[1], max(hi - lo, 1e-6)
            if lo < y0 or hi > y1 or span < 0.4 * (y1 - y0):
                # Room below: losses fall, and each new range redraws the axes.
                plot.setYRange(lo - 0.3 * span, hi + 0.1 * span, padding=0)

    def on_epoch(self, event: EpochEnd) -> None:
        """Add the test figures of a finished epoch."""
        ae, vae = event.metrics
        self.curves["ae_test"].append(event.epoch, ae.test_recon)
        self.curves["vae_test"].append(event.epoch, vae.test_recon)
        self.curves["vae_test_kl"].append(event.epoch, vae.test_kl)
        for key in ("ae_test", "vae_test", "vae_test_kl"):
            self.curves[key].redraw()
        self._fit_ranges()

    def on_paused(self, paused: bool) -> None:
        """Reflect pause state on the button and bar."""
        self._paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")
        text = self.progress.format().removeprefix("Paused — ")
        self.progress.setFormat(("Paused — " if paused else "") + text)

    def on_finished(self, status: str) -> None:
        """Training ended: ``done``, ``stopped`` or ``failed``."""
        self.set_running(False)
        for curve in self.curves.values():
            curve.redraw()
        self._fit_ranges()
        label = {"done": "Done", "stopped": "Stopped", "failed": "Failed"}[status]
        if status == "done":
            self.progress.setValue(1000)
        self.progress.setFormat(label)
        self.progress.setToolTip("")  # the bar no longer shows an ETA or a rate
