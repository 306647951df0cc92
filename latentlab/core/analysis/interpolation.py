"""Interpolation AE vs VAE: decode the straight path between two inputs' codes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from latentlab.core.latent import interpolate
from latentlab.core.smoothness import strip_smoothness

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt
    import torch

    from latentlab.core.models import Autoencoder
    from latentlab.core.smoothness import StripSmoothness


@dataclass(frozen=True, slots=True)
class StripResult:
    """One model's interpolation: ``codes`` ``(steps, d)``, ``images``
    ``(steps, h, w)`` and the measured :class:`StripSmoothness`."""

    kind: str
    codes: npt.NDArray[np.float32]
    images: npt.NDArray[np.float32]
    smoothness: StripSmoothness


def interpolation_strips(
    models: Sequence[tuple[str, Autoencoder]],
    image_a: torch.Tensor,
    image_b: torch.Tensor,
    steps: int,
    train_images: torch.Tensor | None,
) -> list[StripResult]:
    """Interpolate and measure in every model (runs in a job)."""
    out = []
    for kind, model in models:
        codes, images = interpolate(model, image_a, image_b, steps)
        out.append(
            StripResult(kind, codes, images, strip_smoothness(images, train_images))
        )
    return out
