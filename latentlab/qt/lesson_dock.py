"""The guided lesson in the window: a dock beside the tabs that walks the
article's sections (:mod:`latentlab.core.lesson`), switching to each step's tab
and showing its text, computed from the models on screen. The step reached is
kept in the settings, so the learner can leave and resume. A first launch
offers "Start here" in the status bar (never a dialog)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.lesson import STEPS, Lesson
from latentlab.qt.widgets.styles import HINT_STYLE, TITLE_STYLE

if TYPE_CHECKING:
    from latentlab.qt.main_window import MainWindow

STEP_KEY = "lesson/step"
OFFERED_KEY = "lesson/offered"


class LessonDock(QDockWidget):
    """Back / Next through the lesson's steps; each sets the workspace up,
    shows its tab and says what to look at."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__("Lesson", window)
        self.setObjectName("lessonDock")
        self.window_ = window
        self.lesson = Lesson(window.controller.workspace, self._saved_step())
        self.offer_button: QPushButton | None = None  # "Start here", while shown
        body = QWidget(self)
        self.title = QLabel("", body)
        self.title.setStyleSheet(TITLE_STYLE)
        self.title.setWordWrap(True)
        self.position = QLabel("", body)
        self.position.setStyleSheet(HINT_STYLE)
        self.text = QLabel("", body)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.back_button = QPushButton("Back", body)
        self.next_button = QPushButton("Next", body)
        self.refresh_button = QPushButton("Update", body)
        self.refresh_button.setToolTip("Compute this step's text again from the tab")
        # A strip under the tabs: they keep the window's width (a dock beside
        # them made the wider tabs scroll sideways at 1024 px).
        self.title.setFixedWidth(190)
        heading = QVBoxLayout()
        heading.addWidget(self.title)
        heading.addWidget(self.position)
        heading.addStretch(1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.next_button)
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(body)
        layout.addLayout(heading)
        layout.addWidget(self.text, 1)
        layout.addLayout(buttons)
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 4)
        self.setWidget(body)
        self.back_button.clicked.connect(lambda: self.go(self.lesson.step - 1))
        self.next_button.clicked.connect(lambda: self.go(self.lesson.step + 1))
        self.refresh_button.clicked.connect(self.show_text)

    def _saved_step(self) -> int:
        value = self.window_.settings.value(STEP_KEY, 0)
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0

    def start(self) -> None:
        """Open the lesson where the learner left it."""
        self.window_.settings.setValue(OFFERED_KEY, True)
        if self.offer_button is not None:  # started: the offer has done its work
            self.window_.statusBar().removeWidget(self.offer_button)
            self.offer_button.deleteLater()
            self.offer_button = None
        self.show()
        self.raise_()
        self.go(self.lesson.step)
        # As tall as its text needs: the tabs keep the rest of the height.
        height = self.widget().minimumSizeHint().height() + 28
        self.window_.resizeDocks([self], [height], Qt.Orientation.Vertical)

    def go(self, step: int) -> None:
        """Show ``step``: set the workspace up, switch tabs, say what to see."""
        current = self.lesson.go(step)
        self.window_.settings.setValue(STEP_KEY, self.lesson.step)
        self.window_.tabs.setCurrentWidget(self.window_.view(current.tab))
        self.title.setText(current.title)
        self.position.setText(f"step {self.lesson.step + 1} of {len(STEPS)}")
        self.back_button.setEnabled(self.lesson.step > 0)
        self.next_button.setEnabled(self.lesson.step < len(STEPS) - 1)
        self.show_text()

    def show_text(self) -> None:
        """This step's text, from the numbers on screen now."""
        try:
            self.text.setText(self.lesson.text())
        except Exception as exc:
            self.text.setText(f"(this step's figures could not be computed: {exc})")


def offer_lesson(window: MainWindow) -> QPushButton | None:
    """On a first launch, a "Start here" button in the status bar (no dialog);
    None when the lesson was offered or opened before."""
    if window.settings.value(OFFERED_KEY, False) in (True, "true"):
        return None
    button = QPushButton("Start here: a guided lesson", window)
    button.setToolTip("Walk through the article's sections with these models")

    button.clicked.connect(window.lesson_dock.start)
    window.lesson_dock.offer_button = button
    window.statusBar().addPermanentWidget(button)
    window.settings.setValue(OFFERED_KEY, True)
    return button
