"""The identity the reparameterization trick rests on, checked with numbers.

For ``q(z|x) = N(mu, diag(sigma^2))`` and any differentiable ``f``::

    grad_{mu,sigma} E_{q}[f(z)] = E_{eps ~ N(0, I)}[grad_{mu,sigma} f(mu + sigma * eps)]

The right side is the mean of ``K`` per-sample path gradients from autograd.
The left side is measured independently of it, so the check can fail: it never
uses those draws of ``eps`` nor ``f``'s derivative. It differentiates the
Gaussian instead of ``f``::

    d/d mu_j E_q[f]    = E_q[f(z) (z_j - mu_j) / sigma_j^2]
    d/d sigma_j E_q[f] = E_q[f(z) ((z_j - mu_j)^2 / sigma_j^3 - 1 / sigma_j)]

and evaluates these integrals by Gauss-Hermite quadrature: over the whole
plane for latents of 1 or 2 dims (its error estimated from a coarser rule),
otherwise along dim ``j`` for each of ``K`` independent draws of the other dims
(a seed of its own; the standard error is over those draws). Both sides come
with standard errors; :func:`agreement` says whether they agree within 3 of
them (more with many components: a 1 % chance of a false alarm over all of
them). A gradient 10 % off is caught (``tests/core/test_identity.py``).

:func:`without_the_trick` samples ``z ~ N(mu, sigma^2)`` directly and shows what
autograd then gives for ``mu`` and ``sigma``: nothing, so the score function
``f(z) grad log q(z)`` is the only estimator left.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy.typing as npt
    import torch

AGREE_SE = 3.0


@dataclass(frozen=True, slots=True)
class Agreement:
    """How far apart two estimates of the same vector are, in standard errors.

    ``gaps[j]`` is ``|a_j - b_j| / sqrt(se_a_j² + se_b_j²)`` (0 when both the
    difference and the errors are 0, inf when only the errors are; NaN when an
    input is not finite). ``agree`` is True when every gap is below
    ``threshold``.
    """

    gaps: npt.NDArray[np.float64]
    threshold: float

    @property
    def comparable(self) -> bool:
        """False when some estimate or error is NaN or infinite."""
        return bool(len(self.gaps)) and not bool(np.isnan(self.gaps).any())

    @property
    def agree(self) -> bool:
        """True when every component differs by less than ``threshold`` SE."""
        return self.comparable and bool((self.gaps < self.threshold).all())

    @property
    def worst(self) -> int:
        """Index of the component with the largest gap."""
        return int(np.argmax(np.where(np.isnan(self.gaps), np.inf, self.gaps)))

    @property
    def beyond(self) -> int:
        """How many components differ by ``threshold`` SE or more."""
        return int((self.gaps >= self.threshold).sum())

    def text(self, names: Sequence[str]) -> str:
        """The verdict in words, naming the components by ``names``."""
        if not self.comparable:
            return (
                "The two estimators cannot be compared: some pooled mean or "
                "standard error is not finite."
            )
        k = self.worst
        gap = self.gaps[k]
        shown = "∞" if np.isinf(gap) else f"{gap:.1f}"
        if self.agree:
            return (
                "The two estimators agree: every component's pooled means differ "
                f"by less than {self.threshold:.3g} combined standard errors "
                f"(largest {shown} SE, {names[k]})."
            )
        return (
            f"The two estimators do NOT agree: {names[k]} differs by {shown} "
            f"combined standard errors; {self.beyond} of {len(self.gaps)} "
            f"components differ by {self.threshold:.3g} SE or more."
        )


def family_threshold(components: int, false_alarm: float = 0.01) -> float:
    """The gap, in standard errors, that ``components`` normal gaps all stay
    under with probability ``1 - false_alarm`` when the sides agree (at least
    :data:`AGREE_SE`): 3.0 for 4 components, 3.4 for 16."""
    from statistics import NormalDist

    per = false_alarm / (2 * max(components, 1))
    return max(AGREE_SE, NormalDist().inv_cdf(1 - per))


def agreement(
    mean_a: npt.ArrayLike,
    se_a: npt.ArrayLike,
    mean_b: npt.ArrayLike,
    se_b: npt.ArrayLike,
    threshold: float | None = None,
) -> Agreement:
    """Compare two estimates with their standard errors, component by
    component; ``threshold`` defaults to :func:`family_threshold` of their
    number (a 1 % chance of a false alarm over all of them)."""
    if threshold is None:
        threshold = family_threshold(np.size(mean_a))
    a, b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    sa, sb = np.asarray(se_a, np.float64), np.asarray(se_b, np.float64)
    diff = np.abs(a - b)
    se = np.sqrt(sa**2 + sb**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.inf)
    gaps = np.where(diff == 0, 0.0, gaps)
    finite = np.isfinite(a) & np.isfinite(b) & np.isfinite(sa) & np.isfinite(sb)
    return Agreement(np.where(finite, gaps, np.nan), float(threshold))


# The Gradient path tab's default draws for the right side: enough that a path
# gradient 10 % off shows past the threshold on the shipped MNIST VAEs' inputs
# (10 of 10 inputs of the 2-D one, 5 of 5 of the 8-D one, measured).
IDENTITY_K = 16384
QUADRATURE_NODES = 48  # per dim on the plane; its error from a 32-node rule
LINE_NODES = 12  # along one dim, for each draw of the others (latents over 2-D)
LINE_DRAWS = 2048  # at most, of the other dims (each costs a decode per node and dim)
LEFT_SEED_OFFSET = 1_000_003  # the left side's draws: a stream of their own


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """Both sides of the identity, per component ``(mu_1..mu_d, sigma_1..sigma_d)``.

    ``lhs``: the gradient of ``E_q[f]`` computed without ``f``'s derivative
    and without the right side's draws (``left_method`` says how); ``rhs``:
    the mean of the ``k`` per-sample path gradients. Each with its standard
    error (the left's, for a quadrature over the plane: its difference from a
    coarser rule).
    """

    lhs: npt.NDArray[np.float64]
    lhs_se: npt.NDArray[np.float64]
    rhs: npt.NDArray[np.float64]
    rhs_se: npt.NDArray[np.float64]
    k: int
    left_method: str

    @property
    def verdict(self) -> Agreement:
        """Whether the two sides agree within :func:`family_threshold`
        combined standard errors."""
        return agreement(self.lhs, self.lhs_se, self.rhs, self.rhs_se)


def component_names(latent_dim: int) -> list[str]:
    """``∂/∂μ₁ … ∂/∂σ_d``: the gradient's components in order."""
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    idx = [str(j + 1).translate(sub) for j in range(latent_dim)]
    return [f"∂/∂μ{i}" for i in idx] + [f"∂/∂σ{i}" for i in idx]


def _hermite(n: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Standard-normal nodes ``t`` and weights: ``E[g(t)] ≈ sum w g(t)``."""
    x, w = np.polynomial.hermite.hermgauss(n)
    return np.sqrt(2.0) * x, w / np.sqrt(np.pi)


def _score_weights(t: npt.NDArray[np.float64], sigma: float):
    """``d/dmu log N`` and ``d/dsigma log N`` at ``z = mu + sigma t``."""
    return t / sigma, (t * t - 1.0) / sigma


def _plane_gradient(f64, mu, sigma, n: int) -> npt.NDArray[np.float64]:
    """``grad E_q[f]`` by an ``n``-node product rule over all ``d <= 2`` dims."""
    import torch

    d = len(mu)
    t, w = _hermite(n)
    nodes = np.stack([g.ravel() for g in np.meshgrid(*([t] * d), indexing="ij")], 1)
    weight = np.prod(
        np.stack([g.ravel() for g in np.meshgrid(*([w] * d), indexing="ij")], 1), 1
    )
    with torch.no_grad():
        fz = f64(torch.as_tensor(mu + sigma * nodes)).numpy()
    grad = np.empty(2 * d)
    for j in range(d):
        by_mu, by_sigma = _score_weights(nodes[:, j], sigma[j])
        grad[j] = np.sum(weight * fz * by_mu)
        grad[d + j] = np.sum(weight * fz * by_sigma)
    return grad


def _line_gradient(f64, mu, sigma, k: int, seed: int):
    """``grad E_q[f]`` for ``d > 2``: per dim, Gauss-Hermite along it for each
    of ``k`` independent draws of the other dims; means and standard errors."""
    import torch

    d = len(mu)
    t, w = _hermite(LINE_NODES)
    rng = np.random.default_rng(seed)
    per_draw = np.empty((k, 2 * d))
    for j in range(d):
        others = rng.standard_normal((k, d))
        z = np.repeat(mu + sigma * others, len(t), 0)  # (k * n, d)
        z[:, j] = mu[j] + sigma[j] * np.tile(t, k)
        with torch.no_grad():
            fz = f64(torch.as_tensor(z)).numpy().reshape(k, len(t))
        by_mu, by_sigma = _score_weights(t, sigma[j])
        per_draw[:, j] = fz @ (w * by_mu)
        per_draw[:, d + j] = fz @ (w * by_sigma)
    se = per_draw.std(0, ddof=1) / np.sqrt(k) if k > 1 else np.full(2 * d, np.inf)
    return per_draw.mean(0), se


def path_gradients(f64, mu, sigma, eps) -> npt.NDArray[np.float64]:
    """Per-sample path gradients ``grad_{mu,sigma} f(mu + sigma * eps)``,
    ``(k, 2d)``, from autograd."""
    import torch

    k = len(eps)
    with torch.enable_grad():
        mu_leaf = mu.expand(k, -1).clone().requires_grad_(True)
        sig_leaf = sigma.expand(k, -1).clone().requires_grad_(True)
        out = f64(mu_leaf + sig_leaf * eps)
        g_mu, g_sigma = torch.autograd.grad(out.sum(), (mu_leaf, sig_leaf))
    return torch.cat([g_mu, g_sigma], 1).double().numpy()


def expectation_identity(
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    k: int,
    *,
    seed: int = 0,
) -> IdentityCheck:
    """Measure both sides of the identity; the right with ``k`` draws of ``eps``.

    ``f`` maps codes ``(n, d)`` to ``(n,)`` and must be differentiable (e.g.
    ``log p(x|z)`` of one image). The left side is computed as the module
    docstring says, independently of the right.

    >>> import torch
    >>> f = lambda z: -(z**2).sum(1)   # E_q f = -(mu² + sigma²): grad (-2mu, -2sigma)
    >>> check = expectation_identity(f, [0.5, -1.0], [0.3, 0.6], 4000, seed=1)
    >>> [round(float(v), 3) for v in check.lhs]
    [-1.0, 2.0, -0.6, -1.2]
    >>> check.verdict.agree
    True
    """
    import torch

    mu_np = np.asarray(mu, np.float64).reshape(-1)
    sig_np = np.asarray(sigma, np.float64).reshape(-1)
    mu_t, sig_t = torch.as_tensor(mu_np), torch.as_tensor(sig_np)
    gen = torch.Generator().manual_seed(int(seed))
    eps = torch.randn(int(k), len(mu_t), generator=gen, dtype=torch.float64)

    def f64(z: torch.Tensor) -> torch.Tensor:
        return f(z).to(torch.float64)

    paths = path_gradients(f64, mu_t, sig_t, eps)
    n = len(eps)
    rhs_se = (
        paths.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.full(2 * len(mu_np), np.inf)
    )
    if len(mu_np) <= 2:
        fine = _plane_gradient(f64, mu_np, sig_np, QUADRATURE_NODES)
        coarse = _plane_gradient(f64, mu_np, sig_np, 2 * QUADRATURE_NODES // 3)
        lhs, lhs_se = fine, np.abs(fine - coarse)
        method = (
            f"Gauss–Hermite quadrature over z, {QUADRATURE_NODES}"
            f"{'²' if len(mu_np) == 2 else ''} nodes"
        )
    else:
        draws = min(n, LINE_DRAWS)
        lhs, lhs_se = _line_gradient(
            f64, mu_np, sig_np, draws, int(seed) + LEFT_SEED_OFFSET
        )
        method = (
            f"Gauss–Hermite along each dim ({LINE_NODES} nodes) over {draws:,} "
            "independent draws of the others"
        )
    return IdentityCheck(lhs, lhs_se, paths.mean(0), rhs_se, n, method)


@dataclass(frozen=True, slots=True)
class WithoutTrick:
    """What autograd gives when ``z`` is drawn from ``N(mu, sigma^2)`` directly.

    ``grad_mu`` and ``grad_sigma`` are autograd's answers (None: no gradient
    path). ``score`` and ``score_se`` are the score-function estimate
    ``mean f(z) grad log q(z)`` from the same draws, the only estimator left.
    """

    z_requires_grad: bool
    grad_mu: npt.NDArray[np.float64] | None
    grad_sigma: npt.NDArray[np.float64] | None
    score: npt.NDArray[np.float64]
    score_se: npt.NDArray[np.float64]
    k: int


def without_the_trick(
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    k: int,
    *,
    seed: int = 0,
) -> WithoutTrick:
    """Sample ``z ~ N(mu, sigma^2)`` directly (``Normal(mu, sigma).sample()``,
    not ``rsample()``) and ask autograd for the gradient of ``mean f(z)`` with
    respect to ``mu`` and ``sigma``."""
    import torch

    mu_leaf = torch.as_tensor(np.asarray(mu, np.float64)).reshape(-1).clone()
    sig_leaf = torch.as_tensor(np.asarray(sigma, np.float64)).reshape(-1).clone()
    mu_leaf.requires_grad_(True)
    sig_leaf.requires_grad_(True)
    n = int(k)
    with torch.enable_grad():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            z = torch.distributions.Normal(mu_leaf, sig_leaf).sample((n,))
        fz = f(z).to(torch.float64)
        value = fz.mean()
        if value.requires_grad:
            g_mu, g_sigma = torch.autograd.grad(
                value, (mu_leaf, sig_leaf), allow_unused=True
            )
        else:  # nothing upstream of the draw is on the graph at all
            g_mu = g_sigma = None
    with torch.no_grad():
        mu_d, sig_d = mu_leaf.detach(), sig_leaf.detach()
        eps = (z.detach() - mu_d) / sig_d
        grad_log_q = torch.cat([eps / sig_d, (eps.square() - 1.0) / sig_d], 1)
        terms = (fz.detach()[:, None] * grad_log_q).numpy()
    return WithoutTrick(
        z_requires_grad=bool(z.requires_grad),
        grad_mu=None if g_mu is None else g_mu.numpy(),
        grad_sigma=None if g_sigma is None else g_sigma.numpy(),
        score=terms.mean(0),
        score_se=terms.std(0, ddof=1) / np.sqrt(n),
        k=n,
    )


def log_likelihood_of(model, image) -> Callable[[torch.Tensor], torch.Tensor]:
    """``f(z) = log p(x|z)`` in nats for one test image (uint8 ``(h, w)``),
    through a float64 copy of the decoder: finite differences need the digits."""
    import torch

    from latentlab.core.reparam import _as_input, log_likelihood

    if getattr(model, "closures", False):
        raise ConfigError(
            "the identity check needs a float64 copy of the decoder, and this "
            "model's decode is a plain function LatentLab cannot copy: wrap the "
            "nn.Module itself (latentlab.wrap(module)) for this check"
        )
    exact = copy.deepcopy(model).double().eval()
    x = _as_input(model, image).double()

    def f(z: torch.Tensor) -> torch.Tensor:
        return log_likelihood(exact, z.to(torch.float64), x)

    return f
