"""QApplication set-up and start-up: ``latentlab [A.pt [B.pt]]``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from latentlab.core.data import default_data_dir, find_idx_files
from latentlab.qt.controller import Controller
from latentlab.qt.main_window import MainWindow
from latentlab.qt.workers import await_all

if TYPE_CHECKING:
    from collections.abc import Sequence

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


def shipped_pair(data_dir: str | None) -> list[Path]:
    """The models to open on first launch: MNIST's pair when its files are found,
    else the embedded-shapes pair (always available)."""
    root = Path(data_dir) if data_dir else default_data_dir()
    mnist = [MODELS_DIR / "mnist-ae-2d.pt", MODELS_DIR / "mnist-vae-2d.pt"]
    if find_idx_files("mnist", root) is not None and all(p.is_file() for p in mnist):
        return mnist
    shapes = [MODELS_DIR / "shapes-ae-2d.pt", MODELS_DIR / "shapes-vae-2d.pt"]
    return [p for p in shapes if p.is_file()]


def create_window(files: Sequence[str], data_dir: str | None) -> MainWindow:
    """Build the window and start loading ``files`` (or the shipped pair)."""
    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    controller = Controller(data_dir=data_dir)
    window = MainWindow(controller)
    paths = [Path(f) for f in files] or shipped_pair(data_dir)
    for side, path in enumerate(paths[:2]):
        controller.load_file(side, path)
    return window


def run_app(files: Sequence[str], data_dir: str | None = None) -> int:
    """Run the desktop app until its window closes."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LatentLab")
    app.setOrganizationName("LatentLab")
    window = create_window(files, data_dir)
    window.show()
    if os.environ.get("LATENTLAB_QUIT_WHEN_READY"):
        # Smoke tests and the start-up benchmark: report, then close like a user.
        expected = len(files[:2]) or len(shipped_pair(data_dir))
        _quit_when_ready(window, expected)
    code = app.exec()
    # superqt defers a worker's start by a timer tick, so a job requested while
    # the window closed may have started after closeEvent's wait: drain it while
    # its Qt objects still exist.
    await_all(3000)
    return code


def _quit_when_ready(window: MainWindow, expected: int) -> None:
    controller = window.controller

    def check(_side: int = 0) -> None:
        loaded = sum(p.model is not None for p in controller.panels)
        if loaded >= expected:
            print(f"latentlab: ready, {loaded} model(s) loaded", flush=True)
            controller.session.sideChanged.disconnect(check)
            QTimer.singleShot(0, window.close)

    def failed(title: str, message: str) -> None:
        print(f"latentlab: {title}: {message}", flush=True)
        QTimer.singleShot(0, window.close)

    controller.session.sideChanged.connect(check)
    controller.errorRaised.connect(failed)
    QTimer.singleShot(0, check)
