"""The Gradient path tab's computation diagram, painted by hand.

x → encoder → μ, σ; ε → z = μ + σ ⊙ ε → decoder → log p(x|z), with the
gradient path drawn as a band under the forward arrows and ε off it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


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
