"""Models and losses: the reparameterization, the KL, learning, shared backbones."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from latentlab.core.config import ModelConfig
from latentlab.core.data import make_shapes, to_float
from latentlab.core.losses import gaussian_kl, gaussian_kl_per_dim, loss_terms
from latentlab.core.models import (
    VAE,
    Autoencoder,
    _SubpixelConvTranspose2d,
    build_model,
    reparameterize,
)
from latentlab.core.training import new_model

SMALL = {"hidden": (64, 32)}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_reparameterize_with_zero_eps_is_mu() -> None:
    mu = torch.randn(5, 3, generator=_gen(1))
    logvar = torch.randn(5, 3, generator=_gen(2))
    z = reparameterize(mu, logvar, torch.zeros_like(mu))
    assert torch.equal(z, mu), "eps = 0 must give z = mu exactly"


def test_reparameterize_fixed_eps_is_reproducible() -> None:
    mu = torch.randn(4, 2, generator=_gen(1))
    logvar = torch.randn(4, 2, generator=_gen(2))
    eps = torch.randn(4, 2, generator=_gen(3))
    assert torch.equal(reparameterize(mu, logvar, eps), reparameterize(mu, logvar, eps))
    # z = mu + sigma * eps, with sigma = exp(logvar / 2)
    expected = mu + torch.exp(0.5 * logvar) * eps
    torch.testing.assert_close(reparameterize(mu, logvar, eps), expected)


def test_reparameterize_seeded_generator_is_reproducible() -> None:
    mu = torch.zeros(1000, 2)
    logvar = torch.zeros(1000, 2)
    a = reparameterize(mu, logvar, generator=_gen(7))
    b = reparameterize(mu, logvar, generator=_gen(7))
    c = reparameterize(mu, logvar, generator=_gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # With mu = 0 and sigma = 1 the draws are standard normal.
    assert abs(a.mean().item()) < 0.1
    assert abs(a.std().item() - 1.0) < 0.1


def test_reparameterize_gradients_follow_the_chain_rule() -> None:
    """dz/dmu = 1 and dz/dsigma = eps, through logvar = 2 log sigma."""
    mu = torch.randn(6, 3, generator=_gen(1)).requires_grad_()
    sigma = (torch.rand(6, 3, generator=_gen(2)) + 0.1).requires_grad_()
    eps = torch.randn(6, 3, generator=_gen(3))
    z = reparameterize(mu, 2.0 * torch.log(sigma), eps)
    torch.testing.assert_close(z, mu + sigma * eps)
    z.sum().backward()
    assert mu.grad is not None and sigma.grad is not None
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(sigma.grad, eps)


def test_reparameterize_gradient_wrt_logvar() -> None:
    """dz/dlogvar = sigma * eps / 2."""
    mu = torch.zeros(4, 2)
    logvar = torch.randn(4, 2, generator=_gen(4)).requires_grad_()
    eps = torch.randn(4, 2, generator=_gen(5))
    reparameterize(mu, logvar, eps).sum().backward()
    assert logvar.grad is not None
    torch.testing.assert_close(
        logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * eps
    )


def test_kl_is_zero_at_the_prior() -> None:
    kl = gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4))
    assert kl.shape == (3,)
    assert torch.equal(kl, torch.zeros(3))


def test_kl_per_dim_sums_to_kl() -> None:
    mu = torch.randn(5, 4, generator=_gen(1))
    logvar = torch.randn(5, 4, generator=_gen(2))
    per_dim = gaussian_kl_per_dim(mu, logvar)
    assert per_dim.shape == (5, 4)
    assert (per_dim >= 0).all(), "each dimension's KL is non-negative"
    torch.testing.assert_close(per_dim.sum(-1), gaussian_kl(mu, logvar))


def test_kl_matches_monte_carlo() -> None:
    """Closed form vs E_q[log q(z) - log p(z)] from 200k samples, within 4 SE.

    The draw is seeded, so the test is deterministic; 4 standard errors leaves a
    chance of about 6e-5 that an unlucky seed fails a correct formula.
    """
    mu = torch.tensor([[0.7, -1.2, 0.1]], dtype=torch.float64)
    logvar = torch.tensor([[-0.5, 0.8, -2.0]], dtype=torch.float64)
    sigma = torch.exp(0.5 * logvar)
    eps = torch.randn(200_000, 3, generator=_gen(0), dtype=torch.float64)
    z = mu + sigma * eps
    log_q = (-0.5 * eps.pow(2) - torch.log(sigma)).sum(-1)  # 2*pi terms cancel
    log_p = (-0.5 * z.pow(2)).sum(-1)
    samples = log_q - log_p
    mc = samples.mean().item()
    se = samples.std().item() / math.sqrt(len(samples))
    closed = gaussian_kl(mu, logvar).item()
    print(f"KL closed form {closed:.4f}, Monte Carlo {mc:.4f} +- {se:.4f}")
    assert abs(mc - closed) < 4 * se, (closed, mc, se)


def test_loss_terms_of_an_ae_have_zero_kl() -> None:
    logits = torch.zeros(2, 1, 4, 4)
    x = torch.full((2, 1, 4, 4), 0.5)
    terms = loss_terms(logits, x, torch.zeros(2, 2), None)
    # BCE at logit 0 is log 2 per pixel, 16 pixels.
    torch.testing.assert_close(terms.recon, torch.tensor(16 * math.log(2.0)))
    assert terms.kl.item() == 0.0
    assert torch.equal(terms.loss, terms.recon)
    assert torch.equal(terms.neg_elbo, terms.recon)


def test_loss_terms_weight_kl_by_beta_but_report_the_elbo() -> None:
    logits = torch.zeros(2, 1, 4, 4)
    x = torch.ones(2, 1, 4, 4)
    mu = torch.ones(2, 2)
    logvar = torch.zeros(2, 2)
    terms = loss_terms(logits, x, mu, logvar, beta=4.0)
    torch.testing.assert_close(terms.kl, torch.tensor(1.0))  # 0.5 * (1 + 1)
    torch.testing.assert_close(terms.loss, terms.recon + 4.0 * terms.kl)
    torch.testing.assert_close(terms.neg_elbo, terms.recon + terms.kl)


@pytest.mark.parametrize("backbone", ["mlp", "conv"])
@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_loss_falls_within_50_steps(kind: str, backbone: str) -> None:
    data = make_shapes(n_train=64, n_test=1, seed=5)
    x = to_float(data.train_images)
    model = new_model(ModelConfig(kind=kind, backbone=backbone, **SMALL), seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = _gen(0)
    losses = []
    for _ in range(50):
        enc = model.encode(x)
        eps = None if enc.logvar is None else torch.randn(enc.mu.shape, generator=gen)
        terms = loss_terms(
            model.decode_logits(model.sample_z(enc, eps)), x, enc.mu, enc.logvar
        )
        opt.zero_grad()
        terms.loss.backward()
        opt.step()
        losses.append(terms.loss.item())
    first, last = losses[0], sum(losses[-5:]) / 5
    print(f"{kind}/{backbone}: loss {first:.1f} -> {last:.1f} nats")
    assert all(math.isfinite(v) for v in losses)
    # An untrained decoder outputs ~0.5 everywhere: 784 * log 2 = 543 nats. 50 full
    # steps learn at least the mostly-black background; measured a drop to 0.2-0.4x.
    assert last < 0.6 * first, losses


@pytest.mark.parametrize("backbone", ["mlp", "conv"])
def test_ae_and_vae_share_the_backbone(backbone: str) -> None:
    ae = build_model(ModelConfig(kind="ae", backbone=backbone, latent_dim=3, **SMALL))
    vae = build_model(ModelConfig(kind="vae", backbone=backbone, latent_dim=3, **SMALL))
    assert type(ae) is Autoencoder and not ae.is_variational
    assert type(vae) is VAE and vae.is_variational
    ae_shapes = {k: tuple(v.shape) for k, v in ae.state_dict().items()}
    vae_shapes = {k: tuple(v.shape) for k, v in vae.state_dict().items()}
    assert ae_shapes.keys() == vae_shapes.keys()
    differ = sorted(k for k in ae_shapes if ae_shapes[k] != vae_shapes[k])
    assert differ == ["head.bias", "head.weight"], "only the head may differ"
    assert vae_shapes["head.weight"][0] == 2 * ae_shapes["head.weight"][0] == 6
    assert vae_shapes["head.weight"][1] == ae_shapes["head.weight"][1]


@pytest.mark.parametrize("backbone", ["mlp", "conv"])
def test_forward_shapes_and_encoding(backbone: str) -> None:
    cfg = ModelConfig(kind="vae", backbone=backbone, latent_dim=4, **SMALL)
    model = new_model(cfg, seed=1)
    x = torch.rand(5, 1, 28, 28, generator=_gen(0))
    out = model(x)
    assert out.logits.shape == x.shape
    assert out.z.shape == out.mu.shape == (5, 4)
    assert out.logvar is not None and out.logvar.shape == (5, 4)
    enc = model.encode(x)
    assert enc.sigma is not None
    torch.testing.assert_close(enc.sigma, torch.exp(0.5 * enc.logvar))
    images = model.decode(out.z)
    assert images.shape == x.shape
    assert ((images >= 0) & (images <= 1)).all()
    ae = new_model(ModelConfig(kind="ae", backbone=backbone, latent_dim=4, **SMALL))
    ae_enc = ae.encode(x)
    assert ae_enc.logvar is None and ae_enc.sigma is None
    assert torch.equal(ae.sample_z(ae_enc), ae_enc.mu)


def test_new_model_is_seeded_and_leaves_global_rng_alone() -> None:
    cfg = ModelConfig(**SMALL)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = new_model(cfg, seed=4)
    after = torch.rand(3)
    b = new_model(cfg, seed=4)
    c = new_model(cfg, seed=5)
    assert torch.equal(before, after), "new_model must not consume the global RNG"
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert not torch.equal(a.head.weight, c.head.weight)


@pytest.mark.parametrize("channels", [1, 3])
def test_the_fast_last_layer_equals_a_transposed_convolution(channels: int) -> None:
    torch.manual_seed(0)
    fast = _SubpixelConvTranspose2d(32, channels, 4, stride=2, padding=1).eval()
    plain = nn.ConvTranspose2d(32, channels, 4, stride=2, padding=1)
    plain.load_state_dict(fast.state_dict())
    x = torch.randn(5, 32, 7, 9)
    with torch.no_grad():
        expected = plain(x)
        np.testing.assert_allclose(fast(x), expected, atol=1e-5)
        # As a fused optimizer does: in place, without bumping the version.
        fast.weight.data.mul_(2.0)
        doubled = plain(x) * 2 - plain.bias.view(1, -1, 1, 1)
        np.testing.assert_allclose(fast(x), doubled, atol=1e-5)
    fast.train()
    native = nn.functional.conv_transpose2d(x, fast.weight, fast.bias, 2, 1)
    assert torch.equal(fast(x), native)  # training keeps torch's own kernel
