"""Start-up order: the window is built and painted before torch is imported.

``import torch`` takes over a second; the Qt layer and the core modules it
imports at module level (session, latent maths, analysis functions, data,
the planes' work) import it inside their functions only, so the window can
be on screen first. A fresh interpreter checks ``sys.modules``; no timings.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from latentlab.qt.analysis.registry import VIEWS

from ..probe import app_env, python_report

if TYPE_CHECKING:
    from pathlib import Path

_PROBE = textwrap.dedent(
    """
    import gc, json, os, sys
    from PySide6.QtCore import QTimer

    from latentlab.qt.app import (
        create_window, freeze_startup_objects, new_application, show_then_load
    )

    cuda = "cuda.bindings.runtime"
    report = {
        "after_import": "torch" in sys.modules,
        "cuda_bindings_after_import": cuda in sys.modules,
    }
    app = new_application(["latentlab"])
    report["gui_thread_pool_off"] = os.environ.get("QT_NO_GUI_THREADPOOL")
    window = create_window([], None, load=False, defer_views=True)
    report["after_window"] = "torch" in sys.modules

    def painted():
        report["after_paint"] = "torch" in sys.modules
        report["views_at_paint"] = len(window.views)

    def started():
        report["views_built"] = sorted(window.views)
        sides = window.session.sides
        report["loaded_when_started"] = all(s.model is not None for s in sides)
        freeze_startup_objects()
        # torch's, Qt's and the models' objects are out of the GC's full passes.
        report["frozen_over_100k"] = gc.get_freeze_count() > 100_000
        window.close_discarding()

    def check(_side=0):
        if all(s.model is not None for s in window.session.sides):
            report["loaded"] = "torch" in sys.modules
            report["views_when_loaded"] = len(window.views)
            # Held back from pyqtgraph only: importable once torch wants it.
            report["cuda_bindings_not_blocked"] = sys.modules.get(cuda, 0) is not None
            window.session.sideChanged.disconnect(check)

    window.session.sideChanged.connect(check)
    show_then_load(window, [], None, painted=painted, started=started)
    QTimer.singleShot(60000, app.quit)
    app.exec()
    print(json.dumps(report))
    """
)


def test_window_is_painted_before_torch_is_imported(tmp_path: Path) -> None:
    env = app_env(tmp_path)
    report = python_report(_PROBE, env)
    assert report == {
        "after_import": False,
        "cuda_bindings_after_import": False,
        "gui_thread_pool_off": "1",
        "after_window": False,
        "after_paint": False,
        # Only the tab the window opens on (the planes) is built before the
        # frame; the other tabs after the loads.
        "views_at_paint": 1,
        "loaded": True,
        "views_when_loaded": 1,
        "cuda_bindings_not_blocked": True,
        "views_built": sorted(view.key for view in VIEWS),
        "loaded_when_started": True,
        "frozen_over_100k": True,
    }, report
