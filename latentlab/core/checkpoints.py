"""Checkpoint files: one model each, saved atomically, loaded without pickled code.

A checkpoint is a dict of tensors and primitives only, so
``torch.load(..., weights_only=True)`` reads it and a file crafted to run code on
load is refused. Every failure to load raises :class:`CheckpointError` naming the
file and saying what is wrong with it.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import secrets
import stat
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from latentlab import __version__
from latentlab.core.config import ModelConfig
from latentlab.core.errors import CheckpointError, ConfigError
from latentlab.core.models import build_model
from latentlab.core.training import EpochMetrics

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.models import Autoencoder

FORMAT_NAME = "latentlab-checkpoint"
FORMAT_VERSION = 1


@dataclass(slots=True)
class Checkpoint:
    """A loaded checkpoint: the rebuilt model (CPU, eval mode) and its record."""

    model: Autoencoder
    path: Path | None = None
    history: list[EpochMetrics] = field(default_factory=list)
    dataset: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    created: str = ""

    @property
    def config(self) -> ModelConfig:
        """The model's config."""
        return self.model.config

    @property
    def epochs(self) -> int:
        """Epochs trained (length of the history)."""
        return len(self.history)

    def title(self) -> str:
        """One-line description: kind, dataset, latent size, beta, epochs."""
        cfg = self.config
        parts = [cfg.kind.upper(), self.dataset.get("name", "unknown data")]
        parts.append(f"{cfg.latent_dim}-D")
        if cfg.kind == "vae":
            parts.append(f"β={cfg.beta:g}")
        if cfg.backbone != "mlp":
            parts.append(cfg.backbone)
        parts.append(f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        return " · ".join(parts)


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Autoencoder,
    *,
    history: Sequence[EpochMetrics] = (),
    dataset: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` and its record to ``path`` atomically.

    The bytes go to a temporary file in the same folder, are flushed to disk, and
    only then replace ``path``, so a crash mid-save leaves the old file intact.

    Raises
    ------
    CheckpointError
        ``path`` exists and ``overwrite`` is False, or the write failed.
    """
    target = Path(path)
    if target.is_dir():
        raise CheckpointError(f"cannot save to {target}: it is a folder")
    if not all(torch.isfinite(v).all() for v in model.state_dict().values()):
        # load_checkpoint refuses such a file, so writing it would only lose data.
        raise CheckpointError(
            f"not saving {target}: the model has NaN or infinite weights"
        )
    if target.exists() and not overwrite:
        raise CheckpointError(
            f"{target} already exists; choose another name or allow overwriting"
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
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(
            f"cannot save to {target}: folder {folder} does not exist"
        )
    tmp_name = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        # os.open honours the umask (mkstemp would make the file private, 0600).
        fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise CheckpointError(f"could not save {target}: {exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(payload, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"could not save {target}: {exc}") from exc
        raise
    return target


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    CheckpointError
        For any file that is not a readable, intact, consistent LatentLab
        checkpoint of a version this LatentLab understands.
    """
    p = Path(path)
    payload = _read_payload(p)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{p} is not a LatentLab checkpoint: {_describe(payload)}"
        )
    version = payload.get("version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{p} has an invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{p} was written by a newer LatentLab (format v{version}); this one "
            f"reads up to v{FORMAT_VERSION}. Upgrade LatentLab to open it."
        )
    try:
        config = ModelConfig.from_dict(payload.get("config"))
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{p} has an invalid model config: {exc}") from exc
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(
        isinstance(v, torch.Tensor) for v in state.values()
    ):
        raise CheckpointError(f"{p} has no valid weights (state_dict)")
    _check_shapes(p, config, state)
    model = build_model(config)
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()
        raise CheckpointError(
            f"{p}: the weights do not fit its config ({config.kind}, latent "
            f"{config.latent_dim}, {config.backbone}): "
            f"{' '.join(line.strip() for line in first[:3])}"
        ) from exc
    if not all(torch.isfinite(v).all() for v in model.state_dict().values()):
        raise CheckpointError(f"{p} contains NaN or infinite weights")
    model.eval()
    return Checkpoint(
        model=model,
        path=p,
        history=_history(payload.get("history")),
        dataset=payload["dataset"] if isinstance(payload.get("dataset"), dict) else {},
        metrics={
            k: v
            for k, v in (payload.get("metrics") or {}).items()
            if isinstance(k, str) and isinstance(v, float)
        }
        if isinstance(payload.get("metrics"), dict)
        else {},
        created=str(payload.get("created", "")),
    )


def _read_payload(p: Path) -> Any:
    try:
        # One stat inside the try: a folder we may not enter raises PermissionError
        # here, and a FIFO or device must be refused before open() blocks on it.
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise CheckpointError(f"{p} is a folder, not a checkpoint file")
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{p} is not a regular file")
        if info.st_size == 0:
            raise CheckpointError(f"{p} is empty (0 bytes)")
        fh = p.open("rb")
    except FileNotFoundError as exc:
        raise CheckpointError(f"{p} does not exist") from exc
    except PermissionError as exc:
        raise CheckpointError(f"cannot read {p}: permission denied") from exc
    except OSError as exc:
        raise CheckpointError(f"cannot read {p}: {exc.strerror or exc}") from exc
    with fh:
        try:
            with warnings.catch_warnings():
                # e.g. "Detected pickle protocol 4": noise for a file we refuse.
                warnings.simplefilter("ignore")
                return torch.load(fh, map_location="cpu", weights_only=True)
        except Exception as exc:  # corrupt bytes raise many types, OSError included
            raise _load_error(p, exc) from exc


def _load_error(p: Path, exc: Exception) -> CheckpointError:
    text = str(exc)
    if "Weights only load failed" in text:
        # Older torch says "Unsupported global: GLOBAL os.system", 2.14 says
        # "unsupported GLOBAL posix.system whose module posix is blocked";
        # garbage bytes read as a pickle give "Unsupported operand 205".
        wanted = re.search(r"[Uu]nsupported (?:global: )?GLOBAL ([\w.]+)", text)
        operand = re.search(r"Unsupported operand \d+", text)
        if wanted or not operand:
            detail = (
                f"it asks to build the Python object {wanted.group(1)}"
                if wanted
                else "its pickle data is not plain tensors"
            )
            return CheckpointError(
                f"{p} was refused: {detail}. LatentLab reads only tensors and plain "
                "values, so nothing in the file was executed"
            )
        text = f"unreadable pickle data: {operand.group(0)}"
    reason = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return CheckpointError(f"{p} is corrupt or not a PyTorch file ({reason[:160]})")


def _check_shapes(p: Path, config: ModelConfig, state: dict[Any, Any]) -> None:
    """Compare the file's weights with the config before allocating the model.

    The config alone could ask for billions of parameters; an empty "meta" model
    gives the expected shapes for free, and weights that match them must be
    stored in the file, so building the real model costs no more than the file.
    """
    with torch.device("meta"):
        expected = {
            k: tuple(v.shape) for k, v in build_model(config).state_dict().items()
        }
    got = {str(k): tuple(v.shape) for k, v in state.items()}
    problems = [f"missing {k}" for k in expected if k not in got]
    problems += [f"unexpected {k}" for k in got if k not in expected]
    problems += [
        f"{k} is {'x'.join(map(str, got[k]))} in the file, "
        f"{'x'.join(map(str, shape))} for the config"
        for k, shape in expected.items()
        if k in got and got[k] != shape
    ]
    if problems:
        shown = "; ".join(problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CheckpointError(
            f"{p}: the weights do not fit its config ({config.kind}, latent "
            f"{config.latent_dim}, {config.backbone}): {shown}{more}"
        )
    stored = sum(v.untyped_storage().nbytes() for v in state.values())
    claimed = sum(v.numel() * v.element_size() for v in state.values())
    if claimed > stored:
        raise CheckpointError(
            f"{p} has malformed weights: they claim {claimed:,} bytes but store "
            f"{stored:,}"
        )


def _describe(payload: Any) -> str:
    if (
        isinstance(payload, dict)
        and payload
        and all(isinstance(v, torch.Tensor) for v in payload.values())
    ):
        return (
            f"it holds a plain PyTorch state_dict ({len(payload)} tensors) without "
            "LatentLab's model config"
        )
    if isinstance(payload, dict):
        keys = ", ".join(sorted(map(str, payload))[:5])
        return f"a dict with keys {keys or '(none)'}"
    return f"it holds a {type(payload).__name__}"


def _history(raw: Any) -> list[EpochMetrics]:
    if not isinstance(raw, list):
        return []
    names = {f.name for f in fields(EpochMetrics)}
    out = []
    for row in raw:
        if isinstance(row, dict) and set(row) == names:
            try:
                m = EpochMetrics(**row)
            except TypeError:
                continue
            if all(isinstance(getattr(m, n), int | float) for n in names):
                out.append(m)
    return out


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
