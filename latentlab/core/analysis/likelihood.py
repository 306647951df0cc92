"""The marginal log-likelihood log p(x) of a VAE, and its gap to the ELBO.

The decoder defines ``p(x) = ∫ p(x|z) p(z) dz`` with ``p(z) = N(0, I)`` and a
Bernoulli likelihood whose targets are the pixels in [0, 1] as they are (not
binarized), the same likelihood the loss uses (:mod:`latentlab.core.losses`).

- **2-D latents: quadrature.** A composite midpoint rule over the latent plane on
  one grid shared by every image (the decoder runs once per grid point; one
  matrix product gives ``log p(x_i|z_g)`` for all images), refined like a
  quadtree where any image still has posterior mass: a cell holding more than
  ``split_share`` of an image's estimate is split into four, and an image is
  done when a refinement changes its estimate by less than ``tol`` nats.
- **Any latent size: importance sampling** with ``q(z|x)`` as the proposal
  (Burda et al. 2016, eq. 8), ``K`` samples per image; the effective sample size
  ``(Σw)² / Σw²`` of each image tells how far to trust it.

Both are generators: they yield the fraction done, a point where a job can stop.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.data import to_float
from latentlab.core.errors import ConfigError
from latentlab.core.latent import encode_images, memory_batch
from latentlab.core.lazy import no_grad
from latentlab.core.limits import memory_budget
from latentlab.core.losses import gaussian_kl, recon_nats
from latentlab.core.model_interface import BERNOULLI

if TYPE_CHECKING:
    from collections.abc import Generator

    import numpy.typing as npt
    import torch

    from latentlab.core.config import ModelConfig
    from latentlab.core.model_interface import Likelihood
    from latentlab.core.models import Autoencoder

LOG_2PI = math.log(2.0 * math.pi)
QUAD_TOL = 0.05  # nats per image, the stopping rule
IS_K_DEFAULT = 1000
LOW_ESS = 10.0  # an image whose IS estimate rests on fewer effective samples
LIKELIHOOD_NOTE = "pixels in [0,1] as Bernoulli targets, not binarized"


def likelihood_note(model: Autoencoder) -> str:
    """What p(x | z) a model's figures use, with its fitted σ where it has one:
    ``"pixels in [0,1]; Gaussian, one learned σ (σ = 0.081)"``."""
    lik = _likelihood_of(model)
    if lik.name == "bernoulli":
        return LIKELIHOOD_NOTE
    scale = getattr(lik, "log_scale", None)
    fitted = ""
    if scale is not None:
        import torch

        if not bool(torch.isfinite(scale).all()):
            return (
                "pixels in [0,1]; Gaussian, one σ that the file does not hold: "
                "fitted by maximum likelihood on the images it is shown with"
            )
        sigma = torch.exp(scale.detach().double())
        fitted = (
            f" (σ = {float(sigma.mean()):.3g})"
            if sigma.numel() == 1
            else f" (σ from {float(sigma.min()):.3g} to {float(sigma.max()):.3g})"
        )
    describe = getattr(lik, "describe", lambda: lik.name)
    return f"pixels in [0,1]; {describe()}{fitted}"


def bits_comparable(model: Autoencoder) -> bool:
    """True when the model's ``-log p(x)`` is a probability of 8-bit pixels,
    so its bits per dimension compare with the colour-image papers'."""
    return bool(getattr(_likelihood_of(model), "bits_comparable", False))


def _log_prior(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """log N(z; 0, I) for ``z`` ``(m, d)``."""
    return -0.5 * (z**2).sum(1) - 0.5 * z.shape[1] * LOG_2PI


def _flat_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(n, h, w)`` or float images -> float32 ``(n, pixels)`` in [0, 1]."""
    import torch

    x = to_float(images) if images.dtype == torch.uint8 else images.float()
    return x.reshape(len(x), -1)


@no_grad
def log_likelihood_matrix(
    model: Autoencoder, x: torch.Tensor, z: npt.NDArray[np.float64]
) -> npt.NDArray[np.float32]:
    """``log p(x_i | z_g)`` for every image and point, ``(n, m)``, in nats.

    ``x`` is float ``(n, pixels)`` in [0, 1]; ``z`` is ``(m, latent_dim)``. The
    Bernoulli log-likelihood with logits ``l`` is ``Σ_j x_j l_j − softplus(l_j)``,
    so all pairs take one matrix product; so does a continuous Gaussian's,
    ``−½ Σ_j w_j (x_j − m_j)² + const`` with ``w = σ⁻²`` expanded.
    """
    import torch
    import torch.nn.functional as F

    logits = model.decode_logits(torch.as_tensor(z, dtype=torch.float32))
    lik = _likelihood_of(model)
    if lik.name == "gaussian" and not getattr(lik, "discrete", True):
        mean = lik.mean(logits).reshape(len(z), -1).double()
        log_scale = lik.log_scale.detach().double().expand_as(logits[0]).reshape(-1)
        w = torch.exp(-2.0 * log_scale)
        xd = x.double()
        quad = (xd * xd) @ w[:, None] - 2.0 * xd @ (mean * w).T
        quad = quad + (mean * mean * w).sum(1)[None]
        const = log_scale.sum() + 0.5 * len(w) * LOG_2PI
        return (-0.5 * quad - const).float().numpy()
    if lik.name != "bernoulli":
        # No matrix form: one image against every point at a time.
        images = x.reshape(len(x), *logits.shape[1:])
        rows = [lik.log_prob(logits, xi.expand_as(logits)) for xi in images]
        return torch.stack(rows).numpy() if rows else np.zeros((0, len(z)), np.float32)
    logits = logits.reshape(len(z), -1)
    out = x @ logits.T - F.softplus(logits).sum(1)
    return out.numpy()


def _likelihood_of(model: Autoencoder) -> Likelihood:
    """The model's likelihood; Bernoulli for a module that names none."""
    return getattr(model, "likelihood", BERNOULLI)


def _logsumexp(a: npt.NDArray, axis: int = 1) -> npt.NDArray[np.float64]:
    a = np.asarray(a, np.float64)
    if a.shape[axis] == 0:
        return np.full(a.shape[1 - axis], -np.inf)
    m = a.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (np.log(np.exp(a - m).sum(axis=axis)) + m.squeeze(axis)).astype(np.float64)


@dataclass(frozen=True, slots=True)
class Region:
    """The square-celled rectangle the quadrature covers."""

    x0: float
    y0: float
    x1: float
    y1: float


def quadrature_region(
    mu: npt.NDArray[np.float32] | None,
    sigma: npt.NDArray[np.float32] | None,
    *,
    prior_half: float = 5.0,
    posterior_sds: float = 8.0,
) -> Region:
    """The prior's ``[-prior_half, prior_half]²`` and every ``mu ± 8 sigma``."""
    lo = np.full(2, -prior_half)
    hi = np.full(2, prior_half)
    if mu is not None and sigma is not None and len(mu):
        ok = np.isfinite(mu).all(1) & np.isfinite(sigma).all(1)
        if ok.any():
            lo = np.minimum(lo, (mu[ok] - posterior_sds * sigma[ok]).min(0))
            hi = np.maximum(hi, (mu[ok] + posterior_sds * sigma[ok]).max(0))
    return Region(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


@dataclass(frozen=True, slots=True)
class QuadratureResult:
    """Per-image ``log_px`` ``(n,)`` by adaptive quadrature, and how it got there."""

    log_px: npt.NDArray[np.float64]
    levels: int
    points: int
    tol: float
    region: Region
    converged: npt.NDArray[np.bool_]

    @property
    def method(self) -> str:
        """The estimator in words."""
        return (
            f"quadrature (adaptive midpoint rule, {self.points:,} decoder points, "
            f"{self.levels} refinements, stop at < {self.tol:g} nats/image)"
        )


def quadrature_log_px(
    model: Autoencoder,
    images: torch.Tensor,
    *,
    tol: float = QUAD_TOL,
    base: int = 96,
    split_share: float = 1e-4,
    max_levels: int = 8,
    region: Region | None = None,
    chunk: int = 8192,
) -> Generator[float, None, QuadratureResult]:
    """Exact (to ``tol``) ``log p(x)`` of each image for a 2-D latent.

    Parameters
    ----------
    model
        Anything with ``decode_logits(z)``: ``(m, 2)`` -> logits ``(m, ...)``, and
        ``encode`` when ``region`` is not given (its ``q(z|x)`` sizes the region).
    images
        uint8 ``(n, h, w)`` or float in [0, 1].
    tol
        An image is done when a refinement moves its estimate less than this.
    base
        Cells along the longer side of the first grid.
    split_share
        A cell holding more than this share of an unfinished image's estimate is
        split into four at the next level.
    """
    import torch

    if model.config.latent_dim != 2:
        raise ConfigError("quadrature needs a 2-D latent; use importance sampling")
    x = _flat_pixels(images)
    n = len(x)
    if region is None:
        codes = encode_images(model, images) if images.dtype == torch.uint8 else None
        region = quadrature_region(
            None if codes is None else codes.mu, None if codes is None else codes.sigma
        )
    width, height = region.x1 - region.x0, region.y1 - region.y0
    h = max(width, height) / base
    nx, ny = math.ceil(width / h - 1e-9), math.ceil(height / h - 1e-9)
    xs = region.x0 + (np.arange(nx) + 0.5) * h
    ys = region.y0 + (np.arange(ny) + 0.5) * h
    gx, gy = np.meshgrid(xs, ys)
    centres = np.stack([gx.ravel(), gy.ravel()], 1)
    points = len(centres)

    # A 64 px colour decoder's activations bound the points decoded at once.
    chunk = memory_batch(model, chunk)

    def log_weights(rows: npt.NDArray[np.int64], z: npt.NDArray[np.float64], cell):
        out = np.empty((len(rows), len(z)), np.float32)
        xr = x[torch.as_tensor(rows)]
        for lo in range(0, len(z), chunk):
            zc = z[lo : lo + chunk]
            ll = log_likelihood_matrix(model, xr, zc)
            out[:, lo : lo + chunk] = ll + (_log_prior(zc) + 2 * math.log(cell))
        return out

    active = np.arange(n)
    w = log_weights(active, centres, h)
    yield 0.0
    frozen = np.full(n, -np.inf)
    estimate = _logsumexp(w)
    converged = np.zeros(n, bool)
    offsets = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], np.float64)
    level = 0
    while len(active) and level < max_levels:
        level += 1
        share = np.exp(w - estimate[active, None].astype(np.float32))
        split = share.max(0) > split_share
        del share
        frozen[active] = np.logaddexp(frozen[active], _logsumexp(w[:, ~split]))
        h /= 2
        children = (centres[split][:, None, :] + offsets * (h / 2)).reshape(-1, 2)
        points += len(children)
        w = log_weights(active, children, h)
        new = np.logaddexp(frozen[active], _logsumexp(w))
        change = np.abs(new - estimate[active])
        estimate[active] = new
        done = change < tol
        converged[active[done]] = True
        active, w, centres = active[~done], w[~done], children
        yield float(converged.mean())
    return QuadratureResult(estimate, level, points, tol, region, converged)


@dataclass(frozen=True, slots=True)
class ImportanceResult:
    """Per-image ``log_px`` and effective sample size ``ess``, ``(n,)`` each."""

    log_px: npt.NDArray[np.float64]
    ess: npt.NDArray[np.float64]
    k: int

    @property
    def median_ess(self) -> float:
        """Median over images of the effective sample size."""
        return float(np.median(self.ess))

    @property
    def low_ess_share(self) -> float:
        """Share of images whose estimate rests on fewer than 10 effective samples."""
        return float((self.ess < LOW_ESS).mean())

    @property
    def method(self) -> str:
        """The estimator in words."""
        return (
            f"importance sampling with q(z|x), K = {self.k:,}, median ESS "
            f"{self.median_ess:.1f}"
        )

    @property
    def warning(self) -> str:
        """What to distrust, or ``""``: a small ESS biases log p(x) low."""
        if self.median_ess < 0.05 * self.k or self.low_ess_share > 0.05:
            return (
                f"small effective sample size: median {self.median_ess:.1f} of "
                f"K = {self.k:,}, {100 * self.low_ess_share:.0f}% of images below "
                f"{LOW_ESS:g}; log p(x) is likely underestimated, raise K"
            )
        return ""


@no_grad
def importance_log_px(
    model: Autoencoder,
    images: torch.Tensor,
    k: int = IS_K_DEFAULT,
    *,
    seed: int = 0,
    points_per_step: int | None = None,
) -> Generator[float, None, ImportanceResult]:
    """``log p(x) ≈ log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x)``, ``z_k ~ q(z|x)``.

    At most ``points_per_step`` samples are decoded at once (by default as
    many as :func:`importance_points_per_step` allows), whatever ``K``: a large
    ``K`` is drawn in chunks whose log-sum-exps are accumulated, so memory
    stays bounded and only the time grows.
    """
    import torch

    if k < 1:
        raise ConfigError(f"K must be at least 1, not {k}")
    if not model.is_variational:
        raise ConfigError("importance sampling needs a VAE's q(z|x)")
    if points_per_step is None:
        points_per_step = importance_points_per_step(model.config)
    x = _flat_pixels(images)
    gen = torch.Generator().manual_seed(seed)
    per = max(1, points_per_step // k)
    step = min(k, points_per_step)
    log_px = np.empty(len(x))
    ess = np.empty(len(x))
    for lo in range(0, len(x), per):
        xb = x[lo : lo + per]
        enc = model.encode(xb.reshape(len(xb), *model.config.image_shape))
        mu, logvar = enc.mu.double(), enc.logvar.double()
        lse = torch.full((len(xb),), -math.inf, dtype=torch.float64)
        lse2 = lse.clone()  # of 2 log w, for the effective sample size
        for drawn in range(0, k, step):
            log_w = _importance_log_weights(
                model, xb, mu, logvar, min(step, k - drawn), gen
            )
            lse = torch.logaddexp(lse, torch.logsumexp(log_w, 1))
            lse2 = torch.logaddexp(lse2, torch.logsumexp(2 * log_w, 1))
            if step < k:
                yield min(1.0, (lo + len(xb) * (drawn + step) / k) / len(x))
        log_px[lo : lo + per] = (lse - math.log(k)).numpy()
        ess[lo : lo + per] = torch.exp(2 * lse - lse2).numpy()
        yield min(1.0, (lo + per) / len(x))
    return ImportanceResult(log_px, ess, k)


def _importance_log_weights(
    model: Autoencoder,
    xb: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    gen: torch.Generator,
) -> torch.Tensor:
    """``log p(x|z) + log p(z) − log q(z|x)`` for ``k`` draws per image, ``(b, k)``."""
    import torch
    import torch.nn.functional as F

    eps = torch.randn((len(xb), k, mu.shape[1]), generator=gen, dtype=torch.float64)
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps  # (b, k, d)
    logits = model.decode_logits(z.reshape(-1, mu.shape[1]).float())
    lik = _likelihood_of(model)
    if lik.name != "bernoulli":
        targets = xb[:, None].expand(len(xb), k, -1).reshape(logits.shape)
        ll = lik.log_prob(logits, targets).reshape(len(xb), k).double()
    else:
        logits = logits.reshape(len(xb), k, -1)
        ll = (xb[:, None] * logits - F.softplus(logits)).sum(-1).double()
    log_q = (-0.5 * eps**2 - 0.5 * logvar[:, None] - 0.5 * LOG_2PI).sum(-1)
    log_p = (-0.5 * z**2 - 0.5 * LOG_2PI).sum(-1)
    return ll + log_p - log_q


# Memory one importance-sampling chunk may take, and its most points.
IS_CHUNK_BYTES = 2 * 1024**3
IS_MAX_POINTS = 65536


def importance_points_per_step(config: ModelConfig) -> int:
    """Points decoded at once: the decoder's activations (and their ReLUs) and
    three pixel-sized products per point, within :data:`IS_CHUNK_BYTES` and a
    share of this machine's memory, whatever the model's width."""
    from latentlab.core.models import decoder_activations  # torch: not at start-up

    per_point = 4 * (2 * decoder_activations(config) + 3 * config.pixels)
    budget = min(IS_CHUNK_BYTES, memory_budget() // 2)
    return int(max(64, min(IS_MAX_POINTS, budget // per_point)))


@no_grad
def importance_points_per_second(
    model: Autoencoder, image: torch.Tensor, *, repeats: int = 3
) -> float:
    """Importance-sampling points this machine computes a second, for one image
    (uint8 ``(1, h, w)``): the median of ``repeats`` timed chunks of real work,
    to say how long a large K takes before starting it."""
    import torch

    x = _flat_pixels(image[:1])
    enc = model.encode(x.reshape(1, *model.config.image_shape))
    mu, logvar = enc.mu.double(), enc.logvar.double()
    k = min(4096, importance_points_per_step(model.config))
    gen = torch.Generator().manual_seed(0)
    _importance_log_weights(model, x, mu, logvar, 64, gen)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        log_w = _importance_log_weights(model, x, mu, logvar, k, gen)
        torch.logsumexp(log_w, 1)
        times.append(time.perf_counter() - start)
    return k / max(float(np.median(times)), 1e-9)


@dataclass(frozen=True, slots=True)
class BoundTerms:
    """Test-set means in nats per image: the ELBO's terms, two reconstructions.

    ``recon_mu`` decodes z = μ; ``recon_samples`` averages ``samples`` draws
    z ~ q(z|x) per image (the ELBO's term); ``kl`` is the closed form.
    """

    recon_mu: float
    recon_samples: float
    kl: float
    samples: int
    n: int
    # Which p(x|z) the reconstructions are under (:func:`likelihood_note`).
    likelihood: str = LIKELIHOOD_NOTE

    @property
    def neg_elbo(self) -> float:
        """``recon_samples + kl``: an upper bound on −log p(x)."""
        return self.recon_samples + self.kl


@no_grad
def bound_terms(
    model: Autoencoder,
    images: torch.Tensor,
    *,
    samples: int = 16,
    seed: int = 0,
    batch_size: int = 500,
) -> BoundTerms:
    """Reconstruction at μ and over ``samples`` posterior draws, and the KL."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    r_mu = r_s = kl = 0.0
    n = len(images)
    for lo in range(0, n, batch_size):
        xb = to_float(images[lo : lo + batch_size])
        enc = model.encode(xb)
        lik = _likelihood_of(model)
        r_mu += recon_nats(model.decode_logits(enc.mu), xb, lik).sum().item()
        if enc.logvar is None:
            continue
        kl += gaussian_kl(enc.mu, enc.logvar).sum().item()
        sd = torch.exp(0.5 * enc.logvar)
        for _ in range(samples):
            eps = torch.randn(enc.mu.shape, generator=gen)
            logits = model.decode_logits(enc.mu + sd * eps)
            r_s += recon_nats(logits, xb, lik).sum().item() / samples
    if not model.is_variational:
        r_s = r_mu
    return BoundTerms(r_mu / n, r_s / n, kl / n, samples, n, likelihood_note(model))


@dataclass(frozen=True, slots=True)
class LikelihoodReport:
    """log p(x) against the bound, on ``n`` test images."""

    log_px: float
    per_image: npt.NDArray[np.float64]
    method: str
    bound: BoundTerms
    seconds: float
    warning: str = ""
    median_ess: float | None = None
    k: int | None = None

    @property
    def gap(self) -> float:
        """``log p(x) − ELBO``: the mean KL(q(z|x) ‖ p(z|x)), nats per image."""
        return self.log_px + self.bound.neg_elbo


def likelihood_report(
    model: Autoencoder,
    images: torch.Tensor,
    *,
    k: int = IS_K_DEFAULT,
    seed: int = 0,
    method: str = "auto",
) -> Generator[float, None, LikelihoodReport]:
    """log p(x) by quadrature (2-D, ``method="auto"``) or IS, with the bound."""
    if method not in ("auto", "quadrature", "is"):
        raise ConfigError(f"unknown method {method!r}; use auto, quadrature or is")
    if not model.is_variational:
        raise ConfigError("log p(x) needs a VAE (an AE has no prior or posterior)")
    if len(images) == 0:
        raise ConfigError("no test images to evaluate")
    start = time.perf_counter()
    quad = method == "quadrature" or (method == "auto" and model.config.latent_dim == 2)
    if quad:
        res = yield from _scaled(quadrature_log_px(model, images), 0.0, 0.9)
        text, warning, ess, kk = res.method, "", None, None
        if not res.converged.all():
            warning = (
                f"{int((~res.converged).sum())} image(s) did not converge within "
                f"{res.levels} refinements"
            )
    else:
        res = yield from _scaled(importance_log_px(model, images, k, seed=seed), 0, 0.9)
        text, warning, ess, kk = res.method, res.warning, res.median_ess, k
    bound = bound_terms(model, images, seed=seed)
    yield 1.0
    per = res.log_px
    return LikelihoodReport(
        float(per.mean()),
        per,
        text,
        bound,
        time.perf_counter() - start,
        warning,
        ess,
        kk,
    )


def _scaled(gen, lo: float, hi: float):
    """Re-yield a generator's fractions mapped into ``[lo, hi]``; return its value."""
    try:
        while True:
            yield lo + (hi - lo) * next(gen)
    except StopIteration as stop:
        return stop.value
