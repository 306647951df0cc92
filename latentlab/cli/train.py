"""``latentlab train``: every check before the first step, training with a
progress line, and the checkpoint saved."""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

from latentlab.cli.checks import _check_data_dir, _dataset_key
from latentlab.cli.parsers import EXIT_INTERRUPTED

if TYPE_CHECKING:
    import argparse


def cmd_train(opts: argparse.Namespace) -> int:
    """``latentlab train``: every check runs before the first training step."""
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import dataset_files
    from latentlab.core.errors import CheckpointError, ConfigError
    from latentlab.core.files import check_not_an_input, check_output_file
    from latentlab.core.text import printable, printable_path

    # Torch-free checks first: a bad option costs no torch import.
    shown = printable_path(opts.out)
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    try:
        hidden = tuple(int(h) for h in opts.hidden.split(",") if h.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--hidden must be integers like 512,256, not {printable(opts.hidden, 40)}"
        ) from exc
    train_cfg = TrainConfig(
        epochs=opts.epochs,
        batch_size=opts.batch_size,
        lr=opts.lr,
        seed=opts.seed,
        device=opts.device,
        threads=opts.threads,
    )
    settings = {
        "kind": opts.model,
        "backbone": opts.backbone,
        "latent_dim": opts.latent_dim,
        "hidden": hidden,
        "beta": opts.beta,
    }
    ModelConfig(**settings)  # all but the image shape, which the data decides
    # An input is refused as such, before "exists; pass --force" could advise.
    check_not_an_input(opts.out, dataset_files(opts.dataset, opts.data_dir))
    if os.path.isfile(opts.out) and not opts.force:
        raise CheckpointError(f"{shown} already exists; pass --force to overwrite it")
    out = check_output_file(opts.out, overwrite=opts.force)

    from latentlab.core.checkpoints import metrics_summary, save_checkpoint
    from latentlab.core.data import load_dataset
    from latentlab.core.training import check_training_memory, new_model, pick_device

    pick_device(train_cfg.device)
    dataset = load_dataset(opts.dataset, opts.data_dir, download=opts.download)
    model_cfg = ModelConfig(**settings, image_shape=dataset.image_shape)
    check_training_memory([model_cfg], train_cfg.batch_size)
    if dataset.skipped:
        print(dataset.skipped_note())
    print(
        f"training {model_cfg.kind.upper()} ({model_cfg.backbone}, latent "
        f"{model_cfg.latent_dim}, β={model_cfg.beta:g}) on "
        f"{printable(dataset.name, 80)}: {len(dataset.train_images)} train / "
        f"{len(dataset.test_images)} test images"
    )
    model = new_model(model_cfg, seed=opts.seed)
    start = time.perf_counter()
    try:
        result = _run_training(model, dataset, train_cfg)
    except KeyboardInterrupt:
        _end_progress_line()
        print(f"latentlab: interrupted; nothing was saved to {shown}", file=sys.stderr)
        return EXIT_INTERRUPTED
    history = result.histories[0]
    try:
        save_checkpoint(
            out,
            model,
            history=history,
            dataset=dataset.identity(),
            metrics=metrics_summary(history),
            overwrite=opts.force,
            timeline=result.timelines[0] if result.timelines else None,
        )
    except KeyboardInterrupt:
        print(
            f"latentlab: interrupted while saving; {shown} was left as it was",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    last = history[-1]
    print(
        f"done in {time.perf_counter() - start:.1f}s on {result.device}: test "
        f"-ELBO {last.test_neg_elbo:.2f} nats (recon {last.test_recon:.2f}, KL "
        f"{last.test_kl:.2f}); saved {shown}"
    )
    return 0


def _end_progress_line() -> None:
    if sys.stdout.isatty():
        sys.stdout.write("\n")
        sys.stdout.flush()


def _run_training(model: Any, dataset: Any, train_cfg: Any) -> Any:
    """Iterate :func:`train`, printing progress; returns its TrainResult."""
    from latentlab.core.training import EpochEnd, TrainProgress, train

    tty = sys.stdout.isatty()
    run = train(model, dataset, train_cfg)
    while True:
        try:
            event = next(run)
        except StopIteration as stop:
            return stop.value
        if isinstance(event, TrainProgress) and tty:
            width = 30
            filled = int(width * event.fraction)
            eta = "" if event.eta_s == float("inf") else f" ETA {event.eta_s:4.0f}s"
            sys.stdout.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] epoch "
                f"{event.epoch}/{event.epochs} loss {event.loss[0]:7.2f} "
                f"{event.samples_per_s:7.0f} img/s{eta} "
            )
            sys.stdout.flush()
        elif isinstance(event, EpochEnd):
            m = event.metrics[0]
            if tty:
                sys.stdout.write("\r" + " " * 90 + "\r")
            print(
                f"epoch {m.epoch:3d}  train {m.train_loss:8.2f}  test recon "
                f"{m.test_recon:8.2f}  KL {m.test_kl:6.2f}  -ELBO "
                f"{m.test_neg_elbo:8.2f} nats  {m.seconds:5.1f}s "
                f"({m.samples_per_s:,.0f} img/s)"
            )
