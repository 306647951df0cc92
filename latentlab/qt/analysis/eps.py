"""ε-resampling: one input's posterior ``q(z|x)``, its σ ellipses and samples.

The view draws what :attr:`Session.eps` and :meth:`Session.posterior` say: ``μ``
as a draggable handle, the 1σ and 2σ ellipses, and ``K`` samples
``z = μ + σ ⊙ ε`` with their decodes beside. Every control sends an intent to
the session (``move_mu``, ``set_sigma_scale``, ``set_count``, ``resample_eps``,
``set_eps_fixed``, ``reset_eps``) and the view redraws on the session's events:
it keeps no copy of μ, σ or ε. With "Fixed ε" on, dragging μ or scaling σ moves
the samples deterministically: the randomness lives only in ε.

What the view keeps of its own is screen state: which sample is hovered, and
which side its drawing came from (to redraw the 10k-point scatter only when the
VAE changed). Pyqtgraph's ``TextItem`` is not used in the plot: with a singular
view transform (a plot that has no size yet) it falls back to a pseudo-inverse
that assigns ``ndarray.shape``, which numpy 2.5 deprecates; the key of the
plot's items is a label under it instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from superqt import QLabeledDoubleSlider, QLabeledSlider

from latentlab.core.analysis.planes import display_images, labelled_points
from latentlab.core.analysis.posterior import decode_samples, ellipse_xy
from latentlab.core.latent import LatentRect
from latentlab.core.session import K_MAX, SCALE_MAX, describe, side_scope
from latentlab.qt.analysis.base import AnalysisView
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.latent_plane import (
    LatentPlaneWidget,
    LegendBar,
    PassiveScatterItem,
    fit_rect,
    nearest_point,
)
from latentlab.qt.widgets.styles import (
    HINT_STYLE,
    MONO_STYLE,
    NOTE_STYLE,
    TITLE_STYLE,
    dim_name,
    shown_dims,
)
from latentlab.qt.widgets.tiles import GalleryWidget, ImageTilesWidget

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.analysis.posterior import SampleImages
    from latentlab.core.latent import Codes, LatentSlice, PosteriorSamples
    from latentlab.core.session import Posterior, Session, Side
    from latentlab.qt.jobs import JobRunner

HOVER_RADIUS_PX = 10.0
MU_COLOUR = (200, 20, 20)
SAMPLE_COLOUR = (255, 140, 0)
HOVER_COLOUR = (30, 100, 255)
PRIOR_COLOUR = (90, 90, 90)
MU0_COLOUR = (60, 60, 60)
# The equation's colours: μ, σ, ε, z.
MU_HTML, SIGMA_HTML, EPS_HTML, Z_HTML = "#c81414", "#a05a00", "#1e64ff", "#000"


# --- texts (pure functions of numbers) ------------------------------------------------


def signed(v: float) -> str:
    """``+0.123`` / ``−0.123`` (a true minus sign)."""
    return f"{v:+.3f}".replace("-", "−")


def pair(values: npt.ArrayLike) -> str:
    """``(0.1, −2.3)``: a short vector, 3 significant digits."""
    return "(" + ", ".join(f"{v:.3g}" for v in np.asarray(values).ravel()) + ")"


def caption_text(count: int, fixed: bool) -> str:
    """The sample grid's caption for ``count`` samples and the "Fixed ε" state."""
    state = "  (fixed ε)" if fixed else "  (ε redrawn at every change)"
    return f"{count} decoded samples z = μ + σ ⊙ ε" + state


def equation_html(
    samples: PosteriorSamples,
    scale: npt.NDArray[np.float32],
    dims: list[int],
    latent_dim: int,
    i: int,
) -> str:
    """The reparameterization with the numbers of sample ``i``, for the shown
    ``dims``; ``scale`` is the per-dim σ multiplier (σ = σ(x) · scale)."""
    s = samples
    rows = [
        f"<b>z = <span style='color:{MU_HTML}'>μ</span> + "
        f"<span style='color:{SIGMA_HTML}'>σ</span> ⊙ "
        f"<span style='color:{EPS_HTML}'>ε</span></b>"
        f"&nbsp;&nbsp;sample {i + 1} of {len(s.z)}"
    ]
    for d in dims:
        rows.append(
            f"{dim_name(d)} = <span style='color:{MU_HTML}'>{signed(s.mu[d])}</span>"
            f" + <span style='color:{SIGMA_HTML}'>{s.sigma[d]:.3f}</span> × "
            f"<span style='color:{EPS_HTML}'>{signed(s.eps[i, d])}</span> = "
            f"<b style='color:{Z_HTML}'>{signed(s.z[i, d])}</b>"
        )
    factors = ", ".join(f"{scale[d]:.2f}×" for d in dims)
    rows.append(
        f"<span style='color:#666'>σ = σ(x) · ({factors}); "
        "μ and σ carry the gradient, ε is a constant draw</span>"
    )
    others = latent_dim - len(dims)
    if others > 0:
        rows.append(
            f"<span style='color:#666'>The other {others} dims are sampled the "
            "same way; the plane shows the two chosen ones.</span>"
        )
    return "<br>".join(rows)


def posterior_frame(
    centre: tuple[float, float], sigma: npt.ArrayLike, whole: LatentRect
) -> LatentRect:
    """A square around ``centre`` with room for the 2σ ellipse at a few times
    the scale, at least 4% and at most all of ``whole`` (the test set's view)."""
    half = max(7.0 * float(np.max(sigma)), 0.04 * whole.width)
    half = float(min(half, whole.width / 2))
    cx, cy = centre
    return LatentRect(cx - half, cy - half, cx + half, cy + half)


KEY_HTML = (
    f"<span style='color:rgb{MU_COLOUR}'>━</span>&nbsp;1σ &nbsp; "
    f"<span style='color:rgb{MU_COLOUR}'>┅</span>&nbsp;2σ &nbsp; "
    f"<span style='color:rgb{MU_COLOUR}'>◯</span>&nbsp;μ (drag it) &nbsp; "
    f"<span style='color:rgb{MU0_COLOUR}'>✕</span>&nbsp;μ(x), the encoder's &nbsp; "
    f"<span style='color:rgb{SAMPLE_COLOUR}'>●</span>&nbsp;samples z &nbsp; "
    f"<span style='color:rgb{HOVER_COLOUR}'>◯</span>&nbsp;hovered &nbsp; "
    f"<span style='color:rgb{PRIOR_COLOUR}'>┅</span>&nbsp;prior N(0, I): 1σ, 2σ"
)


def sigma_note(codes: Codes, beta: float) -> str:
    """Why σ(x) is as small as it is, with this model's numbers."""
    sigma = codes.sigma[np.isfinite(codes.sigma).all(1)]
    mu = codes.mu[np.isfinite(codes.mu).all(1)]
    if len(sigma) == 0 or len(mu) < 2:
        return ""
    return (
        f"Mean σ(x) over the test set: {float(sigma.mean()):.3g}, against a spread "
        f"of the codes (s.d. of μ(x)) of {float(mu.std(0).mean()):.3g}. The decoder "
        "needs precise codes to reconstruct, so training shrinks σ; the KL term "
        f"(weight β = {beta:g}) pulls it towards the prior's 1. A larger β keeps σ "
        "larger (models/mnist-vae-2d-beta4.pt)."
    )


# --- which side a view's drawing came from --------------------------------------------


# --- the view -------------------------------------------------------------------------


class EpsView(AnalysisView):
    """ε-resampling: ``μ``, the σ ellipses and ``z = μ + σ ⊙ ε`` samples.

    Signals
    -------
    samplesDecoded()
        The decoded sample grid caught up with the session's samples.
    sampleHovered(int)
        The sample whose numbers are shown changed.
    """

    key: ClassVar[str] = "eps"
    title: ClassVar[str] = "ε-resampling"
    tooltip: ClassVar[str] = "q(z|x), its σ ellipses and samples z = μ + σ ⊙ ε"
    needs: ClassVar[tuple[str, ...]] = ("vae",)
    figures: ClassVar[tuple[tuple[str, str], ...]] = (
        ("plane", "&ε-resampling Plane…"),
    )

    samplesDecoded = Signal()
    sampleHovered = Signal(int)

    def __init__(
        self, session: Session, jobs: JobRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, jobs, parent)
        self._hovered = 0
        self._placing_handle = False
        self.decoded: SampleImages | None = None
        """The decodes shown (of the session's samples once ``decode`` is idle)."""
        self._build()
        self._connect()
        self._set_enabled(False)

    # --- construction -------------------------------------------------------------

    def _build(self) -> None:
        body = self.body
        self.heading = QLabel("", body)
        self.heading.setStyleSheet(TITLE_STYLE)
        self.heading.setWordWrap(True)
        self.input_label = QLabel("", body)
        self.input_label.setStyleSheet(HINT_STYLE)
        self.input_label.setWordWrap(True)
        self.input_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.sigma_label = QLabel("", body)
        self.sigma_label.setStyleSheet(HINT_STYLE)
        self.sigma_label.setWordWrap(True)
        self.gallery = GalleryWidget(body)

        self.k_slider = QLabeledSlider(Qt.Orientation.Horizontal, body)
        self.k_slider.setRange(1, K_MAX)
        self.k_slider.setMinimumWidth(160)
        self.k_slider.setToolTip("K: how many samples z = μ + σ ⊙ ε to draw")
        self.resample_button = QPushButton("Resample ε (also on drag)", body)
        self.resample_button.setToolTip("Draw fresh noise ε ~ N(0, I); μ and σ stay")
        # Wide enough for both texts, so toggling "Fixed ε" never re-lays the row.
        self.resample_button.setMinimumWidth(self.resample_button.sizeHint().width())
        self.resample_button.setText("Resample ε")
        self.fixed_box = QCheckBox("Fixed ε", body)
        self.fixed_box.setToolTip(
            "Keep the same ε while μ moves and σ scales: the samples then move "
            "deterministically. Off: every change draws new ε."
        )
        self.scale_sliders: list[QLabeledDoubleSlider] = []
        self.scale_labels: list[QLabel] = []
        for _ in range(2):
            slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal, body)
            slider.setRange(0.0, SCALE_MAX)
            slider.setSingleStep(0.05)
            slider.setDecimals(2)
            slider.setValue(1.0)
            slider.setMinimumWidth(160)
            self.scale_sliders.append(slider)
            self.scale_labels.append(QLabel("σ ×", body))
        self.reset_button = QPushButton("Reset μ, σ", body)
        self.reset_button.setToolTip("Put μ back at the encoder's μ(x) and σ at 1×")
        self.zoom_button = QPushButton("Zoom to q(z|x)", body)
        self.zoom_button.setToolTip("Frame μ and the σ ellipses")
        self.whole_button = QPushButton("Whole plane", body)
        self.whole_button.setToolTip("Fit the view to the encoded test set")

        controls = QGridLayout()
        controls.setHorizontalSpacing(8)
        controls.addWidget(QLabel("Samples K", body), 0, 0)
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

        self.plane = LatentPlaneWidget(body)
        self.plane.setMinimumSize(360, 300)
        self._build_plane_items()
        self.legend = LegendBar(body)
        self.plane.legendChanged.connect(self.legend.set_entries)
        self.key_label = rich_label(KEY_HTML, body)
        self.key_label.setStyleSheet("color: #333;")
        plane_box = QWidget(body)
        pcol = QVBoxLayout(plane_box)
        pcol.setContentsMargins(0, 0, 4, 0)
        pcol.addWidget(self.plane, 1)
        pcol.addWidget(self.legend)
        pcol.addWidget(self.key_label)

        self.input_tile = ImageTilesWidget(body, columns=1, placeholder="input")
        self.mu_tile = ImageTilesWidget(body, columns=1, placeholder="decoded μ")
        self.spread_tile = ImageTilesWidget(body, columns=1, placeholder="spread")
        self.spread_tile.setToolTip(
            "Per-pixel standard deviation of the decoded samples: black 0, white 0.5"
        )
        for tile in (self.input_tile, self.mu_tile, self.spread_tile):
            tile.setFixedSize(96, 96)
        self.grid = ImageTilesWidget(body, placeholder="decoded samples")
        self.grid.setMinimumSize(240, 240)
        self.grid.setToolTip("The decoded samples; hover one to see its numbers")
        self.grid_caption = QLabel("", body)
        self.grid_caption.setWordWrap(True)
        self.equation = rich_label("", body)
        self.equation.setMinimumHeight(96)
        self.equation.setStyleSheet(
            "background: #f6f6f2; border: 1px solid #ccc; padding: 6px;"
            f"{MONO_STYLE} font-size: 12px;"
        )
        self.equation.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )

        refs = QGridLayout()
        for col, (text, tile) in enumerate(
            (
                ("input x", self.input_tile),
                ("decoded μ", self.mu_tile),
                ("pixel σ of samples", self.spread_tile),
            )
        ):
            refs.addWidget(QLabel(text, body), 0, col, Qt.AlignmentFlag.AlignHCenter)
            refs.addWidget(tile, 1, col)
        refs.setColumnStretch(3, 1)
        right = QWidget(body)
        col = QVBoxLayout(right)
        col.setContentsMargins(4, 0, 0, 0)
        col.addLayout(refs)
        col.addWidget(self.grid_caption)
        col.addWidget(self.grid, 1)
        col.addWidget(self.equation)
        right.setMinimumWidth(320)
        self.split = QSplitter(Qt.Orientation.Horizontal, body)
        self.split.addWidget(plane_box)
        self.split.addWidget(right)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([600, 400])
        self.split.setChildrenCollapsible(False)

        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.input_label)
        layout.addWidget(self.sigma_label)
        layout.addWidget(self.gallery)
        layout.addLayout(controls)
        layout.addWidget(self.split, 1)
        # The layout's minimum is the body's: below it the tab scrolls instead of
        # squeezing the plane or the grid (an explicit minimum on the body would
        # override the layout's, and a larger layout would then overlap).
        self.split.setMinimumSize(880, 460)

    def _build_plane_items(self) -> None:
        plane = self.plane
        for axis in ("left", "bottom"):
            # Zoomed in on one posterior the ticks are small; keep plain units.
            plane.getAxis(axis).enableAutoSIPrefix(False)
        self.ellipse1 = pg.PlotCurveItem(pen=pg.mkPen(MU_COLOUR, width=2))
        self.ellipse2 = pg.PlotCurveItem(
            pen=pg.mkPen(MU_COLOUR, width=1.5, style=Qt.PenStyle.DashLine)
        )
        # The prior's 1σ and 2σ circles: q(z|x) against the scale of N(0, I).
        self.prior_rings = []
        for r in (1.0, 2.0):
            ring = pg.PlotCurveItem(
                *ellipse_xy((0.0, 0.0), (r, r)),
                pen=pg.mkPen(PRIOR_COLOUR, width=1.2, style=Qt.PenStyle.DotLine),
            )
            self.prior_rings.append(ring)
        self.mu0_marker = PassiveScatterItem(
            size=10, symbol="x", pen=pg.mkPen(MU0_COLOUR), brush=pg.mkBrush(MU0_COLOUR)
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
        # No label on the handle: a TargetItem's label is a TextItem (see the
        # module docstring); the key under the plane names it.
        self.mu_handle = pg.TargetItem(
            pos=(0.0, 0.0),
            size=16,
            symbol="o",
            pen=pg.mkPen(MU_COLOUR, width=2.5),
            hoverPen=pg.mkPen(HOVER_COLOUR, width=3),
            brush=pg.mkBrush(255, 255, 255, 140),
            hoverBrush=pg.mkBrush(255, 255, 255, 200),
            movable=True,
        )
        self.mu_handle.setToolTip("μ: drag it")
        for z, item in enumerate(
            (
                *self.prior_rings,
                self.ellipse2,
                self.ellipse1,
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
        self.mu_handle.hide()

    def _connect(self) -> None:
        s = self.session
        self.gallery.picked.connect(s.pick)
        self.gallery.randomRequested.connect(lambda: s.pick_random())
        self.k_slider.valueChanged.connect(lambda k: s.set_count(int(k)))
        self.resample_button.clicked.connect(lambda: s.resample_eps())
        self.fixed_box.toggled.connect(s.set_eps_fixed)
        for i, slider in enumerate(self.scale_sliders):
            slider.valueChanged.connect(
                lambda v, i=i: self._on_scale_slider(i, float(v))
            )
        self.reset_button.clicked.connect(lambda: s.reset_eps())
        self.zoom_button.clicked.connect(self.zoom_to_posterior)
        self.whole_button.clicked.connect(self.fit_whole)
        self.mu_handle.sigPositionChanged.connect(self._on_handle_moved)
        self.plane.latentClicked.connect(self._pick_near)
        self.plane.pickRequested.connect(self._pick_near)
        self.plane.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.grid.tileHovered.connect(lambda i: self.set_hovered(i) if i >= 0 else None)

    def _set_enabled(self, on: bool) -> None:
        for w in (
            self.k_slider,
            self.resample_button,
            self.fixed_box,
            self.reset_button,
            self.zoom_button,
            *self.scale_sliders,
        ):
            w.setEnabled(on)

    # --- reading the session ------------------------------------------------------

    def _vae(self) -> Side | None:
        return self.side_for("vae")

    @property
    def hovered(self) -> int:
        """Index of the sample whose numbers are shown."""
        return self._hovered

    # --- refresh ------------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        side = self._vae()
        vae_changed = "vae" in changed
        if vae_changed:
            self._show_model(side)
        post = self.session.posterior()
        if vae_changed or "selection" in changed:
            self._show_input(side, post)
        self._show_controls(side, post)
        if post is None:
            self._clear_posterior()
            return
        self._draw_posterior(side, post)
        if "selection" in changed or (vae_changed and not side.training):
            # A new input (or model) starts at the encoder's μ(x).
            self._frame(side, post, centre=post.mu0)
        self.submit(
            "decode",
            decode_samples,
            side.model,
            post.samples.z,
            post.samples.mu,
            scopes=(side_scope(post.side), "selection", "eps"),
            on_result=self._on_decoded,
            on_error=self._on_decode_error,
        )

    def _show_model(self, side: Side) -> None:
        self.heading.setText(f"ε-resampling · {side.title}")
        self.sigma_label.setText(sigma_note(side.codes, side.checkpoint.config.beta))
        self.gallery.set_dataset(side.dataset)
        sl = side.latent_slice.dims_only()
        dims = shown_dims(sl.latent_dim, sl.dims)
        for i, (label, slider) in enumerate(
            zip(self.scale_labels, self.scale_sliders, strict=True)
        ):
            visible = i < len(dims)
            label.setVisible(visible)
            slider.setVisible(visible)
            if visible:
                label.setText(f"σ of {dim_name(dims[i])} ×")
                slider.setToolTip(
                    f"Scale σ along {dim_name(dims[i])} (0–{SCALE_MAX:g}×); "
                    "the samples follow"
                )
        self.plane.set_axis_labels(
            dim_name(sl.dims[0]), dim_name(sl.dims[1]) if sl.latent_dim > 1 else ""
        )
        xy, groups = labelled_points(side.codes, sl, side.dataset)
        self.plane.set_points(xy, groups, size=3.5)
        self.plane.set_manifold_visible(False)

    def _show_input(self, side: Side, post: Posterior | None) -> None:
        sel = self.session.selection
        index = sel.current
        dataset = side.dataset
        if index is None or dataset is None or not 0 <= index < len(side.codes.mu):
            self.input_tile.set_images(None)
            self.gallery.mark([])
            self.input_label.setText("Pick an input: a thumbnail or a point")
            return
        self.input_tile.set_images(display_images(dataset, [index]))
        self.gallery.mark([index])
        if post is None:
            self.input_label.setStyleSheet(NOTE_STYLE)
            self.input_label.setText(
                f"input {describe(dataset, index)} encodes to NaN or infinity: "
                "pick another one"
            )
            return
        self.input_label.setStyleSheet(HINT_STYLE)
        self.input_label.setText(
            f"input {describe(dataset, index)} · μ(x) = {pair(post.mu0)} · "
            f"σ(x) = {pair(post.sigma0)} · click a point or a thumbnail for "
            "another input"
        )

    def _show_controls(self, side: Side, post: Posterior | None) -> None:
        e = self.session.eps
        self._set_enabled(post is not None)
        with QSignalBlocker(self.k_slider):
            self.k_slider.setValue(e.count)
        with QSignalBlocker(self.fixed_box):
            self.fixed_box.setChecked(e.fixed)
        self.resample_button.setText(
            "Resample ε" if e.fixed else "Resample ε (also on drag)"
        )
        sl = side.latent_slice.dims_only()
        for slider, d in zip(
            self.scale_sliders, shown_dims(sl.latent_dim, sl.dims), strict=False
        ):
            if d < len(e.scale):
                with QSignalBlocker(slider):
                    slider.setValue(float(e.scale[d]))
        self.grid_caption.setText(caption_text(e.count, e.fixed))

    def _draw_posterior(self, side: Side, post: Posterior) -> None:
        s = post.samples
        sl = side.latent_slice.dims_only()
        xy = sl.project(s.z)
        mx, my = (float(v) for v in sl.project(s.mu[None])[0])
        sig = s.sigma[list(sl.dims)] if sl.latent_dim > 1 else np.r_[s.sigma[0], 0.0]
        self._placing_handle = True
        try:
            self.mu_handle.setPos(mx, my)
        finally:
            self._placing_handle = False
        self.mu_handle.show()
        mu0 = sl.project(post.mu0[None])[0]
        if np.allclose(mu0, (mx, my)):
            self.mu0_marker.setData([], [])
        else:
            self.mu0_marker.setData([mu0[0]], [mu0[1]])
        for item, r in ((self.ellipse1, 1.0), (self.ellipse2, 2.0)):
            item.setData(*ellipse_xy((mx, my), (r * sig[0], r * sig[1])))
        self.samples_item.setData(x=xy[:, 0], y=xy[:, 1])
        self._hovered = min(self._hovered, len(xy) - 1)
        self._show_hovered(side, post)

    def _show_hovered(self, side: Side, post: Posterior) -> None:
        s = post.samples
        i = self._hovered
        sl = side.latent_slice.dims_only()
        zx, zy = sl.project(s.z[i : i + 1])[0]
        mx, my = sl.project(s.mu[None])[0]
        self.hover_ring.setData([zx], [zy])
        self.hover_line.setData([mx, zx], [my, zy])
        self.grid.set_highlight(i)
        self.equation.setText(
            equation_html(
                s,
                self.session.eps.scale,
                shown_dims(sl.latent_dim, sl.dims),
                sl.latent_dim,
                i,
            )
        )

    def _clear_posterior(self) -> None:
        self.mu_handle.hide()
        for item in (self.ellipse1, self.ellipse2, self.hover_line):
            item.setData([], [])
        for item in (self.samples_item, self.hover_ring, self.mu0_marker):
            item.setData([], [])
        self.equation.setText("")
        self._show_decoded(None)

    def clear(self) -> None:
        self.heading.setText("")
        self.input_label.setText("")
        self.sigma_label.setText("")
        self.gallery.set_dataset(None)
        self.plane.set_points(None)
        self.input_tile.set_images(None)
        self._clear_posterior()
        self._set_enabled(False)

    # --- decoded samples ----------------------------------------------------------

    def _on_decoded(self, images: SampleImages) -> None:
        self._show_decoded(images)
        self.samplesDecoded.emit()

    def _show_decoded(self, images: SampleImages | None) -> None:
        self.decoded = images
        if images is None:
            self.grid.set_images(None)
            self.mu_tile.set_images(None)
            self.spread_tile.set_images(None)
            return
        self.grid.set_placeholder("decoded samples")
        self.grid.set_images(images.samples)
        self.grid.set_highlight(self._hovered)
        self.mu_tile.set_images(images.mu[None])
        self.spread_tile.set_images(np.clip(images.pixel_std * 2.0, 0.0, 1.0)[None])

    def _on_decode_error(self, exc: Exception) -> None:
        self._show_decoded(None)
        self.grid.set_placeholder(f"Could not decode: {exc}")

    # --- intents ------------------------------------------------------------------

    def set_mu_xy(self, x: float, y: float) -> None:
        """Move μ to plane point (x, y); the dims not shown keep their value."""
        side, post = self._vae(), self.session.posterior()
        if side is None or post is None:
            return
        sl = side.latent_slice.dims_only()
        mu = post.samples.mu.copy()
        mu[sl.dims[0]] = x
        if sl.latent_dim > 1:
            mu[sl.dims[1]] = y
        self.session.move_mu(mu)

    def _on_scale_slider(self, which: int, k: float) -> None:
        side = self._vae()
        if side is None:
            return
        sl = side.latent_slice.dims_only()
        dims = shown_dims(sl.latent_dim, sl.dims)
        if which < len(dims):
            self.session.set_sigma_scale(dims[which], k)

    def _on_handle_moved(self, item) -> None:
        if self._placing_handle:
            return
        p = item.pos()
        self.set_mu_xy(float(p.x()), float(p.y()))

    def _pick_near(self, x: float, y: float) -> None:
        side = self._vae()
        if side is None or self.showing_message:
            return
        xy = side.latent_slice.dims_only().project(side.codes.mu)
        i = nearest_point(xy, (x, y), self.plane.view_box.viewPixelSize())
        if i is not None:
            self.session.pick(i)

    def set_hovered(self, i: int) -> None:
        """Show the numbers of sample ``i``."""
        side, post = self._vae(), self.session.posterior()
        if side is None or post is None or not 0 <= i < len(post.samples.z):
            return
        self._hovered = int(i)
        self._show_hovered(side, post)
        self.sampleHovered.emit(self._hovered)

    def _on_mouse_moved(self, pos) -> None:
        vb = self.plane.view_box
        if self.showing_message or not vb.sceneBoundingRect().contains(pos):
            return
        side, post = self._vae(), self.session.posterior()
        if side is None or post is None:
            return
        p = vb.mapSceneToView(pos)
        xy = side.latent_slice.dims_only().project(post.samples.z)
        i = nearest_point(
            xy, (p.x(), p.y()), vb.viewPixelSize(), max_px=HOVER_RADIUS_PX
        )
        if i is not None and i != self._hovered:
            self.set_hovered(i)

    def shutdown(self) -> None:
        """The window closes: drop the decode job."""
        super().shutdown()
        self.jobs.cancel(f"{self.key}.decode")

    # --- camera -------------------------------------------------------------------

    def _frame(self, side: Side, post: Posterior, centre: npt.ArrayLike) -> None:
        sl: LatentSlice = side.latent_slice.dims_only()
        cx, cy = (float(v) for v in sl.project(np.asarray(centre)[None])[0])
        sig0 = post.sigma0[list(shown_dims(sl.latent_dim, sl.dims))]
        whole = fit_rect(sl.project(side.codes.mu), prior=True)
        self.plane.fit(posterior_frame((cx, cy), sig0, whole))

    def zoom_to_posterior(self) -> None:
        """Frame μ with room for the 2σ ellipse at a few times the scale."""
        side, post = self._vae(), self.session.posterior()
        if side is not None and post is not None:
            self._frame(side, post, centre=post.samples.mu)

    def fit_whole(self) -> None:
        """Frame the encoded test set and the prior's bulk."""
        side = self._vae()
        if side is not None:
            xy = side.latent_slice.dims_only().project(side.codes.mu)
            self.plane.fit(fit_rect(xy, prior=True))
