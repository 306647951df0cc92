"""Frozen configuration dataclasses, validated on construction."""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

from latentlab.core.errors import ConfigError
from latentlab.core.text import describe, format_int

ModelKind = Literal["ae", "vae"]
Backbone = Literal["mlp", "conv", "conv4"]
BACKBONES = ("mlp", "conv", "conv4")
# How the decoder's output is read (core/model_interface.py): Bernoulli on
# pixels in [0, 1]; a Gaussian with one learned sigma or one per pixel; a
# Gaussian discretized over 8-bit levels (one sigma), whose bits/dim compare
# with the colour-image papers'.
LIKELIHOODS = ("bernoulli", "gaussian", "gaussian-per-pixel", "discretized-gaussian")

MAX_LATENT_DIM = 512
MAX_PIXELS = 256 * 256
MAX_HIDDEN_WIDTH = 65536
MAX_HIDDEN_LAYERS = 8
MAX_EPOCHS = 10_000


def max_threads() -> int:
    """Most torch CPU threads a run may ask for: 4 per core (OpenMP aborts on
    absurd counts)."""
    return 4 * (os.cpu_count() or 1)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: object) -> bool:
    """A number (not a bool) whose float is finite: an integer too large for a
    float (10**400) is not."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Everything needed to rebuild a model; saved inside every checkpoint.

    Attributes
    ----------
    kind : "ae" or "vae"
        Plain autoencoder or variational autoencoder.
    backbone : "mlp", "conv" or "conv4"
        Encoder/decoder body, shared by both kinds: an MLP; two 4x4 stride-2
        convolutions (32, 64) for 28 px; or the beta-VAE paper's four (32, 32,
        64, 64; Higgins et al. 2017, Burgess et al. 2018) for 32-128 px colour.
    latent_dim : int
        Size of z.
    image_shape : tuple of int
        ``(channels, height, width)`` of the images the model reads and writes:
        1 (grey) or 3 (RGB) channels.
    hidden : tuple of int
        MLP hidden widths (encoder order; the decoder mirrors them). The conv
        backbone uses the last entry as its dense width.
    beta : float
        Weight of the KL term (VAE only; 1 gives the ELBO).
    likelihood : str
        One of ``LIKELIHOODS``: how the decoder's output is read as p(x | z).
    """

    kind: ModelKind = "vae"
    backbone: Backbone = "mlp"
    latent_dim: int = 2
    image_shape: tuple[int, int, int] = (1, 28, 28)
    hidden: tuple[int, ...] = (512, 256)
    beta: float = 1.0
    likelihood: str = "bernoulli"

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or self.kind not in ("ae", "vae"):
            raise ConfigError(
                f"model kind must be 'ae' or 'vae', not {describe(self.kind)}"
            )
        if not isinstance(self.backbone, str) or self.backbone not in BACKBONES:
            raise ConfigError(
                f"backbone must be one of {', '.join(BACKBONES)}, not "
                f"{describe(self.backbone)}"
            )
        if not _int(self.latent_dim) or not (1 <= self.latent_dim <= MAX_LATENT_DIM):
            raise ConfigError(
                f"latent size must be an integer from 1 to {MAX_LATENT_DIM}, "
                f"not {describe(self.latent_dim)}"
            )
        if not isinstance(self.image_shape, tuple | list) or len(self.image_shape) != 3:
            raise ConfigError(
                "image shape must be (channels, height, width), not "
                f"{describe(self.image_shape)}"
            )
        shape = tuple(self.image_shape)
        if any(not _int(s) or s < 1 for s in shape):
            raise ConfigError(
                f"image shape must be (channels, height, width), not {describe(shape)}"
            )
        if shape[0] not in (1, 3):
            raise ConfigError(
                f"images must have 1 (grey) or 3 (RGB) channels, not {shape[0]}"
            )
        if shape[1] * shape[2] > MAX_PIXELS:
            raise ConfigError(
                f"images of {format_int(shape[1], grouped=False)}x"
                f"{format_int(shape[2], grouped=False)} are too large"
            )
        if self.backbone == "conv" and (shape[1] % 4 or shape[2] % 4):
            raise ConfigError(
                "the conv backbone needs height and width divisible by 4, "
                f"not {shape[1]}x{shape[2]}"
            )
        if self.backbone == "conv4" and (shape[1] % 16 or shape[2] % 16):
            raise ConfigError(
                "the conv4 backbone (four stride-2 layers) needs height and width "
                f"divisible by 16 (32, 48, 64, ...), not {shape[1]}x{shape[2]}"
            )
        if (
            not isinstance(self.hidden, tuple | list)
            or not self.hidden
            or len(self.hidden) > MAX_HIDDEN_LAYERS
        ):
            raise ConfigError(
                f"hidden sizes must be 1 to {MAX_HIDDEN_LAYERS} widths, not "
                f"{describe(self.hidden)}"
            )
        if any(not _int(h) or not 1 <= h <= MAX_HIDDEN_WIDTH for h in self.hidden):
            raise ConfigError(
                f"hidden sizes must be integers from 1 to {MAX_HIDDEN_WIDTH}, not "
                f"{describe(tuple(self.hidden))}"
            )
        if not _finite(self.beta):
            raise ConfigError(
                f"beta must be a finite number, not {describe(self.beta)}"
            )
        if self.beta < 0:
            raise ConfigError(f"beta must be >= 0, not {self.beta}")
        if not isinstance(self.likelihood, str) or self.likelihood not in LIKELIHOODS:
            raise ConfigError(
                f"likelihood must be one of {', '.join(LIKELIHOODS)}, not "
                f"{describe(self.likelihood)}"
            )
        object.__setattr__(self, "image_shape", shape)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "beta", float(self.beta))

    @property
    def pixels(self) -> int:
        """Number of values in one image."""
        c, h, w = self.image_shape
        return c * h * w

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (lists, not tuples) for checkpoints."""
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        d["hidden"] = list(self.hidden)
        if self.likelihood == "bernoulli":
            # Files as before colour: a reader from then opens them unchanged.
            del d["likelihood"]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from :meth:`to_dict`; unknown or mistyped keys raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError("model config must be a mapping")
        names = {f.name for f in fields(cls)}
        unknown = [k for k in data if k not in names]
        if unknown:
            shown = ", ".join(sorted(describe(k) for k in unknown)[:5])
            raise ConfigError(f"unknown model config keys: [{shown}]")
        kwargs = dict(data)
        for key in ("image_shape", "hidden"):
            value = kwargs.get(key)
            if key in kwargs and not (
                isinstance(value, list | tuple) and len(value) <= 16
            ):
                raise ConfigError(f"malformed model config: {key} is {describe(value)}")
            if key in kwargs and not all(_int(v) for v in value):
                raise ConfigError(
                    f"malformed model config: {key} must hold integers, not "
                    f"{describe(value)}"
                )
            if key in kwargs:
                kwargs[key] = tuple(value)
        return cls(**kwargs)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """How to train. The defaults train a 2-D MNIST model on a CPU in a minute."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 2000
    snapshot_interval_s: float = 0.5
    threads: int | None = None
    timeline_points: int = 2000  # test images encoded after every epoch; 0: none
    # Epochs over which the KL's weight rises from 0 to beta (0: none).
    kl_warmup_epochs: float = 0.0
    # bfloat16 autocast for the steps' forward passes (GPUs that have it; the
    # sharded trainer, latentlab.core.distributed).
    bf16: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.bf16, bool):
            raise ConfigError(f"bf16 must be True or False, not {describe(self.bf16)}")
        if not _int(self.epochs) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise ConfigError(
                f"epochs must be from 1 to {MAX_EPOCHS}, not {describe(self.epochs)}"
            )
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 65536:
            raise ConfigError(
                f"batch size must be from 1 to 65536, not {describe(self.batch_size)}"
            )
        if not isinstance(self.eval_batch_size, int) or not (
            1 <= self.eval_batch_size <= 65536
        ):
            raise ConfigError(
                "eval batch size must be from 1 to 65536, not "
                f"{describe(self.eval_batch_size)}"
            )
        # torch seeds are 64-bit and the loop also uses seed + 1 for the noise.
        if not isinstance(self.seed, int) or not -(2**63) <= self.seed < 2**63 - 1:
            raise ConfigError(
                f"seed must be an integer from -2**63 to 2**63 - 2, not "
                f"{describe(self.seed)}"
            )
        if not _finite(self.lr) or not self.lr > 0:
            raise ConfigError(
                f"learning rate must be a finite number > 0, not {describe(self.lr)}"
            )
        if not isinstance(self.device, str) or (
            self.device not in ("auto", "cpu", "cuda", "mps")
            and not self.device.startswith("cuda:")
        ):
            raise ConfigError(
                f"unknown device {describe(self.device)}; use auto, cpu, cuda, "
                "cuda:N or mps"
            )
        if self.threads is not None and (
            not _int(self.threads) or not 1 <= self.threads <= max_threads()
        ):
            raise ConfigError(
                f"threads must be from 1 to {max_threads()} (4 per CPU core), not "
                f"{describe(self.threads)}"
            )
        if not _int(self.timeline_points) or not 0 <= self.timeline_points <= 10_000:
            raise ConfigError(
                "timeline points must be from 0 to 10000, not "
                f"{describe(self.timeline_points)}"
            )
        if not self.snapshot_interval_s > 0:
            raise ConfigError("snapshot interval must be > 0 seconds")
        if not _finite(self.kl_warmup_epochs) or self.kl_warmup_epochs < 0:
            raise ConfigError(
                "KL warm-up must be a number of epochs >= 0, not "
                f"{describe(self.kl_warmup_epochs)}"
            )
