"""Diagnostics of a latent space: which units are used, and where the codes are.

- **KL per dimension and active units.** For a VAE, the closed-form KL of each
  latent dim (mean over the test set, nats; the dims sum to the total KL of
  :func:`latentlab.core.losses.gaussian_kl`), and the active units of Burda et
  al. (2016, section 5.2): dim d is active when ``Cov_x(E_q(z|x)[z_d]) > 0.01``,
  the variance over test images of ``mu_d``. For an AE, the variance of each code
  dim (its ``mu``), measured the same way.
- **Traversals.** ``mu(x)`` decoded with one dim swept from −3 to 3.
- **The aggregated posterior against the prior**, on a grid of the plane of two
  dims: ``q(z) = mean_i q(z|x_i)``, a mixture of diagonal Gaussians (VAE; the
  other dims marginalise out exactly), or a Gaussian kernel density of the codes
  with Scott's rule (AE). On the grid: the **holes** (inside the prior's 3σ disc,
  where ``q(z) < 0.1 p(z)``), the share of the prior's mass in them, and
  ``KL(q ‖ p)`` by the midpoint rule.

Everything here is numpy on arrays the app already has (the encoded test set),
except the traversals, which decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.analysis.continuity import PathHoles, path_holes
from latentlab.core.analysis.likelihood import bound_terms
from latentlab.core.errors import ConfigError
from latentlab.core.latent import LatentRect, decode_codes

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.analysis.likelihood import BoundTerms
    from latentlab.core.latent import Codes
    from latentlab.core.models import Autoencoder

ACTIVE_THRESHOLD = 0.01  # Burda et al. (2016): Cov_x(E_q[z_d]) > 0.01
HOLE_RATIO = 0.1  # a hole: q(z) below a tenth of p(z) ...
HOLE_RADIUS = 3.0  # ... inside the prior's 3σ disc (98.9% of its 2-D mass)
GRID_N = 256
LOG_2PI = math.log(2.0 * math.pi)


# --- units ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitStats:
    """Per-dim figures over ``n`` test images.

    ``mu_variance`` ``(d,)``: the variance over images of ``mu_d`` (for a VAE,
    Burda's activity ``Cov_x(E_q[z_d])``; for an AE, the code's variance).
    ``kl_per_dim`` ``(d,)``: mean KL(q(z_d|x) ‖ N(0, 1)) in nats, or None (AE).
    """

    mu_variance: npt.NDArray[np.float64]
    kl_per_dim: npt.NDArray[np.float64] | None
    n: int
    threshold: float = ACTIVE_THRESHOLD

    @property
    def latent_dim(self) -> int:
        """d."""
        return len(self.mu_variance)

    @property
    def active(self) -> npt.NDArray[np.bool_]:
        """``(d,)``: True where ``mu_variance > threshold``."""
        return self.mu_variance > self.threshold

    @property
    def active_count(self) -> int:
        """How many dims are active."""
        return int(self.active.sum())

    @property
    def total_kl(self) -> float | None:
        """The sum of the per-dim KLs (the model's mean KL), or None (AE)."""
        return None if self.kl_per_dim is None else float(self.kl_per_dim.sum())


def unit_stats(codes: Codes, threshold: float = ACTIVE_THRESHOLD) -> UnitStats:
    """KL per dim (VAE) and ``Var_x(mu_d)`` from the encoded test set.

    Images whose code is NaN or infinite are left out (``n`` counts the rest).
    """
    mu = np.asarray(codes.mu, np.float64)
    ok = np.isfinite(mu).all(1)
    sigma = None
    if codes.sigma is not None:
        sigma = np.asarray(codes.sigma, np.float64)
        ok &= np.isfinite(sigma).all(1) & (sigma > 0).all(1)
        sigma = sigma[ok]
    mu = mu[ok]
    if len(mu) == 0:
        raise ConfigError("no finite code to measure")
    kl = None
    if sigma is not None:
        # Kingma & Welling (2014), appendix B, one dim at a time.
        kl = (0.5 * (mu**2 + sigma**2 - 1.0) - np.log(sigma)).mean(0)
    return UnitStats(mu.var(0), kl, len(mu), threshold)


# --- traversals -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Traversals:
    """``images`` ``(d, steps, h, w)``: row ``j`` decodes ``mu`` with dim ``j`` set
    to each of ``values``; ``change`` ``(d,)`` is the mean over pixels of the
    range (max − min) a pixel takes along row ``j``."""

    mu: npt.NDArray[np.float32]
    values: npt.NDArray[np.float32]
    images: npt.NDArray[np.float32]

    @property
    def change(self) -> npt.NDArray[np.float64]:
        """Mean pixel range per row: ≈ 0 for a dim the decoder ignores."""
        imgs = self.images.astype(np.float64)
        spread = imgs.max(1) - imgs.min(1)  # (d, h, w[, 3])
        return spread.reshape(len(spread), -1).mean(1)


def traversals(
    model: Autoencoder,
    mu: npt.ArrayLike,
    steps: int = 9,
    span: float = 3.0,
) -> Traversals:
    """Decode ``mu`` ``(d,)`` with each dim in turn swept over ``[-span, span]``."""
    mu_a = np.asarray(mu, np.float32).reshape(-1)
    d = len(mu_a)
    if steps < 2:
        raise ConfigError("a traversal needs at least 2 steps")
    values = np.linspace(-span, span, steps, dtype=np.float32)
    z = np.tile(mu_a, (d, steps, 1))
    for j in range(d):
        z[j, :, j] = values
    images = decode_codes(model, z.reshape(-1, d))
    return Traversals(mu_a, values, images.reshape(d, steps, *images.shape[1:]))


# --- the aggregated posterior -----------------------------------------------------


def scott_bandwidth(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Scott's rule per dim: ``h_j = n^(-1/(d+4)) · std_j`` (d = 2 here)."""
    n, d = points.shape
    std = points.std(0, ddof=1) if n > 1 else np.ones(d)
    std = np.where(std > 0, std, 1.0)
    return n ** (-1.0 / (d + 4)) * std


@dataclass(frozen=True, slots=True)
class AggregatePosterior:
    """``q(z)`` and ``p(z)`` on a grid of ``n × n`` cells over ``rect``.

    Arrays are ``(n, n)``, row-major with row 0 at the lowest z2 (the planes'
    image convention). ``holes`` marks cells inside the prior's 3σ disc where
    ``q < 0.1 p``; ``hole_share`` is the prior's mass in them over its mass in
    the disc; ``kl`` is KL(q ‖ p) in nats by the midpoint rule (at twice the
    display resolution; ``kl_coarse`` at the display one, the numerical error
    estimate); ``mass`` is q's integral over the grid (≈ 1 when it covers q).
    """

    rect: LatentRect
    density: npt.NDArray[np.float64]
    prior: npt.NDArray[np.float64]
    holes: npt.NDArray[np.bool_]
    hole_share: float
    kl: float
    kl_coarse: float
    mass: float
    method: str
    n_codes: int
    dims: tuple[int, int]
    latent_dim: int

    @property
    def n(self) -> int:
        """Cells per side."""
        return self.density.shape[0]

    @property
    def hole_text(self) -> str:
        """The hole share with its definition."""
        return (
            f"prior mass in holes: {100 * self.hole_share:.1f}% (holes: q(z) < "
            f"{HOLE_RATIO:g}·p(z) inside the prior's {HOLE_RADIUS:g}σ disc; share of "
            f"the disc's N(0, I) mass, {self.n}×{self.n} grid). Judged against "
            "N(0, I), the VAE's prior: where prior samples land; an AE never "
            "had that prior (see holes on paths for each model on its own terms)"
        )

    @property
    def kl_text(self) -> str:
        """KL(q ‖ p) with its method and error estimate."""
        marginal = (
            ""
            if self.latent_dim == 2
            else f" (2-D marginal of dims {self.dims[0] + 1}, {self.dims[1] + 1})"
        )
        return (
            f"KL(q(z) ‖ p(z)){marginal}: {self.kl:.3f} nats (midpoint rule on a "
            f"{2 * self.n}×{2 * self.n} grid; {self.kl_coarse:.3f} on "
            f"{self.n}×{self.n}; q's mass on the grid {self.mass:.4f})"
        )

    def q_at(self, x: float, y: float) -> float:
        """q(z) at plane point (x, y) from the grid (nearest cell; 0 outside)."""
        r = self.rect
        i = math.floor((y - r.y0) / r.height * self.n)
        j = math.floor((x - r.x0) / r.width * self.n)
        if 0 <= i < self.n and 0 <= j < self.n:
            return float(self.density[i, j])
        return 0.0


def _mixture_1d(
    grid: npt.NDArray[np.float64],
    mu: npt.NDArray[np.float64],
    sd: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """``N(grid_a; mu_i, sd_i²)`` ``(n_codes, len(grid))``."""
    u = (grid[None, :] - mu[:, None]) / sd[:, None]
    return np.exp(-0.5 * u * u) / (sd[:, None] * math.sqrt(2 * math.pi))


def _grid_density(
    rect: LatentRect,
    n: int,
    mu: npt.NDArray[np.float64],
    sd: npt.NDArray[np.float64],
    chunk: int = 4096,
) -> npt.NDArray[np.float64]:
    """The mixture's density at the cell centres, ``(n, n)``.

    A diagonal Gaussian factorises over the two axes, so the grid of the
    mixture is one product: ``q[b, a] = mean_i Ny_i[b] · Nx_i[a]``.
    """
    xs = rect.x0 + (np.arange(n) + 0.5) * rect.width / n
    ys = rect.y0 + (np.arange(n) + 0.5) * rect.height / n
    out = np.zeros((n, n))
    for lo in range(0, len(mu), chunk):
        gx = _mixture_1d(xs, mu[lo : lo + chunk, 0], sd[lo : lo + chunk, 0])
        gy = _mixture_1d(ys, mu[lo : lo + chunk, 1], sd[lo : lo + chunk, 1])
        out += gy.T @ gx
    return out / len(mu)


def _prior_grid(rect: LatentRect, n: int) -> tuple[npt.NDArray, npt.NDArray]:
    xs = rect.x0 + (np.arange(n) + 0.5) * rect.width / n
    ys = rect.y0 + (np.arange(n) + 0.5) * rect.height / n
    gx, gy = np.meshgrid(xs, ys)
    r2 = gx**2 + gy**2
    return np.exp(-0.5 * r2) / (2 * math.pi), r2


def _kl_on_grid(q: npt.NDArray, r2: npt.NDArray, cell: float) -> float:
    """``sum q (log q - log p) · cell`` with ``log p = -r²/2 - log 2π`` in closed
    form: ``p`` itself underflows to 0 beyond r ≈ 38.6, where an AE's codes can
    lie, and ``log 0`` would make the sum infinite."""
    pos = q > 0
    log_p = -0.5 * r2[pos] - LOG_2PI
    return float((q[pos] * (np.log(q[pos]) - log_p)).sum() * cell)


def aggregate_rect(mu: npt.NDArray, sd: npt.NDArray, half: float = 4.0) -> LatentRect:
    """A square covering the prior's ``[-half, half]²`` and q's bulk (μ ± 4 sd)."""
    lo = np.minimum((mu - 4 * sd).min(0), -half)
    hi = np.maximum((mu + 4 * sd).max(0), half)
    centre = (lo + hi) / 2
    r = float((hi - lo).max()) / 2
    cx, cy = float(centre[0]), float(centre[1])
    return LatentRect(cx - r, cy - r, cx + r, cy + r)


def aggregate_posterior(
    codes: Codes,
    dims: tuple[int, int] = (0, 1),
    *,
    n: int = GRID_N,
    rect: LatentRect | None = None,
) -> AggregatePosterior:
    """``q(z)`` of the test codes on the plane of ``dims``, against ``N(0, I)``.

    A VAE's codes give the mixture of their ``q(z|x)`` (each restricted to
    ``dims``: for a diagonal Gaussian that is the exact marginal); an AE's give
    a Gaussian kernel density with Scott's bandwidth.
    """
    mu_all = np.asarray(codes.mu, np.float64)
    latent_dim = mu_all.shape[1]
    if latent_dim < 2:
        raise ConfigError("the aggregated posterior plane needs at least 2 dims")
    cols = list(dims)
    mu = mu_all[:, cols]
    ok = np.isfinite(mu).all(1)
    if codes.sigma is not None:
        sd = np.asarray(codes.sigma, np.float64)[:, cols]
        ok &= np.isfinite(sd).all(1) & (sd > 0).all(1)
        mu, sd = mu[ok], sd[ok]
        method = (
            f"q(z) = mean of q(z|x) over {len(mu):,} test images (a mixture of "
            "diagonal Gaussians)"
        )
    else:
        mu = mu[ok]
        if len(mu) == 0:
            raise ConfigError("no finite code to measure")
        bw = scott_bandwidth(mu)
        sd = np.tile(bw, (len(mu), 1))
        method = (
            f"Gaussian kernel density of {len(mu):,} test codes, Scott's rule "
            f"h = n^(-1/6)·std = ({bw[0]:.3g}, {bw[1]:.3g})"
        )
    if len(mu) == 0:
        raise ConfigError("no finite code to measure")
    if rect is None:
        rect = aggregate_rect(mu, sd)
    q = _grid_density(rect, n, mu, sd)
    p, r2 = _prior_grid(rect, n)
    cell = rect.width * rect.height / n**2
    q2 = _grid_density(rect, 2 * n, mu, sd)
    _, r2_fine = _prior_grid(rect, 2 * n)
    disc = r2 <= HOLE_RADIUS**2
    holes = disc & (q < HOLE_RATIO * p)
    share = float(p[holes].sum() / p[disc].sum()) if disc.any() else 0.0
    return AggregatePosterior(
        rect=rect,
        density=q,
        prior=p,
        holes=holes,
        hole_share=share,
        kl=_kl_on_grid(q2, r2_fine, cell / 4),
        kl_coarse=_kl_on_grid(q, r2, cell),
        mass=float(q2.sum() * cell / 4),
        method=method,
        n_codes=len(mu),
        dims=(int(dims[0]), int(dims[1])),
        latent_dim=latent_dim,
    )


@dataclass(frozen=True, slots=True)
class LiveDiagnostics:
    """What the view recomputes at every model change: cheap, no likelihood."""

    units: UnitStats
    aggregate: AggregatePosterior | None
    traversals: Traversals | None
    bound: BoundTerms | None
    path_holes: PathHoles | None = None


def live_diagnostics(
    model: Autoencoder,
    codes: Codes,
    dims: tuple[int, int],
    images=None,
    traverse_mu: npt.ArrayLike | None = None,
    bound_images: int = 1000,
) -> LiveDiagnostics:
    """Units, the aggregated posterior of ``dims``, traversals (d > 2) and, for
    a VAE given its test ``images``, the bound's terms on the first
    ``bound_images`` of them (runs in a job)."""
    units = unit_stats(codes)
    d = codes.mu.shape[1]
    agg = aggregate_posterior(codes, dims) if d >= 2 else None
    trav = None
    if d > 2 and traverse_mu is not None:
        trav = traversals(model, traverse_mu)
    bound = None
    if images is not None and codes.sigma is not None and len(images):
        bound = bound_terms(model, images[:bound_images], samples=4)
    holes = path_holes(codes.mu) if len(codes.mu) >= 2 else None
    return LiveDiagnostics(units, agg, trav, bound, holes)
