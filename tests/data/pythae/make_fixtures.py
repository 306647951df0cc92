"""Writes the pythae folders the tests read, with pythae itself (not a LatentLab
dependency: run in a scratch environment, ``pip install pythae``), and what
pythae's own networks compute on fixed inputs, for the tests to compare with.

    python tests/data/pythae/make_fixtures.py tests/data/pythae
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from pythae.models import (
    AE,
    VAE,
    VAMP,
    AEConfig,
    BetaVAE,
    BetaVAEConfig,
    VAEConfig,
    VAMPConfig,
)
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseEncoder

SHAPE = (1, 8, 8)


class TinyEncoder(BaseEncoder):
    """A custom encoder: pythae saves it as encoder.pkl (cloudpickle)."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(64, 4)

    def forward(self, x):
        h = self.fc(x.reshape(len(x), -1))
        return ModelOutput(embedding=h[:, :2], log_covariance=h[:, 2:])


def main(root: Path) -> None:
    torch.manual_seed(0)
    models = {
        "ae": AE(AEConfig(input_dim=SHAPE, latent_dim=2)),
        "vae": VAE(VAEConfig(input_dim=SHAPE, latent_dim=2, reconstruction_loss="bce")),
        # 16 px: the smallest image folder LatentLab reads, for `latentlab evaluate`.
        "beta_vae": BetaVAE(
            BetaVAEConfig(input_dim=(1, 16, 16), latent_dim=3, beta=4.0)
        ),
        "vamp": VAMP(VAMPConfig(input_dim=SHAPE, latent_dim=2, number_components=3)),
        "custom_encoder": VAE(
            VAEConfig(input_dim=SHAPE, latent_dim=2), encoder=TinyEncoder()
        ),
    }
    for name, model in models.items():
        shape = tuple(model.model_config.input_dim)
        x = torch.rand(5, *shape, generator=torch.Generator().manual_seed(1))
        model.eval()
        model.save(str(root / name))
        if name in ("vamp", "custom_encoder"):
            continue
        with torch.no_grad():
            enc = model.encoder(x)
            recon = model.decoder(enc.embedding).reconstruction
        expected = {"x": x, "embedding": enc.embedding, "reconstruction": recon}
        if "log_covariance" in enc.keys():
            expected["log_covariance"] = enc.log_covariance
        np.savez(
            root / f"{name}.expected.npz", **{k: v.numpy() for k, v in expected.items()}
        )
    (root / "versions.json").write_text(
        json.dumps({"pythae": "0.1.2", "torch": torch.__version__}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
