"""TrainPanel: settings, Train / Pause / Stop, progress with ETA, live loss curves
(:mod:`~latentlab.qt.widgets.loss_plots`)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

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

from latentlab.core.catalog import IDX_SETS, RESIZABLE_SETS
from latentlab.core.training_run import TrainSpec
from latentlab.qt.widgets.loss_plots import (
    AE_COLOUR,
    SMOOTH_EPOCHS,
    VAE_COLOUR,
    LossPlots,
)
from latentlab.qt.widgets.plane_items import LegendBar

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.training import EpochEnd, EpochMetrics, TrainProgress

DATASETS = (
    ("Embedded shapes (offline)", "shapes"),
    ("MNIST", "mnist"),
    ("Fashion-MNIST", "fashion-mnist"),
    ("KMNIST", "kmnist"),
    ("Colour shapes (offline)", "colour-shapes"),
    ("CIFAR-10 (local files)", "cifar10"),
    ("CelebA (local files)", "celeba"),
    ("Image folder…", "folder"),
)
# Sizes offered for the sets LatentLab resizes; None: the set's own.
IMAGE_SIZES = (None, 28, 32, 48, 64, 96, 128)
LIKELIHOOD_CHOICES = (
    ("Bernoulli", "bernoulli"),
    ("Gaussian, one σ", "gaussian"),
    ("Gaussian, σ per pixel", "gaussian-per-pixel"),
    ("Discretized Gaussian", "discretized-gaussian"),
)
REDRAW_INTERVAL_S = 0.2
READY = "Ready to train"
BAR_HEIGHT = 8  # px: a thin bar under its text, which no fill edge crosses
KEY_TIP = (
    "Nats per image. Recon: the negative log-likelihood −log p(x|z) under the "
    "run's p(x|z) (Bernoulli: the pixels in [0, 1] as targets, not binarized; a "
    "Gaussian: a density, which can go below 0), the AE's whole loss. "
    "KL(q ‖ p): the VAE's KL(q(z|x) ‖ p(z)) to its N(0, I) prior. The "
    "VAE's −ELBO is its recon plus its KL, the two plots.\nFilled points, "
    "solid: the train mean of each epoch, at the middle of the epoch it "
    "averages. Open points, dashed: the test set after each "
    "epoch. Thin: the train loss while a run goes, smoothed over about "
    f"{SMOOTH_EPOCHS:g} of an epoch.\nThe y range follows the run: every test "
    "figure and the latest train figures; the first epoch's train figures, "
    "which include the untrained first steps, may run off the top."
)


def format_seconds(seconds: float) -> str:
    """``75`` -> ``1:15``; unknown -> ``…``."""
    if not math.isfinite(seconds):
        return "…"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def figures_text(what: str, ae_recon: float, vae_recon: float, vae_kl: float) -> str:
    """The readout: the AE's loss and the VAE's −ELBO split into its parts."""

    def num(v: float, width: int) -> str:
        return f"{v:{width}.2f}" if math.isfinite(v) else " " * (width - 1) + "–"

    elbo = vae_recon + vae_kl
    return (
        f"AE  recon {num(ae_recon, 7)}   ({what})\n"
        f"VAE recon {num(vae_recon, 7)} + KL {num(vae_kl, 5)} = −ELBO {num(elbo, 7)}"
    )


class TrainPanel(QWidget):
    """The training dock's contents."""

    trainRequested = Signal(object)  # TrainSpec
    # dataset key, data folder or None, {"image_size": ..., "channels": ...}
    dataChosen = Signal(str, object, object)
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
        self.backbone.addItem("Conv ×4 (32–128 px)", "conv4")
        self.backbone.setItemData(
            2,
            "The β-VAE paper's four 4×4 stride-2 convolutions (32-32-64-64), for "
            "32-128 px colour images",
            Qt.ItemDataRole.ToolTipRole,
        )
        self.image_size = QComboBox(self)
        for size in IMAGE_SIZES:
            self.image_size.addItem("the set's" if size is None else f"{size} px", size)
        self.image_size.setToolTip(
            "Image folders, CelebA and the colour shapes are resized to this (a "
            "folder's images: centre crop to the shape, then area resize)"
        )
        self.channels = QComboBox(self)
        self.channels.addItem("the set's", None)
        self.channels.addItem("grey", 1)
        self.channels.addItem("RGB", 3)
        self.likelihood = QComboBox(self)
        for label, key in LIKELIHOOD_CHOICES:
            self.likelihood.addItem(label, key)
        self.likelihood.setToolTip(
            "p(x|z): Bernoulli with pixels in [0, 1] as targets; a Gaussian with a "
            "learned σ (what MSE assumes); discretized over 8-bit levels, whose "
            "bits/dim compare with the papers'"
        )

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
        # The bar's text sits above it, not on it: drawn on the bar, the fill's
        # edge ran through the words (white on the fill, black past it).
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(BAR_HEIGHT)
        self.status_label = QLabel(self)
        self.status_label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed
        )
        self._set_status(READY, "")
        self.readout = QLabel("", self)
        self.readout.setStyleSheet("font-family: monospace;")
        metrics = self.readout.fontMetrics()
        self.readout.setFixedHeight(2 * metrics.lineSpacing() + 6)  # never cut
        # Wide enough for the longest line, and no wider as figures change: a
        # new width re-lays the dock and redraws the curves' axes (~5 ms each).
        widest = figures_text("", 9999.99, 9999.99, 999.99).splitlines()[1]
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
            (("Image size", self.image_size), ("Channels", self.channels)),
            (("p(x|z)", self.likelihood), None),
        )
        for r, pair in enumerate(rows):
            for c, item in enumerate(pair):
                if item is not None:
                    form.addWidget(QLabel(item[0]), r, 2 * c)
                    form.addWidget(item[1], r, 2 * c + 1)
        form.addWidget(self.download, 2, 2, 1, 2)
        form.addWidget(QLabel("Data"), 5, 0)
        form.addLayout(dir_row, 5, 1, 1, 3)
        form.addWidget(QLabel("Autosave"), 6, 0)
        form.addLayout(autosave_row, 6, 1, 1, 3)
        # The form folds away on a short window (the planes need the height),
        # a line saying what it holds in its place.
        self.settings = QWidget(self)
        self.settings.setLayout(form)
        form.setContentsMargins(0, 0, 0, 0)
        self.settings_button = QToolButton(self)
        self.settings_button.setCheckable(True)
        self.settings_button.setChecked(True)
        self.settings_button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        )
        self.settings_button.setToolTip("Show or hide the run's settings")
        self.settings_summary = QLabel("", self)
        self.settings_summary.setStyleSheet("color: #444;")
        self.settings_summary.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred
        )
        self._settings_chosen = False  # the user folded or unfolded them
        self.settings_button.clicked.connect(self._on_settings_clicked)
        self.settings_button.toggled.connect(self._show_settings)
        buttons = QHBoxLayout()
        buttons.addWidget(self.settings_button, 0)
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)
        status = QVBoxLayout()
        status.setSpacing(2)
        status.addWidget(self.status_label)
        status.addWidget(self.progress)
        left = QVBoxLayout()
        left.addWidget(self.settings)
        left.addWidget(self.settings_summary)
        left.addLayout(buttons)
        left.addLayout(status)
        # Where the curves come from, under the figures: one line (a wrapped
        # label's height-for-width left the dock's layout stale), whole in its
        # tooltip.
        self.source = QLabel("", self)
        self.source.setStyleSheet("color: #666;")
        self.source.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum
        )
        left.addWidget(self.readout)
        left.addWidget(self.source)
        left.addStretch(1)

        self.plots = LossPlots(self)
        self.recon_plot = self.plots.recon_plot
        self.kl_plot = self.plots.kl_plot
        self.curves = self.plots.curves
        # The key sits above the plots, where it hides no curve.
        self.key = LegendBar(self)
        self.key.set_entries([("AE", AE_COLOUR), ("VAE", VAE_COLOUR)])
        self.key.setText(
            self.key.text() + " &nbsp;● train, epoch mean &nbsp;○ test, dashed"
            " &nbsp;thin: train, smoothed"
        )
        self.key.setToolTip(KEY_TIP)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.key)
        right.addWidget(self.plots, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 0)
        layout.addLayout(right, 1)
        self._following = True  # the form follows the models shown until edited
        self._last_redraw = 0.0
        self._paused = False
        self._run_started = False  # a run was started: its figures replace the curves
        self._shows_run = False  # the curves are a run's (not a history)
        self._last_progress: TrainProgress | None = None

        self.train_button.clicked.connect(lambda: self.trainRequested.emit(self.spec()))
        self.pause_button.clicked.connect(self.pauseRequested)
        self.stop_button.clicked.connect(self.stopRequested)
        browse.clicked.connect(self._browse)
        self.dataset.currentIndexChanged.connect(lambda _: self._update_dir_hint())
        # The user's choice is announced so its data can load before Train.
        self.dataset.activated.connect(lambda _: self._announce_data())
        self.data_dir.editingFinished.connect(self._announce_data)
        self.image_size.activated.connect(lambda _: self._announce_data())
        self.channels.activated.connect(lambda _: self._announce_data())
        for combo in (self.dataset, self.backbone, self.likelihood):
            combo.activated.connect(self._user_edited)
        for spin in (self.latent_dim, self.beta, self.epochs):
            spin.editingFinished.connect(self._user_edited)
            spin.lineEdit().textEdited.connect(self._user_edited)
        for combo in (self.dataset, self.backbone):
            combo.currentIndexChanged.connect(lambda _: self._summarise())
        for spin in (self.latent_dim, self.beta, self.epochs):
            spin.valueChanged.connect(lambda _: self._summarise())
        self._show_settings(True)
        self.set_running(False)

    # --- the settings, folded or not ------------------------------------------------

    def fold_settings(self, folded: bool) -> None:
        """Fold the settings form into one line (a short window), unless the
        user has folded or unfolded it themselves."""
        if not self._settings_chosen:
            self.settings_button.setChecked(not folded)

    def _on_settings_clicked(self, _checked: bool) -> None:
        self._settings_chosen = True

    def _show_settings(self, shown: bool) -> None:
        self.settings.setVisible(shown)
        self.settings_summary.setVisible(not shown)
        self.settings_button.setText("Settings")
        self.settings_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )
        self._summarise()

    def _summarise(self) -> None:
        if self.settings_summary.isHidden():
            return
        self.settings_summary.setText(
            f"{self.dataset.currentText()} · {self.latent_dim.value()}-D · "
            f"{self.backbone.currentText()} · {self.epochs.value()} epochs · "
            f"β = {self.beta.value():g}"
        )

    def _user_edited(self, *_: object) -> None:
        self._following = False

    def follow(
        self,
        dataset: str,
        latent_dim: int,
        backbone: str,
        beta: float,
        *,
        likelihood: str = "bernoulli",
        image_shape: tuple[int, int, int] | None = None,
    ) -> None:
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
        self.likelihood.setCurrentIndex(max(self.likelihood.findData(likelihood), 0))
        if image_shape is not None:
            c, h, w = image_shape
            side = self.image_size.findData(h) if h == w else -1
            self.image_size.setCurrentIndex(max(side, 0))
            self.channels.setCurrentIndex(self.channels.findData(c))

    @property
    def shows_run(self) -> bool:
        """True while the curves are a run's, from its first figures on."""
        return self._shows_run

    def show_history(
        self,
        histories: Sequence[Sequence[EpochMetrics] | None],
        source: str,
    ) -> None:
        """Plot the per-epoch figures of the models shown (AE, VAE; None for a
        missing one), when no run is on screen: the bar and the readout leave
        the last run too."""
        self.plots.show_history(histories)
        self._shows_run = False
        self.source.setText(source)
        self.source.setToolTip(source)
        self.progress.setValue(0)
        self._set_status(READY, "")
        ae, vae = histories

        def last(history, field: str) -> float:
            return getattr(history[-1], field) if history else math.nan

        self.readout.setText(
            figures_text(
                "test, last epoch",
                last(ae, "test_recon"),
                last(vae, "test_recon"),
                last(vae, "test_kl"),
            )
            if ae or vae
            else ""
        )

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
            image_size=self.image_size.currentData()
            if self.image_size.isEnabled()
            else None,
            channels=self.channels.currentData(),
            likelihood=self.likelihood.currentData(),
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
        shape = {"image_size": spec.image_size, "channels": spec.channels}
        self.dataChosen.emit(spec.dataset, spec.data_dir, shape)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Data folder", self.data_dir.text()
        )
        if folder:
            self.data_dir.setText(folder)

    def _update_dir_hint(self) -> None:
        key = self.dataset.currentData()
        self.data_dir.setEnabled(key not in ("shapes", "colour-shapes"))
        self.download.setEnabled(key in IDX_SETS)
        self.image_size.setEnabled(key in RESIZABLE_SETS)
        self.data_dir.setPlaceholderText(
            {
                "folder": "folder of images (sub-folders = classes)",
                "cifar10": "folder holding cifar-10-batches-py",
                "celeba": "folder holding celeba/img_align_celeba",
            }.get(key, "folder holding MNIST/raw/*.gz etc.")
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
            self.image_size,
            self.channels,
            self.likelihood,
            self.autosave,
            self.autosave_dir,
            self.download,
        ):
            w.setEnabled(not running)
        if not running:
            self.pause_button.setText("Pause")
            self._update_dir_hint()

    def _set_status(self, text: str, tip: str | None = None) -> None:
        """The bar's text (also its ``format()``) and, unless None, tooltip."""
        self.progress.setFormat(text)
        if text != self.status_label.text():
            self.status_label.setText(text)
        # A new tooltip costs the window ~1 ms.
        if tip is not None and tip != self.progress.toolTip():
            self.progress.setToolTip(tip)
            self.status_label.setToolTip(tip)

    def on_started(self) -> None:
        """Training began: the curves shown stay until its first figures (a
        run that fails to start, a download say, leaves them)."""
        self._run_started = True
        self._paused = False
        self._last_progress = None
        self.progress.setValue(0)
        self._set_status("Starting: loading the data…", "")  # no figures yet
        self.set_running(True)

    def on_progress(self, p: TrainProgress) -> None:
        """Fold into the smoothed curves; redraw at most 5 times a second."""
        if self._run_started:
            self._run_started = False
            self._shows_run = True
            self.plots.start_run(p)
            self.source.setText("this run")
            self.source.setToolTip("")
            self._last_redraw = 0.0
        self.plots.add_progress(p)
        self._last_progress = p
        now = time.perf_counter()
        if now - self._last_redraw < REDRAW_INTERVAL_S and p.step < p.total_steps:
            return
        self._last_redraw = now
        self.plots.redraw_live()
        self.progress.setValue(int(1000 * p.fraction))
        self._show_progress(p)
        self.readout.setText(
            figures_text(
                "train, smoothed",
                self.plots.smoothed("ae_recon"),
                self.plots.smoothed("vae_recon"),
                self.plots.smoothed("vae_kl"),
            )
        )

    def _show_progress(self, p: TrainProgress) -> None:
        """The bar's text and tooltip for ``p``: while paused the ETA says so
        rather than stand still (steps sent just before a pause still arrive
        after it)."""
        eta = p.eta()
        head = f"epoch {p.epoch}/{p.epochs} · {100 * p.fraction:.0f}%"
        if self._paused:
            text = f"Paused — {head} · ETA paused ({format_seconds(eta.seconds)} left)"
        else:
            text = (
                f"{head} · ETA {format_seconds(eta.seconds)} · "
                f"{p.samples_per_s:,.0f} images/s"
            )
        if eta.measured and math.isfinite(eta.per_epoch_s):
            after = f"as long as the ones so far ({eta.per_epoch_s:.1f} s each)"
        elif math.isfinite(eta.per_epoch_s):
            after = (
                f"estimated at {eta.per_epoch_s:.1f} s each until the first is "
                "timed (a test image at a third of a training image's step)"
            )
        else:
            after = "counted in the run's pace"
        tip = (
            f"ETA: the training steps left at this run's pace so far "
            f"({format_seconds(eta.steps_s)}), plus the test pass after each "
            f"epoch left ({format_seconds(eta.between_s)}), {after}; pauses "
            "left out.\n"
            f"images/s: training images over the last {p.rate_seconds:.1f} s of "
            "steps (each image trains both models; test passes and pauses left out)"
        )
        self._set_status(text, tip)

    def on_epoch(self, event: EpochEnd) -> None:
        """Add the train means and test figures of a finished epoch."""
        if self._run_started:  # no progress came first (not from the loop)
            return
        self.plots.add_epoch(event)

    def on_paused(self, paused: bool) -> None:
        """Reflect pause state on the button and the bar's text."""
        self._paused = paused
        self.pause_button.setText("Resume" if paused else "Pause")
        if self._last_progress is not None and not self._run_started:
            self._show_progress(self._last_progress)
        elif paused:
            self._set_status("Paused — " + self.progress.format())
        else:
            self._set_status(self.progress.format().removeprefix("Paused — "))

    def on_finished(self, status: str) -> None:
        """Training ended: ``done``, ``stopped`` or ``failed``."""
        self.set_running(False)
        self._paused = False
        label = {"done": "Done", "stopped": "Stopped", "failed": "Failed"}[status]
        if self._run_started:  # no figure came: the curves shown stay
            self._run_started = False
            self.progress.setValue(0)
            self._set_status(f"{label} before its first step", "")
            return
        self.plots.redraw_all()
        if status == "done":
            self.progress.setValue(1000)
        self._set_status(label, "")  # the bar no longer shows an ETA or a rate
        epochs = self.curves["vae_test"].y or self.curves["ae_test"].y
        if epochs:
            self.readout.setText(
                figures_text(
                    f"test, epoch {len(epochs)}",
                    self._last(self.curves["ae_test"].y),
                    self._last(self.curves["vae_test"].y),
                    self._last(self.curves["vae_test_kl"].y),
                )
            )

    @staticmethod
    def _last(values: Sequence[float]) -> float:
        return values[-1] if values else math.nan
