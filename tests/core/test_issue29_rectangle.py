"""Issue 29, item 1: the article's figure. The grid spans the rectangle of the
two codes (A's code top left, B's bottom right, the mixed corners between);
each cell is tested for looking like data by a rule that is itself checked:
real test images pass, uniform noise and flat grey do not (classifier
confidence alone passed noise: a median 0.99 on MNIST)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentlab.core.analysis.rectangle import (
    DataLikeness,
    grid_summary,
    rectangle_codes,
)
from latentlab.core.errors import ConfigError
from latentlab.core.workspace import Workspace

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_the_grid_spans_the_rectangle_of_the_two_codes():
    a, b = np.array([1.0, -2.0]), np.array([3.0, 4.0])
    z = rectangle_codes(a, b, (0, 1), n=4).reshape(4, 4, 2)
    np.testing.assert_allclose(z[0, 0], a)
    np.testing.assert_allclose(z[-1, -1], b)
    np.testing.assert_allclose(z[0, -1], [3.0, -2.0])  # top right: B's x, A's y
    np.testing.assert_allclose(z[-1, 0], [1.0, 4.0])
    np.testing.assert_allclose(z[0, :, 0], np.linspace(1, 3, 4))  # x along a row
    np.testing.assert_allclose(z[:, 0, 1], np.linspace(-2, 4, 4))  # y down a column
    # Wider codes: the rectangle over the two dims shown, the others at the mean.
    a3, b3 = np.array([0.0, 1.0, 2.0]), np.array([4.0, 3.0, -2.0])
    z3 = rectangle_codes(a3, b3, (2, 0), n=3)
    np.testing.assert_allclose(z3[:, 1], 2.0)
    np.testing.assert_allclose(z3[0], [0.0, 2.0, 2.0])
    with pytest.raises(ConfigError):
        rectangle_codes(a3, b3, (1, 1))


def test_the_data_test_passes_real_images_and_rejects_noise(mnist):
    from latentlab.core.analysis.realism import confidence, train_classifier

    clf = train_classifier(mnist, seed=0)
    rule = DataLikeness(clf, mnist)
    ys = rule.yardstick
    assert ys.valid, ys.text
    assert ys.real >= 2 / 3 and ys.noise == 0.0 and ys.flat == 0.0
    # Why confidence alone is not enough: the classifier is sure of noise.
    noise = np.random.default_rng(5).random((100, 28, 28)).astype(np.float32)
    assert np.median(confidence(clf, noise)) > 0.9
    assert not rule.score(noise)[2].any()
    assert f"{100 * ys.real:.0f} % of real test images" in ys.text


def test_the_workspace_computes_the_figure_for_the_picked_pair():
    ws = Workspace()
    ws.open(MODELS / "shapes-ae-2d.pt", slot=0)
    ws.open(MODELS / "shapes-vae-2d.pt", slot=1)
    ws.pick_pair(3, 17)
    grids, yardstick = ws.result(ws.rectangle(n=5))
    assert [g.kind for g in grids] == ["AE", "VAE"]
    for slot, grid in enumerate(grids):
        mu = ws.slots[slot].codes.mu
        assert grid.images.shape == (25, 28, 28)
        np.testing.assert_allclose(grid.codes[0], mu[3], rtol=1e-6)
        np.testing.assert_allclose(grid.codes[-1], mu[17], rtol=1e-6)
        assert grid.data_like.dtype == bool and len(grid.data_like) == 25
        like = int(grid.data_like.sum())
        assert grid_summary(grid).startswith(f"{grid.kind}: {like} of 25 cells")
    assert yardstick is not None and 0.0 <= yardstick.noise <= 1.0
