"""Issue 29, item 6 in the window: Help ▸ Guided Lesson opens the lesson dock
at the step reached last time; Back/Next move through the article, switching
tabs; a first launch offers "Start here" in the status bar, once, no dialog."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QDialog

from latentlab.core.lesson import STEPS
from latentlab.qt.lesson_dock import STEP_KEY, LessonDock, offer_lesson

from .conftest import wait_loaded


def test_the_lesson_walks_the_tabs_and_remembers_its_step(qtbot, window):
    wait_loaded(qtbot, window)
    dock = window.lesson_dock
    assert not dock.isVisible()
    window.lesson_action.trigger()
    assert dock.isVisible()
    assert dock.title.text() == STEPS[0].title
    assert window.tabs.currentWidget() is window.view("planes")
    assert dock.text.text() == dock.lesson.text()
    assert not dock.back_button.isEnabled()
    for i in range(1, len(STEPS)):
        dock.next_button.click()
        assert dock.position.text() == f"step {i + 1} of {len(STEPS)}"
        assert window.tabs.currentWidget() is window.view(STEPS[i].tab)
        assert dock.text.text()
    assert not dock.next_button.isEnabled()
    dock.back_button.click()
    dock.back_button.click()
    assert int(window.settings.value(STEP_KEY)) == len(STEPS) - 3
    # Left and resumed: a new dock on the same settings starts there.
    again = LessonDock(window)
    assert again.lesson.step == len(STEPS) - 3
    again.deleteLater()


def test_a_first_launch_offers_the_lesson_once_without_a_dialog(qtbot, window):
    button = offer_lesson(window)
    assert button is not None and button.isVisible()
    assert not [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QDialog) and w.isVisible()
    ]
    assert offer_lesson(window) is None  # offered once
    button.click()
    assert window.lesson_dock.isVisible()
    assert window.lesson_dock.offer_button is None  # the offer is gone
