"""The expectation moves outside the derivative: both sides measured, on a
function whose gradient is known in closed form and on a shipped VAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.core.analysis.identity import (
    agreement,
    component_names,
    expectation_identity,
    log_likelihood_of,
    without_the_trick,
)

A = torch.tensor([1.5, -0.5], dtype=torch.float64)
C = torch.tensor([0.3, 2.0], dtype=torch.float64)


def quadratic(z: torch.Tensor) -> torch.Tensor:
    """f(z) = -sum a_j (z_j - c_j)^2: E_q f = -sum a_j ((mu_j - c_j)^2 + sigma_j^2)."""
    return -(A.to(z.dtype) * (z - C.to(z.dtype)).square()).sum(1)


def exact_gradient(mu, sigma):
    a, c = A.numpy(), C.numpy()
    return np.concatenate([-2 * a * (mu - c), -2 * a * sigma])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_both_sides_agree_with_the_exact_gradient(seed):
    mu, sigma = np.array([0.5, -1.0]), np.array([0.4, 1.3])
    check = expectation_identity(quadratic, mu, sigma, 4000, seed=seed)
    exact = exact_gradient(mu, sigma)
    # 4 components x 2 sides x 3 seeds: a 3-SE bound would fail by chance about
    # once in 20 runs of the file (seed 0's mu_2 sits at 3.1 SE); 4 SE, 1 in 700.
    assert np.all(np.abs(check.lhs - exact) < 4 * check.lhs_se)
    assert np.all(np.abs(check.rhs - exact) < 4 * check.rhs_se)
    assert check.verdict.agree
    assert "agree" in check.verdict.text(component_names(2))


def test_the_statement_follows_the_numbers():
    # Two estimates that differ by 10 standard errors must not be called equal.
    verdict = agreement([1.0, 2.0], [0.01, 0.01], [1.0, 2.2], [0.01, 0.01])
    assert not verdict.agree
    assert "do NOT agree" in verdict.text(component_names(1))
    assert verdict.gaps[1] == pytest.approx(0.2 / np.sqrt(2e-4))


def test_without_the_trick_autograd_gives_no_gradient():
    res = without_the_trick(quadratic, [0.5, -1.0], [0.4, 1.3], 20000, seed=0)
    assert not res.z_requires_grad
    assert res.grad_mu is None and res.grad_sigma is None
    # The score function still estimates the right gradient, with large error.
    exact = exact_gradient(np.array([0.5, -1.0]), np.array([0.4, 1.3]))
    assert np.all(np.abs(res.score - exact) < 4 * res.score_se)


def test_the_identity_holds_for_a_shipped_vae():
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.data import make_shapes
    from latentlab.core.latent import encode_images
    from latentlab.qt.app import MODELS_DIR

    model = load_checkpoint(MODELS_DIR / "shapes-vae-2d.pt").model
    image = make_shapes().test_images[3]
    codes = encode_images(model, image[None])
    f = log_likelihood_of(model, image)
    check = expectation_identity(f, codes.mu[0], codes.sigma[0], 512, seed=0)
    assert check.verdict.comparable
    assert check.verdict.agree, check.verdict.text(component_names(2))
    # With common random numbers each quotient is nearly the path gradient.
    np.testing.assert_allclose(check.lhs, check.rhs, rtol=1e-3, atol=1e-3)
