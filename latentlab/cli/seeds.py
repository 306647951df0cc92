"""``latentlab seeds``: claim (1) over several trained AE/VAE pairs (one per
seed), each figure per seed and as mean ± sd, and what they say together."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from latentlab.cli.checks import _check_data_dir, _dataset_key
from latentlab.cli.evaluate import _line, _progress

if TYPE_CHECKING:
    import argparse


def cmd_seeds(opts: argparse.Namespace) -> int:
    """Train (or reuse) a pair per seed, measure each, print the figures."""
    from latentlab.core.analysis.seed_study import (
        FIGURE_NOTES,
        FIGURES,
        default_cache,
        seed_study,
    )
    from latentlab.core.data import load_dataset
    from latentlab.core.errors import ConfigError

    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    if opts.seeds < 2:
        raise ConfigError("--seeds must be at least 2: a spread needs two pairs")
    dataset = load_dataset(opts.dataset, opts.data_dir)
    cache = Path(opts.cache) if opts.cache else default_cache()
    seeds = tuple(range(opts.seeds))
    run = seed_study(
        dataset,
        seeds=seeds,
        epochs=opts.epochs,
        latent_dim=opts.latent_dim,
        n_pairs=opts.pairs,
        cache_dir=cache,
        threads=opts.threads,
    )
    while True:
        try:
            i, fraction = next(run)
            _progress((i + fraction) / len(seeds), f"pair {i + 1} of {len(seeds)}")
        except StopIteration as done:
            study = done.value
            break
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 50 + "\r")
    print(
        f"# {study.dataset}: {study.train_images:,} training / {study.test_images:,} "
        f"test images; {study.latent_dim}-D MLP AE and VAE, {study.epochs} epochs, "
        f"seeds {seeds[0]}..{seeds[-1]}; {study.pairs_per_seed} random test pairs "
        "per seed"
    )
    for pair in study.seeds:
        for name in FIGURES:
            if name in pair.figures:
                _line(f"seed{pair.seed}_{name}", pair.figures[name], "%")
    for name in FIGURES:
        if len(study.values(name)):
            mean, sd = study.mean_sd(name)
            _line(
                name,
                f"{mean:.2f} ± {sd:.2f}",
                "%",
                f"{FIGURE_NOTES[name]}; mean ± sd over {len(study.seeds)} seeds",
            )
    for sentence in study.findings():
        print(f"# {sentence}")
    return 0
