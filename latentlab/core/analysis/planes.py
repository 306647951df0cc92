"""The latent planes' work: load a checkpoint with its test set, encode it,
decode manifolds and single points, and turn training snapshots into models."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.data import (
    checkpoint_dataset_source,
    dataset_key,
    display_floats,
    expected_shape,
    load_dataset,
    same_folder,
    shape_request,
)
from latentlab.core.errors import DataError
from latentlab.core.latent import (
    Codes,
    LatentRect,
    LatentSlice,
    decode_codes,
    decode_grid_levels,
    encode_images,
    square_cells,
)
from latentlab.core.threads import serial_torch_here

if TYPE_CHECKING:
    import numpy.typing as npt
    import torch

    from latentlab.core.checkpoints import Checkpoint
    from latentlab.core.config import ModelConfig
    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder


class DatasetCache:
    """Datasets by (name, data dir, image size, channels), shared by jobs on
    several threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple, ImageDataset] = {}
        self._loading: dict[tuple, threading.Lock] = {}

    def get(
        self,
        name: str,
        data_dir: str | None,
        *,
        download: bool = False,
        image_size: int | tuple[int, int] | None = None,
        channels: int | None = None,
    ) -> ImageDataset:
        """Load once, then hand out the same (read-only) dataset; the
        arguments are :func:`~latentlab.core.data.load_dataset`'s."""
        key = _cache_key(name, data_dir, image_size, channels)
        with self._lock:
            if key in self._items:
                return self._items[key]
            loading = self._loading.setdefault(key, threading.Lock())
        # One load per key: two sides asking at once share it (and its memory).
        with loading:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            dataset = load_dataset(
                name,
                data_dir,
                download=download,
                image_size=image_size,
                channels=channels,
            )
            with self._lock:
                self._items[key] = dataset
            return dataset

    def put(
        self, dataset: ImageDataset, data_dir: str | None, name: str | None = None
    ) -> None:
        """Remember a dataset loaded elsewhere (by a training job, or the
        command line under the ``name`` it was asked for), at its own size
        and channels."""
        c, h, w = dataset.image_shape
        key = _cache_key(name or dataset.name, data_dir, (h, w), c)
        with self._lock:
            self._items.setdefault(key, dataset)


def _cache_key(
    name: str,
    data_dir: str | None,
    image_size: int | tuple[int, int] | None,
    channels: int | None,
) -> tuple:
    """One key for one set at one size: "the set's own" size and channels
    resolve to what they are (an image folder's own channels stay unknown)."""
    c, h, w = expected_shape(name, image_size, channels)
    if dataset_key(name) == "folder" and channels is None:
        c = None
    return (name, str(data_dir or ""), (h, w), c)


def find_dataset(
    checkpoint: Checkpoint,
    data_dir: str | None,
    cache: DatasetCache,
    *,
    allow_folder_scan: bool = False,
) -> tuple[ImageDataset | None, str]:
    """The test set a checkpoint was trained on, or None and the reason.

    An image folder named by the file is scanned only when the user asked:
    ``allow_folder_scan``, or ``data_dir`` is that folder.
    """
    source = checkpoint.dataset.get("source")
    if isinstance(source, str) and source and data_dir:
        allow_folder_scan |= same_folder(source, data_dir)
    try:
        name, root = checkpoint_dataset_source(
            checkpoint.dataset, data_dir, allow_folder_scan=allow_folder_scan
        )
        request = shape_request(name, checkpoint.config.image_shape)
        dataset = cache.get(name, root, **request)
    except DataError as exc:
        dataset = _shipped_copy(checkpoint, cache)
        if dataset is None:
            return None, f"no test set to plot: {exc}"
    if dataset.image_shape != tuple(checkpoint.config.image_shape):
        return None, (
            f"{dataset.name} images are {dataset.image_shape}, the model expects "
            f"{tuple(checkpoint.config.image_shape)}"
        )
    return dataset, ""


def _shipped_copy(checkpoint: Checkpoint, cache: DatasetCache) -> ImageDataset | None:
    """The data shipped with the package, when it is the very data the
    checkpoint names (same name and content digest: the shipped MNIST models'
    subset), else None. Only for showing a model: training reads the folder."""
    from latentlab.core.datasets.idx import SHIPPED_SETS, shipped_data_dir

    name = checkpoint.dataset.get("name")
    if name not in SHIPPED_SETS:
        return None
    try:
        dataset = cache.get(name, str(shipped_data_dir()))
    except DataError:
        return None
    if dataset.identity()["digest"] != checkpoint.dataset.get("digest"):
        return None
    return dataset


@dataclass(frozen=True, slots=True)
class Prepared:
    """A model with its test set and codes, ready to show."""

    checkpoint: Checkpoint
    dataset: ImageDataset | None
    codes: Codes | None
    note: str = ""

    @property
    def latent_slice(self) -> LatentSlice:
        """The default slice: the first two dims."""
        dim = self.checkpoint.config.latent_dim
        return LatentSlice(dim, (0, 1) if dim > 1 else (0, 0))


def prepare(
    checkpoint: Checkpoint,
    data_dir: str | None,
    cache: DatasetCache,
    *,
    allow_folder_scan: bool = False,
) -> Prepared:
    """Find the checkpoint's test set and encode it (runs in a job)."""
    dataset, note = find_dataset(
        checkpoint, data_dir, cache, allow_folder_scan=allow_folder_scan
    )
    return prepare_with(checkpoint, dataset, note)


def prepare_with(
    checkpoint: Checkpoint, dataset: ImageDataset | None, note: str = ""
) -> Prepared:
    """Encode ``dataset``'s test split with the checkpoint's model (runs in a
    job). A Gaussian whose σ the file does not hold (a pythae folder, a wrapped
    module) has it fitted on these images first (:func:`~latentlab.core.wrap.
    fit_sigma`); without images it stays unknown, and so does log p(x)."""
    from latentlab.core.wrap import fit_sigma, needs_sigma

    model = checkpoint.model
    if dataset is not None and dataset.image_shape != tuple(model.image_shape):
        raise DataError(
            f"the images are {dataset.image_shape} (C, H, W); the model reads "
            f"{tuple(model.image_shape)}"
        )
    if dataset is not None and needs_sigma(model):
        fit_sigma(model, dataset.test_images, automatic=True)
    codes = encode_images(model, dataset.test_images) if dataset else None
    return Prepared(checkpoint, dataset, codes, note)


def load_and_prepare(path: str, data_dir: str | None, cache: DatasetCache) -> Prepared:
    """Load a checkpoint file and prepare it (runs in a job)."""
    from latentlab.core.checkpoints import load_checkpoint

    return prepare(load_checkpoint(path), data_dir, cache)


@dataclass(frozen=True, slots=True)
class GridRequest:
    """The manifold a plane shows: ``n`` tiles along the longer side of ``rect``."""

    rect: LatentRect
    n: int
    latent_slice: LatentSlice


# Decoder values (points x activations, :func:`decoder_activations`) above
# which a manifold is shown coarse first: a 20x20 grid of 64 px colour conv4
# tiles (23M) is; the 28 px sets' 32x32 grids (1.6M MLP, 11M conv) are not.
PROGRESSIVE_VALUES = 12_000_000


def coarse_request(model: Autoencoder, request: GridRequest) -> GridRequest | None:
    """A fifth-resolution version of ``request`` to show first, where the
    full one takes more than a frame or so to decode; else None."""
    from latentlab.core.models import decoder_activations

    config = getattr(model, "config", None)
    if not hasattr(config, "backbone") or request.n < 8:
        return None
    if decoder_activations(config) * request.n**2 <= PROGRESSIVE_VALUES:
        return None
    return GridRequest(request.rect, max(3, request.n // 5), request.latent_slice)


@dataclass(frozen=True, slots=True)
class Manifold:
    """A decoded manifold image ``(h, w)`` as 8-bit grey levels (what the screen
    shows; colour: ``(h, w, 3)``) and the rectangle it covers."""

    image: npt.NDArray[np.uint8]
    rect: LatentRect


def decode_manifold(model: Autoencoder, request: GridRequest) -> Manifold:
    """The manifold image over square tiles (runs in a job)."""
    grid_rect, cols, rows = square_cells(request.rect, request.n)
    # Grey levels made here, in the job, so the GUI thread shows them as they
    # are instead of rescaling ~800k floats at the first paint (~4 ms for 32x32).
    image = decode_grid_levels(model, grid_rect, cols, request.latent_slice, rows)
    return Manifold(image, grid_rect)


@dataclass(frozen=True, slots=True)
class Decoded:
    """One decoded point: the full code ``z`` ``(d,)`` and its image ``(h, w)``."""

    z: npt.NDArray[np.float32]
    image: npt.NDArray[np.float32]


def decode_at(
    model: Autoencoder, latent_slice: LatentSlice, x: float, y: float
) -> Decoded:
    """Decode plane point (x, y): well under a frame for the shipped decoders,
    so it runs on the GUI thread, serially (:func:`serial_torch_here`)."""
    serial_torch_here()
    z = latent_slice.embed([(x, y)])
    return Decoded(z[0], decode_codes(model, z)[0])


@dataclass(frozen=True, slots=True)
class Refreshed:
    """A training snapshot made ready to show, off the GUI thread."""

    model: Autoencoder
    codes: Codes | None
    manifold: Manifold | None


def refresh_from_snapshot(
    config: ModelConfig,
    state: dict[str, torch.Tensor],
    dataset: ImageDataset | None,
    grid: GridRequest | None = None,
) -> Refreshed:
    """Build a display model from snapshot weights, encode the test set and,
    when asked, decode the manifold: one update, so the plane repaints once."""

    from latentlab.core.models import meta_model

    display = meta_model(config)  # no memory, no random init: weights follow
    display.load_state_dict(state, assign=True)
    display.eval()
    codes = encode_images(display, dataset.test_images) if dataset else None
    manifold = decode_manifold(display, grid) if grid is not None else None
    return Refreshed(display, codes, manifold)


def display_images(dataset: ImageDataset, indices) -> npt.NDArray[np.float32]:
    """Test images as floats in [0, 1], for display: ``(n, h, w)`` grey or
    ``(n, h, w, 3)`` colour (:func:`~latentlab.core.latent.display_shape`)."""
    return display_floats(dataset.test_images[np.asarray(indices, np.int64)])


def labelled_points(
    codes: Codes, latent_slice: LatentSlice, dataset: ImageDataset | None
) -> tuple[npt.NDArray[np.float32], list[tuple[str, npt.NDArray[np.bool_]]]]:
    """The codes' means on the plane ``(n, 2)`` and per-class masks.

    Codes that are NaN or infinite (a diverged model) are left out of the masks.
    """
    xy = latent_slice.project(codes.mu)
    finite = np.isfinite(xy).all(1)
    if dataset is None:
        return xy, [("test set", finite)]
    labels = dataset.test_labels.numpy()
    groups = []
    for i, name in enumerate(dataset.class_names):
        mask = (labels == i) & finite
        if mask.any():
            groups.append((name, mask))
    return xy, groups
