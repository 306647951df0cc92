"""Claim (1) as a statistic: interpolation over many random pairs of test images.

One strip proves nothing; this measures N of them in each model, with two
figures that measure *leaving the data*:

- **jump ratio**: the largest L2 step between consecutive decodes divided by the
  mean step (1 for an evenly changing strip; large when the decode jumps);
- **classifier confidence**: the top-class probability that a small classifier
  trained on the same data gives each decode (:mod:`.realism`); a path's figure
  is its least confident interior decode (low: a formless image);
- **latent-density ratio**: for each point of the straight path between two
  codes, the mean distance to its ``k`` nearest training codes divided by the
  typical such distance between training codes themselves (the median over
  training codes of the mean distance to their ``k`` nearest others). About 1
  where the path runs through the codes; much more than 1 where it crosses a
  hole. A path's figure is its largest value over the interior points.

Codes are the encoders' means; distances are Euclidean in the full latent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.analysis.realism import confidence, train_classifier
from latentlab.core.errors import ConfigError
from latentlab.core.latent import decode_codes, encode_images

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    import numpy.typing as npt

    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder

FIGURES = ("jump_ratio", "density_ratio", "realism")
FIGURE_NAMES = {
    "jump_ratio": "jump ratio (largest / mean step)",
    "density_ratio": "latent-density ratio (path's emptiest point)",
    "realism": "classifier confidence (path's least sure decode)",
}
# For these a larger value means the path left the data; for realism, smaller.
LARGER_IS_WORSE = {"jump_ratio": True, "density_ratio": True, "realism": False}


def knn_mean_distance(
    queries: npt.ArrayLike,
    refs: npt.ArrayLike,
    k: int,
    *,
    exclude_self: bool = False,
    batch: int = 512,
) -> npt.NDArray[np.float64]:
    """Mean Euclidean distance from each query ``(n, d)`` to its ``k`` nearest
    ``refs`` ``(m, d)``; ``exclude_self`` drops the zero distance of a query
    that is one of the refs (the queries are then ``refs[:n]``)."""
    q = np.asarray(queries, np.float64)
    r = np.asarray(refs, np.float64)
    kk = k + 1 if exclude_self else k
    if len(r) < kk:
        raise ConfigError(f"need at least {kk} reference codes, got {len(r)}")
    r2 = (r**2).sum(1)
    out = np.empty(len(q), np.float64)
    for lo in range(0, len(q), batch):
        qb = q[lo : lo + batch]
        d2 = (qb**2).sum(1)[:, None] + r2[None, :] - 2.0 * qb @ r.T
        near = np.partition(np.maximum(d2, 0.0), kk - 1, axis=1)[:, :kk]
        near = np.sort(near, axis=1)
        if exclude_self:
            near = near[:, 1:]
        out[lo : lo + batch] = np.sqrt(near).mean(1)
    return out


def typical_knn_distance(
    codes: npt.ArrayLike, k: int, *, sample: int = 2000, seed: int = 0
) -> float:
    """The median over (up to ``sample``) codes of their mean distance to their
    ``k`` nearest other codes: the yardstick of :func:`density_ratio`."""
    c = np.asarray(codes, np.float64)
    c = c[np.isfinite(c).all(1)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(c))
    shuffled = c[order]
    n = min(sample, len(c))
    return float(
        np.median(knn_mean_distance(shuffled[:n], shuffled, k, exclude_self=True))
    )


def density_ratio(
    points: npt.ArrayLike, codes: npt.ArrayLike, k: int, typical: float
) -> npt.NDArray[np.float64]:
    """Each point's mean distance to its ``k`` nearest codes, over ``typical``."""
    return knn_mean_distance(points, codes, k) / max(typical, 1e-12)


def jump_ratios(images: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Largest / mean L2 step of each strip ``(n, steps, ...)`` -> ``(n,)``."""
    flat = images.reshape(images.shape[0], images.shape[1], -1).astype(np.float64)
    steps = np.linalg.norm(np.diff(flat, axis=1), axis=2)
    mean = steps.mean(1)
    return np.where(mean > 0, steps.max(1) / np.where(mean > 0, mean, 1.0), 1.0)


def random_pairs(n_test: int, n_pairs: int, seed: int) -> npt.NDArray[np.int64]:
    """``n_pairs`` distinct ordered pairs of different test indices ``(n, 2)``."""
    if n_test < 2:
        raise ConfigError("need at least two test images for pairs")
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n_test, n_pairs)
    b = (a + rng.integers(1, n_test, n_pairs)) % n_test  # never equal to a
    return np.stack([a, b], 1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class PairPopulation:
    """One model's figures over the pairs, ``(n_pairs,)`` each."""

    kind: str
    jump_ratio: npt.NDArray[np.float64]
    density_ratio: npt.NDArray[np.float64]
    realism: npt.NDArray[np.float64] | None = None

    def figure(self, name: str) -> npt.NDArray[np.float64]:
        """The figure ``name`` (one of :data:`FIGURES`)."""
        return getattr(self, name)


@dataclass(frozen=True, slots=True)
class ManyPairs:
    """The same random test pairs interpolated in each model."""

    pairs: npt.NDArray[np.int64]
    steps: int
    k: int
    seed: int
    populations: dict[str, PairPopulation]
    classifier_accuracy: float | None = None

    @property
    def figures(self) -> tuple[str, ...]:
        """The figures measured (realism only with a classifier)."""
        return tuple(
            f for f in FIGURES if f != "realism" or self.classifier_accuracy is not None
        )

    @property
    def n(self) -> int:
        """The number of pairs."""
        return len(self.pairs)

    def median(self, kind: str, figure: str) -> float:
        """The median of ``figure`` over the pairs in model ``kind``."""
        return float(np.median(self.populations[kind].figure(figure)))

    def fraction_worse(
        self, figure: str, worse: str = "AE", than: str = "VAE"
    ) -> float:
        """Share of pairs where ``worse``'s path is further from the data than
        ``than``'s by ``figure`` (larger, or for realism smaller)."""
        a = self.populations[worse].figure(figure)
        b = self.populations[than].figure(figure)
        return float((a > b).mean() if LARGER_IS_WORSE[figure] else (a < b).mean())


def percentile_rank(value: float, population: npt.ArrayLike) -> float:
    """Share of ``population`` strictly below ``value`` (0..1)."""
    pop = np.asarray(population, np.float64)
    return float((pop < value).mean()) if len(pop) else float("nan")


def many_pairs(
    models: Sequence[tuple[str, Autoencoder]],
    dataset: ImageDataset,
    *,
    n_pairs: int = 200,
    steps: int = 12,
    k: int = 10,
    seed: int = 0,
    realism: bool = True,
) -> Generator[float, None, ManyPairs]:
    """Interpolate ``n_pairs`` random test pairs in every model and measure them.

    A generator yielding the fraction done (a point where the job can be
    cancelled); returns :class:`ManyPairs`. The pairs depend on ``seed`` only,
    so two runs with the same seed give the same figures.
    """
    if steps < 3:
        raise ConfigError("an interpolation needs at least 3 steps to have a jump")
    pairs = random_pairs(len(dataset.test_images), n_pairs, seed)
    classifier = None
    if realism and len(dataset.class_names) > 1:
        classifier = train_classifier(dataset, seed=seed)
        yield 0.05
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    populations = {}
    for m, (kind, model) in enumerate(models):
        train = encode_images(model, dataset.train_images).mu
        yield (m + 0.3) / len(models)
        typical = typical_knn_distance(train, k, seed=seed)
        test = encode_images(model, dataset.test_images).mu
        a, b = test[pairs[:, 0]], test[pairs[:, 1]]
        paths = (1 - t) * a[:, None, :] + t * b[:, None, :]  # (n, steps, d)
        flat = paths.reshape(-1, paths.shape[-1])
        images = decode_codes(model, flat).reshape(n_pairs, steps, -1)
        yield (m + 0.6) / len(models)
        ratios = density_ratio(flat, train, k, typical).reshape(n_pairs, steps)
        sure = None
        if classifier is not None:
            shape = dataset.image_shape[1:]
            sure = confidence(classifier, images.reshape(-1, *shape))
            sure = sure.reshape(n_pairs, steps)[:, 1:-1].min(1)
        populations[kind] = PairPopulation(
            kind, jump_ratios(images), ratios[:, 1:-1].max(1), sure
        )
        yield (m + 1.0) / len(models)
    accuracy = classifier.test_accuracy if classifier is not None else None
    return ManyPairs(pairs, steps, k, seed, populations, accuracy)
