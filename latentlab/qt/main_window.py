"""The main window: two model panels side by side, the training dock, menus."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
)

from latentlab import __version__
from latentlab.qt.controller import SIDE_NAMES, SIDES, Controller
from latentlab.qt.model_panel import ModelPanel
from latentlab.qt.train_panel import TrainPanel
from latentlab.qt.views import install_views

MAX_RECENT = 8
CHECKPOINT_FILTER = "LatentLab checkpoints (*.pt *.pth *.ckpt);;All files (*)"


class MainWindow(QMainWindow):
    """Wires widgets to the controller; holds no model itself."""

    closing = Signal()  # emitted first in closeEvent: views stop their jobs

    def __init__(self, controller: Controller | None = None) -> None:
        super().__init__()
        self.setWindowTitle("LatentLab — AE vs VAE latent explorer")
        self.controller = controller or Controller()
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self.settings = QSettings("LatentLab", "LatentLab")

        self.panels = [ModelPanel(name.capitalize()) for name in SIDE_NAMES]
        split = QSplitter(Qt.Orientation.Horizontal)
        for panel in self.panels:
            split.addWidget(panel)
        split.setChildrenCollapsible(False)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(split, "Latent planes")
        self.setCentralWidget(self.tabs)

        self.train_panel = TrainPanel()
        self.train_dock = QDockWidget("Training", self)
        self.train_dock.setObjectName("trainDock")
        self.train_dock.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.TopDockWidgetArea
        )
        self.train_dock.setWidget(self.train_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.train_dock)

        self._create_actions()
        self._create_menus()
        self._connect()
        install_views(self)
        self._read_settings()
        self.statusBar().showMessage(
            "Click or drag in either plane to decode that point in both models", 8000
        )

    # --- construction ----------------------------------------------------------------

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
        self.quit_action = action("&Quit", self.close, QKeySequence.Quit)
        self.fit_action = action(
            "&Fit Views",
            self.fit_views,
            "Ctrl+0",
            "Fit both planes to their encoded test sets",
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
        for act in self.open_actions:
            file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        for act in self.save_actions:
            file_menu.addAction(act)
        file_menu.addSeparator()
        for act in self.export_actions:
            file_menu.addAction(act)
        file_menu.addAction(self.export_decoded_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.view_menu = self.menuBar().addMenu("&View")
        self.view_menu.addAction(self.fit_action)
        self.view_menu.addAction(self.train_dock.toggleViewAction())
        train_menu = self.menuBar().addMenu("&Train")
        for act in (self.train_action, self.pause_action, self.stop_action):
            train_menu.addAction(act)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self.about_action)
        self._update_training_actions(False)

    def _connect(self) -> None:
        c = self.controller
        for side, panel in zip(SIDES, self.panels, strict=True):
            panel.plane.latentClicked.connect(c.decode_at)
            panel.openRequested.connect(lambda s=side: self.open_dialog(s))
            panel.saveRequested.connect(lambda s=side: self.save_dialog(s))
            panel.fileDropped.connect(lambda path, s=side: self.open_file(s, path))
            panel.gridRequested.connect(
                lambda rect, n, s=side: c.request_grid(s, rect, n)
            )
            panel.sliceChanged.connect(lambda sl, s=side: c.set_slice(s, sl))
        c.panelChanged.connect(self._on_panel_changed)
        c.decoded.connect(self._on_decoded)
        c.gridReady.connect(
            lambda side, img, rect: self.panels[side].show_grid(img, rect)
        )
        c.errorRaised.connect(self.show_error)
        c.status.connect(lambda text: self.statusBar().showMessage(text, 10000))
        c.trainingStarted.connect(self.train_panel.on_started)
        c.trainingStarted.connect(lambda: self._update_training_actions(True))
        c.trainingProgress.connect(self.train_panel.on_progress)
        c.trainingEpoch.connect(self.train_panel.on_epoch)
        c.trainingPaused.connect(self.train_panel.on_paused)
        c.trainingFinished.connect(self.train_panel.on_finished)
        c.trainingFinished.connect(lambda _: self._update_training_actions(False))
        self.train_panel.trainRequested.connect(c.start_training)
        self.train_panel.pauseRequested.connect(c.toggle_pause)
        self.train_panel.stopRequested.connect(c.stop_training)

    def _update_training_actions(self, running: bool) -> None:
        self.train_action.setEnabled(not running)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        for act in self.open_actions:
            act.setEnabled(not running)

    # --- controller -> widgets -------------------------------------------------------

    def _on_panel_changed(self, side: int) -> None:
        panel = self.controller.panels[side]
        self.panels[side].show_panel(panel)
        self.save_actions[side].setEnabled(
            panel.checkpoint is not None and not panel.training
        )

    def _on_decoded(self, side: int, z, image) -> None:
        x, y = self.controller.panels[side].latent_slice.project(z)[0]
        self.panels[side].show_decoded(z, image, (float(x), float(y)))

    def show_error(self, title: str, message: str) -> None:
        """Status bar plus a non-blocking dialog; the app keeps its state."""
        self.last_error = (title, message)
        self.statusBar().showMessage(f"{title}: {message}", 15000)
        if self._error_box is not None:
            self._error_box.close()
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            title,
            message,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()
        self._error_box = box

    # --- files ---------------------------------------------------------------------

    def open_dialog(self, side: int) -> None:
        """Ask for a checkpoint and load it into ``side``."""
        start = self.settings.value("lastDir", str(Path.cwd()))
        path, _ = QFileDialog.getOpenFileName(
            self,
            f"Open checkpoint into the {SIDE_NAMES[side]} panel",
            start,
            CHECKPOINT_FILTER,
        )
        if path:
            self.open_file(side, path)

    def open_file(self, side: int, path: str) -> None:
        """Load ``path`` into ``side`` and remember it."""
        if self.controller.training:
            self.show_error(
                "Training is running", "Stop training before loading another model."
            )
            return
        self.settings.setValue("lastDir", str(Path(path).parent))
        self._remember(path)
        self.controller.load_file(side, path)

    def save_dialog(self, side: int) -> None:
        """Ask where to save ``side``'s model (the dialog confirms overwriting)."""
        panel = self.controller.panels[side]
        if panel.checkpoint is None or panel.training:
            self.show_error("Nothing to save", "This panel has no finished model yet.")
            return
        cfg = panel.checkpoint.config
        dataset = panel.checkpoint.dataset.get("name", "model")
        name = f"{dataset}-{cfg.kind}-{cfg.latent_dim}d.pt"
        start = Path(self.settings.value("lastDir", str(Path.cwd()))) / name
        path, _ = QFileDialog.getSaveFileName(
            self, f"Save the {SIDE_NAMES[side]} model", str(start), CHECKPOINT_FILTER
        )
        if path:
            # QFileDialog has already asked before replacing an existing file.
            self.controller.save(side, path, overwrite=True)
            self._remember(path)

    def export_view_dialog(self, side: int) -> None:
        """Save the plane as a PNG."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Export view", f"latent-{SIDE_NAMES[side]}.png", "PNG image (*.png)"
        )
        if path and not self.panels[side].plane.grab().save(path):
            self.show_error("Export failed", f"Could not write {path}")

    def export_decoded_dialog(self) -> None:
        """Save both decoded images as PNG files next to each other."""
        path, _ = QFileDialog.getSaveFileName(
            self, "Export decoded images", "decoded.png", "PNG image (*.png)"
        )
        if not path:
            return
        base = Path(path)
        written = []
        for side, panel in zip(SIDES, self.panels, strict=True):
            target = base.with_name(f"{base.stem}-{SIDE_NAMES[side]}{base.suffix}")
            if panel.decode.export_png(str(target)):
                written.append(target.name)
        if written:
            self.statusBar().showMessage(f"Saved {', '.join(written)}", 8000)
        else:
            self.show_error(
                "Nothing to export", "Click a plane to decode a point first."
            )

    def _remember(self, path: str) -> None:
        recent = [p for p in self._recent() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recentFiles", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _recent(self) -> list[str]:
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self._recent():
            sub = self.recent_menu.addMenu(Path(path).name)
            sub.setToolTip(path)
            for side, name in zip(SIDES, SIDE_NAMES, strict=True):
                act = sub.addAction(f"Open into {name}")
                act.triggered.connect(
                    lambda _=False, s=side, p=path: self.open_file(s, p)
                )
        self.recent_menu.setEnabled(bool(self._recent()))

    # --- misc ----------------------------------------------------------------------

    def fit_views(self) -> None:
        """Fit both planes."""
        for panel in self.panels:
            panel.fit_view()

    def about(self) -> None:
        """Short help."""
        QMessageBox.about(
            self,
            "About LatentLab",
            f"<b>LatentLab {__version__}</b><p>Left click or drag in a plane decodes "
            "that point in both models. Wheel zooms; right-drag or Shift+drag pans. "
            "Drop a checkpoint on a panel to load it.</p>",
        )

    def _read_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 900)
        state = self.settings.value("windowState")
        if state is not None:
            self.restoreState(state)
        else:  # first launch: most of the height to the planes
            self.resizeDocks([self.train_dock], [240], Qt.Orientation.Vertical)
        self.train_panel.set_data_dir(
            self.controller.data_dir or self.settings.value("dataDir", "")
        )
        self._rebuild_recent_menu()

    def closeEvent(self, event) -> None:
        """Stop every job (within a second), save the layout, then close."""
        self.closing.emit()
        self.controller.shutdown(1000)
        # Results still queued from finished jobs must not reach closed widgets.
        self.controller.blockSignals(True)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        data_dir = self.train_panel.data_dir.text().strip()
        if data_dir:
            self.settings.setValue("dataDir", data_dir)
        event.accept()
