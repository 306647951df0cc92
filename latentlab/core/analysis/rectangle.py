"""The article's figure: the decodes over the rectangle two codes span.

For inputs A and B with codes ``a`` and ``b``, cell ``(i, j)`` of an ``n × n``
grid decodes ``z`` with ``z[dx] = a[dx] + (b[dx] - a[dx]) j / (n - 1)`` (the
x axis, left to right, interpolates the first shown dim from A's to B's) and
``z[dy] = a[dy] + (b[dy] - a[dy]) i / (n - 1)`` (the y axis, top to bottom,
the second); a latent wider than 2 keeps its other dims at A's and B's mean.
So the top-left cell is A's code and the bottom-right B's (for 2-D latents),
and the two other corners mix them: where a plain autoencoder's codes leave
holes, those decodes lose their form.

Each cell is marked with whether it looks like data, by two tests of the small
classifier trained on the same data (:mod:`.realism`): it is sure of a class
(top-class probability ≥ :data:`DATA_LIKE`), and the image lies as near the
training images, in the classifier's hidden features, as 95 % of real test
images do. Confidence alone does not do: uniform noise gets a median 0.99 from
the MNIST classifier (flat grey does not); the feature distance rejects noise
(3.8 times the real images' median) and the confidence flat grey. The
:class:`Yardstick` reports, with every grid, the share of real test images,
of uniform noise and of flat grey that the rule calls data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.data import display_floats
from latentlab.core.errors import ConfigError
from latentlab.core.latent import display_shape

if TYPE_CHECKING:
    from collections.abc import Generator, Sequence

    import numpy.typing as npt

    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder

GRID_N = 8
DATA_LIKE = 0.9  # the classifier is sure at this top-class probability or more


@dataclass(frozen=True, slots=True)
class RectangleGrid:
    """One model's decodes over the rectangle: ``images`` ``(n*n, h, w)`` in
    rows (top row first), the ``x`` and ``y`` values of the two ``dims``, and
    per cell the classifier's ``confidence``, the feature ``distance`` (over
    real test images' median) and whether it is ``data_like`` (None without a
    classifier)."""

    kind: str
    dims: tuple[int, int]
    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    codes: npt.NDArray[np.float32]
    images: npt.NDArray[np.float32]
    confidence: npt.NDArray[np.float64] | None
    distance: npt.NDArray[np.float64] | None = None
    data_like: npt.NDArray[np.bool_] | None = None

    @property
    def n(self) -> int:
        """Cells per side."""
        return len(self.x)


@dataclass(frozen=True, slots=True)
class Yardstick:
    """What the data-likeness rule says of known images: the shares of real
    test images, uniform noise and flat grey it calls data, the classifier's
    test accuracy, and the real images' feature-distance cut-off."""

    real: float
    noise: float
    flat: float
    accuracy: float
    cutoff: float

    @property
    def valid(self) -> bool:
        """True when two thirds of real images or more read as data and at
        most 5 % of noise or flat grey does."""
        return self.real >= 2 / 3 and self.noise <= 0.05 and self.flat <= 0.05

    @property
    def text(self) -> str:
        """The rule and its check, in words."""
        return (
            "Looks like data: the classifier (test accuracy "
            f"{100 * self.accuracy:.0f} %) is sure (≥ {DATA_LIKE:g}) and the "
            "image lies as near the training images in its features as 95 % "
            "of real test images (≤ "
            f"{self.cutoff:.2f}× their median). Checked: it calls "
            f"{100 * self.real:.0f} % of real test images data, "
            f"{100 * self.noise:.0f} % of uniform noise and {100 * self.flat:.0f} % "
            "of flat grey" + ("." if self.valid else " — not a valid test here.")
        )


class DataLikeness:
    """The data-likeness rule for one data set and its classifier."""

    def __init__(
        self, classifier, dataset: ImageDataset, *, sample: int = 5000
    ) -> None:
        from latentlab.core.analysis.pair_statistics import knn_mean_distance

        self.classifier = classifier
        self.shape = display_shape(1, dataset.image_shape)[1:]
        rng = np.random.default_rng(0)
        n_train = len(dataset.train_images)
        pick = np.sort(rng.choice(n_train, size=min(sample, n_train), replace=False))
        self._train = self._features(display_floats(dataset.train_images[pick]))
        real = display_floats(dataset.test_images[:1000])
        near = knn_mean_distance(self._features(real), self._train, 1)
        self.median = max(float(np.median(near)), 1e-12)
        self.cutoff = float(np.percentile(near / self.median, 95))
        noise = np.random.default_rng(1).random((300, *self.shape))
        flat = np.full((50, *self.shape), 0.15)
        self.yardstick = Yardstick(
            float(self.score(real)[2].mean()),
            float(self.score(noise)[2].mean()),
            float(self.score(flat)[2].mean()),
            float(classifier.test_accuracy),
            self.cutoff,
        )

    def _features(self, images) -> npt.NDArray[np.float64]:
        import torch

        x = torch.as_tensor(np.asarray(images, np.float32))
        with torch.no_grad():
            return self.classifier.model[:3](x).double().numpy()

    def score(self, images):
        """``(confidence, distance, data_like)`` of images ``(n, h, w)`` in [0, 1]."""
        from latentlab.core.analysis.pair_statistics import knn_mean_distance
        from latentlab.core.analysis.realism import confidence

        images = np.asarray(images, np.float32)
        sure = confidence(self.classifier, images)
        far = knn_mean_distance(self._features(images), self._train, 1) / self.median
        return sure, far, (sure >= DATA_LIKE) & (far <= self.cutoff)


def rectangle_codes(
    a: npt.ArrayLike, b: npt.ArrayLike, dims: tuple[int, int], n: int = GRID_N
) -> npt.NDArray[np.float32]:
    """The ``(n*n, d)`` codes of the grid over the rectangle ``a``, ``b`` span
    in ``dims`` (rows top to bottom, see the module docstring)."""
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ConfigError("the two codes have different sizes")
    dx, dy = dims
    if dx == dy or not (0 <= dx < len(a) and 0 <= dy < len(a)):
        raise ConfigError(
            f"dims {dims} are not two different dims of a {len(a)}-D code"
        )
    if n < 2:
        raise ConfigError("the grid needs at least 2 cells a side")
    t = np.linspace(0.0, 1.0, n)
    z = np.tile((a + b) / 2, (n * n, 1))
    rows, cols = np.meshgrid(t, t, indexing="ij")
    z[:, dx] = a[dx] + (b[dx] - a[dx]) * cols.ravel()
    z[:, dy] = a[dy] + (b[dy] - a[dy]) * rows.ravel()
    return z.astype(np.float32)


def rectangle_grids(
    models: Sequence[
        tuple[str, Autoencoder, npt.ArrayLike, npt.ArrayLike, tuple[int, int]]
    ],
    dataset: ImageDataset,
    n: int = GRID_N,
    *,
    classifier_seed: int = 0,
) -> Generator[float, None, tuple[list[RectangleGrid], Yardstick | None]]:
    """Each model's grid over the rectangle its codes of A and B span in two of
    its dims (``(name, model, a, b, dims)``), scored by the data-likeness rule
    of the data's classifier (trained once per data set, cached); yields the
    fraction done; returns the grids and the rule's :class:`Yardstick` (None
    for data with one class)."""
    from latentlab.core.analysis.realism import (
        cached_classifier,
        classifier_steps,
        training_classifier,
    )
    from latentlab.core.latent import decode_codes

    shape = display_shape(1, dataset.image_shape)[1:]
    classifier = None
    if len(dataset.class_names) > 1:
        classifier = cached_classifier(dataset, seed=classifier_seed)
        if classifier is None:
            steps = max(classifier_steps(dataset), 1)
            run = training_classifier(dataset, seed=classifier_seed)
            while True:
                try:
                    done = next(run)
                except StopIteration as end:
                    classifier = end.value
                    break
                yield 0.9 * done / steps
    rule = DataLikeness(classifier, dataset) if classifier is not None else None
    grids = []
    for name, model, a, b, dims in models:
        yield 0.9  # a point to stop at between two models' grids
        codes = rectangle_codes(a, b, dims, n)
        images = decode_codes(model, codes).reshape(n * n, *shape)
        sure = far = like = None
        if rule is not None:
            sure, far, like = rule.score(images)
        t = np.linspace(0.0, 1.0, n)
        a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
        grids.append(
            RectangleGrid(
                name,
                (int(dims[0]), int(dims[1])),
                a64[dims[0]] + (b64[dims[0]] - a64[dims[0]]) * t,
                a64[dims[1]] + (b64[dims[1]] - a64[dims[1]]) * t,
                codes,
                images.astype(np.float32),
                sure,
                far,
                like,
            )
        )
    yield 1.0
    return grids, rule.yardstick if rule is not None else None


def grid_summary(grid: RectangleGrid) -> str:
    """The grid's cells by the data-likeness rule, in words from the numbers."""
    if grid.data_like is None:
        return f"{grid.kind}: no classifier for this data (one class)"
    total = grid.n * grid.n
    like = int(grid.data_like.sum())
    corners = [grid.n - 1, total - grid.n]  # top right, bottom left: mixed codes
    mixed = int(grid.data_like[corners].sum())
    return (
        f"{grid.kind}: {like} of {total} cells look like data; of the two mixed "
        f"corners (top right, bottom left), {mixed}"
    )
