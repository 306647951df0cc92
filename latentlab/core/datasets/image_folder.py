"""A user's folder of images as a dataset: sub-folders name the classes, every
file opens through :func:`~latentlab.core.raster.open_raster`, is turned grey and
resized, and unreadable, corrupt or huge files are skipped and listed; the
folder's entries and decoded pixels are bounded."""

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


def load_image_folder(
    folder: str | os.PathLike[str],
    image_size: tuple[int, int] = (28, 28),
    *,
    test_every: int = 5,
) -> ImageDataset:
    """Read every image under ``folder`` as grey ``image_size`` pixels.

    Sub-folders name the classes (one level); images directly in ``folder`` get
    class ``"images"``. Unreadable, corrupt or huge files are skipped and listed
    in ``ImageDataset.skipped``. Every ``test_every``-th file (sorted order) goes to
    the test split.
    """
    import torch

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
    height, width = int(image_size[0]), int(image_size[1])
    # The stack and its train/test copies: refuse before decoding anything.
    need = 3 * len(paths) * height * width
    if need > memory_budget():
        raise DataError(
            f"{shown} has {len(paths):,} images: at {height}x{width} they need "
            f"{format_bytes(need)}, more than LatentLab uses on this machine "
            f"({format_bytes(memory_budget())})"
        )
    class_of = {
        p: (p.relative_to(root).parts[0] if p.parent != root else "images")
        for p in paths
    }
    images, classes, skipped = [], [], []
    decoded = 0
    for path in paths:
        try:
            image, pixels = _read_grey(path, image_size, MAX_FOLDER_PIXELS - decoded)
        except DataError as exc:
            skipped.append(str(exc))
            continue
        decoded += pixels
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
    stack = torch.from_numpy(np.stack(images))
    label_t = torch.tensor(labels, dtype=torch.int64)
    is_test = torch.zeros(len(images), dtype=torch.bool)
    is_test[test_every - 1 :: test_every] = True
    if not is_test.any():
        is_test[-1] = True
    return ImageDataset(
        name=f"folder:{root.name}",
        train_images=stack[~is_test],
        train_labels=label_t[~is_test],
        test_images=stack[is_test],
        test_labels=label_t[is_test],
        class_names=class_names,
        skipped=tuple(skipped),
        source=str(root),
    )


def read_grey_image(
    path: str | os.PathLike[str], image_size: Sequence[int] = (28, 28)
) -> npt.NDArray[np.uint8]:
    """Read one image file as uint8 grey ``(height, width)``.

    Handles RGB(A), palette, 16-bit and float images; transparency is composited
    over black so the shape stays bright on dark, like MNIST. Images over
    ``MAX_SOURCE_PIXELS`` and float images with NaN or infinite pixels raise
    :class:`DataError`.
    """
    return _read_grey(path, image_size, MAX_SOURCE_PIXELS)[0]


def _read_grey(
    path: str | os.PathLike[str], image_size: Sequence[int], allowance: int
) -> tuple[npt.NDArray[np.uint8], int]:
    """The image and how many source pixels it took; ``allowance`` caps those."""
    from PIL import Image, UnidentifiedImageError

    height, width = int(image_size[0]), int(image_size[1])
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
                img.draft("L", (width * 2, height * 2))  # JPEG: decode downscaled
                grey = _to_grey(img, shown)
                grey = grey.resize(
                    (width, height), Image.Resampling.BILINEAR, reducing_gap=3.0
                )
                return np.asarray(grey, dtype=np.uint8).copy(), pixels
    except DataError:
        raise
    except (
        OSError,
        ValueError,
        SyntaxError,  # PIL raises it for some corrupt headers
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        zlib.error,
    ) as exc:
        raise DataError(f"{shown}: unreadable image ({exc})") from exc


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
    if img.mode in ("P", "PA", "LA", "RGBA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("L")
    return img.convert("L")
