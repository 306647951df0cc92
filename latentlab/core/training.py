"""The one training loop, for one model or several trained side by side.

:func:`train` is a plain generator: it yields :class:`TrainProgress`,
:class:`EpochEnd` and :class:`ModelSnapshot` events and returns a
:class:`TrainResult`. The CLI iterates it; the app runs it on a thread of its own
(:mod:`latentlab.core.training_thread`) that stops or pauses between steps.
Several models (the AE and the VAE) are stepped on the same batches, so a viewer
sees both evolve at once.

Speed on a small CPU comes from keeping the whole dataset as one uint8 tensor on
the device, slicing batches from a permutation (no DataLoader, no per-item Python),
a logits-form Bernoulli loss with a closed-form gradient (:class:`_BernoulliNLL`),
Adam's fused kernel and, where it keeps float32 exact, oneDNN's matmul
(:class:`_OneDnnMatmul`). ``bench/train_speed.py`` measures it against the PyTorch
VAE example's loop. Those three are devices of :mod:`latentlab.core.perf`: with
the switch off the loop runs ``torch.optim.Adam``, torch's logits BCE and torch's
own matmul route, and gives the same losses to float rounding.

The events and results are in :mod:`latentlab.core.training_events`, the device,
memory and model setup in :mod:`latentlab.core.training_setup`, and the fast
kernels (Adam, the loss, the matmul route) in
:mod:`latentlab.core.training_kernels`; this module re-exports their public names.
"""

from __future__ import annotations

import copy
import math
import time
import uuid
from collections import deque
from typing import TYPE_CHECKING

import torch

from latentlab.core import perf
from latentlab.core.data import to_float
from latentlab.core.errors import TrainingError
from latentlab.core.losses import (
    LossTerms,
    gaussian_kl,
    loss_terms,
    reconstruction_nats,
)
from latentlab.core.models import Autoencoder, reparameterize
from latentlab.core.timeline import (
    record_frame,
    timeline_indices,
)
from latentlab.core.training_events import (
    EpochEnd,
    EpochMetrics,
    Eta,
    ModelSnapshot,
    RunLog,
    TrainEvent,
    TrainProgress,
    TrainResult,
)
from latentlab.core.training_kernels import (
    FusedAdam,
    _BernoulliNLL,
    _make_optimizer,
    _OneDnnMatmul,
)
from latentlab.core.training_setup import (
    check_training_memory,
    new_model,
    pick_device,
    training_memory_bytes,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Sequence

    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import ImageDataset
    from latentlab.core.model_interface import Likelihood

__all__ = [
    "PROGRESS_INTERVAL_S",
    "RATE_SPAN_S",
    "USUAL_MAX_BETA",
    "USUAL_MAX_LR",
    "EpochEnd",
    "EpochMetrics",
    "Eta",
    "FusedAdam",
    "ModelSnapshot",
    "TrainEvent",
    "TrainProgress",
    "TrainResult",
    "check_training_memory",
    "copy_model",
    "cpu_state_dict",
    "divergence_cause",
    "evaluate",
    "new_model",
    "pick_device",
    "train",
    "training_memory_bytes",
]

PROGRESS_INTERVAL_S = 0.05
RATE_SPAN_S = 1.0  # the shown rate covers about this much of the latest steps


def cpu_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights that shares no memory with the live model."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


@torch.no_grad()
def evaluate(
    model: Autoencoder,
    images: torch.Tensor,
    *,
    batch_size: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Mean test ``(recon, kl)`` in nats per image, one posterior sample each.

    ``images`` is uint8 ``(n, h, w)``. The sample noise is seeded, so the figure
    is reproducible.
    """
    device = next(model.parameters()).device
    gen = torch.Generator(device=device).manual_seed(seed)
    was_training = model.training
    model.eval()
    recon_sum = kl_sum = 0.0
    try:
        for lo in range(0, len(images), batch_size):
            x = to_float(images[lo : lo + batch_size].to(device))
            enc = model.encode(x)
            z = enc.mu
            if enc.logvar is not None:
                z = reparameterize(enc.mu, enc.logvar, generator=gen)
            terms = loss_terms(
                model.decode_logits(z),
                x,
                enc.mu,
                enc.logvar,
                likelihood=model.likelihood,
            )
            recon_sum += terms.recon.item() * len(x)
            kl_sum += terms.kl.item() * len(x)
    finally:
        model.train(was_training)
    n = max(len(images), 1)
    return recon_sum / n, kl_sum / n


def _train_terms(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor | None,
    beta: float,
    likelihood: Likelihood | None = None,
) -> LossTerms:
    """:func:`~latentlab.core.losses.loss_terms` for a training step (the
    ``bernoulli_nll`` device, :mod:`latentlab.core.perf`, or torch's BCE; a
    Gaussian likelihood's own ``log_prob``)."""
    if likelihood is not None and likelihood.name != "bernoulli":
        recon = -likelihood.log_prob(logits, x).mean()
    elif perf.enabled("bernoulli_nll"):
        recon = _BernoulliNLL.apply(logits, x).mean()
    else:
        recon = reconstruction_nats(logits, x).mean()
    if logvar is None:
        return LossTerms(recon, torch.zeros((), device=recon.device), recon)
    kl = gaussian_kl(mu, logvar).mean()
    return LossTerms(recon, kl, recon + beta * kl)


def train(
    models: Autoencoder | Sequence[Autoencoder],
    dataset: ImageDataset,
    config: TrainConfig,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> Generator[TrainEvent, None, TrainResult]:
    """Train ``models`` in place on ``dataset``; a generator of progress events.

    Parameters
    ----------
    models : Autoencoder or sequence of them
        Trained side by side on identical batches, each with its own Adam.
    dataset : ImageDataset
        Its image shape must match every model's config.
    config : TrainConfig
        Epochs, batch size, learning rate, seed, device and threads.
    should_stop : callable, optional
        Checked every step; returning True ends training after that step with
        ``TrainResult.cancelled`` set. (Closing the generator works too.)

    Raises
    ------
    ConfigError
        The device is unknown or unavailable, or the run would not fit in memory.
    TrainingError
        A loss became NaN/inf (the weights are restored to the last snapshot taken
        before it), or torch raised during a step.
    """
    model_list = [models] if isinstance(models, Autoencoder) else list(models)
    if not model_list:
        raise TrainingError("nothing to train: no models given")
    for m in model_list:
        if tuple(m.config.image_shape) != dataset.image_shape:
            raise TrainingError(
                f"the model expects images of shape {m.config.image_shape} but "
                f"{dataset.name} has {dataset.image_shape}"
            )
    n_train = len(dataset.train_images)
    if n_train == 0:
        raise TrainingError(f"{dataset.name} has no training images")
    batch_size = min(config.batch_size, n_train)
    check_training_memory([m.config for m in model_list], batch_size)
    notes = []
    if batch_size < config.batch_size:
        notes.append(f"batch size lowered to {batch_size}, the training-set size")

    device = pick_device(config.device)
    old_threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    matmul: _OneDnnMatmul | None = None
    try:
        matmul = _OneDnnMatmul(device)
        matmul.resume()
        return (
            yield from _train_loop(
                model_list,
                dataset,
                config,
                batch_size,
                device,
                should_stop,
                notes,
                matmul,
            )
        )
    except RuntimeError as exc:
        # torch reports shape, device and memory faults as RuntimeError; callers
        # (and superqt, which reads RuntimeError as "worker deleted") need ours.
        raise TrainingError(f"training failed: {exc}") from exc
    finally:
        if matmul is not None:
            matmul.pause()
        for m in model_list:
            # Back to plain memory (channels-last training, below): files and
            # views see the layout they always did.
            m.to("cpu", memory_format=torch.contiguous_format)
            m.eval()
        if config.threads is not None:
            torch.set_num_threads(old_threads)


class _RunClock:
    """Seconds of a run with its pauses left out: a paused run blocks in
    ``should_stop``, and neither its rate, its epochs' seconds nor its ETA
    should count that wait."""

    def __init__(self) -> None:
        self._paused_s = 0.0

    def now(self) -> float:
        return time.perf_counter() - self._paused_s

    def should_stop(self, should_stop: Callable[[], bool]) -> bool:
        t0 = time.perf_counter()
        try:
            return should_stop()
        finally:
            self._paused_s += time.perf_counter() - t0


class _RateMeter:
    """Images per second over about the last ``span_s`` seconds of steps.

    One progress window (~50 ms, three or four steps) read alone jumps by a
    third from one reading to the next; the shown figure should not.
    """

    def __init__(self, span_s: float = RATE_SPAN_S) -> None:
        self._span_s = span_s
        self._windows: deque[tuple[int, float]] = deque()
        self._samples = 0
        self._seconds = 0.0

    @property
    def seconds(self) -> float:
        """Seconds of steps the rate now covers."""
        return self._seconds

    def add(self, samples: int, seconds: float) -> float:
        """Count a window of steps; returns the rate over the latest span."""
        self._windows.append((samples, seconds))
        self._samples += samples
        self._seconds += seconds
        while (
            len(self._windows) > 1
            and self._seconds - self._windows[0][1] >= self._span_s
        ):
            old_samples, old_seconds = self._windows.popleft()
            self._samples -= old_samples
            self._seconds -= old_seconds
        return self._samples / max(self._seconds, 1e-9)


def _train_loop(
    model_list: list[Autoencoder],
    dataset: ImageDataset,
    config: TrainConfig,
    batch_size: int,
    device: torch.device,
    should_stop: Callable[[], bool] | None,
    notes: list[str],
    matmul: _OneDnnMatmul,
) -> Generator[TrainEvent, None, TrainResult]:
    n_models = len(model_list)
    images = dataset.train_images.to(device)
    n_train = len(images)
    steps_per_epoch = math.ceil(n_train / batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = config.kl_warmup_epochs * steps_per_epoch

    def warmup(step: int) -> float:
        """The KL's weight rises linearly from 0 over the warm-up's steps
        (Bowman et al. 2016): a VAE whose decoder learns slowly keeps its
        codes instead of collapsing onto the prior first."""
        return 1.0 if step >= warmup_steps else step / warmup_steps

    perm_gen = torch.Generator().manual_seed(config.seed)
    eps_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    # Convolutions train ~1.25x faster on a CPU in channels-last memory
    # (oneDNN's NHWC kernels); the ``conv_channels_last`` device.
    channels_last = (
        device.type == "cpu"
        and perf.enabled("conv_channels_last")
        and any(p.dim() == 4 for m in model_list for p in m.parameters())
    )
    memory = torch.channels_last if channels_last else torch.contiguous_format
    optimizers = []
    for m in model_list:
        m.to(device, memory_format=memory)
        m.train()
        optimizers.append(_make_optimizer(m, config.lr, device))
    good_states = [cpu_state_dict(m) for m in model_list]
    good_step = 0
    log = RunLog(n_models)
    run_id = uuid.uuid4().hex
    # The timeline's images: the same ones every epoch, drawn by the run's seed.
    tl_indices = timeline_indices(
        len(dataset.test_images), config.timeline_points, config.seed
    )
    tl_images = dataset.test_images[torch.from_numpy(tl_indices)].to(device)

    clock = _RunClock()
    rate = _RateMeter()
    start = last_snapshot = clock.now()
    window = torch.zeros(n_models, 3, device=device)
    window_steps = window_samples = 0
    epoch_sums = torch.zeros(n_models, 3, device=device)
    steps_done_s = 0.0  # the ended epochs' training seconds (the ETA's pace)
    n_test = len(dataset.test_images)
    step = 0
    cancelled = False
    for epoch in range(1, config.epochs + 1):
        # The previous epoch's test pass is not training: no window spans it.
        epoch_start = last_progress = clock.now()
        epoch_sums.zero_()
        order = torch.randperm(n_train, generator=perm_gen).to(device)
        for lo in range(0, n_train, batch_size):
            x = to_float(images.index_select(0, order[lo : lo + batch_size]))
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            for i, (model, opt) in enumerate(zip(model_list, optimizers, strict=True)):
                enc = model.encode(x)
                eps = None
                if enc.logvar is not None:
                    eps = torch.randn(enc.mu.shape, generator=eps_gen, device=device)
                z = model.sample_z(enc, eps)
                terms = _train_terms(
                    model.decode_logits(z),
                    x,
                    enc.mu,
                    enc.logvar,
                    model.config.beta * warmup(step),
                    model.likelihood,
                )
                opt.zero_grad()
                terms.loss.backward()
                opt.step()
                with torch.no_grad():
                    row = torch.stack((terms.recon, terms.kl, terms.loss))
                    window[i].add_(row)
                    epoch_sums[i].add_(row, alpha=len(x))
            step += 1
            window_steps += 1
            window_samples += len(x)

            now = clock.now()
            if now - last_progress >= PROGRESS_INTERVAL_S or lo + batch_size >= n_train:
                means = (window / window_steps).tolist()
                now = clock.now()  # after the wait for a GPU's queued steps
                _check_finite(
                    means, model_list, good_states, step, good_step, config.lr
                )
                yield from matmul.paused(
                    TrainProgress(
                        step=step,
                        total_steps=total_steps,
                        epoch=epoch,
                        epochs=config.epochs,
                        recon=tuple(r[0] for r in means),
                        kl=tuple(r[1] for r in means),
                        loss=tuple(r[2] for r in means),
                        samples_per_s=rate.add(window_samples, now - last_progress),
                        elapsed_s=now - start,
                        rate_seconds=rate.seconds,
                        steps_s=steps_done_s + (now - epoch_start),
                        images_per_epoch=n_train,
                        test_images=n_test,
                    )
                )
                window.zero_()
                window_steps = window_samples = 0
                if clock.now() - last_snapshot >= config.snapshot_interval_s:
                    good_states = [cpu_state_dict(m) for m in model_list]
                    good_step = step
                    yield from matmul.paused(
                        ModelSnapshot(step, epoch, tuple(good_states))
                    )
                    last_snapshot = clock.now()
                # The next window starts here: the yields and copies are not steps.
                last_progress = clock.now()
            if should_stop is not None and clock.should_stop(should_stop):
                cancelled = True
                break
        if cancelled:
            break
        train_seconds = clock.now() - epoch_start
        steps_done_s += train_seconds
        sums = (epoch_sums / n_train).tolist()
        _check_finite(sums, model_list, good_states, step, good_step, config.lr)
        metrics = []
        frames = []
        for i, model in enumerate(model_list):
            test_recon, test_kl = evaluate(
                model, dataset.test_images, batch_size=config.eval_batch_size
            )
            if len(tl_indices):
                frames.append(
                    record_frame(
                        model, tl_images, tl_indices, epoch, test_recon, test_kl
                    )
                )
            model.train()
            metrics.append(
                EpochMetrics(
                    epoch=epoch,
                    train_loss=sums[i][2],
                    train_recon=sums[i][0],
                    train_kl=sums[i][1],
                    test_recon=test_recon,
                    test_kl=test_kl,
                    seconds=train_seconds,
                    samples_per_s=n_train / max(train_seconds, 1e-9),
                )
            )
        good_states = [cpu_state_dict(m) for m in model_list]
        good_step = step
        epoch_end = EpochEnd(epoch, tuple(metrics), tuple(frames), run_id, config.seed)
        log.add(epoch_end)
        yield from matmul.paused(epoch_end)
        yield from matmul.paused(ModelSnapshot(step, epoch, tuple(good_states)))
        last_snapshot = clock.now()
    return TrainResult(
        histories=log.histories,
        seconds=clock.now() - start,
        steps=step,
        cancelled=cancelled,
        device=str(device),
        notes=notes,
        timelines=[log.timeline(i) for i in range(n_models)],
        run_id=run_id,
    )


def _check_finite(
    rows: list[list[float]],
    model_list: list[Autoencoder],
    good_states: list[dict[str, torch.Tensor]],
    step: int,
    good_step: int,
    lr: float,
) -> None:
    for i, row in enumerate(rows):
        if not all(math.isfinite(v) for v in row):
            for model, state in zip(model_list, good_states, strict=True):
                model.load_state_dict(state)
            model = model_list[i]
            raise TrainingError(
                f"training diverged: the {model.config.kind.upper()}'s loss became "
                f"{row[2]} by step {step}; weights restored to step {good_step}. "
                + divergence_cause(model.config, lr)
            )


# Beyond these, divergence is most likely the setting's doing.
USUAL_MAX_BETA = 100.0
USUAL_MAX_LR = 1e-2


def divergence_cause(config: ModelConfig, lr: float) -> str:
    """The likely cause of a diverged run, named from its settings."""
    causes = []
    if config.kind == "vae" and config.beta > USUAL_MAX_BETA:
        causes.append(
            f"β = {config.beta:g} is far above the 0 to {USUAL_MAX_BETA:g} VAEs "
            "train with (β·KL overflows or swamps the reconstruction): try a "
            "smaller β"
        )
    if lr > USUAL_MAX_LR:
        causes.append(
            f"the learning rate {lr:g} is above Adam's usual 1e-4 to "
            f"{USUAL_MAX_LR:g}: try a lower learning rate, such as 1e-3"
        )
    if causes:
        return "Likely cause: " + "; and ".join(causes) + "."
    settings = f"β = {config.beta:g} and " if config.kind == "vae" else ""
    return (
        f"{settings}the learning rate {lr:g} are in the usual range, so look at "
        "the data (are the images all one value, or mostly empty?), or try a "
        "lower learning rate."
    )


def copy_model(model: Autoencoder) -> Autoencoder:
    """A detached deep copy (e.g. a frozen decoder for the GUI thread)."""
    return copy.deepcopy(model)
