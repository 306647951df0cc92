"""Image datasets held in memory as uint8 tensors.

Sources: the embedded ``shapes`` set (generated, offline), MNIST / Fashion-MNIST /
KMNIST read from IDX ``.gz`` files in torchvision's layout (downloaded through
torchvision only when asked and when no local copy exists), and a user's image folder.
Every split is fixed: the official one for IDX sets, a seeded one otherwise.

This module names the datasets: :func:`load_dataset` by name, the files a name
reads (:func:`dataset_files`), and the dataset a checkpoint names
(:func:`checkpoint_dataset_source`). Each source is a module of
:mod:`latentlab.core.datasets` (the :class:`ImageDataset` itself, the shapes, the
IDX sets, image folders), whose public names this module re-exports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentlab.core.catalog import (
    DATASET_NAMES,
    IDX_SETS,
    IMAGE_SUFFIXES,
    RESIZABLE_SETS,
    SHAPE_NAMES,
    dataset_key,
)
from latentlab.core.datasets.idx import (
    default_data_dir,
    find_dataset_files,
    find_idx_files,
    load_idx_dataset,
    read_idx,
)
from latentlab.core.datasets.image_dataset import (
    ImageDataset,
    check_data_dir,
    display_floats,
    image_shape_of,
    to_float,
)
from latentlab.core.datasets.image_folder import (
    MAX_FOLDER_ENTRIES,
    MAX_FOLDER_PIXELS,
    MAX_SOURCE_PIXELS,
    _image_files,
    check_image_size,
    load_image_folder,
    read_grey_image,
)
from latentlab.core.datasets.shapes import make_shapes
from latentlab.core.errors import DataError
from latentlab.core.text import printable, printable_path

if TYPE_CHECKING:
    import torch

__all__ = [
    "DATASET_NAMES",
    "IDX_SETS",
    "IMAGE_SUFFIXES",
    "MAX_FOLDER_ENTRIES",
    "MAX_FOLDER_PIXELS",
    "MAX_SOURCE_PIXELS",
    "SHAPE_NAMES",
    "ImageDataset",
    "check_data_dir",
    "checkpoint_dataset_source",
    "dataset_files",
    "dataset_key",
    "default_data_dir",
    "display_floats",
    "expected_shape",
    "find_dataset_files",
    "find_idx_files",
    "image_shape_of",
    "load_dataset",
    "load_idx_dataset",
    "load_image_folder",
    "make_shapes",
    "read_grey_image",
    "read_idx",
    "same_folder",
    "shape_request",
    "to_float",
    "with_channels",
]


# The size each resizable set has when none is asked for.
DEFAULT_SIZES = {"colour-shapes": 64, "celeba": 64, "folder": 28}


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = False,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> ImageDataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of ``DATASET_NAMES``. ``"folder"`` reads images under ``data_dir``.
    data_dir : path, optional
        Root in torchvision's layout (``<dir>/MNIST/raw/*.gz``,
        ``<dir>/cifar-10-batches-py``, ``<dir>/celeba``), or the image folder.
    download : bool
        Let torchvision download an IDX set that is not found locally.
    image_size : int or (height, width), optional
        Size of the images of a set LatentLab resizes (``RESIZABLE_SETS``: an
        image folder, CelebA, the shapes); None: the set's own default
        (``DEFAULT_SIZES``). Other sets have one size and refuse another.
    channels : 1 or 3, optional
        Grey or RGB. None: the set's own (an image folder: its files' mode).
        A colour set asked for 1 channel is turned grey (ITU-R 601 luma, as
        Pillow's ``"L"``); a grey set asked for 3 repeats its channel.

    Example
    -------
    >>> load_dataset("colour-shapes", image_size=32).image_shape
    (3, 32, 32)
    """
    key = dataset_key(name)
    size = _image_size(key, image_size)
    if channels not in (None, 1, 3):
        raise DataError(f"channels must be 1 (grey) or 3 (RGB), not {channels!r}")
    if key == "shapes":
        dataset = make_shapes()
    elif key == "colour-shapes":
        from latentlab.core.datasets.colour_shapes import make_colour_shapes

        if size[0] != size[1]:
            raise DataError("the colour shapes are square: give one --image-size")
        dataset = make_colour_shapes(size=size[0])
    elif key in IDX_SETS:
        dataset = load_idx_dataset(key, data_dir, download=download)
    elif key == "cifar10":
        from latentlab.core.datasets.cifar import load_cifar10

        dataset = load_cifar10(data_dir if data_dir is not None else default_data_dir())
    elif key == "celeba":
        from latentlab.core.datasets.celeba import load_celeba

        root = data_dir if data_dir is not None else default_data_dir()
        dataset = load_celeba(root, size)
    elif key == "folder":
        if data_dir is None:
            raise DataError("an image-folder dataset needs a folder (--data-dir)")
        return load_image_folder(data_dir, size, channels=channels)
    else:
        raise DataError(
            f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}"
        )
    if image_size is not None and dataset.image_shape[1:] != size:
        raise DataError(
            f"{dataset.name} images are {dataset.image_shape[1]}x"
            f"{dataset.image_shape[2]}; an image size applies only to "
            f"{', '.join(RESIZABLE_SETS)}"
        )
    return with_channels(dataset, channels)


def _image_size(key: str, image_size: int | tuple[int, int] | None) -> tuple[int, int]:
    """``image_size`` as ``(height, width)``, each from 16 to 128."""
    if image_size is None:
        side = DEFAULT_SIZES.get(key, 28)
        return (side, side)
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    return check_image_size(image_size)


# (channels, side) of the sets with one size (a folder's channels are its own).
_NATIVE = {"shapes": (1, 28), "cifar10": (3, 32), "colour-shapes": (3, 64)}
_NATIVE.update(dict.fromkeys(IDX_SETS, (1, 28)))
_NATIVE["celeba"] = (3, 64)


def expected_shape(
    name: str,
    image_size: int | tuple[int, int] | None = None,
    channels: int | None = None,
) -> tuple[int, int, int]:
    """The ``(C, H, W)`` :func:`load_dataset` will give, known before any file
    is read (an image folder's channels, when not asked, are guessed grey), so
    a model's config can be checked first.

    Example
    -------
    >>> expected_shape("cifar10")
    (3, 32, 32)
    """
    key = dataset_key(name)
    native_c, side = _NATIVE.get(key, (1, 28))
    h, w = _image_size(key, image_size) if key in RESIZABLE_SETS else (side, side)
    return (channels or native_c, h, w)


def shape_request(name: str, image_shape: tuple[int, ...]) -> dict[str, Any]:
    """The :func:`load_dataset` arguments that give a model's ``(C, H, W)``:
    its channels, and its size where the set can be resized (a fixed-size set
    is compared with the model afterwards).

    Example
    -------
    >>> shape_request("colour-shapes", (3, 32, 32))
    {'channels': 3, 'image_size': (32, 32)}
    """
    c, h, w = image_shape
    request: dict[str, Any] = {"channels": c}
    if dataset_key(name) in RESIZABLE_SETS:
        request["image_size"] = (h, w)
    return request


def with_channels(dataset: ImageDataset, channels: int | None) -> ImageDataset:
    """``dataset`` with ``channels`` channels (None: as it is); see
    :func:`load_dataset`."""
    import dataclasses

    have = dataset.image_shape[0]
    if channels is None or channels == have:
        return dataset
    # The name stays: a checkpoint finds its set again by name, and its
    # identity's image shape records the channels.
    return dataclasses.replace(
        dataset,
        train_images=_convert(dataset.train_images, channels),
        test_images=_convert(dataset.test_images, channels),
    )


def _convert(images: torch.Tensor, channels: int) -> torch.Tensor:
    import torch

    if channels == 3:
        return images.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()
    # Pillow's "L": L = R * 299/1000 + G * 587/1000 + B * 114/1000, rounded.
    weights = torch.tensor([299, 587, 114], dtype=torch.int32).view(1, 3, 1, 1)
    luma = (
        (images.to(torch.int32) * weights)
        .sum(1)
        .add_(500)
        .div_(1000, rounding_mode="floor")
    )
    return luma.to(torch.uint8)


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
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if key == "cifar10":
        from latentlab.core.datasets.cifar import cifar_files

        return cifar_files(root)
    if key == "celeba":
        from latentlab.core.datasets.celeba import celeba_files

        return celeba_files(root)
    return []


def same_folder(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` name one folder (``~``, ``..`` and links
    resolved; by device and inode when both exist)."""
    a, b = Path(a).expanduser(), Path(b).expanduser()
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return a.absolute() == b.absolute()


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
