"""LatentPlaneWidget: the decoded manifold, the encoded test set and a crosshair.

Layers, bottom to top: one ImageItem placed in latent coordinates, one
:class:`~latentlab.qt.widgets.points.PointsItem` drawing every colour group, the
crosshair.
A left click or drag emits ``latentClicked`` (with ``decode_on_press``, the
press does); Ctrl+click emits ``pickRequested`` (pick the test image under the
pointer as an input); wheel zooms; right or middle drag pans, and any drag on
an axis pans along it. Alt+drag draws a selection rectangle and Alt+Shift+drag
a lasso (or plain left drag, with :meth:`LatentPlaneWidget.set_selection_tool`);
either emits ``regionSelected`` with the region as a polygon. The colour key is
a :class:`LegendBar` beside the plot, so it never covers data. Widgets hold no
model: they take arrays and emit intent.

The plane's items (:class:`~latentlab.qt.widgets.plane_items.PassiveScatterItem`,
the crosshair, the :class:`~latentlab.qt.widgets.plane_items.LegendBar` key)
are :mod:`~latentlab.qt.widgets.plane_items`; what the mouse does in the plot is
its ViewBox, :mod:`~latentlab.qt.widgets.latent_view_box`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.ma  # np.percentile imports it lazily: ~10 ms in the middle of a redraw
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QLabel, QToolButton

from latentlab.core.latent import LatentRect, nearest_point  # noqa: F401  (re-exported)
from latentlab.qt.widgets.latent_view_box import _LatentViewBox
from latentlab.qt.widgets.plane_items import Crosshair, PassiveScatterItem
from latentlab.qt.widgets.plot_style import cache_axes
from latentlab.qt.widgets.points import PointsItem
from latentlab.qt.widgets.styles import PICK_COLOURS

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
PICK_RADIUS_PX = 8.0  # the default radius of core.latent.nearest_point
SELECTION_TOOLS = ("", "rect", "lasso")
DIMMED_OPACITY = 0.3  # the other points while a group is highlighted


class LatentPlaneWidget(pg.PlotWidget):
    """One model's latent plane, in latent units with a locked aspect ratio.

    Signals
    -------
    latentClicked(float, float)
        The user clicked (or pressed, see ``decode_on_press``) or dragged at
        this plane point.
    pickRequested(float, float)
        The user Ctrl+clicked here: pick the test image whose code is nearest.
    regionSelected(object)
        The user drew a selection rectangle or lasso: its vertices ``(k, 2)`` in
        plane coordinates.
    legendChanged(object)
        The colour key changed: a list of ``(name, rgb)``.
    viewRectChanged(object)
        The visible rectangle (a ``LatentRect``) after zoom or pan, debounced.
    """

    latentClicked = Signal(float, float)
    pickRequested = Signal(float, float)
    regionSelected = Signal(object)
    legendChanged = Signal(object)
    viewRectChanged = Signal(object)

    def __init__(self, parent=None) -> None:
        self._vb = _LatentViewBox(self)
        self.selection_tool = ""
        self.press_modifiers = Qt.KeyboardModifier.NoModifier
        self.decoded_on_press = False
        self.decode_on_press = False
        """Emit ``latentClicked`` on a plain left press rather than the click
        (planes with no draggable items of their own: the window's planes)."""
        super().__init__(parent=parent, viewBox=self._vb, background="w")
        # pyqtgraph's auto-range button is a letter "A" in the corner, read as
        # the A pick's label; a plane with a home view gets a "Fit" button
        # instead (set_home), the window's planes have their panel's Fit.
        self.hideButtons()
        self.home: LatentRect | None = None
        self.fit_button = QToolButton(self)
        self.fit_button.setText("Fit")
        self.fit_button.setToolTip("Show all the test codes again")
        self.fit_button.setCursor(Qt.CursorShape.ArrowCursor)
        self.fit_button.hide()
        self.fit_button.clicked.connect(lambda: self.fit(self.home))
        self.setAspectLocked(True)
        # An empty plane (loading, no model) shows the prior's bulk, not
        # pyqtgraph's default of +-0.5 labelled in thousandths.
        self._vb.setRange(xRange=(-3.0, 3.0), yRange=(-3.0, 3.0), padding=0)
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
        self._legend: list[tuple[str, tuple[int, int, int]]] = []
        self.points = PointsItem()
        self.addItem(self.points)
        # A moved crosshair repaints the whole plot: cached, the manifold and the
        # points are a blit (a plane repaint 2.3 -> 1.2 ms CPU, shipped MNIST pair).
        for item in (self.manifold, self.points):
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.crosshair = Crosshair()
        self.addItem(self.crosshair.dot, ignoreBounds=True)
        # The picked inputs: rings around their codes (A green, B orange).
        self.pick_rings = PassiveScatterItem(size=16, brush=None)
        # The same pen objects each time: pyqtgraph keys its symbol atlas by
        # pen, so new pens re-render the rings at every snapshot.
        self._pick_pens = [pg.mkPen(c, width=2.5) for c in PICK_COLOURS]
        self._picks_shown: list | None = None
        self.pick_rings.setZValue(19)
        self.addItem(self.pick_rings, ignoreBounds=True)
        # The selected group: outlined points over the dimmed others.
        self.highlight = PassiveScatterItem(
            size=7,
            pen=pg.mkPen(20, 20, 20, 230, width=1.2),
            brush=pg.mkBrush(255, 215, 0),
        )
        self.highlight.setZValue(15)
        self.addItem(self.highlight, ignoreBounds=True)
        self._dimmed = False
        self.region_item = QGraphicsPathItem()
        self.region_item.setPen(
            pg.mkPen((20, 20, 20), width=1.5, style=Qt.PenStyle.DashLine, cosmetic=True)
        )
        self.region_item.setBrush(pg.mkBrush(255, 215, 0, 40))
        self.region_item.setZValue(30)
        self.region_item.setVisible(False)
        self.addItem(self.region_item, ignoreBounds=True)
        # "Epoch 5 / 30 …" over the top-left corner while the timeline is scrubbed.
        self.epoch_badge = QLabel(self)
        self.epoch_badge.setStyleSheet(
            "background: rgba(255, 255, 255, 215); color: #222; padding: 2px 5px;"
            " border: 1px solid #bbb; border-radius: 3px;"
        )
        self.epoch_badge.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.epoch_badge.hide()
        # The decoded point when it lies outside the view (a click in another
        # model's plane decodes the same z here): where it is, and a way there.
        self.off_view = QToolButton(self)
        self.off_view.setCursor(Qt.CursorShape.ArrowCursor)
        self.off_view.setToolTip("Widen the view to show the decoded point")
        self.off_view.hide()
        self.off_view.clicked.connect(self.show_crosshair_point)
        self._vb.sigRangeChanged.connect(lambda *_: self._show_off_view())
        self._debounce = QTimer(self, singleShot=True, interval=GRID_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._emit_view_rect)
        self._vb.sigRangeChanged.connect(lambda *_: self._debounce.start())

    # --- layers -------------------------------------------------------------------

    def set_manifold(
        self, image: npt.NDArray[np.float32 | np.uint8], rect: LatentRect
    ) -> None:
        """Show a decoded grid image (row 0 = lowest z2) over ``rect``: floats in
        [0, 1] or grey levels (uint8, shown as they are: no rescaling pass)."""
        if image.dtype == np.uint8:
            self.manifold.setImage(image, levels=None, autoLevels=False)
        else:
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

        One item draws every group, so a refresh during training only replaces
        its arrays. No points empty it.
        """
        if xy is None or len(xy) == 0:
            self.points.clear()
            self._set_legend([])
            return
        names = [name for name, _ in groups]
        colours = [PALETTE[i % len(PALETTE)] for i in range(len(names))]
        self.points.set_groups(xy, [mask for _, mask in groups], colours, size)
        self._set_legend(list(zip(names, colours, strict=True)))

    def _set_legend(self, entries: list[tuple[str, tuple[int, int, int]]]) -> None:
        if entries != self._legend:
            self._legend = entries
            self.legendChanged.emit(list(entries))

    @property
    def legend_entries(self) -> list[tuple[str, tuple[int, int, int]]]:
        """The colour key: ``(name, rgb)`` per group."""
        return list(self._legend)

    def point_count(self) -> int:
        """Number of scatter points drawn."""
        return self.points.count()

    def set_points_visible(self, visible: bool) -> None:
        """Toggle the scatter layer (and its legend)."""
        self.points.setVisible(visible)
        self.highlight.setVisible(visible)

    # --- selection ------------------------------------------------------------------

    def set_selection_tool(self, tool: str) -> None:
        """What a plain left drag does: ``""`` decodes, ``"rect"`` or ``"lasso"``
        selects (Alt+drag and Alt+Shift+drag select either way)."""
        self.selection_tool = tool if tool in SELECTION_TOOLS else ""
        self.setCursor(
            Qt.CursorShape.CrossCursor
            if self.selection_tool
            else Qt.CursorShape.ArrowCursor
        )

    def show_region(self, polygon: npt.NDArray[np.float64] | None) -> None:
        """Draw the region being selected (None hides it)."""
        if polygon is None or len(polygon) < 2:
            self.region_item.setVisible(False)
            return
        path = QPainterPath(QPointF(*polygon[0]))
        for x, y in polygon[1:]:
            path.lineTo(QPointF(x, y))
        path.closeSubpath()
        self.region_item.setPath(path)
        self.region_item.setVisible(True)

    def set_highlight(self, xy: npt.NDArray[np.float32] | None) -> None:
        """Outline these points ``(n, 2)`` and dim the others (None: no group)."""
        group = xy is not None
        if xy is None or len(xy) == 0:
            self.highlight.clear()
        else:
            self.highlight.setData(x=xy[:, 0], y=xy[:, 1])
        if group != self._dimmed:
            self._dimmed = group
            self.points.setOpacity(DIMMED_OPACITY if group else 1.0)

    def highlighted_count(self) -> int:
        """Points outlined as the selected group."""
        return len(self.highlight.data)

    def set_epoch_badge(self, text: str) -> None:
        """Show ``text`` over the plane's top-left corner ("" hides it)."""
        self.epoch_badge.setText(text)
        self.epoch_badge.setVisible(bool(text))
        if text:
            self._place_badge()

    def _place_badge(self) -> None:
        # Inside the plot area, clear of the left axis; wrapped to its width.
        rect = self.mapFromScene(self._vb.sceneBoundingRect()).boundingRect()
        badge = self.epoch_badge
        width = max(rect.width() - 12, 80)
        badge.setWordWrap(False)
        if badge.sizeHint().width() > width:
            badge.setWordWrap(True)
            badge.resize(width, badge.heightForWidth(width))
        else:
            badge.adjustSize()
        badge.move(rect.left() + 6, rect.top() + 6)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        badge = self.__dict__.get("epoch_badge")  # resized during construction too
        if badge is not None and badge.isVisible():
            self._place_badge()
        if self.__dict__.get("home") is not None:
            self._show_fit_button()
        if self.__dict__.get("off_view") is not None:
            self._show_off_view()

    def mousePressEvent(self, ev) -> None:
        self.press_modifiers = ev.modifiers()
        # A plain left press decodes at once: the image is up before the
        # button is released (~0.1 s later for a person), and a drag from here
        # follows. The click at release then emits nothing more.
        self.decoded_on_press = False
        plain = ev.modifiers() == Qt.KeyboardModifier.NoModifier
        left = ev.button() == Qt.MouseButton.LeftButton
        if self.decode_on_press and left and plain and not self.selection_tool:
            scene_pos = self.mapToScene(ev.position().toPoint())
            if self._vb.sceneBoundingRect().contains(scene_pos):
                p = self._vb.mapSceneToView(scene_pos)
                self.decoded_on_press = True
                self.latentClicked.emit(float(p.x()), float(p.y()))
        super().mousePressEvent(ev)

    def set_picks(self, points: Sequence[tuple[float, float] | None]) -> None:
        """Ring the picked inputs' codes: ``(A, B)`` plane points (None: none)."""
        shown = [
            ((float(p[0]), float(p[1])), i)
            for i, p in enumerate(points[:2])
            if p is not None and np.isfinite(p).all()
        ]
        if shown == self._picks_shown:
            return
        self._picks_shown = shown
        self.pick_rings.setData(
            x=[p[0] for p, _ in shown],
            y=[p[1] for p, _ in shown],
            pen=[self._pick_pens[i] for _, i in shown],
        )

    def set_crosshair(self, x: float, y: float) -> None:
        """Mark the decoded point (outside the view: a note says where it is)."""
        self.crosshair.move_to(x, y)
        self._show_off_view()

    def hide_crosshair(self) -> None:
        """Mark no point."""
        self.crosshair.dot.setVisible(False)
        self.off_view.hide()

    def crosshair_off_view(self) -> tuple[float, float] | None:
        """The decoded point when it lies outside the visible range, else None."""
        at = self.crosshair.position()
        if at is None:
            return None
        view = self.view_rect()
        x, y = at
        if view.x0 <= x <= view.x1 and view.y0 <= y <= view.y1:
            return None
        return at

    def show_crosshair_point(self) -> None:
        """Widen the view just enough to show the decoded point, with a margin."""
        at = self.crosshair.position()
        if at is None:
            return
        view = self.view_rect()
        pad = 0.08 * max(view.width, view.height)
        x, y = at
        self.fit(
            LatentRect(
                min(view.x0, x - pad),
                min(view.y0, y - pad),
                max(view.x1, x + pad),
                max(view.y1, y + pad),
            )
        )

    def _show_off_view(self) -> None:
        note = self.off_view
        at = self.crosshair_off_view()
        if at is None:
            if note.isVisible():
                note.hide()
            return
        view = self.view_rect()
        x, y = at
        col = 0 if x < view.x0 else 2 if x > view.x1 else 1
        row = 0 if y > view.y1 else 2 if y < view.y0 else 1
        arrow = ("↖↑↗", "← →", "↙↓↘")[row][col]
        rect = self.mapFromScene(self._vb.sceneBoundingRect()).boundingRect()
        point = f"({x:.3g}, {y:.3g})"
        for text in (
            f"{arrow} decoded z = {point} is off this view: show it",
            f"{arrow} z = {point}: show",
        ):
            note.setText(text)
            note.adjustSize()
            if note.width() <= rect.width() - 12:
                break
        note.move(int(rect.left() + 6), int(rect.bottom() - note.height() - 6))
        note.show()
        note.raise_()

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

    def set_home(self, rect: LatentRect | None) -> None:
        """Show ``rect`` and make it the view the "Fit" button, shown in the
        plot's corner while the view is another (zoomed or panned), returns
        to. None: no home, no button."""
        self.home = rect
        if rect is not None:
            self.fit(rect)
        self._show_fit_button()

    def shows_home(self) -> bool:
        """True while the view shows the home rectangle whole and no more
        than its aspect-locked frame adds (or there is no home)."""
        home = self.home
        if home is None:
            return True
        view = self.view_rect()
        tol_x, tol_y = 0.02 * home.width, 0.02 * home.height
        inside = (
            view.x0 <= home.x0 + tol_x
            and view.x1 >= home.x1 - tol_x
            and view.y0 <= home.y0 + tol_y
            and view.y1 >= home.y1 - tol_y
        )
        tight = view.width <= home.width + 2 * tol_x
        tight = tight or view.height <= home.height + 2 * tol_y
        return inside and tight

    def _show_fit_button(self) -> None:
        button = self.fit_button
        if self.shows_home():
            button.hide()
            return
        rect = self.mapFromScene(self._vb.sceneBoundingRect()).boundingRect()
        button.adjustSize()
        button.move(int(rect.right() - button.width() - 4), int(rect.top() + 4))
        button.show()
        button.raise_()

    def _emit_view_rect(self) -> None:
        self._show_fit_button()
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
    lo, hi = np.percentile(points, (0.5, 99.5), axis=0)  # one sort, not two
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
