"""Saving a checkpoint atomically: the record checked as a load would check it,
the bytes (torch's zip format or safetensors) written to a temporary file in the
same folder, flushed, and only then put in place."""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from latentlab import __version__
from latentlab.core import safetensors_io
from latentlab.core.checkpoint.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    is_safetensors_path,
)
from latentlab.core.checkpoint.validation import _dataset, _history, _metrics
from latentlab.core.errors import CheckpointError
from latentlab.core.files import clean_stale_temps, temp_path
from latentlab.core.text import printable_path, shorten

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.checkpoint.resume import ResumeState
    from latentlab.core.models import Autoencoder
    from latentlab.core.timeline import Timeline
    from latentlab.core.training_events import EpochMetrics


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Autoencoder,
    *,
    history: Sequence[EpochMetrics] = (),
    dataset: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    overwrite: bool = False,
    timeline: Timeline | None = None,
    resume: ResumeState | None = None,
) -> Path:
    """Write ``model`` and its record to ``path`` atomically.

    ``timeline`` (the run's codes of a test subset, epoch by epoch) is stored
    when given; files without one load as before. So is ``resume``, what the
    run needs to continue (``.pt`` files only).

    The bytes go to a temporary file in the same folder
    (``.<name>.latentlab-tmp-<pid>-<hex>``), are flushed to disk, and only then
    replace ``path``, so a crash, a full disk or Ctrl+C mid-save leaves the old
    file intact and removes the temporary one. Temporary files of earlier saves
    that were killed are removed first. Without ``overwrite`` the file is linked
    into place, so a file that appears meanwhile is not replaced either.

    Raises
    ------
    CheckpointError
        ``path`` exists and ``overwrite`` is False, or the write failed.
    KeyboardInterrupt
        Ctrl+C during the save, after the temporary file was removed.
    """
    target = Path(path)
    shown = printable_path(target)
    if target.is_dir():
        raise CheckpointError(f"cannot save to {shown}: it is a folder")
    if not all(torch.isfinite(v).all() for v in model.state_dict().values()):
        # load_checkpoint refuses such a file, so writing it would only lose data.
        raise CheckpointError(
            f"not saving {shown}: the model has NaN or infinite weights"
        )
    _check_record(shown, history, dataset, metrics)
    if target.exists() and not overwrite:
        raise CheckpointError(
            f"{shown} already exists; choose another name or allow overwriting"
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(
            f"cannot save to {shown}: folder {printable_path(folder)} does not exist"
        )
    payload = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "latentlab_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "config": model.config.to_dict(),
        "state_dict": {
            k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()
        },
        "history": [asdict(m) for m in history],
        "dataset": dict(dataset or {}),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
    }
    if timeline is not None:
        if timeline.codes.shape[-1] != model.config.latent_dim:
            raise CheckpointError(
                f"not saving {shown}: its timeline's codes are "
                f"{timeline.codes.shape[-1]}-D, the model's {model.config.latent_dim}-D"
            )
        payload["timeline"] = timeline.to_record()
    if resume is not None:
        if is_safetensors_path(target):
            raise CheckpointError(
                f"not saving {shown}: a run's training state (to resume it) is kept "
                "in .pt files only"
            )
        payload["resume"] = resume.to_record()
    clean_stale_temps(folder)
    tmp = temp_path(folder / target.name)
    existed = target.exists()
    try:
        # os.open honours the umask (mkstemp would make the file private, 0600).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise CheckpointError(f"could not save {shown}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            if is_safetensors_path(target):
                safetensors_io.write(fh, payload["state_dict"], _metadata(payload))
            else:
                torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        _put_in_place(tmp, target, overwrite=overwrite)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise _save_error(exc, shown, existed) from exc
    _sync_folder(folder)
    return target


def _check_record(
    shown: str,
    history: Sequence[EpochMetrics],
    dataset: dict[str, Any] | None,
    metrics: dict[str, float] | None,
) -> None:
    """Refuse to save a record :func:`load_checkpoint` would refuse (epochs that
    repeat, a non-finite figure): writing it would only lose the model."""
    try:
        _history(shown, [asdict(m) for m in history])
        _dataset(shown, dict(dataset or {}))
        _metrics(shown, dict(metrics or {}))
    except CheckpointError as exc:
        reason = str(exc).removeprefix(f"{shown} has ")
        raise CheckpointError(f"not saving {shown}: it would have {reason}") from None


def _metadata(payload: dict[str, Any]) -> dict[str, str]:
    """A checkpoint's record as safetensors string metadata: one JSON text per
    field, under the same names as in the torch format."""
    meta = {
        "format": FORMAT_NAME,
        "version": str(FORMAT_VERSION),
        "latentlab_version": str(payload["latentlab_version"]),
        "created": str(payload["created"]),
    }
    for key in ("config", "history", "dataset", "metrics"):
        meta[key] = json.dumps(payload[key], allow_nan=False)
    return meta


def _put_in_place(tmp: Path, target: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)  # atomic and never replaces: EEXIST if one appeared
    except FileExistsError as exc:
        raise CheckpointError(
            f"{printable_path(target)} already exists; choose another name or "
            "allow overwriting"
        ) from exc
    except OSError:
        # No hard links here (FAT, some network mounts): check, then rename.
        if target.exists():
            raise CheckpointError(
                f"{printable_path(target)} already exists; choose another name "
                "or allow overwriting"
            ) from None
        os.replace(tmp, target)
    else:
        tmp.unlink()


def _sync_folder(folder: Path) -> None:
    """Make the rename durable; best effort (not every system can)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _save_error(exc: BaseException, shown: str, existed: bool) -> BaseException:
    """What a failed save raises: Ctrl+C stays itself, the rest a CheckpointError."""
    if isinstance(exc, CheckpointError | KeyboardInterrupt) or not isinstance(
        exc, Exception
    ):
        return exc
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 8:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, KeyboardInterrupt) for e in chain) or (
        "KeyboardInterrupt" in str(exc)
    ):
        # torch's writer reports an exception raised in its Python callback as
        # its own RuntimeError; Ctrl+C must still end the program as Ctrl+C.
        return KeyboardInterrupt()
    os_error = next((e for e in chain if isinstance(e, OSError)), None)
    if os_error is not None:
        reason = os_error.strerror or str(os_error)
    else:
        reason = shorten(
            str(exc).strip().splitlines()[0]
            if str(exc).strip()
            else type(exc).__name__,
            160,
        )
    kept = "; the existing file is unchanged" if existed else ""
    return CheckpointError(f"could not save {shown}: {reason}{kept}")
