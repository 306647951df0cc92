"""Issue 32: planes of 200,000 points draw a density image coloured by label
when zoomed out, and the points themselves when zoomed in."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor

from latentlab.qt.widgets.points import ALPHA, DENSITY_POINTS, density_image


def test_density_cells_are_the_mean_colour_and_a_log_opacity():
    colours = [(255, 0, 0), (0, 0, 255)]
    # cell (0, 0): two red and two blue; cell (1, 0): one red; the rest empty.
    dx = np.array([0.5, 1.0, 1.5, 0.2, 2.5])
    dy = np.array([0.5, 1.0, 1.5, 0.2, 0.5])
    group = np.array([0, 0, 1, 1, 0])
    image = density_image(dx, dy, group, colours, 6, 4, cell=2)
    assert image.shape == (2, 3, 4)
    b, g, r, a = (int(v) for v in image[0, 0])
    assert a == ALPHA  # the densest cell
    assert r == pytest.approx(127.5 * ALPHA / 255, abs=1)  # half red, premultiplied
    assert b == pytest.approx(127.5 * ALPHA / 255, abs=1)
    assert g == 0
    b, g, r, a = (int(v) for v in image[0, 1])
    expected = ALPHA * (1 / 3 + 2 / 3 * np.log(2) / np.log(5))
    assert a == pytest.approx(expected, abs=1) and r == a and b == 0
    assert image[1].sum() == 0 and image[0, 2].sum() == 0


def test_a_zoomed_out_plane_of_200k_points_shows_each_class_where_it_lies(qtbot):
    from latentlab.qt.widgets.latent_plane import PALETTE, LatentPlaneWidget

    rng = np.random.default_rng(0)
    n = 200_000
    left = rng.random(n) < 0.5
    xy = np.column_stack(
        [np.where(left, -2.0, 2.0) + rng.normal(0, 0.5, n), rng.normal(0, 1, n)]
    ).astype(np.float32)
    plane = LatentPlaneWidget()
    qtbot.addWidget(plane)
    plane.resize(600, 400)
    plane.show()
    qtbot.waitExposed(plane)
    plane.set_points(xy, [("left", left), ("right", ~left)])
    plane.view_box.setRange(xRange=(-5, 5), yRange=(-4, 4), padding=0)
    assert plane.points.shows_density(n)
    image = plane.grab().toImage()

    def colour_at(x: float, y: float) -> tuple[int, int, int]:
        pos = plane.mapFromScene(plane.scene_pos_of(x, y))
        return QColor(image.pixel(pos.x(), pos.y())).getRgb()[:3]

    def blend(got: np.ndarray, rgb) -> tuple[float, float]:
        """The opacity w that best explains ``got`` as ``rgb`` over white, and
        how far off the best is (least squares)."""
        d = 255.0 - np.array(rgb, float)
        w = float(d @ (255.0 - got) / (d @ d))
        return w, float(np.abs(255.0 - w * d - got).max())

    for x, want in ((-2.25, 0), (2.25, 1)):  # off the grid lines
        got = np.array(colour_at(x, 0.35), float)
        fits = [blend(got, PALETTE[i]) for i in range(len(PALETTE))]
        best = min(range(len(PALETTE)), key=lambda i: fits[i][1])
        assert best == want, (x, got, fits[:2])
        assert 0.3 < fits[want][0] <= 1.0 and fits[want][1] < 10
    # Zoomed in, fewer than DENSITY_POINTS are on screen: the discs themselves.
    plane.view_box.setRange(xRange=(-2.2, -1.8), yRange=(-0.2, 0.2), padding=0)
    on_screen = int(
        ((xy[:, 0] > -2.3) & (xy[:, 0] < -1.7) & (np.abs(xy[:, 1]) < 0.3)).sum()
    )
    assert on_screen < DENSITY_POINTS and not plane.points.shows_density(on_screen)
