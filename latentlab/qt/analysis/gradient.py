"""The gradient path: autograd through ``z = μ + σ ⊙ ε``, and estimator variances.

The view differentiates the session's current samples (:meth:`Session.posterior`,
the same ones the ε-resampling tab draws) and measures, for the picked input,
the variance of the reparameterization and score-function gradient estimators
(:mod:`latentlab.core.reparam`). Whether the two estimators agree is computed
from the pooled means and standard errors shown beside the verdict
(:func:`agreement`), never asserted.

The log-log plots carry no ``TextItem``: the ratio labels are a line under the
plot (a ``TextItem`` on a plot whose transform is singular, e.g. one that has no
size yet, assigns ``ndarray.shape``, which numpy 2.5 deprecates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.gradient import (
    IdentityResult,
    RatioScan,
    gradient_table,
    identity_for_input,
    measure_variances,
    scan_sigma,
)
from latentlab.core.analysis.identity import Agreement, agreement, component_names
from latentlab.core.reparam import DEFAULT_COUNTS
from latentlab.core.session import K_MAX, describe, model_scope, side_scope
from latentlab.qt.analysis.base import AnalysisView
from latentlab.qt.analysis.eps import pair
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.latent_plane import LegendBar
from latentlab.qt.widgets.plot_style import cache_axes
from latentlab.qt.widgets.styles import (
    HINT_STYLE,
    MONO_STYLE,
    NOTE_STYLE,
    TITLE_STYLE,
    dim_name,
    shown_dims,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.latent import PosteriorSamples
    from latentlab.core.reparam import EstimatorVariance, PathGradients
    from latentlab.core.session import Posterior, Session, Side
    from latentlab.qt.jobs import JobRunner

VARIANCE_REPEATS = 64
REPARAM_RGB = (31, 119, 180)
SCORE_RGB = (214, 39, 40)
SCORE_BASE_RGB = (255, 127, 14)


# --- verdicts (pure functions of the numbers shown) -----------------------------------


def ratio_text(ratios: npt.ArrayLike) -> str:
    """A median variance ratio as ``×1,234`` or ``×5.6``."""
    finite = np.asarray(ratios, np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return "×?"
    median = float(np.median(finite))
    return f"×{median:,.0f}" if median >= 100 else f"×{median:.1f}"


def variance_summary(res: EstimatorVariance) -> str:
    """What the variance plots show, from their numbers."""
    lower = bool((res.var_reparam < res.var_score).all())
    lower_b = bool((res.var_reparam < res.var_score_baseline).all())
    verdict = (
        "lower than the score function's at every S"
        if lower
        else "NOT lower than the score function's at every S"
    )
    base = (
        "also lower than with the baseline f(μ)"
        if lower_b
        else "NOT lower than with the baseline f(μ) at every S"
    )
    return (
        f"Reparameterization variance is {verdict} (median ratio "
        f"{ratio_text(res.ratio)}), {base} ({ratio_text(res.ratio_baseline)})."
    )


def identity_html(res: IdentityResult, names: Sequence[str]) -> str:
    """The identity written out with the measured numbers, per component."""
    c = res.check
    rows = [
        "<b>∇<sub>μ,σ</sub> E<sub>q(z|x)</sub>[f(z)] = "
        "E<sub>ε~N(0,I)</sub>[∇<sub>μ,σ</sub> f(μ + σ ⊙ ε)]</b>, "
        "f = log p(x|z) (nats), "
        f"K = {c.k:,} draws of ε shared by both sides",
        "<table cellspacing=6><tr><th></th><th>left: ∂/∂θ of the K-sample mean "
        f"(central differences, h = {c.h:.1e})</th><th>right: mean of the K path "
        "gradients (autograd)</th><th>gap</th></tr>",
    ]
    gaps = c.verdict.gaps
    for j, name in enumerate(names):
        rows.append(
            f"<tr><td>{name}</td><td>{c.lhs[j]:+.4f} ± {c.lhs_se[j]:.4f}</td>"
            f"<td>{c.rhs[j]:+.4f} ± {c.rhs_se[j]:.4f}</td>"
            f"<td>{gaps[j]:.2f} SE</td></tr>"
        )
    rows.append("</table>")
    rows.append(c.verdict.text(names).replace("two estimators", "two sides"))
    return "".join(rows[:2]) + "".join(rows[2:-1]) + "<br>" + rows[-1]


def without_html(res: IdentityResult, names: Sequence[str]) -> str:
    """What autograd gives without the trick, and the estimator that is left."""
    w = res.without
    if w is None:
        return ""

    def answer(g) -> str:
        return "None (no gradient path)" if g is None else np.array2string(g, 3)

    rows = [
        "<b>Without the trick</b>: z = Normal(μ, σ).sample(), drawn directly, "
        f"not as μ + σ ⊙ ε. z.requires_grad = {w.z_requires_grad}; autograd "
        f"gives ∂/∂μ = {answer(w.grad_mu)}, ∂/∂σ = {answer(w.grad_sigma)}.",
        "The only estimator left is the score function f(z) ∇ log q(z), with "
        "∇<sub>μ</sub> log q = ε/σ and ∇<sub>σ</sub> log q = (ε² − 1)/σ:",
    ]
    se_ratio = w.score_se / np.maximum(res.check.rhs_se, 1e-300)
    parts = [
        f"{name} {w.score[j]:+.3g} ± {w.score_se[j]:.3g} ({se_ratio[j]:,.0f}× the "
        "path estimate's SE)"
        for j, name in enumerate(names)
    ]
    return "<br>".join(rows) + "<br>" + "; ".join(parts) + f" (K = {w.k:,})."


def scan_summary(scan: RatioScan) -> str:
    """The ratio against sigma, in words from its numbers."""
    lo, hi = int(np.argmin(scan.mean_sigma)), int(np.argmax(scan.mean_sigma))
    return (
        f"S = {scan.samples} samples per estimate: at mean σ {scan.mean_sigma[lo]:.3g} "
        f"the score function's variance is {scan.ratio[lo]:,.0f}× the "
        f"reparameterization's; at {scan.mean_sigma[hi]:.3g}, {scan.ratio[hi]:,.0f}×. "
        "The score term f(z)·ε/σ grows as σ shrinks, while the path gradient "
        "f′(z) does not."
    )


def _sci(v: float) -> str:
    return f"{v:.3g}" if 1e-2 <= abs(v) < 1e4 else f"{v:.2e}"


# --- the computation diagram ----------------------------------------------------------


class ComputationDiagram(QWidget):
    """x → encoder → μ, σ; ε → z = μ + σ ⊙ ε → decoder → log p(x|z).

    The gradient path (backpropagation from log p to the encoder) is drawn as a
    wide red band under the forward arrows; ε sits off it, dashed, as a constant.
    """

    NODES: ClassVar[dict[str, tuple[float, float, str]]] = {
        "x": (0.05, 0.42, "x"),
        "enc": (0.19, 0.42, "encoder"),
        "mu": (0.38, 0.12, "μ"),
        "sigma": (0.38, 0.72, "σ"),
        "eps": (0.60, 0.90, "ε ~ N(0, I)"),
        "z": (0.60, 0.42, "z = μ + σ ⊙ ε"),
        "dec": (0.79, 0.42, "decoder"),
        "f": (0.935, 0.42, "log p(x|z)"),
    }
    FORWARD = (
        ("x", "enc"),
        ("enc", "mu"),
        ("enc", "sigma"),
        ("mu", "z"),
        ("sigma", "z"),
        ("z", "dec"),
        ("dec", "f"),
    )
    GRADIENT = (
        ("f", "dec"),
        ("dec", "z"),
        ("z", "mu"),
        ("z", "sigma"),
        ("mu", "enc"),
        ("sigma", "enc"),
    )
    BAND = QColor(230, 60, 60, 70)
    STYLES: ClassVar[dict[str, tuple[str, str]]] = {
        "x": ("#eeeeee", "#777"),
        "enc": ("#e3ecf7", "#4a78b5"),
        "dec": ("#e3ecf7", "#4a78b5"),
        "mu": ("#fde7e7", "#c81414"),
        "sigma": ("#fdf0dc", "#a05a00"),
        "z": ("#ffffff", "#222"),
        "f": ("#eaf5e6", "#2f7d32"),
    }

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(520, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def _box(self, key: str, text_width: float) -> QRectF:
        x, y, _ = self.NODES[key]
        w, h = self.width() - 8, self.height() - 16
        bw = max(text_width + 18, 46)
        bh = 30
        cx = min(max(4 + x * w, bw / 2 + 2), self.width() - bw / 2 - 2)
        return QRectF(cx - bw / 2, 8 + y * h - bh / 2, bw, bh)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.5))
        p.setFont(font)
        fm = p.fontMetrics()
        boxes = {
            k: self._box(k, fm.horizontalAdvance(text))
            for k, (_, _, text) in self.NODES.items()
        }

        def edge(a: str, b: str) -> tuple[QPointF, QPointF]:
            ra, rb = boxes[a], boxes[b]
            return _border_point(ra, rb.center()), _border_point(rb, ra.center())

        band = QPen(self.BAND, 12)
        band.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(band)
        for a, b in self.GRADIENT:
            p.drawLine(*edge(a, b))
        for a, b in self.FORWARD:
            _arrow(p, *edge(a, b), QColor(40, 40, 40), 1.6)
        _arrow(p, *edge("eps", "z"), QColor(30, 100, 255), 1.4, dashed=True)
        for key, (_, _, text) in self.NODES.items():
            r = boxes[key]
            if key == "eps":
                p.setPen(QPen(QColor(30, 100, 255), 1.6, Qt.PenStyle.DashLine))
                p.setBrush(QColor(232, 240, 255))
                p.drawEllipse(r.adjusted(-8, -2, 8, 2))
            else:
                fill, line = self.STYLES[key]
                p.setPen(QPen(QColor(line), 1.6))
                p.setBrush(QColor(fill))
                p.drawRoundedRect(r, 5, 5)
            p.setPen(QColor(20, 20, 20))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        # The two local derivatives, beside the edges into z.
        p.setPen(QColor(190, 20, 20))
        bold = QFont(font)
        bold.setBold(True)
        p.setFont(bold)
        a, b = edge("mu", "z")
        mid = (a + b) / 2
        p.drawText(QPointF(mid.x() + 10, mid.y() - 6), "∂z/∂μ = 1")
        a, b = edge("sigma", "z")
        mid = (a + b) / 2
        p.drawText(QPointF(mid.x() + 12, mid.y() + 16), "∂z/∂σ = ε")
        p.setFont(font)
        a, b = edge("eps", "z")
        mid = (a + b) / 2
        p.setPen(QColor(30, 100, 255))
        p.drawText(QPointF(mid.x() + 10, mid.y() + 4), "a constant: no gradient")
        p.end()


def _border_point(rect: QRectF, towards: QPointF) -> QPointF:
    """Where the segment from ``rect``'s centre towards a point leaves ``rect``."""
    c = rect.center()
    dx, dy = towards.x() - c.x(), towards.y() - c.y()
    if dx == 0 and dy == 0:
        return c
    sx = rect.width() / 2 / abs(dx) if dx else np.inf
    sy = rect.height() / 2 / abs(dy) if dy else np.inf
    s = min(sx, sy)
    return QPointF(c.x() + dx * s, c.y() + dy * s)


def _arrow(
    p: QPainter,
    a: QPointF,
    b: QPointF,
    colour: QColor,
    width: float,
    dashed: bool = False,
) -> None:
    pen = QPen(colour, width, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
    p.setPen(pen)
    p.drawLine(a, b)
    d = b - a
    length = max(float(np.hypot(d.x(), d.y())), 1e-6)
    ux, uy = d.x() / length, d.y() / length
    head = QPainterPath(b)
    head.lineTo(b.x() - 8 * ux + 4 * uy, b.y() - 8 * uy - 4 * ux)
    head.lineTo(b.x() - 8 * ux - 4 * uy, b.y() - 8 * uy + 4 * ux)
    head.closeSubpath()
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    p.drawPath(head)
    p.setBrush(Qt.BrushStyle.NoBrush)


def _table(columns: Sequence[str], parent: QWidget) -> QTableWidget:
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(20)
    return table


def _log_plot(parent: QWidget) -> pg.PlotWidget:
    plot = pg.PlotWidget(parent, background="w")
    plot.setLogMode(x=True, y=True)
    plot.showGrid(x=True, y=True, alpha=0.25)
    cache_axes(plot)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setTextPen("#333")
        plot.getAxis(axis).setPen("#888")
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.getAxis("bottom").setTicks(
        [[(float(np.log10(c)), str(c)) for c in DEFAULT_COUNTS], []]
    )
    return plot


def _curve(plot: pg.PlotWidget, rgb: tuple[int, int, int], symbol: str, **pen):
    return plot.plot(
        pen=pg.mkPen(rgb, **pen), symbol=symbol, symbolBrush=rgb, symbolPen=None
    )


# --- the view -------------------------------------------------------------------------


class GradientView(AnalysisView):
    """The gradient path of the picked input's samples, and estimator variances.

    Signals
    -------
    gradientsReady(object)
        ``PathGradients`` for the session's current samples, shown.
    varianceReady(object)
        ``EstimatorVariance`` for the picked input, shown.

    The variances are measured again when the VAE or the input changes, but not
    automatically while the VAE trains (its weights change twice a second):
    then **Measure** measures the current snapshot.
    """

    key: ClassVar[str] = "gradient"
    title: ClassVar[str] = "Gradient path"
    tooltip: ClassVar[str] = "Autograd through z = μ + σ ⊙ ε; estimator variances"
    needs: ClassVar[tuple[str, ...]] = ("vae",)

    gradientsReady = Signal(object)
    varianceReady = Signal(object)
    ROWS_SHOWN = K_MAX
    repeats: int = VARIANCE_REPEATS
    """Independent estimates at the largest sample count (tests use fewer)."""

    def __init__(
        self, session: Session, jobs: JobRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(session, jobs, parent)
        self._seed = 0
        self.result: EstimatorVariance | None = None
        """The variance measurement shown."""
        self.gradients: PathGradients | None = None
        """The path gradients shown (of :attr:`gradient_samples`)."""
        self.gradient_samples: PosteriorSamples | None = None
        self._dims: list[int] = []
        self._identity: IdentityResult | None = None
        self._scan: RatioScan | None = None
        self._build()

    # --- construction -------------------------------------------------------------

    def _build(self) -> None:
        body = self.body
        self.heading = QLabel("Gradient path", body)
        self.heading.setStyleSheet(TITLE_STYLE)
        self.heading.setWordWrap(True)
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
        self.curves = {
            "reparam": _curve(self.var_plot, REPARAM_RGB, "o", width=2.5),
            "score": _curve(self.var_plot, SCORE_RGB, "s", width=2.5),
            "score_b": _curve(
                self.var_plot,
                SCORE_BASE_RGB,
                "t",
                width=2,
                style=Qt.PenStyle.DashLine,
            ),
        }
        # The key sits under the plot, where it covers no curve.
        self.var_legend = LegendBar(body)
        self.var_legend.set_entries(
            [
                ("reparameterization", REPARAM_RGB),
                ("score function (no baseline)", SCORE_RGB),
                ("score function, baseline f(μ)", SCORE_BASE_RGB),
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
            "score": _curve(self.ratio_plot, SCORE_RGB, "s", width=2.5),
            "score_b": _curve(
                self.ratio_plot,
                SCORE_BASE_RGB,
                "t",
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
        grid.addWidget(self.heading, 0, 0, 1, 2)
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
        self.identity_k.setRange(16, 16384)
        self.identity_k.setValue(1024)
        self.identity_k.setPrefix("K = ")
        self.identity_k.setToolTip("Draws of ε for both sides of the identity")
        self.without_box = QCheckBox("Without the trick", box)
        self.without_box.setToolTip(
            "Also draw z ~ N(μ, σ²) directly (not as μ + σ ⊙ ε) and show what "
            "autograd gives for μ and σ"
        )
        self.identity_button = QPushButton("Check the identity", box)
        self.scan_button = QPushButton("Scan σ", box)
        self.scan_button.setToolTip(
            "Measure the variance ratio with σ(x) scaled ×0.25 … ×8 for this input"
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
        self.scan_plot = _log_plot(box)
        self.scan_plot.setMinimumSize(300, 170)
        self.scan_plot.setLabel("bottom", "mean σ of q(z|x)")
        self.scan_plot.setLabel("left", "variance ratio")
        self.scan_curves = {
            "score": _curve(self.scan_plot, SCORE_RGB, "s", width=2.5),
            "score_b": _curve(
                self.scan_plot, SCORE_BASE_RGB, "t", width=2, style=Qt.PenStyle.DashLine
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

    @property
    def identity(self) -> IdentityResult | None:
        """The latest identity check shown."""
        return self._identity

    def check_identity(self) -> None:
        """Measure both sides of the identity for the current μ, σ (background)."""
        side, post = self.side_for("vae"), self.session.posterior()
        if side is None or post is None or self.showing_message:
            return
        self.identity_label.setText("measuring both sides…")
        self.without_label.setText("")
        self.submit(
            "identity",
            identity_for_input,
            side.model,
            side.dataset,
            post.index,
            post.samples.mu,
            post.samples.sigma,
            self.identity_k.value(),
            self._seed,
            self.without_box.isChecked(),
            scopes=(model_scope(post.side), "selection", "eps"),
            on_result=self._show_identity,
            on_error=self._on_error,
        )

    def _show_identity(self, res: IdentityResult) -> None:
        self._identity = res
        names = component_names(len(res.check.lhs) // 2)
        self.identity_label.setText(identity_html(res, names))
        self.without_label.setText(without_html(res, names))

    def scan(self) -> None:
        """Scan the variance ratio over σ scales for the current input."""
        side, post = self.side_for("vae"), self.session.posterior()
        if side is None or post is None or self.showing_message:
            return
        self.scan_label.setText("scanning σ…")
        self.submit(
            "scan",
            scan_sigma,
            side.model,
            side.dataset,
            post.index,
            post.mu0,
            post.sigma0,
            on_progress=lambda done: self.scan_label.setText(
                f"scanning σ… {100 * done:.0f}%"
            ),
            scopes=(model_scope(post.side), "selection"),
            on_result=self._show_scan,
            on_error=self._on_error,
        )

    def _show_scan(self, scan: RatioScan) -> None:
        self._scan = scan
        self.scan_curves["score"].setData(scan.mean_sigma, scan.ratio)
        self.scan_curves["score_b"].setData(scan.mean_sigma, scan.ratio_baseline)
        self.scan_label.setText(scan_summary(scan))

    def _clear_identity(self) -> None:
        self._identity = None
        self._scan = None
        self.identity_label.setText(
            "Press Check the identity to measure both sides for this input."
        )
        self.without_label.setText("")
        self.scan_label.setText("")
        for curve in self.scan_curves.values():
            curve.setData([], [])

    # --- refresh ------------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        side = self.side_for("vae")
        vae_changed = "vae.model" in changed  # not a save or a new slice
        new_input = "selection" in changed
        self.heading.setText(f"Gradient path · {side.title}")
        self.measure_button.setToolTip(
            f"Redraw the {self.repeats} × {max(DEFAULT_COUNTS)} noise samples and "
            "measure both estimators again"
        )
        post = self.session.posterior()
        if post is None:
            self._clear_results()
            self.status.setText(
                "Pick an input whose code is finite (ε-resampling tab, or Ctrl+click "
                "a point in a latent plane)."
            )
            self.measure_button.setEnabled(False)
            return
        self._request_table(side, post)
        if changed & {"selection", "eps", "vae.model"}:
            self._clear_identity()  # measured at another μ, σ or model
        if new_input or (vae_changed and not side.training):
            self._clear_variance()  # measured for another input or model
        if not (new_input or vae_changed):
            return
        if side.training:
            shown = (
                " The figures were measured on an earlier snapshot."
                if self.result is not None
                else ""
            )
            self.status.setText(
                "The VAE is training: its weights change twice a second. Press "
                "Measure to measure the current snapshot." + shown
            )
            self.measure_button.setEnabled(not self.busy("variance"))
            return
        self._measure(side, post)

    def _request_table(self, side: Side, post: Posterior) -> None:
        s = post.samples
        self.submit(
            "table",
            gradient_table,
            side.model,
            side.dataset,
            post.index,
            s.mu,
            s.sigma,
            s.eps,
            scopes=(side_scope(post.side), "selection", "eps"),
            on_result=lambda g, s=s, side=side: self._show_gradients(side, s, g),
            on_error=self._on_error,
        )

    def remeasure(self) -> None:
        """Measure again with new noise (also while the VAE trains)."""
        side, post = self.side_for("vae"), self.session.posterior()
        if side is None or post is None or self.showing_message:
            return
        self._seed += 1
        self._measure(side, post)

    def _measure(self, side: Side, post: Posterior) -> None:
        label = describe(side.dataset, post.index)
        pool = self.repeats * max(DEFAULT_COUNTS)
        self.status.setText(f"Measuring on {pool:,} samples of ε for input {label}…")
        self.status.setStyleSheet("")
        self.measure_button.setEnabled(False)
        # While training, the snapshot measured is replaced twice a second; its
        # result is still shown (and said to be of a snapshot) until the input
        # or the model is replaced.
        scopes = (
            ("selection",) if side.training else (model_scope(post.side), "selection")
        )
        self.submit(
            "variance",
            measure_variances,
            side.model,
            side.dataset,
            post.index,
            self._seed,
            self.repeats,
            scopes=scopes,
            on_result=lambda res, label=label, t=side.training: self._show_variance(
                res, label, t
            ),
            on_error=self._on_error,
            on_finish=lambda: self.measure_button.setEnabled(not self.busy("variance")),
        )

    # --- results ------------------------------------------------------------------

    def _show_gradients(
        self, side: Side, s: PosteriorSamples, g: PathGradients
    ) -> None:
        self.gradients, self.gradient_samples = g, s
        sl = side.latent_slice.dims_only()
        dims = shown_dims(sl.latent_dim, sl.dims)

        def cell(values: npt.NDArray[np.float32], i: int) -> str:
            return " ".join(f"{values[i, d]:+.3g}" for d in dims)

        n = min(len(g.z), self.ROWS_SHOWN)
        row = max(self.table.currentRow(), 0)
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(n)
        red = QColor(190, 20, 20)
        for i in range(n):
            cells = (
                cell(g.eps, i),
                cell(g.z, i),
                cell(g.dz_dmu, i),
                cell(g.dz_dsigma, i),
                cell(g.dlogp_dmu, i),
                cell(g.dlogp_dsigma, i),
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j in (2, 3):
                    item.setForeground(red)
                self.table.setItem(i, j, item)
        self.table.setUpdatesEnabled(True)
        names = ", ".join(dim_name(d) for d in dims)
        self.table.setToolTip(f"Each cell lists the shown dims ({names})")
        self._dims = dims
        self.show_sample(min(row, n - 1))
        self.gradientsReady.emit(g)

    def show_sample(self, i: int) -> None:
        """Spell out sample ``i``'s forward values and local derivatives."""
        g, s = self.gradients, self.gradient_samples
        if g is None or s is None:
            return
        i = min(max(i, 0), len(g.z) - 1)
        dims = self._dims
        if self.table.currentRow() != i:
            self.table.selectRow(i)
        self.sample_line.setText(
            f"sample {i + 1}: <span style='color:#c81414'>μ = {pair(s.mu[dims])}"
            f"</span>, <span style='color:#a05a00'>σ = {pair(s.sigma[dims])}</span>"
            f", <span style='color:#1e64ff'>ε = {pair(g.eps[i, dims])}</span> → "
            f"z = {pair(g.z[i, dims])} → log p(x|z) = {g.logp[i]:.1f} nats"
        )

    def _show_variance(
        self, res: EstimatorVariance, label: str, snapshot: bool
    ) -> None:
        self.result = res
        c = res.counts.astype(float)
        self.curves["reparam"].setData(c, res.var_reparam)
        self.curves["score"].setData(c, res.var_score)
        self.curves["score_b"].setData(c, res.var_score_baseline)
        self.ratio_curves["score"].setData(c, res.ratio)
        self.ratio_curves["score_b"].setData(c, res.ratio_baseline)
        ratios = np.concatenate([res.ratio, res.ratio_baseline])
        ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
        if len(ratios):
            lo, hi = np.log10(ratios.min()), np.log10(ratios.max())
            self.ratio_plot.setYRange(float(lo) - 0.3, float(hi) + 0.3, padding=0)
        self.ratio_label.setText(
            "median variance ratio: "
            f"<span style='color:rgb{SCORE_RGB}'>■</span> no baseline "
            f"{ratio_text(res.ratio)} &nbsp; "
            f"<span style='color:rgb{SCORE_BASE_RGB}'>■</span> baseline f(μ) "
            f"{ratio_text(res.ratio_baseline)}"
        )
        self.numbers.setRowCount(len(c))
        for i in range(len(c)):
            row = (
                str(int(c[i])),
                str(int(res.n_estimates[i])),
                _sci(res.var_reparam[i]),
                _sci(res.var_score[i]),
                _sci(res.var_score_baseline[i]),
                f"{res.ratio[i]:,.0f}× / {res.ratio_baseline[i]:,.1f}×",
            )
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.numbers.setItem(i, j, item)
        verdict = agreement(
            res.grad_reparam, res.se_reparam, res.grad_score, res.se_score
        )
        names = component_names(len(res.mu))
        self._show_means(res, verdict, names)
        self.verdict.setText(verdict.text(names))
        self.verdict.setStyleSheet("" if verdict.agree else NOTE_STYLE)
        when = " (a snapshot taken while training)" if snapshot else ""
        self.status.setText(
            f"Input {label}{when}, μ = {pair(res.mu)}, σ = {pair(res.sigma)}. "
            + variance_summary(res)
        )
        self.varianceReady.emit(res)

    def _show_means(
        self, res: EstimatorVariance, verdict: Agreement, names: Sequence[str]
    ) -> None:
        n = len(names)
        self.means.setRowCount(n)
        for j in range(n):
            gap = verdict.gaps[j]
            cells = (
                names[j],
                f"{res.grad_reparam[j]:+.4g} ± {res.se_reparam[j]:.2g}",
                f"{res.grad_score[j]:+.4g} ± {res.se_score[j]:.2g}",
                "?" if np.isnan(gap) else f"{gap:.1f} SE",
            )
            for k, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not gap < verdict.threshold:
                    item.setForeground(QColor(190, 20, 20))
                self.means.setItem(j, k, item)

    def _on_error(self, exc: Exception) -> None:
        self.status.setText(f"Could not compute: {exc}")
        self.status.setStyleSheet(NOTE_STYLE)

    # --- clearing -----------------------------------------------------------------

    def _clear_variance(self) -> None:
        self.result = None
        for curve in (*self.curves.values(), *self.ratio_curves.values()):
            curve.setData([], [])
        self.ratio_label.setText("")
        self.numbers.setRowCount(0)
        self.means.setRowCount(0)
        self.verdict.setText("")

    def _clear_results(self) -> None:
        self._clear_identity()
        self.gradients = self.gradient_samples = None
        self.table.setRowCount(0)
        self.sample_line.setText("")
        self._clear_variance()

    def clear(self) -> None:
        self._clear_results()
        self.heading.setText("Gradient path")
        self.status.setText("")
        self.status.setStyleSheet("")

    def shutdown(self) -> None:
        """The window closes: stop a running measurement."""
        super().shutdown()
        for kind in ("table", "variance"):
            self.jobs.cancel(f"{self.key}.{kind}")
