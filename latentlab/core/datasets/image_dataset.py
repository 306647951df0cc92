"""The in-memory dataset every source produces (:class:`ImageDataset`, a fixed
train/test split of uint8 grey or colour images), its conversion to the models'
floats, and the check, run before any source reads, that a data folder is a
folder."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentlab.core.errors import DataError
from latentlab.core.text import printable, printable_middle, printable_path

if TYPE_CHECKING:
    import os

    import numpy.typing as npt
    import torch


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A fixed train/test split of grey or colour images in [0, 255].

    Attributes
    ----------
    train_images, test_images : torch.Tensor
        uint8: grey ``(n, height, width)`` or colour ``(n, 3, height, width)``
        (RGB). Grey sets keep the 3-D layout so their figures stay those of
        before colour existed.
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

    def skipped_note(self) -> str:
        """``"skipped 2 files, e.g. x.png is a PostScript file, not an image"``,
        or ``""``: the first reason kept whole at its end (file name, why)."""
        n = len(self.skipped)
        if not n:
            return ""
        first = printable_middle(self.skipped[0], 200, keep_end=150)
        return f"skipped {n} file{'s, e.g.' if n > 1 else ':'} {first}"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(channels, height, width)``: ``(1, 28, 28)`` for MNIST."""
        return image_shape_of(self.train_images)

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


def image_shape_of(images: torch.Tensor) -> tuple[int, int, int]:
    """``(C, H, W)`` of a stack stored as :class:`ImageDataset` holds it."""
    if images.ndim == 4:
        return tuple(int(n) for n in images.shape[1:])  # type: ignore[return-value]
    return (1, int(images.shape[1]), int(images.shape[2]))


def display_floats(images: torch.Tensor) -> npt.NDArray[np.float32]:
    """A uint8 stack -> floats in [0, 1] as views and decodes hold images:
    ``(n, h, w)`` grey or ``(n, h, w, 3)`` RGB (channels last)."""
    array = images.numpy()
    if array.ndim == 4:
        array = array.transpose(0, 2, 3, 1)
    return array / np.float32(255)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(n, h, w)`` or ``(n, c, h, w)`` -> float32 ``(n, c, h, w)`` in
    [0, 1] (grey gets its channel axis)."""
    import torch

    if images.ndim == 3:
        images = images.unsqueeze(1)
    return images.to(torch.float32).div_(255.0)


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
