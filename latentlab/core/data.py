"""Image datasets held in memory as uint8 tensors.

Sources: the embedded ``shapes`` set (generated, offline), MNIST / Fashion-MNIST /
KMNIST read from IDX ``.gz`` files in torchvision's layout (downloaded through
torchvision only when asked and when no local copy exists), and a user's image folder.
Every split is fixed: the official one for IDX sets, a seeded one otherwise.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import math
import os
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from latentlab.core.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

IDX_SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mnist": ("MNIST", tuple(str(d) for d in range(10))),
    "fashion-mnist": (
        "FashionMNIST",
        (
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
    "kmnist": ("KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")),
}
DATASET_NAMES = ("shapes", *IDX_SETS, "folder")
SHAPE_NAMES = ("square", "ellipse", "triangle")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
# Decoding more pixels than this is a decompression bomb or a photo we should not
# spend seconds on; such files are skipped and counted.
MAX_SOURCE_PIXELS = 40_000_000


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A fixed train/test split of grey images in [0, 255].

    Attributes
    ----------
    train_images, test_images : torch.Tensor
        uint8, ``(n, height, width)``.
    train_labels, test_labels : torch.Tensor
        int64, ``(n,)``, indexing ``class_names``.
    test_factors : dict of str to ndarray
        Extra per-image factors of the test set for colouring (e.g. the shapes'
        scale, rotation and position); always includes ``"label"``.
    skipped : tuple of str
        Files that could not be read (image folders), with the reason.
    """

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    class_names: tuple[str, ...]
    test_factors: dict[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()
    source: str = ""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(1, height, width)``."""
        return (1, *self.train_images.shape[1:])

    def identity(self) -> dict[str, Any]:
        """Name, sizes and a content digest, stored in checkpoints."""
        digest = hashlib.sha1()
        digest.update(self.train_images[:2000].numpy().tobytes())
        digest.update(self.test_labels.numpy().tobytes())
        return {
            "name": self.name,
            "n_train": len(self.train_images),
            "n_test": len(self.test_images),
            "image_shape": list(self.image_shape),
            "class_names": list(self.class_names),
            "digest": digest.hexdigest()[:16],
            # Where it was read from, so the app can find an image folder again.
            "source": self.source,
        }

    def test_subset(self, max_items: int) -> ImageDataset:
        """The same dataset with at most ``max_items`` test images, evenly strided.

        Used to redraw planes cheaply while training. Checkpoints should record
        the full dataset's ``identity()``, not the subset's.
        """
        n = len(self.test_images)
        if n <= max_items:
            return self
        step = math.ceil(n / max_items)
        return dataclasses.replace(
            self,
            test_images=self.test_images[::step],
            test_labels=self.test_labels[::step],
            test_factors={k: v[::step] for k, v in self.test_factors.items()},
        )

    def factors(self) -> dict[str, npt.NDArray[np.float32]]:
        """Test-set colouring factors, label first."""
        out = {"label": self.test_labels.numpy().astype(np.float32)}
        out.update(self.test_factors)
        return out


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(n, h, w)`` -> float32 ``(n, 1, h, w)`` in [0, 1]."""
    return images.unsqueeze(1).to(torch.float32).div_(255.0)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
    image_size: tuple[int, int] = (28, 28),
) -> ImageDataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of ``DATASET_NAMES``. ``"folder"`` reads images under ``data_dir``.
    data_dir : path, optional
        Root in torchvision's layout (``<dir>/MNIST/raw/*.gz``), or the image folder.
    download : bool
        Let torchvision download an IDX set that is not found locally.
    image_size : (height, width)
        Size images from a folder are resized to.
    """
    key = name.lower().replace("_", "-")
    if key in ("fashionmnist", "fmnist"):
        key = "fashion-mnist"
    if key == "shapes":
        return make_shapes()
    if key in IDX_SETS:
        return load_idx_dataset(key, data_dir, download=download)
    if key == "folder":
        if data_dir is None:
            raise DataError("an image-folder dataset needs a folder (--data-dir)")
        return load_image_folder(data_dir, image_size)
    raise DataError(
        f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}"
    )


# --- the embedded shapes set --------------------------------------------------------


def make_shapes(
    n_train: int = 12_000, n_test: int = 3_000, size: int = 28, seed: int = 1234
) -> ImageDataset:
    """Generate dSprites-style shapes with known factors, deterministically.

    Each image is one white shape on black; its factors are the shape (label),
    scale, rotation and centre position. Edges are anti-aliased by clipping a
    signed distance, so the set renders in one vectorised pass (~0.3 s).
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    shape = rng.integers(0, len(SHAPE_NAMES), n)
    scale = rng.uniform(3.5, 7.0, n).astype(np.float32)
    rotation = rng.uniform(0.0, np.pi, n).astype(np.float32)
    margin = scale * 1.1 + 1.0
    cx = rng.uniform(margin, size - 1 - margin).astype(np.float32)
    cy = rng.uniform(margin, size - 1 - margin).astype(np.float32)
    images = _render_shapes(shape, scale, rotation, cx, cy, size)
    labels = torch.from_numpy(shape.astype(np.int64))
    pixels = torch.from_numpy(images)
    factors = {
        "scale": scale[n_train:],
        "rotation": np.degrees(rotation[n_train:]).astype(np.float32),
        "x": cx[n_train:],
        "y": cy[n_train:],
    }
    return ImageDataset(
        name="shapes",
        train_images=pixels[:n_train].clone(),
        train_labels=labels[:n_train].clone(),
        test_images=pixels[n_train:].clone(),
        test_labels=labels[n_train:].clone(),
        class_names=SHAPE_NAMES,
        test_factors=factors,
        source="embedded",
    )


def _render_shapes(
    shape: npt.NDArray[np.int64],
    scale: npt.NDArray[np.float32],
    rotation: npt.NDArray[np.float32],
    cx: npt.NDArray[np.float32],
    cy: npt.NDArray[np.float32],
    size: int,
) -> npt.NDArray[np.uint8]:
    out = np.empty((len(shape), size, size), np.uint8)
    grid = np.arange(size, dtype=np.float32)
    chunk = 4000  # bounds the temporary (chunk, size, size) float arrays
    for lo in range(0, len(shape), chunk):
        sl = slice(lo, lo + chunk)
        dx = grid[None, None, :] - cx[sl, None, None]
        dy = grid[None, :, None] - cy[sl, None, None]
        cos = np.cos(rotation[sl])[:, None, None]
        sin = np.sin(rotation[sl])[:, None, None]
        u = dx * cos + dy * sin  # shape frame, in pixels
        v = -dx * sin + dy * cos
        s = scale[sl, None, None]
        au, av = np.abs(u), np.abs(v)
        square = np.maximum(au, av) - 0.8 * s
        ellipse = (np.sqrt((u / s) ** 2 + (v / (0.55 * s)) ** 2) - 1.0) * 0.55 * s
        # Equilateral triangle pointing up: three half-planes at 120 degrees.
        r = 0.5 * s
        tri = np.maximum(
            -v - r, np.maximum(0.866 * u + 0.5 * v, -0.866 * u + 0.5 * v) - r
        )
        kind = shape[sl, None, None]
        dist = np.where(kind == 0, square, np.where(kind == 1, ellipse, tri))
        out[sl] = np.clip((0.5 - dist) * 255.0, 0.0, 255.0).astype(np.uint8)
    return out


# --- IDX sets (MNIST, Fashion-MNIST, KMNIST) -----------------------------------------

_IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def default_data_dir() -> Path:
    """``$LATENTLAB_DATA`` or ``~/.cache/latentlab/data``."""
    env = os.environ.get("LATENTLAB_DATA")
    return Path(env) if env else Path.home() / ".cache" / "latentlab" / "data"


def find_idx_files(
    key: str, data_dir: str | os.PathLike[str]
) -> dict[str, Path] | None:
    """Locate the four IDX files of ``key`` under ``data_dir``, or None."""
    folder = IDX_SETS[key][0]
    root = Path(data_dir)
    candidates = [root / folder / "raw", root / "raw", root]
    for base in candidates:
        found = {}
        for part, stem in _IDX_FILES.items():
            for name in (stem + ".gz", stem):
                if (base / name).is_file():
                    found[part] = base / name
                    break
        if len(found) == len(_IDX_FILES):
            return found
    return None


def load_idx_dataset(
    key: str, data_dir: str | os.PathLike[str] | None = None, *, download: bool = False
) -> ImageDataset:
    """Read an IDX dataset from ``data_dir`` (torchvision layout)."""
    folder, class_names = IDX_SETS[key]
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    names = ", ".join(stem + ".gz" for stem in _IDX_FILES.values())
    if data_dir is not None and not root.is_dir():
        raise DataError(
            f"data directory {root} does not exist. Create it and put {names} "
            f"into {root / folder / 'raw'}."
        )
    files = find_idx_files(key, root)
    if files is None and download:
        _download_with_torchvision(key, root)
        files = find_idx_files(key, root)
    if files is None:
        raise DataError(
            f"{folder} not found in {root}. Put {names} into "
            f"{root / folder / 'raw'} (or allow a download when online)."
        )
    arrays = {part: read_idx(path) for part, path in files.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"{folder} {split} files disagree: images {images.shape}, "
                f"labels {labels.shape} (in {files[f'{split}_images'].parent})"
            )
        if labels.size and int(labels.max()) >= len(class_names):
            raise DataError(
                f"{folder} {split} labels exceed {len(class_names)} classes"
            )
    train_hw = arrays["train_images"].shape[1:]
    test_hw = arrays["test_images"].shape[1:]
    if train_hw != test_hw:
        raise DataError(
            f"{folder} train images are {train_hw[0]}x{train_hw[1]} but test images "
            f"are {test_hw[0]}x{test_hw[1]} (in {files['test_images'].parent})"
        )
    return ImageDataset(
        name=key,
        train_images=torch.from_numpy(arrays["train_images"]),
        train_labels=torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        test_images=torch.from_numpy(arrays["test_images"]),
        test_labels=torch.from_numpy(arrays["test_labels"].astype(np.int64)),
        class_names=class_names,
        source=str(files["train_images"].parent),
    )


def read_idx(path: str | os.PathLike[str]) -> npt.NDArray[np.uint8]:
    """Read a uint8 IDX file (optionally gzipped) into an array."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                raw = fh.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not a uint8 IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim < 1 or len(raw) < header:
        raise DataError(f"{path} has a malformed IDX header")
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    count = math.prod(shape)  # exact: np.prod would wrap for a bogus header
    if len(raw) - header != count:
        raise DataError(
            f"{path} is truncated or padded: header says {count} values, "
            f"file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, np.uint8, count, header).reshape(shape).copy()


def _download_with_torchvision(key: str, root: Path) -> None:
    folder = IDX_SETS[key][0]
    try:
        import torchvision.datasets as tvd
    except Exception as exc:  # torchvision may be broken beside this torch
        raise DataError(
            f"{folder} is not in {root} and torchvision, needed to download it, "
            f"cannot be imported ({exc}). Copy the four .gz files into "
            f"{root / folder / 'raw'} instead."
        ) from exc
    cls = getattr(tvd, folder)
    try:
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as exc:  # network errors come in many types
        raise DataError(
            f"could not download {folder} into {root}: {exc}. Without internet, copy "
            f"the four .gz files into {root / folder / 'raw'}."
        ) from exc


# --- a user's image folder ---------------------------------------------------------


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
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"image folder {root} does not exist or is not a folder")
    paths = sorted(
        p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
    if not paths:
        raise DataError(
            f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {root}"
        )
    class_of = {
        p: (p.relative_to(root).parts[0] if p.parent != root else "images")
        for p in paths
    }
    images, classes, skipped = [], [], []
    for path in paths:
        try:
            images.append(read_grey_image(path, image_size))
            classes.append(class_of[path])
        except DataError as exc:
            skipped.append(str(exc))
    # Only classes with at least one readable image make it into the legend.
    class_names = tuple(sorted(set(classes)))
    labels = [class_names.index(c) for c in classes]
    if len(images) < 2:
        raise DataError(
            f"found {len(images)} readable image(s) in {root} "
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
    over black so the shape stays bright on dark, like MNIST.
    """
    from PIL import Image, UnidentifiedImageError

    height, width = int(image_size[0]), int(image_size[1])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_SOURCE_PIXELS:
                    raise DataError(
                        f"{path}: {img.width}x{img.height} pixels is too large, skipped"
                    )
                img.draft("L", (width * 2, height * 2))  # JPEG: decode downscaled
                grey = _to_grey(img)
                grey = grey.resize(
                    (width, height), Image.Resampling.BILINEAR, reducing_gap=3.0
                )
                return np.asarray(grey, dtype=np.uint8).copy()
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
        raise DataError(f"{path}: unreadable image ({exc})") from exc


def _to_grey(img: Any) -> Any:
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if img.mode.startswith("I;16") else max(float(arr.max()), 1.0)
        arr = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(arr)
    if img.mode in ("P", "PA", "LA", "RGBA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("L")
    return img.convert("L")
