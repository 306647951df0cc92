"""PySide6 6.12 on CPython 3.11 aborts the interpreter when 10k per-point brushes
are set repeatedly on a ScatterPlotItem (STYLE.md); pin that our pins avoid it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg


def test_repeated_per_point_brushes_on_a_10k_scatter(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    item = pg.ScatterPlotItem(size=4, pen=None)
    widget.addItem(item)
    rng = np.random.default_rng(0)
    n = 10_000
    for _ in range(5):
        xy = rng.normal(size=(n, 2))
        brushes = [pg.mkBrush(int(c), 100, 200) for c in rng.integers(0, 255, n)]
        item.setData(x=xy[:, 0], y=xy[:, 1], brush=brushes)
        widget.grab()
    assert len(item.data) == n
