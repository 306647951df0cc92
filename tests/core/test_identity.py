"""The expectation moves outside the derivative: both sides measured, on a
function whose gradient is known in closed form and on a shipped VAE."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.core.analysis.identity import (
    IDENTITY_K,
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


def test_over_the_plane_the_left_side_is_the_exact_gradient():
    mu, sigma = np.array([0.5, -1.0]), np.array([0.4, 1.3])
    check = expectation_identity(quadratic, mu, sigma, 4000, seed=0)
    exact = exact_gradient(mu, sigma)
    # Gauss-Hermite is exact for a quadratic times the score's polynomial.
    np.testing.assert_allclose(check.lhs, exact, atol=1e-9)
    assert np.all(check.lhs_se < 1e-9)
    assert np.all(np.abs(check.rhs - exact) < 4 * check.rhs_se)
    assert "quadrature" in check.left_method


@pytest.mark.parametrize("seed", [0, 1])
def test_in_more_dims_the_left_side_draws_its_own_samples(seed):
    a = torch.tensor([1.5, -0.5, 0.8], dtype=torch.float64)
    c = torch.tensor([0.3, 2.0, -1.0], dtype=torch.float64)

    def f(z):
        return -(a * (z - c).square()).sum(1) + z.prod(1)

    mu, sigma = np.array([0.5, -1.0, 0.2]), np.array([0.4, 1.3, 0.7])
    # E[z1 z2 z3] = mu1 mu2 mu3 (independent dims): no sigma in it.
    products = np.array([mu[1] * mu[2], mu[0] * mu[2], mu[0] * mu[1]])
    exact = np.concatenate(
        [-2 * a.numpy() * (mu - c.numpy()) + products, -2 * a.numpy() * sigma]
    )
    check = expectation_identity(f, mu, sigma, 4000, seed=seed)
    assert "independent draws" in check.left_method
    assert np.all(check.lhs_se > 0)  # the other dims' draws vary the product
    assert np.all(np.abs(check.lhs - exact) < 4 * check.lhs_se + 1e-9)
    assert np.all(np.abs(check.rhs - exact) < 4 * check.rhs_se)
    assert check.verdict.agree


class _TenPercentOff(torch.autograd.Function):
    """The identity's value, with a gradient 10 % too large."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return 1.1 * grad


def _shipped(name: str, index: int):
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.data import make_shapes
    from latentlab.core.latent import encode_images
    from latentlab.qt.app import MODELS_DIR

    model = load_checkpoint(MODELS_DIR / name).model
    image = make_shapes().test_images[index]
    codes = encode_images(model, image[None])
    return log_likelihood_of(model, image), codes.mu[0], codes.sigma[0]


def test_the_check_fails_on_a_gradient_ten_percent_off():
    """The left side is not a rearrangement of the right: with the path
    gradient made 10 % too large (f's values unchanged), the check says so at
    the tab's default K; with the true gradient, it agrees."""
    f, mu, sigma = _shipped("shapes-vae-2d.pt", 3)
    right = expectation_identity(f, mu, sigma, IDENTITY_K, seed=0)
    assert right.verdict.agree, right.verdict.text(component_names(2))
    wrong = expectation_identity(
        lambda z: _TenPercentOff.apply(f(z)), mu, sigma, IDENTITY_K, seed=0
    )
    np.testing.assert_allclose(wrong.lhs, right.lhs)  # no derivative of f used
    np.testing.assert_allclose(wrong.rhs, 1.1 * right.rhs)
    assert not wrong.verdict.agree
    assert "do NOT agree" in wrong.verdict.text(component_names(2))


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
    f, mu, sigma = _shipped("shapes-vae-2d.pt", 5)
    check = expectation_identity(f, mu, sigma, 512, seed=0)
    assert check.verdict.comparable
    assert check.verdict.agree, check.verdict.text(component_names(2))
