"""The reparameterization trick on screen: ε-resampling and the gradient path.

:class:`ReparamView` shows one input's posterior ``q(z|x)`` in the VAE's plane:
``mu`` as a draggable handle, the 1σ and 2σ ellipses, and ``K`` samples
``z = mu + sigma * eps`` with their decodes beside. With "Fixed ε" on, dragging
``mu`` or scaling ``sigma`` moves the samples deterministically: the randomness
lives only in ``eps``. :class:`GradientView` differentiates the same samples with
autograd and measures the variance of the reparameterization and score-function
gradient estimators (:mod:`latentlab.core.reparam`).

Both views are lazy: while hidden (another tab is current) they only record that
the model or the picked input changed, and catch up once when shown. While the
VAE trains the controller replaces its codes twice a second, and redrawing 10k
points or decoding in a hidden tab would only stall the visible one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider, QLabeledSlider

from latentlab.core.latent import (
    LatentRect,
    decode_codes,
    draw_eps,
    posterior_samples,
)
from latentlab.core.reparam import DEFAULT_COUNTS, estimator_variances, path_gradients
from latentlab.qt.gallery_view import (
    GalleryWidget,
    ImageTilesWidget,
    describe,
    labelled_points,
    nearest_point,
    same_data,
)
from latentlab.qt.latent_plane import LatentPlaneWidget, PassiveScatterItem, fit_rect
from latentlab.qt.plot_style import cache_axes
from latentlab.qt.workers import LatestJob

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.data import ImageDataset
    from latentlab.core.latent import LatentSlice, PosteriorSamples
    from latentlab.core.models import Autoencoder
    from latentlab.core.reparam import EstimatorVariance, PathGradients
    from latentlab.qt.controller import Panel
    from latentlab.qt.gallery_view import InputSelection

K_MAX = 256
K_DEFAULT = 64
SCALE_MAX = 3.0
HOVER_RADIUS_PX = 10.0
VARIANCE_REPEATS = 64
MU_COLOUR = (200, 20, 20)
SAMPLE_COLOUR = (255, 140, 0)
HOVER_COLOUR = (30, 100, 255)
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def dim_name(d: int) -> str:
    """``z₁`` for dim 0."""
    return "z" + str(d + 1).translate(SUBSCRIPTS)


@dataclass(frozen=True, slots=True)
class SampleImages:
    """Decodes of the samples ``(k, h, w)`` and of ``mu`` ``(h, w)``."""

    samples: npt.NDArray[np.float32]
    mu: npt.NDArray[np.float32]


def decode_samples(
    model: Autoencoder, z: npt.NDArray[np.float32], mu: npt.NDArray[np.float32]
) -> SampleImages:
    """Decode the samples and ``mu`` in one batch (runs in a worker)."""
    images = decode_codes(model, np.concatenate([z, mu[None]]))
    return SampleImages(images[:-1], images[-1])


def ellipse_xy(
    centre: tuple[float, float], radii: tuple[float, float], n: int = 97
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """An axis-aligned ellipse as a closed polyline (the posterior is diagonal)."""
    t = np.linspace(0.0, 2 * np.pi, n)
    return centre[0] + radii[0] * np.cos(t), centre[1] + radii[1] * np.sin(t)


def _fmt(v: float) -> str:
    return f"{v:+.3f}".replace("-", "−")


def _pair(values: npt.ArrayLike) -> str:
    return "(" + ", ".join(f"{v:.3g}" for v in np.asarray(values).ravel()) + ")"


class ReparamView(QWidget):
    """ε-resampling: ``mu``, the σ ellipses and ``z = mu + sigma ⊙ eps`` samples.

    Signals
    -------
    samplesChanged()
        ``mu``, ``sigma``, ``eps`` or the input changed (samples recomputed).
    samplesDecoded()
        The decoded sample grid caught up with the samples.
    sampleHovered(int)
        The sample whose numbers are shown changed.

    While hidden, :meth:`set_panel` and selection changes are only recorded
    (:attr:`stale`); :meth:`catch_up` applies them, as the view's ``showEvent``
    does. Drawing the test set and decoding the samples wait until it is visible.
    """

    samplesChanged = Signal()
    samplesDecoded = Signal()
    sampleHovered = Signal(int)

    def __init__(
        self, selection: InputSelection, parent: QWidget | None = None, seed: int = 0
    ) -> None:
        super().__init__(parent)
        self._selection = selection
        self._panel: Panel | None = None
        self._shown: tuple[object, ...] = ()
        self._index: int | None = None
        self._mu0 = self._sigma0 = self._mu = self._scale = None
        self._gen = torch.Generator().manual_seed(seed)
        self._hovered = 0
        self._rng = np.random.default_rng(seed)
        self._decode_job = LatestJob()
        self._decode_version = 0
        self._decoded_version = -1
        self._closed = False
        self._moving_handle = False
        self._last_decoded: SampleImages | None = None
        self._eps = draw_eps(K_DEFAULT, 2, self._gen)
        # Inputs recorded while hidden, applied by catch_up().
        self._pending_panel: Panel | None = None
        self._panel_stale = False
        self._selection_stale = False
        self._points_stale = False
        self._decode_stale = False
        self.refresh_count = 0
        """Test-set redraws and decode jobs started: unchanged while hidden."""
        self._build()
        self._connect()
        self._set_enabled(False)

    # --- construction -----------------------------------------------------------------

    def _build(self) -> None:
        self.title = QLabel("ε-resampling: load a VAE to use this view", self)
        self.title.setStyleSheet("font-weight: 600; font-size: 13px;")
        self.gallery = GalleryWidget(self)
        self.input_label = QLabel("", self)
        self.input_label.setStyleSheet("color: #333;")

        self.k_slider = QLabeledSlider(Qt.Orientation.Horizontal, self)
        self.k_slider.setRange(1, K_MAX)
        self.k_slider.setValue(K_DEFAULT)
        self.k_slider.setToolTip("K: how many samples z = μ + σ ⊙ ε to draw")
        self.resample_button = QPushButton("Resample ε", self)
        self.resample_button.setToolTip("Draw fresh noise ε ~ N(0, I); μ and σ stay")
        self.fixed_box = QCheckBox("Fixed ε", self)
        self.fixed_box.setChecked(True)
        self.fixed_box.setToolTip(
            "Keep the same ε while μ moves and σ scales: the samples then move "
            "deterministically. Off: every change draws new ε."
        )
        self.scale_sliders = []
        self.scale_labels = []
        for _ in range(2):
            slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal, self)
            slider.setRange(0.0, SCALE_MAX)
            slider.setSingleStep(0.05)
            slider.setDecimals(2)
            slider.setValue(1.0)
            slider.setMinimumWidth(130)
            self.scale_sliders.append(slider)
            self.scale_labels.append(QLabel("σ ×", self))
        self.reset_button = QPushButton("Reset μ, σ", self)
        self.reset_button.setToolTip("Put μ back at the encoder's μ(x) and σ at 1×")
        self.zoom_button = QPushButton("Zoom to q(z|x)", self)
        self.zoom_button.setToolTip("Frame μ and the σ ellipses")
        self.whole_button = QPushButton("Whole plane", self)
        self.whole_button.setToolTip("Fit the view to the encoded test set")

        controls = QGridLayout()
        controls.setHorizontalSpacing(8)
        controls.addWidget(QLabel("Samples K"), 0, 0)
        controls.addWidget(self.k_slider, 0, 1)
        controls.addWidget(self.resample_button, 0, 2)
        controls.addWidget(self.fixed_box, 0, 3)
        controls.addWidget(self.reset_button, 0, 4)
        for i, (label, slider) in enumerate(
            zip(self.scale_labels, self.scale_sliders, strict=True)
        ):
            controls.addWidget(label, 1, 2 * i)
            controls.addWidget(slider, 1, 2 * i + 1)
        controls.addWidget(self.zoom_button, 1, 4)
        controls.addWidget(self.whole_button, 1, 5)
        controls.setColumnStretch(1, 1)
        controls.setColumnStretch(3, 1)

        self.plane = LatentPlaneWidget(self)
        self.plane.setMinimumSize(360, 320)
        self._build_plane_items()

        self.input_tile = ImageTilesWidget(self, columns=1, placeholder="input")
        self.mu_tile = ImageTilesWidget(self, columns=1, placeholder="decoded μ")
        for tile in (self.input_tile, self.mu_tile):
            tile.setFixedSize(112, 112)
        self.grid = ImageTilesWidget(self, placeholder="decoded samples")
        self.grid.setMinimumSize(280, 280)
        self.grid.setToolTip("The decoded samples; hover one to see its numbers")
        self.grid_caption = QLabel("", self)
        self.equation = QLabel("", self)
        self.equation.setTextFormat(Qt.TextFormat.RichText)
        self.equation.setStyleSheet(
            "background: #f6f6f2; border: 1px solid #ccc; padding: 6px;"
            "font-family: monospace; font-size: 12px;"
        )
        self.equation.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )

        refs = QGridLayout()
        refs.addWidget(QLabel("input x"), 0, 0, Qt.AlignmentFlag.AlignHCenter)
        refs.addWidget(QLabel("decoded μ"), 0, 1, Qt.AlignmentFlag.AlignHCenter)
        refs.addWidget(self.input_tile, 1, 0)
        refs.addWidget(self.mu_tile, 1, 1)
        refs.setColumnStretch(2, 1)
        right = QWidget(self)
        col = QVBoxLayout(right)
        col.setContentsMargins(4, 0, 0, 0)
        col.addLayout(refs)
        col.addWidget(self.grid_caption)
        col.addWidget(self.grid, 1)
        col.addWidget(self.equation)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.plane)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([720, 480])  # scaled to the real width when shown
        split.setChildrenCollapsible(False)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.input_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.gallery)
        layout.addLayout(controls)
        layout.addWidget(split, 1)

    def _build_plane_items(self) -> None:
        plane = self.plane
        for side in ("left", "bottom"):
            # Zoomed in on one posterior the ticks are small; keep plain units.
            plane.getAxis(side).enableAutoSIPrefix(False)
        self.ellipse1 = pg.PlotCurveItem(pen=pg.mkPen(MU_COLOUR, width=2))
        self.ellipse2 = pg.PlotCurveItem(
            pen=pg.mkPen(MU_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
        )
        self.ellipse_labels = [
            pg.TextItem(t, color=MU_COLOUR, anchor=(0, 1)) for t in ("1σ", "2σ")
        ]
        self.mu0_marker = PassiveScatterItem(
            size=10, symbol="x", pen=pg.mkPen(60, 60, 60), brush=pg.mkBrush(60, 60, 60)
        )
        self.samples_item = PassiveScatterItem(
            size=6,
            pen=pg.mkPen(40, 40, 40, 220, width=0.8),
            brush=pg.mkBrush(*SAMPLE_COLOUR, 230),
        )
        self.hover_ring = PassiveScatterItem(
            size=15, pen=pg.mkPen(HOVER_COLOUR, width=2.5), brush=None
        )
        self.hover_line = pg.PlotCurveItem(pen=pg.mkPen(HOVER_COLOUR, width=2))
        self.mu_handle = pg.TargetItem(
            pos=(0.0, 0.0),
            size=16,
            symbol="o",
            pen=pg.mkPen(MU_COLOUR, width=2.5),
            hoverPen=pg.mkPen(HOVER_COLOUR, width=3),
            brush=pg.mkBrush(255, 255, 255, 140),
            hoverBrush=pg.mkBrush(255, 255, 255, 200),
            movable=True,
            label="μ",
            labelOpts={"color": MU_COLOUR, "offset": (8, -14)},
        )
        self.mu_handle.setToolTip("Drag μ")
        for z, item in enumerate(
            (
                self.ellipse2,
                self.ellipse1,
                *self.ellipse_labels,
                self.mu0_marker,
                self.samples_item,
                self.hover_line,
                self.hover_ring,
                self.mu_handle,
            ),
            start=5,
        ):
            item.setZValue(z)
            plane.addItem(item, ignoreBounds=True)
        plane.vline.hide()
        plane.hline.hide()

    def _connect(self) -> None:
        self._selection.changed.connect(self._on_selection_changed)
        self.gallery.picked.connect(self._selection.pick)
        self.gallery.randomRequested.connect(
            lambda: self._selection.pick_random(self._rng)
        )
        self.k_slider.valueChanged.connect(self.set_count)
        self.resample_button.clicked.connect(self.resample)
        self.fixed_box.toggled.connect(self._on_fixed_toggled)
        for i, slider in enumerate(self.scale_sliders):
            slider.valueChanged.connect(
                lambda v, i=i: self._on_scale_slider(i, float(v))
            )
        self.reset_button.clicked.connect(self.reset)
        self.zoom_button.clicked.connect(self.zoom_to_posterior)
        self.whole_button.clicked.connect(self.fit_whole)
        self.mu_handle.sigPositionChanged.connect(self._on_handle_moved)
        self.plane.latentClicked.connect(self._on_plane_clicked)
        self.plane.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.grid.tileHovered.connect(lambda i: self.set_hovered(i) if i >= 0 else None)

    def _set_enabled(self, on: bool) -> None:
        for w in (
            self.k_slider,
            self.resample_button,
            self.fixed_box,
            self.reset_button,
            self.zoom_button,
            self.whole_button,
            self.gallery,
            *self.scale_sliders,
        ):
            w.setEnabled(on)

    # --- state ------------------------------------------------------------------------

    @property
    def model(self) -> Autoencoder | None:
        """The VAE shown (a CPU display model), or None."""
        return None if self._panel is None else self._panel.model

    @property
    def dataset(self) -> ImageDataset | None:
        """The VAE's dataset."""
        return None if self._panel is None else self._panel.dataset

    @property
    def latent_slice(self) -> LatentSlice | None:
        """Which two dims the plane shows."""
        return None if self._panel is None else self._panel.latent_slice

    @property
    def index(self) -> int | None:
        """Test-set index of the input shown."""
        return self._index

    @property
    def training(self) -> bool:
        """True while the VAE shown is being trained (its weights keep changing)."""
        return self._panel is not None and self._panel.training

    @property
    def eps(self) -> npt.NDArray[np.float32]:
        """The current noise ``(K, latent_dim)`` (a copy)."""
        return self._eps.copy()

    @property
    def sigma_scale(self) -> npt.NDArray[np.float32]:
        """Per-dim multiplier of the encoder's sigma."""
        return self._scale.copy()

    @property
    def hovered(self) -> int:
        """Index of the sample whose numbers are shown."""
        return self._hovered

    @property
    def decoded(self) -> SampleImages | None:
        """The latest decodes, if they match the current samples."""
        if self._decoded_version != self._decode_version:
            return None
        return self._last_decoded

    def input_image(self) -> torch.Tensor | None:
        """The input ``x``, uint8 ``(h, w)``."""
        if self._index is None or self.dataset is None:
            return None
        return self.dataset.test_images[self._index]

    def posterior(self) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The encoder's ``(mu(x), sigma(x))`` for the input, each ``(d,)``."""
        return self._mu0.copy(), self._sigma0.copy()

    def samples(self) -> PosteriorSamples | None:
        """``z = mu + (sigma(x) * scale) * eps`` for the current state."""
        if self._mu is None:
            return None
        # Copies: the view's state changes later and must not alter this result.
        return posterior_samples(
            self._mu.copy(), self._sigma0.copy(), self._eps.copy(), self._scale.copy()
        )

    def is_ready(self) -> bool:
        """True when a VAE and an input are shown."""
        return self._mu is not None

    @property
    def stale(self) -> bool:
        """True while changes recorded when hidden wait for the view to be shown."""
        return (
            self._panel_stale
            or self._selection_stale
            or self._points_stale
            or self._decode_stale
        )

    @property
    def busy(self) -> bool:
        """True while a decode job runs or waits."""
        return self._decode_job.busy

    # --- inputs -----------------------------------------------------------------------

    def set_panel(self, panel: Panel | None) -> None:
        """Show the VAE of ``panel`` (None: no VAE loaded).

        While the view is hidden this only keeps ``panel``; it is shown when the
        view is (see :meth:`catch_up`).
        """
        self._pending_panel = panel
        self._panel_stale = True
        if self.isVisible():
            self.catch_up()

    def catch_up(self) -> None:
        """Apply the model and selection recorded while hidden.

        Called by ``showEvent``, and by :class:`GradientView`, which needs this
        view's samples while this view itself stays hidden: then the test-set
        scatter and the decoded grid still wait until this view is shown.
        """
        if self._closed:
            return
        if self._panel_stale:
            self._panel_stale = False
            if self._apply_panel(self._pending_panel):
                self._selection_stale = False  # applied with the new model
        if self._selection_stale:
            self._selection_stale = False
            self._apply_selection(self._index)
        if not self.isVisible():
            return
        if self._points_stale and self._panel is not None:
            self._redraw_points()
        if self._decode_stale:
            self._submit_decode()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.catch_up()

    def _apply_panel(self, panel: Panel | None) -> bool:
        """Show ``panel``'s VAE; True when the selection was applied to it."""
        if panel is None or panel.model is None or panel.codes is None:
            self._panel = None
            self._shown = ()
            self._clear()
            return True
        key = (panel.checkpoint, panel.model, panel.codes, panel.latent_slice)
        self._panel = panel
        if len(self._shown) == len(key) and all(
            a is b for a, b in zip(key, self._shown, strict=True)
        ):
            return False
        new_model = not self._shown or self._shown[0] is not panel.checkpoint
        new_slice = not self._shown or self._shown[3] != panel.latent_slice
        self._shown = key
        dim = panel.latent_slice.latent_dim
        if self._eps.shape[1] != dim:
            self._eps = draw_eps(len(self._eps), dim, self._gen)
        title = panel.checkpoint.title() if panel.checkpoint else "VAE"
        self.title.setText(f"ε-resampling · {title}")
        self.gallery.set_dataset(panel.dataset)
        self._update_slider_labels()
        self._redraw_points()
        self._set_enabled(True)
        if new_model:
            self._mu0 = None  # a new model: mu and sigma start from its encoder
            self.fit_whole()
        self._apply_selection(self._index)
        if new_slice and self.is_ready():
            self.zoom_to_posterior()
        return True

    def _clear(self) -> None:
        self._points_stale = self._decode_stale = False
        self._index = None
        self._mu0 = self._sigma0 = self._mu = self._scale = None
        self.title.setText("ε-resampling: load a VAE to use this view")
        self.input_label.setText("")
        self.gallery.set_dataset(None)
        self.plane.set_points(None)
        for item in (self.ellipse1, self.ellipse2, self.hover_line):
            item.setData([], [])
        for item in (self.samples_item, self.hover_ring, self.mu0_marker):
            item.setData([], [])
        self.grid.set_images(None)
        self.input_tile.set_images(None)
        self.mu_tile.set_images(None)
        self.equation.setText("")
        self._set_enabled(False)

    def _redraw_points(self) -> None:
        if not self.isVisible():
            self._points_stale = True
            return
        self._points_stale = False
        self.refresh_count += 1
        xy, groups = labelled_points(self._panel)
        self.plane.set_points(xy, groups, size=3.5)
        self.plane.legend.setVisible(False)  # it would cover the zoomed posterior
        self.plane.set_manifold_visible(False)

    def _update_slider_labels(self) -> None:
        sl = self._panel.latent_slice
        dims = [sl.dims[0]] if sl.latent_dim == 1 else list(sl.dims)
        for i, (label, slider) in enumerate(
            zip(self.scale_labels, self.scale_sliders, strict=True)
        ):
            visible = i < len(dims)
            label.setVisible(visible)
            slider.setVisible(visible)
            if visible:
                label.setText(f"σ{str(dims[i] + 1).translate(SUBSCRIPTS)} ×")
                slider.setToolTip(
                    f"Scale σ along {dim_name(dims[i])} (0–3×); the samples follow"
                )
        d0, d1 = sl.dims
        self.plane.setLabel("bottom", dim_name(d0))
        self.plane.setLabel("left", dim_name(d1) if sl.latent_dim > 1 else "")

    def _on_selection_changed(self) -> None:
        self._selection_stale = True
        if self.isVisible():
            self.catch_up()

    def _apply_selection(self, fallback: int | None) -> None:
        sel = self._selection
        if self._panel is None:
            return
        if same_data(sel.dataset, self.dataset) and sel.current is not None:
            self.set_input(sel.current)
        elif fallback is not None:
            self.set_input(fallback)

    def set_input(self, index: int) -> None:
        """Show test image ``index``: ``mu`` and ``sigma`` reset to the encoder's."""
        panel = self._panel
        if panel is None or panel.codes is None or panel.codes.sigma is None:
            return
        if not 0 <= index < len(panel.codes.mu):
            return
        mu0 = panel.codes.mu[index].astype(np.float32).copy()
        sigma0 = panel.codes.sigma[index].astype(np.float32).copy()
        if not (np.isfinite(mu0).all() and np.isfinite(sigma0).all()):
            self.input_label.setText(
                f"input #{index} encodes to NaN or infinity: pick another one"
            )
            return
        same = index == self._index and self._mu0 is not None
        if same and self._mu0.shape == mu0.shape:
            # The same input under a refreshed model (e.g. while training): keep
            # the user's offset of mu and their sigma scales.
            self._mu = mu0 + (self._mu - self._mu0)
        else:
            self._mu = mu0.copy()
            self._scale = np.ones_like(mu0)
            self._set_sliders(1.0)
        self._index = int(index)
        self._mu0, self._sigma0 = mu0, sigma0
        if panel.dataset is not None:
            image = panel.dataset.test_images[index].numpy() / np.float32(255)
            self.input_tile.set_images(image[None])
            self.input_label.setText(
                "input "
                + describe(panel.dataset, index)
                + f" · μ(x) = {_pair(self._mu0)} · σ(x) = {_pair(self._sigma0)}"
            )
            self.gallery.mark([index])
        self._hovered = min(self._hovered, len(self._eps) - 1)
        self._update()
        if not same:
            self.zoom_to_posterior()

    # --- the reparameterization -------------------------------------------------------

    def set_mu_xy(self, x: float, y: float) -> None:
        """Move ``mu`` to plane point (x, y); the other dims keep ``mu(x)``."""
        if self._mu is None:
            return
        sl = self.latent_slice
        mu = self._mu.copy()
        mu[sl.dims[0]] = x
        if sl.latent_dim > 1:
            mu[sl.dims[1]] = y
        self._mu = mu
        if not self.fixed_box.isChecked():
            self._eps = draw_eps(len(self._eps), len(self._mu), self._gen)
        self._update()

    def set_sigma_scale(self, which: int, k: float) -> None:
        """Scale sigma along shown dim ``which`` (0 or 1) by ``k`` (0–3)."""
        self.scale_sliders[which].setValue(float(k))

    def _on_scale_slider(self, which: int, k: float) -> None:
        if self._scale is None:
            return
        scale = self._scale.copy()
        scale[self.latent_slice.dims[which]] = k
        self._scale = scale
        if not self.fixed_box.isChecked():
            self._eps = draw_eps(len(self._eps), len(self._scale), self._gen)
        self._update()

    def _set_sliders(self, k: float) -> None:
        for slider in self.scale_sliders:
            slider.blockSignals(True)
            slider.setValue(k)
            slider.blockSignals(False)

    def set_count(self, k: int) -> None:
        """Use ``k`` samples; existing ``eps`` rows are kept, new ones drawn."""
        k = int(np.clip(k, 1, K_MAX))
        if self.k_slider.value() != k:
            self.k_slider.setValue(k)  # re-enters through valueChanged
            return
        d = self._eps.shape[1]
        if k > len(self._eps):
            extra = draw_eps(k - len(self._eps), d, self._gen)
            self._eps = np.concatenate([self._eps, extra])
        else:
            self._eps = self._eps[:k].copy()
        self._hovered = min(self._hovered, k - 1)
        self._update()

    def resample(self) -> None:
        """Draw fresh ``eps``; ``mu`` and ``sigma`` are untouched."""
        self._eps = draw_eps(len(self._eps), self._eps.shape[1], self._gen)
        self._update()

    def reset(self) -> None:
        """``mu`` back to ``mu(x)``, sigma scale back to 1."""
        if self._mu0 is None:
            return
        self._mu = self._mu0.copy()
        self._scale = np.ones_like(self._mu0)
        self._set_sliders(1.0)
        self._update()

    def _on_fixed_toggled(self, on: bool) -> None:
        text = "Resample ε" if on else "Resample ε (also on drag)"
        self.resample_button.setText(text)

    # --- drawing ----------------------------------------------------------------------

    def _update(self) -> None:
        s = self.samples()
        if s is None:
            return
        sl = self.latent_slice
        xy = sl.project(s.z)
        mu_xy = sl.project(s.mu[None])[0]
        sig = s.sigma[list(sl.dims)] if sl.latent_dim > 1 else np.r_[s.sigma[0], 0.0]
        self._moving_handle = True
        self.mu_handle.setPos(float(mu_xy[0]), float(mu_xy[1]))
        self._moving_handle = False
        mu0_xy = sl.project(self._mu0[None])[0]
        moved = not np.allclose(mu0_xy, mu_xy)
        if moved:
            self.mu0_marker.setData([mu0_xy[0]], [mu0_xy[1]])
        else:
            self.mu0_marker.setData([], [])
        for item, label, r in (
            (self.ellipse1, self.ellipse_labels[0], 1.0),
            (self.ellipse2, self.ellipse_labels[1], 2.0),
        ):
            ex, ey = ellipse_xy((mu_xy[0], mu_xy[1]), (r * sig[0], r * sig[1]))
            item.setData(ex, ey)
            angle = np.pi / 4
            label.setPos(
                mu_xy[0] + r * sig[0] * np.cos(angle),
                mu_xy[1] + r * sig[1] * np.sin(angle),
            )
        self.samples_item.setData(x=xy[:, 0], y=xy[:, 1])
        self._show_hovered()
        self.grid_caption.setText(
            f"{len(xy)} decoded samples z = μ + σ ⊙ ε"
            + ("  (fixed ε)" if self.fixed_box.isChecked() else "")
        )
        self.samplesChanged.emit()
        self._request_decode()

    def _request_decode(self) -> None:
        if self.model is None:
            return
        self._decode_version += 1  # `decoded` is None until this version arrives
        if self.isVisible():
            self._submit_decode()
        else:
            self._decode_stale = True

    def _submit_decode(self) -> None:
        self._decode_stale = False
        model, s = self.model, self.samples()
        if model is None or s is None:
            return
        self.refresh_count += 1
        version = self._decode_version
        self._decode_job.submit(
            decode_samples,
            model,
            s.z,
            s.mu,
            on_return=lambda images: self._on_decoded(version, images),
            on_error=self._on_error,
        )

    def _on_decoded(self, version: int, images: SampleImages) -> None:
        if self._closed:
            return
        self._last_decoded = images
        self._decoded_version = version
        self.grid.set_images(images.samples)
        self.grid.set_highlight(self._hovered)
        self.mu_tile.set_images(images.mu[None])
        if version == self._decode_version:
            self.samplesDecoded.emit()

    def _on_error(self, exc: Exception) -> None:
        if not self._closed:
            self.grid.set_images(None)
            self.grid.set_placeholder(f"Could not decode: {exc}")

    def set_hovered(self, i: int) -> None:
        """Show the numbers of sample ``i``."""
        if not 0 <= i < len(self._eps):
            return
        self._hovered = int(i)
        self._show_hovered()
        self.sampleHovered.emit(self._hovered)

    def _show_hovered(self) -> None:
        s = self.samples()
        if s is None:
            return
        i = min(self._hovered, len(s.z) - 1)
        sl = self.latent_slice
        zx, zy = sl.project(s.z[i : i + 1])[0]
        mx, my = sl.project(s.mu[None])[0]
        self.hover_ring.setData([zx], [zy])
        self.hover_line.setData([mx, zx], [my, zy])
        self.grid.set_highlight(i)
        self.equation.setText(self.equation_html(i))

    def equation_html(self, i: int) -> str:
        """The reparameterization with live numbers for sample ``i``."""
        s = self.samples()
        sl = self.latent_slice
        dims = [sl.dims[0]] if sl.latent_dim == 1 else list(sl.dims)
        mu_c, sig_c, eps_c, z_c = "#c81414", "#a05a00", "#1e64ff", "#000"
        rows = [
            f"<b>z = <span style='color:{mu_c}'>μ</span> + "
            f"<span style='color:{sig_c}'>σ</span> ⊙ "
            f"<span style='color:{eps_c}'>ε</span></b>"
            f"&nbsp;&nbsp;sample {i + 1} of {len(s.z)}"
        ]
        for d in dims:
            sub = str(d + 1).translate(SUBSCRIPTS)
            rows.append(
                f"z{sub} = <span style='color:{mu_c}'>{_fmt(s.mu[d])}</span> + "
                f"<span style='color:{sig_c}'>{s.sigma[d]:.3f}</span> × "
                f"<span style='color:{eps_c}'>{_fmt(s.eps[i, d])}</span> = "
                f"<b style='color:{z_c}'>{_fmt(s.z[i, d])}</b>"
            )
        scale = ", ".join(f"{self._scale[d]:.2f}×" for d in dims)
        rows.append(
            f"<span style='color:#666'>σ = σ(x) · ({scale}); "
            "μ and σ carry the gradient, ε is a constant draw</span>"
        )
        others = sl.latent_dim - len(dims)
        if others > 0:
            rows.append(
                f"<span style='color:#666'>The other {others} dims are sampled "
                "the same way; the plane shows the two chosen ones.</span>"
            )
        return "<br>".join(rows)

    # --- view -------------------------------------------------------------------------

    def zoom_to_posterior(self) -> None:
        """Frame ``mu`` with room for the 2σ ellipse at the largest scale."""
        s = self.samples()
        if s is None:
            return
        sl = self.latent_slice
        cx, cy = (float(v) for v in sl.project(s.mu[None])[0])
        sig0 = self._sigma0[list(sl.dims)] if sl.latent_dim > 1 else self._sigma0[:1]
        whole = fit_rect(sl.project(self._panel.codes.mu), prior=True)
        half = max(7.0 * float(sig0.max()), 0.04 * whole.width)
        half = float(min(half, whole.width / 2))
        self.plane.fit(LatentRect(cx - half, cy - half, cx + half, cy + half))

    def fit_whole(self) -> None:
        """Frame the encoded test set and the prior's bulk."""
        if self._panel is None:
            return
        xy = self._panel.latent_slice.project(self._panel.codes.mu)
        self.plane.fit(fit_rect(xy, prior=True))

    # --- mouse ------------------------------------------------------------------------

    def _on_handle_moved(self, item) -> None:
        if self._moving_handle:
            return
        p = item.pos()
        self.set_mu_xy(float(p.x()), float(p.y()))

    def _on_plane_clicked(self, x: float, y: float) -> None:
        panel = self._panel
        if panel is None:
            return
        xy = panel.latent_slice.project(panel.codes.mu)
        i = nearest_point(xy, (x, y), self.plane.view_box.viewPixelSize())
        if i is not None:
            self._selection.pick(i)

    def _on_mouse_moved(self, pos) -> None:
        vb = self.plane.view_box
        if self._mu is None or not vb.sceneBoundingRect().contains(pos):
            return
        p = vb.mapSceneToView(pos)
        s = self.samples()
        xy = self.latent_slice.project(s.z)
        i = nearest_point(
            xy, (p.x(), p.y()), vb.viewPixelSize(), max_px=HOVER_RADIUS_PX
        )
        if i is not None and i != self._hovered:
            self.set_hovered(i)

    def shutdown(self) -> None:
        """Drop pending jobs; results that still arrive are ignored."""
        self._closed = True
        self._decode_job.cancel()


# --- gradient path --------------------------------------------------------------------


class ComputationDiagram(QWidget):
    """x → encoder → μ, σ; ε → z = μ + σ ⊙ ε → decoder → log p(x|z).

    The gradient path (backpropagation from log p to the encoder) is drawn as a
    wide red band under the forward arrows; ε sits off it, dashed, as a constant.
    """

    NODES: ClassVar[dict[str, tuple[float, float, str]]] = {
        "x": (0.05, 0.42, "x"),
        "enc": (0.19, 0.42, "encoder"),
        "mu": (0.38, 0.12, "μ"),
        "sigma": (0.38, 0.72, "σ"),
        "eps": (0.60, 0.90, "ε ~ N(0, I)"),
        "z": (0.60, 0.42, "z = μ + σ ⊙ ε"),
        "dec": (0.79, 0.42, "decoder"),
        "f": (0.935, 0.42, "log p(x|z)"),
    }
    FORWARD = (
        ("x", "enc"),
        ("enc", "mu"),
        ("enc", "sigma"),
        ("mu", "z"),
        ("sigma", "z"),
        ("z", "dec"),
        ("dec", "f"),
    )
    GRADIENT = (
        ("f", "dec"),
        ("dec", "z"),
        ("z", "mu"),
        ("z", "sigma"),
        ("mu", "enc"),
        ("sigma", "enc"),
    )
    BAND = QColor(230, 60, 60, 70)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(520, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def _box(self, key: str, fm_width: float) -> QRectF:
        x, y, _ = self.NODES[key]
        w, h = self.width() - 8, self.height() - 16
        bw = max(fm_width + 18, 46)
        bh = 30
        cx = min(max(4 + x * w, bw / 2 + 2), self.width() - bw / 2 - 2)
        return QRectF(cx - bw / 2, 8 + y * h - bh / 2, bw, bh)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.5))
        p.setFont(font)
        fm = p.fontMetrics()
        boxes = {
            k: self._box(k, fm.horizontalAdvance(text))
            for k, (_, _, text) in self.NODES.items()
        }

        def edge(a: str, b: str) -> tuple[QPointF, QPointF]:
            ra, rb = boxes[a], boxes[b]
            return _border_point(ra, rb.center()), _border_point(rb, ra.center())

        band = QPen(self.BAND, 12)
        band.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(band)
        for a, b in self.GRADIENT:
            p.drawLine(*edge(a, b))
        for a, b in self.FORWARD:
            _arrow(p, *edge(a, b), QColor(40, 40, 40), 1.6)
        _arrow(p, *edge("eps", "z"), QColor(30, 100, 255), 1.4, dashed=True)
        styles = {
            "x": ("#eeeeee", "#777"),
            "enc": ("#e3ecf7", "#4a78b5"),
            "dec": ("#e3ecf7", "#4a78b5"),
            "mu": ("#fde7e7", "#c81414"),
            "sigma": ("#fdf0dc", "#a05a00"),
            "z": ("#ffffff", "#222"),
            "f": ("#eaf5e6", "#2f7d32"),
        }
        for key, (_, _, text) in self.NODES.items():
            r = boxes[key]
            if key == "eps":
                p.setPen(QPen(QColor(30, 100, 255), 1.6, Qt.PenStyle.DashLine))
                p.setBrush(QColor(232, 240, 255))
                p.drawEllipse(r.adjusted(-8, -2, 8, 2))
            else:
                fill, line = styles[key]
                p.setPen(QPen(QColor(line), 1.6))
                p.setBrush(QColor(fill))
                p.drawRoundedRect(r, 5, 5)
            p.setPen(QColor(20, 20, 20))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        # The two local derivatives, beside the edges into z.
        p.setPen(QColor(190, 20, 20))
        bold = QFont(font)
        bold.setBold(True)
        p.setFont(bold)
        a, b = edge("mu", "z")
        mid = (a + b) / 2
        p.drawText(QPointF(mid.x() + 10, mid.y() - 6), "∂z/∂μ = 1")
        a, b = edge("sigma", "z")
        mid = (a + b) / 2
        p.drawText(QPointF(mid.x() + 12, mid.y() + 16), "∂z/∂σ = ε")
        p.setFont(font)
        a, b = edge("eps", "z")
        mid = (a + b) / 2
        p.setPen(QColor(30, 100, 255))
        p.drawText(QPointF(mid.x() + 10, mid.y() + 4), "a constant: no gradient")
        p.end()


def _border_point(rect: QRectF, towards: QPointF) -> QPointF:
    """Where the segment from ``rect``'s centre towards a point leaves ``rect``."""
    c = rect.center()
    dx, dy = towards.x() - c.x(), towards.y() - c.y()
    if dx == 0 and dy == 0:
        return c
    sx = rect.width() / 2 / abs(dx) if dx else np.inf
    sy = rect.height() / 2 / abs(dy) if dy else np.inf
    s = min(sx, sy)
    return QPointF(c.x() + dx * s, c.y() + dy * s)


def _arrow(
    p: QPainter,
    a: QPointF,
    b: QPointF,
    colour: QColor,
    width: float,
    dashed: bool = False,
) -> None:
    pen = QPen(colour, width, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    p.setPen(pen)
    p.drawLine(a, b)
    d = b - a
    length = max(np.hypot(d.x(), d.y()), 1e-6)
    ux, uy = d.x() / length, d.y() / length
    head = QPainterPath(b)
    head.lineTo(b.x() - 8 * ux + 4 * uy, b.y() - 8 * uy - 4 * ux)
    head.lineTo(b.x() - 8 * ux - 4 * uy, b.y() - 8 * uy + 4 * ux)
    head.closeSubpath()
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    p.drawPath(head)
    p.setBrush(Qt.BrushStyle.NoBrush)


def gradient_table_job(
    model: Autoencoder,
    image: torch.Tensor,
    mu: npt.NDArray[np.float32],
    sigma: npt.NDArray[np.float32],
    eps: npt.NDArray[np.float32],
) -> PathGradients:
    """Autograd through the current samples (runs in a worker)."""
    return path_gradients(mu, sigma, eps, model, image)


def variance_job(
    model: Autoencoder,
    image: torch.Tensor,
    seed: int,
    repeats: int,
    stop: threading.Event,
) -> EstimatorVariance | None:
    """Measure the two estimators' variances (runs in a worker, ~3 s for MNIST)."""
    return estimator_variances(
        model,
        image,
        DEFAULT_COUNTS,
        repeats=repeats,
        generator=torch.Generator().manual_seed(seed),
        should_stop=stop.is_set,
    )


def _sci(v: float) -> str:
    return f"{v:.3g}" if 1e-2 <= abs(v) < 1e4 else f"{v:.2e}"


class GradientView(QWidget):
    """The gradient path of the chosen input's samples, and estimator variances.

    Signals
    -------
    gradientsReady(object)
        ``PathGradients`` for the current samples.
    varianceReady(object)
        ``EstimatorVariance`` for the current input.

    It computes only while visible (``showEvent`` refreshes it); the
    :class:`ReparamView` it reads is brought up to date first.
    """

    gradientsReady = Signal(object)
    varianceReady = Signal(object)
    ROWS_SHOWN = 256

    def __init__(
        self,
        reparam: ReparamView,
        parent: QWidget | None = None,
        *,
        repeats: int = VARIANCE_REPEATS,
    ) -> None:
        super().__init__(parent)
        self._reparam = reparam
        self._repeats = repeats
        self._seed = 0
        self._table_job = LatestJob()
        self._variance_job = LatestJob()
        self._stop: threading.Event | None = None
        self._table_key: object = None
        self._variance_key: object = None
        self._result: EstimatorVariance | None = None
        self._gradients: PathGradients | None = None
        self._closed = False
        self._syncing = False
        self.refresh_count = 0
        """Jobs started (gradient table, variances): unchanged while hidden."""
        self._build()
        reparam.samplesChanged.connect(self._on_samples_changed)
        reparam.sampleHovered.connect(self.show_sample)
        self.table.currentCellChanged.connect(
            lambda row, *_: reparam.set_hovered(row) if row >= 0 else None
        )

    def _build(self) -> None:
        self.title = QLabel("Gradient path", self)
        self.title.setStyleSheet("font-weight: 600; font-size: 13px;")
        self.diagram = ComputationDiagram(self)
        self.diagram_legend = QLabel(
            "<span style='background:#f5c4c4'>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;</span> "
            "gradient path (backprop) &nbsp;&nbsp; <b>→</b> forward &nbsp;&nbsp; "
            "<span style='color:#1e64ff'>- - →</span> random input",
            self,
        )
        self.sample_line = QLabel("", self)
        self.sample_line.setTextFormat(Qt.TextFormat.RichText)
        self.sample_line.setStyleSheet("font-family: monospace;")
        self.sample_line.setWordWrap(True)
        self.caption = QLabel(
            "Autograd through z = μ + σ ⊙ ε for the ε-resampling tab's samples: "
            "∂z/∂μ is 1 and ∂z/∂σ is ε for every sample, so the decoder's gradient "
            "reaches μ and σ (and the encoder) while the random draw ε stays a "
            "constant input, off the gradient path. The last two columns are each "
            "sample's gradient of log p(x|z): the reparameterization estimator's "
            "terms.",
            self,
        )
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet("color: #444;")
        self.table = QTableWidget(0, 6, self)
        self.table.setHorizontalHeaderLabels(
            ["ε", "z", "∂z/∂μ", "∂z/∂σ", "∂log p/∂μ", "∂log p/∂σ"]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch
        )
        self.table.horizontalHeader().setMinimumSectionSize(60)
        self.table.verticalHeader().setDefaultSectionSize(19)
        self.table.setStyleSheet("font-family: monospace; font-size: 10px;")

        self.var_plot = pg.PlotWidget(background="w")
        self.ratio_plot = pg.PlotWidget(background="w")
        for plot in (self.var_plot, self.ratio_plot):
            plot.setLogMode(x=True, y=True)
            plot.showGrid(x=True, y=True, alpha=0.25)
            cache_axes(plot)
            for side in ("left", "bottom"):
                plot.getAxis(side).setTextPen("#333")
                plot.getAxis(side).setPen("#888")
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
        self.var_plot.setTitle(
            "Variance of ∇<sub>μ,σ</sub> E<sub>q</sub>[log p(x|z)] estimates",
            color="#222",
            size="10pt",
        )
        self.var_plot.setLabel("left", "variance (trace)")
        self.var_plot.setLabel("bottom", "samples per estimate S")
        self.ratio_plot.setTitle("score-function / reparameterization", color="#222")
        self.ratio_plot.setLabel("left", "variance ratio")
        self.ratio_plot.setLabel("bottom", "samples per estimate S")
        # Lower left is empty on a log-log plot of falling variances.
        self.var_plot.addLegend(
            offset=(8, -8), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 220)
        )
        self.curves = {
            "reparam": self.var_plot.plot(
                pen=pg.mkPen((31, 119, 180), width=2.5),
                symbol="o",
                symbolBrush=(31, 119, 180),
                symbolPen=None,
                name="reparameterization",
            ),
            "score": self.var_plot.plot(
                pen=pg.mkPen((214, 39, 40), width=2.5),
                symbol="s",
                symbolBrush=(214, 39, 40),
                symbolPen=None,
                name="score function (no baseline)",
            ),
            "score_b": self.var_plot.plot(
                pen=pg.mkPen((255, 127, 14), width=2, style=Qt.PenStyle.DashLine),
                symbol="t",
                symbolBrush=(255, 127, 14),
                symbolPen=None,
                name="score function, baseline f(μ)",
            ),
        }
        self.ratio_curves = {
            "score": self.ratio_plot.plot(
                pen=pg.mkPen((214, 39, 40), width=2.5),
                symbol="s",
                symbolBrush=(214, 39, 40),
                symbolPen=None,
            ),
            "score_b": self.ratio_plot.plot(
                pen=pg.mkPen((255, 127, 14), width=2, style=Qt.PenStyle.DashLine),
                symbol="t",
                symbolBrush=(255, 127, 14),
                symbolPen=None,
            ),
        }
        self.ratio_labels = {
            "score": pg.TextItem("", color=(214, 39, 40), anchor=(0.5, 1.3)),
            "score_b": pg.TextItem("", color=(200, 100, 10), anchor=(0.5, 1.3)),
        }
        for label in self.ratio_labels.values():
            self.ratio_plot.addItem(label, ignoreBounds=True)
        ticks = [[(float(np.log10(c)), str(c)) for c in DEFAULT_COUNTS], []]
        for plot in (self.var_plot, self.ratio_plot):
            plot.getAxis("bottom").setTicks(ticks)
        self.numbers = QTableWidget(0, 6, self)
        self.numbers.setHorizontalHeaderLabels(
            [
                "S",
                "estimates",
                "Var reparam",
                "Var score",
                "Var score, baseline",
                "ratio",
            ]
        )
        self.numbers.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.numbers.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.Stretch
        )
        self.numbers.setToolTip(
            "ratio: score-function variance / reparameterization variance, without "
            "/ with the baseline f(μ)"
        )
        self.numbers.verticalHeader().hide()
        self.numbers.verticalHeader().setDefaultSectionSize(20)
        self.numbers.setFixedHeight(20 * (len(DEFAULT_COUNTS) + 1) + 8)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.measure_button = QPushButton("Measure (new noise)", self)
        self.measure_button.setToolTip(
            f"Redraw the {self._repeats} × {max(DEFAULT_COUNTS)} noise samples and "
            "measure both estimators again"
        )
        self.measure_button.clicked.connect(self.remeasure)

        left = QWidget(self)
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 4, 0)
        lcol.addWidget(self.title)
        lcol.addWidget(self.diagram)
        lcol.addWidget(self.diagram_legend)
        lcol.addWidget(self.sample_line)
        lcol.addWidget(self.caption)
        lcol.addWidget(self.table, 1)
        right = QWidget(self)
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(4, 0, 0, 0)
        rcol.addWidget(self.var_plot, 3)
        rcol.addWidget(self.ratio_plot, 2)
        rcol.addWidget(self.numbers)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.measure_button)
        rcol.addLayout(row)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 6)
        split.setStretchFactor(1, 5)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(split)

    # --- state ------------------------------------------------------------------------

    @property
    def result(self) -> EstimatorVariance | None:
        """The latest variance measurement shown."""
        return self._result

    @property
    def gradients(self) -> PathGradients | None:
        """The latest path gradients shown."""
        return self._gradients

    @property
    def busy(self) -> bool:
        """True while a measurement runs or waits."""
        return self._variance_job.busy

    def refresh(self, force: bool = False) -> None:
        """Recompute what is stale: the table always, the variances per input
        (not automatically while the VAE trains, unless ``force``)."""
        if self._closed:
            return
        r = self._reparam
        # The ε view may be hidden and behind: catch it up, without re-entering
        # here through its samplesChanged.
        self._syncing = True
        try:
            r.catch_up()
        finally:
            self._syncing = False
        if not r.is_ready():
            self.status.setText("Load a VAE and pick an input (ε-resampling tab).")
            self.sample_line.setText("")
            return
        self._request_table()
        key = (id(r.model), r.index, self._seed)
        if key == self._variance_key:
            return
        if r.training and not force:
            self.status.setText(
                "The VAE is training: its weights change twice a second. Press "
                "Measure to measure the current snapshot."
            )
            return
        self._request_variance(key)

    def remeasure(self) -> None:
        """Measure again with new noise."""
        self._seed += 1
        self.refresh(force=True)

    def _on_samples_changed(self) -> None:
        if self.isVisible() and not self._syncing:
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()

    def _request_table(self) -> None:
        r = self._reparam
        s = r.samples()
        image = r.input_image()
        if s is None or image is None:
            return
        self.refresh_count += 1
        self._table_job.submit(
            gradient_table_job,
            r.model,
            image,
            s.mu.copy(),
            s.sigma.copy(),
            s.eps.copy(),
            on_return=self._on_gradients,
            on_error=self._on_error,
        )

    def _on_gradients(self, g: PathGradients) -> None:
        if self._closed:
            return
        self._gradients = g
        sl = self._reparam.latent_slice
        dims = [sl.dims[0]] if sl.latent_dim == 1 else list(sl.dims)

        def cell(values: npt.NDArray[np.float32], i: int) -> str:
            return "  ".join(f"{values[i, d]:+.3g}" for d in dims)

        n = min(len(g.z), self.ROWS_SHOWN)
        self.table.setRowCount(n)
        for i in range(n):
            cells = (
                cell(g.eps, i),
                cell(g.z, i),
                cell(g.dz_dmu, i),
                cell(g.dz_dsigma, i),
                cell(g.dlogp_dmu, i),
                cell(g.dlogp_dsigma, i),
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j in (2, 3):
                    item.setForeground(QColor(190, 20, 20))
                self.table.setItem(i, j, item)
        names = ", ".join(dim_name(d) for d in dims)
        self.table.setToolTip(f"Each cell lists the shown dims ({names})")
        self.show_sample(self._reparam.hovered)
        self.gradientsReady.emit(g)

    def show_sample(self, i: int) -> None:
        """Spell out sample ``i``'s forward values and local derivatives."""
        g = self._gradients
        s = self._reparam.samples()
        if g is None or s is None or len(g.z) != len(s.z):
            return
        i = min(max(i, 0), len(g.z) - 1)
        sl = self._reparam.latent_slice
        dims = [sl.dims[0]] if sl.latent_dim == 1 else list(sl.dims)
        self.table.selectRow(i)
        self.sample_line.setText(
            f"sample {i + 1}: <span style='color:#c81414'>μ = {_pair(s.mu[dims])}"
            f"</span>, <span style='color:#a05a00'>σ = {_pair(s.sigma[dims])}</span>"
            f", <span style='color:#1e64ff'>ε = {_pair(g.eps[i, dims])}</span> → "
            f"z = {_pair(g.z[i, dims])} → log p(x|z) = {g.logp[i]:.1f} nats"
        )

    def _request_variance(self, key: object) -> None:
        r = self._reparam
        if self._stop is not None:
            self._stop.set()
        stop = threading.Event()
        self._stop = stop
        self._variance_key = key
        pool = self._repeats * max(DEFAULT_COUNTS)
        self.status.setText(
            f"Measuring on {pool:,} samples of ε for input "
            f"{describe(r.dataset, r.index)}…"
        )
        self.measure_button.setEnabled(False)
        self.refresh_count += 1
        self._variance_job.submit(
            variance_job,
            r.model,
            r.input_image(),
            self._seed,
            self._repeats,
            stop,
            on_return=lambda res: self._on_variance(key, res),
            on_error=self._on_error,
            on_finish=lambda: self.measure_button.setEnabled(True),
        )

    def _on_variance(self, key: object, res: EstimatorVariance | None) -> None:
        if self._closed or res is None or key != self._variance_key:
            return
        self._result = res
        c = res.counts.astype(float)
        self.curves["reparam"].setData(c, res.var_reparam)
        self.curves["score"].setData(c, res.var_score)
        self.curves["score_b"].setData(c, res.var_score_baseline)
        self.ratio_curves["score"].setData(c, res.ratio)
        self.ratio_curves["score_b"].setData(c, res.ratio_baseline)
        mid = float(np.log10(np.sqrt(c[0] * c[-1])))
        for key, values, text in (
            ("score", res.ratio, "no baseline"),
            ("score_b", res.ratio_baseline, "baseline f(μ)"),
        ):
            median = float(np.median(values))
            shown = f"{median:,.0f}" if median >= 100 else f"{median:.1f}"
            self.ratio_labels[key].setText(f"{text}: ×{shown}")
            self.ratio_labels[key].setPos(mid, float(np.log10(values.max())))
        self.ratio_plot.setYRange(
            float(np.log10(res.ratio_baseline.min())) - 0.6,
            float(np.log10(res.ratio.max())) + 0.9,
        )
        self.numbers.setRowCount(len(c))
        for i in range(len(c)):
            row = (
                str(int(c[i])),
                str(int(res.n_estimates[i])),
                _sci(res.var_reparam[i]),
                _sci(res.var_score[i]),
                _sci(res.var_score_baseline[i]),
                f"{res.ratio[i]:,.0f}× / {res.ratio_baseline[i]:,.1f}×",
            )
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.numbers.setItem(i, j, item)
        r = self._reparam
        lower = bool((res.var_reparam < res.var_score).all())
        verdict = (
            "lower than the score function's at every S"
            if lower
            else "NOT lower at every S"
        )
        self.status.setText(
            f"Input {describe(r.dataset, r.index)}, μ = {_pair(res.mu)}, "
            f"σ = {_pair(res.sigma)}. Reparameterization variance is {verdict}: "
            f"median ratio {np.median(res.ratio):,.0f}× (no baseline), "
            f"{np.median(res.ratio_baseline):,.1f}× with baseline f(μ). "
            "Both estimate the same gradient (pooled means agree within noise)."
        )
        self.varianceReady.emit(res)

    def _on_error(self, exc: Exception) -> None:
        if not self._closed:
            self.status.setText(f"Could not compute: {exc}")

    def shutdown(self) -> None:
        """Stop a running measurement; later results are ignored."""
        self._closed = True
        if self._stop is not None:
            self._stop.set()
        self._table_job.cancel()
        self._variance_job.cancel()
