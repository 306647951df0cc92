"""The Interpolation tab's two widgets: the measured strip and the path plane.

:class:`StripWidget` paints a decoded strip between its inputs with its
measurements drawn on it; :class:`_PathPlane` is a latent plane with the
interpolation path and its A/B ends. :func:`show_codes` and :func:`plain_axes`
set up the views' small planes (the Prior samples tab's too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from latentlab.core.analysis.planes import labelled_points
from latentlab.qt.widgets.decode_panel import to_qimage
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget, fit_rect
from latentlab.qt.widgets.plane_items import PassiveScatterItem
from latentlab.qt.widgets.styles import PICK_COLOURS

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.session import Side
    from latentlab.core.smoothness import StripSmoothness

PATH_COLOUR = (20, 20, 20)
A_COLOUR, B_COLOUR = PICK_COLOURS  # the picks' colours on every tab
JUMP_COLOUR = QColor(214, 39, 40)
BAR_COLOUR = QColor(110, 140, 180)


def show_codes(plane: LatentPlaneWidget, side: Side) -> None:
    """Scatter a side's test codes (no key: the views' planes are small) and
    show their bulk, the view the plane's "Fit" button returns to."""
    xy, groups = labelled_points(side.codes, side.latent_slice, side.dataset)
    plane.set_points(xy, groups, size=3.5)
    plane.set_home(fit_rect(xy, prior=side.is_vae))


class StripWidget(QWidget):
    """A decoded strip between its two inputs, with its measurements drawn on it.

    Layout: input A | decodes | input B. Under each gap between consecutive
    decodes a bar shows their L2 distance (the largest in red); under each
    decode, its distance to the nearest training image.
    """

    BAR_H = 30
    TEXT_H = 16
    END_GAP = 14
    GAP = 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: npt.NDArray[np.float32] | None = None
        self._ends: tuple[npt.NDArray[np.float32], ...] = ()
        self._smooth: StripSmoothness | None = None
        self._bar_max = 1.0
        self._placeholder = ""
        self.setMinimumHeight(60 + self.BAR_H + self.TEXT_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        return QSize(900, 84 + self.BAR_H + self.TEXT_H)

    def set_strip(
        self,
        images: npt.NDArray[np.float32] | None,
        ends: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = None,
        smoothness: StripSmoothness | None = None,
        bar_max: float = 1.0,
    ) -> None:
        """Show a strip; ``bar_max`` is the L2 that fills a bar (shared scale)."""
        self._images = images
        self._ends = tuple(ends) if ends is not None else ()
        self._smooth = smoothness
        self._bar_max = max(float(bar_max), 1e-9)
        self.update()

    def set_placeholder(self, text: str) -> None:
        """Text shown without a strip."""
        self._placeholder = text
        self._images = None
        self.update()

    def tile_rects(self) -> list[QRectF]:
        """Rects of A, the decodes, and B, in widget coordinates."""
        n = 0 if self._images is None else len(self._images)
        n_tiles = n + len(self._ends)
        if n_tiles == 0:
            return []
        avail_w = self.width() - 2 * self.END_GAP - (n - 1) * self.GAP - 8
        avail_h = self.height() - self.BAR_H - self.TEXT_H - 4
        size = max(min(avail_w / n_tiles, avail_h), 4.0)
        total = n_tiles * size + 2 * self.END_GAP + (n - 1) * self.GAP
        x = (self.width() - total) / 2
        rects = []
        for i in range(n_tiles):
            rects.append(QRectF(x, 2, size, size))
            is_end_gap = self._ends and i in (0, n_tiles - 2)
            x += size + (self.END_GAP if is_end_gap else self.GAP)
        return rects

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if self._images is None:
            p.setPen(QColor("#888"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            p.end()
            return
        rects = self.tile_rects()
        images = list(self._images)
        if self._ends:
            images = [self._ends[0], *images, self._ends[1]]
            decode_rects = rects[1:-1]
        else:
            decode_rects = rects
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for r, img in zip(rects, images, strict=True):
            p.drawImage(r, to_qimage(img))
        if self._ends:
            for r, colour, name in (
                (rects[0], A_COLOUR, "A"),
                (rects[-1], B_COLOUR, "B"),
            ):
                p.setPen(QPen(QColor(*colour), 2))
                p.drawRect(r.adjusted(-1, -1, 1, 1))
                p.drawText(r.adjusted(3, 1, 0, 0), name)
        s = self._smooth
        if s is None:
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        base = decode_rects[0].bottom() + 2 + self.BAR_H
        worst = s.worst_step
        for i, d in enumerate(s.step_l2):
            left, right = decode_rects[i], decode_rects[i + 1]
            cx = (left.right() + right.left()) / 2
            w = max(left.width() * 0.45, 3)
            h = min(float(d) / self._bar_max, 1.0) * (self.BAR_H - 3)
            colour = JUMP_COLOUR if i == worst else BAR_COLOUR
            p.fillRect(QRectF(cx - w / 2, base - h, w, h), colour)
        p.setPen(QPen(QColor(170, 170, 170), 1))
        left, right = decode_rects[0].left(), decode_rects[-1].right()
        p.drawLine(QPointF(left, base), QPointF(right, base))
        if s.nearest is not None:
            font = QFont(self.font())
            font.setPointSizeF(max(font.pointSizeF() - 1.5, 7.0))
            p.setFont(font)
            p.setPen(QColor(60, 60, 60))
            for r, d in zip(decode_rects, s.nearest.distance, strict=True):
                box = QRectF(r.left() - 4, base + 1, r.width() + 8, self.TEXT_H)
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, f"{d:.2f}")
        p.end()


class _PathPlane(LatentPlaneWidget):
    """A latent plane with an interpolation path and its A/B end markers.

    Its plot area stays about square: a plane with a locked aspect ratio in a
    wide, short cell would spread the codes' square view over the width (a
    ±15 bulk shown over ±60). It asks for no more width than its height
    gives a square plot (:meth:`square_width`); the row gives the rest to
    its other items.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        self._square_width = 0
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.path = pg.PlotCurveItem(
            pen=pg.mkPen(PATH_COLOUR, width=2.5), name="path A → B"
        )
        self.steps = PassiveScatterItem(
            size=7, pen=pg.mkPen(PATH_COLOUR, width=1.2), brush=pg.mkBrush("w")
        )
        self.ends = PassiveScatterItem(size=13, pen=pg.mkPen("w", width=1.5))
        self.labels = [
            pg.TextItem("A", color=A_COLOUR, anchor=(1.2, 1.2)),
            pg.TextItem("B", color=B_COLOUR, anchor=(-0.2, 1.2)),
        ]
        for label in self.labels:
            font = QFont()
            font.setBold(True)
            font.setPointSize(11)
            label.setFont(font)
        for z, item in enumerate((self.path, self.steps, self.ends, *self.labels), 5):
            item.setZValue(z)
            self.addItem(item, ignoreBounds=True)
        plain_axes(self)
        # The plot item lays its axes out after the widget's resize event.
        self.view_box.sigResized.connect(lambda *_: self._keep_square())

    def square_width(self) -> int:
        """The widget width at which its plot area is square, at its height."""
        item, box = self.getPlotItem(), self.view_box
        if box.width() <= 0 or box.height() <= 0:
            return 0
        # The axes and margins around the plot, from one layout pass of the
        # plot item (the widget's size may be newer than that pass).
        frame_w = item.width() - box.width()
        frame_h = item.height() - box.height()
        return int(np.ceil(self.height() - frame_h + frame_w)) + 1

    def sizeHint(self) -> QSize:
        # pyqtgraph's hint is the widget's current size: a plane that was
        # given room once would keep it. Its minimum height, and the width
        # that keeps it square at the height it has.
        height = max(self.minimumHeight(), 180)
        return QSize(self._square_width or height, height)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._keep_square()

    def _keep_square(self) -> None:
        width = self.square_width()
        if width and width != self._square_width:
            self._square_width = width
            self.setMaximumWidth(width)
            self.updateGeometry()

    def show_path(self, xy: npt.NDArray[np.float32] | None) -> None:
        """Draw the projected path ``(steps, 2)`` (None hides it)."""
        if xy is None or not np.isfinite(xy).all():
            self.path.setData([], [])
            self.steps.setData([], [])
            self.ends.setData([], [])
            for label in self.labels:
                label.hide()
            return
        self.path.setData(xy[:, 0], xy[:, 1])
        self.steps.setData(x=xy[1:-1, 0], y=xy[1:-1, 1])
        self.ends.setData(
            x=xy[[0, -1], 0],
            y=xy[[0, -1], 1],
            brush=[pg.mkBrush(*A_COLOUR), pg.mkBrush(*B_COLOUR)],
        )
        for label, p in zip(self.labels, (xy[0], xy[-1]), strict=True):
            label.setPos(float(p[0]), float(p[1]))
            label.show()


def plain_axes(plane: LatentPlaneWidget) -> None:
    """Tick labels in latent units, never rescaled with an SI prefix."""
    for side in ("left", "bottom"):
        plane.getAxis(side).enableAutoSIPrefix(False)
