"""Issue 28, defect 16: at 1024x768 with the training dock open, the tabs keep
their height. The dock's settings fold into one line on a short window (the
user's own fold or unfold wins), its curves stay whole, the selection panel
fits under the planes without scrolling the tab, and the wheel over a table
scrolls the page, not the table."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea

from latentlab.qt.main_window import FOLD_BELOW

from .conftest import wait_loaded


def _settle(qtbot, ms=300):
    qtbot.wait(ms)


def _small(qtbot, window):
    window.resize(1024, 768)
    window.show_training_dock()
    _settle(qtbot)
    assert window.height() < FOLD_BELOW


def _page(view) -> QScrollArea:
    return view.page_wheel.page


def test_a_short_window_folds_the_training_settings_and_keeps_the_curves_whole(
    qtbot, window
):
    panel = window.train_panel
    _small(qtbot, window)
    assert panel.settings.isHidden() and not panel.settings_summary.isHidden()
    summary = panel.settings_summary.text()
    assert panel.dataset.currentText() in summary
    assert f"{panel.latent_dim.value()}-D" in summary
    assert f"{panel.epochs.value()} epochs" in summary
    panel.epochs.setValue(7)
    assert "7 epochs" in panel.settings_summary.text()
    # The dock gave its height to the tabs, and its curves fit inside it.
    assert window.train_dock.height() <= 230
    plots = panel.plots.geometry()
    assert plots.bottom() <= panel.height() and plots.height() >= 120
    # Unfolded by the user: it stays so whatever the window's size.
    qtbot.mouseClick(panel.settings_button, Qt.MouseButton.LeftButton)
    assert not panel.settings.isHidden() and panel.settings_summary.isHidden()
    window.resize(1024, 760)
    _settle(qtbot)
    assert not panel.settings.isHidden()


def test_a_tall_window_shows_the_settings(qtbot, window):
    window.resize(1280, 900)
    window.show_training_dock()
    _settle(qtbot)
    assert not window.train_panel.settings.isHidden()


def test_the_selection_fits_under_the_planes_without_scrolling(qtbot, window):
    wait_loaded(qtbot, window)
    _small(qtbot, window)
    window.controller.workspace.select(list(range(0, 300, 3)), 0)
    qtbot.waitUntil(window.group_panel.isVisible)
    _settle(qtbot)
    page = _page(window.view("planes"))
    assert page.verticalScrollBar().maximum() == 0, "the tab scrolls"
    group = window.group_panel
    top_left = group.mapTo(page.viewport(), QPoint(0, 0))
    assert top_left.y() + group.height() <= page.viewport().height()
    for p in window.panels:
        assert p.plane.height() >= 170


def _wheel(widget, down=True) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    delta = QPoint(0, -120 if down else 120)
    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(),
        delta,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_table_scrolls_the_page(qtbot, window):
    _small(qtbot, window)
    window.tabs.setCurrentWidget(window.view("gradient"))
    view = window.view("gradient")
    _settle(qtbot, 500)
    page = _page(view).verticalScrollBar()
    table = view.table
    assert page.maximum() > 0, "the page must scroll for this test"
    table.setRowCount(40)  # rows enough for the table to scroll too
    _settle(qtbot, 50)
    assert table.verticalScrollBar().maximum() > 0
    before = page.value()
    _wheel(table.viewport())
    assert page.value() > before
    assert table.verticalScrollBar().value() == 0
    # Clicked into, the table scrolls itself while it can.
    table.setFocus()
    page_at = page.value()
    _wheel(table.viewport())
    assert table.verticalScrollBar().value() > 0 and page.value() == page_at
