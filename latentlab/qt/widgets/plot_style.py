"""Shared set-up for pyqtgraph plots."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem

AXES = ("left", "bottom", "right", "top")


def data_units(plot: pg.PlotItem | pg.PlotWidget) -> None:
    """Label each axis in the data's own units.

    pyqtgraph otherwise rescales the tick labels by a power of a thousand and
    moves the factor into the axis label: a plane zoomed in to z₁ in
    −0.0006 … 0.0002 reads "−600 … 200" beside "z₁ (x1e-06)", which a reader
    takes for the latent values themselves.
    """
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    for name in AXES:
        item.getAxis(name).enableAutoSIPrefix(False)


def plain_number(v: float) -> str:
    """A tick label in the data's units: ``0.05``, ``20``, ``1,000``, ``1e6``."""
    if v >= 1e6 or v < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:,.0f}" if v >= 1 and v == round(v) else f"{v:g}"


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks for a log axis shown from ``lo`` to ``hi`` (log10 units), labelled
    in the data's units: at 1, 2 and 5 × 10^k across a few decades, at each
    power of ten across more (pyqtgraph's own labels a narrow log range with
    every minor tick, "2·10¹ 9 8 7 6 5" on top of each other)."""
    span = hi - lo
    if span < 0.7:
        mantissas: tuple[float, ...] = (1, 1.5, 2, 3, 4, 5, 6, 8)
    elif span < 1.5:
        mantissas = (1, 2, 3, 5)
    elif span < 3:
        mantissas = (1, 2, 5)
    else:
        mantissas = (1,)
    step = max(1, math.ceil(span / 8)) if span >= 3 else 1
    ticks = []
    for k in range(math.floor(lo) - 1, math.ceil(hi) + 1):
        if k % step:
            continue
        for m in mantissas:
            v = m * 10.0**k
            x = math.log10(v)
            if lo <= x <= hi:
                ticks.append((x, plain_number(v)))
    return ticks


def set_log_ticks(plot: pg.PlotWidget, axis: str, lo: float, hi: float) -> None:
    """Label ``plot``'s log ``axis`` over ``lo`` … ``hi`` (log10 units) with
    :func:`log_ticks`."""
    plot.getAxis(axis).setTicks([log_ticks(lo, hi), []])


def cache_axes(plot: pg.PlotItem | pg.PlotWidget) -> None:
    """Keep each axis (its ticks, labels and grid lines) as a cached pixmap,
    its ticks labelled in the data's units (:func:`data_units`).

    An axis with a grid spans the whole plot, so every repaint inside the plot (a
    moved crosshair, a redrawn scatter) replays its tick text and lines: 1-3 ms
    per axis per repaint. Cached, it is a blit until its range or size changes.
    """
    item = plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot
    data_units(item)
    for name in AXES:
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
