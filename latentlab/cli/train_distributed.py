"""``latentlab train`` on several processes: under torchrun, or started here by
``--nproc N`` (:mod:`latentlab.core.distributed`). Rank 0 alone prints and
writes the checkpoint, after every epoch (atomically), with the run's state to
continue it (``--resume``); a failure in any process is one LatentLab line
naming the process, and leaves no partial file (the last epoch's stays)."""

from __future__ import annotations

import sys
from typing import Any


def run(
    rank: int | None,
    world: int | None,
    store: str | None,
    job: dict,
    dataset: Any = None,
) -> None:
    """One process of the run (``rank`` None: torchrun's environment);
    ``dataset``: already loaded by this process."""
    from latentlab.cli.train import print_epoch
    from latentlab.core import distributed
    from latentlab.core.checkpoint.format import is_safetensors_path
    from latentlab.core.checkpoints import metrics_summary, save_checkpoint
    from latentlab.core.data import load_dataset
    from latentlab.core.training import new_model
    from latentlab.core.training_run import TrainSpec

    spec = TrainSpec(**job["spec"])
    # The data first: the processes meet once each has it (a slow reader
    # cannot time out a rendezvous the others already wait in).
    dataset = dataset or load_dataset(
        spec.dataset,
        spec.data_dir,
        download=False,
        image_size=spec.image_size,
        channels=spec.channels,
    )
    group = distributed.join(spec.device, rank=rank, world=world, store_path=store)
    # A .safetensors file holds weights and record, not the run's state.
    keeps_state = not is_safetensors_path(job["out"])
    try:
        history, resume = [], None
        if job["resume"]:
            from latentlab.core.checkpoints import load_checkpoint

            ckpt = load_checkpoint(job["resume"])
            model, history, resume = ckpt.model, list(ckpt.history), ckpt.resume
        else:
            (config,) = spec.model_configs(dataset.image_shape)
            model = new_model(config, seed=spec.seed)
        identity = dataset.identity()
        written = []

        def save_state(done: list, state: Any) -> None:
            # Every epoch, atomically: a run stopped later resumes from here.
            if group.leader:
                save_checkpoint(
                    job["out"],
                    model,
                    overwrite=job["force"] or bool(written),
                    history=done,
                    dataset=identity,
                    metrics=metrics_summary(done),
                    resume=state if keeps_state else None,
                )
                written.append(True)

        history = distributed.train_sharded(
            model,
            dataset,
            spec.train_config(),
            group,
            on_epoch=print_epoch if group.leader else None,
            resume=resume,
            history=history,
            on_saved_state=save_state,
        )
        if group.leader:
            last = history[-1]
            print(
                f"done on {group.world} process{'es' if group.world > 1 else ''} "
                f"({group.device.type}): test -ELBO {last.test_neg_elbo:.2f} nats "
                f"(recon {last.test_recon:.2f}, KL {last.test_kl:.2f}); saved "
                f"{job['shown']}",
                flush=True,
            )
        distributed.barrier()
    finally:
        distributed.leave()


def spawned(rank: int, world: int, store: str, job: dict) -> None:
    """:func:`run` as ``--nproc`` starts it in each process."""
    run(rank, world, store, job)
    _exit_now(0)


def _exit_now(code: int) -> None:
    """End a finished process at once: its work is saved and the group left.
    On Python 3.13, tearing the interpreter down after a gloo run sometimes
    aborted in C++ ("terminate called without an active exception", exit
    -6), which reads as a failed process."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def under_torchrun(job: dict, dataset: Any) -> int:
    """This process's part of a torchrun run; 1 (and one line) on failure."""
    import os

    from latentlab.core import distributed

    rank = os.environ.get("RANK", "?")
    world = os.environ.get("WORLD_SIZE", "?")
    try:
        run(None, None, None, job, dataset)
    except Exception as exc:  # one line; torchrun adds its own summary
        print(
            f"latentlab: process {rank} of {world} failed: {type(exc).__name__}: "
            f"{distributed.short_reason(str(exc))}",
            file=sys.stderr,
            flush=True,
        )
        return 1
    _exit_now(0)
    return 0  # not reached


def on_processes(nproc: int, job: dict[str, Any]) -> None:
    """Run the job on ``nproc`` processes started here (loopback only)."""
    from latentlab.core import distributed

    distributed.check_nproc(nproc, job["spec"]["device"])
    distributed.spawn_local(spawned, nproc, job)
