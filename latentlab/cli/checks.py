"""Checks the commands run on their inputs before any work (the seed, the
dataset's name, ``--data-dir``, the input file), and the test set a checkpoint's
command reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse


def _check_seed(seed: int) -> None:
    """A seed torch takes (TrainConfig's rule), checked before any work."""
    from latentlab.core.config import TrainConfig

    TrainConfig(seed=seed)


def _dataset_key(name: str | None) -> str | None:
    """``--dataset`` as the loaders spell it; an unknown name is refused up front."""
    if name is None:
        return None
    from latentlab.core.catalog import DATASET_NAMES, dataset_key
    from latentlab.core.errors import DataError
    from latentlab.core.text import printable

    key = dataset_key(name)
    if key not in DATASET_NAMES:
        raise DataError(
            f"unknown dataset {printable(name, 40)}; choose one of: "
            f"{', '.join(DATASET_NAMES)}"
        )
    return key


def _check_data_dir(opts: argparse.Namespace) -> None:
    """``--data-dir`` that is a file is refused before any work, by name."""
    if opts.data_dir is not None:
        from latentlab.core.data import check_data_dir

        check_data_dir(opts.data_dir, what="--data-dir")


def _check_input(path: str) -> None:
    from latentlab.core.checkpoint.pythae import is_pythae_folder
    from latentlab.core.errors import DataError
    from latentlab.core.text import printable_path

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise DataError(f"{printable_path(path)} does not exist") from None
    except (OSError, ValueError) as exc:  # a name too long, a loop, a NUL
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise DataError(f"cannot read {printable_path(path)}: {reason}") from None
    if stat.S_ISDIR(info.st_mode) and not is_pythae_folder(Path(path)):
        raise DataError(
            f"{printable_path(path)} is a folder; give a checkpoint file or a "
            "folder pythae saved (with model_config.json)"
        )


def _checkpoint_dataset(ckpt: Any, opts: argparse.Namespace, *, out: Any = None) -> Any:
    """The test set ``ckpt`` was trained on: ``--dataset`` when given, else the
    one the file names, read from ``--data-dir``. With ``out``, refuses (before
    reading the data) when that file is one of the dataset's files."""

    from latentlab.core.data import (
        checkpoint_dataset_source,
        dataset_files,
        load_dataset,
        same_folder,
        shape_request,
    )
    from latentlab.core.errors import DataError, ExportError
    from latentlab.core.files import check_not_an_input
    from latentlab.core.text import printable, printable_path

    if opts.dataset is not None:
        name, root = opts.dataset, opts.data_dir
    elif ckpt.needs_dataset:
        raise DataError(
            f"{printable_path(opts.file)} ({printable(ckpt.origin, 80)}) does not say "
            "which dataset it was trained on; pass --dataset (e.g. --dataset mnist)"
        )
    else:
        source = ckpt.dataset.get("source")
        named = str(ckpt.dataset.get("name", ""))
        if named.startswith("folder:") and isinstance(source, str) and source:
            if not (opts.data_dir and same_folder(source, opts.data_dir)):
                # A file's folder is read only when the user names it.
                raise DataError(
                    f"{printable_path(opts.file)} was trained on the image folder "
                    f"{printable_path(source)}; pass --data-dir with that folder "
                    "to read its images"
                )
        try:
            name, root = checkpoint_dataset_source(
                ckpt.dataset, opts.data_dir, allow_folder_scan=True
            )
        except DataError as exc:
            raise DataError(f"{exc}; pass --dataset (and --data-dir)") from exc
    if out is not None:
        check_not_an_input(out, dataset_files(name, root), error=ExportError)
    dataset = load_dataset(name, root, **shape_request(name, ckpt.config.image_shape))
    if dataset.image_shape != tuple(ckpt.config.image_shape):
        raise DataError(
            f"{printable(dataset.name, 80)} images are "
            f"{'×'.join(map(str, dataset.image_shape))} (C×H×W), the model reads "
            f"{'×'.join(map(str, ckpt.config.image_shape))}"
        )
    return dataset
