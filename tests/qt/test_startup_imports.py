"""Start-up order: the window is built and painted before torch is imported.

``import torch`` takes over a second; the Qt layer and the core modules it
imports at module level (session, latent maths, analysis functions, data,
the planes' work) import it inside their functions only, so the window can
be on screen first. A fresh interpreter checks ``sys.modules``; no timings.
"""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING

from ..probe import python_report

if TYPE_CHECKING:
    from pathlib import Path

_PROBE = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.qt.app import (
        after_first_paint, create_window, load_files, show_loading
    )

    report = {"after_import": "torch" in sys.modules}
    app = QApplication(["latentlab"])
    window = create_window([], None, load=False)
    show_loading(window, [], None)
    report["after_window"] = "torch" in sys.modules

    def painted():
        report["after_paint"] = "torch" in sys.modules
        load_files(window, [], None)

    def check(_side=0):
        if all(s.model is not None for s in window.session.sides):
            report["loaded"] = "torch" in sys.modules
            window.close_discarding()

    window.session.sideChanged.connect(check)
    after_first_paint(window, painted)
    window.show()
    QTimer.singleShot(60000, app.quit)
    app.exec()
    print(json.dumps(report))
    """
)


def test_window_is_painted_before_torch_is_imported(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path),
        HOME=str(tmp_path),
        LATENTLAB_DATA=str(tmp_path / "no-data"),  # the shipped shapes pair
    )
    report = python_report(_PROBE, env)
    assert report == {
        "after_import": False,
        "after_window": False,
        "after_paint": False,
        "loaded": True,
    }, report
