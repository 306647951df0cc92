"""GroupPanel: the test images selected in a plane, as thumbnails with figures."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
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
# The class chart: one row a class, its full name beside its bar, on the panel's
# whole height; past MAX_BARS classes the smallest share one "others" row.
MAX_BARS = 10
CHART_WIDTH = 240
NAME_WIDTH = 96  # longer class names are elided ("…"), whole in the tooltip
OTHERS_COLOUR = (170, 170, 170)
INK = (50, 50, 50)  # the chart's names and counts


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
        self.histogram.setFixedWidth(CHART_WIDTH)
        self.histogram.setToolTip("Labels of the selected images")
        cache_axes(self.histogram)
        self.histogram.hideAxis("bottom")
        self.histogram.getViewBox().invertY(True)  # the first class on top
        self.histogram.getPlotItem().setContentsMargins(0, 2, 4, 2)
        self.chart_font = self.histogram.font()
        self.chart_font.setPointSizeF(max(6.5, self.chart_font.pointSizeF() - 1))
        names = self.histogram.getAxis("left")
        names.setStyle(tickFont=self.chart_font, tickLength=0, tickTextOffset=4)
        names.setTextPen(pg.mkPen(INK))
        self._bars: pg.BarGraphItem | None = None
        self._count_texts: list[pg.TextItem] = []
        self.histogram.getViewBox().sigResized.connect(lambda _: self._fit_counts())
        self.bar_labels: list[str] = []  # the full name of each row, top first
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
        body.addWidget(self.figures, 2)
        left = QVBoxLayout()
        left.setSpacing(4)
        left.addLayout(head)
        left.addLayout(body, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.addLayout(left, 1)
        layout.addWidget(self.histogram)  # the panel's whole height: a row a class
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
        """One horizontal bar a class, its full name on the axis beside it and
        its count at its end; more than :data:`MAX_BARS` classes: the largest
        ``MAX_BARS - 1`` in class order, then one row for the rest."""
        if self._bars is not None:
            self.histogram.removeItem(self._bars)
            self._bars = None
        for text in self._count_texts:
            self.histogram.removeItem(text)
        self._count_texts = []
        self.bar_labels = []
        if not counts:
            return
        rows = _chart_rows([str(name) for name in labels], list(counts))
        self.bar_labels = [name for name, _, _ in rows]
        heights = np.asarray([count for _, count, _ in rows], float)
        y = np.arange(len(rows))
        brushes = [pg.mkBrush(*colour) for _, _, colour in rows]
        self._bars = pg.BarGraphItem(
            x0=0, y=y, width=heights, height=0.8, brushes=brushes, pen=None
        )
        self.histogram.addItem(self._bars)
        metrics = QFontMetrics(self.chart_font)
        shown = [
            metrics.elidedText(name, Qt.TextElideMode.ElideRight, NAME_WIDTH)
            for name in self.bar_labels
        ]
        axis = self.histogram.getAxis("left")
        axis.setTicks([list(enumerate(shown))])
        axis.setWidth(max(metrics.horizontalAdvance(t) for t in shown) + 10)
        for row, count in enumerate(heights):
            text = pg.TextItem(f" {int(count):,}", color=INK, anchor=(0, 0.5))
            text.setFont(self.chart_font)
            text.setPos(float(count), row)
            self.histogram.addItem(text)
            self._count_texts.append(text)
        self._fit_counts()
        self.histogram.setYRange(-0.5, len(rows) - 0.5, padding=0)
        self.histogram.setToolTip(
            "Images of each class in the selection:\n"
            + "\n".join(f"{n}: {c:,}" for n, c in zip(labels, counts, strict=False))
        )

    def _fit_counts(self) -> None:
        """The longest bar ends where its count still fits in the chart."""
        if self._bars is None:
            return
        top = max(float(max(self.bar_heights)), 1.0)
        width = self.histogram.getViewBox().width()
        if width < 40:  # not laid out yet: the chart's width less the names
            width = CHART_WIDTH - self.histogram.getAxis("left").width() - 20
        # The count's text, the text item's margins and a gap.
        room = QFontMetrics(self.chart_font).horizontalAdvance(f" {int(top):,}") + 12
        self.histogram.setXRange(0, top * width / max(width - room, 20), padding=0)

    @property
    def bar_heights(self) -> list[int]:
        """The chart's count of each row, top first (for tests): the counts per
        class while there are at most :data:`MAX_BARS` classes."""
        if self._bars is None:
            return []
        return [int(h) for h in self._bars.opts["width"]]


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _chart_rows(
    labels: list[str], counts: list[int]
) -> list[tuple[str, int, tuple[int, int, int]]]:
    """``(name, count, colour)`` of each row of the class chart, in class order,
    each class in its colour on the planes; more than :data:`MAX_BARS` classes
    keep the ``MAX_BARS - 1`` largest and sum the rest into one row."""
    keep = range(len(counts))
    if len(counts) > MAX_BARS:
        keep = sorted(sorted(keep, key=lambda i: -counts[i])[: MAX_BARS - 1])
    rows = [(labels[i], counts[i], PALETTE[i % len(PALETTE)]) for i in keep]
    if len(keep) < len(counts):
        rest = len(counts) - len(keep)
        total = sum(counts) - sum(counts[i] for i in keep)
        rows.append((f"{rest} other classes", total, OTHERS_COLOUR))
    return rows
