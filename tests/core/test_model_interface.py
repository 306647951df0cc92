"""The model interface: our models satisfy it, the Bernoulli likelihood is right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.core.config import ModelConfig
from latentlab.core.losses import reconstruction_nats
from latentlab.core.model_interface import BERNOULLI, Bernoulli, LatentModel
from latentlab.core.models import VAE, Autoencoder, Encoding, build_model

TINY = {"latent_dim": 2, "hidden": (16,), "image_shape": (1, 8, 8)}


def _model(kind: str, backbone: str = "mlp") -> Autoencoder:
    torch.manual_seed(0)
    return build_model(ModelConfig(kind=kind, backbone=backbone, **TINY)).eval()


def _grey(n: int = 5, seed: int = 0) -> torch.Tensor:
    """Grey targets strictly inside (0, 1), so binarizing them would show."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 8, 8, generator=g) * 0.9 + 0.05


@pytest.mark.parametrize("kind", ["ae", "vae"])
@pytest.mark.parametrize("backbone", ["mlp", "conv"])
def test_our_models_are_latent_models(kind: str, backbone: str) -> None:
    model = _model(kind, backbone)
    assert isinstance(model, LatentModel)
    assert model.latent_dim == 2
    assert model.image_shape == (1, 8, 8)
    assert model.value_range == (0.0, 1.0)
    assert model.variational is (kind == "vae") is model.is_variational
    assert model.likelihood is BERNOULLI
    assert model.likelihood.name == "bernoulli"


def test_interface_adds_nothing_to_the_state_dict() -> None:
    # Checkpoints hold the state dict: the interface must not add entries.
    for model in (_model("ae"), _model("vae")):
        roots = {k.split(".")[0] for k in model.state_dict()}
        assert roots == {"encoder", "decoder", "head"}


def test_bernoulli_log_prob_matches_hand_computation_on_grey_targets() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(5, 1, 8, 8, generator=g, dtype=torch.float64) * 3
    x = _grey().double()
    got = Bernoulli().log_prob(logits, x)
    ln, xn = logits.numpy(), x.numpy()
    p = 1.0 / (1.0 + np.exp(-ln))
    want = (xn * np.log(p) + (1 - xn) * np.log(1 - p)).reshape(5, -1).sum(1)
    assert got.shape == (5,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-10)
    # It is exactly minus the training loss's reconstruction term.
    assert torch.equal(got, -reconstruction_nats(logits, x))
    # Not binarized: rounding the targets changes the answer.
    assert not torch.allclose(got, Bernoulli().log_prob(logits, x.round()))


def test_bernoulli_log_prob_on_colour_shapes() -> None:
    logits = torch.zeros(2, 3, 4, 4)
    x = torch.full((2, 3, 4, 4), 0.3)
    # sigmoid(0) = 1/2 for every one of the 48 values: 48 log(1/2) per image.
    want = torch.full((2,), 48 * np.log(0.5), dtype=torch.float32)
    torch.testing.assert_close(BERNOULLI.log_prob(logits, x), want)


def test_bernoulli_mean_and_sample() -> None:
    logits = torch.tensor([[[[-50.0, 0.0], [50.0, 1.0]]]])
    torch.testing.assert_close(BERNOULLI.mean(logits), torch.sigmoid(logits))
    a = BERNOULLI.sample(logits.expand(64, 1, 2, 2), torch.Generator().manual_seed(3))
    b = BERNOULLI.sample(logits.expand(64, 1, 2, 2), torch.Generator().manual_seed(3))
    assert torch.equal(a, b), "a seeded generator must give the same draw"
    assert set(a.unique().tolist()) <= {0.0, 1.0}
    assert (a[:, 0, 0, 0] == 0).all() and (a[:, 0, 1, 0] == 1).all()


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_mean_image_is_sigmoid_of_decode_params(kind: str) -> None:
    model = _model(kind)
    z = torch.randn(7, 2, generator=torch.Generator().manual_seed(2)) * 3
    with torch.no_grad():
        params = model.decode_params(z)
        img = model.mean_image(z)
    assert params.shape == img.shape == (7, *model.image_shape)
    torch.testing.assert_close(params, model.decode_logits(z))
    torch.testing.assert_close(img, torch.sigmoid(params))
    # The old name keeps giving the same images.
    torch.testing.assert_close(img, model.decode(z))
    lo, hi = model.value_range
    assert img.min() >= lo and img.max() <= hi


def test_encode_scale_none_for_ae_positive_for_vae() -> None:
    x = _grey()
    with torch.no_grad():
        ae_enc = _model("ae").encode(x)
        vae_enc = _model("vae").encode(x)
    assert isinstance(ae_enc, Encoding) and isinstance(vae_enc, Encoding)
    assert ae_enc.mu.shape == vae_enc.mu.shape == (5, 2)
    assert ae_enc.sigma is None
    assert vae_enc.sigma is not None and vae_enc.sigma.shape == (5, 2)
    assert (vae_enc.sigma > 0).all()


class _Duck:
    """A model from elsewhere that implements the interface by hand."""

    latent_dim = 2
    image_shape = (3, 4, 4)
    value_range = (0.0, 1.0)
    variational = False
    likelihood = BERNOULLI

    def encode(self, x: torch.Tensor) -> Encoding:
        return Encoding(x.flatten(1)[:, :2], None)

    def decode_params(self, z: torch.Tensor) -> torch.Tensor:
        return z.sum(1).reshape(-1, 1, 1, 1).expand(-1, 3, 4, 4)

    def mean_image(self, z: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean(self.decode_params(z))


def test_a_duck_typed_model_is_a_latent_model() -> None:
    assert isinstance(_Duck(), LatentModel)
    assert isinstance(VAE(ModelConfig(**TINY)), LatentModel)


@pytest.mark.parametrize(
    "missing",
    [
        "latent_dim",
        "image_shape",
        "value_range",
        "variational",
        "likelihood",
        "encode",
        "decode_params",
        "mean_image",
    ],
)
def test_an_object_missing_a_member_is_not_a_latent_model(missing: str) -> None:
    members = {
        name: getattr(_Duck, name)
        for name in vars(_Duck)
        if not name.startswith("__") and name != missing
    }
    partial = type("Partial", (), members)()
    assert not isinstance(partial, LatentModel)
    assert not isinstance(object(), LatentModel)
