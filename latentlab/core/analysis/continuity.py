"""Holes in a latent space, judged against the model's own codes.

A plain autoencoder is not trained towards N(0, I): judging its codes by the
VAE's prior (as the Diagnostics plane's "prior mass in holes" does) measures
how far it is from a prior it never had, at whatever scale it happened to
learn. The measures here take each model on its own terms:

- **whitening**: the codes ``z`` are mapped to ``u = W (z - m)`` with ``m`` the
  codes' mean and ``W = C^(-1/2)`` (``C`` their covariance). A latent
  transformed by any invertible linear map ``A`` (with the decoder's first
  layer multiplied by ``A⁻¹``: the same model) gives ``u' = Q u`` with ``Q``
  orthogonal, so every figure below built from distances or isotropic
  densities in ``u`` is the same for both (tested).
- **path hole share**: points on the straight paths between random pairs of
  test codes (at ``t = 1/4, 1/2, 3/4``) where the codes' density (an
  isotropic Gaussian kernel density in ``u``, Scott's bandwidth
  ``n^(-1/(d+4))``) is below :data:`HOLE_RATIO` times the density of the
  codes' own Gaussian ``N(0, I)`` in ``u``, smoothed by the same kernel
  (``N(0, (1 + h²) I)``: like with like, so the rule holds in any dimension).
  Such a point is a region the codes' mean and covariance say should be
  populated and that no code populates: a hole on the way from one input to
  another. A Gaussian cloud has none (2-D to 32-D, tested); a planted hole is
  found (tested).

Definitions fixed before any pair was trained for the comparison; see the
README's "Continuity measures".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy.typing as npt

HOLE_RATIO = 0.1  # density below this share of the codes' own Gaussian: a hole
PATH_TS = (0.25, 0.5, 0.75)
PATH_PAIRS = 500
KDE_CELLS = 1 << 18  # point-code distances per chunk: ~2 MB a temporary array


@dataclass(frozen=True, slots=True)
class Whitening:
    """``u = (z - mean) @ matrix.T``: the codes' own mean and covariance to 0, I."""

    mean: npt.NDArray[np.float64]
    matrix: npt.NDArray[np.float64]

    def __call__(self, z: npt.ArrayLike) -> npt.NDArray[np.float64]:
        return (np.asarray(z, np.float64) - self.mean) @ self.matrix.T


def whitening(codes: npt.ArrayLike) -> Whitening:
    """The whitening of ``codes`` ``(n, d)``: symmetric, ``C^(-1/2)``.

    A dim the codes do not vary along (an eigenvalue under 1e-12 of the
    largest) is kept at unit scale rather than blown up.
    """
    z = np.asarray(codes, np.float64)
    z = z[np.isfinite(z).all(1)]
    if len(z) < 2:
        raise ConfigError("need at least 2 finite codes to measure holes")
    mean = z.mean(0)
    cov = np.atleast_2d(np.cov(z, rowvar=False))
    values, vectors = np.linalg.eigh(cov)
    floor = 1e-12 * max(float(values.max()), 1e-300)
    scale = np.where(values > floor, 1.0 / np.sqrt(np.maximum(values, floor)), 1.0)
    return Whitening(mean, (vectors * scale) @ vectors.T)


def kde_ratio(
    points: npt.ArrayLike, codes: npt.ArrayLike, bandwidth: float | None = None
) -> npt.NDArray[np.float64]:
    """At each point (whitened), the codes' kernel density (whitened, isotropic
    Gaussian kernel, bandwidth ``h``) over that of their own Gaussian seen
    through the same kernel, ``N(0, (1 + h²) I)``: about 1 for a Gaussian
    cloud in any dimension."""
    u = np.asarray(codes, np.float64)
    x = np.asarray(points, np.float64)
    n, d = u.shape
    h = scott_factor(n, d) if bandwidth is None else float(bandwidth)
    u2 = (u**2).sum(1)
    out = np.empty(len(x))
    chunk = max(1, KDE_CELLS // max(n, 1))
    for lo in range(0, len(x), chunk):
        xb = x[lo : lo + chunk]
        d2 = np.maximum((xb**2).sum(1)[:, None] + u2[None, :] - 2.0 * xb @ u.T, 0.0)
        # log of mean_i N(x; u_i, h² I) - log N(x; 0, I), computed stably
        log_k = -0.5 * d2 / h**2 - d * np.log(h)
        top = log_k.max(1)
        log_q = top + np.log(np.exp(log_k - top[:, None]).mean(1))
        # over N(x; 0, (1 + h²) I): the own Gaussian smoothed by the same
        # kernel, so a Gaussian cloud reads ~1 in any dimension
        s2 = 1.0 + h * h
        log_ref = -0.5 * (xb**2).sum(1) / s2 - 0.5 * d * np.log(s2)
        out[lo : lo + chunk] = np.exp(log_q - log_ref)
    return out


def scott_factor(n: int, d: int) -> float:
    """Scott's rule in whitened units: ``n^(-1/(d+4))``."""
    return float(n) ** (-1.0 / (d + 4))


@dataclass(frozen=True, slots=True)
class PathHoles:
    """The path hole share of one model's codes, with what it was measured on."""

    share: float
    points: int
    pairs: int
    codes: int
    latent_dim: int
    bandwidth: float

    @property
    def text(self) -> str:
        """The figure with its definition."""
        return (
            f"holes on paths: {100 * self.share:.1f}% of {self.points:,} points "
            f"(t = 1/4, 1/2, 3/4 between {self.pairs:,} random pairs of the "
            f"{self.codes:,} test codes) where the codes' density is under "
            f"{HOLE_RATIO:g}× that of their own Gaussian (their mean and "
            f"covariance; whitened kernel density, h = {self.bandwidth:.3g})"
        )


def path_holes(
    codes: npt.ArrayLike, *, pairs: int = PATH_PAIRS, seed: int = 0
) -> PathHoles:
    """The path hole share of ``codes`` ``(n, d)`` (see the module docstring).

    >>> import numpy as np
    >>> cloud = np.random.default_rng(0).standard_normal((1000, 2))
    >>> path_holes(cloud).share
    0.0
    """
    z = np.asarray(codes, np.float64)
    z = z[np.isfinite(z).all(1)]
    white = whitening(z)
    u = white(z)
    n, d = u.shape
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, pairs)
    b = (a + rng.integers(1, n, pairs)) % n  # never a itself
    t = np.asarray(PATH_TS)[None, :, None]
    points = ((1 - t) * u[a][:, None, :] + t * u[b][:, None, :]).reshape(-1, d)
    h = scott_factor(n, d)
    ratio = kde_ratio(points, u, h)
    share = float((ratio < HOLE_RATIO).mean())
    return PathHoles(share, len(points), pairs, n, d, h)
