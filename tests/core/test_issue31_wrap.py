"""Issue 31: any encoder/decoder module through ``latentlab.wrap``, and the
headless API's figures against independent computations on the user's own
module (not through LatentLab's reading of it)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch

import latentlab
from latentlab.core.errors import ConfigError
from tests.byo_models import (
    ConvVAE64,
    ExampleVAE,
    KerasAE,
    PythaeShaped,
    blobs,
    callables,
)


@pytest.fixture(scope="module")
def conv_vae():
    torch.manual_seed(0)
    return ConvVAE64().eval()


@pytest.fixture(scope="module")
def colour_images():
    x, y = blobs(24, (3, 64, 64))
    return x * 2 - 1, y  # the tanh model's pixels


def test_importing_latentlab_loads_neither_torch_nor_qt():
    code = (
        "import sys, latentlab\n"
        "names = latentlab.__all__\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'PySide6', 'pyqtgraph', 'superqt', 'numpy')]\n"
        "print(len(names), bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    count, bad = out.stdout.split(" ", 1)
    assert bad.strip() == "[]"
    assert int(count) == 14  # the documented surface, __version__ included


def test_the_public_names_are_documented_with_an_example():
    for name in latentlab.__all__:
        if name == "__version__":
            continue
        doc = getattr(latentlab, name).__doc__ or ""
        assert "Example" in doc or ">>>" in doc, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        latentlab.nope  # noqa: B018


# --- inference: only what is unambiguous ------------------------------------------


def test_a_vanilla_vae_shaped_module_is_read_as_its_conventions_say(conv_vae):
    with pytest.raises(ConfigError, match=r"image_shape=\(channels, height, width\)"):
        latentlab.wrap(conv_vae)
    model = latentlab.wrap(conv_vae, image_shape=(3, 64, 64))
    assert model.config.kind == "vae"
    assert model.latent_dim == 4
    assert model.module_range == (-1.0, 1.0)  # its final Tanh
    assert (
        model.config.likelihood == "gaussian"
    )  # a Bernoulli on [-1, 1] is meaningless
    assert not conv_vae.training  # batch norm as at test time


def test_what_cannot_be_inferred_is_asked_for_by_name():
    with pytest.raises(ConfigError, match="likelihood='bernoulli'"):
        latentlab.wrap(PythaeShaped())  # sigmoid: BCE or MSE?
    with pytest.raises(ConfigError, match=r"value_range=\(0, 1\)"):
        latentlab.wrap(callables(squash=False), image_shape=(1, 16, 16))
    with pytest.raises(ConfigError, match="scale must be one of"):
        latentlab.wrap(KerasAE(), scale="std")
    with pytest.raises(ConfigError, match="kind='vae' but the encoder returns one"):
        latentlab.wrap(KerasAE(), kind="vae", likelihood="bernoulli")
    with pytest.raises(ConfigError, match="check image_shape"):
        latentlab.wrap(KerasAE(), image_shape=(1, 8, 8), likelihood="bernoulli")
    with pytest.raises(ConfigError, match="needs pixels in"):
        latentlab.wrap(ConvVAE64(), image_shape=(3, 64, 64), likelihood="bernoulli")


@pytest.mark.parametrize(
    ("module", "kind", "found"),
    [
        (PythaeShaped(), "vae", "encoder/decoder submodules"),
        (KerasAE(), "ae", "encoder/decoder submodules"),
        (ExampleVAE(), "vae", "encode/decode methods"),
        (callables(), "ae", "a pair of callables"),
    ],
)
def test_each_convention_gives_the_modules_own_codes_and_images(module, kind, found):
    model = latentlab.wrap(module, likelihood="bernoulli", image_shape=(1, 16, 16))
    assert model.config.kind == kind and found in model.name
    x, _ = blobs(8)
    enc = model.encode(x)
    if isinstance(module, tuple):
        mu, image = module[0](x), module[1](enc.mu)
    elif isinstance(module, ExampleVAE):
        mu, logvar = module.encode(x)
        image = module.decode(enc.mu).reshape(8, 1, 16, 16)
        torch.testing.assert_close(enc.logvar, logvar)
    elif isinstance(module, PythaeShaped):
        out = module.encoder(x)
        mu, image = out.embedding, module.decoder(enc.mu).reconstruction
        torch.testing.assert_close(enc.logvar, out.log_covariance)
    else:
        mu, image = module.encoder(x), module.decoder(enc.mu)
    torch.testing.assert_close(enc.mu, mu)
    torch.testing.assert_close(model.mean_image(enc.mu), image)


class SigmaVAE(ExampleVAE):
    """An encoder whose second output is σ itself (positive)."""

    def encode(self, x):
        mu, s = super().encode(x)
        return mu, torch.nn.functional.softplus(s)


@pytest.mark.parametrize("scale", ["log_var", "log_sigma", "sigma"])
def test_the_encoders_second_output_is_read_as_told(scale):
    module = SigmaVAE()
    model = latentlab.wrap(module, likelihood="bernoulli", scale=scale)
    x, _ = blobs(4)
    with torch.no_grad():
        second = module.encode(x)[1]
        sigma = model.encode(x).sigma
    # The posterior's σ, by what the output is said to be.
    expected = {"log_var": torch.exp(second / 2), "log_sigma": torch.exp(second)}
    torch.testing.assert_close(sigma, expected.get(scale, second))


def test_a_sigma_output_must_be_positive():
    with pytest.raises(ConfigError, match="scale='sigma' but"):
        latentlab.wrap(ExampleVAE(), likelihood="bernoulli", scale="sigma")


def test_the_tanh_modules_pixels_meet_latentlabs_in_both_directions(conv_vae):
    model = latentlab.wrap(conv_vae, image_shape=(3, 64, 64))
    x01 = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        mu, _ = conv_vae.encode(2 * x01 - 1)
        torch.testing.assert_close(model.encode(x01).mu, mu)
        torch.testing.assert_close(model.mean_image(mu), (conv_vae.decode(mu) + 1) / 2)
    image = latentlab.decode(conv_vae_wrapped := model, mu.numpy())
    assert image.shape == (3, 64, 64, 3)  # channels last, for imshow
    with torch.no_grad():
        expected = ((conv_vae.decode(mu) + 1) / 2).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(image, expected, atol=1e-6)
    assert conv_vae_wrapped.decode(mu).shape == (3, 3, 64, 64)


# --- the headless figures, computed independently ----------------------------------


def test_sigma_is_the_maximum_likelihood_fit_and_is_stated():
    module = KerasAE()
    model = latentlab.wrap(module, likelihood="gaussian")
    x, _ = blobs(32)
    with torch.no_grad():
        err = module.decoder(module.encoder(x)) - x
    sigma = float(err.double().pow(2).mean().sqrt())
    assert model.fit_sigma(x) == pytest.approx(sigma, rel=1e-6)
    note = model.likelihood.describe()
    assert "fitted by maximum likelihood on 32 images (z = the code)" in note
    # The fit is the maximum: log p at σ beats log p at σ(1 ± 5 %).
    ll = []
    for factor in (0.95, 1.0, 1.05):
        s = sigma * factor
        ll.append(float((-0.5 * (err / s) ** 2 - math.log(s)).sum()))
    assert ll[1] > ll[0] and ll[1] > ll[2]


def test_evaluate_matches_a_computation_on_the_users_module(conv_vae, colour_images):
    x, _ = colour_images
    model = latentlab.wrap(conv_vae, image_shape=(3, 64, 64))
    ev = latentlab.evaluate(model, x, k=64)
    with torch.no_grad():
        levels = torch.round((x + 1) / 2 * 255) / 255  # the 8-bit levels evaluated
        mu, log_var = conv_vae.encode(levels * 2 - 1)
        mean = (conv_vae.decode(mu) + 1) / 2
    kl = 0.5 * (mu**2 + log_var.exp() - 1 - log_var)
    assert ev["kl"] == pytest.approx(float(kl.sum(1).mean()), rel=1e-4)
    for d in range(4):
        assert ev[f"kl_dim{d + 1}"] == pytest.approx(float(kl[:, d].mean()), abs=1e-5)
    sigma = math.exp(float(model.log_scale))
    nll = (
        0.5 * ((levels - mean) / sigma) ** 2
        + math.log(sigma)
        + 0.5 * math.log(2 * math.pi)
    )
    assert ev["recon_mu"] == pytest.approx(float(nll.sum((1, 2, 3)).mean()), rel=1e-4)
    assert ev["neg_elbo_bits_per_dim"] == pytest.approx(
        ev["neg_elbo"] / (3 * 64 * 64 * math.log(2))
    )
    assert ev["log_px"] <= -ev["neg_elbo"] + 5.0  # IS: a bound's neighbourhood
    assert "Gaussian, one σ fitted by maximum likelihood on 24 images" in ev.likelihood
    assert "the module's pixels in [-1, 1]" in ev.likelihood
    assert ev.notes["kl"].startswith("KL(q(z|x) || N(0, I))")


def test_evaluate_of_an_ae_uses_the_bernoulli_it_was_told():
    module = KerasAE()
    model = latentlab.wrap(module, likelihood="bernoulli")
    x, _ = blobs(16)
    ev = latentlab.evaluate(model, x)
    with torch.no_grad():
        levels = torch.round(x * 255) / 255
        p = module.decoder(module.encoder(levels)).clamp(1e-6, 1 - 1e-6)
    bce = -(levels * p.log() + (1 - levels) * (1 - p).log()).sum((1, 2, 3)).mean()
    assert ev["recon_mu"] == pytest.approx(float(bce), rel=1e-5)
    assert "neg_elbo" not in ev and "code_var_dim1" in ev


def test_diagnostics_and_encode_agree_with_the_module():
    module = PythaeShaped()
    model = latentlab.wrap(module, likelihood="bernoulli")
    x, _ = blobs(40)
    units, agg = latentlab.diagnostics(model, x)
    with torch.no_grad():
        out = module.encoder(torch.round(x * 255) / 255)
    mu, lv = out.embedding.double(), out.log_covariance.double()
    kl = (0.5 * (mu**2 + lv.exp() - 1 - lv)).mean(0).numpy()
    # float32 codes: KL near 0 is a difference of numbers near 1.
    np.testing.assert_allclose(units.kl_per_dim, kl, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(units.mu_variance, mu.var(0, unbiased=False), rtol=1e-3)
    assert agg is not None and 0.0 <= agg.hole_share <= 1.0
    codes = latentlab.encode(model, x)
    np.testing.assert_allclose(codes.mu, mu.float().numpy(), atol=1e-6)
    np.testing.assert_allclose(codes.sigma, (0.5 * lv).exp().float(), atol=1e-6)


def test_the_gradient_path_runs_autograd_through_the_users_decoder(conv_vae):
    from latentlab.core.reparam import path_gradients

    model = latentlab.wrap(conv_vae, image_shape=(3, 64, 64))
    x, _ = blobs(4, (3, 64, 64))
    model.fit_sigma(x)
    image = torch.round(x[0] * 255).to(torch.uint8)
    mu, sigma = np.zeros(4, np.float32), np.full(4, 0.5, np.float32)
    eps = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    got = path_gradients(mu, sigma, eps, model, image)
    # By hand: d/d(mu, sigma) of mean_k log N(x; decode(mu + sigma eps_k), s).
    m = torch.zeros(4, requires_grad=True)
    s = torch.full((4,), 0.5, requires_grad=True)
    z = m + s * torch.from_numpy(eps)
    mean = (conv_vae.decode(z) + 1) / 2
    std = math.exp(float(model.log_scale))
    x01 = image.float() / 255
    ll = (-0.5 * ((x01 - mean) / std) ** 2).sum((1, 2, 3)).mean()
    ll.backward()
    scale = np.abs(m.grad.numpy()).max()
    np.testing.assert_allclose(
        got.dlogp_dmu.mean(0), m.grad.numpy(), rtol=1e-3, atol=1e-4 * scale
    )
    np.testing.assert_allclose(
        got.dlogp_dsigma.mean(0), s.grad.numpy(), rtol=1e-3, atol=1e-4 * scale
    )
    per_image = (
        -0.5 * ((x01 - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)
    ).sum((1, 2, 3))
    np.testing.assert_allclose(got.logp, per_image.detach().numpy(), rtol=1e-5)


def test_gradient_variances_and_interpolation_stats_run_on_wrapped_modules(
    conv_vae, colour_images
):
    x, _ = colour_images
    model = latentlab.wrap(conv_vae, image_shape=(3, 64, 64))
    with pytest.raises(ConfigError, match=r"fit_sigma\(test_images\)"):
        latentlab.gradient_variances(model, x[0])  # one image cannot fit σ
    model.fit_sigma((x + 1) / 2)
    v = latentlab.gradient_variances(model, x[0], counts=(1, 8), repeats=16)
    assert v.var_reparam.shape == (2,) and np.all(v.var_reparam > 0)
    assert np.all(v.var_reparam[1] < v.var_reparam[0])  # 8 samples average down
    with pytest.raises(ConfigError, match="an AE has no σ"):
        latentlab.gradient_variances(
            latentlab.wrap(KerasAE(), likelihood="bernoulli"), blobs(1)[0][0]
        )
    xb, yb = blobs(64)
    ae = latentlab.wrap(KerasAE(), likelihood="bernoulli")
    vae = latentlab.wrap(PythaeShaped(), likelihood="bernoulli")
    stats = latentlab.interpolation_stats(ae, vae, xb, yb, pairs=12, steps=5)
    assert stats.n == 12 and set(stats.populations) == {"AE", "VAE"}
    assert stats.figures == ("jump_ratio", "density_ratio", "realism")
    assert 0.0 <= stats.fraction_worse("jump_ratio") <= 1.0


# --- images handed over --------------------------------------------------------------


def test_images_are_checked_before_any_work():
    model = latentlab.wrap(KerasAE(), likelihood="bernoulli")
    x, _ = blobs(4)
    with pytest.raises(
        latentlab.core.errors.DataError, match="outside the model's pixel"
    ):
        latentlab.evaluate(model, x * 2 - 1)
    with pytest.raises(latentlab.core.errors.DataError, match="channels-last"):
        latentlab.evaluate(model, x.permute(0, 2, 3, 1).repeat(1, 1, 1, 3))
    with pytest.raises(ConfigError, match=r"the model reads \(1, 16, 16\)"):
        latentlab.evaluate(model, torch.zeros(2, 1, 8, 8))
    # uint8, (N, H, W) grey and a torch Dataset of (image, label) read the same.
    levels = torch.round(x * 255).to(torch.uint8)
    a = latentlab.encode(model, levels).mu
    b = latentlab.encode(model, levels[:, 0].numpy()).mu
    c = latentlab.encode(model, torch.utils.data.TensorDataset(x, torch.zeros(4))).mu
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


# --- save ----------------------------------------------------------------------------


def test_save_writes_a_rebuildable_model_and_refuses_the_rest(tmp_path, conv_vae):
    module = ExampleVAE()
    model = latentlab.wrap(module, likelihood="bernoulli")
    path = latentlab.save(model, tmp_path / "example.safetensors")
    loaded = latentlab.load(path)
    z = torch.randn(5, 2)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.decode(z), module.decode(z).reshape(5, 1, 16, 16)
        )
    with pytest.raises(Exception, match="exists"):
        latentlab.save(model, path)
    # A Gaussian's fitted σ is saved with it.
    gauss = latentlab.wrap(ExampleVAE(), likelihood="gaussian")
    sigma = gauss.fit_sigma(blobs(16)[0])
    again = latentlab.load(latentlab.save(gauss, tmp_path / "g.pt"))
    assert math.exp(float(again.log_scale.detach())) == pytest.approx(sigma, rel=1e-6)
    with pytest.raises(ConfigError, match="usable from Python only"):
        latentlab.save(
            latentlab.wrap(conv_vae, image_shape=(3, 64, 64)), tmp_path / "c.pt"
        )
    assert not (tmp_path / "c.pt").exists()


# --- what the review found ------------------------------------------------------------


def test_callables_work_through_the_api_and_bound_methods_keep_their_weights():
    from latentlab.core.analysis.identity import log_likelihood_of

    x, _ = blobs(6)
    pair = latentlab.wrap(callables(), likelihood="bernoulli", image_shape=(1, 16, 16))
    codes = latentlab.encode(pair, x)
    np.testing.assert_allclose(codes.mu, callables()[0](x).numpy(), rtol=1e-6)
    assert "recon_mu" in latentlab.evaluate(pair, x)
    # Plain functions cannot be copied in float64 for the identity check: said.
    with pytest.raises(ConfigError, match=r"wrap the nn\.Module itself"):
        log_likelihood_of(pair, torch.zeros(16, 16, dtype=torch.uint8))
    # A pair of bound methods: the weights are the model's, and a float64
    # copy reaches them (the identity check's).
    module = ExampleVAE()
    bound = latentlab.wrap(
        (module.encode, module.decode), likelihood="bernoulli", image_shape=(1, 16, 16)
    )
    assert sum(p.numel() for p in bound.parameters()) == sum(
        p.numel() for p in module.parameters()
    )
    f = log_likelihood_of(bound, torch.zeros(16, 16, dtype=torch.uint8))
    assert f(torch.zeros(1, 2, dtype=torch.float64)).dtype == torch.float64


def test_sigma_is_refitted_on_the_images_evaluated_unless_the_user_fitted_it():
    module = KerasAE()
    model = latentlab.wrap(module, likelihood="gaussian")
    x, _ = blobs(40)
    latentlab.encode(model, x[:1])  # needs no σ: fits none
    assert not bool(torch.isfinite(model.log_scale).all())
    first = latentlab.evaluate(model, x[:10])
    assert "on 10 images" in first.likelihood
    second = latentlab.evaluate(model, x)
    assert "on 40 images" in second.likelihood
    model.fit_sigma(x[:20])  # the user's own choice is kept
    assert "on 20 images" in latentlab.evaluate(model, x).likelihood


def test_a_refused_module_is_left_in_its_mode_and_a_pairs_modules_are_probed_in_eval():
    module = KerasAE().train()
    with pytest.raises(ConfigError):
        latentlab.wrap(module)  # the likelihood is asked for
    assert module.training and all(m.training for m in module.modules())
    encoder = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(256, 2), torch.nn.BatchNorm1d(2)
    ).train()
    decoder = torch.nn.Sequential(
        torch.nn.Linear(2, 256), torch.nn.Sigmoid(), torch.nn.Unflatten(1, (1, 16, 16))
    )
    before = encoder[2].running_mean.clone()
    model = latentlab.wrap((encoder, decoder), likelihood="bernoulli")
    assert not encoder.training  # batch norm as at test time
    torch.testing.assert_close(encoder[2].running_mean, before)  # not updated
    assert model.latent_dim == 2


def test_tanh_models_refuse_images_in_zero_one():
    from latentlab.core.errors import DataError

    model = latentlab.wrap(ConvVAE64(), image_shape=(3, 64, 64))
    x, _ = blobs(4, (3, 64, 64))
    with pytest.raises(DataError, match=r"value_range=\(0, 1\)"):
        latentlab.encode(model, x)
    zero_one = latentlab.wrap(ConvVAE64(), image_shape=(3, 64, 64), value_range=(0, 1))
    assert latentlab.encode(zero_one, x).mu.shape == (4, 4)


def test_decoders_giving_channels_last_images_or_logits_are_refused():
    enc, dec = callables((3, 16, 16))

    def channels_last(z):
        return dec(z).permute(0, 2, 3, 1)

    with pytest.raises(ConfigError, match="channels last"):
        latentlab.wrap(
            (enc, channels_last), likelihood="bernoulli", image_shape=(3, 16, 16)
        )
    logits = callables(squash=False)
    with pytest.raises(ConfigError, match="not logits"):
        latentlab.wrap(
            logits, likelihood="bernoulli", image_shape=(1, 16, 16), value_range=(0, 1)
        )


def test_a_dataset_of_x_x_pairs_has_no_labels():
    model = latentlab.wrap(KerasAE(), likelihood="bernoulli")
    x, _ = blobs(5)
    pairs = torch.utils.data.TensorDataset(x, x)
    assert latentlab.encode(model, pairs).mu.shape == (5, 2)
    from latentlab.core.datasets.arrays import dataset_from_arrays

    assert dataset_from_arrays(pairs).class_names == ("image",)
    from latentlab.core.errors import DataError

    with pytest.raises(DataError, match="at most 1,000 classes"):
        dataset_from_arrays(x, torch.tensor([0, 1, 2, 3, 10**9]))
