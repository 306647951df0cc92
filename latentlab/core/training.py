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
VAE example's loop.
"""

from __future__ import annotations

import copy
import math
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from latentlab.core.data import to_float
from latentlab.core.errors import ConfigError, TrainingError
from latentlab.core.limits import format_bytes, training_budget
from latentlab.core.losses import LossTerms, gaussian_kl, loss_terms
from latentlab.core.models import Autoencoder, build_model, reparameterize
from latentlab.core.text import describe
from latentlab.core.timeline import (
    Timeline,
    TimelineFrame,
    TimelineRecorder,
    record_frame,
    timeline_indices,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Sequence

    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import ImageDataset

PROGRESS_INTERVAL_S = 0.05
RATE_SPAN_S = 1.0  # the shown rate covers about this much of the latest steps


@dataclass(frozen=True, slots=True)
class EpochMetrics:
    """Per-image means in nats for one epoch of one model; ``seconds`` (and the
    rate) of its training steps, pauses left out."""

    epoch: int
    train_loss: float
    train_recon: float
    train_kl: float
    test_recon: float
    test_kl: float
    seconds: float
    samples_per_s: float

    @property
    def test_neg_elbo(self) -> float:
        """Test negative ELBO (recon + KL), nats per image."""
        return self.test_recon + self.test_kl


@dataclass(frozen=True, slots=True)
class TrainProgress:
    """Running means since the previous progress event, for every model.

    ``samples_per_s`` counts training images (each steps every model) over the
    last ``rate_seconds`` of training steps (about :data:`RATE_SPAN_S`): test
    passes, snapshots and pauses are left out. ``elapsed_s`` is the run's time
    without its pauses.
    """

    step: int
    total_steps: int
    epoch: int
    epochs: int
    recon: tuple[float, ...]
    kl: tuple[float, ...]
    loss: tuple[float, ...]
    samples_per_s: float
    elapsed_s: float
    rate_seconds: float

    @property
    def fraction(self) -> float:
        """Share of all steps done, in [0, 1]."""
        return self.step / max(self.total_steps, 1)

    @property
    def eta_s(self) -> float:
        """Estimated seconds left at the current pace."""
        done = self.fraction
        return self.elapsed_s * (1.0 - done) / done if done > 0 else math.inf


@dataclass(frozen=True, slots=True)
class EpochEnd:
    """An epoch finished; ``metrics[i]`` and ``frames[i]`` belong to model ``i``.

    ``frames`` are the timeline codes recorded after this epoch (empty when the
    run records none); ``run_id`` is the same for every epoch of one run.
    """

    epoch: int
    metrics: tuple[EpochMetrics, ...]
    frames: tuple[TimelineFrame, ...] = ()
    run_id: str = ""
    seed: int = 0


@dataclass(frozen=True, slots=True)
class ModelSnapshot:
    """CPU copies of the models' weights, safe to use on another thread."""

    step: int
    epoch: int
    state_dicts: tuple[dict[str, torch.Tensor], ...]


TrainEvent = TrainProgress | EpochEnd | ModelSnapshot


@dataclass(slots=True)
class TrainResult:
    """What training produced. The models themselves were trained in place;
    ``seconds`` is the run's time, its pauses left out."""

    histories: list[list[EpochMetrics]]
    seconds: float
    steps: int
    cancelled: bool = False
    device: str = "cpu"
    notes: list[str] = field(default_factory=list)
    timelines: list[Timeline | None] = field(default_factory=list)
    run_id: str = ""


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` -> CUDA, else Apple MPS, else CPU; any other name is checked.

    Raises
    ------
    ConfigError
        ``name`` is not a device torch knows, or that device is not available.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"unknown device {describe(name)}; use auto, cpu, cuda, cuda:N or mps"
        ) from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {describe(name)} is not available: torch finds no CUDA GPU "
                "here; use --device cpu or auto"
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise ConfigError(
                f"device {describe(name)} does not exist: torch sees {count} CUDA "
                "GPU(s), numbered from 0"
            )
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ConfigError("device 'mps' is not available: no Apple GPU here")
    elif device.type != "cpu":
        raise ConfigError(
            f"unknown device {describe(name)}; use auto, cpu, cuda or mps"
        )
    return device


def training_memory_bytes(config: ModelConfig, batch_size: int) -> int:
    """A rough upper bound of the memory training one model takes, in bytes.

    Weights, gradients and Adam's two moments (4 floats a parameter), plus a
    batch's activations and their gradients. The parameter count comes from a
    "meta" model, which allocates nothing.
    """
    with torch.device("meta"):
        params = sum(p.numel() for p in build_model(config).parameters())
    per_image = 4 * sum(config.hidden) + 8 * config.pixels + 4 * config.latent_dim
    if config.backbone == "conv":
        per_image += 50 * config.pixels  # two conv layers' feature maps, each way
    return 4 * (4 * params + 2 * batch_size * per_image)


def check_training_memory(configs: Sequence[ModelConfig], batch_size: int) -> None:
    """Refuse, before anything is built, a run that cannot fit in memory.

    Raises
    ------
    ConfigError
        The models' estimated need exceeds half of the machine's memory
        (:func:`~latentlab.core.limits.training_budget`); the message gives both.
    """
    need = sum(training_memory_bytes(c, batch_size) for c in configs)
    budget = training_budget()
    if need > budget:
        raise ConfigError(
            f"training would need about {format_bytes(need)} of memory, more than "
            f"LatentLab uses on this machine ({format_bytes(budget)}); choose "
            "smaller --hidden widths, images or --batch-size"
        )


def new_model(config: ModelConfig, seed: int = 0) -> Autoencoder:
    """Build a model with weights drawn from ``seed``, leaving global RNG alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(config)


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
            terms = loss_terms(model.decode_logits(z), x, enc.mu, enc.logvar)
            recon_sum += terms.recon.item() * len(x)
            kl_sum += terms.kl.item() * len(x)
    finally:
        model.train(was_training)
    n = max(len(images), 1)
    return recon_sum / n, kl_sum / n


class FusedAdam:
    """Adam (torch's defaults: betas 0.9, 0.999, eps 1e-8) on its fused kernel.

    The same arithmetic as ``torch.optim.Adam(params, lr, fused=True)``, bit for
    bit, without ``torch.optim``'s machinery: its first use imports
    ``torch._dynamo`` (~1 s and ~160 MiB here), which delayed the first step of
    a run and stayed in the app's memory. The fused kernel updates each tensor
    in one pass; the default on CPU is a per-tensor loop of ~10 elementwise ops
    (0.3 ms against 1.3 ms a step for the 784-400-20 VAE on 2 CPU threads).
    """

    BETAS = (0.9, 0.999)
    EPS = 1e-8

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self._exp_avgs = [torch.zeros_like(p) for p in self.params]
        self._exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
        # torch.optim keeps fused steps as float32 scalars on the device.
        self._steps = [
            torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params
        ]

    def zero_grad(self) -> None:
        """Drop the gradients (``set_to_none``)."""
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every parameter that has a gradient."""
        grads = [p.grad for p in self.params]
        if any(g is None for g in grads):  # not the training loop's case
            have = [i for i, g in enumerate(grads) if g is not None]
            if not have:
                return
            params = [self.params[i] for i in have]
            grads = [grads[i] for i in have]
            exp_avgs = [self._exp_avgs[i] for i in have]
            exp_avg_sqs = [self._exp_avg_sqs[i] for i in have]
            steps = [self._steps[i] for i in have]
        else:
            params, exp_avgs, exp_avg_sqs, steps = (
                self.params,
                self._exp_avgs,
                self._exp_avg_sqs,
                self._steps,
            )
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            params,
            grads,
            exp_avgs,
            exp_avg_sqs,
            [],
            steps,
            lr=self.lr,
            beta1=self.BETAS[0],
            beta2=self.BETAS[1],
            weight_decay=0.0,
            eps=self.EPS,
            amsgrad=False,
            maximize=False,
        )


def _make_optimizer(
    model: torch.nn.Module, lr: float, device: torch.device
) -> FusedAdam | torch.optim.Adam:
    """Adam for ``model`` on ``device``: :class:`FusedAdam` where torch has the
    fused kernel (CPU, CUDA), else ``torch.optim.Adam``."""
    if device.type in ("cpu", "cuda"):
        return FusedAdam(model.parameters(), lr=lr)
    return torch.optim.Adam(model.parameters(), lr=lr)


class _BernoulliNLL(torch.autograd.Function):
    """:func:`~latentlab.core.losses.reconstruction_nats` with cheaper CPU kernels.

    ``softplus(l) - x * l`` summed over pixels, ``(batch,)``, with
    ``softplus(l) = relu(l) - log(sigmoid(|l|))``. torch's logits BCE (and
    ``softplus``) go through ``log1p``, which runs ~10x slower than ``sigmoid`` +
    ``log`` on CPU, and its autograd keeps several pixel-sized buffers; together
    they took a quarter of a batch-128 step. ``sigmoid(|l|)`` lies in [0.5, 1], so
    nothing overflows; rounding it costs under 1e-7 nats per pixel, below float32's
    own error on the sum. The gradient is the closed form ``sigmoid(l) - x``.
    """

    @staticmethod
    def forward(
        ctx: Any,
        logits: torch.Tensor,
        x: torch.Tensor,
    ) -> torch.Tensor:
        log_sig = torch.sigmoid(logits.abs()).log_()
        nll = torch.addcmul(logits.clamp_min(0.0), x, logits, value=-1.0)
        ctx.save_for_backward(logits, x)
        return nll.sub_(log_sig).flatten(1).sum(1)

    @staticmethod
    def backward(
        ctx: Any, grad: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        logits, x = ctx.saved_tensors
        grad = grad.view(-1, *(1,) * (logits.dim() - 1))
        grad_logits = grad_x = None
        if ctx.needs_input_grad[0]:
            grad_logits = torch.sigmoid(logits).sub_(x).mul_(grad)
        if ctx.needs_input_grad[1]:
            grad_x = -logits * grad
        return grad_logits, grad_x


def _train_terms(
    logits: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor | None,
    beta: float,
) -> LossTerms:
    """:func:`~latentlab.core.losses.loss_terms` for a training step."""
    recon = _BernoulliNLL.apply(logits, x).mean()
    if logvar is None:
        return LossTerms(recon, torch.zeros((), device=recon.device), recon)
    kl = gaussian_kl(mu, logvar).mean()
    return LossTerms(recon, kl, recon + beta * kl)


def _onednn_keeps_f32(flags: Any) -> bool:
    """Whether oneDNN, allowed bf16, still multiplies float32 inputs exactly.

    ``1 + 2**-10`` is not a bf16 number: times 1 it comes back unchanged only if
    the inputs were not rounded. Both operand layouts of a training step (``x @
    W.T`` forward, ``g.T @ h`` for weight gradients) are probed at a size above
    the threshold below which torch skips oneDNN.
    """
    old = flags.fp32_precision
    exact = 1.0 + 2.0**-10
    try:
        flags.fp32_precision = "bf16"
        x = torch.full((128, 512), exact)
        w = torch.zeros(384, 512)
        w[:, 0] = 1.0
        e = torch.zeros(128, 384)
        e[0] = 1.0
        forward = torch.nn.functional.linear(x, w)
        weight_grad = x.t() @ e
        return bool((forward == exact).all() and (weight_grad == exact).all())
    except (RuntimeError, ValueError):
        return False
    finally:
        flags.fp32_precision = old


class _OneDnnMatmul:
    """Sends float32 CPU matmuls to oneDNN while the training loop computes.

    torch gives float32 ``mm``/``addmm`` to MKL, which takes its AVX2 path on AMD
    CPUs. On the project's 2-core AMD EPYC, oneDNN's f32 kernels run the step's
    128x784x400 GEMMs at ~390 GFLOP/s against MKL's ~200, and an epoch of the VAE
    784-400-20 or the 2-D VAE takes 1.5-1.7x less time, test figures equal to
    rounding. torch's only switch for that route is
    ``torch.backends.mkldnn.matmul.fp32_precision = "bf16"``, which *allows*
    oneDNN to round inputs to bf16 (as it may where it has bf16 matrix units, such
    as AMX; without AVX-512 torch ignores the switch), so it is used only where
    :func:`_onednn_keeps_f32` shows float32 kept exactly. The switch is
    process-wide: the loop sets it only between its yields, so whatever runs on
    the loop's thread while the generator is paused sees torch's own setting.
    Other threads (the window's, while the app trains on its training thread)
    may see it set; since it is used only where float32 stays exact, their
    results are the same either way.
    """

    def __init__(self, device: torch.device) -> None:
        flags = getattr(torch.backends.mkldnn, "matmul", None)
        usable = (
            device.type == "cpu"
            and torch.backends.mkldnn.is_available()
            and hasattr(flags, "fp32_precision")
            and _onednn_keeps_f32(flags)
        )
        self._flags = flags if usable else None
        self._saved: str | None = None

    @property
    def active(self) -> bool:
        """True where the oneDNN route is in use on this machine."""
        return self._flags is not None

    def resume(self) -> None:
        """Route matmuls to oneDNN (no-op where unusable or already routed)."""
        if self._flags is not None and self._saved is None:
            self._saved = self._flags.fp32_precision
            self._flags.fp32_precision = "bf16"

    def pause(self) -> None:
        """Give torch its own setting back."""
        if self._flags is not None and self._saved is not None:
            self._flags.fp32_precision = self._saved
            self._saved = None

    def paused(self, event: TrainEvent) -> Generator[TrainEvent, None, None]:
        """Yield ``event`` with the switch off; a close at the yield leaves it off."""
        self.pause()
        yield event
        self.resume()


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
            m.to("cpu")
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
    perm_gen = torch.Generator().manual_seed(config.seed)
    eps_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    optimizers = []
    for m in model_list:
        m.to(device)
        m.train()
        optimizers.append(_make_optimizer(m, config.lr, device))
    good_states = [cpu_state_dict(m) for m in model_list]
    good_step = 0
    histories: list[list[EpochMetrics]] = [[] for _ in model_list]
    run_id = uuid.uuid4().hex
    # The timeline's images: the same ones every epoch, drawn by the run's seed.
    tl_indices = timeline_indices(
        len(dataset.test_images), config.timeline_points, config.seed
    )
    tl_images = dataset.test_images[torch.from_numpy(tl_indices)].to(device)
    recorder = TimelineRecorder(n_models)

    clock = _RunClock()
    rate = _RateMeter()
    start = last_snapshot = clock.now()
    window = torch.zeros(n_models, 3, device=device)
    window_steps = window_samples = 0
    epoch_sums = torch.zeros(n_models, 3, device=device)
    step = 0
    cancelled = False
    for epoch in range(1, config.epochs + 1):
        # The previous epoch's test pass is not training: no window spans it.
        epoch_start = last_progress = clock.now()
        epoch_sums.zero_()
        order = torch.randperm(n_train, generator=perm_gen).to(device)
        for lo in range(0, n_train, batch_size):
            x = to_float(images.index_select(0, order[lo : lo + batch_size]))
            for i, (model, opt) in enumerate(zip(model_list, optimizers, strict=True)):
                enc = model.encode(x)
                eps = None
                if enc.logvar is not None:
                    eps = torch.randn(enc.mu.shape, generator=eps_gen, device=device)
                z = model.sample_z(enc, eps)
                terms = _train_terms(
                    model.decode_logits(z), x, enc.mu, enc.logvar, model.config.beta
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
            histories[i].append(metrics[-1])
        good_states = [cpu_state_dict(m) for m in model_list]
        good_step = step
        recorder.add(frames, run_id, config.seed)
        yield from matmul.paused(
            EpochEnd(epoch, tuple(metrics), tuple(frames), run_id, config.seed)
        )
        yield from matmul.paused(ModelSnapshot(step, epoch, tuple(good_states)))
        last_snapshot = clock.now()
    return TrainResult(
        histories=histories,
        seconds=clock.now() - start,
        steps=step,
        cancelled=cancelled,
        device=str(device),
        notes=notes,
        timelines=[recorder.timeline(i) for i in range(n_models)],
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
