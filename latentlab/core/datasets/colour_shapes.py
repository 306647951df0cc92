"""The generated ``colour-shapes`` set: the grey set's shapes, each in a colour
on a dark coloured background, with every factor known (no file, no download)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.catalog import SHAPE_NAMES
from latentlab.core.datasets.image_dataset import ImageDataset
from latentlab.core.datasets.image_folder import check_image_size
from latentlab.core.datasets.shapes import shape_distance

if TYPE_CHECKING:
    import numpy.typing as npt

# Fixed saturation and value, so hue is the only colour factor of each: a bright
# shape (value >= 0.8) on a dark background (value <= 0.35) of another hue.
SHAPE_SATURATION, SHAPE_VALUE = 0.85, 0.95
BACKGROUND_SATURATION, BACKGROUND_VALUE = 0.7, 0.3
# Images rendered at once: bounds the float temporaries to ~4 MB each at 64 px.
_CHUNK_PIXELS = 1 << 20


def make_colour_shapes(
    n_train: int = 12_000, n_test: int = 3_000, size: int = 64, seed: int = 4321
) -> ImageDataset:
    """Generate coloured dSprites-style shapes with known factors,
    deterministically.

    Each ``(3, size, size)`` RGB image is one shape (the label, one of
    ``SHAPE_NAMES``) in one hue over a dark background of another. Edges are
    anti-aliased like the grey ``shapes`` set: a signed distance clipped to
    [0, 1] is the shape's coverage, which blends its colour over the
    background's per pixel. About 1 s for the default 15,000 images at 64 px.

    Parameters
    ----------
    n_train, n_test : int
        Images in each split (at least one each).
    size : int
        Height and width in pixels, 16 to 128.
    seed : int
        Seed of every factor; the same arguments give the same pixels.

    Returns
    -------
    ImageDataset
        ``"colour-shapes"``; its ``test_factors`` are ``"hue"`` and
        ``"background_hue"`` (HSV hue, degrees in [0, 360)), ``"scale"``
        (pixels), ``"rotation"`` (degrees in [0, 180)), ``"x"`` and ``"y"`` (the
        shape's centre, column and row in pixels), all float32.
    """
    import torch

    size = check_image_size((size, size))[0]
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    shape = rng.integers(0, len(SHAPE_NAMES), n)
    # The grey set's 3.5..7 px at 28 px, scaled to the image.
    scale = (rng.uniform(0.125, 0.25, n) * size).astype(np.float32)
    rotation = rng.uniform(0.0, np.pi, n).astype(np.float32)
    # A rotated square reaches 1.13 scale from its centre: keep it whole.
    margin = scale * 1.15 + 1.0
    cx = rng.uniform(margin, size - 1 - margin).astype(np.float32)
    cy = rng.uniform(margin, size - 1 - margin).astype(np.float32)
    hue = rng.uniform(0.0, 360.0, n).astype(np.float32)
    # At least 60 degrees from the shape's hue, so the two never match.
    background_hue = ((hue + rng.uniform(60.0, 300.0, n)) % 360.0).astype(np.float32)
    images = _render(
        shape,
        scale,
        rotation,
        cx,
        cy,
        size,
        _hsv_to_rgb(hue, SHAPE_SATURATION, SHAPE_VALUE),
        _hsv_to_rgb(background_hue, BACKGROUND_SATURATION, BACKGROUND_VALUE),
    )
    labels = torch.from_numpy(shape.astype(np.int64))
    pixels = torch.from_numpy(images)
    test = slice(n_train, None)
    factors = {
        "hue": hue[test],
        "background_hue": background_hue[test],
        "scale": scale[test],
        "rotation": np.degrees(rotation[test]).astype(np.float32),
        "x": cx[test],
        "y": cy[test],
    }
    return ImageDataset(
        name="colour-shapes",
        train_images=pixels[:n_train].clone(),
        train_labels=labels[:n_train].clone(),
        test_images=pixels[test].clone(),
        test_labels=labels[test].clone(),
        class_names=SHAPE_NAMES,
        test_factors=factors,
        source="embedded",
    )


def _hsv_to_rgb(
    hue: npt.NDArray[np.float32], saturation: float, value: float
) -> npt.NDArray[np.float32]:
    """``(n, 3)`` RGB in [0, 255] of hues in degrees."""
    # Each channel's offset on the hue circle, in sixths: red 5, green 3, blue 1.
    k = (np.array([5.0, 3.0, 1.0], np.float32) + hue[:, None] / 60.0) % 6.0
    ramp = np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)
    return (255.0 * value * (1.0 - saturation * ramp)).astype(np.float32)


def _render(
    shape: npt.NDArray[np.int64],
    scale: npt.NDArray[np.float32],
    rotation: npt.NDArray[np.float32],
    cx: npt.NDArray[np.float32],
    cy: npt.NDArray[np.float32],
    size: int,
    colour: npt.NDArray[np.float32],
    background: npt.NDArray[np.float32],
) -> npt.NDArray[np.uint8]:
    out = np.empty((len(shape), 3, size, size), np.uint8)
    chunk = max(1, _CHUNK_PIXELS // (size * size))
    for lo in range(0, len(shape), chunk):
        sl = slice(lo, lo + chunk)
        dist = shape_distance(shape[sl], scale[sl], rotation[sl], cx[sl], cy[sl], size)
        cover = np.clip(0.5 - dist, 0.0, 1.0, out=dist)
        base = background[sl, :, None, None]
        step = (colour[sl] - background[sl])[:, :, None, None]
        # background + coverage * (colour - background), rounded to nearest.
        mixed = cover[:, None] * step
        mixed += base + 0.5
        out[sl] = mixed
    return out
