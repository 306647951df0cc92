"""Qt fixtures: PySide6 first, then pyqtgraph with mouse rate limiting off."""

from __future__ import annotations

import PySide6.QtWidgets  # noqa: F401 - bind pyqtgraph/superqt to PySide6 first
import pyqtgraph as pg
import pytest


@pytest.fixture(autouse=True)
def _no_mouse_rate_limit():
    old = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=-1)
    yield
    pg.setConfigOptions(mouseRateLimit=old)
