"""DecodePanel: one decoded image, shown large with crisp pixels, and its z."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from latentlab.qt.save_dialog import save_png

if TYPE_CHECKING:
    import numpy.typing as npt


def to_qimage(image: npt.NDArray[np.floating]) -> QImage:
    """A [0, 1] image, grey ``(h, w)`` or RGB ``(h, w, 3)``, -> an owned 8-bit
    QImage."""
    levels = np.ascontiguousarray(
        np.clip(image, 0.0, 1.0) * 255.0 + 0.5, dtype=np.uint8
    )
    h, w = levels.shape[:2]
    # .copy() detaches the QImage from the numpy buffer it was built on.
    if levels.ndim == 3:
        fmt = QImage.Format.Format_RGB888
        return QImage(levels.data, w, h, 3 * w, fmt).copy()
    return QImage(levels.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def format_z(z: npt.NDArray[np.floating], limit: int = 6) -> str:
    """``z = (0.12, -1.30)``; long codes are elided."""
    vals = [f"{v:+.2f}" for v in np.asarray(z).ravel()]
    if len(vals) > limit:
        vals = [*vals[: limit - 1], "…", vals[-1]]
    return "z = (" + ", ".join(vals) + ")"


class DecodePanel(QWidget):
    """Shows the image a model decodes at the selected z."""

    def __init__(self, parent: QWidget | None = None, size: int = 168) -> None:
        super().__init__(parent)
        self._size = size
        self._image: npt.NDArray[np.float32] | None = None
        self._z: npt.NDArray[np.float32] | None = None
        self.image_label = QLabel(self)
        self.image_label.setFixedSize(size, size)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setStyleSheet(
            "background: #1b1b1b; border: 1px solid #555; color: #aaa;"
        )
        self.image_label.setText("Click the plane\nto decode")
        self.z_label = QLabel("", self)
        self.z_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.z_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.z_label.setStyleSheet("font-family: monospace;")
        # A fixed width: a label that followed each z would resize the plane
        # beside it at every click (re-laying its axes, asking for a manifold).
        self.z_label.setWordWrap(True)
        self.setFixedWidth(size + 12)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.image_label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.z_label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    @property
    def image(self) -> npt.NDArray[np.float32] | None:
        """The image shown, as decoded (floats in [0, 1])."""
        return self._image

    @property
    def z(self) -> npt.NDArray[np.float32] | None:
        """The code that was decoded."""
        return self._z

    def show_decoded(
        self, z: npt.NDArray[np.float32], image: npt.NDArray[np.float32]
    ) -> None:
        """Show ``image`` scaled up with nearest-neighbour pixels."""
        self._z = np.asarray(z, np.float32)
        self._image = np.asarray(image, np.float32)
        pix = QPixmap.fromImage(to_qimage(self._image)).scaled(
            self._size,
            self._size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation,
        )
        self.image_label.setPixmap(pix)
        self.z_label.setText(format_z(self._z))

    def clear(self) -> None:
        """Back to the placeholder."""
        self._image = self._z = None
        self.image_label.clear()
        self.image_label.setText("Click the plane\nto decode")
        self.z_label.setText("")

    def export_png(self, path: str, scale: int = 8) -> bool:
        """Save the decoded image, enlarged ``scale`` times with crisp pixels,
        atomically; False when there is none. Raises ExportError."""
        if self._image is None:
            return False
        img = to_qimage(self._image)
        big = img.scaled(
            img.width() * scale,
            img.height() * scale,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation,
        )
        save_png(big, path)
        return True

    @property
    def has_image(self) -> bool:
        """True while a decoded image is shown (there is something to export)."""
        return self._image is not None
