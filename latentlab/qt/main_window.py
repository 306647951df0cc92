"""The main window: two model panels side by side, the analysis tabs, the
training dock and settings.

What the window does is split by concern: its actions and menus are
:mod:`~latentlab.qt.window_menus`, opening and saving checkpoints (and the
prompt for unsaved models) :mod:`~latentlab.qt.window_files`, and everything it
exports :mod:`~latentlab.qt.window_exports`; :class:`MainWindow` builds the
layout, wires the session and the controller to the widgets, and closes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QWidget,
)

from latentlab import __version__
from latentlab.core.session import SIDES, describe
from latentlab.qt.analysis import registry
from latentlab.qt.controller import Controller
from latentlab.qt.lesson_dock import LessonDock
from latentlab.qt.widgets.train_panel import TrainPanel
from latentlab.qt.window_exports import (
    CSV_FILTER,
    FIGURES,
    WindowExports,
    figure_entries,
)
from latentlab.qt.window_files import SAVE_FILTER, WindowFiles
from latentlab.qt.window_menus import WindowMenus

if TYPE_CHECKING:
    from collections.abc import Callable

    from latentlab.qt.analysis.base import AnalysisView
    from latentlab.qt.analysis.planes import PlanesView
    from latentlab.qt.widgets.group_panel import GroupPanel
    from latentlab.qt.widgets.model_panel import ModelPanel

# Imported from here by tests and scripts (QFileDialog: tests patch its static
# methods through this module).
__all__ = ["CSV_FILTER", "FIGURES", "SAVE_FILTER", "MainWindow", "QFileDialog"]

DEFAULT_SIZE = (1280, 860)
MIN_SIZE = (1000, 700)  # fits a 1024x768 screen with its window frame
DOCK_HEIGHT = 250
FOLDED_DOCK_HEIGHT = 205  # the least the dock shows: its curves readable
FOLD_BELOW = 820  # shorter (768 px screens) folds the settings; 860 shows them
HOW_TO_PICK = (
    "Click or drag in a plane to decode that point in both models · Ctrl+click a "
    "point to pick that test image as the input of the analysis tabs · Alt+drag "
    "selects a rectangle, Alt+Shift+drag a lasso"
)


def _scrolling(widget) -> QScrollArea:
    """``widget`` in a frameless scroll area: shown whole, or scrolled when the
    window is smaller than its minimum size."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


class MainWindow(WindowMenus, WindowFiles, WindowExports, QMainWindow):
    """Wires widgets to the session and the controller; holds no model itself."""

    closing = Signal()  # emitted in closeEvent once closing is confirmed

    def __init__(
        self, controller: Controller | None = None, *, defer_views: bool = False
    ) -> None:
        """``defer_views``: the analysis tabs start as empty pages, each built
        when first shown or by :meth:`build_views` (start-up builds them after
        the first frame)."""
        super().__init__()
        self.setWindowTitle("LatentLab — AE vs VAE latent explorer")
        self.controller = controller or Controller()
        self.workspace = self.controller.workspace
        self.session = self.workspace.session
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self._closing_confirmed = False
        self.settings = QSettings("LatentLab", "LatentLab")
        self.setMinimumSize(*MIN_SIZE)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.views: dict[str, AnalysisView] = {}
        self._unbuilt_views: dict[str, type[AnalysisView]] = {}
        # The registry as it is now: a view added there is a tab, its figures
        # File ▸ Export Figure entries, with no other edit.
        self.view_classes = registry.VIEWS
        self.figures = figure_entries(self.view_classes)
        for cls in self.view_classes:
            self._unbuilt_views[cls.key] = cls
            index = self.tabs.addTab(QWidget(), cls.title)
            self.tabs.setTabToolTip(index, cls.tooltip)
        self.view(self.view_classes[0].key)  # the tab the window opens on
        if not defer_views:
            self.build_views()
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.setCentralWidget(self.tabs)

        self.train_panel = TrainPanel()
        self.train_dock = QDockWidget("Training", self)
        self.train_dock.setObjectName("trainDock")
        self.train_dock.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.TopDockWidgetArea
        )
        self.train_dock.setWidget(_scrolling(self.train_panel))
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.train_dock)

        self.lesson_dock = LessonDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.lesson_dock)
        self.lesson_dock.hide()

        self._create_actions()
        self._create_menus()
        self._connect()
        self._read_settings()
        self.statusBar().showMessage(HOW_TO_PICK, 15000)

    # --- construction ------------------------------------------------------------

    def _connect(self) -> None:
        c = self.controller
        planes = self.planes
        planes.openRequested.connect(self.open_dialog)
        planes.saveRequested.connect(self.save_dialog)
        planes.gifRequested.connect(self.export_timeline_gif)
        planes.fileDropped.connect(self.open_file)
        planes.statusMessage.connect(self.statusBar().showMessage)
        self.session.groupChanged.connect(
            lambda: self.clear_group_action.setEnabled(self.session.group is not None)
        )
        self.session.sideChanged.connect(self._on_side_changed)
        self.session.selectionChanged.connect(self._on_selection_changed)
        c.loaded.connect(lambda _side, path: self._remember(path))
        c.saved.connect(lambda _side, path: self._remember(path))
        c.errorRaised.connect(self.show_error)
        c.datasetNeeded.connect(self._on_dataset_needed)
        c.asks_dataset = True
        c.status.connect(lambda text: self.statusBar().showMessage(text, 10000))
        c.trainingStarted.connect(lambda _spec: self.train_panel.on_started())
        c.trainingStarted.connect(lambda _spec: self._update_training_actions(True))
        c.trainingStarted.connect(lambda _spec: self.show_training_dock())
        c.trainingProgress.connect(self.train_panel.on_progress)
        c.trainingEpoch.connect(self.train_panel.on_epoch)
        c.trainingPaused.connect(self.train_panel.on_paused)
        c.trainingFinished.connect(self.train_panel.on_finished)
        c.trainingFinished.connect(lambda _: self._update_training_actions(False))
        self.train_panel.trainRequested.connect(self.start_training)
        self.train_panel.settings_button.toggled.connect(self._on_settings_shown)
        self.train_panel.dataChosen.connect(c.preload_dataset)
        self.train_panel.pauseRequested.connect(c.toggle_pause)
        self.train_panel.stopRequested.connect(c.stop_training)

    @property
    def planes(self) -> PlanesView:
        """The Latent planes tab."""
        return self.view("planes")

    @property
    def panels(self) -> list[ModelPanel]:
        """The model panels of the Latent planes tab, left then right."""
        return self.planes.panels

    @property
    def group_panel(self) -> GroupPanel:
        """The selected group, under the planes."""
        return self.planes.group_panel

    def show_training_dock(self) -> None:
        """Bring the training dock up (it stays out of the way otherwise)."""
        hidden = not self.train_dock.isVisible()
        self.train_dock.show()
        self.train_dock.raise_()
        self._fit_training_dock()
        if hidden:
            self._on_settings_shown(self.train_panel.settings_button.isChecked())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_training_dock()

    def _fit_training_dock(self) -> None:
        """On a short window the training settings fold into one line and the
        dock gives its height to the tabs (until the user unfolds them)."""
        if self.__dict__.get("train_panel") is not None:
            self.train_panel.fold_settings(self.height() < FOLD_BELOW)

    def _on_settings_shown(self, _shown: bool) -> None:
        if self.train_dock.isVisible():
            # Its content whole (the form, when shown), the curves at least
            # FOLDED_DOCK_HEIGHT: no scrolling inside the dock.
            self.train_panel.layout().activate()
            title = self.train_dock.height() - self.train_dock.widget().height()
            content = self.train_panel.minimumSizeHint().height()
            height = max(content + max(title, 0), FOLDED_DOCK_HEIGHT)
            self.resizeDocks([self.train_dock], [height], Qt.Orientation.Vertical)
            # Resized while its layout still held the form, the panel would
            # keep the old layout's geometry (the curves cut off at the bottom).
            self.train_panel.layout().activate()
            self.train_panel.layout().setGeometry(self.train_panel.rect())

    # --- session -> widgets ------------------------------------------------------

    def _on_side_changed(self, side: int) -> None:
        state = self.session.sides[side]
        if side < len(self.save_actions):
            self.save_actions[side].setEnabled(
                state.checkpoint is not None and not state.training
            )
        if not self.controller.training:
            self._follow_models()

    def _follow_models(self) -> None:
        """The training form, curves, bar and figures describe the models shown
        (a run's own curves stay while its models are shown)."""
        sides = self.session.sides
        ckpts = [s.checkpoint for s in sides]
        vae = next((c for c in ckpts[::-1] if c and c.config.kind == "vae"), None)
        ae = next((c for c in ckpts if c and c.config.kind == "ae"), None)
        shown = vae or ae
        if shown is None:
            self.train_panel.show_history([None, None], "no model shown")
            return
        cfg = shown.config
        self.train_panel.follow(
            str(shown.dataset.get("name", "shapes")),
            cfg.latent_dim,
            cfg.backbone,
            cfg.beta if vae is not None else self.train_panel.beta.value(),
            likelihood=cfg.likelihood,
            image_shape=cfg.image_shape,
        )
        run = self.controller.run_checkpoints
        if self.train_panel.shows_run and all(
            any(c is r for r in run) for c in (ae, vae) if c is not None
        ):
            return  # the run's own models: its curves, step by step, stay
        names = [
            c.path.name if c is not None and c.path else "unsaved"
            for c in (ae, vae)
            if c is not None
        ]
        self.train_panel.show_history(
            [ae.history if ae else None, vae.history if vae else None],
            "history of " + " and ".join(names),
        )

    def _on_selection_changed(self) -> None:
        sel = self.session.selection
        if sel.dataset is None or sel.current is None or not sel.by_user:
            return  # a new dataset's default pair is no news
        text = f"Input {describe(sel.dataset, sel.current)} picked"
        if sel.previous is not None:
            text += f" (A = {describe(sel.dataset, sel.previous)})"
        self.statusBar().showMessage(
            text + ": see the ε-resampling, Gradient path and Interpolation tabs",
            8000,
        )

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

    # --- training ----------------------------------------------------------------

    def start_training(self, spec) -> None:
        """Train a new pair, after asking about unsaved models it replaces."""
        if self.controller.training:
            return
        if not self.confirm_discard(list(SIDES), "Training a new pair"):
            return
        self.controller.start_training(spec)

    # --- the analysis tabs ----------------------------------------------------------

    def view(self, key: str) -> AnalysisView:
        """The analysis view ``key``, built now if it was not yet."""
        cls = self._unbuilt_views.pop(key, None)
        if cls is not None:
            index = self.view_classes.index(cls)
            view = cls(self.controller.workspace)
            self.views[key] = view
            # In beside the placeholder, then the placeholder out: removing the
            # current tab would show (and refresh) its neighbour for a moment.
            placeholder = self.tabs.widget(index)
            was_current = self.tabs.currentIndex() == index
            self.tabs.blockSignals(True)
            self.tabs.insertTab(index + 1, view, cls.title)
            self.tabs.setTabToolTip(index + 1, cls.tooltip)
            if was_current:
                self.tabs.setCurrentIndex(index + 1)
            self.tabs.removeTab(index)
            self.tabs.blockSignals(False)
            placeholder.deleteLater()
        return self.views[key]

    def build_views(
        self, *, one_per_turn: bool = False, then: Callable[[], None] | None = None
    ) -> None:
        """Build the analysis views not built yet: all now, or one per
        event-loop turn so the window stays responsive meanwhile; ``then`` runs
        once they are built (or the window is closing)."""
        if not one_per_turn:
            for key in list(self._unbuilt_views):
                self.view(key)
        elif self._unbuilt_views and not self._closing_confirmed:
            self.view(next(iter(self._unbuilt_views)))
            QTimer.singleShot(
                0, self, lambda: self.build_views(one_per_turn=True, then=then)
            )
            return
        if then is not None:
            then()

    def _on_tab_changed(self, index: int) -> None:
        if 0 <= index < len(self.view_classes):
            self.view(self.view_classes[index].key)

    # --- misc --------------------------------------------------------------------

    def fit_views(self) -> None:
        """Fit both planes."""
        self.planes.fit_views()

    def about(self) -> None:
        """Short help."""
        QMessageBox.about(
            self,
            "About LatentLab",
            f"<b>LatentLab {__version__}</b><p>Left click or drag in a plane decodes "
            "that point in both models; Ctrl+click picks a test image as the input "
            "of the analysis tabs. Wheel zooms; right-drag or Shift+drag pans. "
            "Alt+drag selects the test images in a rectangle, Alt+Shift+drag in a "
            "lasso (or use Select / Lasso); they are highlighted in both planes, "
            "and Esc clears. The timeline under a plane replays training. "
            "Drop a checkpoint on a panel to load it.</p>",
        )

    def _read_settings(self) -> None:
        geometry = self.settings.value("geometry")
        if not isinstance(geometry, QByteArray | bytes) or not self.restoreGeometry(
            geometry
        ):
            self.resize(*DEFAULT_SIZE)
        state = self.settings.value("windowState")
        if not isinstance(state, QByteArray | bytes) or not self.restoreState(state):
            self.resizeDocks([self.train_dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)
        # The planes get the window; the dock comes up with Train or a run, the
        # lesson with Help ▸ Guided Lesson (at the step reached last time).
        self.train_dock.hide()
        self.lesson_dock.hide()
        self.train_panel.set_data_dir(
            self.controller.data_dir or self._setting_text("dataDir")
        )
        self._rebuild_recent_menu()

    def close_discarding(self) -> bool:
        """Close without asking about unsaved models (scripts and tests)."""
        self._closing_confirmed = True
        return self.close()

    def closeEvent(self, event) -> None:
        """Ask about unsaved models, stop every job (within a second), save the
        layout, then close. Cancel keeps the window as it was."""
        if not self._closing_confirmed:
            if self.controller.training:
                answer = QMessageBox.question(
                    self,
                    "Training is running",
                    "Quit and discard the models being trained?",
                    QMessageBox.StandardButton.Discard
                    | QMessageBox.StandardButton.Cancel,
                    QMessageBox.StandardButton.Cancel,
                )
                if answer != QMessageBox.StandardButton.Discard:
                    event.ignore()
                    return
            elif not self.confirm_discard(list(SIDES), "Quitting"):
                event.ignore()
                return
        self._closing_confirmed = True
        self.closing.emit()
        for view in self.views.values():
            view.shutdown()
        self.controller.shutdown(1000)  # nothing is delivered after this
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        data_dir = self.train_panel.data_dir.text().strip()
        if data_dir:
            self.settings.setValue("dataDir", data_dir)
        event.accept()
