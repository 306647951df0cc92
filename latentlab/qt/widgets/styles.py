"""Text styles and the picks' colours shared by the window's widgets (one
place to change them).

:func:`dim_name` is the core's (:mod:`latentlab.core.analysis.texts`, for the
views' texts), re-exported here.
"""

from __future__ import annotations

from latentlab.core.analysis.texts import SUBSCRIPTS, dim_name

__all__ = [
    "HINT_STYLE",
    "MONO_STYLE",
    "NOTE_STYLE",
    "PICK_A",
    "PICK_B",
    "PICK_COLOURS",
    "SUBSCRIPTS",
    "TITLE_STYLE",
    "dim_name",
    "shown_dims",
]

TITLE_STYLE = "font-weight: 600; font-size: 13px;"
HINT_STYLE = "color: #555;"
NOTE_STYLE = "color: #a05a00;"
MONO_STYLE = "font-family: monospace;"

# The two picked inputs, one colour each wherever they are shown: the rings on
# the planes, the thumbnails' frames, the Interpolation tab's ends and labels.
PICK_A = (0, 150, 70)  # the earlier pick (green)
PICK_B = (255, 140, 0)  # the later, current pick (orange)
PICK_COLOURS = (PICK_A, PICK_B)


def shown_dims(latent_dim: int, dims: tuple[int, int]) -> list[int]:
    """The dims a plane shows: one for a 1-D latent, else the chosen two."""
    return [dims[0]] if latent_dim == 1 else list(dims)
