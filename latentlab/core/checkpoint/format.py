"""What a LatentLab checkpoint file is: its format name and version, the bounds
on everything it may declare, and the wording shared by every refusal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from latentlab.core.errors import CheckpointError
from latentlab.core.text import printable, shorten

if TYPE_CHECKING:
    import os

FORMAT_NAME = "latentlab-checkpoint"
FORMAT_VERSION = 1
SAFETENSORS_SUFFIX = ".safetensors"

# Bounds on what a file may declare. A 10,000-epoch history pickles to ~0.9 MB.
MAX_PICKLE_BYTES = 4 * 1024**2
MAX_ZIP_ENTRIES = 1024
MAX_HISTORY = 10_000
# The largest epoch number a history may name (LatentLab's runs stop at
# config.MAX_EPOCHS, 10,000; a plot or a table needs no more than this).
MAX_EPOCH = 1_000_000
# Integers in the dataset record and tensor sizes: 64-bit, as torch's are.
MAX_INT = 2**63 - 1
MAX_TEXT = 4096  # longest string kept from the dataset record (a path)
MAX_LIST = 10_000  # longest list in the dataset record (class names)
# Stored data beyond the model's own weights (unreferenced records) we tolerate.
DATA_SLACK_BYTES = 1024**2

_REQUIRED = ("format", "version", "config", "state_dict")
_OPTIONAL = (
    "latentlab_version",
    "created",
    "history",
    "dataset",
    "metrics",
    "timeline",
    "resume",
)
# The timeline's arrays: a 30-epoch 2-D run of 2,000 images holds ~0.5 MB.
MAX_TIMELINE_BYTES = 256 * 1024**2
MAX_RUN_ID = 64


def is_safetensors_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a safetensors file (by its extension)."""
    return Path(path).suffix.lower() == SAFETENSORS_SUFFIX


def _corrupt(shown: str, reason: str) -> CheckpointError:
    return CheckpointError(f"{shown} is corrupt or not a PyTorch file ({reason})")


def _reason(exc: BaseException) -> str:
    """A short, one-line account of a foreign exception, cut at a word."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return printable(shorten(first, 160), 200)
