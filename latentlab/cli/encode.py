"""``latentlab encode FILE --out codes.csv``: a checkpoint's codes of its test
set, written as CSV."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from latentlab.cli.checks import (
    _check_data_dir,
    _check_input,
    _checkpoint_dataset,
    _dataset_key,
)

if TYPE_CHECKING:
    import argparse


def cmd_encode(opts: argparse.Namespace) -> int:
    """``latentlab encode FILE --out codes.csv``: every check before the work."""
    from latentlab.core.errors import ConfigError, ExportError
    from latentlab.core.files import check_not_an_input, check_output_file
    from latentlab.core.text import format_int, printable, printable_path

    shown = printable_path(opts.out)
    if opts.limit is not None and opts.limit < 1:
        raise ConfigError(f"--limit must be at least 1, not {format_int(opts.limit)}")
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    _check_input(opts.file)
    check_not_an_input(opts.out, [opts.file], error=ExportError)
    if os.path.isfile(opts.out) and not opts.force:
        raise ExportError(f"{shown} already exists; pass --force to overwrite it")
    out = check_output_file(opts.out, overwrite=opts.force)

    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.codes_csv import write_codes_csv
    from latentlab.core.latent import encode_images

    ckpt = load_checkpoint(opts.file)
    dataset = _checkpoint_dataset(ckpt, opts, out=out)
    n = len(dataset.test_images)
    if opts.limit is not None:
        n = min(n, opts.limit)
    codes = encode_images(ckpt.model, dataset.test_images[:n])
    write_codes_csv(
        out,
        codes,
        dataset.test_labels[:n].numpy(),
        dataset.class_names,
        overwrite=opts.force,
    )
    kind = "mu and sigma" if codes.sigma is not None else "z"
    print(
        f"wrote {n:,} codes ({kind}, {ckpt.config.latent_dim} dims) of the "
        f"{printable(dataset.name, 80)} test set to {shown}"
    )
    return 0
