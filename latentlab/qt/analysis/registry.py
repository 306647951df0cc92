"""The analysis views, in tab order. A new view is one module in this package
and one line here (see CONTRIBUTING.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentlab.qt.analysis.diagnostics import DiagnosticsView
from latentlab.qt.analysis.eps import EpsView
from latentlab.qt.analysis.gradient import GradientView
from latentlab.qt.analysis.interpolation import InterpolationView
from latentlab.qt.analysis.planes import PlanesView
from latentlab.qt.analysis.prior import PriorSamplesView
from latentlab.qt.analysis.rectangle import RectangleView

if TYPE_CHECKING:
    from latentlab.qt.analysis.base import AnalysisView

VIEWS: tuple[type[AnalysisView], ...] = (
    PlanesView,
    EpsView,
    GradientView,
    InterpolationView,
    RectangleView,
    PriorSamplesView,
    DiagnosticsView,
)
