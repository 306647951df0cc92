"""A checkpoint's weights before they are read: the shapes its config implies
(from a "meta" model, which allocates nothing), the declared tensors checked
against them, and their size against the machine's memory budget."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from latentlab.core.errors import CheckpointError
from latentlab.core.limits import format_bytes, memory_budget
from latentlab.core.models import meta_model
from latentlab.core.text import format_int, printable, shape_text

if TYPE_CHECKING:
    from latentlab.core.checkpoint.unpickler import _TensorStub
    from latentlab.core.config import ModelConfig


def _check_budget(shown: str, needed: int) -> None:
    budget = memory_budget()
    if needed > budget:
        raise CheckpointError(
            f"{shown}: its model needs {format_bytes(needed)}, more than LatentLab "
            f"loads on this machine ({format_bytes(budget)})"
        )


def _expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The state_dict shapes ``config`` implies; a "meta" model allocates nothing."""
    return {k: tuple(v.shape) for k, v in meta_model(config).state_dict().items()}


def _check_shapes(
    shown: str,
    config: ModelConfig,
    expected: dict[str, tuple[int, ...]],
    got: dict[str, tuple[int, ...]],
) -> None:
    problems = [f"missing {k}" for k in expected if k not in got]
    problems += [f"unexpected {printable(k, 60)}" for k in got if k not in expected]
    problems += [
        f"{k} is {shape_text(got[k])} in the file, {shape_text(shape)} for the config"
        for k, shape in expected.items()
        if k in got and got[k] != shape
    ]
    if problems:
        shown_problems = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CheckpointError(
            f"{shown}: the weights do not fit its config ({config.kind}, latent "
            f"{config.latent_dim}, {config.backbone}): {shown_problems}{more}"
        )


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _check_stub(shown: str, key: str, stub: _TensorStub) -> None:
    if stub.storage.dtype != "float32":
        raise CheckpointError(
            f"{shown} has malformed weights: {key} is {stub.storage.dtype}, "
            "LatentLab stores float32"
        )
    numel = math.prod(stub.shape)
    if numel and any(
        st != want
        for n, st, want in zip(
            stub.shape, stub.stride, _contiguous_strides(stub.shape), strict=True
        )
        if n > 1
    ):
        raise CheckpointError(
            f"{shown} has malformed weights: {key} is not stored contiguously "
            "(a view or an expanded tensor)"
        )
    if stub.offset + numel > stub.storage.numel:
        raise CheckpointError(
            f"{shown} has malformed weights: {key} claims {format_int(numel * 4)} "
            f"bytes but its record stores "
            f"{format_int(max(stub.storage.numel - stub.offset, 0) * 4)}"
        )
