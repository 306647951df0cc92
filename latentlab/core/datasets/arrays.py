"""Images handed over from Python (a numpy array, a tensor, a torch ``Dataset``)
as an :class:`~latentlab.core.datasets.image_dataset.ImageDataset`.

Pixels are kept as 8-bit levels, as image files hold them: uint8 arrays as
they are, float arrays read in the model's pixel range and rounded to the
nearest of 256 levels (at most 1/510 of the range away).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from latentlab.core.errors import DataError

if TYPE_CHECKING:
    import torch

    from latentlab.core.datasets.image_dataset import ImageDataset

# More images than this are refused before anything is converted.
MAX_GIVEN_IMAGES = 1_000_000
# Labels are class indices: more classes than this are not a labelling.
MAX_CLASSES = 1000


def _as_numpy(value: Any) -> np.ndarray:
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _from_dataset(dataset: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """A torch ``Dataset`` of images or ``(image, label)`` items -> arrays."""
    n = len(dataset)
    if n > MAX_GIVEN_IMAGES:
        raise DataError(
            f"{n:,} images given; LatentLab shows at most {MAX_GIVEN_IMAGES:,}"
        )
    images, labels = [], []
    for i in range(n):
        item = dataset[i]
        if isinstance(item, tuple | list):
            images.append(_as_numpy(item[0]))
            # (image, label); an autoencoder's (x, x) items carry no label.
            label = _as_numpy(item[1]) if len(item) > 1 else None
            if label is not None and label.ndim == 0:
                labels.append(int(label))
        else:
            images.append(_as_numpy(item))
    if not images:
        raise DataError("the dataset given holds no images")
    return np.stack(images), (np.asarray(labels) if len(labels) == n else None)


def to_levels(
    images: Any, value_range: tuple[float, float] = (0.0, 1.0)
) -> torch.Tensor:
    """Images ``(N, C, H, W)`` or ``(N, H, W)`` (numpy or torch; uint8, or floats
    in ``value_range``) -> uint8 levels: ``(N, H, W)`` grey, ``(N, 3, H, W)`` RGB.

    Example: ``to_levels(np.zeros((2, 1, 28, 28), np.float32)).shape`` is
    ``(2, 28, 28)``.
    """
    import torch

    array = _as_numpy(images)
    if array.ndim == 4 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim == 4 and array.shape[1] != 3:
        hint = (
            "; they look channels-last: pass images.transpose(0, 3, 1, 2)"
            if array.shape[-1] in (1, 3)
            else ""
        )
        raise DataError(
            f"images of shape {array.shape}: LatentLab reads (N, C, H, W) with 1 or 3 "
            f"channels, or (N, H, W){hint}"
        )
    if array.ndim not in (3, 4) or len(array) == 0:
        raise DataError(
            f"images of shape {array.shape}: give (N, C, H, W) or (N, H, W), N >= 1"
        )
    if len(array) > MAX_GIVEN_IMAGES:
        raise DataError(
            f"{len(array):,} images given; LatentLab shows at most {MAX_GIVEN_IMAGES:,}"
        )
    if array.dtype == np.uint8:
        return torch.from_numpy(np.ascontiguousarray(array))
    if not (
        np.issubdtype(array.dtype, np.floating)
        or np.issubdtype(array.dtype, np.integer)
    ):
        raise DataError(f"images of dtype {array.dtype}: give uint8 or floats")
    lo, hi = value_range
    low, high = float(np.nanmin(array)), float(np.nanmax(array))
    if not np.isfinite(array).all():
        raise DataError("the images hold NaN or infinite values")
    slack = 1e-4 * (hi - lo)
    if low < lo - slack or high > hi + slack:
        raise DataError(
            f"the images hold values from {low:.4g} to {high:.4g}, outside the "
            f"model's pixel range [{lo:g}, {hi:g}]: give images in that range (or "
            "uint8 levels 0-255)"
        )
    if lo < 0.0 <= low:
        raise DataError(
            f"the images hold values from {low:.4g} to {high:.4g}, in [0, 1], but the "
            f"model reads [{lo:g}, {hi:g}] (its decoder ends in tanh): give "
            "images * 2 - 1, or wrap it with value_range=(0, 1) if it was trained "
            "on [0, 1] images"
        )
    levels = np.rint((array.astype(np.float64) - lo) * (255.0 / (hi - lo)))
    return torch.from_numpy(np.clip(levels, 0, 255).astype(np.uint8))


def dataset_from_arrays(
    images: Any,
    labels: Any = None,
    *,
    value_range: tuple[float, float] = (0.0, 1.0),
    name: str = "images given",
    class_names: tuple[str, ...] | None = None,
) -> ImageDataset:
    """An :class:`ImageDataset` whose test split is ``images`` (the planes'
    points). Analyses that need training images (the realism classifier, the
    nearest training image) use these same images: no other set was given.

    ``labels``: integers ``(N,)`` colouring the points (None: one class).
    """
    import torch

    from latentlab.core.datasets.image_dataset import ImageDataset

    if (
        hasattr(images, "__getitem__")
        and hasattr(images, "__len__")
        and not hasattr(images, "shape")
    ):
        images, found = _from_dataset(images)
        labels = found if labels is None else labels
    levels = to_levels(images, value_range)
    n = len(levels)
    if labels is None:
        label_array = np.zeros(n, np.int64)
        names = class_names or ("image",)
    else:
        label_array = _as_numpy(labels).reshape(-1)
        if len(label_array) != n:
            raise DataError(f"{len(label_array):,} labels for {n:,} images")
        if not np.issubdtype(label_array.dtype, np.integer) or label_array.min() < 0:
            raise DataError("labels must be integers from 0 (class indices)")
        label_array = label_array.astype(np.int64)
        count = int(label_array.max()) + 1
        if count > MAX_CLASSES:
            raise DataError(
                f"labels up to {count - 1:,}: LatentLab colours at most "
                f"{MAX_CLASSES:,} classes; give class indices 0, 1, 2, ..."
            )
        if class_names is not None and len(class_names) < count:
            raise DataError(
                f"{len(class_names)} class names for labels up to {count - 1}"
            )
        names = (
            tuple(class_names) if class_names else tuple(str(i) for i in range(count))
        )
    label_tensor = torch.from_numpy(label_array)
    return ImageDataset(
        name=name,
        train_images=levels,
        train_labels=label_tensor,
        test_images=levels,
        test_labels=label_tensor,
        class_names=names,
        test_factors={"label": label_array.astype(np.float32)},
    )
