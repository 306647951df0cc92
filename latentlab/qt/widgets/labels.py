"""The wrapped rich-text label every view's figures and keys are written in."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def rich_label(text: str, parent: QWidget | None = None, style: str = "") -> QLabel:
    """A word-wrapped label that reads ``text`` as rich text (HTML subset)."""
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    if style:
        label.setStyleSheet(style)
    return label
