"""Issue 31: pythae's saved folders. The fixtures in tests/data/pythae were
written by pythae 0.1.2 itself (make_fixtures.py, in a scratch environment),
with what pythae's own networks computed on fixed inputs."""

from __future__ import annotations

import json
import math
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import latentlab
from latentlab.cli import main
from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.errors import CheckpointError

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "pythae"


@pytest.mark.parametrize("name", ["ae", "vae", "beta_vae"])
def test_a_pythae_folder_computes_what_pythae_computed(name):
    model = latentlab.load(FIXTURES / name)
    expected = np.load(FIXTURES / f"{name}.expected.npz")
    x = torch.from_numpy(expected["x"])
    with torch.no_grad():
        enc = model.encode(x)
        np.testing.assert_allclose(enc.mu, expected["embedding"], atol=1e-6)
        if "log_covariance" in expected:
            np.testing.assert_allclose(
                enc.logvar, expected["log_covariance"], atol=1e-6
            )
        else:
            assert enc.logvar is None
        np.testing.assert_allclose(
            model.decode(enc.mu), expected["reconstruction"], atol=1e-6
        )


def test_the_folder_says_what_it_holds():
    vae = load_checkpoint(FIXTURES / "vae")
    assert vae.title().startswith("pythae VAE (binary cross-entropy), default MLP")
    assert vae.config.likelihood == "bernoulli" and vae.needs_dataset
    beta = load_checkpoint(FIXTURES / "beta_vae")
    assert beta.config.beta == 4.0 and beta.config.likelihood == "gaussian"
    assert beta.config.image_shape == (1, 16, 16) and beta.config.latent_dim == 3
    assert load_checkpoint(FIXTURES / "ae").config.kind == "ae"


def test_a_vamp_prior_is_refused_saying_why():
    with pytest.raises(CheckpointError, match="VampPrior"):
        latentlab.load(FIXTURES / "vamp")


def test_custom_networks_are_refused_and_their_pickles_never_run(tmp_path):
    with pytest.raises(CheckpointError, match=r"cloudpickle.*latentlab\.wrap"):
        latentlab.load(FIXTURES / "custom_encoder")
    # A hostile decoder.pkl beside a config that claims the default networks.
    folder = tmp_path / "hostile"
    shutil.copytree(FIXTURES / "vae", folder)
    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (folder / "decoder.pkl").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(CheckpointError, match=r"decoder\.pkl"):
        latentlab.load(folder)
    assert not marker.exists()


def _copy(tmp_path: Path, name: str = "vae") -> Path:
    folder = tmp_path / name
    shutil.copytree(FIXTURES / name, folder)
    return folder


def test_a_damaged_folder_is_refused_before_its_weights_load(tmp_path):
    folder = _copy(tmp_path)
    config = json.loads((folder / "model_config.json").read_text())
    (folder / "model_config.json").write_text(json.dumps({**config, "latent_dim": 3}))
    with pytest.raises(
        CheckpointError,
        match=r"does not hold pythae VAE.*64-512-3: it has an unexpected",
    ):
        latentlab.load(folder)
    (folder / "model_config.json").write_text(
        json.dumps({**config, "name": "SVAEConfig"})
    )
    with pytest.raises(CheckpointError, match="hypersphere"):
        latentlab.load(folder)
    (folder / "model_config.json").write_text(
        json.dumps({**config, "name": "MyVAEConfig"})
    )
    with pytest.raises(CheckpointError, match="does not open"):
        latentlab.load(folder)
    (folder / "model_config.json").write_text(
        json.dumps(config).replace('"latent_dim": 2', '"latent_dim": NaN')
    )
    with pytest.raises(CheckpointError, match="not valid JSON"):
        latentlab.load(folder)
    (folder / "model_config.json").write_text(json.dumps(config))
    (folder / "environment.json").unlink()
    with pytest.raises(CheckpointError, match=r"no environment\.json"):
        latentlab.load(folder)


def test_weights_of_another_model_are_refused(tmp_path):
    folder = _copy(tmp_path)
    shutil.copy(FIXTURES / "ae" / "model.pt", folder / "model.pt")
    with pytest.raises(CheckpointError, match=r"lacks encoder\.log_var"):
        latentlab.load(folder)
    torch.save({"model_state_dict": {}, "optimizer": {}}, folder / "model.pt")
    with pytest.raises(CheckpointError, match=r"is not pythae's model\.pt"):
        latentlab.load(folder)


def test_an_mse_models_sigma_is_fitted_on_the_images_shown():
    from latentlab.core.analysis.likelihood import likelihood_note
    from latentlab.core.workspace import Workspace

    model = latentlab.load(FIXTURES / "beta_vae")
    assert "does not hold" in likelihood_note(model)
    x = torch.rand(30, 1, 16, 16, generator=torch.Generator().manual_seed(2))
    x = torch.round(x * 255) / 255
    ws = Workspace()
    ws.show_model(model, x)
    state = ws.slots[0]
    assert state.codes.mu.shape == (30, 3)
    torch.manual_seed(0)  # the fit's one draw per image is seeded by LatentLab
    with torch.no_grad():
        enc = model.encode(x)
        z = enc.mu + torch.randn(
            enc.mu.shape, generator=torch.Generator().manual_seed(0)
        ) * torch.exp(0.5 * enc.logvar)
        sigma = float((model.decode(z) - x).double().pow(2).mean().sqrt())
    assert math.exp(float(model.log_scale.detach())) == pytest.approx(sigma, rel=1e-5)
    note = likelihood_note(model)
    assert "fitted by maximum likelihood on 30 images" in note and "σ = " in note


def test_the_cli_evaluates_a_pythae_folder(tmp_path, capsys):
    from PIL import Image

    images = tmp_path / "images" / "blob"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 256, (16, 16), np.uint8)).save(
            images / f"{i}.png"
        )
    # A folder without a dataset name needs --dataset, said plainly.
    assert main(["evaluate", str(FIXTURES / "beta_vae")]) == 2
    assert "pass --dataset" in capsys.readouterr().err
    code = main(
        [
            "evaluate",
            str(FIXTURES / "beta_vae"),
            "--dataset",
            "folder",
            "--data-dir",
            str(tmp_path / "images"),
            "--k",
            "20",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Gaussian, one σ fitted by maximum likelihood" in out
    figures = dict(line.split()[:2] for line in out.splitlines() if line[:1] != "#")
    assert float(figures["kl"]) > 0 and "neg_elbo" in figures


def test_deep_json_and_a_factor_vae_are_refused_plainly(tmp_path):
    folder = _copy(tmp_path)
    (folder / "environment.json").write_text("[" * 30_000)
    with pytest.raises(CheckpointError, match=r"not valid JSON|nested too deeply"):
        latentlab.load(folder)
    folder = _copy(tmp_path, "beta_vae")
    config = json.loads((folder / "model_config.json").read_text())
    (folder / "model_config.json").write_text(
        json.dumps({**config, "name": "FactorVAEConfig"})
    )
    with pytest.raises(CheckpointError, match="discriminator"):
        latentlab.load(folder)
    (folder / "model_config.json").write_text(
        json.dumps({**config, "name": "BetaTCVAEConfig"})
    )
    # BetaTCVAE's beta weighs its total correlation, not the KL: not shown as β.
    assert load_checkpoint(folder).config.beta == 1.0
