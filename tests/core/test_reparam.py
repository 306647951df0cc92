"""The reparameterization maths, measured: path gradients and estimator variances."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.core.config import ModelConfig, TrainConfig
from latentlab.core.latent import draw_eps, posterior_samples
from latentlab.core.models import reparameterize
from latentlab.core.reparam import (
    estimator_variances,
    log_likelihood,
    path_gradients,
    per_sample_terms,
)
from latentlab.core.training import new_model, train


@pytest.fixture(scope="module")
def mnist_vae(mnist):
    """A 2-D VAE trained 3 epochs on the real MNIST subset (~1-2 s)."""
    model = new_model(ModelConfig(kind="vae", latent_dim=2), seed=0)
    gen = train(model, mnist, TrainConfig(epochs=3, batch_size=128, seed=0))
    for _ in gen:
        pass
    model.eval()
    return model


def test_fixed_eps_shifting_mu_moves_every_sample_by_the_shift():
    gen = torch.Generator().manual_seed(0)
    eps = draw_eps(64, 2, gen)
    mu, sigma, delta = (
        np.array([0.3, -1.2]),
        np.array([0.5, 2.0]),
        np.array([1.5, -0.25]),
    )
    before = posterior_samples(mu, sigma, eps)
    after = posterior_samples(mu + delta, sigma, eps)
    np.testing.assert_allclose(after.z - before.z, np.tile(delta, (64, 1)), atol=1e-6)
    np.testing.assert_array_equal(after.eps, before.eps)


def test_fixed_eps_scaling_sigma_scales_the_offsets():
    eps = draw_eps(32, 2, torch.Generator().manual_seed(1))
    mu, sigma = np.array([0.3, -1.2]), np.array([0.5, 2.0])
    base = posterior_samples(mu, sigma, eps)
    for k in (0.0, 0.5, 2.5, np.array([3.0, 0.25])):
        scaled = posterior_samples(mu, sigma, eps, sigma_scale=k)
        np.testing.assert_allclose(
            scaled.z - mu, (base.z - mu) * k, rtol=1e-6, atol=1e-6
        )


def test_path_gradients_are_one_and_eps_by_autograd():
    eps = draw_eps(16, 3, torch.Generator().manual_seed(2))
    mu, sigma = np.array([0.1, 0.2, -0.3]), np.array([0.7, 1.1, 0.05])
    grads = path_gradients(mu, sigma, eps)
    np.testing.assert_array_equal(grads.dz_dmu, np.ones_like(eps))
    np.testing.assert_allclose(grads.dz_dsigma, eps, rtol=1e-6)
    # The same z as the model's own reparameterize (logvar = 2 log sigma).
    z_model = reparameterize(
        torch.tensor(mu, dtype=torch.float32),
        torch.tensor(2 * np.log(sigma), dtype=torch.float32),
        torch.from_numpy(eps),
    )
    np.testing.assert_allclose(grads.z, z_model.numpy(), rtol=1e-5, atol=1e-6)
    assert grads.dlogp_dmu is None


def test_log_likelihood_gradients_follow_the_chain_rule(mnist_vae, mnist):
    x = mnist.test_images[3]
    eps = draw_eps(8, 2, torch.Generator().manual_seed(3))
    mu, sigma = np.array([0.2, -0.4]), np.array([0.3, 0.6])
    grads = path_gradients(mu, sigma, eps, mnist_vae, x)
    # d log p / d sigma = d log p / dz * eps, since dz / dsigma = eps.
    np.testing.assert_allclose(
        grads.dlogp_dsigma, grads.dlogp_dmu * eps, rtol=1e-4, atol=1e-4
    )
    xt = x.to(torch.float32).div(255).reshape(1, 1, 28, 28)
    with torch.no_grad():
        lp = log_likelihood(mnist_vae, torch.from_numpy(grads.z), xt)
    np.testing.assert_allclose(grads.logp, lp.numpy(), rtol=1e-5)
    # A finite difference in mu agrees with autograd for sample 0.
    h = 1e-2
    zp = torch.from_numpy(grads.z[:1] + np.array([[h, 0.0]], np.float32))
    zm = torch.from_numpy(grads.z[:1] - np.array([[h, 0.0]], np.float32))
    with torch.no_grad():
        fd = (log_likelihood(mnist_vae, zp, xt) - log_likelihood(mnist_vae, zm, xt)) / (
            2 * h
        )
    assert float(fd[0]) == pytest.approx(
        float(grads.dlogp_dmu[0, 0]), rel=0.05, abs=0.5
    )


def test_score_terms_use_the_gaussian_score():
    model = new_model(ModelConfig(kind="vae", latent_dim=2, hidden=(16,)), seed=0)
    x = torch.rand(1, 1, 28, 28)
    mu, sigma = torch.tensor([0.5, -0.5]), torch.tensor([2.0, 0.5])
    eps = torch.randn(10, 2, generator=torch.Generator().manual_seed(4))
    terms = per_sample_terms(model, x, mu, sigma, eps)
    z = mu + sigma * eps
    # d/dmu log N(z; mu, sigma) = (z - mu) / sigma^2 = eps / sigma.
    np.testing.assert_allclose(
        terms.grad_log_q[:, :2], ((z - mu) / sigma**2).numpy(), rtol=1e-5
    )
    # d/dsigma log N = -1/sigma + (z - mu)^2 / sigma^3.
    expected = -1 / sigma + (z - mu) ** 2 / sigma**3
    np.testing.assert_allclose(terms.grad_log_q[:, 2:], expected.numpy(), rtol=1e-4)
    np.testing.assert_allclose(terms.score, terms.f[:, None] * terms.grad_log_q)


def test_reparam_variance_is_lower_than_score_function_at_every_count(mnist_vae, mnist):
    counts = (1, 4, 16, 64, 256, 1024)
    for index in (0, 7):
        result = estimator_variances(
            mnist_vae,
            mnist.test_images[index],
            counts,
            repeats=24,
            generator=torch.Generator().manual_seed(index),
        )
        assert list(result.counts) == list(counts)
        assert (result.var_reparam < result.var_score).all(), (
            f"input {index}: reparam {result.var_reparam} vs score {result.var_score}"
        )
        assert (result.var_reparam < result.var_score_baseline).all(), (
            f"input {index}: even the baseline score estimator should be noisier"
        )
        # Both estimate the same gradient: the pooled means agree within 4 s.e.
        se = np.sqrt(result.se_reparam**2 + result.se_score**2)
        assert (np.abs(result.grad_reparam - result.grad_score) < 4 * se + 1e-6).all()
        # A mean of S samples: the variance falls about as 1 / S.
        slope = np.polyfit(np.log(result.counts), np.log(result.var_reparam), 1)[0]
        assert slope == pytest.approx(-1.0, abs=0.2)


def test_estimator_variances_can_be_stopped(mnist_vae, mnist):
    result = estimator_variances(
        mnist_vae, mnist.test_images[0], (1, 4), repeats=4, should_stop=lambda: True
    )
    assert result is None
