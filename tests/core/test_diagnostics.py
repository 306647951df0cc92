"""Diagnostics: KL per dim and active units, traversals, the aggregated
posterior's holes and KL(q(z) ‖ p(z)); each against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latentlab.core.analysis.diagnostics import (
    HOLE_RADIUS,
    aggregate_posterior,
    scott_bandwidth,
    traversals,
    unit_stats,
)
from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.latent import Codes, encode_images
from latentlab.core.training import evaluate, new_model

MODELS = __import__("pathlib").Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def shapes_vae():
    return load_checkpoint(MODELS / "shapes-vae-2d.pt").model.eval()


def test_kl_per_dim_sums_to_the_total_kl_of_evaluate(shapes, shapes_vae):
    images = shapes.test_images[:600]
    stats = unit_stats(encode_images(shapes_vae, images))
    _, kl = evaluate(shapes_vae, images)
    assert stats.kl_per_dim.shape == (2,)
    assert stats.total_kl == pytest.approx(kl, rel=1e-4), "dims must sum to the KL"
    assert (stats.kl_per_dim > 0.5).all()
    assert stats.active_count == 2
    assert stats.n == 600


def test_a_dim_forced_to_the_prior_is_inactive_with_zero_kl(shapes):
    cfg = ModelConfig(kind="vae", latent_dim=3, hidden=(32,))
    model = new_model(cfg, seed=3).eval()
    with torch.no_grad():
        for row in (1, 3 + 1):  # mu_2 and logvar_2 of the head
            model.head.weight[row].zero_()
            model.head.bias[row].zero_()
        model.head.weight[[0, 2]] *= 20  # make the other dims clearly active
    codes = encode_images(model, shapes.test_images[:400])
    stats = unit_stats(codes)
    assert stats.kl_per_dim[1] == pytest.approx(0.0, abs=1e-6)
    assert stats.mu_variance[1] == pytest.approx(0.0, abs=1e-12)
    assert stats.active.tolist() == [True, False, True]
    assert stats.active_count == 2
    # An independent count of Burda's criterion.
    assert stats.active.tolist() == (codes.mu.var(0) > 0.01).tolist()


def test_a_dim_the_decoder_ignores_changes_nothing_along_its_traversal():
    cfg = ModelConfig(kind="vae", latent_dim=3, hidden=(16,))
    model = new_model(cfg, seed=1).eval()
    with torch.no_grad():
        model.decoder[0][0].weight[:, 2] = 0.0  # the decoder's first layer
    t = traversals(model, np.array([0.3, -0.2, 0.5], np.float32), steps=7)
    assert t.images.shape == (3, 7, 28, 28)
    np.testing.assert_allclose(t.values, np.linspace(-3, 3, 7), atol=1e-6)
    assert t.change[2] == pytest.approx(0.0, abs=1e-7)
    assert (t.change[:2] > 1e-3).all()
    # Row 0, step 3 decodes mu with z1 = 0.
    z = torch.tensor([[0.0, -0.2, 0.5]])
    np.testing.assert_allclose(
        t.images[0, 3], model.decode(z)[0, 0].detach(), atol=1e-6
    )


def _prior_codes(n: int, sigma: float, seed: int = 0) -> Codes:
    """VAE codes whose aggregate is N(0, I): mu ~ N(0, (1 - s²) I), sigma = s."""
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal((n, 2)) * math.sqrt(1 - sigma**2)
    return Codes(mu.astype(np.float32), np.full((n, 2), sigma, np.float32))


def test_hole_share_is_about_zero_for_codes_from_the_prior():
    rng = np.random.default_rng(1)
    ae = Codes(rng.standard_normal((2000, 2)).astype(np.float32), None)
    assert aggregate_posterior(ae, n=128).hole_share < 0.01
    vae = aggregate_posterior(_prior_codes(2000, 0.3), n=128)
    assert vae.hole_share < 0.01
    assert vae.kl < 0.02, "q is N(0, I) up to sampling"


def test_hole_share_is_large_for_codes_packed_in_a_small_disc():
    rng = np.random.default_rng(2)
    r = 0.5 * np.sqrt(rng.random(1000))
    t = 2 * np.pi * rng.random(1000)
    mu = np.stack([r * np.cos(t), r * np.sin(t)], 1).astype(np.float32)
    agg = aggregate_posterior(Codes(mu, np.full_like(mu, 0.1)), n=128)
    assert agg.hole_share > 0.7
    # Independently, without a grid: draw z ~ N(0, I) inside the 3σ disc and
    # count where the exact mixture density is below a tenth of the prior's.
    z = np.random.default_rng(3).standard_normal((40000, 2))
    z = z[(z**2).sum(1) <= HOLE_RADIUS**2][:20000]
    d2 = ((z[:, None, :] - mu[None].astype(np.float64)) ** 2).sum(-1)
    q = np.exp(-0.5 * d2 / 0.01).mean(1) / (2 * math.pi * 0.01)
    p = np.exp(-0.5 * (z**2).sum(1)) / (2 * math.pi)
    assert agg.hole_share == pytest.approx(float((q < 0.1 * p).mean()), abs=0.02)
    assert "q(z) < 0.1·p(z)" in agg.hole_text


def test_aggregate_kl_matches_monte_carlo(shapes, shapes_vae):
    codes = encode_images(shapes_vae, shapes.test_images[:300])
    agg = aggregate_posterior(codes, n=192)
    assert agg.mass == pytest.approx(1.0, abs=1e-3)
    # Monte Carlo: z ~ q, KL = E_q[log q(z) - log p(z)], log q exact.
    rng = np.random.default_rng(0)
    mu, sd = codes.mu.astype(np.float64), codes.sigma.astype(np.float64)
    pick = rng.integers(0, len(mu), 20000)
    z = mu[pick] + sd[pick] * rng.standard_normal((20000, 2))
    u = (z[:, None, :] - mu[None]) / sd[None]
    log_comp = (-0.5 * u**2 - np.log(sd[None]) - 0.5 * math.log(2 * math.pi)).sum(-1)
    m = log_comp.max(1, keepdims=True)
    log_q = np.log(np.exp(log_comp - m).mean(1)) + m[:, 0]
    log_p = -0.5 * (z**2).sum(1) - math.log(2 * math.pi)
    diff = log_q - log_p
    mc, se = diff.mean(), diff.std() / math.sqrt(len(diff))
    assert agg.kl == pytest.approx(mc, abs=4 * se + 0.01)
    assert abs(agg.kl - agg.kl_coarse) < 0.01


def test_ae_density_is_a_kde_with_scotts_bandwidth():
    rng = np.random.default_rng(4)
    mu = (rng.standard_normal((500, 2)) * [2.0, 0.5]).astype(np.float64)
    h = scott_bandwidth(mu)
    np.testing.assert_allclose(h, 500 ** (-1 / 6) * mu.std(0, ddof=1))
    agg = aggregate_posterior(Codes(mu.astype(np.float32), None), n=64)
    # The density at one cell centre, summed by hand.
    r = agg.rect
    x = r.x0 + 10.5 * r.width / 64
    y = r.y0 + 40.5 * r.height / 64
    k = np.exp(-0.5 * (((x - mu[:, 0]) / h[0]) ** 2 + ((y - mu[:, 1]) / h[1]) ** 2))
    expected = k.sum() / (2 * math.pi * h[0] * h[1] * len(mu))
    assert agg.density[40, 10] == pytest.approx(expected, rel=1e-9)
    assert "Scott's rule" in agg.method
