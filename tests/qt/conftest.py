"""Qt fixtures: PySide6 first, then pyqtgraph with mouse rate limiting off."""

from __future__ import annotations

import PySide6.QtWidgets  # noqa: F401 - bind pyqtgraph/superqt to PySide6 first

# isort: split
import pyqtgraph as pg
import pytest


@pytest.fixture(autouse=True)
def _no_mouse_rate_limit():
    old = pg.getConfigOption("mouseRateLimit")
    pg.setConfigOptions(mouseRateLimit=-1)
    yield
    pg.setConfigOptions(mouseRateLimit=old)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory):
    """QSettings (recent files, geometry) go to a fresh temp folder per test, in
    every format and scope: the app uses the native one, Linux's is INI."""
    from PySide6.QtCore import QSettings

    folder = tmp_path_factory.mktemp("settings")
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, str(folder / scope.name))
    yield folder


@pytest.fixture
def no_threads_left():
    """Asserts after the test that the global thread pool is idle."""
    from PySide6.QtCore import QThreadPool

    yield
    pool = QThreadPool.globalInstance()
    assert pool.waitForDone(5000), "a background job is still running after the test"
