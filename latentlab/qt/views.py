"""The analysis views (ε-resampling, interpolation, prior samples, gradient path),
added to the main window as tabs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from latentlab.qt.main_window import MainWindow


def install_views(window: MainWindow) -> None:
    """Add every analysis view to ``window.tabs``."""
