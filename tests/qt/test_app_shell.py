"""How the app presents itself to the desktop (icon, desktop file name) and how it
answers Ctrl+C in the terminal that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from latentlab.core.resources import ICON_SIZES, models_dir
from latentlab.qt.app import configure_app


def test_app_names_its_desktop_file_and_sets_the_icon(qtbot, qapp):
    configure_app(qapp)
    assert QGuiApplication.desktopFileName() == "latentlab"
    window = QWidget()  # a window without its own icon shows the app's
    qtbot.addWidget(window)
    icon = window.windowIcon()
    assert not icon.isNull(), "the window has no icon"
    sizes = {s.width() for s in icon.availableSizes()}
    assert set(ICON_SIZES) <= sizes, f"icon sizes {sorted(sizes)}"
    pixmap = icon.pixmap(QSize(24, 24))
    assert not pixmap.isNull() and pixmap.width() == 24


_DRIVER = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from latentlab.qt.app import run_app

    app = QApplication(sys.argv[:1])
    QTimer.singleShot(0, lambda: print("event loop running", flush=True))
    sys.exit(run_app(sys.argv[2:], sys.argv[1]))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_in_the_terminal_closes_the_window_like_its_close_button(tmp_path):
    driver = tmp_path / "drive.py"
    driver.write_text(_DRIVER)
    config = tmp_path / "config"
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(config),  # QSettings written by closeEvent land here
        HOME=str(tmp_path / "home"),
    )
    env.pop("LATENTLAB_QUIT_WHEN_READY", None)
    pair = [str(models_dir() / f"shapes-{k}-2d.pt") for k in ("ae", "vae")]
    proc = subprocess.Popen(
        [sys.executable, str(driver), str(tmp_path), *pair],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "event loop running", line + proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    # closeEvent ran: it saves the window geometry.
    settings = config / "LatentLab" / "LatentLab.conf"
    assert settings.is_file(), f"no settings written; stderr: {err}"
    assert "geometry" in settings.read_text()
