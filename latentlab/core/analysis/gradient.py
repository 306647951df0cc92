"""The gradient path: autograd through the current samples, estimator variances."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from latentlab.core.reparam import (
    DEFAULT_COUNTS,
    estimator_variance_steps,
    path_gradients,
)

if TYPE_CHECKING:
    from collections.abc import Generator

    import numpy as np
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
) -> Generator[None, None, EstimatorVariance]:
    """Both estimators' variances for test image ``index`` (a cancellable job)."""
    return (
        yield from estimator_variance_steps(
            model,
            dataset.test_images[index],
            counts,
            repeats=repeats,
            generator=torch.Generator().manual_seed(seed),
        )
    )
