"""Issue 29, item 4 in the window: the Gradient path tab trains a VAE like its
own with and without the trick and draws both learning curves as they come."""

from __future__ import annotations

from PySide6.QtCore import Qt

from .conftest import wait_loaded


def test_training_without_the_trick_draws_both_curves_live(qtbot, window):
    wait_loaded(qtbot, window)
    view = window.view("gradient")
    window.tabs.setCurrentWidget(view)
    panel = view.trick
    panel.epochs.setValue(1)
    seen = []
    original = panel.on_progress

    def spy(event):
        seen.append(event)
        original(event)

    panel.on_progress = spy
    qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert not panel.train_button.isEnabled()
    qtbot.waitUntil(lambda: panel.train_button.isEnabled(), timeout=60000)
    curves = panel.curves
    assert curves is not None and curves.epochs == [1]
    assert len(seen) > 3  # steps drawn while it trained, then the epoch
    for k in (0, 1):
        xs, ys = panel.train_lines[k].getData()
        assert len(xs) == len(ys) > 2
        _, test = panel.test_points[k].getData()
        assert list(test) == curves.test[k]
    summary = curves.summary()
    assert panel.status.text() == summary[:1].upper() + summary[1:] + "."
    assert "−ELBO" in panel.status.text()
    assert window.controller.workspace.result("gradient.trick") is curves
