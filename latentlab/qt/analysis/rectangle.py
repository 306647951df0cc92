"""The article's figure: decodes over the rectangle the codes of A and B span,
two models side by side, each cell framed by whether it looks like data
(:mod:`latentlab.core.analysis.rectangle` says how, and checks its test)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from latentlab.core.analysis.rectangle import GRID_N, grid_summary
from latentlab.core.analysis.texts import dim_name
from latentlab.core.session import describe
from latentlab.qt.analysis.base import AnalysisView, model_names
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.plane_items import LegendBar
from latentlab.qt.widgets.styles import HINT_STYLE, PICK_COLOURS, TITLE_STYLE
from latentlab.qt.widgets.tiles import GalleryWidget, ImageTilesWidget

if TYPE_CHECKING:
    from latentlab.core.analysis.rectangle import RectangleGrid, Yardstick
    from latentlab.core.workspace import Workspace

POSITIONS = ("0", "1")
DATA_RGB = (40, 150, 60)
NOT_DATA_RGB = (210, 40, 40)


class RectangleView(AnalysisView):
    """For the picked pair A, B: each model's decodes over the rectangle their
    codes span in its two shown dims (x: the first dim from A's value to B's,
    left to right; y: the second, top to bottom), framed green where the cell
    looks like data and red where it does not.

    Signals
    -------
    gridsReady(object)
        ``(grids, yardstick)`` after a computation.
    """

    key = "rectangle"
    title = "A–B rectangle"
    tooltip = "The article's figure: decodes over the rectangle two codes span"
    needs: ClassVar[tuple[str, ...]] = ("model", "model")
    prefers: ClassVar[tuple[str, ...]] = ("ae", "vae")
    same_data = True

    gridsReady = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        body = self.body
        self.heading = QLabel("The rectangle between two codes", body)
        self.heading.setStyleSheet(TITLE_STYLE)
        self.hint = QLabel(
            "The article's figure. For inputs A and B, cell (row i, column j) "
            "decodes z with its first shown dim moved from A's value to B's across "
            "the columns and its second from A's to B's down the rows (other dims "
            "at A's and B's mean): top left is A's code, bottom right B's (in the "
            "shown dims, for wider latents), the other two corners mix them. "
            "Where a model's codes leave holes, those decodes lose their form. "
            "Pick two inputs below or in any plane.",
            body,
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(HINT_STYLE)
        self.gallery = GalleryWidget(body, random_text="Random pair")
        self.pair_label = rich_label("", body)
        self.size_spin = QSpinBox(body)
        self.size_spin.setRange(3, 16)
        self.size_spin.setValue(GRID_N)
        self.size_spin.setPrefix("")
        self.size_spin.setSuffix(" cells a side")
        self.size_spin.setToolTip("Cells per side")
        top = QHBoxLayout()
        top.addWidget(self.pair_label, 1)
        top.addWidget(self.size_spin)
        self.key_bar = LegendBar(body)
        self.key_bar.set_entries(
            [("looks like data", DATA_RGB), ("does not", NOT_DATA_RGB)]
        )
        self.headers: dict[str, QLabel] = {}
        self.grids: dict[str, ImageTilesWidget] = {}
        self.summaries: dict[str, QLabel] = {}
        cols = QHBoxLayout()
        for pos in POSITIONS:
            col = QVBoxLayout()
            header = rich_label(pos, body)
            grid = ImageTilesWidget(body, placeholder="", gap=2)
            grid.setMinimumSize(240, 240)
            summary = rich_label("", body)
            col.addWidget(header)
            col.addWidget(grid, 1)
            col.addWidget(summary)
            cols.addLayout(col, 1)
            self.headers[pos], self.grids[pos], self.summaries[pos] = (
                header,
                grid,
                summary,
            )
        self.yardstick_label = QLabel("", body)
        self.yardstick_label.setWordWrap(True)
        self.yardstick_label.setStyleSheet(HINT_STYLE)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.hint)
        layout.addWidget(self.gallery)
        layout.addLayout(top)
        layout.addLayout(cols, 1)
        layout.addWidget(self.key_bar)
        layout.addWidget(self.yardstick_label)
        self.gallery.picked.connect(self.session.pick)
        self.gallery.randomRequested.connect(lambda: self.session.pick_random(2))
        self.size_spin.valueChanged.connect(lambda _: self._compute())

    def names(self) -> tuple[str, str]:
        """The two models' names."""
        return model_names(self.session, self.slots())

    @property
    def result(self):
        """``(grids, yardstick)`` shown (kept by the workspace), or None."""
        return self.workspace.result("rectangle.grids")

    # --- AnalysisView ------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        sides = [self.session.sides[s] for s in self.slots()]
        if "sides" in changed:
            names = self.names()
            self.heading.setText(
                f"The rectangle between two codes: {names[0]} vs {names[1]}"
            )
            for pos, side in zip(POSITIONS, sides, strict=True):
                self.headers[pos].setText(f"<b>{side.title}</b>")
            self.gallery.set_dataset(sides[1].dataset)
        if changed & {"sides", "selection"}:
            self._compute()

    def clear(self) -> None:
        self.workspace.forget("rectangle.grids")
        for pos in POSITIONS:
            self.grids[pos].set_images(None)
            self.grids[pos].set_placeholder("")
            self.summaries[pos].setText("")
        self.gallery.set_dataset(None)
        self.pair_label.setText("")
        self.yardstick_label.setText("")

    def _compute(self) -> None:
        if self.showing_message:
            return
        sel = self.session.selection
        if sel.previous is None or sel.current is None:
            for grid in self.grids.values():
                grid.set_images(None)
                grid.set_placeholder("Pick two inputs.")
            return
        data = sel.dataset
        a, b = sel.previous, sel.current
        self.gallery.mark([a, b])
        ca, cb = PICK_COLOURS
        self.pair_label.setText(
            f"<span style='color:rgb{ca}'>A = {describe(data, a)}</span> → "
            f"<span style='color:rgb{cb}'>B = {describe(data, b)}</span>"
        )
        for grid in self.grids.values():
            grid.set_images(None)
            grid.set_placeholder(
                "decoding and scoring… (the first time, the "
                "classifier trains: a few seconds)"
            )
        self.run(
            self.workspace.rectangle,
            self.size_spin.value(),
            slots=self.slots(),
            names=self.names(),
            on_result=self._show,
            on_error=self._on_error,
        )

    def _show(self, result: tuple[list[RectangleGrid], Yardstick | None]) -> None:
        grids, yardstick = result
        sides = [self.session.sides[s] for s in self.slots()]
        for pos, grid, side in zip(POSITIONS, grids, sides, strict=True):
            tiles = self.grids[pos]
            tiles.set_images(grid.images, columns=grid.n)
            if grid.data_like is not None:
                tiles.set_highlight(
                    list(range(len(grid.images))),
                    [DATA_RGB if ok else NOT_DATA_RGB for ok in grid.data_like],
                )
            dx, dy = grid.dims
            self.summaries[pos].setText(
                f"{grid_summary(grid)}. x: {dim_name(dx)} {grid.x[0]:+.2f} → "
                f"{grid.x[-1]:+.2f}; y: {dim_name(dy)} {grid.y[0]:+.2f} → "
                f"{grid.y[-1]:+.2f}"
                + (
                    f" (other {side.latent_slice.latent_dim - 2} dims at A's and "
                    "B's mean)"
                    if side.latent_slice.latent_dim > 2
                    else ""
                )
            )
        self.yardstick_label.setText(
            yardstick.text if yardstick is not None else "One class: no classifier."
        )
        self.gridsReady.emit(result)

    def _on_error(self, exc: Exception) -> None:
        for grid in self.grids.values():
            grid.set_images(None)
            grid.set_placeholder(f"Could not decode the rectangle: {exc}")
