"""log p(x): quadrature against closed forms, IS against quadrature, the bound."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from latentlab.core.analysis.likelihood import (
    Region,
    bound_terms,
    importance_log_px,
    likelihood_report,
    quadrature_log_px,
)
from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.errors import ConfigError
from latentlab.core.training import evaluate

MODELS = Path(__file__).resolve().parents[2] / "models"


def run(gen):
    fractions = []
    while True:
        try:
            fractions.append(next(gen))
        except StopIteration as stop:
            return stop.value, fractions


class ProbitPixel(torch.nn.Module):
    """One Bernoulli pixel with P(x = 1 | z) = Φ(a·z + c), z ∈ R².

    Then p(x = 1) = ∫ Φ(a·z + c) N(z; 0, I) dz = Φ(c / sqrt(1 + |a|²)): the
    closed form the quadrature must match. Same ``decode_logits`` interface as
    the models (logits = log Φ(u) − log Φ(−u)).
    """

    def __init__(self, a, c) -> None:
        super().__init__()
        self.a = torch.tensor(a, dtype=torch.float64)
        self.c = float(c)
        self.config = SimpleNamespace(latent_dim=2)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        u = z.double() @ self.a + self.c
        logits = torch.special.log_ndtr(u) - torch.special.log_ndtr(-u)
        return logits.float()[:, None]

    def exact(self, x: int) -> float:
        s = self.c / math.sqrt(1.0 + float(self.a @ self.a))
        p1 = 0.5 * math.erfc(-s / math.sqrt(2.0))
        return math.log(p1 if x == 1 else 1.0 - p1)


@pytest.mark.parametrize(
    ("a", "c"),
    [((0.5, -1.0), 0.3), ((15.0, 10.0), 2.0), ((0.0, 40.0), -30.0)],
    ids=["smooth", "steep edge", "far edge"],
)
def test_quadrature_matches_the_closed_form(a, c):
    toy = ProbitPixel(a, c)
    x = torch.tensor([[[1.0]], [[0.0]]])
    res, fractions = run(
        quadrature_log_px(toy, x, region=Region(-7.0, -7.0, 7.0, 7.0), tol=0.005)
    )
    assert res.converged.all()
    assert fractions[-1] == 1.0
    for i, xv in enumerate((1, 0)):
        assert res.log_px[i] == pytest.approx(toy.exact(xv), abs=0.01), (xv, res)


@pytest.fixture(scope="module")
def shapes_vae():
    return load_checkpoint(MODELS / "shapes-vae-2d.pt").model.eval()


def test_importance_sampling_converges_to_the_quadrature(shapes, shapes_vae):
    images = shapes.test_images[:12]
    quad, _ = run(quadrature_log_px(shapes_vae, images))
    errors, ess = [], []
    for k in (8, 128, 4096):
        est, _ = run(importance_log_px(shapes_vae, images, k, seed=1))
        errors.append(float(np.median(np.abs(est.log_px - quad.log_px))))
        ess.append(est.median_ess)
        # IS is unbiased in p(x), so biased low in log p(x) (Jensen), on average.
        assert est.log_px.mean() <= quad.log_px.mean() + 0.02
    # The median image: a few have a second posterior mode that q(z|x) misses,
    # and there IS needs far more samples (what the ESS warning is for).
    assert errors[0] > errors[1] > errors[2], errors
    # On the shipped shapes VAE: 0.73, 0.17, 0.10 nats (median of 12 images).
    assert errors[2] < 0.2 and errors[2] < errors[0] / 5, errors
    assert ess[0] < ess[1] < ess[2]


def test_quadrature_is_below_the_best_decoded_likelihood(shapes, shapes_vae):
    """p(x) = E_p(z)[p(x|z)] <= max_z p(x|z), and >= the ELBO."""
    from latentlab.core.analysis.likelihood import log_likelihood_matrix
    from latentlab.core.data import to_float

    images = shapes.test_images[:40]
    quad, _ = run(quadrature_log_px(shapes_vae, images))
    g = np.linspace(-4.5, 4.5, 121)
    gx, gy = np.meshgrid(g, g)
    z = np.stack([gx.ravel(), gy.ravel()], 1)
    best = log_likelihood_matrix(
        shapes_vae, to_float(images).reshape(len(images), -1), z
    ).max(1)
    assert (quad.log_px <= best + 1e-3).all()
    bound = bound_terms(shapes_vae, images, samples=64)
    assert quad.log_px.mean() >= -bound.neg_elbo - 0.1


def test_report_gap_and_reconstructions(shapes, shapes_vae):
    images = shapes.test_images[:50]
    report, fractions = run(likelihood_report(shapes_vae, images, seed=0))
    assert report.method.startswith("quadrature")
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    b = report.bound
    assert report.gap == pytest.approx(report.log_px + b.recon_samples + b.kl)
    assert report.gap > 0
    recon_1, kl = evaluate(shapes_vae, images)
    assert b.kl == pytest.approx(kl, rel=1e-5)
    assert b.recon_samples == pytest.approx(recon_1, rel=0.02)
    assert b.recon_mu < b.recon_samples  # the decoder does best at the mean
    with pytest.raises(ConfigError):
        run(likelihood_report(shapes_vae, images, method="bogus"))


def test_importance_sampling_reports_a_small_ess(shapes, shapes_vae):
    res, _ = run(importance_log_px(shapes_vae, shapes.test_images[:10], 2, seed=0))
    assert res.median_ess <= 2.0
    assert "small effective sample size" in res.warning
    # ESS = (Σw)² / Σw² lies in [1, K].
    assert (res.ess >= 1.0 - 1e-9).all() and (res.ess <= 2.0 + 1e-9).all()
