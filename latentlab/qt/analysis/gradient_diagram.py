"""The Gradient path tab's computation diagram, painted by hand.

x → encoder → μ, σ; ε → z = μ + σ ⊙ ε → decoder → log p(x|z), with the
gradient path drawn as a band under the forward arrows and ε off it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


@dataclass(frozen=True)
class DiagramLayout:
    """Where the diagram's parts go at one size: the nodes' boxes, the arrows
    (``(from, to)`` → their two ends) and the texts beside them (name →
    (rectangle, text, bold)). The painter draws exactly these; tests check that
    no text overlaps another, a node or an arrow."""

    boxes: dict[str, QRectF]
    edges: dict[tuple[str, str], tuple[QPointF, QPointF]]
    labels: dict[str, tuple[QRectF, str, bool]]


class ComputationDiagram(QWidget):
    """x → encoder → μ, σ; ε → z = μ + σ ⊙ ε → decoder → log p(x|z).

    The gradient path (backpropagation from log p to the encoder) is drawn as a
    wide red band under the forward arrows; ε sits off it, dashed, as a constant.
    The local derivatives sit on the outer side of the edges into z, away from
    the dashed ε arrow; ε's note ("a constant: no gradient") sits beside ε, not
    beside the arrow, so it cannot be read as σ's.
    """

    NODES: ClassVar[dict[str, tuple[float, float, str]]] = {
        "x": (0.05, 0.42, "x"),
        "enc": (0.18, 0.42, "encoder"),
        "mu": (0.35, 0.12, "μ"),
        "sigma": (0.35, 0.72, "σ"),
        "eps": (0.62, 0.90, "ε ~ N(0, I)"),
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
    EPS_EDGE = ("eps", "z")
    EPS_PAD = (8.0, 2.0)  # the ellipse around ε's text box
    GAP = 8.0  # between a text and what it labels
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

    def fonts(self) -> tuple[QFont, QFont]:
        """The nodes' font and the derivatives' (bold)."""
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF(), 9.5))
        bold = QFont(font)
        bold.setBold(True)
        return font, bold

    def _box(self, key: str, text_width: float) -> QRectF:
        x, y, _ = self.NODES[key]
        w, h = self.width() - 8, self.height() - 16
        bw = max(text_width + 18, 46)
        bh = 30
        cx = min(max(4 + x * w, bw / 2 + 2), self.width() - bw / 2 - 2)
        return QRectF(cx - bw / 2, 8 + y * h - bh / 2, bw, bh)

    def layout_at(self) -> DiagramLayout:
        """The diagram's parts at the widget's current size."""
        font, bold = self.fonts()
        fm, fb = QFontMetricsF(font), QFontMetricsF(bold)
        boxes = {
            k: self._box(k, fm.horizontalAdvance(text))
            for k, (_, _, text) in self.NODES.items()
        }
        boxes["eps"] = boxes["eps"].adjusted(
            -self.EPS_PAD[0], -self.EPS_PAD[1], self.EPS_PAD[0], self.EPS_PAD[1]
        )

        def edge(a: str, b: str) -> tuple[QPointF, QPointF]:
            ra, rb = boxes[a], boxes[b]
            return _border_point(ra, rb.center()), _border_point(rb, ra.center())

        edges = {e: edge(*e) for e in (*self.FORWARD, self.EPS_EDGE)}

        def text_rect(metrics: QFontMetricsF, text: str) -> QRectF:
            lines = text.split("\n")
            width = max(metrics.horizontalAdvance(t) for t in lines)
            return QRectF(0, 0, width + 2, metrics.height() * len(lines))

        gap = self.GAP
        labels: dict[str, tuple[QRectF, str, bool]] = {}
        # ∂z/∂μ: above the μ → z edge (it falls to the right), from its middle.
        a, b = edges[("mu", "z")]
        r = text_rect(fb, "∂z/∂μ = 1")
        r.moveBottomLeft(QPointF((a.x() + b.x()) / 2 + gap, (a.y() + b.y()) / 2 - 2))
        labels["dz_dmu"] = (r, "∂z/∂μ = 1", True)
        # ∂z/∂σ: under the σ → z edge (it rises to the right), level with σ,
        # ending left of the dashed ε arrow.
        sigma = boxes["sigma"]
        r = text_rect(fb, "∂z/∂σ = ε")
        a, b = edges[self.EPS_EDGE]
        right = min(a.x(), b.x()) - gap
        r.moveTopLeft(QPointF(max(sigma.right() + gap, right - r.width()), 0))
        r.moveTop(sigma.center().y() - r.height() / 4)
        labels["dz_dsigma"] = (r, "∂z/∂σ = ε", True)
        # ε's note: beside ε, to its right (away from σ's label).
        eps = boxes["eps"]
        note = "a constant:\nno gradient"
        r = text_rect(fm, note)
        r.moveTopLeft(QPointF(eps.right() + gap, eps.center().y() - r.height() / 2))
        labels["eps_note"] = (r, note, False)
        return DiagramLayout(boxes, edges, labels)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        font, bold = self.fonts()
        p.setFont(font)
        lay = self.layout_at()
        boxes = lay.boxes

        band = QPen(self.BAND, 12)
        band.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(band)
        for a, b in self.GRADIENT:
            p.drawLine(*lay.edges.get((a, b)) or lay.edges[(b, a)])
        for e in self.FORWARD:
            _arrow(p, *lay.edges[e], QColor(40, 40, 40), 1.6)
        _arrow(p, *lay.edges[self.EPS_EDGE], QColor(30, 100, 255), 1.4, dashed=True)
        for key, (_, _, text) in self.NODES.items():
            r = boxes[key]
            if key == "eps":
                p.setPen(QPen(QColor(30, 100, 255), 1.6, Qt.PenStyle.DashLine))
                p.setBrush(QColor(232, 240, 255))
                p.drawEllipse(r)
            else:
                fill, line = self.STYLES[key]
                p.setPen(QPen(QColor(line), 1.6))
                p.setBrush(QColor(fill))
                p.drawRoundedRect(r, 5, 5)
            p.setPen(QColor(20, 20, 20))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        # The two local derivatives beside the edges into z, and ε's note.
        for name, (r, text, strong) in lay.labels.items():
            p.setFont(bold if strong else font)
            blue = name == "eps_note"
            p.setPen(QColor(30, 100, 255) if blue else QColor(190, 20, 20))
            p.drawText(
                r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
            )
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
