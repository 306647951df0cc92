"""pythae's saved folders (``model_config.json``, ``environment.json``,
``model.pt``): what they hold, read without running any of their code.

Only models with a Gaussian encoder and an N(0, I) prior, built from pythae's
default networks (``uses_default_encoder`` / ``uses_default_decoder``: MLPs),
are opened; their networks are rebuilt as LatentLab's own MLP
(:func:`~latentlab.core.foreign.pythae_layout`). A folder with ``encoder.pkl``
or ``decoder.pkl`` holds custom code (cloudpickle) and is refused.
"""

from __future__ import annotations

import json
import math
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError, ConfigError
from latentlab.core.foreign import ForeignLayout, pythae_layout
from latentlab.core.text import json_int, printable, printable_path

# pythae's model names -> LatentLab's kind. All have a Gaussian (or
# deterministic) encoder and an N(0, I) prior, and the default networks.
PYTHAE_KINDS = {
    "AE": "ae",
    "RAE_L2": "ae",
    "RAE_GP": "ae",
    "WAE_MMD": "ae",
    "VAE": "vae",
    "BetaVAE": "vae",
    "DisentangledBetaVAE": "vae",
    "BetaTCVAE": "vae",
    "InfoVAE": "vae",
    "IWAE": "vae",
    "MIWAE": "vae",
    "PIWAE": "vae",
    "CIWAE": "vae",
}
# The models whose ``beta`` weighs the KL term itself (BetaTCVAE's weighs its
# total-correlation term only).
KL_BETA = ("BetaVAE", "DisentangledBetaVAE")
# Why the others are refused.
PYTHAE_REFUSED = {
    "VAMP": "its prior is a mixture over learned pseudo-inputs (VampPrior)",
    "VQVAE": "its latent is a discrete codebook, not a Gaussian code",
    "RHVAE": "its posterior moves along a learned Riemannian Hamiltonian flow",
    "HVAE": "its posterior moves along a Hamiltonian flow",
    "VAE_IAF": "its posterior goes through an inverse autoregressive flow",
    "VAE_LinNF": "its posterior goes through normalizing flows",
    "SVAE": "its latent lies on a hypersphere (von Mises-Fisher), not a Gaussian",
    "PoincareVAE": "its latent lies in a Poincaré ball, not a Gaussian in R^d",
    "Adversarial_AE": "its prior is matched by a discriminator",
    "VAEGAN": "its decoder is trained against a discriminator, with its own parts",
    "FactorVAE": "its folder also holds the discriminator of its total-correlation "
    "term, which LatentLab does not read",
    "MSSSIM_VAE": "it was trained with MS-SSIM, which is not a likelihood p(x|z)",
}
MAX_JSON_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class PythaeFolder:
    """What a pythae folder declares, checked: the layout to read ``model.pt``
    with and a description."""

    path: Path
    model_name: str
    layout: ForeignLayout
    python_version: str
    reconstruction_loss: str


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"the non-JSON number {name}")


def _read_json(path: Path, shown: str) -> dict[str, Any]:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block open()
            raise CheckpointError(f"{shown}/{path.name} is not a regular file")
        with path.open("rb") as fh:
            data = fh.read(MAX_JSON_BYTES + 1)
    except FileNotFoundError as exc:
        raise CheckpointError(
            f"{shown} has no {path.name}: not a pythae folder"
        ) from exc
    except OSError as exc:
        raise CheckpointError(
            f"cannot read {shown}/{path.name}: {exc.strerror or exc}"
        ) from exc
    if len(data) > MAX_JSON_BYTES:
        raise CheckpointError(f"{shown}/{path.name} is larger than pythae writes it")
    try:
        value = json.loads(
            data.decode("utf-8"), parse_constant=_refuse_constant, parse_int=json_int
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{shown}/{path.name} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise CheckpointError(f"{shown}/{path.name} is nested too deeply") from exc
    if not isinstance(value, dict):
        raise CheckpointError(f"{shown}/{path.name} is not a JSON object")
    return value


def is_pythae_folder(path: Path) -> bool:
    """True for a folder holding pythae's ``model_config.json``."""
    try:
        return path.is_dir() and (path / "model_config.json").is_file()
    except OSError:  # e.g. a folder we may not enter: the file reader says why
        return False


def read_pythae_folder(path: str | Path) -> PythaeFolder:
    """Check a pythae folder's declarations and return how to read its weights.

    Raises :class:`CheckpointError` saying why a folder is refused: custom
    networks (pickled code), a model without an N(0, I) prior and a Gaussian
    encoder, or a malformed file."""
    p = Path(path)
    shown = printable_path(p)
    pickled = [n for n in ("encoder.pkl", "decoder.pkl") if (p / n).exists()]
    config = _read_json(p / "model_config.json", shown)
    if (
        pickled
        or config.get("uses_default_encoder") is False
        or (config.get("uses_default_decoder") is False)
    ):
        which = " and ".join(pickled) or "a custom network"
        raise CheckpointError(
            f"{shown} holds {which}: custom code that pythae saves with cloudpickle, "
            "which LatentLab never runs. Load the model in your own Python with "
            "pythae (AutoModel.load_from_folder) and pass it to latentlab.wrap(model)"
        )
    env = _read_json(p / "environment.json", shown)
    config_name = config.get("name")
    if not isinstance(config_name, str) or not config_name.endswith("Config"):
        raise CheckpointError(f"{shown}/model_config.json names no pythae model config")
    model_name = config_name.removesuffix("Config")
    shown_name = printable(model_name, 40)
    if model_name in PYTHAE_REFUSED:
        raise CheckpointError(
            f"{shown} holds a pythae {shown_name}: {PYTHAE_REFUSED[model_name]}; "
            "LatentLab explores models with a Gaussian encoder and an N(0, I) prior"
        )
    if model_name not in PYTHAE_KINDS:
        raise CheckpointError(
            f"{shown} holds a pythae {shown_name}, which LatentLab does not open "
            f"(it opens {', '.join(PYTHAE_KINDS)})"
        )
    input_dim = config.get("input_dim")
    latent_dim = config.get("latent_dim")
    if not (isinstance(input_dim, list) and len(input_dim) == 3):
        raise CheckpointError(
            f"{shown}: input_dim {printable(repr(input_dim), 40)} is not (channels, "
            "height, width)"
        )
    loss = config.get("reconstruction_loss", "mse")
    if loss not in ("mse", "bce"):
        raise CheckpointError(
            f"{shown}: reconstruction_loss {printable(repr(loss), 40)} is neither "
            "'mse' nor 'bce'"
        )
    beta = config.get("beta", 1.0) if model_name in KL_BETA else 1.0
    beta = float(beta) if isinstance(beta, int | float) and math.isfinite(beta) else 1.0
    try:
        model_config = ModelConfig(
            kind=PYTHAE_KINDS[model_name],
            latent_dim=latent_dim,
            image_shape=tuple(input_dim),
            hidden=(512,),
            beta=beta if beta > 0 else 1.0,
            likelihood="bernoulli" if loss == "bce" else "gaussian",
        )
    except ConfigError as exc:
        raise CheckpointError(f"{shown}: {exc}") from exc
    likelihood = "binary cross-entropy" if loss == "bce" else "MSE"
    name = f"pythae {shown_name} ({likelihood}), default MLP"
    python = env.get("python_version")
    return PythaeFolder(
        p,
        model_name,
        pythae_layout(name, model_config),
        python if isinstance(python, str) else "",
        loss,
    )
