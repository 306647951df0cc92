"""Image tiles and a gallery of test images: what the analysis views share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QWidget

from latentlab.core.analysis.planes import display_images
from latentlab.core.latent import assemble_tiles
from latentlab.qt.widgets.decode_panel import to_qimage
from latentlab.qt.widgets.styles import PICK_A, PICK_B

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.data import ImageDataset

HIGHLIGHT = QColor(*PICK_B)  # a single framed tile: the current pick's colour


def demo_indices(dataset: ImageDataset, n: int = 10) -> list[int]:
    """``n`` test images for a gallery: the first of each class in turn."""
    labels = dataset.test_labels.numpy()
    per_class = [np.flatnonzero(labels == c) for c in range(len(dataset.class_names))]
    picks: list[int] = []
    rank = 0
    while len(picks) < min(n, len(labels)):
        added = False
        for idx in per_class:
            if rank < len(idx) and len(picks) < n:
                picks.append(int(idx[rank]))
                added = True
        if not added:
            break
        rank += 1
    return picks


class ImageTilesWidget(QWidget):
    """Images ``(n, h, w)`` in [0, 1] as a grid of crisp, square tiles.

    One assembled QImage is drawn scaled with nearest-neighbour pixels. Tiles can
    be highlighted (a frame, by default in the current pick's orange) and
    clicked (``tileClicked``).
    """

    tileClicked = Signal(int)
    tileHovered = Signal(int)  # -1 when the pointer leaves the tiles

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        columns: int | None = None,
        placeholder: str = "",
        min_tile: int = 12,
        gap: int = 0,
    ) -> None:
        super().__init__(parent)
        self._columns = columns
        self._placeholder = placeholder
        self._min_tile = min_tile
        self._gap = gap
        self._images: npt.NDArray[np.float32] | None = None
        self._qimages: list = []
        self._highlight: dict[int, QColor] = {}
        self._hover = -1
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    @property
    def images(self) -> npt.NDArray[np.float32] | None:
        """The images shown."""
        return self._images

    def set_images(
        self, images: npt.NDArray[np.floating] | None, columns: int | None = None
    ) -> None:
        """Show ``images`` (None clears); ``columns`` defaults to a square grid."""
        if columns is not None:
            self._columns = columns
        if images is None or len(images) == 0:
            self._images = None
            self._qimages = []
        else:
            self._images = np.asarray(images, np.float32)
            self._qimages = [to_qimage(img) for img in self._images]
        self._highlight = {i: c for i, c in self._highlight.items() if i < self.count}
        self.update()

    def set_placeholder(self, text: str) -> None:
        """Text shown while there are no images."""
        self._placeholder = text
        self.update()

    @property
    def count(self) -> int:
        """Number of tiles."""
        return 0 if self._images is None else len(self._images)

    def set_highlight(
        self,
        indices: int | Sequence[int] | None,
        colours: Sequence[tuple[int, int, int]] | None = None,
    ) -> None:
        """Frame these tiles (None or -1 clears), in ``colours`` (one per
        index; default :data:`HIGHLIGHT`)."""
        if indices is None:
            indices = []
        elif isinstance(indices, int | np.integer):
            indices = [int(indices)] if indices >= 0 else []
        if colours is None:
            frames = [HIGHLIGHT] * len(indices)
        else:
            frames = [QColor(*c) for c in colours]
        self._highlight = {int(i): c for i, c in zip(indices, frames, strict=True)}
        self.update()

    def highlight_colours(self) -> dict[int, tuple[int, int, int]]:
        """The framed tiles and each frame's colour (RGB)."""
        return {i: c.getRgb()[:3] for i, c in self._highlight.items()}

    def grid_shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the layout."""
        n = max(self.count, 1)
        cols = self._columns or int(np.ceil(np.sqrt(n)))
        cols = max(1, min(cols, n))
        return int(np.ceil(n / cols)), cols

    def tile_rect(self, i: int) -> QRectF:
        """Where tile ``i`` is drawn, in widget coordinates."""
        rows, cols = self.grid_shape()
        size = self._tile_size()
        total_w = cols * size + (cols - 1) * self._gap
        total_h = rows * size + (rows - 1) * self._gap
        x0 = (self.width() - total_w) / 2
        y0 = (self.height() - total_h) / 2
        r, c = divmod(i, cols)
        return QRectF(
            x0 + c * (size + self._gap), y0 + r * (size + self._gap), size, size
        )

    def _tile_size(self) -> float:
        rows, cols = self.grid_shape()
        avail_w = self.width() - (cols - 1) * self._gap
        avail_h = self.height() - (rows - 1) * self._gap
        size = min(avail_w / cols, avail_h / rows)
        h = 28 if self._images is None else self._images.shape[1]
        # Whole multiples of the image size keep pixels even, unless snapping
        # would waste much of the space.
        snapped = np.floor(size / h) * h
        if snapped >= 0.85 * size:
            size = snapped
        return float(max(size, 1.0))

    def tile_at(self, pos: QPointF) -> int:
        """Tile index under widget point ``pos``, or -1."""
        for i in range(self.count):
            if self.tile_rect(i).contains(pos):
                return i
        return -1

    def sizeHint(self) -> QSize:
        rows, cols = self.grid_shape()
        return QSize(cols * 2 * 28, rows * 2 * 28)

    def minimumSizeHint(self) -> QSize:
        rows, cols = self.grid_shape()
        return QSize(cols * self._min_tile, rows * self._min_tile)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        if self._images is None:
            p.setPen(QColor("#888"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            p.end()
            return
        if self._gap == 0:
            rows, cols = self.grid_shape()
            first, last = self.tile_rect(0), self.tile_rect(rows * cols - 1)
            full = _assemble(self._images, rows, cols)
            p.drawImage(QRectF(first.topLeft(), last.bottomRight()), to_qimage(full))
        else:
            for i, img in enumerate(self._qimages):
                p.drawImage(self.tile_rect(i), img)
        hover = {self._hover} if self._hover >= 0 else set()
        for i in sorted(set(self._highlight) | hover):
            if i >= self.count:
                continue
            colour = self._highlight.get(i, QColor(80, 160, 255))
            p.setPen(QPen(colour, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(self.tile_rect(i).adjusted(1, 1, -1, -1))
        p.end()

    def mouseMoveEvent(self, event) -> None:
        i = self.tile_at(event.position())
        if i != self._hover:
            self._hover = i
            self.tileHovered.emit(i)
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        if self._hover != -1:
            self._hover = -1
            self.tileHovered.emit(-1)
            self.update()
        super().leaveEvent(event)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            i = self.tile_at(event.position())
            if i >= 0:
                self.tileClicked.emit(i)
                event.accept()
                return
        super().mousePressEvent(event)


def _assemble(
    images: npt.NDArray[np.float32], rows: int, cols: int
) -> npt.NDArray[np.float32]:
    """``(n, h, w[, 3])`` -> one ``(rows * h, cols * w[, 3])`` image, padded
    with black."""
    padded = np.zeros((rows * cols, *images.shape[1:]), np.float32)
    padded[: len(images)] = images
    return assemble_tiles(padded, cols, rows)


class GalleryWidget(QWidget):
    """A row of test-image thumbnails and a "Random test image" button."""

    picked = Signal(int)  # test-set index
    randomRequested = Signal()

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        count: int = 10,
        random_text: str = "Random test image",
    ) -> None:
        super().__init__(parent)
        self._count = count
        self._indices: list[int] = []
        self.tiles = ImageTilesWidget(
            self, columns=count, placeholder="no test images", gap=3
        )
        self.tiles.setFixedHeight(44)
        self.tiles.setMinimumWidth(count * 40)
        self.tiles.setToolTip("Click a thumbnail to use it as the input")
        self.tiles.setCursor(Qt.CursorShape.PointingHandCursor)
        self.random_button = QPushButton(random_text, self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tiles, 1)
        layout.addWidget(self.random_button)
        self.tiles.tileClicked.connect(self._on_tile_clicked)
        self.random_button.clicked.connect(self.randomRequested)

    @property
    def indices(self) -> list[int]:
        """Test-set indices of the thumbnails, in order."""
        return list(self._indices)

    def set_dataset(self, dataset: ImageDataset | None) -> None:
        """Fill the thumbnails from ``dataset``'s test set (None empties them)."""
        if dataset is None:
            self._indices = []
            self.tiles.set_images(None)
        else:
            self._indices = demo_indices(dataset, self._count)
            images = display_images(dataset, self._indices)
            self.tiles.set_images(images, columns=self._count)
        self.random_button.setEnabled(dataset is not None)

    def mark(self, indices: Sequence[int | None]) -> None:
        """Frame the thumbnails showing these picked test indices, given in
        pick order: the last in the current pick's colour (B), the one before
        it in the earlier pick's (A), as the planes ring them."""
        colours = [PICK_A, PICK_B][-len(indices) :] if indices else []
        shown = [
            (self._indices.index(i), c)
            for i, c in zip(indices[-2:], colours, strict=True)
            if i in self._indices
        ]
        self.tiles.set_highlight([t for t, _ in shown], [c for _, c in shown])

    def _on_tile_clicked(self, tile: int) -> None:
        if 0 <= tile < len(self._indices):
            self.picked.emit(self._indices[tile])
