"""The fast parts of a training step, each the same arithmetic as torch's own:
Adam on its fused kernel (:class:`FusedAdam`), the logits-form Bernoulli loss
with a closed-form gradient (:class:`_BernoulliNLL`), and the route of float32
CPU matmuls to oneDNN where it keeps float32 exact (:class:`_OneDnnMatmul`).
``bench/train_speed.py`` measures them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from latentlab.core import perf

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable

    from latentlab.core.training_events import TrainEvent


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
    fused kernel (CPU, CUDA), else (or with the ``fused_adam`` device off,
    :mod:`latentlab.core.perf`) ``torch.optim.Adam``."""
    if perf.enabled("fused_adam") and device.type in ("cpu", "cuda"):
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
    results are the same either way. With the ``onednn_matmul`` device off
    (:mod:`latentlab.core.perf`) nothing is probed or set.
    """

    def __init__(self, device: torch.device) -> None:
        flags = getattr(torch.backends.mkldnn, "matmul", None)
        usable = (
            perf.enabled("onednn_matmul")
            and device.type == "cpu"
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


def adam_moments(
    opt: FusedAdam | torch.optim.Adam, model: torch.nn.Module
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor], int]:
    """Adam's two moments by parameter name, and its step count: what a run
    needs to continue (:mod:`latentlab.core.checkpoint.resume`)."""
    names = {id(p): n for n, p in model.named_parameters()}
    first, second, steps = {}, {}, 0
    if isinstance(opt, FusedAdam):
        rows = zip(opt.params, opt._exp_avgs, opt._exp_avg_sqs, opt._steps, strict=True)
        for p, m, v, s in rows:
            first[names[id(p)]], second[names[id(p)]] = m, v
            steps = int(s)
    else:
        for p, name in ((p, names[id(p)]) for p in model.parameters()):
            state = opt.state.get(p, {})
            zeros = torch.zeros_like(p)
            first[name] = state.get("exp_avg", zeros)
            second[name] = state.get("exp_avg_sq", zeros)
            steps = int(state.get("step", steps))
    return first, second, steps


@torch.no_grad()
def load_adam_moments(
    opt: FusedAdam | torch.optim.Adam,
    model: torch.nn.Module,
    first: dict[str, torch.Tensor],
    second: dict[str, torch.Tensor],
    steps: int,
) -> None:
    """Put moments saved by :func:`adam_moments` back."""
    params = dict(model.named_parameters())
    if isinstance(opt, FusedAdam):
        names = {id(p): n for n, p in params.items()}
        for i, p in enumerate(opt.params):
            name = names[id(p)]
            opt._exp_avgs[i].copy_(first[name])
            opt._exp_avg_sqs[i].copy_(second[name])
            opt._steps[i].fill_(float(steps))
        return
    for name, p in params.items():
        opt.state[p] = {
            "step": torch.tensor(float(steps)),
            "exp_avg": first[name].to(p.device).clone(),
            "exp_avg_sq": second[name].to(p.device).clone(),
        }
