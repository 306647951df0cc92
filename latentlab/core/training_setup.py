"""What a run needs settled before its first step: the device (checked, or
picked by ``auto``), the memory it will take (refused when it cannot fit), and
its models, built with weights drawn from a seed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from latentlab.core.errors import ConfigError
from latentlab.core.limits import format_bytes, training_budget
from latentlab.core.models import build_model, decoder_activations, meta_model
from latentlab.core.text import describe

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.config import ModelConfig
    from latentlab.core.models import Autoencoder


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA, else Apple MPS, else CPU; any other name is checked.

    Raises
    ------
    ConfigError
        ``name`` is not a device torch knows, or that device is not available.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"unknown device {describe(name)}; use auto, cpu, cuda, cuda:N or mps"
        ) from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {describe(name)} is not available: torch finds no CUDA GPU "
                "here; use --device cpu or auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"device {describe(name)} does not exist: torch sees {count} CUDA "
                "GPU(s), numbered from 0"
            )
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("device 'mps' is not available: no Apple GPU here")
    elif device.type != "cpu":
        raise ConfigError(
            f"unknown device {describe(name)}; use auto, cpu, cuda or mps"
        )
    return device


def training_memory_bytes(config: ModelConfig, batch_size: int) -> int:
    """A rough upper bound of the memory training one model takes, in bytes.

    Weights, gradients and Adam's two moments (4 floats a parameter), plus a
    batch's activations and their gradients. The parameter count comes from a
    "meta" model, which allocates nothing.
    """
    params = sum(p.numel() for p in meta_model(config).parameters())
    per_image = 4 * sum(config.hidden) + 8 * config.pixels + 4 * config.latent_dim
    if config.backbone == "conv":
        per_image += 50 * config.pixels  # two conv layers' feature maps, each way
    elif config.backbone == "conv4":
        per_image += 4 * decoder_activations(config)  # feature maps, each way
    return 4 * (4 * params + 2 * batch_size * per_image)


def check_training_memory(configs: Sequence[ModelConfig], batch_size: int) -> None:
    """Refuse, before anything is built, a run that cannot fit in memory.

    Raises
    ------
    ConfigError
        The models' estimated need exceeds half of the machine's memory
        (:func:`~latentlab.core.limits.training_budget`); the message gives both.
    """
    need = sum(training_memory_bytes(c, batch_size) for c in configs)
    budget = training_budget()
    if need > budget:
        raise ConfigError(
            f"training would need about {format_bytes(need)} of memory, more than "
            f"LatentLab uses on this machine ({format_bytes(budget)}); choose "
            "smaller --hidden widths, images or --batch-size"
        )


def new_model(config: ModelConfig, seed: int = 0) -> Autoencoder:
    """Build a model with weights drawn from ``seed``, leaving global RNG alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)
