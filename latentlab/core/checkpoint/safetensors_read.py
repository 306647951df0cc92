"""Reading a safetensors checkpoint: LatentLab's own record from the header's
metadata (one JSON text a field), or, without it, tensors in a layout
:mod:`~latentlab.core.foreign` recognises; checked before the tensors are read."""

from __future__ import annotations

import json
import math
from typing import Any, BinaryIO

from latentlab.core import safetensors_io
from latentlab.core.checkpoint.dry_load import _Record
from latentlab.core.checkpoint.format import FORMAT_NAME, FORMAT_VERSION
from latentlab.core.checkpoint.validation import (
    _dataset,
    _history,
    _metrics,
    _short_text,
)
from latentlab.core.checkpoint.weights import (
    _check_budget,
    _check_shapes,
    _expected_shapes,
)
from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError, ConfigError
from latentlab.core.foreign import recognise
from latentlab.core.text import NumberError, bounded_int, describe, json_int


def _json_field(shown: str, meta: dict[str, str], key: str, default: Any) -> Any:
    """A metadata field's JSON; its integers of at most 20 digits."""
    if key not in meta:
        return default
    try:
        return json.loads(meta[key], parse_int=json_int)
    except NumberError as exc:
        raise CheckpointError(
            f"{shown} has a malformed {key!r} field in its safetensors metadata: {exc}"
        ) from None
    except (ValueError, RecursionError):
        raise CheckpointError(
            f"{shown} has a malformed {key!r} field in its safetensors metadata"
        ) from None


def _read_safetensors(fh: BinaryIO, size: int, shown: str) -> tuple[_Record, Any]:
    """Check a safetensors file's header and record, then read its tensors.

    LatentLab's own files carry the record as JSON strings in the metadata
    (``format``, ``version``, ``config``, ``history``, ``dataset``,
    ``metrics``); a file without it loads when its tensors are in a layout
    :mod:`~latentlab.core.foreign` recognises (its metadata may name the
    dataset: ``"dataset": "mnist"`` or a JSON record).
    """
    try:
        header = safetensors_io.read_header(fh, size)
    except safetensors_io.SafetensorsFormatError as exc:
        raise CheckpointError(
            f"{shown} is corrupt or not a safetensors file ({exc})"
        ) from None
    meta = header.metadata
    shapes = header.shapes
    if meta.get("format") == FORMAT_NAME:
        version_text = meta.get("version", "")
        try:
            version = bounded_int(version_text, "the format version", max_digits=6)
        except NumberError:
            version = 0
        if version < 1:
            raise CheckpointError(
                f"{shown} has an invalid format version {describe(version_text)}"
            )
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{shown} was written by a newer LatentLab (format v{version}); "
                f"this one reads up to v{FORMAT_VERSION}. Upgrade LatentLab to "
                "open it."
            )
        try:
            config = ModelConfig.from_dict(_json_field(shown, meta, "config", None))
        except ConfigError as exc:
            raise CheckpointError(
                f"{shown} has an invalid model config: {exc}"
            ) from None
        expected = _expected_shapes(config)
        _check_shapes(shown, config, expected, shapes)
        layout = None
        history = _history(shown, _json_field(shown, meta, "history", []))
        dataset = _dataset(shown, _json_field(shown, meta, "dataset", {}))
        metrics = _metrics(shown, _json_field(shown, meta, "metrics", {}))
        created = _short_text(shown, "created", meta.get("created", ""), 100)
    else:
        layout = recognise(shapes)
        if layout is None:
            raise CheckpointError(
                f"{shown} is not a LatentLab checkpoint: a safetensors file of "
                f"{len(shapes)} tensors without LatentLab's record, in no layout "
                "LatentLab recognises (see the README, Models trained elsewhere)"
            )
        config, expected = layout.config, dict(layout.expected)
        history, metrics, created = [], {}, ""
        dataset = _foreign_dataset(shown, meta.get("dataset"))
    _check_budget(shown, 4 * sum(math.prod(s) for s in expected.values()))
    try:
        tensors = safetensors_io.read_tensors(fh, header)
    except safetensors_io.SafetensorsFormatError as exc:
        raise CheckpointError(f"{shown} has malformed weights: {exc}") from None
    record = _Record(config, expected, history, dataset, metrics, created, layout)
    return record, {"state_dict": tensors}


def _foreign_dataset(shown: str, raw: str | None) -> dict[str, Any]:
    """The dataset a foreign file's metadata names: a JSON record or a name."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw, parse_int=json_int)
    except NumberError as exc:
        raise CheckpointError(f"{shown} names its dataset oddly: {exc}") from None
    except (ValueError, RecursionError):
        value = raw
    if isinstance(value, dict):
        return _dataset(shown, value)
    if isinstance(value, str) and 0 < len(value) <= 100:
        return {"name": value}
    raise CheckpointError(f"{shown} names its dataset oddly: {describe(raw)}")
