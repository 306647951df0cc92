"""The timeline a checkpoint may store (its run's codes of a test subset, epoch
by epoch): its record and declared tensors checked in the dry run, then the
arrays torch loaded checked against them and for sense."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from latentlab.core.checkpoint.format import (
    MAX_HISTORY,
    MAX_RUN_ID,
    MAX_TIMELINE_BYTES,
)
from latentlab.core.checkpoint.unpickler import _TensorStub
from latentlab.core.checkpoint.validation import _describe
from latentlab.core.checkpoint.weights import _contiguous_strides
from latentlab.core.errors import CheckpointError
from latentlab.core.limits import format_bytes
from latentlab.core.text import describe, format_int, printable, shape_text
from latentlab.core.timeline import MAX_TIMELINE_POINTS, Timeline

if TYPE_CHECKING:
    from latentlab.core.config import ModelConfig

_TIMELINE_KEYS = frozenset(
    ("run_id", "seed", "indices", "epochs", "codes", "sigma", "test_recon", "test_kl")
)


@dataclass(frozen=True, slots=True)
class _TimelineShape:
    """What the dry run checked of a timeline: its sizes, and its tensors' dtypes."""

    epochs: int
    points: int
    latent_dim: int
    has_sigma: bool
    run_id: str
    seed: int

    @property
    def nbytes(self) -> int:
        codes = self.epochs * self.points * self.latent_dim * 2
        return 8 * (self.points + self.epochs) + codes * (2 if self.has_sigma else 1)

    def shapes(self) -> dict[str, tuple[tuple[int, ...], str]]:
        e, n, d = self.epochs, self.points, self.latent_dim
        out = {
            "indices": ((n,), "int64"),
            "epochs": ((e,), "int64"),
            "codes": ((e, n, d), "float16"),
            "test_recon": ((e,), "float32"),
            "test_kl": ((e,), "float32"),
        }
        if self.has_sigma:
            out["sigma"] = ((e, n, d), "float16")
        return out


def _bad_timeline(shown: str, reason: str) -> CheckpointError:
    return CheckpointError(f"{shown} has a malformed timeline: {reason}")


def _timeline_shape(shown: str, config: ModelConfig, raw: Any) -> _TimelineShape | None:
    """Check the timeline's record and declared tensors (stubs); None: absent."""
    if raw is None:
        return None
    if type(raw) is not dict:
        raise _bad_timeline(shown, _describe(raw))
    if set(raw) != _TIMELINE_KEYS:
        odd = sorted(
            printable(k, 20) if isinstance(k, str) else describe(k)
            for k in set(raw) ^ _TIMELINE_KEYS
        )
        raise _bad_timeline(shown, f"missing or unexpected {', '.join(odd[:4])}")
    run_id, seed = raw["run_id"], raw["seed"]
    if type(run_id) is not str or len(run_id) > MAX_RUN_ID:
        raise _bad_timeline(shown, f"run id is {describe(run_id)}")
    if type(seed) is not int or not -(2**63) <= seed < 2**63:
        raise _bad_timeline(shown, f"seed is {describe(seed)}")
    for name in _TIMELINE_KEYS - {"run_id", "seed", "sigma"}:
        if not isinstance(raw[name], _TensorStub):
            raise _bad_timeline(shown, f"{name} is {describe(raw[name])}, not a tensor")
    sigma = raw["sigma"]
    if config.kind == "vae" and not isinstance(sigma, _TensorStub):
        raise _bad_timeline(shown, "a VAE's timeline needs its sigma tensor")
    if config.kind == "ae" and sigma is not None:
        raise _bad_timeline(shown, "an autoencoder's timeline has no sigma")
    codes = raw["codes"].shape
    if len(codes) != 3:
        raise _bad_timeline(shown, "its codes are not (epochs, images, latent)")
    epochs, points, dim = codes
    if dim != config.latent_dim:
        raise _bad_timeline(
            shown,
            f"its codes are {format_int(dim)}-D, the model's {config.latent_dim}-D",
        )
    if not 1 <= epochs <= MAX_HISTORY:
        raise _bad_timeline(
            shown, f"{format_int(epochs)} epochs (1 to {MAX_HISTORY:,})"
        )
    if not 1 <= points <= MAX_TIMELINE_POINTS:
        raise _bad_timeline(
            shown, f"{format_int(points)} images (1 to {MAX_TIMELINE_POINTS:,})"
        )
    shape = _TimelineShape(epochs, points, dim, sigma is not None, run_id, seed)
    if shape.nbytes > MAX_TIMELINE_BYTES:
        raise _bad_timeline(
            shown,
            f"{format_bytes(shape.nbytes)} of codes, more than LatentLab stores "
            f"({format_bytes(MAX_TIMELINE_BYTES)})",
        )
    for name, (want, dtype) in shape.shapes().items():
        stub = raw[name]
        if stub.shape != want:
            raise _bad_timeline(
                shown,
                f"{name} is {shape_text(stub.shape)}, expected {shape_text(want)}",
            )
        if stub.storage.dtype != dtype:
            raise _bad_timeline(
                shown, f"{name} is {stub.storage.dtype}, expected {dtype}"
            )
        numel = math.prod(stub.shape)
        if stub.stride != _contiguous_strides(stub.shape) and numel > 1:
            raise _bad_timeline(shown, f"{name} is not stored contiguously")
        if stub.offset + numel > stub.storage.numel:
            raise _bad_timeline(shown, f"{name} claims more data than its record holds")
    return shape


def _timeline(shown: str, shape: _TimelineShape, raw: Any) -> Timeline:
    """The timeline torch loaded, checked against the dry run and for sense."""
    if type(raw) is not dict:
        raise _bad_timeline(shown, "it is not a record")
    arrays = {}
    for name, (want, dtype) in shape.shapes().items():
        t = raw.get(name)
        if (
            type(t) is not torch.Tensor
            or t.layout != torch.strided
            or t.device.type != "cpu"
            or str(t.dtype).removeprefix("torch.") != dtype
            or tuple(t.shape) != want
        ):
            raise _bad_timeline(shown, f"{name} does not match its record")
        arrays[name] = t.contiguous().numpy().copy()
    indices, epochs = arrays["indices"], arrays["epochs"]
    if indices[0] < 0 or (len(indices) > 1 and not (np.diff(indices) > 0).all()):
        raise _bad_timeline(shown, "its image indices are not distinct and increasing")
    if epochs[0] < 1 or (len(epochs) > 1 and not (np.diff(epochs) > 0).all()):
        raise _bad_timeline(shown, "its epochs are not increasing from 1")
    if epochs[-1] > MAX_HISTORY:
        raise _bad_timeline(shown, f"epoch {int(epochs[-1]):,} is past {MAX_HISTORY:,}")
    for name in ("codes", "sigma", "test_recon", "test_kl"):
        if name in arrays and not np.isfinite(arrays[name]).all():
            raise _bad_timeline(shown, f"its {name} hold NaN or infinity")
    sigma = arrays.get("sigma")
    if sigma is not None and not (sigma > 0).all():
        raise _bad_timeline(shown, "its sigma values are not all positive")
    return Timeline(
        indices=indices,
        epochs=epochs,
        codes=arrays["codes"],
        sigma=sigma,
        test_recon=arrays["test_recon"],
        test_kl=arrays["test_kl"],
        run_id=shape.run_id,
        seed=shape.seed,
    )
