"""How smooth an interpolation strip is, and how far its images fall from the data.

All distances are in pixel space with pixels in [0, 1]: the Euclidean (L2) norm
over the whole image, and the mean absolute difference per pixel (MAE). For a
28x28 image an L2 of 1 is, e.g., one fully flipped pixel or 4 pixels off by 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy.typing as npt
    import torch


@dataclass(frozen=True, slots=True)
class NearestImages:
    """For each query image, its nearest training image (L2 in pixel space)."""

    distance: npt.NDArray[np.float64]
    index: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class StripSmoothness:
    """Measured smoothness of one decoded strip ``(steps, h, w)``.

    Attributes
    ----------
    step_l2, step_mae : ndarray
        ``(steps - 1,)`` distance between consecutive decodes.
    nearest : NearestImages or None
        Each decode's nearest training image, when a training set was given.
    """

    step_l2: npt.NDArray[np.float64]
    step_mae: npt.NDArray[np.float64]
    nearest: NearestImages | None = None

    @property
    def max_step(self) -> float:
        """Largest L2 jump between consecutive decodes."""
        return float(self.step_l2.max())

    @property
    def mean_step(self) -> float:
        """Mean L2 distance between consecutive decodes."""
        return float(self.step_l2.mean())

    @property
    def jump_ratio(self) -> float:
        """``max_step / mean_step``: 1 for evenly spaced changes, large for a jump."""
        mean = self.mean_step
        return self.max_step / mean if mean > 0 else 1.0

    @property
    def worst_step(self) -> int:
        """Index ``i`` of the largest jump (between decodes ``i`` and ``i + 1``)."""
        return int(self.step_l2.argmax())

    @property
    def midpoint_nn(self) -> float | None:
        """Nearest-training distance of the middle decode(s), mean of the two
        central ones for an even number of steps."""
        if self.nearest is None:
            return None
        d = self.nearest.distance
        n = len(d)
        return float(d[(n - 1) // 2 : n // 2 + 1].mean())

    @property
    def interior_nn_max(self) -> float | None:
        """Largest nearest-training distance among the interior decodes."""
        if self.nearest is None:
            return None
        d = self.nearest.distance
        return float(d[1:-1].max()) if len(d) > 2 else float(d.max())

    @property
    def endpoint_nn(self) -> float | None:
        """Mean nearest-training distance of the two end decodes (a scale)."""
        if self.nearest is None:
            return None
        d = self.nearest.distance
        return float((d[0] + d[-1]) / 2)


def _flat(images: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(images)
    if arr.ndim < 2:
        raise ConfigError("images must be (n, h, w) or (n, pixels)")
    scale = 1.0 / 255.0 if arr.dtype == np.uint8 else 1.0
    return arr.reshape(len(arr), -1).astype(np.float64) * scale


def step_distances(
    strip: npt.ArrayLike,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """``(l2, mae)``, each ``(steps - 1,)``, between consecutive images of a strip."""
    flat = _flat(strip)
    if len(flat) < 2:
        raise ConfigError("a strip needs at least 2 images")
    diff = np.diff(flat, axis=0)
    return np.sqrt((diff**2).sum(1)), np.abs(diff).mean(1)


def nearest_training(
    images: npt.ArrayLike,
    train_images: torch.Tensor | npt.ArrayLike,
    *,
    chunk: int = 8192,
) -> NearestImages:
    """Nearest training image of each query, by L2 distance in pixel space.

    ``images`` ``(m, h, w)`` floats in [0, 1] (or uint8); ``train_images``
    ``(n, h, w)`` uint8 (or floats in [0, 1]). Colour: ``(m, h, w, 3)``
    queries, as decodes come, against the dataset's ``(n, 3, h, w)`` stack.
    The search uses ``|a|^2 + |b|^2 - 2 a.b`` with one matrix product per
    chunk of the training set (60k MNIST images take ~0.1 s for a strip), then
    recomputes the winners' distances exactly.
    """
    import torch

    exact_q = torch.from_numpy(_flat(images))
    queries = exact_q.to(torch.float32)
    train = torch.as_tensor(train_images)
    if train.ndim < 2 or len(train) == 0:
        raise ConfigError("the training set is empty")
    if train.ndim == 4:
        # A colour set is stored channels first; queries (decodes, display
        # images) are channels last: compare pixel with pixel.
        train = train.permute(0, 2, 3, 1)
    train = train.reshape(len(train), -1)
    if train.shape[1] != queries.shape[1]:
        raise ConfigError(
            f"images have {queries.shape[1]} pixels, training images {train.shape[1]}"
        )
    is_uint8 = train.dtype == torch.uint8
    q_sq = queries.square().sum(1, keepdim=True)
    best = torch.full((len(queries),), float("inf"))
    best_idx = torch.zeros(len(queries), dtype=torch.int64)
    with torch.no_grad():
        for lo in range(0, len(train), chunk):
            block = train[lo : lo + chunk].to(torch.float32)
            if is_uint8:
                block = block / 255.0
            d2 = q_sq + block.square().sum(1)[None] - 2.0 * queries @ block.T
            val, idx = d2.min(1)
            better = val < best
            best = torch.where(better, val, best)
            best_idx = torch.where(better, idx + lo, best_idx)
    winners = train[best_idx].to(torch.float64)
    if is_uint8:
        winners = winners / 255.0
    exact = (exact_q - winners).square().sum(1).sqrt()
    return NearestImages(exact.numpy(), best_idx.numpy())


def strip_smoothness(
    strip: npt.ArrayLike,
    train_images: torch.Tensor | npt.ArrayLike | None = None,
) -> StripSmoothness:
    """Smoothness figures of a decoded strip ``(steps, h, w)`` in [0, 1].

    With ``train_images`` each decode's distance to its nearest training image
    is measured too (how far the path leaves the data).
    """
    l2, mae = step_distances(strip)
    nearest = None
    if train_images is not None:
        nearest = nearest_training(strip, train_images)
    return StripSmoothness(l2, mae, nearest)


def chi2_quantile(level: float, dof: int) -> float:
    """Quantile of the chi-square distribution: ``P(|z|^2 <= q) = level`` for
    ``z ~ N(0, I_dof)`` (bisection on the regularized lower incomplete gamma)."""
    import torch

    if not 0.0 < level < 1.0 or dof < 1:
        raise ConfigError("need 0 < level < 1 and dof >= 1")
    a = torch.tensor(dof / 2.0, dtype=torch.float64)
    lo, hi = 0.0, float(dof) + 40.0 * np.sqrt(dof) + 40.0
    for _ in range(80):
        mid = (lo + hi) / 2
        p = float(torch.special.gammainc(a, torch.tensor(mid / 2, dtype=torch.float64)))
        lo, hi = (mid, hi) if p < level else (lo, mid)
    return (lo + hi) / 2


def share_in_prior_bulk(codes: npt.ArrayLike, level: float = 0.95) -> float:
    """Share of codes ``(n, d)`` inside the region holding ``level`` of N(0, I).

    Near ``level`` for a VAE whose aggregate posterior matches its prior; an
    autoencoder's codes are under no such constraint.
    """
    z = np.asarray(codes, np.float64)
    if z.ndim != 2:
        raise ConfigError("codes must be an (n, d) array")
    z = z[np.isfinite(z).all(1)]  # a diverged model's NaN codes say nothing
    if len(z) == 0:
        raise ConfigError("no finite codes")
    q = chi2_quantile(level, z.shape[1])
    return float(((z**2).sum(1) <= q).mean())
