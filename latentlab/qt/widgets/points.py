"""PointsItem: every colour group of a plane's scatter in one pyqtgraph item.

One ScatterPlotItem per class cost ~0.17 ms of Python per item at every repaint
(a moved crosshair repaints the whole plot): 10 classes were ~1.6 ms of a 2.5 ms
plane repaint. This item draws all groups with a single ``drawPixmapFragments``
call from a small atlas (one pre-rendered disc per colour, rendered by
pyqtgraph's own ``renderSymbol``, so the points look the same), and setting new
points is a few numpy operations: no per-point records, pens or brushes.

That drawing is the ``points_item`` device of :mod:`latentlab.core.perf`: with
the switch off each group is a pyqtgraph ``ScatterPlotItem`` (a child of this
item), pyqtgraph's own path; the data, bounds and exports are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems.ScatterPlotItem import renderSymbol
from pyqtgraph.Qt import internals
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap

from latentlab.core import perf

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

ALPHA = 200
PAD = 0.7072  # pyqtgraph's bound padding, in symbol widths
# More points than this on screen are drawn as a density image: cells of
# DENSITY_CELL device pixels, each the mean colour of its points' classes, its
# opacity rising with the log of their count. A person cannot see 200,000
# overlapping discs; drawing them took ~60 ms a frame.
DENSITY_POINTS = 40_000
DENSITY_CELL = 2
MAX_DENSITY_CELLS = 4_000_000


class _GroupScatter(pg.ScatterPlotItem):
    """One colour group drawn by pyqtgraph (the plain path); clicks pass through."""

    def __init__(self) -> None:
        super().__init__(pxMode=True, pen=None, symbol="o")
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def mouseClickEvent(self, ev) -> None:
        ev.ignore()


class PointsItem(pg.GraphicsObject):
    """Points ``(n, 2)`` in groups, each group one colour, drawn in group order
    (later groups on top), with a fixed on-screen size in pixels.

    Clicks pass through to the plane (the item accepts no mouse buttons).
    """

    def __init__(self, size: float = 4.0) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._size = float(size)
        self._colours: tuple[tuple[int, int, int], ...] = ()
        self.x = np.zeros(0, np.float64)  # points in drawing order
        self.y = np.zeros(0, np.float64)
        self.group = np.zeros(0, np.intp)  # colour index of each point
        self._bounds: QRectF | None = None
        self._data_bounds: tuple[float, float, float, float] | None = None
        self._atlas: tuple[float, QPixmap, int] | None = None  # (scale, pixmap, side)
        self._fragments = internals.PrimitiveArray(QPainter.PixmapFragment, 10)
        self._plain = not perf.enabled("points_item")
        self._groups: list[_GroupScatter] = []  # the plain path's items
        self._density: tuple[tuple, tuple[QRectF, QImage]] | None = None
        self._version = 0  # new points: a new density image

    # --- data ---------------------------------------------------------------------

    def set_groups(
        self,
        xy: npt.NDArray[np.floating],
        masks: Sequence[npt.NDArray[np.bool_]],
        colours: Sequence[tuple[int, int, int]],
        size: float | None = None,
    ) -> None:
        """Show the points of ``xy`` selected by each mask, group ``i`` in
        ``colours[i]``. Non-finite points are left out."""
        index = [np.flatnonzero(m) for m in masks]
        order = np.concatenate(index) if index else np.zeros(0, np.intp)
        xy = np.asarray(xy)
        x = xy[order, 0].astype(np.float64)
        y = xy[order, 1].astype(np.float64)
        group = np.repeat(np.arange(len(index), dtype=np.intp), [len(i) for i in index])
        finite = np.isfinite(x) & np.isfinite(y)
        if not finite.all():
            x, y, group = x[finite], y[finite], group[finite]
        colours = tuple(tuple(int(v) for v in c) for c in colours)
        size = self._size if size is None else float(size)
        if colours != self._colours or size != self._size:
            self._colours, self._size = colours, size
            self._atlas = None
        self._set(x, y, group)

    def clear(self) -> None:
        """No points."""
        self._set(np.zeros(0), np.zeros(0), np.zeros(0, np.intp))

    def _set(self, x, y, group) -> None:
        self.prepareGeometryChange()
        self._version += 1
        self.x, self.y, self.group = x, y, group
        self._data_bounds = (
            (float(x.min()), float(x.max()), float(y.min()), float(y.max()))
            if len(x)
            else None
        )
        self._bounds = None
        self.update()
        if self._plain:
            self._show_groups()

    def _show_groups(self) -> None:
        """The plain path: one pyqtgraph scatter per colour group."""
        while len(self._groups) < len(self._colours):
            item = _GroupScatter()
            item.setParentItem(self)
            self._groups.append(item)
        for i, item in enumerate(self._groups):
            shown = i < len(self._colours)
            mask = self.group == i
            item.setData(
                x=self.x[mask] if shown else [],
                y=self.y[mask] if shown else [],
                size=self._size,
                brush=pg.mkBrush(*self._colours[i], ALPHA) if shown else None,
            )
            item.setVisible(shown)

    def count(self) -> int:
        """Number of points shown."""
        return len(self.x)

    @property
    def size(self) -> float:
        """Symbol diameter in pixels."""
        return self._size

    @property
    def colours(self) -> tuple[tuple[int, int, int], ...]:
        """The colour of each group."""
        return self._colours

    # --- pyqtgraph / Qt item protocol ----------------------------------------------

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):
        """Data range along ``ax`` (for the view's auto-range)."""
        if self._data_bounds is None:
            return (None, None)
        d, other = (self.x, self.y) if ax == 0 else (self.y, self.x)
        if orthoRange is not None:
            d = d[(other >= orthoRange[0]) & (other <= orthoRange[1])]
            if d.size == 0:
                return (None, None)
        if frac >= 1.0:
            return (float(d.min()), float(d.max()))
        return tuple(np.percentile(d, [50 * (1 - frac), 50 * (1 + frac)]))

    def pixelPadding(self) -> float:
        """Pixels the symbols reach beyond the data bounds."""
        return self._size * PAD

    def boundingRect(self) -> QRectF:
        # Cached: Qt asks on every hit test and paint; it changes only with the
        # data or the view (viewTransformChanged).
        if self._bounds is None:
            if self._data_bounds is None:
                self._bounds = QRectF()
                return self._bounds
            x0, x1, y0, y1 = self._data_bounds
            px, py = self.pixelVectors()
            pad = self.pixelPadding()
            px = 0.0 if px is None else px.length() * pad
            py = 0.0 if py is None else py.length() * pad
            self._bounds = QRectF(x0 - px, y0 - py, x1 - x0 + 2 * px, y1 - y0 + 2 * py)
        return self._bounds

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()
        super().viewTransformChanged()
        self._bounds = None

    def _atlas_for(self, scale: float) -> tuple[QPixmap, int]:
        """One disc per colour side by side, rendered at ``scale`` pixels per
        logical pixel (the device's ratio, times the export's resolution)."""
        if self._atlas is None or self._atlas[0] != scale:
            discs = [
                renderSymbol(
                    "o", self._size, pg.mkPen(None), pg.mkBrush(*c, ALPHA), dpr=scale
                )
                for c in self._colours
            ]
            side = discs[0].width() if discs else 1
            atlas = QImage(
                max(1, side * len(discs)),
                side,
                QImage.Format.Format_ARGB32_Premultiplied,
            )
            atlas.fill(Qt.GlobalColor.transparent)
            painter = QPainter(atlas)
            for i, disc in enumerate(discs):
                disc.setDevicePixelRatio(1.0)
                painter.drawImage(i * side, 0, disc)
            painter.end()
            self._atlas = (scale, QPixmap.fromImage(atlas), side)
        return self._atlas[1], self._atlas[2]

    def paint(self, p: QPainter, *args) -> None:
        n = len(self.x)
        if n == 0 or not self._colours or self._plain:
            return
        device = p.device()
        dpr = device.devicePixelRatioF() if device is not None else 1.0
        export = self._exportOpts
        scale = dpr * (export.get("resolutionScale", 1.0) if export else 1.0)
        pixmap, side = self._atlas_for(scale)
        tr = p.transform()
        dx = tr.m11() * self.x + tr.m21() * self.y + tr.dx()
        dy = tr.m12() * self.x + tr.m22() * self.y + tr.dy()
        group = self.group
        if device is not None:
            # Only the points on the device (a zoomed-in view shows few).
            w, h = device.width() / dpr, device.height() / dpr
            r = side / scale
            keep = (dx > -r) & (dx < w + r) & (dy > -r) & (dy < h + r)
            if not keep.all():
                dx, dy, group = dx[keep], dy[keep], group[keep]
        n = len(dx)
        if n == 0:
            return
        if n > DENSITY_POINTS and device is not None and tr.m11() != 0:
            layer = self._density_layer(abs(1.0 / tr.m11()))
            if layer is not None:
                p.drawImage(*layer)  # in data coordinates: a pan only moves it
                return
        p.resetTransform()
        self._fragments.resize(n)
        frags = self._fragments.ndarray()
        frags[:, 0] = dx
        frags[:, 1] = dy
        frags[:, 2] = group * side  # source rect: this group's disc
        frags[:, 3] = 0.0
        frags[:, 4:6] = side
        frags[:, 6:8] = 1.0 / dpr
        frags[:, 8] = 0.0
        frags[:, 9] = 1.0
        p.drawPixmapFragments(*self._fragments.drawargs(), pixmap)

    def shows_density(self, on_screen: int) -> bool:
        """True when ``on_screen`` points are drawn as a density image."""
        return not self._plain and on_screen > DENSITY_POINTS

    def _density_layer(self, units_per_px: float) -> tuple[QRectF, QImage] | None:
        """The density image of every point over the data's bounds, in cells
        of about DENSITY_CELL pixels at this zoom (a power of two in data
        units, so pans and small zooms reuse it); None when the view is zoomed
        so far in that the image would be too large (then discs are drawn)."""
        x0, x1, y0, y1 = self._data_bounds
        cell = 2.0 ** np.ceil(np.log2(DENSITY_CELL * units_per_px))
        key = (cell, self._version, self._colours)
        if self._density is not None and self._density[0] == key:
            return self._density[1]
        cols = int(np.ceil((x1 - x0) / cell)) + 1
        rows = int(np.ceil((y1 - y0) / cell)) + 1
        if cols * rows > MAX_DENSITY_CELLS:
            return None
        pixels = density_image(
            self.x - x0, self.y - y0, self.group, self._colours,
            cols * cell, rows * cell, cell,
        )  # fmt: skip
        qimage = QImage(
            pixels.data, cols, rows, 4 * cols, QImage.Format.Format_ARGB32_Premultiplied
        ).copy()  # owns its pixels
        layer = (QRectF(x0, y0, cols * cell, rows * cell), qimage)
        self._density = (key, layer)
        return layer


def density_image(
    dx: npt.NDArray[np.float64],
    dy: npt.NDArray[np.float64],
    group: npt.NDArray[np.intp],
    colours: Sequence[tuple[int, int, int]],
    width: float,
    height: float,
    cell: float = DENSITY_CELL,
) -> npt.NDArray[np.uint8]:
    """Points at device pixels ``(dx, dy)`` as premultiplied BGRA cells
    ``(rows, cols, 4)``: each cell the mean colour of its points' groups, its
    opacity ``ALPHA`` at the densest cell, falling with the log of the count
    to a third of it for one point; empty cells transparent.

    Example: two points of group 0 in one cell give that group's colour.
    """
    cols = max(1, int(np.ceil(width / cell)))
    rows = max(1, int(np.ceil(height / cell)))
    ix = np.clip(np.floor(dx / cell).astype(np.intp), 0, cols - 1)
    iy = np.clip(np.floor(dy / cell).astype(np.intp), 0, rows - 1)
    cells = iy * cols + ix
    size = rows * cols
    total = np.bincount(cells, minlength=size)
    palette = np.asarray(colours, np.float64).reshape(-1, 3)[group]
    filled = total > 0
    alpha = np.zeros(size, np.float64)
    if filled.any():
        top = np.log1p(total.max())
        alpha[filled] = ALPHA / 255.0 * (1 / 3 + 2 / 3 * np.log1p(total[filled]) / top)
    # The mean colour times the opacity: premultiplied, as the image is.
    scale = np.divide(alpha, total, out=np.zeros(size), where=filled)
    out = np.empty((size, 4), np.uint8)
    for channel, column in ((0, 2), (1, 1), (2, 0)):  # BGRA from RGB
        sums = np.bincount(cells, weights=palette[:, column], minlength=size)
        out[:, channel] = np.rint(sums * scale)
    out[:, 3] = np.rint(255.0 * alpha)
    return out.reshape(rows, cols, 4)
