"""Faults during training surface in the window and lose nothing."""

from __future__ import annotations

import torch
from PySide6.QtCore import QThreadPool

from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.training_run import TrainSpec
from latentlab.qt.app import create_window

from .conftest import SHAPES_PAIR
from .conftest import wait_loaded as _wait_loaded


def _window(qtbot):
    win = create_window(SHAPES_PAIR, None)
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    _wait_loaded(qtbot, win)
    return win


def test_divergence_is_reported_and_keeps_finite_weights(qtbot, no_threads_left):
    win = _window(qtbot)
    with qtbot.waitSignal(win.controller.trainingFinished, timeout=60000) as done:
        win.controller.start_training(TrainSpec(dataset="shapes", epochs=3, lr=1e6))
    assert done.args == ["failed"]
    title, message = win.last_error
    assert title == "Training failed"
    assert "diverged" in message and "step" in message
    _wait_loaded(qtbot, win)
    for side in (0, 1):
        model = win.controller.workspace.slots[side].model
        assert all(torch.isfinite(p).all() for p in model.parameters())
    assert win.train_panel.train_button.isEnabled()
    win.close_discarding()


def test_missing_data_is_an_error_in_the_window_and_the_models_stay(
    qtbot, tmp_path, no_threads_left
):
    win = _window(qtbot)
    before = [p.checkpoint for p in win.controller.workspace.slots]
    with qtbot.waitSignal(win.controller.trainingFinished, timeout=30000) as done:
        win.controller.start_training(
            TrainSpec(dataset="mnist", data_dir=str(tmp_path), epochs=1)
        )
    assert done.args == ["failed"]
    assert "MNIST not found" in win.last_error[1]
    assert str(tmp_path / "MNIST" / "raw") in win.last_error[1]
    assert [p.checkpoint for p in win.controller.workspace.slots] == before
    win.close_discarding()


def test_autosave_keeps_the_last_completed_epoch_when_closed_mid_run(
    qtbot, tmp_path, no_threads_left
):
    win = _window(qtbot)
    panel = win.train_panel
    panel.epochs.setValue(100)
    panel.autosave.setChecked(True)
    panel.autosave_dir.setText(str(tmp_path))
    epochs = []
    win.controller.trainingEpoch.connect(epochs.append)
    panel.train_button.click()
    qtbot.waitUntil(lambda: len(epochs) >= 1, timeout=60000)
    target = tmp_path / "shapes-vae-autosave.pt"
    qtbot.waitUntil(target.exists, timeout=10000)
    win.close_discarding()
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    saved = load_checkpoint(target)
    assert saved.epochs >= 1 and saved.config.kind == "vae"
    assert load_checkpoint(tmp_path / "shapes-ae-autosave.pt").epochs >= 1
    assert not list(tmp_path.glob(".*.tmp")), "a temporary file was left behind"


def test_a_training_thread_that_cannot_start_is_an_error(
    qtbot, monkeypatch, no_threads_left
):
    import threading

    win = _window(qtbot)

    def no_thread(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    win.train_panel.train_button.click()
    qtbot.waitUntil(lambda: win.last_error is not None, timeout=10000)
    qtbot.waitUntil(lambda: not win.controller.training, timeout=10000)
    title, message = win.last_error
    assert title == "Training failed"
    assert "could not start the training thread" in message
    assert win.train_panel.train_button.isEnabled()
    win.close_discarding()
