"""The small items a latent plane is drawn with, and its colour key.

:class:`LegendBar` is a plane's colour key, a line of swatches beside the plot
so it never covers data; :class:`PassiveScatterItem` is a scatter that lets
clicks through to the plane; :class:`Crosshair` marks the decoded point with
plain Qt items (:class:`CrosshairDot` and two lines). Used by
:class:`~latentlab.qt.widgets.latent_plane.LatentPlaneWidget` and the views'
planes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsLineItem,
    QLabel,
    QSizePolicy,
    QWidget,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


def swatch_html(entries: Sequence[tuple[str, tuple[int, int, int]]]) -> str:
    """A colour key as rich text: a coloured square before each name."""
    return " &nbsp; ".join(
        f"<span style='color:rgb{tuple(rgb)}'>■</span>&nbsp;{_escape(name)}"
        for name, rgb in entries
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class LegendBar(QLabel):
    """The colour key of a plane, as a wrapped line of swatches under it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setStyleSheet("color: #333;")
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)

    def set_entries(self, entries: Sequence[tuple[str, tuple[int, int, int]]]) -> None:
        """Show ``(name, rgb)`` entries (none hides the bar)."""
        self.setText(swatch_html(entries))
        self.setVisible(bool(entries))


class PassiveScatterItem(pg.ScatterPlotItem):
    """A scatter that lets clicks through to the plane.

    ScatterPlotItem accepts a click that lands on a point, which would swallow
    click-to-decode exactly where the data is densest.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._bounds_cache: QRectF | None = None
        super().__init__(*args, **kwargs)

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()

    def paint(self, p, *args) -> None:
        # Qt paints an empty item at each repaint too: pyqtgraph's paint of no
        # points cost ~0.35 ms per item per repaint.
        if len(self.data):
            super().paint(p, *args)

    # pyqtgraph recomputes the bounds from the data on every hit test and paint
    # (~0.1 ms per item per mouse event); they change only with the data or the
    # view. The cache is dropped after those calls, not before: Qt asks for the
    # old bounds while preparing a geometry change.
    def setData(self, *args, **kwargs) -> None:
        super().setData(*args, **kwargs)
        self._bounds_cache = None

    def clear(self) -> None:
        super().clear()
        self._bounds_cache = None

    def viewTransformChanged(self) -> None:
        super().viewTransformChanged()
        self._bounds_cache = None

    def boundingRect(self) -> QRectF:
        if self._bounds_cache is None:
            self._bounds_cache = super().boundingRect()
        return self._bounds_cache


class CrosshairDot(QGraphicsEllipseItem):
    """The crosshair's dot, drawn antialiased (the plots draw without)."""

    def paint(self, painter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        super().paint(painter, option, widget)


class Crosshair:
    """The decoded point: a dot with two lines through it across the plot.

    Plain Qt items that ignore the view's scale: laid out once in pixels and
    moved with one ``setPos`` (pyqtgraph's InfiniteLines and a one-point
    scatter cost ~0.3 ms of Python per plane at every click). The lines reach
    past any screen and the view box clips them; figure export writes them
    clipped itself (``qt.export``).
    """

    REACH_PX = 16384.0
    COLOUR = (220, 30, 30)
    DOT_PX = 11.0
    RING_PX = 2.0

    def __init__(self) -> None:
        colour = QColor(*self.COLOUR)
        inner = self.DOT_PX - self.RING_PX
        self.dot = CrosshairDot(-inner / 2, -inner / 2, inner, inner)
        self.dot.setPen(QPen(QColor("white"), self.RING_PX))
        self.dot.setBrush(colour)
        self.dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.dot.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.dot.setZValue(20)
        self.dot.setVisible(False)
        pen = QPen(colour, 1.5)
        pen.setCosmetic(True)
        reach = self.REACH_PX
        for line in (QLineF(0.0, -reach, 0.0, reach), QLineF(-reach, 0.0, reach, 0.0)):
            item = QGraphicsLineItem(line, self.dot)
            item.setPen(pen)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemStacksBehindParent)

    def move_to(self, x: float, y: float) -> None:
        """Show the crosshair at plane point ``(x, y)``."""
        self.dot.setPos(x, y)
        self.dot.setVisible(True)

    def position(self) -> tuple[float, float] | None:
        """The marked plane point (None while hidden)."""
        if not self.dot.isVisible():
            return None
        return (self.dot.pos().x(), self.dot.pos().y())
