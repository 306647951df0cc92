"""Text styles shared by the window's widgets (one place to change them)."""

from __future__ import annotations

TITLE_STYLE = "font-weight: 600; font-size: 13px;"
HINT_STYLE = "color: #555;"
NOTE_STYLE = "color: #a05a00;"
MONO_STYLE = "font-family: monospace;"
SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def dim_name(d: int) -> str:
    """``z₁`` for latent dim 0."""
    return "z" + str(d + 1).translate(SUBSCRIPTS)


def shown_dims(latent_dim: int, dims: tuple[int, int]) -> list[int]:
    """The dims a plane shows: one for a 1-D latent, else the chosen two."""
    return [dims[0]] if latent_dim == 1 else list(dims)
