"""The gradient path: autograd through the current samples, estimator variances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.analysis.identity import (
    IdentityCheck,
    WithoutTrick,
    expectation_identity,
    log_likelihood_of,
    without_the_trick,
)
from latentlab.core.reparam import (
    DEFAULT_COUNTS,
    estimator_variance_steps,
    path_gradients,
)

if TYPE_CHECKING:
    from collections.abc import Generator

    import numpy.typing as npt

    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder
    from latentlab.core.reparam import EstimatorVariance, PathGradients


def gradient_table(
    model: Autoencoder,
    dataset: ImageDataset,
    index: int,
    mu: npt.NDArray[np.float32],
    sigma: npt.NDArray[np.float32],
    eps: npt.NDArray[np.float32],
) -> PathGradients:
    """Autograd through ``z = mu + sigma * eps`` for test image ``index``."""
    return path_gradients(mu, sigma, eps, model, dataset.test_images[index])


def measure_variances(
    model: Autoencoder,
    dataset: ImageDataset,
    index: int,
    seed: int,
    repeats: int,
    counts: tuple[int, ...] = DEFAULT_COUNTS,
    *,
    mu: npt.ArrayLike | None = None,
    sigma: npt.ArrayLike | None = None,
) -> Generator[None, None, EstimatorVariance]:
    """Both estimators' variances for test image ``index`` at ``(mu, sigma)``
    (default: the encoder's; the Gradient path tab passes the ε-resampling
    tab's, the μ and σ its samples are drawn at). A cancellable job."""
    import torch

    return (
        yield from estimator_variance_steps(
            model,
            dataset.test_images[index],
            counts,
            repeats=repeats,
            mu=mu,
            sigma=sigma,
            generator=torch.Generator().manual_seed(seed),
        )
    )


@dataclass(frozen=True, slots=True)
class IdentityResult:
    """Both sides of the identity and, when asked, the same draw without the
    trick, at the posterior ``mu``, ``sigma`` they were measured at."""

    check: IdentityCheck
    without: WithoutTrick | None
    mu: npt.NDArray[np.float32]
    sigma: npt.NDArray[np.float32]


def identity_for_input(
    model: Autoencoder,
    dataset: ImageDataset,
    index: int,
    mu: npt.NDArray[np.float32],
    sigma: npt.NDArray[np.float32],
    k: int,
    seed: int,
    without: bool,
) -> IdentityResult:
    """The identity for ``f = log p(x|z)`` of test image ``index`` at
    ``(mu, sigma)``."""
    f = log_likelihood_of(model, dataset.test_images[index])
    check = expectation_identity(f, mu, sigma, k, seed=seed)
    plain = without_the_trick(f, mu, sigma, k, seed=seed) if without else None
    return IdentityResult(
        check,
        plain,
        np.asarray(mu, np.float32).copy(),
        np.asarray(sigma, np.float32).copy(),
    )


def _with_progress(
    steps: Generator[None, None, EstimatorVariance], done: float
) -> Generator[float, None, EstimatorVariance]:
    """Run ``steps``, yielding the fraction ``done`` at each of its yields."""
    try:
        while True:
            next(steps)
            yield done
    except StopIteration as finished:
        return finished.value


@dataclass(frozen=True, slots=True)
class RatioScan:
    """The variance ratio (score function / reparameterization, S samples per
    estimate) for one input at several multiples (``scales``) of ``sigma``."""

    sigma: npt.NDArray[np.float32]
    """The sigma scaled (scale 1): the Gradient path tab's."""
    scales: npt.NDArray[np.float64]
    mean_sigma: npt.NDArray[np.float64]
    ratio: npt.NDArray[np.float64]
    ratio_baseline: npt.NDArray[np.float64]
    samples: int


def scan_sigma(
    model: Autoencoder,
    dataset: ImageDataset,
    index: int,
    mu: npt.NDArray[np.float32],
    sigma: npt.NDArray[np.float32],
    scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0),
    repeats: int = 32,
    samples: int = 16,
    seed: int = 0,
) -> Generator[float, None, RatioScan]:
    """Why the ratio differs between inputs: measure it at ``sigma`` times
    each of ``scales`` (``mu`` fixed)."""
    import torch

    ratios, base, mean_sigma = [], [], []
    for i, scale in enumerate(scales):
        steps = estimator_variance_steps(
            model,
            dataset.test_images[index],
            (samples,),
            repeats=repeats,
            mu=mu,
            sigma=np.asarray(sigma, np.float32) * np.float32(scale),
            generator=torch.Generator().manual_seed(seed + i),
        )
        res = yield from _with_progress(steps, i / len(scales))
        ratios.append(float(res.ratio[0]))
        base.append(float(res.ratio_baseline[0]))
        mean_sigma.append(float(np.mean(res.sigma)))
        yield (i + 1) / len(scales)
    return RatioScan(
        np.asarray(sigma, np.float32).copy(),
        np.asarray(scales, np.float64),
        np.asarray(mean_sigma),
        np.asarray(ratios),
        np.asarray(base),
        samples,
    )
