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


def _shapes_pair() -> list[str]:
    from latentlab.qt.app import MODELS_DIR

    return [str(MODELS_DIR / f"shapes-{kind}-2d.pt") for kind in ("ae", "vae")]


SHAPES_PAIR = _shapes_pair()


def wait_loaded(qtbot, window, sides=(0, 1)):
    """Wait until ``sides`` show a model with its encoded test set."""

    def ready():
        for side in sides:
            state = window.session.sides[side]
            assert state.model is not None, f"side {side} has no model yet"
            assert state.codes is not None, f"side {side} has no codes yet"

    qtbot.waitUntil(ready, timeout=20000)


@pytest.fixture
def window(qtbot, no_threads_left):
    """The app's window on the shipped shapes pair, loaded (no real data needed)."""
    from latentlab.qt.app import create_window

    win = create_window(SHAPES_PAIR, None)
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.resize(1280, 900)
    win.show()
    qtbot.waitExposed(win)
    wait_loaded(qtbot, win)
    yield win
    win.close_discarding()
