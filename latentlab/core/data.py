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
from typing import Any

from latentlab.core.catalog import (
    DATASET_NAMES,
    IDX_SETS,
    IMAGE_SUFFIXES,
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
    image_shape_of,
    to_float,
)
from latentlab.core.datasets.image_folder import (
    MAX_FOLDER_ENTRIES,
    MAX_FOLDER_PIXELS,
    MAX_SOURCE_PIXELS,
    _image_files,
    load_image_folder,
    read_grey_image,
)
from latentlab.core.datasets.shapes import make_shapes
from latentlab.core.errors import DataError
from latentlab.core.text import printable, printable_path

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
    "to_float",
]


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
