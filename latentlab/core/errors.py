"""Every error the core raises derives from :class:`LatentLabError`.

The UI and the CLI catch this one base class and show its message, so each message
is written for a user: what went wrong, with which file or value, and what to do.
"""

from __future__ import annotations


class LatentLabError(Exception):
    """Base class of every error LatentLab raises on purpose."""


class ConfigError(LatentLabError, ValueError):
    """A setting is out of range or inconsistent."""


class DataError(LatentLabError):
    """A dataset is missing, corrupt or unusable."""


class CheckpointError(LatentLabError):
    """A checkpoint file cannot be read, or is not a LatentLab checkpoint."""


class TrainingError(LatentLabError):
    """Training failed (diverged, or an operation raised)."""


class ExportError(LatentLabError):
    """Exported data (codes CSV, figures) could not be written."""
