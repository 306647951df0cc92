"""GroupPanel: the test images selected in a plane, as thumbnails with figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.group import group_figures_text, group_title
from latentlab.qt.widgets.latent_plane import PALETTE
from latentlab.qt.widgets.plot_style import cache_axes
from latentlab.qt.widgets.tiles import ImageTilesWidget

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.analysis.group import GroupSummary

MAX_THUMBNAILS = 48
THUMB_ROWS = 2
PANEL_HEIGHT = 150  # fixed: the planes above keep the rest of the tab


class GroupPanel(QWidget):
    """Thumbnails, class histogram and per-model figures of the selected group.

    Signals
    -------
    clearRequested()
        The user clicked Clear.
    """

    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("", self)
        self.title.setStyleSheet("font-weight: 600;")
        hint = QLabel("Esc or Clear deselects", self)
        hint.setStyleSheet("color: #666;")
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.setToolTip("Clear the selection (Esc)")
        self.tiles = ImageTilesWidget(self, placeholder="no images", gap=2, min_tile=20)
        self.tiles.setMinimumHeight(THUMB_ROWS * 22)
        self.tiles.setSizePolicy(
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding
        )
        self.shown_note = QLabel("", self)
        self.shown_note.setStyleSheet("color: #666;")
        self.histogram = pg.PlotWidget(background="w")
        self.histogram.setParent(self)
        self.histogram.setMenuEnabled(False)
        self.histogram.setMouseEnabled(x=False, y=False)
        self.histogram.hideButtons()
        self.histogram.setFixedWidth(230)
        self.histogram.setToolTip("Labels of the selected images")
        cache_axes(self.histogram)
        self.histogram.getAxis("left").setWidth(28)
        self._bars: pg.BarGraphItem | None = None
        self.figures = QLabel("", self)
        self.figures.setWordWrap(True)
        self.figures.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.figures.setAlignment(
            Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft
        )
        self.figures.setMinimumWidth(220)
        self.figures.setSizePolicy(
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred
        )

        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(8)
        head.addWidget(hint)
        head.addStretch(1)
        head.addWidget(self.clear_button)
        thumbs = QVBoxLayout()
        thumbs.setSpacing(2)
        thumbs.addWidget(self.tiles, 1)
        thumbs.addWidget(self.shown_note)
        body = QHBoxLayout()
        body.addLayout(thumbs, 3)
        body.addWidget(self.histogram)
        body.addWidget(self.figures, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addLayout(body, 1)
        self.setFixedHeight(PANEL_HEIGHT)
        self.clear_button.clicked.connect(self.clearRequested)

    def show_summary(
        self,
        summary: GroupSummary | None,
        images: npt.NDArray[np.float32] | None = None,
    ) -> None:
        """Show a group's figures and its first images ``(n, h, w)`` (None hides)."""
        if summary is None:
            self.tiles.set_images(None)
            self.title.setText("")
            self.figures.setText("")
            self._set_bars([], [])
            self.hide()
            return
        self.title.setText(group_title(summary))
        shown = 0 if images is None else len(images)
        columns = max(1, int(np.ceil(shown / THUMB_ROWS))) if shown else None
        self.tiles.set_images(images, columns=columns)
        self.shown_note.setText(
            f"first {shown} of {summary.count:,}" if shown < summary.count else ""
        )
        self.shown_note.setVisible(shown < summary.count)
        lines = group_figures_text(summary)
        self.figures.setText(
            "<br>".join(_escape(line) for line in lines)
            or "No model shows these images."
        )
        self._set_bars(summary.labels, summary.counts)
        self.show()

    def _set_bars(self, labels, counts) -> None:
        if self._bars is not None:
            self.histogram.removeItem(self._bars)
            self._bars = None
        if not counts:
            return
        x = np.arange(len(counts))
        brushes = [pg.mkBrush(*PALETTE[i % len(PALETTE)]) for i in range(len(counts))]
        self._bars = pg.BarGraphItem(
            x=x, height=np.asarray(counts, float), width=0.8, brushes=brushes, pen=None
        )
        self.histogram.addItem(self._bars)
        axis = self.histogram.getAxis("bottom")
        step = max(1, int(np.ceil(len(labels) / 8)))  # at most ~8 tick labels
        axis.setTicks([[(i, str(labels[i])[:6]) for i in range(0, len(labels), step)]])
        self.histogram.setXRange(-0.6, len(counts) - 0.4, padding=0)
        self.histogram.setYRange(0, max(max(counts), 1) * 1.1, padding=0)

    @property
    def bar_heights(self) -> list[int]:
        """The histogram's counts per class (for tests)."""
        if self._bars is None:
            return []
        return [int(h) for h in self._bars.opts["height"]]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
