"""A user's folder of images as a dataset: sub-folders name the classes, every
file opens through :func:`~latentlab.core.raster.open_raster`, is read grey or in
colour (the folder's own mode unless asked), centre-cropped to the target's
aspect ratio and area-resized, and unreadable, corrupt or huge files are skipped
and listed; the folder's entries and decoded pixels are bounded."""

from __future__ import annotations

import os
import warnings
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentlab.core.catalog import IMAGE_SUFFIXES
from latentlab.core.datasets.image_dataset import ImageDataset, check_data_dir
from latentlab.core.errors import DataError
from latentlab.core.limits import format_bytes, memory_budget
from latentlab.core.raster import open_raster
from latentlab.core.text import printable_path

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

# Decoding more pixels than this is a decompression bomb or a photo we should not
# spend seconds on; such files are skipped and counted.
MAX_SOURCE_PIXELS = 40_000_000
# All images of one folder together: about a minute of decoding at most.
MAX_FOLDER_PIXELS = 2_000_000_000
# Entries (files and folders) looked at under an image folder before giving up.
MAX_FOLDER_ENTRIES = 200_000
# Height and width of the images LatentLab makes, each.
MIN_IMAGE_SIDE = 16
MAX_IMAGE_SIDE = 128
# How every source image becomes ``image_size`` pixels: nothing is stretched, and
# each output pixel is the mean of the source area it covers (no aliasing).
RESIZE_POLICY = "centre crop to the target's aspect ratio, then area resize"
# Pillow modes whose pixels are grey; every other mode (RGB, palette, CMYK,
# YCbCr, LAB, HSV) is colour, except palettes whose entries are all grey.
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})


def load_image_folder(
    folder: str | os.PathLike[str],
    image_size: tuple[int, int] = (28, 28),
    *,
    channels: int | None = None,
    test_every: int = 5,
) -> ImageDataset:
    """Read every image under ``folder`` as ``image_size`` pixels.

    Sub-folders name the classes (one level); images directly in ``folder`` get
    class ``"images"``. Unreadable, corrupt or huge files are skipped and listed
    in ``ImageDataset.skipped``. Every ``test_every``-th file (sorted order) goes to
    the test split.

    Parameters
    ----------
    folder : path
        The image folder.
    image_size : (height, width)
        Each from ``MIN_IMAGE_SIDE`` to ``MAX_IMAGE_SIDE``; need not be square.
        Sources are resized by :data:`RESIZE_POLICY`: centre-cropped to the
        target's aspect ratio, then area-resized (``Image.Resampling.BOX``).
    channels : {1, 3, None}
        1 reads grey ``(n, H, W)`` (colour files by their luminance), 3 reads RGB
        ``(n, 3, H, W)`` (grey files repeated in each channel). None takes the
        folder's own: 3 when any image's header names a colour mode (RGB(A),
        CMYK, YCbCr, LAB, or a palette with a colour entry), else 1. Only
        headers are read to decide; should every colour file then fail to
        decode, the set is grey after all.
    test_every : int
        Every this-many-th file goes to the test split.
    """
    import torch

    height, width = check_image_size(image_size)
    if channels not in (None, 1, 3):
        raise DataError(f"channels must be 1 (grey) or 3 (colour), not {channels!r}")
    root = Path(folder)
    shown = printable_path(root)
    check_data_dir(root, what="image folder")
    if not root.is_dir():
        raise DataError(f"image folder {shown} does not exist")
    paths = sorted(_image_files(root, shown))
    if not paths:
        raise DataError(
            f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {shown}"
        )
    # Refuse before decoding anything; grey first, so a folder too big even
    # grey is refused before its headers are read.
    _check_memory(len(paths), channels or 1, height, width, shown)
    auto = channels is None
    if channels is None:
        channels = 3 if any(_header_is_colour(p) for p in paths) else 1
        _check_memory(len(paths), channels, height, width, shown)
    class_of = {
        p: (p.relative_to(root).parts[0] if p.parent != root else "images")
        for p in paths
    }
    images, classes, skipped = [], [], []
    decoded = 0
    any_colour = False
    for path in paths:
        try:
            image, pixels, colour = _read(
                path, (height, width), channels, MAX_FOLDER_PIXELS - decoded
            )
        except DataError as exc:
            skipped.append(str(exc))
            continue
        decoded += pixels
        any_colour |= colour
        images.append(image)
        classes.append(class_of[path])
    # Only classes with at least one readable image make it into the legend.
    class_names = tuple(sorted(set(classes)))
    labels = [class_names.index(c) for c in classes]
    if len(images) < 2:
        raise DataError(
            f"found {len(images)} readable image(s) in {shown} "
            f"({len(skipped)} skipped); need at least 2"
        )
    stack = np.stack(images)
    if auto and channels == 3 and not any_colour:
        # Grey files were repeated into three equal channels: any one is exact.
        stack = np.ascontiguousarray(stack[:, 0])
    pixels_t = torch.from_numpy(stack)
    label_t = torch.tensor(labels, dtype=torch.int64)
    is_test = torch.zeros(len(images), dtype=torch.bool)
    is_test[test_every - 1 :: test_every] = True
    if not is_test.any():
        is_test[-1] = True
    return ImageDataset(
        name=f"folder:{root.name}",
        train_images=pixels_t[~is_test],
        train_labels=label_t[~is_test],
        test_images=pixels_t[is_test],
        test_labels=label_t[is_test],
        class_names=class_names,
        skipped=tuple(skipped),
        source=str(root),
    )


def read_image(
    path: str | os.PathLike[str],
    image_size: Sequence[int] = (28, 28),
    channels: int = 1,
) -> npt.NDArray[np.uint8]:
    """Read one image file as uint8 grey ``(height, width)`` or RGB
    ``(3, height, width)``, resized by :data:`RESIZE_POLICY`.

    Handles RGB(A), palette, CMYK, YCbCr, LAB, 16-bit and float images;
    transparency is composited over black so the shape stays bright on dark,
    like MNIST. ``channels=1`` takes a colour file's luminance; ``channels=3``
    repeats a grey file in each channel. Images over ``MAX_SOURCE_PIXELS``,
    float images with NaN or infinite pixels, and sizes outside
    ``MIN_IMAGE_SIDE..MAX_IMAGE_SIDE`` raise :class:`DataError`.
    """
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (grey) or 3 (colour), not {channels!r}")
    size = check_image_size(image_size)
    return _read(path, size, channels, MAX_SOURCE_PIXELS)[0]


def read_grey_image(
    path: str | os.PathLike[str], image_size: Sequence[int] = (28, 28)
) -> npt.NDArray[np.uint8]:
    """Read one image file as uint8 grey ``(height, width)``: ``read_image``
    with one channel."""
    return read_image(path, image_size, channels=1)


def check_image_size(image_size: Sequence[int]) -> tuple[int, int]:
    """``(height, width)`` as ints, each ``MIN_IMAGE_SIDE..MAX_IMAGE_SIDE``;
    else :class:`DataError`."""
    try:
        height, width = (int(side) for side in image_size)
    except (TypeError, ValueError):
        raise DataError(
            f"image size must be (height, width), not {image_size!r}"
        ) from None
    for side in (height, width):
        if not MIN_IMAGE_SIDE <= side <= MAX_IMAGE_SIDE:
            raise DataError(
                f"image size {height}x{width} is outside what LatentLab makes: "
                f"give a height and width each from {MIN_IMAGE_SIDE} to "
                f"{MAX_IMAGE_SIDE} pixels"
            )
    return height, width


def _check_memory(n: int, channels: int, height: int, width: int, shown: str) -> None:
    # The stack and its train/test copies.
    need = 3 * n * channels * height * width
    if need > memory_budget():
        kind = "in colour" if channels == 3 else "grey"
        raise DataError(
            f"{shown} has {n:,} images: {kind} at {height}x{width} they need "
            f"{format_bytes(need)}, more than LatentLab uses on this machine "
            f"({format_bytes(memory_budget())}); use a smaller image size"
            + (" or grey images" if channels == 3 else "")
        )


def _read_errors() -> tuple[type[BaseException], ...]:
    """What Pillow raises for a damaged or hostile file."""
    from PIL import Image, UnidentifiedImageError

    return (
        OSError,
        ValueError,
        SyntaxError,  # PIL raises it for some corrupt headers
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        zlib.error,
    )


def _header_is_colour(path: Path) -> bool:
    """Whether ``path``'s header names a colour mode; False when unreadable
    (the decoding pass skips and lists it)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_raster(path) as img:
                return img.width * img.height <= MAX_SOURCE_PIXELS and _is_colour(img)
    except (DataError, *_read_errors()):
        return False


def _is_colour(img: Any) -> bool:
    """Whether an opened (not decoded) image is colour, by its mode; a palette
    counts as grey when it is stored plainly and every entry is grey."""
    mode = img.mode
    if mode in _GREY_MODES or mode.startswith("I;"):
        return False
    if mode not in ("P", "PA"):
        return True
    palette = img.palette
    # PNG and GIF palettes are plain RGB(A) bytes; others (BMP's BGRX, TIFF's
    # planar) would need decoding: called colour.
    if palette is None or palette.rawmode is not None:
        return True
    if palette.mode in ("L", "LA"):
        return False
    if palette.mode not in ("RGB", "RGBA"):
        return True
    entries = np.frombuffer(bytes(palette.palette), np.uint8)
    width = len(palette.mode)
    entries = entries[: len(entries) // width * width].reshape(-1, width)
    return not (
        (entries[:, 0] == entries[:, 1]).all()
        and (entries[:, 1] == entries[:, 2]).all()
    )


def _read(
    path: str | os.PathLike[str],
    image_size: tuple[int, int],
    channels: int,
    allowance: int,
) -> tuple[npt.NDArray[np.uint8], int, bool]:
    """The image, how many source pixels it took (``allowance`` caps those),
    and whether the file was colour."""
    from PIL import Image

    height, width = image_size
    shown = printable_path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with open_raster(path) as img:
                pixels = img.width * img.height
                if pixels > MAX_SOURCE_PIXELS:
                    raise DataError(
                        f"{shown}: {img.width}x{img.height} pixels is too large, "
                        "skipped"
                    )
                if pixels > allowance:
                    raise DataError(
                        f"{shown}: skipped, the folder's images already add up to "
                        f"{MAX_FOLDER_PIXELS:,} pixels"
                    )
                colour = _is_colour(img)
                rgb = colour and channels == 3
                # JPEG: decode downscaled, still at least twice the target
                # inside the crop (the crop keeps one full side).
                img.draft("RGB" if rgb else "L", (width * 2, height * 2))
                source = _to_rgb(img) if rgb else _to_grey(img, shown)
                resized = source.resize(
                    (width, height),
                    Image.Resampling.BOX,
                    box=_centre_crop(source.size, (width, height)),
                )
                out = np.asarray(resized, dtype=np.uint8)
                if rgb:
                    out = out.transpose(2, 0, 1)
                elif channels == 3:
                    out = np.broadcast_to(out, (3, height, width))
                return np.ascontiguousarray(out), pixels, colour
    except DataError:
        raise
    except _read_errors() as exc:
        raise DataError(f"{shown}: unreadable image ({exc})") from exc


def _centre_crop(
    source: tuple[int, int], target: tuple[int, int]
) -> tuple[float, float, float, float]:
    """The centred ``(left, top, right, bottom)`` box of ``source`` (width,
    height) with ``target``'s aspect ratio, one side whole; fractional edges
    are weighted by Pillow's area resize."""
    sw, sh = source
    tw, th = target
    if sw * th > sh * tw:  # source wider than the target: crop left and right
        kept = sh * tw / th
        return ((sw - kept) / 2, 0.0, (sw + kept) / 2, float(sh))
    kept = sw * th / tw
    return (0.0, (sh - kept) / 2, float(sw), (sh + kept) / 2)


def _image_files(root: Path, shown: str) -> list[Path]:
    """Image files under ``root`` (symlinked folders not followed), bounded."""
    found = []
    seen = 0
    for base, dirs, files in os.walk(root, onerror=None, followlinks=False):
        seen += len(dirs) + len(files)
        if seen > MAX_FOLDER_ENTRIES:
            raise DataError(
                f"{shown} holds more than {MAX_FOLDER_ENTRIES:,} files and folders; "
                "point LatentLab at a folder of images only"
            )
        for name in files:
            if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                path = Path(base) / name
                if path.is_file():
                    found.append(path)
    return found


def _to_grey(img: Any, shown: str) -> Any:
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise DataError(f"{shown}: has NaN or infinite pixels, skipped")
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        arr = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(arr)
    return _to_rgb(img).convert("L") if _composited(img) else img.convert("L")


def _to_rgb(img: Any) -> Any:
    """A colour image as RGB: transparency over black, CMYK, YCbCr, LAB and
    HSV through Pillow's conversions."""
    from PIL import Image

    if _composited(img):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return img.convert("RGB")


def _composited(img: Any) -> bool:
    return img.mode in ("P", "PA", "LA", "La", "RGBA", "RGBa") or (
        "transparency" in img.info
    )
