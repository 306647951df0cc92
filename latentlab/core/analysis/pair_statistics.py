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

Codes are the encoders' means. The latent-density ratio's distances are
Euclidean in the *whitened* latent (:func:`~latentlab.core.analysis.continuity.
whitening` of the training codes: their own mean and covariance to 0 and I), so
an invertible linear reparameterization of the latent (the decoder's first
layer undoing it: the same model) leaves every figure here unchanged (tested);
the other two are measured on decoded images, which it does not change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from latentlab.core.analysis.continuity import whitening
from latentlab.core.analysis.realism import (
    cached_classifier,
    classifier_steps,
    confidence,
    training_classifier,
)
from latentlab.core.errors import ConfigError
from latentlab.core.latent import decode_codes, display_shape, encode_images

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

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
T = TypeVar("T")


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
    steps = _typical_steps(codes, k, sample=sample, seed=seed)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def _typical_steps(
    codes: npt.ArrayLike, k: int, *, sample: int, seed: int, chunk: int = 250
) -> Generator[int, None, float]:
    """:func:`typical_knn_distance`, yielding the sampled codes done so far."""
    c = np.asarray(codes, np.float64)
    c = c[np.isfinite(c).all(1)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(c))
    shuffled = c[order]
    n = min(sample, len(c))
    # Each query is one of the refs: exclude_self drops its own zero distance.
    parts = []
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        parts.append(knn_mean_distance(shuffled[lo:hi], shuffled, k, exclude_self=True))
        yield hi
    return float(np.median(np.concatenate(parts) if parts else np.empty(0)))


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


# Estimated cost of each piece of work, in milliseconds on the 2-core machine
# it was timed on (Fashion-MNIST, 60,000 training images, the 2-D MLP models):
# one classifier step (128 images) ~30 ms, encoding an image ~0.032 ms,
# decoding one ~0.036, one code's distance to one training code ~1.4e-5 (the
# density) to 2.5e-5 (the yardstick), the classifier on one decode ~0.02. They
# weigh the stages for the bar's share done; the time left is measured
# (:class:`WorkClock`): each stage at its own rate once it has begun.
COST_CLASSIFIER_STEP = 30.0
COST_ENCODE = 0.032
COST_DECODE = 0.036
COST_DISTANCE = 2e-5
COST_CONFIDENCE = 0.02
PAIRS_PER_CHUNK = 10
# The realism classifier is the same instrument for every run on a data set
# (trained once, cached), whatever seed draws the pairs.
CLASSIFIER_SEED = 0
ENCODE_CHUNK = 5000


class WorkClock:
    """The time left of a job made of stages of estimated work (``totals``:
    units per stage): a stage that has begun runs at the rate measured in it
    (seconds per unit), one that has not at the job's rate so far.

    ``now`` is a clock reading in seconds (``time.monotonic`` by default).
    """

    def __init__(self, totals: dict[str, float], start: float | None = None) -> None:
        self.totals = dict(totals)
        self.done = dict.fromkeys(totals, 0.0)
        self.spent = dict.fromkeys(totals, 0.0)
        self.start = time.monotonic() if start is None else start
        self._last = self.start

    def advance(self, stage: str, units: float, now: float | None = None) -> None:
        """``units`` of ``stage`` done since the last call, in the time since;
        no units: the time was set-up, not counted to the stage's rate."""
        now = time.monotonic() if now is None else now
        if units > 0:
            self.done[stage] += units
            self.spent[stage] += now - self._last
        self._last = now

    @property
    def fraction(self) -> float:
        """The share of the estimated work done, 0..1."""
        total = sum(self.totals.values())
        return min(sum(self.done.values()) / total, 1.0) if total > 0 else 1.0

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the start."""
        return (time.monotonic() if now is None else now) - self.start

    def remaining(self, now: float | None = None) -> float | None:
        """Seconds left (None until the job has a rate: half a second and 1%
        of its work)."""
        elapsed = self.elapsed(now)
        work = sum(self.done.values())
        if elapsed < 0.5 or self.fraction < 0.01 or work <= 0:
            return None
        overall = elapsed / work
        left = 0.0
        for stage, total in self.totals.items():
            rest = max(total - self.done[stage], 0.0)
            measured = self.done[stage] > 0 and self.spent[stage] > 0
            rate = self.spent[stage] / self.done[stage] if measured else overall
            left += rest * rate
        return left


@dataclass(frozen=True, slots=True)
class PairsProgress:
    """How far :func:`many_pairs` is: what runs now and the share of the
    estimated work done.

    ``stage`` is ``"encoding"`` (``model``'s training and test codes, ``done``
    of ``total`` images), ``"yardstick"`` (the typical distance between its
    training codes, ``done`` of ``total`` sampled codes), ``"pairs"``
    (``done`` of ``total`` pairs interpolated and measured in ``model``),
    ``"classifier"`` (``done`` of ``total`` optimiser steps of the realism
    classifier) or ``"confidence"`` (``done`` of ``total`` pairs' decodes
    scored in ``model``).
    """

    stage: str
    model: str
    done: int
    total: int
    fraction: float
    elapsed_s: float
    remaining_s: float | None = None
    """Seconds left at the rates measured so far (None: not known yet)."""

    def __float__(self) -> float:
        return self.fraction


def many_pairs(
    models: Sequence[tuple[str, Autoencoder]],
    dataset: ImageDataset,
    *,
    n_pairs: int = 200,
    steps: int = 12,
    k: int = 10,
    seed: int = 0,
    realism: bool = True,
) -> Generator[PairsProgress, None, ManyPairs]:
    """Interpolate ``n_pairs`` random test pairs in every model and measure them.

    A generator yielding :class:`PairsProgress` (each yield is a point where
    the job can be cancelled) from the first pair on: the pairs are measured
    first, ``PAIRS_PER_CHUNK`` at a time, then the realism classifier is
    trained (seed :data:`CLASSIFIER_SEED`, once per data set: it is cached;
    its first few steps before the pairs, to time it) and scores the decodes.
    Returns :class:`ManyPairs`. The pairs depend on ``seed`` only, so two runs
    with the same seed give the same figures.
    """
    if steps < 3:
        raise ConfigError("an interpolation needs at least 3 steps to have a jump")
    pairs = random_pairs(len(dataset.test_images), n_pairs, seed)
    train_images, test_images = dataset.train_images, dataset.test_images
    n_train, n_test = len(train_images), len(test_images)
    n_typical = min(2000, n_train)
    with_realism = realism and len(dataset.class_names) > 1
    classifier = None
    if with_realism:
        classifier = cached_classifier(dataset, seed=CLASSIFIER_SEED)
    n_steps = classifier_steps(dataset) if with_realism and classifier is None else 0

    cost_encode = COST_ENCODE
    cost_typical = COST_DISTANCE * n_train
    cost_pair = steps * (COST_DECODE + COST_DISTANCE * n_train)
    cost_score = steps * (COST_DECODE + COST_CONFIDENCE) if with_realism else 0.0
    n_models = len(models)
    clock = WorkClock(
        {
            "encoding": n_models * (n_train + n_test) * cost_encode,
            "yardstick": n_models * n_typical * cost_typical,
            "pairs": n_models * n_pairs * cost_pair,
            "classifier": n_steps * COST_CLASSIFIER_STEP,
            "confidence": n_models * n_pairs * cost_score,
        }
    )

    def progress(
        stage: str, model: str, done: int, of: int, units: float = 0.0
    ) -> PairsProgress:
        """Count ``units`` of work as done and say where the job is."""
        now = time.monotonic()
        clock.advance(stage, units, now)
        return PairsProgress(
            stage,
            model,
            done,
            of,
            clock.fraction,
            clock.elapsed(now),
            clock.remaining(now),
        )

    trainer, trained = None, 0
    if with_realism and classifier is None:
        # Its first steps now, then the pairs, then the rest: the time left is
        # at the classifier's own rate from the start (it varies with the
        # machine far more than the other stages do).
        trainer = training_classifier(dataset, seed=CLASSIFIER_SEED)
        try:
            for _ in range(2):  # set up (not timed), then its first steps
                trained = next(trainer)
                units = trained * COST_CLASSIFIER_STEP
                yield progress("classifier", "", trained, n_steps, units)
        except StopIteration as end:  # fewer steps than one report
            classifier, trainer = end.value, None
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None]
    measured = {}
    for kind, model in models:
        yield progress("encoding", kind, 0, n_train + n_test)
        parts = []
        for lo in range(0, n_train, ENCODE_CHUNK):
            chunk = train_images[lo : lo + ENCODE_CHUNK]
            parts.append(encode_images(model, chunk).mu)
            done = lo + len(chunk)
            units = len(chunk) * cost_encode
            yield progress("encoding", kind, done, n_train + n_test, units)
        train = np.concatenate(parts)
        test = encode_images(model, test_images).mu
        white = whitening(train)
        train_u = white(train)
        units = n_test * cost_encode
        yield progress("encoding", kind, n_train + n_test, n_train + n_test, units)
        typical = yield from _relay(
            _typical_steps(train_u, k, sample=n_typical, seed=seed),
            lambda new, done, kind=kind: progress(
                "yardstick", kind, done, n_typical, new * cost_typical
            ),
        )
        jumps, ratios = [], []
        for lo in range(0, n_pairs, PAIRS_PER_CHUNK):
            chunk = pairs[lo : lo + PAIRS_PER_CHUNK]
            flat = _paths(test, chunk, t)
            images = decode_codes(model, flat).reshape(len(chunk), steps, -1)
            jumps.append(jump_ratios(images))
            ratio = density_ratio(white(flat), train_u, k, typical)
            ratio = ratio.reshape(len(chunk), steps)
            ratios.append(ratio[:, 1:-1].max(1))
            units = len(chunk) * cost_pair
            yield progress("pairs", kind, lo + len(chunk), n_pairs, units)
        measured[kind] = (test, np.concatenate(jumps), np.concatenate(ratios))
    if trainer is not None:
        classifier = yield from _relay(
            trainer,
            lambda new, done: progress(
                "classifier", "", done, n_steps, new * COST_CLASSIFIER_STEP
            ),
            done=trained,
        )
    populations = {}
    for kind, model in models:
        test, jumps, ratios = measured[kind]
        sure = None
        if classifier is not None:
            shape = display_shape(1, dataset.image_shape)[1:]
            least = []
            for lo in range(0, n_pairs, PAIRS_PER_CHUNK):
                chunk = pairs[lo : lo + PAIRS_PER_CHUNK]
                images = decode_codes(model, _paths(test, chunk, t))
                p = confidence(classifier, images.reshape(-1, *shape))
                least.append(p.reshape(len(chunk), steps)[:, 1:-1].min(1))
                units = len(chunk) * cost_score
                yield progress("confidence", kind, lo + len(chunk), n_pairs, units)
            sure = np.concatenate(least)
        populations[kind] = PairPopulation(kind, jumps, ratios, sure)
    accuracy = classifier.test_accuracy if classifier is not None else None
    return ManyPairs(pairs, steps, k, seed, populations, accuracy)


def _relay(
    steps: Generator[int, None, T],
    report: Callable[[int, int], PairsProgress],
    done: int = 0,
) -> Generator[PairsProgress, None, T]:
    """Run ``steps`` (a generator yielding how many of its items are done,
    ``done`` of them already) to its end, yielding ``report(new, done)`` at
    each of its yields; return its value."""
    while True:
        try:
            now = next(steps)
        except StopIteration as end:
            return end.value
        yield report(now - done, now)
        done = now


def _paths(
    codes: npt.NDArray[np.float32],
    pairs: npt.NDArray[np.int64],
    t: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """The straight paths between the pairs' codes, flat ``(n * steps, d)``."""
    a, b = codes[pairs[:, 0]], codes[pairs[:, 1]]
    paths = (1 - t) * a[:, None, :] + t * b[:, None, :]
    return paths.reshape(-1, paths.shape[-1])
