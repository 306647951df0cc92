"""``LATENTLAB_PLAIN=1`` reaches every speed device of ``latentlab/core/perf.py``.

A fresh interpreter runs the app's start-up with the switch off (the CUDA
bindings, Qt's environment, the thread pool, the GC freeze, the scatter), then
a click, a training run and a conv display decode, and reports which devices
their sites asked about and what the plain paths left behind. The core's plain
paths and their numbers are tested in ``tests/core/test_perf.py``.
"""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING

import numpy as np
import pytest

from latentlab.core import perf

from ..probe import app_env, python_report

if TYPE_CHECKING:
    from pathlib import Path

_PROBE = textwrap.dedent(
    """
    import gc, importlib.util, json, os, sys
    from PySide6.QtCore import QThreadPool, QTimer
    from latentlab.qt.app import (
        create_window, freeze_startup_objects, new_application, show_then_load
    )
    from latentlab.qt.widgets.latent_plane import LatentPlaneWidget
    from latentlab.core import perf

    cuda = "cuda.bindings.runtime"
    report = {"devices_on": perf.devices_on()}
    imported = cuda in sys.modules
    installed = importlib.util.find_spec("cuda.bindings") is not None
    # Not held back: pyqtgraph imported them wherever torch's wheel installed them.
    report["cuda_bindings_as_pyqtgraph_wants"] = imported == installed
    ideal = QThreadPool.globalInstance().maxThreadCount()
    app = new_application(["latentlab"])
    report["gui_thread_pool_off"] = os.environ.get("QT_NO_GUI_THREADPOOL")
    window = create_window([], None, load=False, defer_views=True)
    report["pool_is_the_default"] = (
        QThreadPool.globalInstance().maxThreadCount() == max(ideal, 2)
    )

    def started():
        freeze_startup_objects()
        report["frozen"] = gc.get_freeze_count()
        window.controller.decode_at(0.0, 0.0)
        planes = window.findChildren(LatentPlaneWidget)
        shown = [p.points for p in planes if p.points.count()]
        report["scatters_by_pyqtgraph"] = bool(shown) and all(
            sum(len(g.data) for g in item._groups) == item.count() for item in shown
        )
        window.grab()
        window.close_discarding()
        app.quit()

    show_then_load(window, [], None, started=started)
    QTimer.singleShot(60000, app.quit)
    app.exec()

    import torch
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import make_shapes
    from latentlab.core.latent import decode_codes
    from latentlab.core.threads import training_threads
    from latentlab.core.training import new_model, train

    report["training_threads"] = training_threads()
    conv = new_model(ModelConfig(backbone="conv", hidden=(64,), latent_dim=2))
    decode_codes(conv, torch.zeros(4, 2).numpy(), for_display=True)
    for _ in train(
        new_model(ModelConfig(hidden=(32,))),
        make_shapes(n_train=64, n_test=8, seed=1),
        TrainConfig(epochs=1, batch_size=64, threads=1),
    ):
        pass
    report["unasked"] = sorted({d.name for d in perf.DEVICES} - perf.asked())
    print(json.dumps(report))
    """
)


def test_the_switch_reaches_every_device(tmp_path: Path) -> None:
    env = app_env(tmp_path, LATENTLAB_PLAIN="1")
    report = python_report(_PROBE, env)
    assert report == {
        "devices_on": False,
        "cuda_bindings_as_pyqtgraph_wants": True,
        "gui_thread_pool_off": None,
        "pool_is_the_default": True,
        "frozen": 0,
        "scatters_by_pyqtgraph": True,
        "training_threads": None,
        "unasked": [],
    }, report


def test_the_setting_turns_the_devices_off(tmp_path: Path) -> None:
    """``performance/plain=true`` in the app's settings file, read at
    ``import latentlab.qt``; ``LATENTLAB_PLAIN`` wins where it is set."""
    conf = tmp_path / "LatentLab" / "LatentLab.conf"
    conf.parent.mkdir()
    conf.write_text("[performance]\nplain=true\n")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    code = (
        "import json, latentlab.qt\n"
        "from latentlab.core import perf\n"
        "print(json.dumps(perf.devices_on()))"
    )
    env.pop(perf.ENV_VAR, None)
    assert python_report(code, env) is False
    env[perf.ENV_VAR] = "0"
    assert python_report(code, env) is True


@pytest.fixture
def plain_points():
    saved = perf._on
    perf.set_enabled(False)
    yield
    perf._on = saved


def test_plain_points_draw_and_export_like_the_item(qtbot, plain_points) -> None:
    from latentlab.qt.export import _scatters
    from latentlab.qt.widgets.latent_plane import LatentPlaneWidget
    from latentlab.qt.widgets.points import PointsItem

    plane = LatentPlaneWidget()
    qtbot.addWidget(plane)
    plane.resize(300, 300)
    xy = np.random.default_rng(0).normal(size=(200, 2))
    masks = [np.arange(200) % 3 == k for k in range(3)]
    plane.points.set_groups(xy, masks, [(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    groups = plane.points._groups
    assert [len(g.data) for g in groups] == [int(m.sum()) for m in masks]
    assert not groups[0].acceptedMouseButtons()  # clicks reach the plane
    plane.show()
    qtbot.waitExposed(plane)
    plane.grab()
    # The export reads the item, not its pyqtgraph children: no point twice.
    found = _scatters(plane.getPlotItem())
    assert plane.points in found
    assert not any(isinstance(item.parentItem(), PointsItem) for item in found)
    plane.points.set_groups(xy, masks[:1], [(255, 0, 0)])
    assert [g.isVisible() for g in groups] == [True, False, False]
    plane.points.clear()
    assert sum(len(g.data) for g in groups) == 0
