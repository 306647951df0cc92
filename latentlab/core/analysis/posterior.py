"""ε-resampling: decode the samples z = μ + σ ⊙ ε of one input's posterior."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.latent import LatentRect, decode_codes

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.models import Autoencoder


@dataclass(frozen=True, slots=True)
class SampleImages:
    """Decodes of the samples ``(k, h, w[, 3])`` and of ``mu`` ``(h, w[, 3])``."""

    samples: npt.NDArray[np.float32]
    mu: npt.NDArray[np.float32]

    @property
    def pixel_std(self) -> npt.NDArray[np.float32]:
        """Per-pixel standard deviation over the decoded samples ``(h, w)``;
        colour: per pixel and channel, ``(h, w, 3)`` (shown as an RGB image)."""
        return self.samples.std(0)


def decode_samples(
    model: Autoencoder, z: npt.NDArray[np.float32], mu: npt.NDArray[np.float32]
) -> SampleImages:
    """Decode the samples and ``mu`` in one batch (runs in a job)."""
    images = decode_codes(model, np.concatenate([z, mu[None]]))
    return SampleImages(images[:-1], images[-1])


def ellipse_xy(
    centre: tuple[float, float], radii: tuple[float, float], n: int = 97
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """An axis-aligned ellipse as a closed polyline (the posterior is diagonal)."""
    t = np.linspace(0.0, 2 * np.pi, n)
    return centre[0] + radii[0] * np.cos(t), centre[1] + radii[1] * np.sin(t)


def posterior_frame(
    centre: tuple[float, float], sigma: npt.ArrayLike, whole: LatentRect
) -> LatentRect:
    """A square around ``centre`` with room for the 2σ ellipse at a few times
    the scale, at least 4% and at most all of ``whole`` (the test set's view)."""
    half = max(7.0 * float(np.max(sigma)), 0.04 * whole.width)
    half = float(min(half, whole.width / 2))
    cx, cy = centre
    return LatentRect(cx - half, cy - half, cx + half, cy + half)
