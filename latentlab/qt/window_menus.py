"""The main window's actions and menus: File, View, Train and Help, and which
actions are enabled while a training run goes on."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence

from latentlab.core.session import SIDE_NAMES, SIDES


class WindowMenus:
    """The actions and menus of :class:`~latentlab.qt.main_window.MainWindow`
    (a mixin). The actions call the window's slots: its file, export and
    training methods, the controller's pause and stop."""

    def _create_actions(self) -> None:
        def action(text, slot, shortcut=None, tip="") -> QAction:
            act = QAction(text, self)
            if shortcut is not None:
                act.setShortcut(shortcut)
            act.setStatusTip(tip)
            act.triggered.connect(slot)
            return act

        self.open_actions = [
            action(
                "Open into &Left…",
                lambda: self.open_dialog(0),
                QKeySequence.Open,
                "Load a checkpoint into the left panel",
            ),
            action(
                "Open into &Right…",
                lambda: self.open_dialog(1),
                "Ctrl+Shift+O",
                "Load a checkpoint into the right panel",
            ),
        ]
        self.open_folder_actions = [
            action(
                f"Open pythae Folder into {name.capitalize()}…",
                lambda _=False, s=side: self.open_folder_dialog(s),
                tip=f"Load a model pythae saved (a folder) into the {name} panel",
            )
            for side, name in zip(SIDES, SIDE_NAMES, strict=True)
        ]
        self.save_actions = [
            action(
                "&Save Left Model…",
                lambda: self.save_dialog(0),
                QKeySequence.Save,
                "Save the left panel's model",
            ),
            action(
                "Save Right &Model…",
                lambda: self.save_dialog(1),
                "Ctrl+Shift+S",
                "Save the right panel's model",
            ),
        ]
        self.export_actions = [
            action(
                f"Export {name.capitalize()} View as PNG…",
                lambda _=False, s=side: self.export_view_dialog(s),
                tip=f"Save the {name} plane as an image",
            )
            for side, name in zip(SIDES, SIDE_NAMES, strict=True)
        ]
        self.export_decoded_action = action(
            "Export &Decoded Images…",
            self.export_decoded_dialog,
            tip="Save both decoded images as PNG files",
        )
        self.codes_actions = [
            action(
                f"Export {name.capitalize()} Codes as CSV…",
                lambda _=False, s=side: self.export_codes_dialog(s),
                tip=f"Save the {name} model's codes of the test set (index, label, "
                "z or mu and sigma per dim)",
            )
            for side, name in zip(SIDES, SIDE_NAMES, strict=True)
        ]
        self.quit_action = action("&Quit", self.close, QKeySequence.Quit)
        self.clear_group_action = action(
            "&Clear Selection",
            self.session.clear_group,
            QKeySequence(Qt.Key.Key_Escape),
            "Deselect the test images selected in the planes",
        )
        self.clear_group_action.setEnabled(False)
        self.fit_action = action(
            "&Fit Views",
            self.fit_views,
            "Ctrl+0",
            "Fit both planes to their encoded test sets",
        )
        self.train_settings_action = action(
            "Training &Settings…",
            self.show_training_dock,
            "Ctrl+Shift+T",
            "Show the training settings, progress and loss curves",
        )
        self.train_action = action(
            "&Train AE + VAE",
            self.train_panel.train_button.click,
            "Ctrl+T",
            "Train both models on the chosen dataset",
        )
        self.pause_action = action(
            "&Pause / Resume", self.controller.toggle_pause, "Ctrl+P"
        )
        self.stop_action = action(
            "&Stop",
            self.controller.stop_training,
            "Ctrl+.",
            "Stop training; the models keep what they learned",
        )
        self.about_action = action("&About LatentLab", self.about)

    def _create_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for act in self.open_actions + self.open_folder_actions:
            file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        for act in self.save_actions:
            file_menu.addAction(act)
        file_menu.addSeparator()
        for act in self.export_actions:
            file_menu.addAction(act)
        file_menu.addAction(self.export_decoded_action)
        for act in self.codes_actions:
            file_menu.addAction(act)
        self.figure_menu = file_menu.addMenu("Export &Figure (SVG / PNG)")
        self.figure_actions: dict[str, QAction] = {}
        for key, text in self.figures:
            act = self.figure_menu.addAction(text)
            act.setStatusTip("Save this plot as SVG, or as PNG at twice its size")
            act.triggered.connect(lambda _=False, k=key: self.export_figure_dialog(k))
            self.figure_actions[key] = act
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.view_menu = self.menuBar().addMenu("&View")
        self.view_menu.addAction(self.fit_action)
        self.view_menu.addAction(self.clear_group_action)
        dock_toggle = self.train_dock.toggleViewAction()
        dock_toggle.setText("&Training Panel")
        self.view_menu.addAction(dock_toggle)
        train_menu = self.menuBar().addMenu("&Train")
        for act in (
            self.train_settings_action,
            self.train_action,
            self.pause_action,
            self.stop_action,
        ):
            train_menu.addAction(act)
        help_menu = self.menuBar().addMenu("&Help")
        self.lesson_action = help_menu.addAction("Guided &Lesson")
        self.lesson_action.setToolTip(
            "Walk through the article's sections, step by step"
        )
        self.lesson_action.triggered.connect(self.lesson_dock.start)
        help_menu.addAction(self.about_action)
        self._update_training_actions(False)

    def _update_training_actions(self, running: bool) -> None:
        self.train_action.setEnabled(not running)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        for act in self.open_actions + self.open_folder_actions:
            act.setEnabled(not running)
