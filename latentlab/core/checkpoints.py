"""Checkpoint files: one model each, saved atomically, loaded without pickled code.

A checkpoint is a dict of tensors and primitives only, in torch's zip format.
Loading reads nothing blindly: the zip's directory is checked first (stored
entries only, sizes within the file), then the pickle is read by a stub
unpickler that builds no tensor and calls nothing, so the config, every
tensor's declared size and layout, and every other field are checked against
the format and the machine's memory before ``torch.load(..., weights_only=True)``
allocates anything. The model is built and filled before :func:`load_checkpoint`
returns. Every failure raises :class:`CheckpointError` naming the file and
saying, in one line, what is wrong with it.

Every number in the record is bounded before it is used or shown: a history's
epochs run from 1 to :data:`MAX_EPOCH` and strictly increase, its figures and
the metrics are finite, other integers fit 64 bits, and JSON integers have at
most 20 digits. Messages show numbers and strings from the file only through
:mod:`latentlab.core.text`, so no file makes a message long, and none reaches
Python's limit on turning a huge integer into text.

The work is split by responsibility in :mod:`latentlab.core.checkpoint` (the
format's bounds, saving, the zip archive, the stub unpickler, the dry run, the
record's fields, the weights, the timeline, safetensors); this module holds
:class:`Checkpoint`, :func:`load_checkpoint` and :func:`metrics_summary`, and
re-exports the rest of the public API (:func:`save_checkpoint`, the constants).
"""

from __future__ import annotations

import contextlib
import math
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import torch

from latentlab.core import safetensors_io
from latentlab.core.checkpoint.archive import _read_archive
from latentlab.core.checkpoint.dry_load import _dry_load, _pythae_record, _Record
from latentlab.core.checkpoint.format import (
    DATA_SLACK_BYTES,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_EPOCH,
    MAX_HISTORY,
    MAX_INT,
    MAX_LIST,
    MAX_PICKLE_BYTES,
    MAX_RUN_ID,
    MAX_TEXT,
    MAX_TIMELINE_BYTES,
    MAX_ZIP_ENTRIES,
    SAFETENSORS_SUFFIX,
    _corrupt,
    _reason,
    is_safetensors_path,
)
from latentlab.core.checkpoint.pythae import is_pythae_folder, read_pythae_folder
from latentlab.core.checkpoint.resume import ResumeState, resume_state
from latentlab.core.checkpoint.safetensors_read import _read_safetensors
from latentlab.core.checkpoint.save import save_checkpoint
from latentlab.core.checkpoint.timeline import _timeline
from latentlab.core.errors import CheckpointError
from latentlab.core.limits import format_bytes, memory_budget
from latentlab.core.models import build_model
from latentlab.core.text import printable, printable_path
from latentlab.core.training import EpochMetrics

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.config import ModelConfig
    from latentlab.core.models import Autoencoder
    from latentlab.core.timeline import Timeline

__all__ = [
    "DATA_SLACK_BYTES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_EPOCH",
    "MAX_HISTORY",
    "MAX_INT",
    "MAX_LIST",
    "MAX_PICKLE_BYTES",
    "MAX_RUN_ID",
    "MAX_TEXT",
    "MAX_TIMELINE_BYTES",
    "MAX_ZIP_ENTRIES",
    "SAFETENSORS_SUFFIX",
    "Checkpoint",
    "EpochMetrics",
    "is_safetensors_path",
    "load_checkpoint",
    "metrics_summary",
    "save_checkpoint",
]


@dataclass(slots=True)
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (CPU, eval mode) and its record."""

    model: Autoencoder
    path: Path | None = None
    history: list[EpochMetrics] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    created: str = ""
    # What a model trained elsewhere is ("PyTorch-example VAE, 784-400-20");
    # empty for LatentLab's own checkpoints.
    origin: str = ""
    timeline: Timeline | None = None
    # What a run needs to continue (``latentlab train --resume``), when saved.
    resume: ResumeState | None = None

    @property
    def needs_dataset(self) -> bool:
        """True for a model trained elsewhere whose file names no dataset."""
        return bool(self.origin) and not self.dataset.get("name")

    @property
    def config(self) -> ModelConfig:
        """The model's config."""
        return self.model.config

    @property
    def epochs(self) -> int:
        """Epochs trained (length of the history)."""
        return len(self.history)

    def title(self) -> str:
        """One-line description: kind, dataset, latent size, beta, epochs.

        The dataset name comes from the file, so it is escaped
        (:func:`~latentlab.core.text.printable`) and shortened.
        """
        cfg = self.config
        name = self.dataset.get("name")
        shown = printable(name, 60) if isinstance(name, str) else "unknown data"
        if self.origin:
            history = (
                f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
                if self.history
                else "no training history"
            )
            text = f"{printable(self.origin, 80)}, {history}"
            return text if name is None else f"{text} · {shown}"
        parts = [cfg.kind.upper(), shown]
        parts.append(f"{cfg.latent_dim}-D")
        if cfg.kind == "vae":
            parts.append(f"β={cfg.beta:g}")
        if cfg.backbone != "mlp":
            parts.append(cfg.backbone)
        parts.append(f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        return " · ".join(parts)


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Everything is checked before anything large is allocated, and the model is
    built and holds the file's weights before this returns: a caller gets a
    complete :class:`Checkpoint` or a :class:`CheckpointError`, never half.

    Raises
    ------
    CheckpointError
        For any file that is not a readable, intact, consistent LatentLab
        checkpoint of a version this LatentLab understands, or one that would
        need more memory than :func:`~latentlab.core.limits.memory_budget`.
    """
    p = Path(path)
    shown = printable_path(p)
    if is_pythae_folder(p):
        return _load_pythae(p)
    with _open(p, shown) as (fh, size):
        head = fh.read(16)
        fh.seek(0)
        if is_safetensors_path(p) or (
            not head.startswith(b"PK")
            and safetensors_io.looks_like_safetensors(head, size)
        ):
            record, payload = _read_safetensors(fh, size, shown)
        else:
            archive = _read_archive(fh, size, shown)
            record = _dry_load(archive, shown)
            fh.seek(0)
            payload = _torch_load(fh, shown)
            if record.layout is not None:  # a plain state dict is all weights
                payload = {"state_dict": payload}
    try:
        return _build(p, shown, record, payload)
    except CheckpointError:
        raise
    except Exception as exc:  # last line of defence: torch faults on odd tensors
        raise CheckpointError(
            f"{shown}: its weights cannot be loaded ({_reason(exc)})"
        ) from exc


@contextlib.contextmanager
def _open(p: Path, shown: str):
    try:
        # One stat inside the try: a folder we may not enter raises PermissionError
        # here, and a FIFO or device must be refused before open() blocks on it.
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise CheckpointError(f"{shown} is a folder, not a checkpoint file")
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{shown} is not a regular file")
        if info.st_size == 0:
            raise CheckpointError(f"{shown} is empty (0 bytes)")
        fh = p.open("rb")
    except FileNotFoundError as exc:
        raise CheckpointError(f"{shown} does not exist") from exc
    except PermissionError as exc:
        raise CheckpointError(f"cannot read {shown}: permission denied") from exc
    except OSError as exc:
        raise CheckpointError(f"cannot read {shown}: {exc.strerror or exc}") from exc
    with fh:
        size = os.fstat(fh.fileno()).st_size  # the file we opened, not the name's
        budget = memory_budget()
        if size > budget:
            raise CheckpointError(
                f"{shown} is {format_bytes(size)}, more than LatentLab reads on "
                f"this machine ({format_bytes(budget)})"
            )
        yield fh, size


def _load_pythae(folder: Path) -> Checkpoint:
    """A pythae folder's model, rebuilt as LatentLab's MLP (its code never runs)."""
    declared = read_pythae_folder(folder)
    weights = folder / "model.pt"
    shown = printable_path(weights)
    with _open(weights, shown) as (fh, size):
        archive = _read_archive(fh, size, shown)
        record = _pythae_record(archive, shown, declared.layout)
        fh.seek(0)
        payload = _torch_load(fh, shown)
    checkpoint = _build(
        weights, shown, record, {"state_dict": payload["model_state_dict"]}
    )
    checkpoint.path = folder
    return checkpoint


def _torch_load(fh: BinaryIO, shown: str) -> Any:
    try:
        with warnings.catch_warnings():
            # e.g. "Detected pickle protocol 4": noise for a file we refuse.
            warnings.simplefilter("ignore")
            return torch.load(fh, map_location="cpu", weights_only=True)
    except Exception as exc:  # checked already; what remains is torch's own view
        text = str(exc)
        if "Weights only load failed" in text:
            return_msg = "its pickle data is not plain tensors"
        elif "record size" in text or "storage" in text.lower():
            return_msg = "its weights do not match their records"
        else:
            return_msg = _reason(exc)
        raise _corrupt(shown, return_msg) from exc


def _build(p: Path, shown: str, record: _Record, payload: Any) -> Checkpoint:
    """Check the tensors torch made against the dry run, then fill a model."""
    state = payload.get("state_dict") if isinstance(payload, dict) else None
    if not isinstance(state, dict) or set(state) != set(record.expected):
        raise CheckpointError(f"{shown} has no valid weights (state_dict)")
    for key, shape in record.expected.items():
        t = state[key]
        if (
            type(t) is not torch.Tensor
            or t.layout != torch.strided
            or t.is_quantized
            or t.device.type != "cpu"
            or t.dtype != torch.float32
            or tuple(t.shape) != shape
            or not t.is_contiguous()
        ):
            raise CheckpointError(f"{shown} has malformed weights: {key}")
    if not all(bool(torch.isfinite(t).all()) for t in state.values()):
        raise CheckpointError(f"{shown} contains NaN or infinite weights")
    if record.layout is not None:
        state = record.layout.convert(state)
    model = build_model(record.config)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        cfg = record.config
        raise CheckpointError(
            f"{shown}: the weights do not fit its config ({cfg.kind}, latent "
            f"{cfg.latent_dim}, {cfg.backbone}): {_reason(exc)}"
        ) from exc
    model.eval()
    timeline = None
    if record.timeline is not None:
        timeline = _timeline(shown, record.timeline, payload.get("timeline"))
    return Checkpoint(
        model=model,
        path=p,
        history=record.history,
        dataset=record.dataset,
        metrics=record.metrics,
        created=record.created,
        origin=record.layout.describe() if record.layout is not None else "",
        timeline=timeline,
        resume=resume_state(shown, payload.get("resume")) if record.resume else None,
    )


def metrics_summary(history: Sequence[EpochMetrics]) -> dict[str, float]:
    """The last epoch's test figures, for ``Checkpoint.metrics``."""
    if not history:
        return {}
    last = history[-1]
    return {
        "test_recon": last.test_recon,
        "test_kl": last.test_kl,
        "test_neg_elbo": last.test_neg_elbo,
        "train_seconds": math.fsum(m.seconds for m in history),
    }
