"""LatentPlaneWidget details: the one points item draws and bounds what it is given."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from latentlab.qt.widgets.latent_plane import PALETTE, LatentPlaneWidget

if TYPE_CHECKING:
    from PySide6.QtCore import QRectF

    from latentlab.qt.widgets.points import PointsItem


def _fresh_bounds(item: PointsItem) -> QRectF:
    item._bounds = None
    return item.boundingRect()


def _plane(qtbot, size=(400, 400)) -> LatentPlaneWidget:
    plane = LatentPlaneWidget()
    qtbot.addWidget(plane)
    plane.resize(*size)
    plane.show()
    qtbot.waitExposed(plane)
    return plane


def test_cached_points_bounds_follow_data_and_zoom(qtbot):
    plane = _plane(qtbot)
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(500, 2)).astype(np.float32)
    groups = [("a", xy[:, 0] > 0), ("b", xy[:, 0] <= 0)]
    plane.set_points(xy, groups)
    item = plane.points
    assert plane.point_count() == 500
    cached = item.boundingRect()
    assert cached == _fresh_bounds(item)
    assert cached.left() < xy[:, 0].min() and cached.right() > xy[:, 0].max()
    plane.set_points(xy * 5 + 3, groups)
    plane.view_box.setRange(xRange=(-20, 20), yRange=(-20, 20), padding=0)
    plane.grab()
    assert item.boundingRect() == _fresh_bounds(item)
    assert item.boundingRect().right() > 10


def test_points_are_drawn_in_their_group_colours_where_they_are(qtbot):
    plane = _plane(qtbot)
    plane.view_box.setRange(xRange=(-2, 2), yRange=(-2, 2), padding=0)
    # Two clusters of one colour each, and a NaN that must be left out.
    xy = np.array([[-1, -1]] * 20 + [[1, 1]] * 20 + [[np.nan, 0]], np.float32)
    labels = np.array([0] * 20 + [1] * 20 + [1])
    plane.set_points(xy, [("a", labels == 0), ("b", labels == 1)], size=8)
    assert plane.point_count() == 40
    assert plane.legend_entries == [("a", PALETTE[0]), ("b", PALETTE[1])]
    image = plane.grab().toImage()
    for (x, y), rgb in (((-1, -1), PALETTE[0]), ((1, 1), PALETTE[1])):
        pos = plane.scene_pos_of(x, y)
        colour = image.pixelColor(pos.x(), pos.y())
        got = [colour.red(), colour.green(), colour.blue()]
        # 20 discs of alpha 200 on one spot: the colour itself
        assert np.abs(np.subtract(got, rgb)).max() <= 3, (got, rgb)
    plane.set_points_visible(False)
    pos = plane.scene_pos_of(1, 1)
    hidden = plane.grab().toImage().pixelColor(pos.x(), pos.y())
    assert min(hidden.red(), hidden.green(), hidden.blue()) > 200  # background
    plane.set_points(None)
    assert plane.point_count() == 0
    assert plane.legend_entries == []
