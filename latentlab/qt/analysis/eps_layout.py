"""The ε-resampling tab's widgets and how they are laid out.

:class:`EpsLayout` builds the view's body once (the gallery, the K, ε and σ
controls, the plane with its posterior items and key, the reference tiles, the
sample grid and the equation); :class:`~latentlab.qt.analysis.eps.EpsView`
connects them to the session and fills them.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
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

from latentlab.core.analysis.posterior import ellipse_xy
from latentlab.core.session import K_MAX, SCALE_MAX
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget
from latentlab.qt.widgets.plane_items import LegendBar, PassiveScatterItem
from latentlab.qt.widgets.styles import HINT_STYLE, MONO_STYLE, TITLE_STYLE
from latentlab.qt.widgets.tiles import GalleryWidget, ImageTilesWidget

MU_COLOUR = (200, 20, 20)
SAMPLE_COLOUR = (255, 140, 0)
HOVER_COLOUR = (30, 100, 255)
PRIOR_COLOUR = (90, 90, 90)
MU0_COLOUR = (60, 60, 60)

KEY_HTML = (
    f"<span style='color:rgb{MU_COLOUR}'>━</span>&nbsp;1σ &nbsp; "
    f"<span style='color:rgb{MU_COLOUR}'>┅</span>&nbsp;2σ &nbsp; "
    f"<span style='color:rgb{MU_COLOUR}'>◯</span>&nbsp;μ (drag it) &nbsp; "
    f"<span style='color:rgb{MU0_COLOUR}'>✕</span>&nbsp;μ(x), the encoder's &nbsp; "
    f"<span style='color:rgb{SAMPLE_COLOUR}'>●</span>&nbsp;samples z &nbsp; "
    f"<span style='color:rgb{HOVER_COLOUR}'>◯</span>&nbsp;hovered &nbsp; "
    f"<span style='color:rgb{PRIOR_COLOUR}'>┅</span>&nbsp;prior N(0, I): 1σ, 2σ"
)


class EpsLayout:
    """The construction half of the ε-resampling view (a mixin of
    :class:`~latentlab.qt.analysis.eps.EpsView`).

    :meth:`_build` fills the view's ``body``; :meth:`_build_plane_items` adds the
    posterior's items to the plane (ellipses, prior rings, μ(x), the samples,
    the hover marks and the draggable μ handle).
    """

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
            "Per-pixel standard deviation of the decoded samples: black 0, white "
            "0.5 (colour: each channel's own, shown in that channel)"
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
        # docstring of latentlab.qt.analysis.eps); the key under the plane names it.
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
