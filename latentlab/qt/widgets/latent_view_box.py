"""The latent plane's ViewBox: what the mouse does in the plot.

A left click or drag decodes (``latentClicked``), Ctrl+click picks
(``pickRequested``), Alt+drag draws a selection rectangle and Alt+Shift+drag a
lasso (``regionSelected``); right or middle drag pans, and a drag on an axis
pans along it. The signals are the
:class:`~latentlab.qt.widgets.latent_plane.LatentPlaneWidget`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from latentlab.core.analysis.group import rect_polygon

if TYPE_CHECKING:
    from latentlab.qt.widgets.latent_plane import LatentPlaneWidget

LASSO_STEP_PX = 3.0  # a lasso vertex at most every few pixels of pointer travel


class _LatentViewBox(pg.ViewBox):
    """Left button decodes (click and drag); Alt+left drag selects a region;
    the other buttons pan as usual."""

    def __init__(self, plane: LatentPlaneWidget) -> None:
        super().__init__(enableMenu=False)
        self._plane = plane
        self._region_tool = ""  # the drag in progress: "", "rect" or "lasso"
        self._lasso: list[tuple[float, float]] = []
        self.setMouseMode(pg.ViewBox.PanMode)

    def _tool_for(self, ev) -> str:
        """The selection tool a starting left drag uses ("" decodes or pans).

        The modifiers of the press count too: pyqtgraph reads them from the
        move events, and a synthetic move (QTest) carries none.
        """
        mods = ev.modifiers() | self._plane.press_modifiers
        alt = bool(mods & Qt.KeyboardModifier.AltModifier)
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        if alt:
            return "lasso" if shift else "rect"
        if self._plane.selection_tool and not shift:
            return self._plane.selection_tool
        return ""

    def _region_drag(self, ev) -> None:
        ev.accept()
        start = self.mapToView(ev.buttonDownPos())
        here = self.mapToView(ev.pos())
        if self._region_tool == "rect":
            poly = rect_polygon(start.x(), start.y(), here.x(), here.y())
        else:
            if ev.isStart() or not self._lasso:
                self._lasso = [(float(start.x()), float(start.y()))]
            last = self._lasso[-1]
            step = np.hypot(
                *((np.subtract((here.x(), here.y()), last)) / self.viewPixelSize())
            )
            if step >= LASSO_STEP_PX or ev.isFinish():
                self._lasso.append((float(here.x()), float(here.y())))
            poly = np.asarray(self._lasso, np.float64)
        if ev.isFinish():
            self._region_tool = ""
            self._lasso = []
            self._plane.show_region(None)
            self._plane.regionSelected.emit(poly)
        else:
            self._plane.show_region(poly)

    def mouseClickEvent(self, ev) -> None:
        # The axes pass their clicks here too: those name no point of the view.
        on_view = self.sceneBoundingRect().contains(ev.scenePos())
        if ev.button() == Qt.MouseButton.LeftButton and not ev.double() and on_view:
            ev.accept()
            p = self.mapToView(ev.pos())
            if ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self._plane.pickRequested.emit(float(p.x()), float(p.y()))
            elif not self._plane.decoded_on_press:
                self._plane.latentClicked.emit(float(p.x()), float(p.y()))
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None) -> None:
        if axis is not None:
            # An axis passes its drags here with positions of its own: they
            # name no point of the view, so such a drag pans along that axis.
            self._pan(ev, axis)
            return
        if ev.button() == Qt.MouseButton.LeftButton:
            if ev.isStart():
                self._region_tool = self._tool_for(ev)
            if self._region_tool:
                self._region_drag(ev)
                return
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
            self._pan(ev)  # Shift+left or right drag, like the middle button
            return
        super().mouseDragEvent(ev, axis)

    def _pan(self, ev, axis: int | None = None) -> None:
        """Move the view with the drag; along x only (``axis`` 0) or y only (1)."""
        ev.accept()
        if ev.isFinish():
            return
        delta = self.mapToView(ev.lastPos()) - self.mapToView(ev.pos())
        self.translateBy(
            x=delta.x() if axis != 1 else 0.0, y=delta.y() if axis != 0 else 0.0
        )
        self.sigRangeChangedManually.emit(self.state["mouseEnabled"])
