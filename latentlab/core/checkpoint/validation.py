"""The checks of a checkpoint's record fields: the history (epochs from 1 to
:data:`~latentlab.core.checkpoint.format.MAX_EPOCH`, strictly increasing, every
figure finite), the dataset record, the metrics and short texts, and the words
for a payload that is none of LatentLab's."""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import torch

from latentlab.core.checkpoint.format import (
    MAX_EPOCH,
    MAX_HISTORY,
    MAX_INT,
    MAX_LIST,
    MAX_TEXT,
)
from latentlab.core.checkpoint.unpickler import _TensorStub
from latentlab.core.errors import CheckpointError
from latentlab.core.text import describe, printable
from latentlab.core.training_events import EpochMetrics


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _finite(value: Any) -> float | None:
    """``value`` (an int or a float) as a finite float; None for NaN, an
    infinity, an integer too large for a float, or anything else."""
    if not _number(value):
        return None
    try:
        out = float(value)
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def _history(shown: str, raw: Any) -> list[EpochMetrics]:
    """The history's rows: every field present and numeric, the epochs from 1
    to :data:`MAX_EPOCH` and strictly increasing, every figure finite."""
    if type(raw) is not list:
        raise CheckpointError(f"{shown} has a malformed history: {_describe(raw)}")
    if len(raw) > MAX_HISTORY:
        raise CheckpointError(
            f"{shown} has a history of {len(raw):,} epochs; LatentLab trains at most "
            f"{MAX_HISTORY:,}"
        )
    names = [f.name for f in fields(EpochMetrics)]
    out = []
    last = 0
    for i, row in enumerate(raw, 1):
        if (
            type(row) is not dict
            or set(row) != set(names)
            or type(row["epoch"]) is not int
            or not all(_number(row[n]) for n in names)
        ):
            raise CheckpointError(
                f"{shown} has a malformed history: entry {i} is {describe(row)}"
            )
        epoch = row["epoch"]
        if not 1 <= epoch <= MAX_EPOCH:
            raise CheckpointError(
                f"{shown} has a malformed history: entry {i}'s epoch is "
                f"{describe(epoch)}, not from 1 to {MAX_EPOCH:,}"
            )
        if epoch <= last:
            raise CheckpointError(
                f"{shown} has a malformed history: its epochs do not increase "
                f"(entry {i} is epoch {epoch:,}, after epoch {last:,})"
            )
        last = epoch
        figures = {}
        for name in names[1:]:
            value = _finite(row[name])
            if value is None:
                raise CheckpointError(
                    f"{shown} has a malformed history: entry {i}'s {name} is "
                    f"{describe(row[name])}, not a finite number"
                )
            figures[name] = value
        out.append(EpochMetrics(epoch=epoch, **figures))
    return out


def _plain(value: Any) -> bool:
    """None, a bool, a 64-bit integer, a finite float or a string of at most
    :data:`MAX_TEXT` characters."""
    if value is None or type(value) is bool:
        return True
    if type(value) is int:
        return -MAX_INT - 1 <= value <= MAX_INT
    if type(value) is float:
        return math.isfinite(value)
    return type(value) is str and len(value) <= MAX_TEXT


def _dataset(shown: str, raw: Any) -> dict[str, Any]:
    if type(raw) is not dict or not all(isinstance(k, str) for k in raw):
        raise CheckpointError(f"{shown} has a malformed dataset record")
    for key, value in raw.items():
        ok = _plain(value) or (
            type(value) is list and len(value) <= MAX_LIST and all(map(_plain, value))
        )
        if not ok or len(key) > 100:
            raise CheckpointError(
                f"{shown} has a malformed dataset record: {printable(key, 40)} is "
                f"{describe(value)}"
            )
    return dict(raw)


def _metrics(shown: str, raw: Any) -> dict[str, float]:
    """Named finite numbers, as floats."""
    if type(raw) is not dict or not all(
        isinstance(k, str) and len(k) <= 100 and _finite(v) is not None
        for k, v in raw.items()
    ):
        raise CheckpointError(f"{shown} has malformed metrics: {describe(raw)}")
    return {k: float(v) for k, v in raw.items()}


def _short_text(shown: str, name: str, raw: Any, limit: int) -> str:
    if type(raw) is not str or len(raw) > limit:
        raise CheckpointError(f"{shown} has a malformed {name!r} field")
    return raw


def _describe(payload: Any) -> str:
    if (
        isinstance(payload, dict)
        and payload
        and all(isinstance(v, _TensorStub | torch.Tensor) for v in payload.values())
    ):
        return (
            f"it holds a plain PyTorch state_dict ({len(payload)} tensors) without "
            "LatentLab's model config, in no layout LatentLab recognises (see the "
            "README, Models trained elsewhere)"
        )
    if isinstance(payload, dict):
        keys = sorted(printable(k, 30) for k in payload if isinstance(k, str))[:5]
        return f"a dict with keys {', '.join(keys) or '(none)'}"
    if isinstance(payload, _TensorStub | torch.Tensor):
        return "it holds a single tensor"
    return f"it holds a {type(payload).__name__}"
