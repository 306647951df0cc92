"""LatentPlaneWidget details: cached scatter bounds stay right."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from latentlab.qt.widgets.latent_plane import LatentPlaneWidget, PassiveScatterItem


def _uncached(item: PassiveScatterItem):
    return pg.ScatterPlotItem.boundingRect(item)


def test_cached_scatter_bounds_follow_data_and_zoom(qtbot):
    plane = LatentPlaneWidget()
    qtbot.addWidget(plane)
    plane.resize(400, 400)
    plane.show()
    qtbot.waitExposed(plane)
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(500, 2)).astype(np.float32)
    plane.set_points(xy, [("a", xy[:, 0] > 0), ("b", xy[:, 0] <= 0)])
    items = [i for i in plane.plotItem.items if isinstance(i, PassiveScatterItem)]
    items = [i for i in items if len(i.data) > 1]
    assert len(items) == 2
    for item in items:
        assert item.boundingRect() == _uncached(item)
    moved = xy * 5 + 3
    plane.set_points(moved, [("a", xy[:, 0] > 0), ("b", xy[:, 0] <= 0)])
    plane.view_box.setRange(xRange=(-20, 20), yRange=(-20, 20), padding=0)
    plane.grab()
    for item in items:
        assert item.boundingRect() == _uncached(item)
    assert max(item.boundingRect().right() for item in items) > 10
