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
    from latentlab.core.data import dataset_files, expected_shape
    from latentlab.core.errors import CheckpointError, ConfigError
    from latentlab.core.files import check_not_an_input, check_output_file
    from latentlab.core.text import printable, printable_path
    from latentlab.core.training_run import TrainSpec

    # Torch-free checks first: a bad option costs no torch import.
    shown = printable_path(opts.out)
    if _launched_world() > 1 and opts.nproc is not None:
        raise ConfigError("under torchrun, leave out --nproc: torchrun starts them")
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    try:
        hidden = tuple(int(h) for h in opts.hidden.split(",") if h.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--hidden must be integers like 512,256, not {printable(opts.hidden, 40)}"
        ) from exc
    # The run as the window and scripts describe it; its configs validate now,
    # all but the image shape, which the data decides.
    spec = TrainSpec(
        dataset=opts.dataset,
        data_dir=opts.data_dir,
        latent_dim=opts.latent_dim,
        beta=opts.beta,
        backbone=opts.backbone,
        hidden=hidden,
        kinds=(opts.model,),
        epochs=opts.epochs,
        batch_size=opts.batch_size,
        lr=opts.lr,
        seed=opts.seed,
        device=opts.device,
        threads=opts.threads,
        download=opts.download,
        image_size=opts.image_size,
        channels=opts.channels,
        likelihood=opts.likelihood,
        kl_warmup_epochs=opts.kl_warmup,
        bf16=opts.bf16,
    )
    train_cfg = spec.train_config()
    spec.model_configs(expected_shape(opts.dataset, opts.image_size, opts.channels))
    # An input is refused as such, before "exists; pass --force" could advise.
    check_not_an_input(opts.out, dataset_files(opts.dataset, opts.data_dir))
    if os.path.isfile(opts.out) and not opts.force:
        raise CheckpointError(f"{shown} already exists; pass --force to overwrite it")
    out = check_output_file(opts.out, overwrite=opts.force)

    from latentlab.core.data import load_dataset
    from latentlab.core.training import check_training_memory, pick_device
    from latentlab.core.workspace import Workspace

    pick_device(train_cfg.device)
    dataset = load_dataset(
        opts.dataset,
        opts.data_dir,
        download=opts.download,
        image_size=opts.image_size,
        channels=opts.channels,
    )
    (model_cfg,) = spec.model_configs(dataset.image_shape)
    launched = _launched_world()
    sharded = (
        launched > 1
        or opts.nproc is not None
        or opts.resume is not None
        or opts.bf16  # the sharded trainer has the autocast
    )
    nproc = launched if launched > 1 else (opts.nproc or 1)
    global_batch = min(nproc * train_cfg.batch_size, len(dataset.train_images))
    resumed = _resumed(opts, dataset, global_batch, train_cfg) if opts.resume else None
    if resumed is not None:
        model_cfg = resumed.config
    check_training_memory([model_cfg], train_cfg.batch_size)
    leader = os.environ.get("RANK", "0") == "0"
    if dataset.skipped and leader:
        print(dataset.skipped_note())
    if leader:
        print(
            f"training {model_cfg.kind.upper()} ({model_cfg.backbone}, latent "
            f"{model_cfg.latent_dim}, β={model_cfg.beta:g}) on "
            f"{printable(dataset.name, 80)}: {len(dataset.train_images)} train / "
            f"{len(dataset.test_images)} test images of "
            f"{'x'.join(map(str, dataset.image_shape))}"
            + (f", on {nproc} process{'es' if nproc > 1 else ''}" if sharded else "")
            + (f", from epoch {resumed.resume.epoch + 1}" if resumed else ""),
            flush=True,
        )
    if sharded:
        return _train_on_processes(opts, spec, out, shown, dataset, launched)
    # The one training path (the window's and scripts' too): a workspace that
    # runs its jobs here, on this thread.
    ws = Workspace(slots=1, data_dir=opts.data_dir)
    ws.datasets.put(dataset, opts.data_dir, name=opts.dataset)
    ws.trainingProgress.connect(_print_progress)
    ws.trainingEpoch.connect(_print_epoch)
    start = time.perf_counter()
    try:
        ws.train(spec, show=False)  # saved at once: no test set to encode
    except KeyboardInterrupt:
        _end_progress_line()
        print(f"latentlab: interrupted; nothing was saved to {shown}", file=sys.stderr)
        return EXIT_INTERRUPTED
    result = ws.last_run
    try:
        ws.save(0, out, overwrite=opts.force)
    except KeyboardInterrupt:
        print(
            f"latentlab: interrupted while saving; {shown} was left as it was",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    last = result.histories[0][-1]
    print(
        f"done in {time.perf_counter() - start:.1f}s on {result.device}: test "
        f"-ELBO {last.test_neg_elbo:.2f} nats (recon {last.test_recon:.2f}, KL "
        f"{last.test_kl:.2f}); saved {shown}"
    )
    return 0


def _launched_world() -> int:
    """The world size a launcher (torchrun) gave this process; 1 without one."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _train_on_processes(
    opts: argparse.Namespace,
    spec: Any,
    out: Any,
    shown: str,
    dataset: Any,
    launched: int,
) -> int:
    """The run on several processes: this one's part under torchrun, or
    ``--nproc`` processes started here."""
    import dataclasses

    from latentlab.cli import train_distributed

    job = {
        "spec": dataclasses.asdict(spec),
        "out": str(out),
        "force": opts.force,
        "shown": shown,
        "resume": opts.resume,
    }
    if launched > 1:
        return train_distributed.under_torchrun(job, dataset)
    train_distributed.on_processes(opts.nproc or 1, job)
    return 0


def _resumed(
    opts: argparse.Namespace, dataset: Any, global_batch: int, config: Any
) -> Any:
    """The checkpoint ``--resume`` names, checked before any process starts:
    it holds a run's state, on this data, and these settings continue it."""
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.distributed import check_resume
    from latentlab.core.errors import ConfigError
    from latentlab.core.text import printable_path

    ckpt = load_checkpoint(opts.resume)
    shown = printable_path(opts.resume)
    if ckpt.resume is None:
        raise ConfigError(
            f"{shown} holds no training state to continue: only runs of "
            "`latentlab train --nproc N` (or under torchrun) save it"
        )
    if ckpt.dataset.get("digest") != dataset.identity().get("digest"):
        raise ConfigError(
            f"{shown} was trained on other images than {dataset.name}'s: resume it "
            "with the same --dataset, --data-dir, --image-size and --channels"
        )
    check_resume(ckpt.resume, config, global_batch)
    return ckpt


def _end_progress_line() -> None:
    if sys.stdout.isatty():
        sys.stdout.write("\n")
        sys.stdout.flush()


def _print_progress(event: Any) -> None:
    """A progress bar on one terminal line (nothing when piped)."""
    if not sys.stdout.isatty():
        return
    width = 30
    filled = int(width * event.fraction)
    eta = "" if event.eta_s == float("inf") else f" ETA {event.eta_s:4.0f}s"
    sys.stdout.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] epoch "
        f"{event.epoch}/{event.epochs} loss {event.loss[0]:7.2f} "
        f"{event.samples_per_s:7.0f} img/s{eta} "
    )
    sys.stdout.flush()


def _print_epoch(event: Any) -> None:
    """One line per epoch: the losses on the test set, in nats."""
    print_epoch(event.metrics[0])


def print_epoch(m: Any) -> None:
    """An epoch's line from its :class:`EpochMetrics`."""
    if sys.stdout.isatty():
        sys.stdout.write("\r" + " " * 90 + "\r")
    print(
        f"epoch {m.epoch:3d}  train {m.train_loss:8.2f}  test recon "
        f"{m.test_recon:8.2f}  KL {m.test_kl:6.2f}  -ELBO "
        f"{m.test_neg_elbo:8.2f} nats  {m.seconds:5.1f}s "
        f"({m.samples_per_s:,.0f} img/s)"
    )
