"""Text styles shared by the window's widgets (one place to change them).

:func:`dim_name` is the core's (:mod:`latentlab.core.analysis.texts`, for the
views' texts), re-exported here.
"""

from __future__ import annotations

from latentlab.core.analysis.texts import SUBSCRIPTS, dim_name

__all__ = [
    "HINT_STYLE",
    "MONO_STYLE",
    "NOTE_STYLE",
    "SUBSCRIPTS",
    "TITLE_STYLE",
    "dim_name",
    "shown_dims",
]

TITLE_STYLE = "font-weight: 600; font-size: 13px;"
HINT_STYLE = "color: #555;"
NOTE_STYLE = "color: #a05a00;"
MONO_STYLE = "font-family: monospace;"


def shown_dims(latent_dim: int, dims: tuple[int, int]) -> list[int]:
    """The dims a plane shows: one for a 1-D latent, else the chosen two."""
    return [dims[0]] if latent_dim == 1 else list(dims)
