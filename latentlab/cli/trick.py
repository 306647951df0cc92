"""``latentlab trick``: the same VAE trained from the same start with and without
the reparameterization trick (the score function, baseline log p(x|μ), for the
encoder), side by side; each run's test −ELBO after every epoch."""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentlab.cli.checks import _check_data_dir, _dataset_key
from latentlab.cli.evaluate import _line, _progress

if TYPE_CHECKING:
    import argparse


def cmd_trick(opts: argparse.Namespace) -> int:
    """Train both runs and print their learning curves."""
    from latentlab.core.analysis.without_trick import TrickCurves, train_without_trick
    from latentlab.core.data import load_dataset

    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    dataset = load_dataset(opts.dataset, opts.data_dir)
    print(
        f"# {dataset.name}: {len(dataset.train_images):,} training images; a "
        f"{opts.latent_dim}-D MLP VAE trained twice from seed {opts.seed} on the same "
        "batches: reparameterized, and with the score function (baseline log p(x|mu)) "
        "for the encoder; KL in closed form in both; test -ELBO with one z per image"
    )
    run = train_without_trick(
        dataset, epochs=opts.epochs, latent_dim=opts.latent_dim, seed=opts.seed
    )
    shown = 0
    while True:
        try:
            event = next(run)
        except StopIteration as done:
            curves = done.value
            break
        if isinstance(event, TrickCurves):
            for i in range(shown, len(event.epochs)):
                e = event.epochs[i]
                _line(f"epoch{e}_test_neg_elbo_reparam", event.test[0][i], "nats")
                _line(f"epoch{e}_test_neg_elbo_score", event.test[1][i], "nats")
            shown = len(event.epochs)
        else:
            _progress(event.step / event.total, f"epoch {event.epoch}")
    print(f"# {curves.summary()}")
    return 0
