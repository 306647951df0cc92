"""LatentPlaneWidget: the decoded manifold, the encoded test set and a crosshair.

Layers, bottom to top: one ImageItem placed in latent coordinates, one
ScatterPlotItem per colour group (one brush each, built once), the crosshair.
A left click or drag emits ``latentClicked``; wheel zooms; right or middle drag
pans. Widgets hold no model: they take arrays and emit intent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.ma  # np.percentile imports it lazily: ~10 ms in the middle of a redraw
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal

from latentlab.core.latent import LatentRect
from latentlab.qt.plot_style import cache_axes

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

# Tableau 10: distinct on both the dark manifold and white backgrounds.
PALETTE = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
GRID_DEBOUNCE_MS = 120


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


class _LatentViewBox(pg.ViewBox):
    """Left button decodes (click and drag); the other buttons pan as usual."""

    def __init__(self, plane: LatentPlaneWidget) -> None:
        super().__init__(enableMenu=False)
        self._plane = plane
        self.setMouseMode(pg.ViewBox.PanMode)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and not ev.double():
            ev.accept()
            p = self.mapToView(ev.pos())
            self._plane.latentClicked.emit(float(p.x()), float(p.y()))
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if ev.button() == Qt.MouseButton.LeftButton and not (
            ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            ev.accept()
            p = self.mapToView(ev.pos())
            self._plane.latentClicked.emit(float(p.x()), float(p.y()))
            return
        if ev.button() == Qt.MouseButton.LeftButton or (
            ev.button() == Qt.MouseButton.RightButton
        ):
            # Shift+left or right drag pans, like the middle button.
            ev.accept()
            if ev.isFinish():
                return
            delta = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
            self.translateBy(x=delta.x(), y=delta.y())
            self.sigRangeChangedManually.emit(self.state["mouseEnabled"])
            return
        super().mouseDragEvent(ev, axis)


class LatentPlaneWidget(pg.PlotWidget):
    """One model's latent plane, in latent units with a locked aspect ratio.

    Signals
    -------
    latentClicked(float, float)
        The user clicked or dragged at this plane point.
    viewRectChanged(object)
        The visible rectangle (a ``LatentRect``) after zoom or pan, debounced.
    """

    latentClicked = Signal(float, float)
    viewRectChanged = Signal(object)

    def __init__(self, parent=None) -> None:
        self._vb = _LatentViewBox(self)
        super().__init__(parent=parent, viewBox=self._vb, background="w")
        self.setAspectLocked(True)
        self.showGrid(x=True, y=True, alpha=0.15)
        cache_axes(self)
        for side in ("left", "bottom"):
            self.getAxis(side).setTextPen("#444")
            self.getAxis(side).setPen("#888")
        self._axis_labels = ("", "")
        self.set_axis_labels("z₁", "z₂")
        self.manifold = pg.ImageItem(axisOrder="row-major")
        self.manifold.setZValue(-10)
        self.addItem(self.manifold)
        self._manifold_opacity = 0.85
        self.manifold.setOpacity(self._manifold_opacity)
        self.legend = self.addLegend(
            offset=(-8, 8), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 200)
        )
        self._scatters: list[pg.ScatterPlotItem] = []
        self._points_visible = True
        cross_pen = pg.mkPen((220, 30, 30), width=1.5)
        self.vline = pg.InfiniteLine(angle=90, movable=False, pen=cross_pen)
        self.hline = pg.InfiniteLine(angle=0, movable=False, pen=cross_pen)
        for line in (self.vline, self.hline):
            line.setZValue(20)
            line.setVisible(False)
            self.addItem(line, ignoreBounds=True)
        self.marker = PassiveScatterItem(
            size=11, pen=pg.mkPen("w", width=2), brush=pg.mkBrush(220, 30, 30)
        )
        self.marker.setZValue(21)
        self.addItem(self.marker, ignoreBounds=True)
        self._debounce = QTimer(self, singleShot=True, interval=GRID_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit_view_rect)
        self._vb.sigRangeChanged.connect(lambda *_: self._debounce.start())

    # --- layers -------------------------------------------------------------------

    def set_manifold(self, image: npt.NDArray[np.float32], rect: LatentRect) -> None:
        """Show a decoded grid image (row 0 = lowest z2) over ``rect``."""
        self.manifold.setImage(image, levels=(0.0, 1.0), autoLevels=False)
        self.manifold.setRect(QRectF(rect.x0, rect.y0, rect.width, rect.height))

    def has_manifold(self) -> bool:
        """True when a manifold image is set."""
        return self.manifold.image is not None

    def clear_manifold(self) -> None:
        """Remove the manifold image."""
        self.manifold.clear()

    def set_manifold_visible(self, visible: bool) -> None:
        """Toggle the manifold layer."""
        self.manifold.setVisible(visible)

    def set_manifold_opacity(self, opacity: float) -> None:
        """0 (hidden) .. 1 (opaque)."""
        self._manifold_opacity = float(opacity)
        self.manifold.setOpacity(self._manifold_opacity)

    def set_points(
        self,
        xy: npt.NDArray[np.float32] | None,
        groups: Sequence[tuple[str, npt.NDArray[np.bool_]]] = (),
        size: float = 4.0,
    ) -> None:
        """Scatter ``xy`` ``(n, 2)`` split into named groups (boolean masks).

        Items are reused across calls, so a refresh during training only moves
        points. The legend is rebuilt only when the number of groups changes
        (new names for as many groups are relabelled in place). No points empty
        the items but keep them, and the legend, for the next call.
        """
        if xy is None or len(xy) == 0:
            for item in self._scatters:
                item.clear()
            self.legend.setVisible(False)
            return
        names = [name for name, _ in groups]
        if len(names) == len(self._scatters):
            for item, (_, label), name in zip(
                self._scatters, self.legend.items, names, strict=True
            ):
                if item.name() != name:
                    item.opts["name"] = name
                    label.setText(name)
                    self.legend.updateSize()
        else:
            for item in self._scatters:
                self.removeItem(item)
            self.legend.clear()
            self.legend.setColumnCount(2 if len(names) > 5 else 1)
            self._scatters = []
            for i, name in enumerate(names):
                r, g, b = PALETTE[i % len(PALETTE)]
                item = PassiveScatterItem(
                    pen=None, brush=pg.mkBrush(r, g, b, 200), size=size, name=name
                )
                item.setZValue(0)
                self.addItem(item)
                self._scatters.append(item)
        for item, (_, mask) in zip(self._scatters, groups, strict=True):
            pts = xy[mask]
            item.setData(x=pts[:, 0], y=pts[:, 1])
        self.legend.setVisible(self._points_visible and bool(self._scatters))

    def point_count(self) -> int:
        """Number of scatter points drawn."""
        return sum(len(item.data) for item in self._scatters)

    def set_points_visible(self, visible: bool) -> None:
        """Toggle the scatter layer (and its legend)."""
        self._points_visible = visible
        for item in self._scatters:
            item.setVisible(visible)
        self.legend.setVisible(visible and self.point_count() > 0)

    def set_crosshair(self, x: float, y: float) -> None:
        """Mark the decoded point."""
        self.vline.setPos(x)
        self.hline.setPos(y)
        self.vline.setVisible(True)
        self.hline.setVisible(True)
        self.marker.setData([x], [y])

    def set_axis_labels(self, x: str, y: str) -> None:
        """Name the axes; a no-op when unchanged (a new label re-lays the axis)."""
        if (x, y) != self._axis_labels:
            self._axis_labels = (x, y)
            self.setLabel("bottom", x)
            self.setLabel("left", y)

    # --- view ---------------------------------------------------------------------

    def view_rect(self) -> LatentRect:
        """The visible rectangle in latent units."""
        (x0, x1), (y0, y1) = self._vb.viewRange()
        return LatentRect(x0, y0, x1, y1)

    def fit(self, rect: LatentRect) -> None:
        """Show ``rect`` (emits ``viewRectChanged`` once settled)."""
        self._vb.setRange(
            xRange=(rect.x0, rect.x1), yRange=(rect.y0, rect.y1), padding=0
        )

    def _emit_view_rect(self) -> None:
        self.viewRectChanged.emit(self.view_rect())

    def scene_pos_of(self, x: float, y: float):
        """Widget (viewport) position of plane point (x, y): for tests and tools."""
        return self.mapFromScene(self._vb.mapViewToScene(pg.Point(x, y)))

    @property
    def view_box(self) -> pg.ViewBox:
        """The plot's ViewBox."""
        return self._vb


def fit_rect(
    points: npt.NDArray[np.float32] | None, *, prior: bool, margin: float = 0.08
) -> LatentRect:
    """A square view around the bulk (1st-99th percentile) of ``points``.

    A VAE's view always includes the prior's [-3, 3]^2, where its samples live.
    """
    if points is not None:
        points = points[np.isfinite(points).all(1)]
    if points is None or len(points) == 0:
        return LatentRect.square(3.0)
    lo = np.percentile(points, 0.5, axis=0)
    hi = np.percentile(points, 99.5, axis=0)
    if prior:
        lo = np.minimum(lo, -3.0)
        hi = np.maximum(hi, 3.0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2 * (1 + margin), 1e-3)
    return LatentRect(
        float(centre[0] - half),
        float(centre[1] - half),
        float(centre[0] + half),
        float(centre[1] + half),
    )
