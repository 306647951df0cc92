"""What a run needs to continue, kept in its ``.pt`` checkpoint: the epoch and
step reached, Adam's moments, and the two random streams (the batch order and
the VAE's ε). Checked from the stub unpickler's output before torch allocates
anything, like the weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from latentlab.core.checkpoint.unpickler import _TensorStub
from latentlab.core.checkpoint.weights import _contiguous_strides
from latentlab.core.errors import CheckpointError
from latentlab.core.text import describe, shape_text

if TYPE_CHECKING:
    from collections.abc import Mapping

_KEYS = frozenset(
    {"epoch", "step", "seed", "global_batch", "lr", "kl_warmup_epochs", "bf16",
     "adam_step", "exp_avg", "exp_avg_sq", "order_rng", "eps_rng"}
)  # fmt: skip
# A random generator's state: 5,056 bytes on a CPU (Mersenne Twister), 16 on CUDA.
MAX_RNG_BYTES = 8192


@dataclass(frozen=True, slots=True)
class ResumeState:
    """A run's position: epochs done, steps done, Adam's moments per parameter
    name, its step count, and the generators' states."""

    epoch: int
    step: int
    seed: int
    global_batch: int
    lr: float
    kl_warmup_epochs: float
    bf16: bool
    adam_step: int
    exp_avg: dict[str, torch.Tensor]
    exp_avg_sq: dict[str, torch.Tensor]
    order_rng: torch.Tensor
    eps_rng: torch.Tensor

    def to_record(self) -> dict[str, Any]:
        """The plain record a ``.pt`` checkpoint stores."""
        return {
            "epoch": self.epoch,
            "step": self.step,
            "seed": self.seed,
            "global_batch": self.global_batch,
            "lr": float(self.lr),
            "kl_warmup_epochs": float(self.kl_warmup_epochs),
            "bf16": bool(self.bf16),
            "adam_step": self.adam_step,
            "exp_avg": {k: v.detach().cpu().clone() for k, v in self.exp_avg.items()},
            "exp_avg_sq": {
                k: v.detach().cpu().clone() for k, v in self.exp_avg_sq.items()
            },
            "order_rng": self.order_rng.cpu().clone(),
            "eps_rng": self.eps_rng.cpu().clone(),
        }


def _bad(shown: str, reason: str) -> CheckpointError:
    return CheckpointError(f"{shown} has a malformed training state: {reason}")


def _int(value: Any, low: int = 0, high: int = 2**63 - 1) -> bool:
    return type(value) is int and low <= value <= high


def resume_shape(shown: str, params: Mapping[str, tuple[int, ...]], raw: Any) -> int:
    """Check the record's fields and declared tensors (stubs) against the
    model's parameters; the bytes it holds (0 when absent)."""
    if raw is None:
        return 0
    if type(raw) is not dict or set(raw) != _KEYS:
        raise _bad(shown, "missing or unexpected fields")
    for name in ("epoch", "step", "adam_step", "global_batch"):
        if not _int(raw[name]):
            raise _bad(shown, f"{name} is {describe(raw[name])}")
    if not _int(raw["seed"], -(2**63)):
        raise _bad(shown, f"seed is {describe(raw['seed'])}")
    for name in ("lr", "kl_warmup_epochs"):
        if type(raw[name]) is not float or not math.isfinite(raw[name]):
            raise _bad(shown, f"{name} is {describe(raw[name])}")
    if type(raw["bf16"]) is not bool:
        raise _bad(shown, f"bf16 is {describe(raw['bf16'])}")
    nbytes = 0
    for moment in ("exp_avg", "exp_avg_sq"):
        table = raw[moment]
        if type(table) is not dict or set(table) != set(params):
            raise _bad(shown, f"{moment} does not name the model's parameters")
        for key, stub in table.items():
            want = params[key]
            if not isinstance(stub, _TensorStub) or stub.shape != want:
                got = stub.shape if isinstance(stub, _TensorStub) else ()
                raise _bad(
                    shown,
                    f"{moment} {key} is {shape_text(got)}, not {shape_text(want)}",
                )
            _check(shown, f"{moment} {key}", stub, "float32")
            nbytes += 4 * math.prod(want)
    for name in ("order_rng", "eps_rng"):
        stub = raw[name]
        if not isinstance(stub, _TensorStub) or len(stub.shape) != 1:
            raise _bad(shown, f"{name} is not a byte vector")
        if not 1 <= stub.shape[0] <= MAX_RNG_BYTES:
            raise _bad(shown, f"{name} holds {stub.shape[0]} bytes")
        _check(shown, name, stub, "uint8")
        nbytes += stub.shape[0]
    return nbytes


def _check(shown: str, name: str, stub: _TensorStub, dtype: str) -> None:
    if stub.storage.dtype != dtype:
        raise _bad(shown, f"{name} is {stub.storage.dtype}, expected {dtype}")
    numel = math.prod(stub.shape)
    if numel > 1 and stub.stride != _contiguous_strides(stub.shape):
        raise _bad(shown, f"{name} is not stored contiguously")
    if stub.offset + numel > stub.storage.numel:
        raise _bad(shown, f"{name} claims more data than its record holds")


def resume_state(shown: str, raw: Any) -> ResumeState | None:
    """The record torch loaded (already checked as stubs), checked for sense."""
    if raw is None:
        return None
    for moment in ("exp_avg", "exp_avg_sq"):
        for key, value in raw[moment].items():
            if type(value) is not torch.Tensor or not bool(torch.isfinite(value).all()):
                raise _bad(shown, f"{moment} {key} holds NaN or infinite values")
    if bool((torch.cat([v.flatten() for v in raw["exp_avg_sq"].values()]) < 0).any()):
        raise _bad(shown, "a second moment is negative")
    return ResumeState(
        epoch=raw["epoch"],
        step=raw["step"],
        seed=raw["seed"],
        global_batch=raw["global_batch"],
        lr=raw["lr"],
        kl_warmup_epochs=raw["kl_warmup_epochs"],
        bf16=raw["bf16"],
        adam_step=raw["adam_step"],
        exp_avg=dict(raw["exp_avg"]),
        exp_avg_sq=dict(raw["exp_avg_sq"]),
        order_rng=raw["order_rng"],
        eps_rng=raw["eps_rng"],
    )
