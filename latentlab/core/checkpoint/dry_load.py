"""The dry run of a torch-format checkpoint: everything its pickle declares (the
format and version, the config, every tensor's size and layout, the record's
fields, the timeline) is checked from the stub unpickler's output, before
``torch.load`` allocates anything; a plain state dict in a layout
:mod:`~latentlab.core.foreign` recognises is checked the same way."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentlab.core.checkpoint.format import (
    _OPTIONAL,
    _REQUIRED,
    DATA_SLACK_BYTES,
    FORMAT_NAME,
    FORMAT_VERSION,
)
from latentlab.core.checkpoint.resume import resume_shape
from latentlab.core.checkpoint.timeline import _timeline_shape, _TimelineShape
from latentlab.core.checkpoint.unpickler import _TensorStub, _unpickle
from latentlab.core.checkpoint.validation import (
    _dataset,
    _describe,
    _history,
    _metrics,
    _short_text,
)
from latentlab.core.checkpoint.weights import (
    _check_budget,
    _check_shapes,
    _check_stub,
    _expected_shapes,
)
from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError, ConfigError
from latentlab.core.foreign import ForeignLayout, recognise
from latentlab.core.limits import format_bytes, memory_budget
from latentlab.core.models import meta_model
from latentlab.core.text import describe, format_int

if TYPE_CHECKING:
    from latentlab.core.checkpoint.archive import _Archive
    from latentlab.core.training_events import EpochMetrics


@dataclass(frozen=True, slots=True)
class _Record:
    config: ModelConfig
    expected: dict[str, tuple[int, ...]]
    history: list[EpochMetrics]
    dataset: dict[str, Any]
    metrics: dict[str, float]
    created: str
    layout: ForeignLayout | None = None  # a model trained elsewhere
    timeline: _TimelineShape | None = None
    resume: bool = False  # holds a run's state to continue it


def _dry_load(archive: _Archive, shown: str) -> _Record:
    """Check everything the pickle declares, before torch allocates a byte."""
    payload = _unpickle(archive, shown)
    foreign = _foreign_record(shown, payload, archive.data_bytes)
    if foreign is not None:
        return foreign
    if type(payload) is not dict or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{shown} is not a LatentLab checkpoint: {_describe(payload)}"
        )
    version = payload.get("version")
    if type(version) is not int or version < 1:
        raise CheckpointError(
            f"{shown} has an invalid format version {describe(version)}"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{shown} was written by a newer LatentLab (format "
            f"v{format_int(version, grouped=False)}); this one reads up to "
            f"v{FORMAT_VERSION}. Upgrade LatentLab to open it."
        )
    extra = [k for k in payload if k not in _REQUIRED + _OPTIONAL]
    if extra:
        raise CheckpointError(
            f"{shown} has an unexpected field {describe(extra[0])}"
            + (f" (and {len(extra) - 1} more)" if len(extra) > 1 else "")
        )
    try:
        config = ModelConfig.from_dict(payload.get("config"))
    except ConfigError as exc:
        raise CheckpointError(f"{shown} has an invalid model config: {exc}") from None
    state = payload.get("state_dict")
    if (
        type(state) not in (dict, OrderedDict)
        or not state
        or not all(
            isinstance(k, str) and isinstance(v, _TensorStub) for k, v in state.items()
        )
    ):
        raise CheckpointError(f"{shown} has no valid weights (state_dict)")
    expected = _expected_shapes(config)
    _check_shapes(shown, config, expected, {k: v.shape for k, v in state.items()})
    needed = 4 * sum(math.prod(s) for s in expected.values())
    budget = memory_budget()
    if needed > budget:
        raise CheckpointError(
            f"{shown}: its model needs {format_bytes(needed)}, more than LatentLab "
            f"loads on this machine ({format_bytes(budget)})"
        )
    for key, stub in state.items():
        _check_stub(shown, key, stub)
    timeline = _timeline_shape(shown, config, payload.get("timeline"))
    if timeline is not None:
        needed_all = needed + timeline.nbytes
        if needed_all > budget:
            raise CheckpointError(
                f"{shown}: its model and timeline need {format_bytes(needed_all)}, "
                f"more than LatentLab loads on this machine ({format_bytes(budget)})"
            )
        needed = needed_all
    params = {k: tuple(v.shape) for k, v in meta_model(config).named_parameters()}
    resume_bytes = resume_shape(shown, params, payload.get("resume"))
    if needed + resume_bytes > budget:
        raise CheckpointError(
            f"{shown}: its model and training state need "
            f"{format_bytes(needed + resume_bytes)}, more than LatentLab loads on "
            f"this machine ({format_bytes(budget)})"
        )
    needed += resume_bytes
    if archive.data_bytes > needed + DATA_SLACK_BYTES:
        raise CheckpointError(
            f"{shown} stores {format_bytes(archive.data_bytes)} of data but its "
            f"model has {format_bytes(needed)} of weights"
        )
    return _Record(
        config=config,
        expected=expected,
        history=_history(shown, payload.get("history", [])),
        dataset=_dataset(shown, payload.get("dataset", {})),
        metrics=_metrics(shown, payload.get("metrics", {})),
        created=_short_text(shown, "created", payload.get("created", ""), 100),
        timeline=timeline,
        resume=payload.get("resume") is not None,
    )


def _foreign_record(shown: str, payload: Any, data_bytes: int) -> _Record | None:
    """The record of a plain state dict in a layout :mod:`~latentlab.core.foreign`
    recognises, checked like a checkpoint's weights; None for anything else."""
    if (
        type(payload) not in (dict, OrderedDict)
        or not payload
        or not all(
            isinstance(k, str) and isinstance(v, _TensorStub)
            for k, v in payload.items()
        )
    ):
        return None
    layout = recognise({k: v.shape for k, v in payload.items()})
    if layout is None:
        return None
    return _layout_record(shown, payload, data_bytes, layout)


def _layout_record(
    shown: str, state: dict[str, _TensorStub], data_bytes: int, layout: ForeignLayout
) -> _Record:
    """A state dict checked against a known foreign layout: names, shapes,
    storage and size, before torch allocates anything."""
    got = {k: v.shape for k, v in state.items()}
    if got != layout.expected:
        missing = sorted(set(layout.expected) - set(got))
        odd = sorted(k for k in got if layout.expected.get(k) != got[k])
        what = f"lacks {missing[0]}" if missing else f"has an unexpected {odd[0]}"
        raise CheckpointError(f"{shown} does not hold {layout.describe()}: it {what}")
    needed = 4 * sum(math.prod(s) for s in layout.expected.values())
    _check_budget(shown, needed)
    for key, stub in state.items():
        _check_stub(shown, key, stub)
    if data_bytes > needed + DATA_SLACK_BYTES:
        raise CheckpointError(
            f"{shown} stores {format_bytes(data_bytes)} of data but its model has "
            f"{format_bytes(needed)} of weights"
        )
    return _Record(
        config=layout.config,
        expected=dict(layout.expected),
        history=[],
        dataset={},
        metrics={},
        created="",
        layout=layout,
    )


def _pythae_record(archive: _Archive, shown: str, layout: ForeignLayout) -> _Record:
    """pythae's ``model.pt`` (``{"model_state_dict": state}``), checked
    against the layout its ``model_config.json`` implies."""
    payload = _unpickle(archive, shown)
    state = payload.get("model_state_dict") if type(payload) is dict else None
    if (
        set(payload if type(payload) is dict else ()) != {"model_state_dict"}
        or type(state) not in (dict, OrderedDict)
        or not all(
            isinstance(k, str) and isinstance(v, _TensorStub) for k, v in state.items()
        )
    ):
        raise CheckpointError(f"{shown} is not pythae's model.pt: {_describe(payload)}")
    return _layout_record(shown, state, archive.data_bytes, layout)
