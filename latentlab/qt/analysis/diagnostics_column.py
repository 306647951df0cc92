"""One model's column of the Diagnostics tab, and the images it shows.

:class:`_Column` holds the units bar plot, the q(z) plane with its heat map,
holes and prior circles, the decode beside it, the figures and the traversal
strips; :class:`~latentlab.qt.analysis.diagnostics.DiagnosticsView` fills it.
:func:`density_image` and :func:`holes_image` turn an aggregated posterior
into the plane's two images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from latentlab.qt.export import KeyEntry
from latentlab.qt.widgets.decode_panel import DecodePanel
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget
from latentlab.qt.widgets.styles import HINT_STYLE, TITLE_STYLE
from latentlab.qt.widgets.tiles import ImageTilesWidget

if TYPE_CHECKING:
    from latentlab.core.analysis.diagnostics import AggregatePosterior

HOLE_RGBA = (220, 30, 30, 150)
DENSITY_DECADES = 4.0  # the heat map spans 4 decades of q(z) below its peak


def density_image(agg: AggregatePosterior) -> np.ndarray:
    """log10 q(z) clipped to the top decades, float32 C-contiguous ``(n, n)``."""
    with np.errstate(divide="ignore"):
        log_q = np.log10(agg.density)
    top = float(np.nanmax(log_q))
    return np.ascontiguousarray(np.clip(log_q, top - DENSITY_DECADES, top), np.float32)


def holes_image(agg: AggregatePosterior) -> np.ndarray:
    """RGBA ``(n, n, 4)`` uint8: red where ``agg.holes``, transparent elsewhere."""
    img = np.zeros((*agg.holes.shape, 4), np.uint8)
    img[agg.holes] = HOLE_RGBA
    return img


class _Column(QWidget):
    """One model's diagnostics: units, the q(z) plane, the decode, figures."""

    def __init__(self, kind: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.kind = kind
        self.framed = False
        self.header = QLabel(kind, self)
        self.header.setStyleSheet(TITLE_STYLE)
        self.header.setWordWrap(True)
        self.units_plot = pg.PlotWidget(self, background="w")
        self.units_plot.setMinimumSize(200, 130)
        self.units_plot.setMouseEnabled(False, False)
        self.units_plot.hideButtons()
        self.units_plot.setLabel("left", "KL (nats)" if kind == "VAE" else "Var(z_d)")
        self.units_plot.setLabel("bottom", "latent dim")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.units_plot.addItem(self.bars)
        self.units_label = QLabel("", self)
        self.units_label.setWordWrap(True)
        self.units_label.setTextFormat(Qt.TextFormat.RichText)
        self.units_label.setMinimumWidth(200)
        self.detail_label = QLabel("", self)
        self.detail_label.setWordWrap(True)
        self.detail_label.setStyleSheet(HINT_STYLE)

        self.plane = LatentPlaneWidget(self)
        self.plane.setMinimumSize(260, 240)
        self.density = pg.ImageItem(axisOrder="row-major")
        self.density.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.density.setZValue(-8)
        self.holes = pg.ImageItem(axisOrder="row-major")
        self.holes.setZValue(-7)
        for item in (self.density, self.holes):
            self.plane.addItem(item)
        # The key an exported figure carries (the key label is outside the plot).
        self.plane.figure_key = [
            KeyEntry(
                f"log₁₀ q(z), top {DENSITY_DECADES:g} decades (yellow high)",
                (253, 231, 37),
                "patch",
            ),
            KeyEntry("holes", HOLE_RGBA[:3], "patch"),
        ]
        self.circles = []
        for r, style in (
            (1, Qt.PenStyle.SolidLine),
            (2, Qt.PenStyle.DashLine),
            (3, Qt.PenStyle.DotLine),
        ):
            t = np.linspace(0, 2 * np.pi, 181)
            curve = pg.PlotCurveItem(
                r * np.cos(t),
                r * np.sin(t),
                pen=pg.mkPen("w", width=1.5, style=style),
                name=f"prior {r}σ",
            )
            curve.setZValue(5)
            self.plane.addItem(curve, ignoreBounds=True)
            self.circles.append(curve)
        self.plane.set_manifold_visible(False)
        self.key_label = QLabel(
            "heat: log₁₀ q(z), 4 decades (yellow high) · "
            "<span style='color:rgb(220,30,30)'>■</span> holes · white circles: "
            "prior 1σ ━, 2σ ╍, 3σ ┈ · click to decode",
            self,
        )
        self.key_label.setTextFormat(Qt.TextFormat.RichText)
        self.key_label.setWordWrap(True)
        self.key_label.setStyleSheet("color: #333;")
        self.decode = DecodePanel(self, size=112)
        self.decode_label = QLabel("", self)
        self.decode_label.setWordWrap(True)
        self.decode_label.setStyleSheet(HINT_STYLE)
        self.decode_label.setMinimumSize(140, 64)
        self.figures = QLabel("", self)
        self.figures.setWordWrap(True)
        self.figures.setTextFormat(Qt.TextFormat.RichText)
        self.figures.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.trav_label = QLabel("", self)
        self.trav_label.setWordWrap(True)
        self.trav_label.setStyleSheet(HINT_STYLE)
        self.trav = ImageTilesWidget(self, columns=9, placeholder="")
        self.trav.setMinimumSize(260, 200)

        units = QHBoxLayout()
        units.addWidget(self.units_plot, 1)
        units.addWidget(self.units_label, 1)
        plane_row = QHBoxLayout()
        plane_row.addWidget(self.plane, 1)
        decoded = QWidget(self)
        decoded.setFixedWidth(150)
        side = QVBoxLayout(decoded)
        side.setContentsMargins(0, 0, 0, 0)
        side.addWidget(self.decode)
        side.addWidget(self.decode_label)
        side.addStretch(1)
        plane_row.addWidget(decoded)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(self.header)
        col.addLayout(units)
        col.addWidget(self.detail_label)
        col.addLayout(plane_row, 1)
        col.addWidget(self.key_label)
        col.addWidget(self.figures)
        col.addWidget(self.trav_label)
        col.addWidget(self.trav)
        self.setMinimumWidth(440)
        self.clear()

    def clear(self, text: str = "") -> None:
        self.header.setText(text or f"{self.kind}: none shown")
        self.bars.setOpts(x=[], height=[])
        self.units_label.setText("")
        self.detail_label.setText("")
        self.density.clear()
        self.holes.clear()
        self.figures.setText("")
        self.decode.clear()
        self.decode_label.setText("")
        self.trav.set_images(None)
        self.trav.hide()
        self.trav_label.setText("")
        for w in (self.plane, self.key_label, self.units_plot, self.decode):
            w.setVisible(not text)
        self.plane.hide_crosshair()
