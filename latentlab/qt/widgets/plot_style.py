"""Shared set-up for pyqtgraph plots."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem


def cache_axes(plot: pg.PlotItem | pg.PlotWidget) -> None:
    """Keep each axis (its ticks, labels and grid lines) as a cached pixmap.

    An axis with a grid spans the whole plot, so every repaint inside the plot (a
    moved crosshair, a redrawn scatter) replays its tick text and lines: 1-3 ms
    per axis per repaint. Cached, it is a blit until its range or size changes.
    """
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    for name in ("left", "bottom", "right", "top"):
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
