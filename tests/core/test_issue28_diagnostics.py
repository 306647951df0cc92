"""Issue 28, defect 1: KL(q(z) ‖ p(z)) of codes far from the origin is finite.

An AE's codes (the shipped ``mnist-ae-8d.pt``'s reach |z| ≈ 20) make the grid
reach where ``p(z) = exp(-r²/2)/2π`` underflows to 0 (r ≳ 38.6); ``log p`` must
come from its closed form there, not from the underflowed density."""

from __future__ import annotations

import math

import numpy as np
import pytest

from latentlab.core.analysis.diagnostics import aggregate_posterior, scott_bandwidth
from latentlab.core.latent import Codes

MODELS = __import__("pathlib").Path(__file__).resolve().parents[2] / "models"


def test_kl_of_one_far_gaussian_is_its_closed_form():
    # q = N((30, 0), I) exactly (every code the same): KL(q ‖ N(0, I)) = |m|²/2.
    mu = np.tile(np.array([[30.0, 0.0]], np.float32), (50, 1))
    agg = aggregate_posterior(Codes(mu, np.ones_like(mu)), n=128)
    r = agg.rect
    corner = max(math.hypot(x, y) for x in (r.x0, r.x1) for y in (r.y0, r.y1))
    assert corner > 38.6, "the grid reaches where p(z) underflows"
    assert math.isfinite(agg.kl) and math.isfinite(agg.kl_coarse)
    assert agg.kl == pytest.approx(450.0, rel=1e-3)
    assert agg.kl_coarse == pytest.approx(450.0, rel=1e-3)
    assert "inf" not in agg.kl_text


def test_kl_of_a_wide_ae_cloud_matches_monte_carlo():
    # AE codes spread like the 8-D AE's (std ≈ 6, tails past ±25): KDE q.
    rng = np.random.default_rng(5)
    mu = rng.standard_normal((800, 2)) * [6.0, 5.0] + [-3.0, 1.0]
    mu[:4] = [[-26.0, -25.0], [24.0, 22.0], [-25.0, 20.0], [23.0, -24.0]]
    agg = aggregate_posterior(Codes(mu.astype(np.float32), None), n=192)
    assert math.isfinite(agg.kl)
    # Monte Carlo: z ~ q (the KDE), KL = E_q[log q(z) - log p(z)], log q exact.
    m64 = mu.astype(np.float32).astype(np.float64)
    h = scott_bandwidth(m64)
    pick = rng.integers(0, len(m64), 20000)
    z = m64[pick] + h * rng.standard_normal((20000, 2))
    u = (z[:, None, :] - m64[None]) / h
    log_comp = (-0.5 * u**2 - np.log(h) - 0.5 * math.log(2 * math.pi)).sum(-1)
    top = log_comp.max(1, keepdims=True)
    log_q = np.log(np.exp(log_comp - top).mean(1)) + top[:, 0]
    log_p = -0.5 * (z**2).sum(1) - math.log(2 * math.pi)
    diff = log_q - log_p
    mc, se = diff.mean(), diff.std() / math.sqrt(len(diff))
    assert agg.kl == pytest.approx(mc, abs=4 * se + 0.05)


def test_shipped_8d_ae_states_a_finite_kl(mnist):
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.latent import encode_images

    model = load_checkpoint(MODELS / "mnist-ae-8d.pt").model.eval()
    agg = aggregate_posterior(encode_images(model, mnist.test_images), (0, 1))
    assert math.isfinite(agg.kl) and agg.kl > 0
    assert abs(agg.kl - agg.kl_coarse) < 0.05 * agg.kl
    assert "(2-D marginal of dims 1, 2)" in agg.kl_text
    assert " inf " not in agg.kl_text
