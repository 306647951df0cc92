"""Prior samples: decode the same z ~ N(0, I) with both models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.errors import ConfigError
from latentlab.core.latent import decode_codes
from latentlab.core.smoothness import nearest_training, share_in_prior_bulk

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt
    import torch

    from latentlab.core.models import Autoencoder
    from latentlab.core.smoothness import NearestImages


def prior_draws(n: int, latent_dim: int, seed: int) -> npt.NDArray[np.float32]:
    """``n`` draws of ``z ~ N(0, I)`` ``(n, latent_dim)``, reproducible by seed."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim), np.float32)


@dataclass(frozen=True, slots=True)
class PriorResult:
    """One model's decodes of prior draws, their nearest training images, and
    the share of its test codes inside the prior's 95% region."""

    kind: str
    z: npt.NDArray[np.float32]
    images: npt.NDArray[np.float32]
    nearest: NearestImages | None
    coverage: float | None


@dataclass(frozen=True, slots=True)
class PriorBatch:
    """Both models' prior decodes, with real test images as the yardstick."""

    results: list[PriorResult]
    reference: NearestImages | None


def decode_prior(
    models: Sequence[tuple[str, Autoencoder, npt.NDArray[np.float32]]],
    codes: Sequence[npt.NDArray[np.float32]],
    train_images: torch.Tensor | None,
    reference_images: npt.NDArray[np.float32] | None,
) -> PriorBatch:
    """Decode each model's draws and measure them (runs in a job).

    ``codes`` are each model's test codes (means), for the prior-coverage figure.
    """
    results = []
    for (kind, model, z), mu in zip(models, codes, strict=True):
        images = decode_codes(model, z)
        nearest = (
            nearest_training(images, train_images) if train_images is not None else None
        )
        try:
            coverage: float | None = share_in_prior_bulk(mu, 0.95)
        except ConfigError:  # no finite code at all
            coverage = None
        results.append(PriorResult(kind, z, images, nearest, coverage))
    reference = None
    if train_images is not None and reference_images is not None:
        reference = nearest_training(reference_images, train_images)
    return PriorBatch(results, reference)
