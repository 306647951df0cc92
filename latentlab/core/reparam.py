"""The reparameterization trick, measured: path gradients and estimator variances.

For one input ``x`` with posterior ``q(z|x) = N(mu, diag(sigma^2))`` and
``f(z) = log p(x|z)`` (the decoder's Bernoulli log-likelihood of ``x``, in nats),
two unbiased estimators of ``grad_{mu,sigma} E_q[f(z)]`` from ``S`` samples:

- reparameterization (Kingma & Welling 2014, eq. 10): ``z = mu + sigma * eps``
  with ``eps ~ N(0, I)``, so ``grad_mu = f'(z)`` and ``grad_sigma = f'(z) * eps``,
  averaged over the samples; ``f'`` comes from autograd through the decoder;
- score function (REINFORCE, Williams 1992): ``f(z) * grad log q(z)``, where for a
  diagonal Gaussian ``d log q / d mu = eps / sigma`` and
  ``d log q / d sigma = (eps^2 - 1) / sigma``. Reported without a baseline (the
  textbook form) and, for comparison, with the constant baseline ``f(mu)``,
  which keeps it unbiased because ``f(mu)`` does not depend on the samples.

Variances are measured, not derived: a pool of independent per-sample terms is
split into disjoint groups of ``S``, each group's mean is one estimate, and the
variance across estimates (summed over the ``2 * latent_dim`` components, i.e.
the trace of the covariance) is reported for each ``S``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from latentlab.core.errors import ConfigError
from latentlab.core.losses import recon_nats

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    import numpy.typing as npt
    import torch

    from latentlab.core.models import Autoencoder

DEFAULT_COUNTS = (1, 4, 16, 64, 256, 1024)


@dataclass(frozen=True, slots=True)
class PathGradients:
    """Autograd through ``z = mu + sigma * eps`` for ``k`` samples.

    Attributes
    ----------
    eps, z : ndarray
        ``(k, latent_dim)``; ``eps`` is a constant (it needs no gradient).
    dz_dmu, dz_dsigma : ndarray
        ``(k, latent_dim)`` elementwise derivatives ``dz_kj / dmu_j`` (all ones)
        and ``dz_kj / dsigma_j`` (equal to ``eps_kj``), from autograd.
    dlogp_dmu, dlogp_dsigma : ndarray or None
        Per-sample gradients of ``log p(x|z_k)`` with respect to ``mu`` and
        ``sigma`` (the reparameterization estimator's terms), when a model and an
        input were given.
    logp : ndarray or None
        ``(k,)`` the log-likelihoods ``log p(x|z_k)`` in nats.
    """

    eps: npt.NDArray[np.float32]
    z: npt.NDArray[np.float32]
    dz_dmu: npt.NDArray[np.float32]
    dz_dsigma: npt.NDArray[np.float32]
    dlogp_dmu: npt.NDArray[np.float32] | None = None
    dlogp_dsigma: npt.NDArray[np.float32] | None = None
    logp: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True)
class EstimatorVariance:
    """Measured variance of two gradient estimators against the sample count.

    Attributes
    ----------
    counts : ndarray
        ``(m,)`` samples per estimate.
    var_reparam, var_score, var_score_baseline : ndarray
        ``(m,)`` total variance (trace of the covariance over the ``2 * d``
        components of ``grad_{mu,sigma}``) of the reparameterization estimator,
        of the score-function estimator without a baseline, and with the
        baseline ``f(mu)``.
    n_estimates : ndarray
        ``(m,)`` independent estimates each variance is measured from.
    grad_reparam, grad_score : ndarray
        ``(2 * d,)`` both estimators on the whole pool, ``(d mu, d sigma)``: they
        estimate the same gradient, so they should agree within noise.
    se_reparam, se_score : ndarray
        ``(2 * d,)`` standard errors of those pooled means.
    mu, sigma : ndarray
        ``(d,)`` the posterior the gradients are taken at.
    """

    counts: npt.NDArray[np.int64]
    var_reparam: npt.NDArray[np.float64]
    var_score: npt.NDArray[np.float64]
    var_score_baseline: npt.NDArray[np.float64]
    n_estimates: npt.NDArray[np.int64]
    grad_reparam: npt.NDArray[np.float64]
    grad_score: npt.NDArray[np.float64]
    se_reparam: npt.NDArray[np.float64]
    se_score: npt.NDArray[np.float64]
    mu: npt.NDArray[np.float32]
    sigma: npt.NDArray[np.float32]

    @property
    def ratio(self) -> npt.NDArray[np.float64]:
        """``var_score / var_reparam`` at each count (no baseline)."""
        return self.var_score / self.var_reparam

    @property
    def ratio_baseline(self) -> npt.NDArray[np.float64]:
        """``var_score_baseline / var_reparam`` at each count."""
        return self.var_score_baseline / self.var_reparam


def _as_input(model: Autoencoder, x: torch.Tensor | npt.ArrayLike) -> torch.Tensor:
    """One image -> float ``(1, c, h, w)`` in [0, 1]; uint8 is scaled by 1/255."""
    import torch

    t = torch.as_tensor(x)
    t = t.to(torch.float32) / 255.0 if t.dtype == torch.uint8 else t.to(torch.float32)
    shape = tuple(model.config.image_shape)
    if t.numel() != int(np.prod(shape)):
        raise ConfigError(
            f"input of {t.numel()} values does not fit the model's images {shape}"
        )
    return t.reshape(1, *shape)


def log_likelihood(
    model: Autoencoder, z: torch.Tensor, x: torch.Tensor
) -> torch.Tensor:
    """``log p(x|z)`` ``(k,)`` in nats for codes ``z`` ``(k, d)`` and one ``x``.

    ``x`` is ``(1, c, h, w)`` in [0, 1]; the likelihood the model is trained
    with (``model.likelihood``: Bernoulli unless its config says otherwise).
    """
    logits = model.decode_logits(z)
    return -recon_nats(logits, x.expand_as(logits), model.likelihood)


def path_gradients(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    eps: npt.ArrayLike,
    model: Autoencoder | None = None,
    x: torch.Tensor | npt.ArrayLike | None = None,
) -> PathGradients:
    """Differentiate ``z = mu + sigma * eps`` (and ``log p(x|z)``) by autograd.

    ``mu`` and ``sigma`` ``(d,)`` are broadcast to one leaf per sample so that
    autograd returns every elementwise derivative; ``eps`` ``(k, d)`` is a plain
    constant, off the gradient path. With ``model`` and ``x`` (one image) the
    per-sample gradients of ``log p(x|z)`` are returned too.
    """
    import torch

    mu_t = torch.as_tensor(np.asarray(mu, np.float32)).reshape(-1)
    sig_t = torch.as_tensor(np.asarray(sigma, np.float32)).reshape(-1)
    eps_t = torch.as_tensor(np.asarray(eps, np.float32)).reshape(-1, len(mu_t))
    k = len(eps_t)
    with torch.enable_grad():
        mu_leaf = mu_t.expand(k, -1).clone().requires_grad_(True)
        sig_leaf = sig_t.expand(k, -1).clone().requires_grad_(True)
        z = mu_leaf + sig_leaf * eps_t
        dz_dmu, dz_dsigma = torch.autograd.grad(
            z, (mu_leaf, sig_leaf), torch.ones_like(z), retain_graph=model is not None
        )
        logp = dlogp_dmu = dlogp_dsigma = None
        if model is not None and x is not None:
            xt = _as_input(model, x)
            lp = log_likelihood(model, z, xt)
            dlogp_dmu, dlogp_dsigma = torch.autograd.grad(lp.sum(), (mu_leaf, sig_leaf))
            logp = lp.detach().numpy()
            dlogp_dmu = dlogp_dmu.numpy()
            dlogp_dsigma = dlogp_dsigma.numpy()
    return PathGradients(
        eps=eps_t.numpy().copy(),
        z=z.detach().numpy(),
        dz_dmu=dz_dmu.numpy(),
        dz_dsigma=dz_dsigma.numpy(),
        dlogp_dmu=dlogp_dmu,
        dlogp_dsigma=dlogp_dsigma,
        logp=logp,
    )


@dataclass(frozen=True, slots=True)
class SampleTerms:
    """One-sample estimator pieces for ``n`` noise draws.

    ``reparam`` ``(n, 2d)`` is ``(df/dz, df/dz * eps)``; ``grad_log_q`` ``(n, 2d)``
    is ``(eps / sigma, (eps^2 - 1) / sigma)``; ``f`` ``(n,)`` is ``log p(x|z)``.
    The score-function term is ``f[:, None] * grad_log_q``.
    """

    reparam: torch.Tensor
    grad_log_q: torch.Tensor
    f: torch.Tensor

    @property
    def score(self) -> torch.Tensor:
        """``f(z) * grad log q(z)``, the score-function term without baseline."""
        return self.f[:, None] * self.grad_log_q


def per_sample_terms(
    model: Autoencoder,
    x: torch.Tensor,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    eps: torch.Tensor,
) -> SampleTerms:
    """One-sample estimator terms for a batch of noise ``eps`` ``(n, d)``.

    Each sample's ``f`` depends on its own ``z`` only, so one backward pass of
    ``sum f`` gives every per-sample ``df/dz``; no weight gradient is touched.
    """
    import torch

    with torch.enable_grad():
        z = (mu + sigma * eps).requires_grad_(True)
        f = log_likelihood(model, z, x)
        (df_dz,) = torch.autograd.grad(f.sum(), z)
    return SampleTerms(
        reparam=torch.cat([df_dz, df_dz * eps], 1),
        grad_log_q=torch.cat([eps / sigma, (eps.square() - 1.0) / sigma], 1),
        f=f.detach(),
    )


def estimator_variance_steps(
    model: Autoencoder,
    x: torch.Tensor | npt.ArrayLike,
    counts: Sequence[int] = DEFAULT_COUNTS,
    *,
    repeats: int = 64,
    mu: npt.ArrayLike | None = None,
    sigma: npt.ArrayLike | None = None,
    generator: torch.Generator | None = None,
    batch_size: int = 8192,
) -> Generator[None, None, EstimatorVariance]:
    """Measure both estimators' variance for one input at each sample count.

    Parameters
    ----------
    model : Autoencoder
        A VAE (its encoder gives ``mu`` and ``sigma`` unless they are passed).
    x : tensor or array
        One image, uint8 in [0, 255] or float in [0, 1], ``model``'s image size.
    counts : sequence of int
        Samples per estimate, e.g. 1 ... 1024.
    repeats : int
        Independent estimates at the largest count; the pool holds
        ``repeats * max(counts)`` samples, so smaller counts get more estimates.
    mu, sigma : array, optional
        ``(d,)`` posterior to differentiate at (default: the encoder's for ``x``).
    generator : torch.Generator, optional
        Source of the noise, for reproducible figures.
    batch_size : int
        Samples per decoder pass (bounds memory).

    A generator: it yields before each batch of samples (a point where a job
    can be cancelled) and returns the :class:`EstimatorVariance`.
    """
    import torch

    counts_a = np.asarray(sorted({int(c) for c in counts}), np.int64)
    if len(counts_a) == 0 or counts_a[0] < 1:
        raise ConfigError("sample counts must be positive integers")
    if repeats < 2:
        raise ConfigError("need at least 2 repeats to measure a variance")
    xt = _as_input(model, x)
    with torch.no_grad():
        enc = model.encode(xt)
    if mu is None:
        mu_t = enc.mu[0].detach().clone()
    else:
        mu_t = torch.as_tensor(np.asarray(mu, np.float32)).reshape(-1)
    if sigma is None:
        if enc.sigma is None:
            raise ConfigError("the score-function estimator needs a VAE (sigma)")
        sig_t = enc.sigma[0].detach().clone()
    else:
        sig_t = torch.as_tensor(np.asarray(sigma, np.float32)).reshape(-1)
    if not bool((sig_t > 0).all()):
        raise ConfigError("sigma must be positive for the score function")
    d = len(mu_t)
    pool = int(repeats * counts_a[-1])
    reparam = np.empty((pool, 2 * d), np.float64)
    score = np.empty((pool, 2 * d), np.float64)
    grad_log_q = np.empty((pool, 2 * d), np.float64)
    # The decoder passes are bounded by its activations too: a large conv
    # model's 8,192 samples would need gigabytes, and the job could not stop
    # in between. The draws stay in batch_size blocks (the same ε for a seed).
    from latentlab.core.latent import memory_batch

    step = memory_batch(model, batch_size)
    for lo in range(0, pool, batch_size):
        n = min(batch_size, pool - lo)
        eps = torch.randn(n, d, generator=generator)
        for sub in range(0, n, step):
            yield
            part = slice(lo + sub, lo + min(n, sub + step))
            terms = per_sample_terms(model, xt, mu_t, sig_t, eps[sub : sub + step])
            reparam[part] = terms.reparam.double().numpy()
            score[part] = terms.score.double().numpy()
            grad_log_q[part] = terms.grad_log_q.double().numpy()
    with torch.no_grad():
        f_mu = float(log_likelihood(model, mu_t[None], xt)[0])
    # score = f * grad log q, so the baseline form is score - f(mu) * grad log q.
    score_base = score - f_mu * grad_log_q

    def variance(terms: npt.NDArray[np.float64], s: int) -> float:
        groups = terms[: (pool // s) * s].reshape(pool // s, s, -1).mean(1)
        return float(groups.var(0, ddof=1).sum())

    def se(terms: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return terms.std(0, ddof=1) / np.sqrt(pool)

    return EstimatorVariance(
        counts=counts_a,
        var_reparam=np.array([variance(reparam, s) for s in counts_a]),
        var_score=np.array([variance(score, s) for s in counts_a]),
        var_score_baseline=np.array([variance(score_base, s) for s in counts_a]),
        n_estimates=np.array([pool // s for s in counts_a], np.int64),
        grad_reparam=reparam.mean(0),
        grad_score=score.mean(0),
        se_reparam=se(reparam),
        se_score=se(score),
        mu=mu_t.numpy().copy(),
        sigma=sig_t.numpy().copy(),
    )


def estimator_variances(
    model: Autoencoder,
    x: torch.Tensor | npt.ArrayLike,
    counts: Sequence[int] = DEFAULT_COUNTS,
    *,
    should_stop: Callable[[], bool] | None = None,
    **options: Any,
) -> EstimatorVariance | None:
    """:func:`estimator_variance_steps` run to the end; None when
    ``should_stop()`` turned True between two batches."""
    steps = estimator_variance_steps(model, x, counts, **options)
    try:
        while True:
            next(steps)
            if should_stop is not None and should_stop():
                steps.close()
                return None
    except StopIteration as done:
        return done.value
