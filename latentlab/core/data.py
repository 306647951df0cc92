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

from latentlab.core.catalog import (
    DATASET_NAMES,
    IDX_SETS,
    IMAGE_SUFFIXES,
    SHAPE_NAMES,
    dataset_key,
)
from latentlab.core.errors import DataError
from latentlab.core.limits import format_bytes, idx_limit, memory_budget
from latentlab.core.raster import open_raster
from latentlab.core.text import printable, printable_path

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt
    import torch

# Decoding more pixels than this is a decompression bomb or a photo we should not
# spend seconds on; such files are skipped and counted.
MAX_SOURCE_PIXELS = 40_000_000
# All images of one folder together: about a minute of decoding at most.
MAX_FOLDER_PIXELS = 2_000_000_000
# Entries (files and folders) looked at under an image folder before giving up.
MAX_FOLDER_ENTRIES = 200_000
# deflate's best case is ~1032:1; a .gz declaring more than this per stored byte
# cannot hold what its IDX header promises.
_MAX_GZIP_RATIO = 1100
_READ_CHUNK = 1 << 20


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

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            if len(getattr(self, f"{split}_images")) == 0:
                raise DataError(
                    f"{printable(self.name, 80)} has an empty {split} split; "
                    "LatentLab needs images in both splits"
                )

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
    import torch

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
    key = dataset_key(name)
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


def check_data_dir(
    path: str | os.PathLike[str], *, what: str = "data directory"
) -> None:
    """Refuse a data directory that exists but is not a folder (a file, a
    device), saying what it is; a missing one is left to the loader."""
    root = Path(path)
    if root.exists() and not root.is_dir():
        kind = "a file" if root.is_file() else "not a folder"
        raise DataError(
            f"{what} {printable_path(root)} is {kind}; give the folder that holds "
            "the data"
        )


def dataset_files(name: str, data_dir: str | os.PathLike[str] | None) -> list[Path]:
    """The files ``load_dataset(name, data_dir)`` would read, found without
    reading them (so a command can refuse to write over one of them)."""
    key = dataset_key(name)
    if key in IDX_SETS:
        root = Path(data_dir) if data_dir is not None else default_data_dir()
        found = find_idx_files(key, root) if root.is_dir() else None
        return list(found.values()) if found else []
    if key == "folder" and data_dir is not None and Path(data_dir).is_dir():
        return _image_files(Path(data_dir), printable_path(data_dir))
    return []


def same_folder(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name one folder (``~``, ``..`` and links
    resolved; by device and inode when both exist)."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return a.absolute() == b.absolute()


# --- the embedded shapes set --------------------------------------------------------


def make_shapes(
    n_train: int = 12_000, n_test: int = 3_000, size: int = 28, seed: int = 1234
) -> ImageDataset:
    """Generate dSprites-style shapes with known factors, deterministically.

    Each image is one white shape on black; its factors are the shape (label),
    scale, rotation and centre position. Edges are anti-aliased by clipping a
    signed distance, so the set renders in one vectorised pass (~0.3 s).
    """
    import torch

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
    import torch

    folder, class_names = IDX_SETS[key]
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    names = ", ".join(stem + ".gz" for stem in _IDX_FILES.values())
    if data_dir is not None:
        check_data_dir(root)
        if not root.is_dir():
            raise DataError(
                f"data directory {printable_path(root)} does not exist. Create it "
                f"and put {names} into {printable_path(root / folder / 'raw')}."
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
    # One budget for the four files: each may not take what the others need.
    budget = min(4 * idx_limit(), memory_budget())
    arrays = {}
    for part, path in files.items():
        limit = min(budget, idx_limit())
        array = read_idx(path, ndim=3 if part.endswith("images") else 1, limit=limit)
        budget -= array.nbytes
        arrays[part] = array
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


def read_idx(
    path: str | os.PathLike[str],
    *,
    ndim: int | None = None,
    limit: int | None = None,
) -> npt.NDArray[np.uint8]:
    """Read a uint8 IDX file (optionally gzipped) into an array.

    The header is read first, and its declared size is checked against
    ``limit`` (default :func:`~latentlab.core.limits.idx_limit`) and against
    what the file can hold before any memory is allocated; the body is then
    read in bounded chunks straight into the array, and must end exactly
    where the header says. A gzip stream that inflates past that point is
    refused without being inflated further.

    Parameters
    ----------
    ndim : int, optional
        Refuse a file with another number of dimensions (3 for images, 1 for
        labels), before reading its body.
    limit : int, optional
        Most bytes the body may have.
    """
    path = Path(path)
    limit = idx_limit() if limit is None else limit
    shown = printable_path(path)
    try:
        stored = path.stat().st_size
        opened = gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")
    except OSError as exc:
        raise DataError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    try:
        with opened as fh:
            return _read_idx_stream(
                fh, shown, stored, ndim, limit, path.suffix == ".gz"
            )
    except DataError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {shown}: {exc}") from exc


def _read_exactly(fh: Any, n: int) -> bytes:
    data = fh.read(n)
    return data if data is not None else b""


def _read_idx_stream(
    fh: Any, shown: str, stored: int, ndim: int | None, limit: int, gz: bool
) -> npt.NDArray[np.uint8]:
    magic = _read_exactly(fh, 4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08:
        raise DataError(f"{shown} is not a uint8 IDX file")
    dims = magic[3]
    head = _read_exactly(fh, 4 * dims)
    if dims < 1 or len(head) < 4 * dims:
        raise DataError(f"{shown} has a malformed IDX header")
    shape = tuple(int.from_bytes(head[4 * i : 4 * i + 4], "big") for i in range(dims))
    if ndim is not None and dims != ndim:
        raise DataError(
            f"{shown} has {dims} dimension(s) {'x'.join(map(str, shape))}; "
            f"expected {ndim}"
        )
    count = math.prod(shape)  # exact: np.prod would wrap for a bogus header
    if count > limit:
        raise DataError(
            f"{shown} declares {count:,} values ({format_bytes(count)}), more than "
            f"LatentLab reads into memory on this machine ({format_bytes(limit)})"
        )
    room = stored * _MAX_GZIP_RATIO if gz else stored - 4 - 4 * dims
    if count > room:
        raise DataError(
            f"{shown} is truncated or padded: header says {count} values, the file "
            f"can hold at most {max(room, 0)}"
        )
    out = np.empty(count, np.uint8)
    view = memoryview(out)
    got = 0
    while got < count:
        n = fh.readinto(view[got : got + _READ_CHUNK])
        if not n:
            break
        got += n
    if got < count or _read_exactly(fh, 1):
        # Past the declared end nothing more is inflated: "more" is all we know.
        held = str(got) if got < count else "more"
        raise DataError(
            f"{shown} is truncated or padded: header says {count} values, file "
            f"holds {held}"
        )
    return out.reshape(shape)


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


def checkpoint_dataset_source(
    identity: dict[str, Any],
    data_dir: str | None,
    *,
    allow_folder_scan: bool = False,
) -> tuple[str, str | None]:
    """Which ``load_dataset(name, data_dir)`` call gives a checkpoint's test set.

    ``identity`` is the checkpoint's dataset record (``Checkpoint.dataset``).
    Named sets (shapes, MNIST, ...) are read from the user's ``data_dir``. An
    image folder's path comes from the file itself, so it is scanned only when
    the caller says the user asked (``allow_folder_scan``): a file could name
    ``/`` or a network mount.

    Raises
    ------
    DataError
        The record names no dataset, an unknown one, or an image folder that
        was not allowed to be scanned (the message says which folder).
    """
    name = identity.get("name")
    if not isinstance(name, str) or not name:
        raise DataError("the checkpoint does not say which dataset it was trained on")
    if name.startswith("folder:"):
        source = identity.get("source")
        if not isinstance(source, str) or not source:
            raise DataError(f"the image folder of {printable(name, 80)} is unknown")
        if not allow_folder_scan:
            raise DataError(
                f"the checkpoint was trained on the image folder "
                f"{printable(source, 200)}; give that folder as the data folder "
                "to read its images"
            )
        return "folder", source
    key = dataset_key(name)
    if key not in DATASET_NAMES:
        raise DataError(f"the checkpoint's dataset {printable(name, 80)} is unknown")
    return key, data_dir
