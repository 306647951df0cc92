"""Training on several processes, GPUs or machines: PyTorch's own engine
(``torch.distributed`` with ``DistributedDataParallel``), started by torchrun or
by ``latentlab train --nproc N``.

Each process trains on its shard of every global batch; DDP averages the
gradients. The run is the same run as one process with the global batch:

- every process draws the epoch's order from the run's seed (the same
  permutation as one process) and takes its contiguous part of each global
  batch of ``world x batch_size`` images — sharded as ``DistributedSampler``
  does, without its padding (which repeats images);
- each process's loss is its images' summed loss over the global batch's size,
  times the world size, so DDP's average of the gradients is the gradient of
  the global batch's mean loss, a short last batch included;
- a VAE's ε is drawn per image from the run's stream, for the global batch,
  and each process takes its rows: the same ε as one process draws;
- the test pass hands out whole batches, every process drawing every batch's
  noise to stay on the one stream, and the sums are reduced: the figures are
  those of the whole test set.

``--nproc N`` starts its processes itself on this machine with a file store
in a private folder and gloo's sockets on the loopback interface only: no port
opens on another interface (torch's TCP store, and so torchrun's rendezvous,
listen on every interface whatever address they are given).
"""

from __future__ import annotations

import datetime
import math
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch import nn

from latentlab.core.checkpoint.resume import ResumeState
from latentlab.core.errors import ConfigError, TrainingError
from latentlab.core.losses import gaussian_kl, recon_nats
from latentlab.core.training_kernels import adam_moments, load_adam_moments

if TYPE_CHECKING:
    from collections.abc import Callable

    from latentlab.core.config import TrainConfig
    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder
    from latentlab.core.training_events import EpochMetrics

# One dead process ends the run in this many seconds, not gloo's 30 minutes.
TIMEOUT_S = 60.0
MAX_PROCESSES = 64


@dataclass(frozen=True, slots=True)
class Group:
    """This process's place in the run."""

    rank: int
    world: int
    device: torch.device

    @property
    def leader(self) -> bool:
        """Rank 0: the one process that prints and writes files."""
        return self.rank == 0


def torchrun_world() -> int:
    """The world size torchrun (or any launcher setting ``WORLD_SIZE``) gave
    this process; 1 outside one."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def join(
    device_name: str,
    *,
    rank: int | None = None,
    world: int | None = None,
    store_path: str | None = None,
    timeout_s: float = TIMEOUT_S,
) -> Group:
    """Join the run's process group: torchrun's environment (``env://``), or
    the file store of :func:`spawn_local` (``store_path``, with ``rank`` and
    ``world``). gloo on a CPU, NCCL on CUDA, from ``device_name``."""
    from latentlab.core.training_setup import pick_device

    device = pick_device(device_name)
    if rank is None:
        rank, world = int(os.environ["RANK"]), torchrun_world()
        local = int(os.environ.get("LOCAL_RANK", "0"))
    else:
        local = rank
    if device.type == "cuda":
        if device.index is not None and world == 1:
            local = device.index  # one process: the GPU asked for
        elif device.index is not None:
            raise ConfigError(
                "with several processes each takes the GPU of its local rank: pass "
                "--device cuda, and CUDA_VISIBLE_DEVICES to choose the GPUs"
            )
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"process {rank} would use GPU {local}, but torch sees "
                f"{torch.cuda.device_count()}: start one process per GPU"
            )
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    elif device.type == "mps":
        raise ConfigError("training on several processes needs CUDA GPUs or CPUs")
    timeout = datetime.timedelta(seconds=timeout_s)
    if store_path is not None:
        store = dist.FileStore(store_path, world)
        dist.init_process_group(
            _backend(device), store=store, rank=rank, world_size=world, timeout=timeout
        )
    else:
        dist.init_process_group(_backend(device), timeout=timeout)
    return Group(rank, world, device)


def barrier() -> None:
    """Wait for every process (a no-op outside a process group)."""
    if dist.is_initialized():
        dist.barrier()


def short_reason(text: str) -> str:
    """The last line of a traceback, its exception named without its module:
    ``"DataError: ..."``."""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else "an error"
    return re.sub(r"^(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*): ", r"\1: ", last)


def leave() -> None:
    """Leave the process group (a no-op outside one)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def shard(n: int, rank: int, world: int) -> tuple[int, int]:
    """Process ``rank``'s contiguous part ``[lo, hi)`` of ``n`` items: the
    first ``n % world`` processes take one more (none is repeated)."""
    base, extra = divmod(n, world)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (rank < extra)


class _Objective(nn.Module):
    """One shard's share of the global batch's loss, as DDP's forward: the sum
    of its images' losses over the global batch size, times the world size."""

    def __init__(self, model: Autoencoder) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, x: torch.Tensor, eps: torch.Tensor | None, beta: float, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        model = self.model
        enc = model.encode(x)
        z = model.sample_z(enc, eps)
        # The loss in float32 whatever the forward pass ran in (bf16 autocast).
        logits = model.decode_logits(z).float()
        recon = recon_nats(logits, x, model.likelihood)
        kl = (
            gaussian_kl(enc.mu.float(), enc.logvar.float())
            if enc.logvar is not None
            else torch.zeros_like(recon)
        )
        recon_sum, kl_sum = recon.sum(), kl.sum()
        return (recon_sum + beta * kl_sum) * scale, recon_sum, kl_sum


def _reduce(values: list[float], device: torch.device) -> list[float]:
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


@torch.no_grad()
def evaluate_sharded(
    model: Autoencoder,
    images: torch.Tensor,
    group: Group,
    *,
    batch_size: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """:func:`~latentlab.core.training.evaluate` over the processes: whole
    batches handed out in turn, each process drawing every batch's noise (one
    stream, as one process draws it), the sums reduced. Every process gets
    the figures of the whole test set."""
    from latentlab.core.datasets.image_dataset import to_float
    from latentlab.core.losses import loss_terms
    from latentlab.core.models import reparameterize

    device = group.device
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    sums = [0.0, 0.0]
    try:
        for j, lo in enumerate(range(0, len(images), batch_size)):
            batch = images[lo : lo + batch_size]
            if model.is_variational:
                shape = (len(batch), model.latent_dim)
                eps = torch.randn(shape, generator=gen, device=device)
            if j % group.world != group.rank:
                continue
            x = to_float(batch.to(device))
            enc = model.encode(x)
            z = enc.mu
            if enc.logvar is not None:
                z = reparameterize(enc.mu, enc.logvar, eps)
            terms = loss_terms(
                model.decode_logits(z),
                x,
                enc.mu,
                enc.logvar,
                likelihood=model.likelihood,
            )
            sums[0] += terms.recon.item() * len(x)
            sums[1] += terms.kl.item() * len(x)
    finally:
        model.train(was_training)
    recon, kl = _reduce(sums, device)
    n = max(len(images), 1)
    return recon / n, kl / n


def train_sharded(
    model: Autoencoder,
    dataset: ImageDataset,
    config: TrainConfig,
    group: Group,
    *,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    resume: ResumeState | None = None,
    history: list[EpochMetrics] | None = None,
    on_saved_state: Callable[[list[EpochMetrics], ResumeState], None] | None = None,
) -> list[EpochMetrics]:
    """Train ``model`` in place on this process's shards; returns the history
    (each epoch's figures are the whole run's, the same on every process).

    ``config.batch_size`` is each process's batch: the global batch is
    ``world`` times it. ``on_step(step, total, loss)`` and ``on_epoch`` are
    called on every process (the caller prints on the leader alone).

    ``resume`` (with the run's ``history`` so far) continues a run from the
    state it saved: the same weights, Adam moments and random streams, so it
    ends where the uninterrupted run would. ``on_saved_state(history, state)``
    gets that state after every epoch (the caller writes it on the leader).
    """
    import time

    from torch.nn.parallel import DistributedDataParallel

    from latentlab.core.datasets.image_dataset import to_float
    from latentlab.core.training_events import EpochMetrics
    from latentlab.core.training_kernels import _make_optimizer

    device = group.device
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    images = dataset.train_images.to(device)
    n_train = len(images)
    global_batch = min(config.batch_size * group.world, n_train)
    steps_per_epoch = math.ceil(n_train / global_batch)
    total = steps_per_epoch * config.epochs
    warmup_steps = config.kl_warmup_epochs * steps_per_epoch
    perm_gen = torch.Generator().manual_seed(config.seed)
    eps_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    model.to(device).train()
    ddp = DistributedDataParallel(
        _Objective(model), device_ids=[device.index] if device.type == "cuda" else None
    )
    opt = _make_optimizer(model, config.lr, device)
    autocast = _autocast(device, config.bf16)
    history = list(history or [])
    step, first_epoch = 0, 1
    if resume is not None:
        check_resume(resume, config, global_batch)
        load_adam_moments(
            opt, model, resume.exp_avg, resume.exp_avg_sq, resume.adam_step
        )
        perm_gen.set_state(resume.order_rng)
        try:
            eps_gen.set_state(resume.eps_rng)
        except RuntimeError as exc:
            raise ConfigError(
                "the run was saved on another kind of device; resume it on the one "
                f"it ran on ({exc})"
            ) from None
        step, first_epoch = resume.step, resume.epoch + 1
    for epoch in range(first_epoch, config.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n_train, generator=perm_gen).to(device)
        sums = [0.0, 0.0, 0.0]  # recon, kl, loss: this process's, summed
        for lo in range(0, n_train, global_batch):
            index = order[lo : lo + global_batch]
            a, b = shard(len(index), group.rank, group.world)
            x = to_float(images.index_select(0, index[a:b]))
            eps = None
            if model.is_variational:
                shape = (len(index), model.latent_dim)
                eps = torch.randn(shape, generator=eps_gen, device=device)[a:b]
            beta = model.config.beta * (
                1.0 if step >= warmup_steps else step / warmup_steps
            )
            with autocast:
                loss, recon, kl = ddp(x, eps, beta, group.world / len(index))
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            r, k = recon.item(), kl.item()
            sums[0] += r
            sums[1] += k
            sums[2] += r + beta * k
            if on_step is not None:
                on_step(step, total, (r + beta * k) / max(b - a, 1))
        seconds = time.perf_counter() - start
        recon_all, kl_all, loss_all = _reduce(sums, device)
        if not all(map(math.isfinite, (recon_all, kl_all))):
            raise TrainingError(
                f"the loss became NaN or infinite in epoch {epoch}; try a lower "
                "--lr or --batch-size"
            )
        test_recon, test_kl = evaluate_sharded(
            model, dataset.test_images, group, batch_size=config.eval_batch_size
        )
        metrics = EpochMetrics(
            epoch=epoch,
            train_loss=loss_all / n_train,
            train_recon=recon_all / n_train,
            train_kl=kl_all / n_train,
            test_recon=test_recon,
            test_kl=test_kl,
            seconds=seconds,
            samples_per_s=n_train / max(seconds, 1e-9),
        )
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics)
        if on_saved_state is not None:
            first, second, adam_step = adam_moments(opt, model)
            state = ResumeState(
                epoch=epoch,
                step=step,
                seed=config.seed,
                global_batch=global_batch,
                lr=float(config.lr),
                kl_warmup_epochs=float(config.kl_warmup_epochs),
                bf16=config.bf16,
                adam_step=adam_step,
                exp_avg=first,
                exp_avg_sq=second,
                order_rng=perm_gen.get_state(),
                eps_rng=eps_gen.get_state(),
            )
            on_saved_state(list(history), state)
    model.to("cpu").eval()
    return history


def _native_bf16() -> bool:
    """True for a GPU that computes in bfloat16 itself (Ampere on), not by
    emulation."""
    try:
        return torch.cuda.is_bf16_supported(including_emulation=False)
    except TypeError:  # an older torch: no emulation counted
        return torch.cuda.is_bf16_supported()


def _autocast(device: torch.device, bf16: bool) -> torch.autocast:
    """bfloat16 autocast for the steps' forward passes, when asked and the
    device has it (the losses and the optimizer stay in float32)."""
    if bf16 and device.type == "cuda" and not _native_bf16():
        raise ConfigError(
            f"{torch.cuda.get_device_name(device)} has no bfloat16: leave out --bf16"
        )
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16)


def check_resume(state: ResumeState, config: TrainConfig, global_batch: int) -> None:
    """Refuse to continue a run under settings that would make it another run."""
    changes = []
    if state.seed != config.seed:
        changes.append(f"--seed {state.seed} (not {config.seed})")
    if state.global_batch != global_batch:
        changes.append(
            f"a global batch of {state.global_batch} (processes x --batch-size; "
            f"not {global_batch})"
        )
    if state.lr != float(config.lr):
        changes.append(f"--lr {state.lr:g} (not {config.lr:g})")
    if state.kl_warmup_epochs != float(config.kl_warmup_epochs):
        changes.append(
            f"--kl-warmup {state.kl_warmup_epochs:g} (not {config.kl_warmup_epochs:g})"
        )
    if state.bf16 != config.bf16:
        changes.append("--bf16" if state.bf16 else "without --bf16")
    if changes:
        raise ConfigError(
            "to continue the run as it would have gone on, resume it with "
            + ", ".join(changes)
        )
    if state.epoch >= config.epochs:
        raise ConfigError(
            f"the run has done {state.epoch} epochs already: pass --epochs above "
            f"{state.epoch} (the total to reach)"
        )


def private_store() -> str:
    """A path for :func:`join`'s file store in a folder only this user may
    enter (the store holds the run's rendezvous)."""
    folder = tempfile.mkdtemp(prefix="latentlab-run-")
    return os.path.join(folder, "store")


def check_nproc(nproc: int, device_name: str) -> None:
    """Refuse a process count this machine cannot run, saying why."""
    if not 1 <= nproc <= MAX_PROCESSES:
        raise ConfigError(f"--nproc must be from 1 to {MAX_PROCESSES}, not {nproc}")
    if device_name.startswith("cuda") and nproc > max(torch.cuda.device_count(), 1):
        raise ConfigError(
            f"--nproc {nproc} on CUDA needs {nproc} GPUs; torch sees "
            f"{torch.cuda.device_count()} (NCCL refuses two processes on one GPU)"
        )


def spawn_local(worker: Callable[..., Any], nproc: int, *args: Any) -> None:
    """Run ``worker(rank, nproc, store_path, *args)`` in ``nproc`` fresh
    processes on this machine; gloo's sockets on the loopback interface. A
    failure in any process ends them all and raises :class:`TrainingError`
    naming the process and why."""
    import torch.multiprocessing as mp

    store = private_store()
    # Inherited by the spawned processes, and this one's own left as it was.
    loopback = "lo0" if sys.platform == "darwin" else "lo"
    settings = {
        "GLOO_SOCKET_IFNAME": loopback,
        "NCCL_SOCKET_IFNAME": loopback,
        # The cores shared out: N processes of all-core thread pools fight.
        "OMP_NUM_THREADS": os.environ.get(
            "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc))
        ),
    }
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    # torch writes a failed process's traceback to a temporary file and leaves
    # it: into the private folder, removed below.
    saved_tempdir, tempfile.tempdir = tempfile.tempdir, os.path.dirname(store)
    try:
        mp.start_processes(
            worker, args=(nproc, store, *args), nprocs=nproc, start_method="spawn"
        )
    except mp.ProcessRaisedException as exc:
        raise TrainingError(
            f"process {exc.error_index} of {nproc} failed: {short_reason(str(exc))}"
        ) from None
    except mp.ProcessExitedException as exc:
        raise TrainingError(
            f"process {exc.error_index} of {nproc} ended with exit code {exc.exit_code}"
        ) from None
    finally:
        tempfile.tempdir = saved_tempdir
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        folder = os.path.dirname(store)
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)
