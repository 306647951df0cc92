"""The identity the reparameterization trick rests on, checked with numbers.

For ``q(z|x) = N(mu, diag(sigma^2))`` and any differentiable ``f``::

    grad_{mu,sigma} E_{q}[f(z)] = E_{eps ~ N(0, I)}[grad_{mu,sigma} f(mu + sigma * eps)]

The left side is measured as the gradient of the Monte-Carlo expectation by
central finite differences in each of ``mu`` and ``sigma``, with common random
numbers (the same ``eps`` on both sides of every difference, so each sample
gives one difference quotient and the standard error is theirs). The right side
is the mean of per-sample path gradients from autograd. Both come with standard
errors; :func:`agreement` says whether they agree within 3 of them.

:func:`without_the_trick` samples ``z ~ N(mu, sigma^2)`` directly and shows what
autograd then gives for ``mu`` and ``sigma``: nothing, so the score function
``f(z) grad log q(z)`` is the only estimator left.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

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
                f"by less than {self.threshold:g} combined standard errors "
                f"(largest {shown} SE, {names[k]})."
            )
        return (
            f"The two estimators do NOT agree: {names[k]} differs by {shown} "
            f"combined standard errors; {self.beyond} of {len(self.gaps)} "
            f"components differ by {self.threshold:g} SE or more."
        )


def agreement(
    mean_a: npt.ArrayLike,
    se_a: npt.ArrayLike,
    mean_b: npt.ArrayLike,
    se_b: npt.ArrayLike,
    threshold: float = AGREE_SE,
) -> Agreement:
    """Compare two estimates with their standard errors, component by component."""
    a, b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    sa, sb = np.asarray(se_a, np.float64), np.asarray(se_b, np.float64)
    diff = np.abs(a - b)
    se = np.sqrt(sa**2 + sb**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        gaps = np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.inf)
    gaps = np.where(diff == 0, 0.0, gaps)
    finite = np.isfinite(a) & np.isfinite(b) & np.isfinite(sa) & np.isfinite(sb)
    return Agreement(np.where(finite, gaps, np.nan), float(threshold))


@dataclass(frozen=True, slots=True)
class IdentityCheck:
    """Both sides of the identity, per component ``(mu_1..mu_d, sigma_1..sigma_d)``.

    ``lhs``: finite-difference gradient of the K-sample expectation (step ``h``);
    ``rhs``: mean of the K per-sample path gradients; each with its standard
    error over the K samples.
    """

    lhs: npt.NDArray[np.float64]
    lhs_se: npt.NDArray[np.float64]
    rhs: npt.NDArray[np.float64]
    rhs_se: npt.NDArray[np.float64]
    k: int
    h: float

    @property
    def verdict(self) -> Agreement:
        """Whether the two sides agree within 3 combined standard errors."""
        return agreement(self.lhs, self.lhs_se, self.rhs, self.rhs_se)


def component_names(latent_dim: int) -> list[str]:
    """``∂/∂μ₁ … ∂/∂σ_d``: the gradient's components in order."""
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    idx = [str(j + 1).translate(sub) for j in range(latent_dim)]
    return [f"∂/∂μ{i}" for i in idx] + [f"∂/∂σ{i}" for i in idx]


def _per_sample(
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: torch.Tensor,
    sigma: torch.Tensor,
    eps: torch.Tensor,
    h: float,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per-sample finite-difference quotients and path gradients ``(k, 2d)``."""
    import torch

    k, d = eps.shape
    quotients = np.empty((k, 2 * d), np.float64)
    with torch.no_grad():
        for j in range(d):
            step = torch.zeros(d, dtype=mu.dtype)
            step[j] = h
            up = f(mu + step + sigma * eps).double()
            down = f(mu - step + sigma * eps).double()
            quotients[:, j] = ((up - down) / (2 * h)).numpy()
            up = f(mu + (sigma + step) * eps).double()
            down = f(mu + (sigma - step) * eps).double()
            quotients[:, d + j] = ((up - down) / (2 * h)).numpy()
    with torch.enable_grad():
        mu_leaf = mu.expand(k, -1).clone().requires_grad_(True)
        sig_leaf = sigma.expand(k, -1).clone().requires_grad_(True)
        out = f(mu_leaf + sig_leaf * eps)
        g_mu, g_sigma = torch.autograd.grad(out.sum(), (mu_leaf, sig_leaf))
    paths = torch.cat([g_mu, g_sigma], 1).double().numpy()
    return quotients, paths


def expectation_identity(
    f: Callable[[torch.Tensor], torch.Tensor],
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    k: int,
    *,
    seed: int = 0,
    h: float | None = None,
) -> IdentityCheck:
    """Measure both sides of the identity with ``k`` draws of ``eps``.

    ``f`` maps codes ``(n, d)`` to ``(n,)`` and must be differentiable (e.g.
    ``log p(x|z)`` of one image). ``h`` defaults to a step well inside the
    posterior's scale (1e-3 of the smallest sigma, at least 1e-4) in float64.
    """
    import torch

    mu_t = torch.as_tensor(np.asarray(mu, np.float64)).reshape(-1)
    sig_t = torch.as_tensor(np.asarray(sigma, np.float64)).reshape(-1)
    gen = torch.Generator().manual_seed(int(seed))
    eps = torch.randn(int(k), len(mu_t), generator=gen, dtype=torch.float64)
    if h is None:
        h = max(1e-3 * float(sig_t.min()), 1e-4)

    def f64(z: torch.Tensor) -> torch.Tensor:
        return f(z).to(torch.float64)

    quotients, paths = _per_sample(f64, mu_t, sig_t, eps, float(h))
    n = len(eps)

    def se(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return a.std(0, ddof=1) / np.sqrt(n) if n > 1 else np.full(a.shape[1], np.inf)

    return IdentityCheck(
        quotients.mean(0), se(quotients), paths.mean(0), se(paths), n, float(h)
    )


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

    exact = copy.deepcopy(model).double().eval()
    x = _as_input(model, image).double()

    def f(z: torch.Tensor) -> torch.Tensor:
        return log_likelihood(exact, z.to(torch.float64), x)

    return f
