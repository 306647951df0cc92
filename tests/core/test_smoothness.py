"""Strip smoothness and nearest-training distances, against hand-made images."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.core.errors import ConfigError
from latentlab.core.smoothness import (
    chi2_quantile,
    nearest_training,
    share_in_prior_bulk,
    step_distances,
    strip_smoothness,
)


def _ramp_strip_with_a_jump(steps=12, jump_at=7):
    """A strip whose pixel 0 ramps by 0.05 per step, except one jump of 0.5."""
    strip = np.zeros((steps, 4, 4), np.float32)
    value = 0.0
    for i in range(1, steps):
        value += 0.5 if i == jump_at else 0.05
        strip[i, 0, 0] = value
    return strip


def test_step_distances_find_the_known_jump():
    strip = _ramp_strip_with_a_jump()
    l2, mae = step_distances(strip)
    assert len(l2) == 11
    np.testing.assert_allclose(l2[6], 0.5, rtol=1e-6)
    np.testing.assert_allclose(np.delete(l2, 6), 0.05, rtol=1e-5)
    np.testing.assert_allclose(mae, l2 / 16, rtol=1e-6)
    s = strip_smoothness(strip)
    assert s.max_step == pytest.approx(0.5)
    assert s.worst_step == 6
    assert s.mean_step == pytest.approx((0.5 + 10 * 0.05) / 11)
    assert s.jump_ratio == pytest.approx(0.5 / ((0.5 + 0.5) / 11))
    assert s.nearest is None and s.midpoint_nn is None


def test_an_even_strip_has_jump_ratio_one():
    t = np.linspace(0, 1, 9, dtype=np.float32)[:, None, None]
    strip = t * np.ones((1, 5, 5), np.float32)
    assert strip_smoothness(strip).jump_ratio == pytest.approx(1.0, rel=1e-5)


def test_nearest_training_is_exact_and_uses_uint8_scale():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (3000, 28, 28), dtype=np.uint8)
    queries = train[[5, 2999, 1234]].astype(np.float64) / 255.0
    queries[1, 0, :10] = np.clip(queries[1, 0, :10] + 0.1, 0, 1)
    nn = nearest_training(queries, torch.from_numpy(train), chunk=1000)
    np.testing.assert_array_equal(nn.index, [5, 2999, 1234])
    assert nn.distance[0] == pytest.approx(0.0, abs=1e-9)
    expected = np.linalg.norm(queries[1] - train[2999] / 255.0)
    assert nn.distance[1] == pytest.approx(expected, rel=1e-9)


def test_strip_midpoint_distances(mnist):
    train = mnist.train_images[:500]
    a = train[10].numpy() / 255.0
    b = train[20].numpy() / 255.0
    t = np.linspace(0, 1, 12)[:, None, None]
    strip = (1 - t) * a + t * b  # a pixel cross-fade: the ends are data
    s = strip_smoothness(strip, train)
    assert s.nearest.distance[0] == pytest.approx(0.0, abs=1e-9)
    assert s.nearest.distance[-1] == pytest.approx(0.0, abs=1e-9)
    assert s.endpoint_nn == pytest.approx(0.0, abs=1e-9)
    # A cross-fade's middle is a ghost of two digits, away from every image.
    assert s.midpoint_nn > 1.0
    assert s.interior_nn_max >= s.midpoint_nn
    assert s.jump_ratio == pytest.approx(1.0, rel=1e-6)


def test_mismatched_sizes_are_reported():
    with pytest.raises(ConfigError, match="pixels"):
        nearest_training(np.zeros((2, 4, 4)), np.zeros((3, 5, 5), np.uint8))
    with pytest.raises(ConfigError, match="at least 2"):
        step_distances(np.zeros((1, 4, 4)))


def test_chi2_quantile_matches_closed_forms():
    assert chi2_quantile(0.95, 2) == pytest.approx(-2 * np.log(0.05), rel=1e-9)
    assert chi2_quantile(0.95, 1) == pytest.approx(1.959963984540054**2, rel=1e-9)
    assert chi2_quantile(0.5, 10) == pytest.approx(9.341818, rel=1e-6)


def test_share_in_prior_bulk_of_prior_draws_is_the_level():
    z = np.random.default_rng(0).standard_normal((200_000, 3))
    assert share_in_prior_bulk(z, 0.95) == pytest.approx(0.95, abs=0.003)
    assert share_in_prior_bulk(z * 10, 0.95) < 0.05
