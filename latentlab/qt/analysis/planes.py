"""Latent planes: the first two slots side by side, each its encoded test set,
decoded manifold, decode and timeline, with the selected group under them.

A view like the others (one registry line): it subscribes to the session per
field (a slot's model, its shown dims, its title, the picks, the group, the
timeline row) and sends every intent to the workspace. Opening, saving and
exporting need dialogs, so those it asks of the window through its signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from latentlab.core.analysis.group import summarize_group
from latentlab.core.analysis.planes import display_images
from latentlab.core.session import SIDES, Side, same_data, slot_name
from latentlab.qt.analysis.base import AnalysisView
from latentlab.qt.widgets.group_panel import MAX_THUMBNAILS, GroupPanel
from latentlab.qt.widgets.latent_plane import PICK_RADIUS_PX
from latentlab.qt.widgets.model_panel import ModelPanel

if TYPE_CHECKING:
    from collections.abc import Sequence

    from latentlab.core.analysis.planes import Decoded, Manifold
    from latentlab.core.workspace import Workspace


class PlanesView(AnalysisView):
    """The two model panels and the selected group.

    Signals
    -------
    openRequested(int), saveRequested(int), gifRequested(int)
        The user asked to open into / save / export the timeline of a slot.
    fileDropped(int, str)
        A file was dropped on a slot's panel.
    statusMessage(str, int)
        A status line and how long to show it (ms).
    """

    key = "planes"
    title = "Latent planes"
    tooltip = "Both models' latent planes; click to decode"
    figures = (("plane/0", "&Left Plane…"), ("plane/1", "&Right Plane…"))

    openRequested = Signal(int)
    saveRequested = Signal(int)
    gifRequested = Signal(int)
    fileDropped = Signal(int, str)
    statusMessage = Signal(str, int)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.panels = [ModelPanel(slot_name(s).capitalize()) for s in SIDES]
        self.plane = {str(s): panel.plane for s, panel in enumerate(self.panels)}
        split = QSplitter(Qt.Orientation.Horizontal)
        for panel in self.panels:
            split.addWidget(panel)
        split.setChildrenCollapsible(False)
        # The selected group sits under both planes, hidden while there is none.
        self.group_panel = GroupPanel()
        self.group_panel.hide()
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(split, 1)
        layout.addWidget(self.group_panel)
        self._connect()

    def _connect(self) -> None:
        ws, session = self.workspace, self.session
        for slot, panel in enumerate(self.panels):
            panel.plane.latentClicked.connect(ws.decode)
            panel.plane.pickRequested.connect(
                lambda x, y, s=slot: self.pick_at(s, x, y)
            )
            panel.openRequested.connect(lambda s=slot: self.openRequested.emit(s))
            panel.saveRequested.connect(lambda s=slot: self.saveRequested.emit(s))
            panel.gifRequested.connect(lambda s=slot: self.gifRequested.emit(s))
            panel.fileDropped.connect(
                lambda path, s=slot: self.fileDropped.emit(s, path)
            )
            panel.gridRequested.connect(
                lambda rect, n, s=slot: ws.request_manifold(s, rect, n)
            )
            panel.sliceChanged.connect(lambda sl, s=slot: ws.set_slice(s, sl))
            panel.groupSelected.connect(lambda idx, s=slot: self.select_group(s, idx))
            panel.epochChanged.connect(
                lambda value, s=slot: self._on_scrubbed(s, value)
            )
        self.group_panel.clearRequested.connect(session.clear_group)
        for signal, slot in (
            (session.slotsChanged, self._on_slots),
            (session.modelChanged, self._on_model),
            (session.sliceChanged, self._on_slice),
            (session.stateChanged, self._on_state),
            (session.epochChanged, self._on_epoch),
            (session.selectionChanged, self._show_picks),
            (session.groupChanged, self._show_group),
            (ws.decoded, self._on_decoded),
            (ws.manifoldReady, self._on_manifold),
        ):
            self.listen(signal, slot)

    # --- session -> panels, per field --------------------------------------------

    def _panel(self, slot: int) -> ModelPanel | None:
        return self.panels[slot] if slot < len(self.panels) else None

    def _on_slots(self) -> None:
        """A slot was added or removed: each panel shows what its slot holds now."""
        for slot, panel in enumerate(self.panels):
            sides = self.session.sides
            panel.show_side(sides[slot] if slot < len(sides) else Side())
        self._show_picks()
        self._show_group()

    def _on_model(self, slot: int) -> None:
        panel = self._panel(slot)
        if panel is not None:
            panel.show_side(self.session.sides[slot])
            self._show_picks()
            self._show_group()

    def _on_slice(self, slot: int) -> None:
        panel = self._panel(slot)
        if panel is not None:
            panel.show_slice(self.session.sides[slot])
            self._show_picks()
            self._show_group()

    def _on_state(self, slot: int) -> None:
        panel = self._panel(slot)
        if panel is not None:
            panel.show_title(self.session.sides[slot])

    def _on_epoch(self, slot: int) -> None:
        panel = self._panel(slot)
        if panel is not None:
            panel.show_epoch(self.session.epochs.get(slot))

    def _on_scrubbed(self, slot: int, value: int) -> None:
        timeline = self.session.sides[slot].timeline
        if timeline is not None:
            self.workspace.show_epoch(
                slot, None if value >= timeline.count - 1 else value
            )

    def _on_decoded(self, slot: int, decoded: Decoded) -> None:
        panel = self._panel(slot)
        if panel is not None:
            state = self.session.sides[slot]
            x, y = state.latent_slice.project(decoded.z)[0]
            panel.show_decoded(decoded.z, decoded.image, (float(x), float(y)))

    def _on_manifold(self, slot: int, manifold: Manifold) -> None:
        panel = self._panel(slot)
        if panel is not None:
            panel.show_grid(manifold.image, manifold.rect)

    def _show_picks(self) -> None:
        """Ring the picked inputs' codes (A, B) in each plane of their data."""
        sel = self.session.selection
        for slot, panel in enumerate(self.panels[: len(self.session.sides)]):
            state = self.session.sides[slot]
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

    # --- picks and the selected group --------------------------------------------

    def pick_at(self, slot: int, x: float, y: float) -> None:
        """Pick the test image whose code lies under (x, y), within ~8 px."""
        state = self.session.sides[slot]
        if state.codes is None or not same_data(
            state.dataset, self.session.selection.dataset
        ):
            self.statusMessage.emit(
                "Pick inputs in a plane of the models the analysis tabs show", 6000
            )
            return
        pixel = self.panels[slot].plane.view_box.viewPixelSize()
        if self.workspace.pick_at(slot, (x, y), pixel, PICK_RADIUS_PX) is None:
            self.statusMessage.emit("No test image there to pick", 4000)

    def select_group(self, slot: int, indices: Sequence[int]) -> None:
        """Select test images ``indices`` of ``slot``'s data (none: clear)."""
        if len(indices) == 0:
            self.session.clear_group()
            self.statusMessage.emit("No test images in that region", 4000)
            return
        self.workspace.select(indices, slot)
        self.statusMessage.emit(
            f"{len(indices):,} test images selected · Esc clears", 6000
        )

    def _show_group(self) -> None:
        """Highlight the group in each plane of its data; list it under them."""
        group, dataset = self.session.group, self.session.group_dataset
        models = []
        for slot, panel in enumerate(self.panels[: len(self.session.sides)]):
            state = self.session.sides[slot]
            shows = group is not None and same_data(state.dataset, dataset)
            panel.set_group(group if shows else None)
            if shows and state.codes is not None:
                name = f"{state.kind} ({slot_name(slot)})"
                models.append((name, state.codes, state.latent_slice))
        if group is None or dataset is None:
            self.group_panel.show_summary(None)
            return
        summary = summarize_group(
            sorted(group), dataset.test_labels.numpy(), dataset.class_names, models
        )
        images = display_images(dataset, summary.indices[:MAX_THUMBNAILS])
        self.group_panel.show_summary(summary, images)

    # --- AnalysisView ------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        """Nothing to catch up: the panels follow the session field by field,
        shown or not (the window opens on them, and training redraws them)."""

    def clear(self) -> None:
        """Never called: the planes need no model to be shown."""

    def fit_views(self) -> None:
        """Fit every plane to its points."""
        for panel in self.panels:
            panel.fit_view()
