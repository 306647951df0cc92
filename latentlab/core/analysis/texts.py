"""How the views write numbers: a latent dim's name, a signed value, a short vector.

Pure functions shared by the views' texts (``*_texts`` beside this module) and
the Qt layer's labels (:mod:`latentlab.qt.widgets.styles` re-exports
:func:`dim_name`). No Qt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def dim_name(d: int) -> str:
    """``z₁`` for latent dim 0."""
    return "z" + str(d + 1).translate(SUBSCRIPTS)


def signed(v: float) -> str:
    """``+0.123`` / ``−0.123`` (a true minus sign)."""
    return f"{v:+.3f}".replace("-", "−")


def pair(values: npt.ArrayLike) -> str:
    """``(0.1, −2.3)``: a short vector, 3 significant digits."""
    return "(" + ", ".join(f"{v:.3g}" for v in np.asarray(values).ravel()) + ")"
