"""The main window: two model panels side by side, the analysis tabs, the
training dock, menus and settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QInputDialog,
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
from latentlab.core.catalog import DATASET_NAMES
from latentlab.core.errors import LatentLabError
from latentlab.core.session import SIDE_NAMES, SIDES, describe, same_data
from latentlab.core.timeline import write_gif
from latentlab.qt.analysis.registry import VIEWS
from latentlab.qt.controller import Controller
from latentlab.qt.export import FIGURE_FILTER, export_figure
from latentlab.qt.save_dialog import ask_save_path, save_png
from latentlab.qt.widgets.group_panel import MAX_THUMBNAILS, GroupPanel
from latentlab.qt.widgets.latent_plane import nearest_point
from latentlab.qt.widgets.model_panel import ModelPanel
from latentlab.qt.widgets.train_panel import TrainPanel

if TYPE_CHECKING:
    from collections.abc import Callable

    from latentlab.core.analysis.planes import Decoded
    from latentlab.qt.analysis.base import AnalysisView

MAX_RECENT = 8
CHECKPOINT_FILTER = (
    "Checkpoints (*.pt *.pth *.ckpt *.safetensors);;safetensors (*.safetensors);;"
    "All files (*)"
)
# .pth and .ckpt are torch files too: listed so a name ending so keeps it.
SAVE_FILTER = "PyTorch checkpoint (*.pt *.pth *.ckpt);;safetensors (*.safetensors)"
GIF_FILTER = "GIF animation (*.gif)"
PNG_FILTER = "PNG image (*.png)"
CSV_FILTER = "CSV table (*.csv)"
DEFAULT_SIZE = (1280, 860)
MIN_SIZE = (1000, 700)  # fits a 1024x768 screen with its window frame
DOCK_HEIGHT = 250
HOW_TO_PICK = (
    "Click or drag in a plane to decode that point in both models · Ctrl+click a "
    "point to pick that test image as the input of the analysis tabs · Alt+drag "
    "selects a rectangle, Alt+Shift+drag a lasso"
)


# File ▸ Export Figure: (key, menu text); keys name the plot (see figure_plot).
FIGURES = (
    ("plane0", "&Left Plane…"),
    ("plane1", "&Right Plane…"),
    ("losses", "L&oss Curves…"),
    ("eps.plane", "&ε-resampling Plane…"),
    ("gradient.var_plot", "&Variance Plot…"),
    ("gradient.ratio_plot", "Variance &Ratio Plot…"),
    ("interpolation.planes/AE", "Interpolation, &AE Plane…"),
    ("interpolation.planes/VAE", "Interpolation, V&AE Plane…"),
    ("prior.planes/AE", "Prior Samples, AE &Plane…"),
    ("prior.planes/VAE", "Prior Samples, VAE P&lane…"),
    ("diagnostics.columns/AE/plane", "Diagnostics, AE q(z) Plane…"),
    ("diagnostics.columns/VAE/plane", "Diagnostics, VAE q(z) Plane…"),
    ("diagnostics.columns/AE/units_plot", "Diagnostics, AE Code Variance…"),
    ("diagnostics.columns/VAE/units_plot", "Diagnostics, VAE KL per Dim…"),
)


def _scrolling(widget) -> QScrollArea:
    """``widget`` in a frameless scroll area: shown whole, or scrolled when the
    window is smaller than its minimum size."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    return area


class MainWindow(QMainWindow):
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
        for act in self.codes_actions:
            file_menu.addAction(act)
        self.figure_menu = file_menu.addMenu("Export &Figure (SVG / PNG)")
        self.figure_actions: dict[str, QAction] = {}
        for key, text in FIGURES:
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
        help_menu.addAction(self.about_action)
        self._update_training_actions(False)

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

    def _update_training_actions(self, running: bool) -> None:
        self.train_action.setEnabled(not running)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        for act in self.open_actions:
            act.setEnabled(not running)

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

    def export_timeline_gif(self, side: int, path: str | Path | None = None) -> None:
        """Save ``side``'s timeline as an animated GIF, one frame per epoch.

        The dialog asks before replacing the file; the GIF is written
        atomically in the background.
        """
        panel = self.panels[side]
        if panel.timeline is None:
            self.show_error("No timeline", "This model has no training timeline.")
            return
        if path is None:
            start = self._last_dir()
            path = ask_save_path(
                self,
                "Export timeline as GIF",
                start / f"timeline-{SIDE_NAMES[side]}.gif",
                GIF_FILTER,
            )
            if path is None:
                return
        frames = panel.render_timeline_frames()
        self.controller.jobs.submit(
            f"gif{side}",
            write_gif,
            path,
            frames,
            on_result=lambda written: self.statusBar().showMessage(
                f"Saved {written} ({len(frames)} frames)", 8000
            ),
            on_error=lambda exc: self.show_error("Could not export the GIF", str(exc)),
        )

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

    # --- unsaved models ----------------------------------------------------------

    def confirm_discard(self, sides: list[int], action: str) -> bool:
        """Ask Save / Discard / Cancel for each unsaved model of ``sides``.

        True when the action may go on (saved or discarded); Cancel, or a save
        that was not written, returns False and changes nothing.
        """
        for side in sides:
            state = self.session.sides[side]
            if not state.unsaved:
                continue
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Unsaved model",
                f"The {SIDE_NAMES[side]} model ({state.checkpoint.title()}) has "
                f"not been saved. {action} will discard it.",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                self,
            )
            box.setObjectName("unsavedPrompt")
            box.setDefaultButton(QMessageBox.StandardButton.Save)
            answer = box.exec()
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            if answer == QMessageBox.StandardButton.Save:
                path = self._ask_save_path(side)
                if not path or not self.controller.save_now(side, path):
                    return False
        return True

    def start_training(self, spec) -> None:
        """Train a new pair, after asking about unsaved models it replaces."""
        if self.controller.training:
            return
        if not self.confirm_discard(list(SIDES), "Training a new pair"):
            return
        self.controller.start_training(spec)

    # --- files -------------------------------------------------------------------

    def open_dialog(self, side: int) -> None:
        """Ask for a checkpoint and load it into ``side``."""
        start = str(self._last_dir())
        path, _ = QFileDialog.getOpenFileName(
            self,
            f"Open checkpoint into the {SIDE_NAMES[side]} panel",
            start,
            CHECKPOINT_FILTER,
        )
        if path:
            self.open_file(side, path)

    def open_file(self, side: int, path: str) -> None:
        """Load ``path`` into ``side``; it joins Open Recent once it opened."""
        if self.controller.training:
            self.show_error(
                "Training is running", "Stop training before loading another model."
            )
            return
        if not self.confirm_discard([side], f"Opening {Path(path).name}"):
            return
        self.settings.setValue("lastDir", str(Path(path).parent))
        self.controller.load_file(side, path)

    def _ask_save_path(self, side: int) -> Path | None:
        """Where to save ``side``'s model; asks before replacing that file."""
        state = self.session.sides[side]
        cfg = state.checkpoint.config
        dataset = state.checkpoint.dataset.get("name", "model")
        name = f"{dataset}-{cfg.kind}-{cfg.latent_dim}d.pt"
        start = self._last_dir() / name
        # The start name's .pt gives way when safetensors is picked: a native
        # dialog may not change it with the filter.
        return ask_save_path(
            self,
            f"Save the {SIDE_NAMES[side]} model",
            start,
            SAVE_FILTER,
            switch=(".pt",),
        )

    def save_dialog(self, side: int) -> None:
        """Ask where to save ``side``'s model (and before replacing a file)."""
        state = self.session.sides[side]
        if state.checkpoint is None or state.training:
            self.show_error("Nothing to save", "This panel has no finished model yet.")
            return
        path = self._ask_save_path(side)
        if path is not None:
            # ask_save_path has asked before replacing an existing file.
            self.controller.save(side, path, overwrite=True)

    # --- models trained elsewhere, codes and figures -------------------------------

    def ask_dataset(self, title: str, pixels: int) -> str | None:
        """Ask which dataset a model trained elsewhere was trained on; None to
        show it without a test set. (Tests replace this method.)"""
        names = [n for n in DATASET_NAMES if n != "folder"]
        default = names.index("mnist") if pixels == 784 and "mnist" in names else 0
        name, ok = QInputDialog.getItem(
            self,
            "Which dataset?",
            f"{title}\n\nThe file does not say which dataset the model was trained "
            "on. Plot the test images of:",
            names,
            default,
            False,
        )
        return name if ok and name else None

    def _on_dataset_needed(self, side: int, checkpoint) -> None:
        name = self.ask_dataset(checkpoint.title(), checkpoint.config.pixels)
        self.controller.use_dataset(side, checkpoint, name)

    def export_codes_dialog(self, side: int) -> None:
        """Ask where to write ``side``'s codes as CSV (and before replacing a
        file) and write them in the background."""
        state = self.session.sides[side]
        if state.codes is None or state.dataset is None:
            self.show_error(
                "No codes to export",
                f"The {SIDE_NAMES[side]} panel shows no encoded test set.",
            )
            return
        cfg = state.checkpoint.config
        name = f"codes-{state.dataset.name}-{cfg.kind}-{cfg.latent_dim}d.csv"
        start = self._last_dir() / name
        path = ask_save_path(
            self, f"Export the {SIDE_NAMES[side]} codes", start, CSV_FILTER
        )
        if path is not None:
            self.controller.export_codes(side, path)

    # --- the analysis tabs ----------------------------------------------------------

    def view(self, key: str) -> AnalysisView:
        """The analysis view ``key``, built now if it was not yet."""
        cls = self._unbuilt_views.pop(key, None)
        if cls is not None:
            index = 1 + VIEWS.index(cls)
            view = cls(self.session, self.controller.jobs)
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

    def figure_plot(self, key: str):
        """The plot widget behind File ▸ Export Figure entry ``key``."""
        if key in ("plane0", "plane1"):
            return self.panels[int(key[-1])].plane
        if key == "losses":
            return self.train_panel.plots
        view_key, _, attr = key.partition(".")
        first, *rest = attr.split("/")
        plot = getattr(self.view(view_key), first)
        for part in rest:  # a dict of plots by kind, or a widget's attribute
            plot = plot[part] if isinstance(plot, dict) else getattr(plot, part)
        return plot

    def _show_figure(self, key: str) -> None:
        """Bring the plot on screen, so it is laid out at its shown size."""
        if key == "losses":
            self.show_training_dock()
        elif key.startswith("plane"):
            self.tabs.setCurrentIndex(0)
        else:
            self.tabs.setCurrentWidget(self.view(key.partition(".")[0]))

    def export_figure_dialog(self, key: str) -> None:
        """Ask for a file and write plot ``key`` as SVG or 2x PNG."""
        self._show_figure(key)
        if self._figure_missing(key):
            return
        label = dict(FIGURES)[key].replace("&", "").rstrip("…")
        stem = "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-")
        start = self._last_dir() / f"{stem}.svg"
        # The path ends in .svg or .png, so export_figure writes that very file.
        path = ask_save_path(self, f"Export {label}", start, FIGURE_FILTER)
        if path is not None:
            self.export_figure(key, str(path))

    def _figure_missing(self, key: str) -> bool:
        """True (and say why) when plot ``key``'s tab shows what it needs
        instead of a plot: exporting it would write an empty figure."""
        view_key = key.partition(".")[0]
        known = view_key in self.views or view_key in self._unbuilt_views
        view = self.view(view_key) if known else None
        if view is None or not view.showing_message:
            return False
        self.show_error("Nothing to export", view.message.text().split("\n")[0])
        return True

    def export_figure(self, key: str, path: str) -> Path | None:
        """Write plot ``key`` to ``path`` (.svg or .png at 2x); None on failure."""
        if self._figure_missing(key):
            return None
        try:
            written = export_figure(self.figure_plot(key), path)
        except LatentLabError as exc:
            self.show_error("Export failed", str(exc))
            return None
        self.statusBar().showMessage(f"Saved {written}", 8000)
        return written

    def export_view_dialog(self, side: int) -> None:
        """Save the plane as it is shown, as a PNG (atomically)."""
        start = self._last_dir()
        path = ask_save_path(
            self, "Export view", start / f"latent-{SIDE_NAMES[side]}.png", PNG_FILTER
        )
        if path is None:
            return
        try:
            save_png(self.panels[side].plane.grab().toImage(), path)
        except LatentLabError as exc:
            self.show_error("Export failed", str(exc))
            return
        self.statusBar().showMessage(f"Saved {path}", 8000)

    def _decoded_paths(self, base: Path) -> dict[int, Path]:
        """The files Export Decoded Images writes for ``base``, by side: one per
        side showing a decoded image, ``<stem>-left.png``, ``<stem>-right.png``."""
        return {
            side: base.with_name(f"{base.stem}-{SIDE_NAMES[side]}{base.suffix}")
            for side, panel in zip(SIDES, self.panels, strict=True)
            if panel.decode.has_image
        }

    def export_decoded_dialog(self) -> None:
        """Save both decoded images as PNG files next to each other."""
        if not any(panel.decode.has_image for panel in self.panels):
            self.show_error(
                "Nothing to export", "Click a plane to decode a point first."
            )
            return
        start = self._last_dir()
        path = ask_save_path(
            self,
            "Export decoded images",
            start / "decoded.png",
            PNG_FILTER,
            targets=lambda base: list(self._decoded_paths(base).values()),
        )
        if path is None:
            return
        written = []
        for side, target in self._decoded_paths(path).items():
            try:
                if self.panels[side].decode.export_png(str(target)):
                    written.append(target.name)
            except LatentLabError as exc:
                self.show_error("Export failed", str(exc))
                return
        self.statusBar().showMessage(f"Saved {', '.join(written)}", 8000)

    def _remember(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recentFiles", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def recent_files(self) -> list[str]:
        """File ▸ Open Recent, newest first: files that opened or were saved."""
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str) and v]

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            sub = self.recent_menu.addMenu(Path(path).name)
            sub.setToolTip(path)
            for side, name in zip(SIDES, SIDE_NAMES, strict=True):
                act = sub.addAction(f"Open into {name}")
                act.triggered.connect(
                    lambda _=False, s=side, p=path: self.open_file(s, p)
                )
        self.recent_menu.setEnabled(bool(self.recent_files()))

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

    def _setting_text(self, key: str, default: str = "") -> str:
        """A text setting; a damaged settings file (a list, a number) gives
        ``default`` rather than a traceback."""
        value = self.settings.value(key, default)
        return value if isinstance(value, str) else default

    def _last_dir(self) -> Path:
        """The folder the last file dialog used (the working folder at first)."""
        return Path(self._setting_text("lastDir") or Path.cwd())

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
