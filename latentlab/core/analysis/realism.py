"""A realism measure for decoded images: how sure a small classifier is.

The classifier is an MLP trained here, on the same training split the models
saw (seeded, a few seconds on MNIST), and reports its own test accuracy. A
formless decode, between classes or of nothing, gets a low top-class
probability; a decode that looks like a digit gets a high one. It is a proxy,
not a likelihood: its accuracy says how far to trust it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.data import display_floats
from latentlab.core.lazy import no_grad

if TYPE_CHECKING:
    from collections.abc import Generator

    import numpy.typing as npt
    from torch import nn

    from latentlab.core.data import ImageDataset

EPOCHS = 8
BATCH = 128
_CACHE: dict[tuple[str, int, int], Classifier] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class Classifier:
    """A trained image classifier and its accuracy on the test split."""

    model: nn.Module
    test_accuracy: float
    n_test: int


def cached_classifier(dataset: ImageDataset, *, seed: int = 0) -> Classifier | None:
    """The classifier already trained for ``dataset`` and ``seed``, if any."""
    with _LOCK:
        return _CACHE.get(_key(dataset, seed))


def _key(dataset: ImageDataset, seed: int) -> tuple[str, int, int]:
    return (dataset.identity()["digest"], len(dataset.train_images), seed)


def classifier_steps(dataset: ImageDataset) -> int:
    """The optimiser steps :func:`train_classifier` takes on ``dataset``."""
    return EPOCHS * -(-len(dataset.train_images) // BATCH)


def training_classifier(
    dataset: ImageDataset, *, seed: int = 0, every: int = 20
) -> Generator[int, None, Classifier]:
    """Train (once per dataset and seed; cached) an MLP on the training split.

    A generator: yields 0 once set up, then the optimiser steps done every
    ``every`` steps (out of :func:`classifier_steps`; each a point where a
    job can be cancelled), and returns the :class:`Classifier`.
    """
    import torch
    from torch import nn

    key = _key(dataset, seed)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    pixels = int(np.prod(dataset.image_shape))
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(pixels, 256), nn.ReLU(), nn.Linear(256, 10)
    )
    n_classes = len(dataset.class_names)
    if n_classes != 10:
        model[-1] = nn.Linear(256, n_classes)
    # The layout decodes come in (channels last), so decoded and real images
    # meet the same weights; for grey it is the (n, 1, h, w) flattening.
    x = torch.from_numpy(display_floats(dataset.train_images))
    y = dataset.train_labels
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    done = 0
    yield done  # set up: the steps' rate is timed from here
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=gen)
        for lo in range(0, len(x), BATCH):
            idx = order[lo : lo + BATCH]
            with torch.enable_grad():
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            done += 1
            if done % every == 0:
                yield done
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(display_floats(dataset.test_images))).argmax(1)
    acc = float((pred == dataset.test_labels).float().mean())
    result = Classifier(model, acc, len(dataset.test_images))
    with _LOCK:
        _CACHE[key] = result
    return result


def train_classifier(dataset: ImageDataset, *, seed: int = 0) -> Classifier:
    """Train (once per dataset and seed; cached) an MLP on the training split."""
    steps = training_classifier(dataset, seed=seed)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


@no_grad
def confidence(
    classifier: Classifier, images: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """The top-class probability of each image ``(n, h, w[, 3])`` in [0, 1]."""
    import torch

    x = torch.as_tensor(np.asarray(images, np.float32))
    probs = torch.softmax(classifier.model(x.reshape(len(x), -1)), 1)
    return probs.max(1).values.double().numpy()
