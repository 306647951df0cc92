"""The Gradient path tab's widgets and how they are laid out.

:class:`GradientLayout` builds the view's body once (the diagram, the
per-sample table, the variance and ratio plots, the pooled means, and the
identity row with its σ scan) and wires its buttons to the view's actions;
:class:`~latentlab.qt.analysis.gradient.GradientView` fills them with results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.identity import IDENTITY_K
from latentlab.core.reparam import DEFAULT_COUNTS
from latentlab.qt.analysis.gradient_diagram import ComputationDiagram
from latentlab.qt.analysis.trick_panel import TrickPanel
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.plane_items import LegendBar
from latentlab.qt.widgets.plot_style import cache_axes
from latentlab.qt.widgets.styles import HINT_STYLE, MONO_STYLE, TITLE_STYLE

if TYPE_CHECKING:
    from collections.abc import Sequence

REPARAM_RGB = (31, 119, 180)
SCORE_RGB = (214, 39, 40)
SCORE_BASE_RGB = (255, 127, 14)


def _table(columns: Sequence[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(20)
    return table


def _log_plot(parent: QWidget, *, counts: bool = True) -> pg.PlotWidget:
    """A log-log plot; ``counts``: its x axis is the samples per estimate S,
    ticked at each count measured."""
    plot = pg.PlotWidget(parent, background="w")
    plot.setLogMode(x=True, y=True)
    plot.showGrid(x=True, y=True, alpha=0.25)
    cache_axes(plot)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setTextPen("#333")
        plot.getAxis(axis).setPen("#888")
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    if counts:
        plot.getAxis("bottom").setTicks(
            [[(float(np.log10(c)), str(c)) for c in DEFAULT_COUNTS], []]
        )
    return plot


REPARAM_NAME = "reparameterization"
SCORE_NAME = "score function (no baseline)"
SCORE_BASE_NAME = "score function, baseline f(μ)"


def _curve(
    plot: pg.PlotWidget, rgb: tuple[int, int, int], symbol: str, name: str, **pen
):
    return plot.plot(
        pen=pg.mkPen(rgb, **pen),
        symbol=symbol,
        symbolBrush=rgb,
        symbolPen=None,
        name=name,
    )


class GradientLayout:
    """The construction half of the Gradient path view (a mixin of
    :class:`~latentlab.qt.analysis.gradient.GradientView`).

    :meth:`_build` fills the view's ``body`` and connects the buttons to the
    view's :meth:`show_sample`, :meth:`remeasure`, :meth:`check_identity` and
    :meth:`scan`.
    """

    def _build(self) -> None:
        body = self.body
        self.heading = QLabel("Gradient path", body)
        self.heading.setStyleSheet(TITLE_STYLE)
        self.heading.setWordWrap(True)
        self.point_label = rich_label("", body)
        self.point_label.setToolTip(
            "Change μ and σ on the ε-resampling tab; every figure here follows them"
        )
        self.diagram = ComputationDiagram(body)
        self.diagram_legend = QLabel(
            "<span style='background:#f5c4c4'>&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;</span> "
            "gradient path (backprop) &nbsp;&nbsp; <b>→</b> forward &nbsp;&nbsp; "
            "<span style='color:#1e64ff'>- - →</span> random input",
            body,
        )
        self.diagram_legend.setWordWrap(True)
        self.sample_line = QLabel("", body)
        self.sample_line.setTextFormat(Qt.TextFormat.RichText)
        self.sample_line.setStyleSheet(MONO_STYLE)
        self.sample_line.setWordWrap(True)
        self.caption = QLabel(
            "Autograd through z = μ + σ ⊙ ε for the ε-resampling tab's samples: "
            "∂z/∂μ is 1 and ∂z/∂σ is ε for every sample, so the decoder's gradient "
            "reaches μ and σ (and the encoder) while the random draw ε stays a "
            "constant input, off the gradient path. The last two columns are each "
            "sample's gradient of log p(x|z): the reparameterization estimator's "
            "terms.",
            body,
        )
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(HINT_STYLE)
        self.table = _table(
            ["ε", "z", "∂z/∂μ", "∂z/∂σ", "∂log p/∂μ", "∂log p/∂σ"], body
        )
        self.table.verticalHeader().show()
        self.table.verticalHeader().setDefaultSectionSize(19)
        self.table.horizontalHeader().setMinimumSectionSize(60)
        self.table.setStyleSheet(f"{MONO_STYLE} font-size: 10px;")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(170)
        self.table.currentCellChanged.connect(
            lambda row, *_: self.show_sample(row) if row >= 0 else None
        )

        self.means = _table(
            ["component", "reparam. ± SE", "score ± SE", "gap"],
            body,
        )
        self.means.setToolTip(
            "Both estimators on the whole pool of samples, with the standard error "
            "of each pooled mean; gap: their difference in combined standard "
            "errors, sqrt(SE₁² + SE₂²)"
        )
        self.means.setStyleSheet(f"{MONO_STYLE} font-size: 10px;")
        self.means.setMinimumHeight(20 * 4 + 28)
        self.means.setMaximumHeight(20 * 8 + 28)
        self.verdict = QLabel("", body)
        self.verdict.setWordWrap(True)

        self.var_plot = _log_plot(body)
        self.var_plot.setMinimumSize(380, 240)
        self.var_plot.setTitle(
            "Variance of ∇<sub>μ,σ</sub> E<sub>q</sub>[log p(x|z)] estimates",
            color="#222",
            size="10pt",
        )
        self.var_plot.setLabel("left", "variance (trace)")
        self.var_plot.setLabel("bottom", "samples per estimate S")
        names = {
            "reparam": REPARAM_NAME,
            "score": SCORE_NAME,
            "score_b": SCORE_BASE_NAME,
        }
        self.curves = {
            "reparam": _curve(
                self.var_plot, REPARAM_RGB, "o", names["reparam"], width=2.5
            ),
            "score": _curve(self.var_plot, SCORE_RGB, "s", names["score"], width=2.5),
            "score_b": _curve(
                self.var_plot,
                SCORE_BASE_RGB,
                "t",
                names["score_b"],
                width=2,
                style=Qt.PenStyle.DashLine,
            ),
        }
        # The key sits under the plot, where it covers no curve.
        self.var_legend = LegendBar(body)
        self.var_legend.set_entries(
            [
                (names["reparam"], REPARAM_RGB),
                (names["score"], SCORE_RGB),
                (names["score_b"], SCORE_BASE_RGB),
            ]
        )
        self.ratio_plot = _log_plot(body)
        self.ratio_plot.setMinimumSize(380, 170)
        self.ratio_plot.setTitle(
            "score-function / reparameterization", color="#222", size="10pt"
        )
        self.ratio_plot.setLabel("left", "variance ratio")
        self.ratio_plot.setLabel("bottom", "samples per estimate S")
        self.ratio_curves = {
            "score": _curve(self.ratio_plot, SCORE_RGB, "s", names["score"], width=2.5),
            "score_b": _curve(
                self.ratio_plot,
                SCORE_BASE_RGB,
                "t",
                names["score_b"],
                width=2,
                style=Qt.PenStyle.DashLine,
            ),
        }
        self.ratio_label = rich_label("", body)
        self.numbers = _table(
            ["S", "estimates", "Var reparam", "Var score", "Var score, bl.", "ratio"],
            body,
        )
        self.numbers.setToolTip(
            "bl.: the score function with the baseline f(μ). ratio: score-function "
            "variance / reparameterization variance, without / with the baseline"
        )
        self.numbers.setStyleSheet(f"{MONO_STYLE} font-size: 10px;")
        self.numbers.setFixedHeight(20 * (len(DEFAULT_COUNTS) + 1) + 8)
        self.status = QLabel("", body)
        self.status.setWordWrap(True)
        self.measure_button = QPushButton("Measure (new noise)", body)
        self.measure_button.clicked.connect(self.remeasure)

        # Two columns of three rows, each row's two cells side by side: the
        # diagram and the variance plot, the per-sample table and the ratio
        # plot, the variances per S and the pooled means with their verdict.
        def cell(*widgets: QWidget, stretch: int = -1) -> QWidget:
            box = QWidget(body)
            col = QVBoxLayout(box)
            col.setContentsMargins(0, 0, 0, 0)
            for i, w in enumerate(widgets):
                col.addWidget(w, 1 if i == stretch else 0)
            return box

        self.means_title = QLabel("Pooled means of the two estimators", body)
        grid = QGridLayout(body)
        grid.setContentsMargins(6, 6, 6, 6)
        grid.setHorizontalSpacing(10)
        grid.addWidget(cell(self.heading, self.point_label), 0, 0, 1, 2)
        grid.addWidget(
            cell(self.diagram, self.diagram_legend, self.sample_line, self.caption),
            1,
            0,
        )
        grid.addWidget(cell(self.var_plot, self.var_legend, stretch=0), 1, 1)
        grid.addWidget(cell(self.table, stretch=0), 2, 0)
        grid.addWidget(cell(self.ratio_plot, self.ratio_label, stretch=0), 2, 1)
        grid.addWidget(cell(self.numbers), 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(cell(self.means_title, self.means, self.verdict), 3, 1)
        grid.addWidget(self.status, 4, 0)
        grid.addWidget(
            self.measure_button,
            4,
            1,
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
        )
        grid.addWidget(self._build_identity(body), 5, 0, 1, 2)
        self.trick = TrickPanel(body)
        self.trick.train_button.clicked.connect(self.train_without_trick)
        grid.addWidget(self.trick, 6, 0, 1, 2)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setColumnMinimumWidth(0, 540)
        grid.setColumnMinimumWidth(1, 380)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)
        # The layout's minimum is the body's: below it the tab scrolls instead
        # of squeezing plots and tables (an explicit minimum would override it).

    def _build_identity(self, body: QWidget) -> QWidget:
        """The §5 identity, live: both sides with their errors, and the switch
        that draws z without the trick; the variance ratio against σ."""
        box = QWidget(body)
        title = QLabel("The expectation moves outside the derivative", box)
        title.setStyleSheet(TITLE_STYLE)
        self.identity_k = QSpinBox(box)
        self.identity_k.setRange(16, 65536)
        self.identity_k.setValue(IDENTITY_K)
        self.identity_k.setPrefix("K = ")
        self.identity_k.setToolTip(
            "Draws of ε for the right side (the left side uses none of them)"
        )
        self.without_box = QCheckBox("Without the trick", box)
        self.without_box.setToolTip(
            "Also draw z ~ N(μ, σ²) directly (not as μ + σ ⊙ ε) and show what "
            "autograd gives for μ and σ"
        )
        self.identity_button = QPushButton("Check the identity", box)
        self.scan_button = QPushButton("Scan σ", box)
        self.scan_button.setToolTip(
            "Measure the variance ratio with this tab's σ scaled ×0.25 … ×8 "
            "(μ fixed) for this input"
        )
        row = QHBoxLayout()
        row.addWidget(title)
        row.addWidget(self.identity_k)
        row.addWidget(self.without_box)
        row.addWidget(self.identity_button)
        row.addStretch(1)
        row.addWidget(self.scan_button)
        self.formulas = QLabel(
            "reparameterization estimator: ∇<sub>μ</sub> = f′(z), ∇<sub>σ</sub> = "
            "f′(z) ⊙ ε with z = μ + σ ⊙ ε &nbsp;·&nbsp; score-function estimator: "
            "f(z) ∇<sub>μ,σ</sub> log q(z) = f(z) (ε/σ, (ε² − 1)/σ)",
            box,
        )
        self.formulas.setTextFormat(Qt.TextFormat.RichText)
        self.formulas.setWordWrap(True)
        self.identity_label = rich_label("", box)
        self.identity_label.setStyleSheet(MONO_STYLE)
        self.without_label = rich_label("", box)
        self.scan_plot = _log_plot(box, counts=False)
        self.scan_plot.setMinimumSize(300, 170)
        self.scan_plot.setLabel("bottom", "mean σ of q(z|x) (dashed: this tab's σ)")
        self.scan_here = pg.InfiniteLine(
            angle=90, pen=pg.mkPen("#555", width=1, style=Qt.PenStyle.DashLine)
        )
        self.scan_here.setVisible(False)
        self.scan_plot.addItem(self.scan_here)
        self.scan_plot.setLabel("left", "variance ratio")
        self.scan_curves = {
            "score": _curve(self.scan_plot, SCORE_RGB, "s", SCORE_NAME, width=2.5),
            "score_b": _curve(
                self.scan_plot,
                SCORE_BASE_RGB,
                "t",
                SCORE_BASE_NAME,
                width=2,
                style=Qt.PenStyle.DashLine,
            ),
        }
        self.scan_label = QLabel("", box)
        self.scan_label.setWordWrap(True)
        texts = QVBoxLayout()
        texts.addWidget(self.formulas)
        texts.addWidget(self.identity_label)
        texts.addWidget(self.without_label)
        texts.addStretch(1)
        scan = QVBoxLayout()
        scan.addWidget(self.scan_plot, 1)
        scan.addWidget(self.scan_label)
        cols = QHBoxLayout()
        cols.addLayout(texts, 3)
        cols.addLayout(scan, 2)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 8, 0, 0)
        col.addLayout(row)
        col.addLayout(cols)
        self.identity_button.clicked.connect(self.check_identity)
        self.without_box.toggled.connect(lambda _: self.check_identity())
        self.scan_button.clicked.connect(self.scan)
        return box
