"""A group of test images selected in a plane: which points, and its figures.

Pure numpy: the region test (:func:`points_in_polygon`) and the figures the
selection panel shows (:func:`summarize_group`, :func:`group_figures_text`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.latent import Codes, LatentSlice

MAX_LASSO_VERTICES = 4096


def rect_polygon(x0: float, y0: float, x1: float, y1: float) -> npt.NDArray[np.float64]:
    """The rectangle with corners (x0, y0) and (x1, y1) as a 4-vertex polygon."""
    xa, xb = sorted((float(x0), float(x1)))
    ya, yb = sorted((float(y0), float(y1)))
    return np.array([(xa, ya), (xb, ya), (xb, yb), (xa, yb)], np.float64)


def points_in_polygon(
    xy: npt.NDArray[np.floating], polygon: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Which points ``(n, 2)`` lie inside ``polygon`` ``(k, 2)`` (even-odd rule).

    The polygon is closed implicitly; fewer than 3 vertices, or NaN points,
    select nothing. A crossing test per edge, vectorised over the points: for a
    lasso of a few hundred vertices and 10k points it takes a few milliseconds.
    """
    xy = np.asarray(xy, np.float64)
    poly = np.asarray(polygon, np.float64).reshape(-1, 2)[:MAX_LASSO_VERTICES]
    inside = np.zeros(len(xy), bool)
    if len(poly) < 3 or len(xy) == 0:
        return inside
    px, py = xy[:, 0], xy[:, 1]
    xj, yj = poly[-1]
    for xi, yi in poly:
        if yi != yj:
            crosses = (yi > py) != (yj > py)
            x_at = xi + (py - yi) * (xj - xi) / (yj - yi)
            inside ^= crosses & (px < x_at)
        xj, yj = xi, yi
    return inside & np.isfinite(xy).all(1)


@dataclass(frozen=True, slots=True)
class ModelFigures:
    """One model's codes of the group: mean and spread (standard deviation)."""

    name: str  # "AE (left)"
    dims: tuple[int, int]
    mean: tuple[float, float]
    spread: tuple[float, float]
    mean_sigma: tuple[float, float] | None  # the VAE's mean posterior σ
    count: int  # finite codes among the group
    axes_label: str = ""  # "(PC 1, PC 2)" on a PCA plane; else built from dims


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """What the selection panel shows of a group of test images."""

    indices: npt.NDArray[np.int64]  # sorted
    labels: tuple[str, ...]  # class names, in class order
    counts: tuple[int, ...]  # images of each class in the group
    models: tuple[ModelFigures, ...]

    @property
    def count(self) -> int:
        """Images in the group."""
        return len(self.indices)


def summarize_group(
    indices: Sequence[int] | npt.NDArray[np.integer],
    labels: npt.NDArray[np.integer],
    class_names: Sequence[str],
    models: Sequence[tuple[str, Codes, LatentSlice]],
) -> GroupSummary:
    """Count, class histogram and per-model mean and spread of a group.

    ``labels`` are the test set's; each model's ``Codes`` cover the same test
    set. The figures are over the two shown dims of each model's slice, using
    μ (the code, for an AE); indices out of range are ignored.
    """
    idx = np.unique(np.asarray(indices, np.int64))
    idx = idx[(idx >= 0) & (idx < len(labels))]
    group_labels = np.asarray(labels)[idx].astype(np.int64)
    n_classes = len(class_names)
    counts = np.bincount(group_labels[group_labels >= 0], minlength=n_classes)
    figures = []
    for name, codes, latent_slice in models:
        if len(codes.mu) != len(labels):
            continue
        xy = latent_slice.project(codes.mu[idx]).astype(np.float64)
        finite = np.isfinite(xy).all(1)
        xy = xy[finite]
        mean_sigma = None
        if codes.sigma is not None:
            sigma = codes.sigma[idx][finite].astype(np.float64)
            if latent_slice.is_projection:
                # σ along a unit direction a of a diagonal Gaussian: sqrt(Σ a²σ²).
                axes = np.asarray(latent_slice.axes, np.float64)
                s = np.sqrt(sigma**2 @ (axes**2).T)
            else:
                s = sigma[:, list(latent_slice.dims)]
            if len(s):
                mean_sigma = tuple(float(v) for v in s.mean(0))
        if len(xy):
            mean = tuple(float(v) for v in xy.mean(0))
            spread = tuple(float(v) for v in xy.std(0))
        else:
            mean = spread = (float("nan"), float("nan"))
        figures.append(
            ModelFigures(
                name,
                tuple(latent_slice.dims),
                mean,  # type: ignore[arg-type]
                spread,  # type: ignore[arg-type]
                mean_sigma,  # type: ignore[arg-type]
                int(finite.sum()),
                "(PC 1, PC 2)" if latent_slice.is_projection else "",
            )
        )
    return GroupSummary(
        idx,
        tuple(class_names),
        tuple(int(c) for c in counts[:n_classes]),
        tuple(figures),
    )


def _pair(values: tuple[float, float]) -> str:
    return f"({values[0]:.2f}, {values[1]:.2f})"


def group_figures_text(summary: GroupSummary) -> list[str]:
    """One line per model: ``AE (left): mean (z1, z2) = (0.12, -0.40) · spread …``."""
    lines = []
    for m in summary.models:
        d0, d1 = m.dims
        dims = m.axes_label or f"(z{d0 + 1}, z{d1 + 1})"
        text = (
            f"{m.name}: mean {dims} = {_pair(m.mean)} · spread (sd) = {_pair(m.spread)}"
        )
        if m.mean_sigma is not None:
            text += f" · mean σ = {_pair(m.mean_sigma)}"
        if m.count < summary.count:
            text += f" · {summary.count - m.count} non-finite left out"
        lines.append(text)
    return lines


def group_title(summary: GroupSummary) -> str:
    """``Selection: 123 test images · 3 classes``."""
    n = summary.count
    classes = sum(1 for c in summary.counts if c)
    return (
        f"Selection: {n:,} test image{'s' if n != 1 else ''} · "
        f"{classes} class{'es' if classes != 1 else ''}"
    )
