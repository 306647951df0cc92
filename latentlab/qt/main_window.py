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
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab import __version__
from latentlab.core.analysis.group import summarize_group
from latentlab.core.analysis.planes import display_images
from latentlab.core.session import SIDE_NAMES, SIDES, describe, same_data
from latentlab.qt.analysis.registry import VIEWS
from latentlab.qt.controller import Controller
from latentlab.qt.widgets.group_panel import MAX_THUMBNAILS, GroupPanel
from latentlab.qt.widgets.latent_plane import nearest_point
from latentlab.qt.widgets.model_panel import ModelPanel
from latentlab.qt.widgets.train_panel import TrainPanel
from latentlab.qt.window_exports import CSV_FILTER, FIGURES, WindowExports
from latentlab.qt.window_files import SAVE_FILTER, WindowFiles
from latentlab.qt.window_menus import WindowMenus

if TYPE_CHECKING:
    from collections.abc import Callable

    from latentlab.core.analysis.planes import Decoded
    from latentlab.qt.analysis.base import AnalysisView

# Imported from here by tests and scripts (QFileDialog: tests patch its static
# methods through this module).
__all__ = ["CSV_FILTER", "FIGURES", "SAVE_FILTER", "MainWindow", "QFileDialog"]

DEFAULT_SIZE = (1280, 860)
MIN_SIZE = (1000, 700)  # fits a 1024x768 screen with its window frame
DOCK_HEIGHT = 250
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
        self.session = self.controller.session
        self.last_error: tuple[str, str] | None = None
        self._error_box: QMessageBox | None = None
        self._closing_confirmed = False
        self.settings = QSettings("LatentLab", "LatentLab")
        self.setMinimumSize(*MIN_SIZE)

        self.panels = [ModelPanel(name.capitalize()) for name in SIDE_NAMES]
        split = QSplitter(Qt.Orientation.Horizontal)
        for panel in self.panels:
            split.addWidget(panel)
        split.setChildrenCollapsible(False)
        # The selected group sits under both planes, hidden while there is none.
        self.group_panel = GroupPanel()
        self.group_panel.hide()
        planes = QWidget()
        planes_layout = QVBoxLayout(planes)
        planes_layout.setContentsMargins(0, 0, 0, 0)
        planes_layout.setSpacing(2)
        planes_layout.addWidget(split, 1)
        planes_layout.addWidget(self.group_panel)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(_scrolling(planes), "Latent planes")
        self.tabs.setTabToolTip(0, "Both models' latent planes; click to decode")
        self.views: dict[str, AnalysisView] = {}
        self._unbuilt_views: dict[str, type[AnalysisView]] = {}
        for cls in VIEWS:
            self._unbuilt_views[cls.key] = cls
            index = self.tabs.addTab(QWidget(), cls.title)
            self.tabs.setTabToolTip(index, cls.tooltip)
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

        self._create_actions()
        self._create_menus()
        self._connect()
        self._read_settings()
        self.statusBar().showMessage(HOW_TO_PICK, 15000)

    # --- construction ------------------------------------------------------------

    def _connect(self) -> None:
        c = self.controller
        for side, panel in zip(SIDES, self.panels, strict=True):
            panel.plane.latentClicked.connect(c.decode_at)
            panel.plane.pickRequested.connect(
                lambda x, y, s=side: self.pick_at(s, x, y)
            )
            panel.openRequested.connect(lambda s=side: self.open_dialog(s))
            panel.saveRequested.connect(lambda s=side: self.save_dialog(s))
            panel.fileDropped.connect(lambda path, s=side: self.open_file(s, path))
            panel.gridRequested.connect(
                lambda rect, n, s=side: c.request_grid(s, rect, n)
            )
            panel.sliceChanged.connect(lambda sl, s=side: c.set_slice(s, sl))
            panel.groupSelected.connect(
                lambda indices, s=side: self.select_group(s, indices)
            )
            panel.epochChanged.connect(
                lambda pos, s=side: self._on_epoch_changed(s, pos)
            )
            panel.gifRequested.connect(lambda s=side: self.export_timeline_gif(s))
        self.group_panel.clearRequested.connect(self.session.clear_group)
        self.session.groupChanged.connect(self._show_group)
        self.session.sideChanged.connect(self._on_side_changed)
        self.session.selectionChanged.connect(self._on_selection_changed)
        c.decoded.connect(self._on_decoded)
        c.gridReady.connect(
            lambda side, m: self.panels[side].show_grid(m.image, m.rect)
        )
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
        self.train_panel.dataChosen.connect(c.preload_dataset)
        self.train_panel.pauseRequested.connect(c.toggle_pause)
        self.train_panel.stopRequested.connect(c.stop_training)

    def show_training_dock(self) -> None:
        """Bring the training dock up (it stays out of the way otherwise)."""
        self.train_dock.show()
        self.train_dock.raise_()

    # --- session -> widgets ------------------------------------------------------

    def _on_side_changed(self, side: int) -> None:
        state = self.session.sides[side]
        self.panels[side].show_side(state)
        self.save_actions[side].setEnabled(
            state.checkpoint is not None and not state.training
        )
        self._show_picks()
        self._show_group()
        if not self.controller.training:
            self._follow_models()

    def _follow_models(self) -> None:
        """The training form and curves describe the models shown."""
        sides = self.session.sides
        ckpts = [s.checkpoint for s in sides]
        vae = next((c for c in ckpts[::-1] if c and c.config.kind == "vae"), None)
        ae = next((c for c in ckpts if c and c.config.kind == "ae"), None)
        shown = vae or ae
        if shown is None:
            return
        cfg = shown.config
        self.train_panel.follow(
            str(shown.dataset.get("name", "shapes")),
            cfg.latent_dim,
            cfg.backbone,
            cfg.beta if vae is not None else self.train_panel.beta.value(),
        )
        run = self.controller.run_checkpoints
        if all(any(c is r for r in run) for c in (ae, vae) if c is not None):
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
        self._show_picks()
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

    def _show_picks(self) -> None:
        """Ring the picked inputs' codes (A, B) in each plane of their data."""
        sel = self.session.selection
        for side, panel in zip(SIDES, self.panels, strict=True):
            state = self.session.sides[side]
            if state.codes is None or not same_data(state.dataset, sel.dataset):
                panel.plane.set_picks([])
                continue
            # Only the picked codes: projecting all of them cost ~0.3 ms a
            # side at every training snapshot.
            mu = state.codes.mu
            panel.plane.set_picks(
                [
                    None if i is None else tuple(state.latent_slice.project(mu[i])[0])
                    for i in (sel.previous, sel.current)
                ]
            )

    # --- the selected group ------------------------------------------------------

    def select_group(self, side: int, indices) -> None:
        """Select test images ``indices`` of ``side``'s data (none: clear)."""
        state = self.session.sides[side]
        if len(indices) == 0:
            self.session.clear_group()
            self.statusBar().showMessage("No test images in that region", 4000)
            return
        self.session.set_group(indices, state.dataset)
        self.statusBar().showMessage(
            f"{len(indices):,} test images selected · Esc clears", 6000
        )

    def _show_group(self) -> None:
        """Highlight the group in each plane of its data; list it under them."""
        group, dataset = self.session.group, self.session.group_dataset
        self.clear_group_action.setEnabled(group is not None)
        models = []
        for side, panel in zip(SIDES, self.panels, strict=True):
            state = self.session.sides[side]
            shows = group is not None and same_data(state.dataset, dataset)
            panel.set_group(group if shows else None)
            if shows and state.codes is not None:
                name = f"{state.kind} ({SIDE_NAMES[side]})"
                models.append((name, state.codes, state.latent_slice))
        if group is None or dataset is None:
            self.group_panel.show_summary(None)
            return
        summary = summarize_group(
            sorted(group),
            dataset.test_labels.numpy(),
            dataset.class_names,
            models,
        )
        images = display_images(dataset, summary.indices[:MAX_THUMBNAILS])
        self.group_panel.show_summary(summary, images)

    # --- the timeline ------------------------------------------------------------

    def _same_run(self) -> bool:
        """True when both sides' timelines come from one training run."""
        tls = [p.timeline for p in self.panels]
        if any(t is None for t in tls):
            return False
        a, b = tls
        return bool(a.run_id) and a.run_id == b.run_id and a.count == b.count

    def _on_epoch_changed(self, side: int, position: int) -> None:
        """The other plane scrubs along when both come from the same run."""
        other = self.panels[1 - side]
        if self._same_run() and other.epoch_slider.value() != position:
            other.set_epoch_position(position)

    def pick_at(self, side: int, x: float, y: float) -> None:
        """Pick the test image whose code lies under (x, y), within ~8 px."""
        state = self.session.sides[side]
        if state.codes is None or not same_data(
            state.dataset, self.session.selection.dataset
        ):
            self.statusBar().showMessage(
                "Pick inputs in a plane of the models the analysis tabs show", 6000
            )
            return
        # The points on screen: the final codes, or an earlier epoch's subset.
        indices, xy = self.panels[side].shown_points()
        plane = self.panels[side].plane
        j = nearest_point(xy, (x, y), plane.view_box.viewPixelSize())
        if j is None:
            self.statusBar().showMessage("No test image there to pick", 4000)
        else:
            self.session.pick(int(j if indices is None else indices[j]))

    def _on_decoded(self, side: int, decoded: Decoded) -> None:
        state = self.session.sides[side]
        x, y = state.latent_slice.project(decoded.z)[0]
        self.panels[side].show_decoded(decoded.z, decoded.image, (float(x), float(y)))

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
            index = 1 + VIEWS.index(cls)
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
        if 1 <= index <= len(VIEWS):
            self.view(VIEWS[index - 1].key)

    # --- misc --------------------------------------------------------------------

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
        # The planes get the window; the dock comes up with Train or a run.
        self.train_dock.hide()
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
        self.controller.shutdown(1000)
        # Results still queued from finished jobs must not reach closed widgets.
        self.controller.blockSignals(True)
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        data_dir = self.train_panel.data_dir.text().strip()
        if data_dir:
            self.settings.setValue("dataDir", data_dir)
        event.accept()
