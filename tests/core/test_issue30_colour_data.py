"""Colour data: image folders read in colour (crop + area resize), and the
generated ``colour-shapes`` set whose factors show in its pixels."""

from __future__ import annotations

import colorsys
import hashlib
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.core.datasets import image_folder
from latentlab.core.datasets.colour_shapes import make_colour_shapes
from latentlab.core.datasets.image_folder import (
    RESIZE_POLICY,
    load_image_folder,
    read_grey_image,
    read_image,
)
from latentlab.core.datasets.shapes import make_shapes
from latentlab.core.errors import DataError

if TYPE_CHECKING:
    from pathlib import Path

# The grey shapes set as it was before its signed distance was shared with the
# colour set: identity() digest, and a digest of every pixel of both splits.
GREY_SHAPES_DIGEST = "31beacd2bcff8bb8"
GREY_SHAPES_PIXELS = "05cf0445d020f2b4"


def _save(path: Path, img: Image.Image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def _noise(width: int, height: int, mode: str = "RGB", seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    bands = len(mode)
    arr = rng.integers(0, 256, (height, width, bands), np.uint8)
    return Image.fromarray(arr if bands > 1 else arr[..., 0], mode)


def _all_images(ds) -> torch.Tensor:
    return torch.cat([ds.train_images, ds.test_images])


# --- image folders -------------------------------------------------------------


def _grey_folder(root: Path) -> Path:
    _save(root / "a" / "l.png", _noise(30, 20, "L"))
    _save(root / "a" / "la.png", Image.new("LA", (20, 20), (90, 255)))
    pal = Image.new("P", (20, 20), 1)
    pal.putpalette([0, 0, 0, 128, 128, 128] + [0] * 762)  # a grey palette
    _save(root / "b" / "pal.png", pal)
    _save(root / "b" / "g.jpg", Image.new("L", (40, 40), 77), quality=95)
    return root


def test_an_all_grey_folder_reads_grey(tmp_path: Path) -> None:
    ds = load_image_folder(_grey_folder(tmp_path), (16, 24))
    assert ds.train_images.shape[1:] == (16, 24)
    assert ds.image_shape == (1, 16, 24)


def test_any_colour_file_makes_the_folder_colour(tmp_path: Path) -> None:
    root = _grey_folder(tmp_path)
    _save(root / "c" / "rgb.jpg", Image.new("RGB", (40, 30), (200, 30, 40)))
    ds = load_image_folder(root, (16, 24))
    assert ds.image_shape == (3, 16, 24)
    images = _all_images(ds)
    assert images.dtype == torch.uint8 and images.shape == (5, 3, 16, 24)
    labels = torch.cat([ds.train_labels, ds.test_labels])
    (red,) = images[labels == ds.class_names.index("c")]
    assert (red.float().mean((1, 2)) - torch.tensor([200, 30, 40])).abs().max() < 4
    # Grey files are repeated in each channel.
    grey = images[labels != ds.class_names.index("c")]
    assert torch.equal(grey[:, 0], grey[:, 1]) and torch.equal(grey[:, 1], grey[:, 2])


def test_the_mode_decides_not_the_pixels(tmp_path: Path) -> None:
    """An RGB file of grey pixels is a colour file (only headers are read)."""
    for i in range(2):
        _save(tmp_path / f"{i}.png", Image.new("RGB", (20, 20), (60, 60, 60)))
    assert load_image_folder(tmp_path, (16, 16)).image_shape == (3, 16, 16)


def test_rgba_composites_over_black_in_colour(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", Image.new("RGBA", (20, 20), (200, 100, 50, 128)))
    _save(tmp_path / "b.png", Image.new("RGBA", (20, 20), (200, 100, 50, 0)))
    ds = load_image_folder(tmp_path, (16, 16))
    a, b = _all_images(ds)
    assert a[:, 0, 0].tolist() == [100, 50, 25] and int(b.max()) == 0


def test_explicit_grey_reads_a_colour_folder_by_luminance(tmp_path: Path) -> None:
    rgb = _save(tmp_path / "a.png", _noise(50, 30, "RGB", seed=1))
    rgba = _save(tmp_path / "b.png", _noise(50, 30, "RGBA", seed=2))
    ds = load_image_folder(tmp_path, (24, 40), channels=1)
    assert ds.image_shape == (1, 24, 40)
    # 50x30 to 40 wide, 24 high: keep 50 x 30, no crop (5:3 both).
    black = Image.new("RGBA", (50, 30), (0, 0, 0, 255))
    flat = Image.alpha_composite(black, Image.open(rgba).convert("RGBA"))
    for got, img in zip(_all_images(ds), (Image.open(rgb), flat), strict=True):
        want = img.convert("L").resize((40, 24), Image.Resampling.BOX)
        assert np.array_equal(got.numpy(), np.asarray(want))


@pytest.mark.parametrize(
    ("source", "box"),
    [
        # Wider than 40:24: the width is cropped, 25 px each side.
        ((130, 48), (25, 0, 105, 48)),
        # Taller: the height is cropped, 3 px above and below.
        ((90, 60), (0, 3, 90, 57)),
    ],
)
def test_crop_then_area_resize_is_pixel_exact(
    tmp_path: Path, source: tuple[int, int], box: tuple[int, int, int, int]
) -> None:
    assert "centre crop" in RESIZE_POLICY and "area" in RESIZE_POLICY
    img = _noise(*source, "RGB", seed=3)
    path = _save(tmp_path / "x.png", img)
    got = read_image(path, (24, 40), channels=3)
    assert got.shape == (3, 24, 40) and got.dtype == np.uint8
    want = np.asarray(img.crop(box).resize((40, 24), Image.Resampling.BOX))
    assert np.array_equal(got, want.transpose(2, 0, 1))
    grey = read_image(path, (24, 40), channels=1)
    want_grey = img.convert("L").crop(box).resize((40, 24), Image.Resampling.BOX)
    assert np.array_equal(grey, np.asarray(want_grey))
    assert np.array_equal(read_grey_image(path, (24, 40)), grey)
    if source == (130, 48):
        # 80x48 to 40x24: each pixel is the mean of a 2x2 block (within
        # Pillow's fixed-point rounding).
        arr = np.asarray(img, dtype=np.float64)[:, 25:105]
        blocks = arr.reshape(24, 2, 40, 2, 3).mean((1, 3)).transpose(2, 0, 1)
        assert np.abs(blocks - got).max() <= 1.0


def test_a_jpeg_is_read_in_colour(tmp_path: Path) -> None:
    img = Image.new("RGB", (400, 300), (30, 160, 220))
    path = _save(tmp_path / "x.jpg", img, quality=95)
    got = read_image(path, (32, 32), channels=3)
    assert np.abs(got.reshape(3, -1).mean(1) - [30, 160, 220]).max() < 4


def test_cmyk_reads_as_rgb(tmp_path: Path) -> None:
    path = _save(
        tmp_path / "x.tif", Image.new("RGB", (20, 20), (200, 20, 20)).convert("CMYK")
    )
    got = read_image(path, (16, 16), channels=3)
    assert got[:, 0, 0].tolist() == list(
        Image.open(path).convert("RGB").getpixel((0, 0))
    )


@pytest.mark.parametrize("size", [(15, 28), (28, 129), (0, 0), (16, 200)])
def test_sizes_outside_16_to_128_are_refused(tmp_path: Path, size) -> None:
    for i in range(2):
        _save(tmp_path / f"{i}.png", Image.new("L", (20, 20), 9))
    with pytest.raises(DataError, match="each from 16 to 128"):
        load_image_folder(tmp_path, size)
    with pytest.raises(DataError, match="each from 16 to 128"):
        read_image(tmp_path / "0.png", size)


def test_channels_must_be_one_or_three(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="1 \\(grey\\) or 3"):
        load_image_folder(tmp_path, channels=2)


def test_the_memory_check_counts_channels(tmp_path: Path, monkeypatch) -> None:
    n, side = 3, 16
    for i in range(n):
        _save(tmp_path / f"{i}.png", Image.new("RGB", (20, 20), (9, 90, 200)))
    # Room for the grey stack and its copies, not for three channels.
    monkeypatch.setattr(image_folder, "memory_budget", lambda: 3 * n * side * side)
    assert load_image_folder(tmp_path, (side, side), channels=1).image_shape[0] == 1
    for channels in (None, 3):
        with pytest.raises(DataError, match="in colour at 16x16") as info:
            load_image_folder(tmp_path, (side, side), channels=channels)
        assert "or grey images" in str(info.value)


def test_a_colour_file_that_fails_to_decode_leaves_the_folder_grey(
    tmp_path: Path,
) -> None:
    for i in range(2):
        _save(tmp_path / f"{i}.png", Image.new("L", (20, 20), 40 * i))
    data = _save(tmp_path / "c.png", _noise(64, 64, "RGB")).read_bytes()
    (tmp_path / "c.png").write_bytes(data[: len(data) // 2])  # header intact
    ds = load_image_folder(tmp_path, (16, 16))
    assert ds.image_shape == (1, 16, 16)
    assert len(ds.skipped) == 1 and "c.png" in ds.skipped[0]
    assert _all_images(ds)[1].unique().tolist() == [40]


# --- colour shapes -------------------------------------------------------------


@pytest.fixture(scope="module")
def colour() -> object:
    return make_colour_shapes(200, 300, size=40, seed=11)


def _hue(rgb) -> float:
    r, g, b = (float(c) / 255.0 for c in rgb)
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360.0


def _hue_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_colour_shapes_layout_and_determinism(colour) -> None:
    ds = colour
    assert ds.name == "colour-shapes"
    assert ds.train_images.shape == (200, 3, 40, 40)
    assert ds.test_images.shape == (300, 3, 40, 40)
    assert ds.train_images.dtype == torch.uint8 and ds.test_images.is_contiguous()
    assert ds.class_names == ("square", "ellipse", "triangle")
    assert set(ds.test_labels.tolist()) == {0, 1, 2}
    assert set(ds.test_factors) == {
        "hue",
        "background_hue",
        "scale",
        "rotation",
        "x",
        "y",
    }
    for values in ds.test_factors.values():
        assert values.dtype == np.float32 and values.shape == (300,)
    again = make_colour_shapes(200, 300, size=40, seed=11)
    assert torch.equal(again.train_images, ds.train_images)
    assert torch.equal(again.test_images, ds.test_images)
    other = make_colour_shapes(200, 300, size=40, seed=12)
    assert not torch.equal(other.test_images, ds.test_images)
    assert make_colour_shapes(5, 5, size=17).test_images.shape == (5, 3, 17, 17)


@pytest.mark.parametrize("size", [15, 129])
def test_colour_shape_sizes_outside_16_to_128_are_refused(size: int) -> None:
    with pytest.raises(DataError, match="each from 16 to 128"):
        make_colour_shapes(4, 4, size=size)


def _split(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shape colour (mean of the brightest pixels), background colour (a corner)
    and each pixel's coverage (projection between the two)."""
    pixels = image.reshape(3, -1).T.astype(np.float64)
    bright = pixels.max(1)
    fg = pixels[bright >= bright.max() - 1].mean(0)
    bg = pixels[0]
    step = fg - bg
    cover = np.clip((pixels - bg) @ step / (step @ step), 0.0, 1.0)
    return fg, bg, cover.reshape(image.shape[1:])


def test_colour_shape_factors_show_in_the_pixels(colour) -> None:
    f = colour.test_factors
    images = colour.test_images.numpy()
    labels = colour.test_labels.numpy()
    # Coverage over scale^2 of a square (1.6 s side), ellipse (s by 0.55 s
    # semi-axes) and triangle (inradius s / 2).
    area = {0: 1.6**2, 1: np.pi * 0.55, 2: 3 * np.sqrt(3) * 0.25}
    ys, xs = np.mgrid[0:40, 0:40]
    for i, image in enumerate(images):
        fg, bg, cover = _split(image)
        assert _hue_gap(_hue(fg), f["hue"][i]) < 2.0, i
        assert _hue_gap(_hue(bg), f["background_hue"][i]) < 3.0, i
        assert fg.max() >= 0.8 * 255 - 1 and bg.max() <= 0.35 * 255 + 1
        total = cover.sum()
        assert abs((cover * xs).sum() / total - f["x"][i]) < 0.3, i
        assert abs((cover * ys).sum() / total - f["y"][i]) < 0.3, i
        ratio = total / (area[int(labels[i])] * f["scale"][i] ** 2)
        assert abs(ratio - 1.0) < 0.08, (i, ratio)
        if labels[i] == 1:  # an ellipse's long axis lies along its rotation
            dx, dy = xs - f["x"][i], ys - f["y"][i]
            cxx, cyy = (cover * dx * dx).sum(), (cover * dy * dy).sum()
            cxy = (cover * dx * dy).sum()
            angle = np.degrees(0.5 * np.arctan2(2 * cxy, cxx - cyy)) % 180.0
            gap = abs((angle - f["rotation"][i] + 90.0) % 180.0 - 90.0)
            assert gap < 3.0, (i, angle, f["rotation"][i])


def test_the_grey_shapes_are_unchanged() -> None:
    ds = make_shapes()
    assert ds.identity()["digest"] == GREY_SHAPES_DIGEST
    digest = hashlib.sha1(ds.train_images.numpy().tobytes())
    digest.update(ds.test_images.numpy().tobytes())
    assert digest.hexdigest()[:16] == GREY_SHAPES_PIXELS
