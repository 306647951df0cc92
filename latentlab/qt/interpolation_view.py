"""The AE-vs-VAE demonstration: interpolation strips and prior samples.

:class:`InterpolationView` decodes the straight path between two inputs' codes
in both models, one strip above the other, and measures each strip
(:mod:`latentlab.core.smoothness`): the jumps between consecutive decodes and
how far the decodes fall from the training images. :class:`PriorSamplesView`
decodes the same draws ``z ~ N(0, I)`` with both models.

Both views are lazy: while hidden they only keep the latest panels and note that
the selection changed; they plot and start jobs once, when shown. While training,
new codes arrive twice a second per model, and each strip job searches the
training set for nearest images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
import torch
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.errors import ConfigError
from latentlab.core.latent import decode_codes, interpolate
from latentlab.core.smoothness import (
    nearest_training,
    share_in_prior_bulk,
    strip_smoothness,
)
from latentlab.qt.decode_panel import to_qimage
from latentlab.qt.gallery_view import (
    GalleryWidget,
    ImageTilesWidget,
    describe,
    labelled_points,
    nearest_point,
    same_data,
)
from latentlab.qt.latent_plane import LatentPlaneWidget, PassiveScatterItem, fit_rect
from latentlab.qt.workers import LatestJob

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.data import ImageDataset
    from latentlab.core.models import Autoencoder
    from latentlab.core.smoothness import NearestImages, StripSmoothness
    from latentlab.qt.controller import Panel
    from latentlab.qt.gallery_view import InputSelection

KINDS = ("AE", "VAE")
STEPS_DEFAULT = 12
PATH_COLOUR = (20, 20, 20)
A_COLOUR = (0, 150, 70)
B_COLOUR = (150, 0, 170)
JUMP_COLOUR = QColor(214, 39, 40)
BAR_COLOUR = QColor(110, 140, 180)


def _tag(kind: str) -> str:
    return "AE" if kind == "AE" else "VAE"


@dataclass(frozen=True, slots=True)
class StripResult:
    """One model's interpolation: ``codes`` ``(steps, d)``, ``images``
    ``(steps, h, w)`` and the measured :class:`StripSmoothness`."""

    kind: str
    codes: npt.NDArray[np.float32]
    images: npt.NDArray[np.float32]
    smoothness: StripSmoothness


def interpolation_job(
    models: Sequence[tuple[str, Autoencoder]],
    image_a: torch.Tensor,
    image_b: torch.Tensor,
    steps: int,
    train_images: torch.Tensor | None,
) -> list[StripResult]:
    """Interpolate and measure in every model (runs in a worker)."""
    out = []
    for kind, model in models:
        codes, images = interpolate(model, image_a, image_b, steps)
        out.append(
            StripResult(kind, codes, images, strip_smoothness(images, train_images))
        )
    return out


@dataclass(frozen=True, slots=True)
class PriorResult:
    """One model's decodes of prior draws and their nearest training images."""

    kind: str
    z: npt.NDArray[np.float32]
    images: npt.NDArray[np.float32]
    nearest: NearestImages | None


@dataclass(frozen=True, slots=True)
class PriorBatch:
    """Both models' prior decodes, with real test images as the yardstick."""

    results: list[PriorResult]
    reference: NearestImages | None


def prior_job(
    models: Sequence[tuple[str, Autoencoder, npt.NDArray[np.float32]]],
    train_images: torch.Tensor | None,
    reference_images: npt.NDArray[np.float32] | None,
) -> PriorBatch:
    """Decode each model's draws and measure them (runs in a worker)."""
    results = []
    for kind, model, z in models:
        images = decode_codes(model, z)
        nearest = (
            nearest_training(images, train_images) if train_images is not None else None
        )
        results.append(PriorResult(kind, z, images, nearest))
    reference = None
    if train_images is not None and reference_images is not None:
        reference = nearest_training(reference_images, train_images)
    return PriorBatch(results, reference)


class StripWidget(QWidget):
    """A decoded strip between its two inputs, with its measurements drawn on it.

    Layout: input A | decodes | input B. Under each gap between consecutive
    decodes a bar shows their L2 distance (the largest in red); under each
    decode, its distance to the nearest training image.
    """

    BAR_H = 30
    TEXT_H = 16
    END_GAP = 14
    GAP = 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._images: npt.NDArray[np.float32] | None = None
        self._ends: tuple[npt.NDArray[np.float32], ...] = ()
        self._smooth: StripSmoothness | None = None
        self._bar_max = 1.0
        self._placeholder = ""
        self.setMinimumHeight(60 + self.BAR_H + self.TEXT_H)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def sizeHint(self) -> QSize:
        return QSize(900, 84 + self.BAR_H + self.TEXT_H)

    def set_strip(
        self,
        images: npt.NDArray[np.float32] | None,
        ends: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = None,
        smoothness: StripSmoothness | None = None,
        bar_max: float = 1.0,
    ) -> None:
        """Show a strip; ``bar_max`` is the L2 that fills a bar (shared scale)."""
        self._images = images
        self._ends = tuple(ends) if ends is not None else ()
        self._smooth = smoothness
        self._bar_max = max(float(bar_max), 1e-9)
        self.update()

    def set_placeholder(self, text: str) -> None:
        """Text shown without a strip."""
        self._placeholder = text
        self._images = None
        self.update()

    def tile_rects(self) -> list[QRectF]:
        """Rects of A, the decodes, and B, in widget coordinates."""
        n = 0 if self._images is None else len(self._images)
        n_tiles = n + len(self._ends)
        if n_tiles == 0:
            return []
        avail_w = self.width() - 2 * self.END_GAP - (n - 1) * self.GAP - 8
        avail_h = self.height() - self.BAR_H - self.TEXT_H - 4
        size = max(min(avail_w / n_tiles, avail_h), 4.0)
        total = n_tiles * size + 2 * self.END_GAP + (n - 1) * self.GAP
        x = (self.width() - total) / 2
        rects = []
        for i in range(n_tiles):
            rects.append(QRectF(x, 2, size, size))
            is_end_gap = self._ends and i in (0, n_tiles - 2)
            x += size + (self.END_GAP if is_end_gap else self.GAP)
        return rects

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        if self._images is None:
            p.setPen(QColor("#888"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._placeholder)
            p.end()
            return
        rects = self.tile_rects()
        images = list(self._images)
        if self._ends:
            images = [self._ends[0], *images, self._ends[1]]
            decode_rects = rects[1:-1]
        else:
            decode_rects = rects
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        for r, img in zip(rects, images, strict=True):
            p.drawImage(r, to_qimage(img))
        if self._ends:
            for r, colour, name in (
                (rects[0], A_COLOUR, "A"),
                (rects[-1], B_COLOUR, "B"),
            ):
                p.setPen(QPen(QColor(*colour), 2))
                p.drawRect(r.adjusted(-1, -1, 1, 1))
                p.drawText(r.adjusted(3, 1, 0, 0), name)
        s = self._smooth
        if s is None:
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        base = decode_rects[0].bottom() + 2 + self.BAR_H
        worst = s.worst_step
        for i, d in enumerate(s.step_l2):
            left, right = decode_rects[i], decode_rects[i + 1]
            cx = (left.right() + right.left()) / 2
            w = max(left.width() * 0.45, 3)
            h = min(float(d) / self._bar_max, 1.0) * (self.BAR_H - 3)
            colour = JUMP_COLOUR if i == worst else BAR_COLOUR
            p.fillRect(QRectF(cx - w / 2, base - h, w, h), colour)
        p.setPen(QPen(QColor(170, 170, 170), 1))
        left, right = decode_rects[0].left(), decode_rects[-1].right()
        p.drawLine(QPointF(left, base), QPointF(right, base))
        if s.nearest is not None:
            font = QFont(self.font())
            font.setPointSizeF(max(font.pointSizeF() - 1.5, 7.0))
            p.setFont(font)
            p.setPen(QColor(60, 60, 60))
            for r, d in zip(decode_rects, s.nearest.distance, strict=True):
                box = QRectF(r.left() - 4, base + 1, r.width() + 8, self.TEXT_H)
                p.drawText(box, Qt.AlignmentFlag.AlignCenter, f"{d:.2f}")
        p.end()


class _PathPlane(LatentPlaneWidget):
    """A latent plane with an interpolation path and its A/B end markers."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = pg.PlotCurveItem(pen=pg.mkPen(PATH_COLOUR, width=2.5))
        self.steps = PassiveScatterItem(
            size=7, pen=pg.mkPen(PATH_COLOUR, width=1.2), brush=pg.mkBrush("w")
        )
        self.ends = PassiveScatterItem(size=13, pen=pg.mkPen("w", width=1.5))
        self.labels = [
            pg.TextItem("A", color=A_COLOUR, anchor=(1.2, 1.2)),
            pg.TextItem("B", color=B_COLOUR, anchor=(-0.2, 1.2)),
        ]
        for label in self.labels:
            font = QFont()
            font.setBold(True)
            font.setPointSize(11)
            label.setFont(font)
        for z, item in enumerate((self.path, self.steps, self.ends, *self.labels), 5):
            item.setZValue(z)
            self.addItem(item, ignoreBounds=True)
        self.vline.hide()
        self.hline.hide()
        _plain_axes(self)

    def show_path(self, xy: npt.NDArray[np.float32] | None) -> None:
        """Draw the projected path ``(steps, 2)`` (None hides it)."""
        if xy is None or not np.isfinite(xy).all():
            self.path.setData([], [])
            self.steps.setData([], [])
            self.ends.setData([], [])
            for label in self.labels:
                label.hide()
            return
        self.path.setData(xy[:, 0], xy[:, 1])
        self.steps.setData(x=xy[1:-1, 0], y=xy[1:-1, 1])
        self.ends.setData(
            x=xy[[0, -1], 0],
            y=xy[[0, -1], 1],
            brush=[pg.mkBrush(*A_COLOUR), pg.mkBrush(*B_COLOUR)],
        )
        for label, p in zip(self.labels, (xy[0], xy[-1]), strict=True):
            label.setPos(float(p[0]), float(p[1]))
            label.show()


def _plain_axes(plane: LatentPlaneWidget) -> None:
    """Tick labels in latent units, never rescaled with an SI prefix."""
    for side in ("left", "bottom"):
        plane.getAxis(side).enableAutoSIPrefix(False)


def _panels_by_kind(ae: Panel | None, vae: Panel | None) -> dict[str, Panel]:
    return {
        kind: panel
        for kind, panel in zip(KINDS, (ae, vae), strict=True)
        if panel is not None and panel.model is not None and panel.codes is not None
    }


def _plot_key(panel: Panel) -> tuple[object, ...]:
    """What a plane of ``panel``'s codes depends on (compared by identity)."""
    return (panel.model, panel.codes, panel.latent_slice, panel.dataset)


def _same_key(a: tuple[object, ...] | None, b: tuple[object, ...]) -> bool:
    return a is not None and all(x is y for x, y in zip(a, b, strict=True))


def _show_codes(plane: LatentPlaneWidget, panel: Panel) -> None:
    xy, groups = labelled_points(panel)
    plane.set_points(xy, groups, size=3.5)
    plane.legend.setVisible(False)
    plane.fit(fit_rect(xy, prior=bool(panel.model.is_variational)))


def _strip_summary(kind: str, s: StripSmoothness, n_train: int | None) -> str:
    text = (
        f"<b>{kind}</b> &nbsp; largest jump <b>{s.max_step:.2f}</b> "
        f"(steps {s.worst_step + 1}→{s.worst_step + 2}), mean step "
        f"{s.mean_step:.2f}, ratio {s.jump_ratio:.2f}"
    )
    if s.nearest is not None:
        text += (
            f" &nbsp;·&nbsp; midpoint → nearest training image "
            f"<b>{s.midpoint_nn:.2f}</b> (worst {s.interior_nn_max:.2f}; "
            f"ends {s.endpoint_nn:.2f})"
        )
    return text


class _LazyPairView(QWidget):
    """A view of the AE and VAE panels that records changes while hidden.

    :meth:`set_panels` only stores the panels unless the view is visible;
    :meth:`catch_up` (run on show) applies them once, then does the subclass's
    own refresh through :meth:`_catch_up_rest`.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pending: tuple[Panel | None, Panel | None] = (None, None)
        self._panels_stale = False
        self._closed = False

    def set_panels(self, ae: Panel | None, vae: Panel | None) -> None:
        """Show these models (either may be None); only recorded while hidden."""
        self._pending = (ae, vae)
        self._panels_stale = True
        if self.isVisible():
            self.catch_up()

    def catch_up(self) -> None:
        """Apply what was recorded while hidden (run by ``showEvent``)."""
        if self._closed:
            return
        if self._panels_stale:
            self._panels_stale = False
            self._apply_panels(*self._pending)
        self._catch_up_rest()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.catch_up()

    def _apply_panels(self, ae: Panel | None, vae: Panel | None) -> None:
        raise NotImplementedError

    def _catch_up_rest(self) -> None:
        raise NotImplementedError


class InterpolationView(_LazyPairView):
    """AE and VAE strips between inputs A and B, measured.

    Signals
    -------
    stripsReady(object)
        ``list[StripResult]`` after a computation.

    While hidden, :meth:`set_panels` and selection changes are only recorded
    (:attr:`stale`); the view catches up when shown (:meth:`catch_up`).
    """

    stripsReady = Signal(object)

    def __init__(self, selection: InputSelection, parent: QWidget | None = None):
        super().__init__(parent)
        self._selection = selection
        self._panels: dict[str, Panel] = {}
        self._plotted: dict[str, tuple[object, ...]] = {}
        self._strips_stale = False
        self.refresh_count = 0
        """Planes replotted and strip jobs started: unchanged while hidden."""
        self._shown_key: object = None
        self._job = LatestJob()
        self._results: list[StripResult] = []
        self._rng = np.random.default_rng(1)
        self._build()
        selection.changed.connect(self.refresh)

    def _build(self) -> None:
        self.title = QLabel("Interpolation: load an AE and a VAE", self)
        self.title.setStyleSheet("font-weight: 600; font-size: 13px;")
        self.hint = QLabel(
            "Pick two inputs: click two scatter points (here or in the Latent planes "
            "tab) or two thumbnails. A is the earlier pick, B the later.",
            self,
        )
        self.hint.setStyleSheet("color: #555;")
        self.gallery = GalleryWidget(self, random_text="Random pair")
        self.pair_label = QLabel("", self)
        self.swap_button = QPushButton("Swap A ↔ B", self)
        self.steps_spin = QSpinBox(self)
        self.steps_spin.setRange(3, 24)
        self.steps_spin.setValue(STEPS_DEFAULT)
        self.steps_spin.setPrefix("steps ")
        self.steps_spin.setToolTip("Decodes along the path, ends included")
        row = QHBoxLayout()
        row.addWidget(self.pair_label, 1)
        row.addWidget(self.steps_spin)
        row.addWidget(self.swap_button)

        self.planes: dict[str, _PathPlane] = {}
        self.plane_titles: dict[str, QLabel] = {}
        planes_row = QHBoxLayout()
        for kind in KINDS:
            col = QVBoxLayout()
            title = QLabel(f"{kind}: none loaded", self)
            title.setStyleSheet("font-weight: 600;")
            plane = _PathPlane(self)
            plane.setMinimumSize(300, 240)
            col.addWidget(title)
            col.addWidget(plane, 1)
            planes_row.addLayout(col, 1)
            self.planes[kind] = plane
            self.plane_titles[kind] = title
            plane.latentClicked.connect(
                lambda x, y, k=kind: self._on_plane_clicked(k, x, y)
            )

        self.strips: dict[str, StripWidget] = {}
        self.summaries: dict[str, QLabel] = {}
        strips = QVBoxLayout()
        strips.setSpacing(2)
        for kind in KINDS:
            summary = QLabel("", self)
            summary.setTextFormat(Qt.TextFormat.RichText)
            strip = StripWidget(self)
            strips.addWidget(summary)
            strips.addWidget(strip)
            self.strips[kind] = strip
            self.summaries[kind] = summary
        self.legend = QLabel(
            "Distances are L2 in pixel space (pixels in [0, 1]). Bars: distance "
            "between consecutive decodes (red: the largest). Numbers: distance from "
            "each decode to its nearest training image.",
            self,
        )
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet("color: #555;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.hint)
        layout.addWidget(self.gallery)
        layout.addLayout(row)
        layout.addLayout(planes_row, 1)
        layout.addLayout(strips)
        layout.addWidget(self.legend)

        self.gallery.picked.connect(self._selection.pick)
        self.gallery.randomRequested.connect(
            lambda: self._selection.pick_random(self._rng, count=2)
        )
        self.swap_button.clicked.connect(self._selection.swap)
        self.steps_spin.valueChanged.connect(lambda _: self.refresh())

    # --- state -----------------------------------------------------------------------

    @property
    def results(self) -> list[StripResult]:
        """The strips shown, AE first."""
        return list(self._results)

    @property
    def dataset(self) -> ImageDataset | None:
        """The dataset both models share (the VAE's when they differ)."""
        for kind in ("VAE", "AE"):
            if kind in self._panels:
                return self._panels[kind].dataset
        return None

    @property
    def stale(self) -> bool:
        """True while changes recorded when hidden wait for the view to be shown."""
        return self._panels_stale or self._strips_stale

    @property
    def busy(self) -> bool:
        """True while a strip job runs or waits."""
        return self._job.busy

    def _catch_up_rest(self) -> None:
        if self._strips_stale:
            self.refresh()

    def _apply_panels(self, ae: Panel | None, vae: Panel | None) -> None:
        old_data = self.dataset
        self._panels = _panels_by_kind(ae, vae)
        changed = False
        for kind in KINDS:
            panel = self._panels.get(kind)
            plane = self.planes[kind]
            if panel is None:
                if self._plotted.pop(kind, None) is not None:
                    changed = True
                    plane.set_points(None)
                    plane.show_path(None)
                self.plane_titles[kind].setText(f"{kind}: none loaded")
                continue
            self.plane_titles[kind].setText(
                panel.checkpoint.title() if panel.checkpoint else kind
            )
            key = _plot_key(panel)
            if _same_key(self._plotted.get(kind), key):
                continue  # this side did not change: keep its plane as it is
            changed = True
            self._plotted[kind] = key
            self.refresh_count += 1
            _show_codes(plane, panel)
        if self.dataset is not old_data:
            self.gallery.set_dataset(self.dataset)
        names = " and ".join(self._panels) or "no model"
        self.title.setText(f"Interpolation: {names}")
        if changed:
            self._shown_key = None
            self.refresh()

    def _models(self) -> list[tuple[str, Autoencoder]]:
        data = self.dataset
        return [
            (kind, p.model)
            for kind, p in self._panels.items()
            if same_data(p.dataset, data)
        ]

    def refresh(self) -> None:
        """Recompute the strips for the selection's A and B (once shown)."""
        if self._closed:
            return
        if not self.isVisible():
            self._strips_stale = True
            return
        self._strips_stale = False
        sel = self._selection
        data = self.dataset
        if data is None or not same_data(sel.dataset, data):
            self._clear_strips("Load an AE and a VAE trained on the same data.")
            return
        if sel.previous is None or sel.current is None:
            self._clear_strips("Pick two inputs.")
            return
        a, b = sel.previous, sel.current
        self.gallery.mark([a, b])
        self.pair_label.setText(
            f"<span style='color:rgb{A_COLOUR}'>A = {describe(data, a)}</span> → "
            f"<span style='color:rgb{B_COLOUR}'>B = {describe(data, b)}</span>"
        )
        models = self._models()
        for kind, panel in self._panels.items():
            if same_data(panel.dataset, data):
                continue
            self.summaries[kind].setText(f"<b>{kind}</b>: trained on other data")
        steps = self.steps_spin.value()
        key = (a, b, steps, tuple(id(m) for _, m in models))
        if key == self._shown_key:
            return
        self._shown_key = key
        self.refresh_count += 1
        self._job.submit(
            interpolation_job,
            models,
            data.test_images[a],
            data.test_images[b],
            steps,
            data.train_images,
            on_return=lambda res: self._on_strips(key, res),
            on_error=self._on_error,
        )

    def _clear_strips(self, text: str) -> None:
        self._results = []
        self._shown_key = None
        for kind in KINDS:
            self.strips[kind].set_placeholder(text)
            self.summaries[kind].setText("")
            self.planes[kind].show_path(None)

    def _on_strips(self, key: object, results: list[StripResult]) -> None:
        if self._closed or key != self._shown_key:
            return
        self._results = results
        data = self.dataset
        a, b = self._selection.previous, self._selection.current
        ends = (
            data.test_images[a].numpy() / np.float32(255),
            data.test_images[b].numpy() / np.float32(255),
        )
        bar_max = max(r.smoothness.max_step for r in results) if results else 1.0
        for r in results:
            panel = self._panels[r.kind]
            self.planes[r.kind].show_path(panel.latent_slice.project(r.codes))
            self.strips[r.kind].set_strip(r.images, ends, r.smoothness, bar_max)
            self.summaries[r.kind].setText(
                _strip_summary(r.kind, r.smoothness, len(data.train_images))
            )
        self.legend.setText(
            "Distances are L2 in pixel space (pixels in [0, 1]). Bars: distance "
            "between consecutive decodes (red: the largest). Numbers: distance from "
            f"each decode to its nearest of the {len(data.train_images):,} training "
            "images."
        )
        self.stripsReady.emit(results)

    def _on_error(self, exc: Exception) -> None:
        if not self._closed:
            self._clear_strips(f"Could not interpolate: {exc}")

    def _on_plane_clicked(self, kind: str, x: float, y: float) -> None:
        panel = self._panels.get(kind)
        if panel is None or not same_data(panel.dataset, self._selection.dataset):
            return
        xy = panel.latent_slice.project(panel.codes.mu)
        i = nearest_point(xy, (x, y), self.planes[kind].view_box.viewPixelSize())
        if i is not None:
            self._selection.pick(i)

    def shutdown(self) -> None:
        """Ignore results that arrive after the window closed."""
        self._closed = True
        self._job.cancel()


class PriorSamplesView(_LazyPairView):
    """Decode the same ``z ~ N(0, I)`` with the AE and the VAE, side by side.

    Signals
    -------
    samplesReady(object)
        ``PriorBatch`` after a computation.

    While hidden, :meth:`set_panels` is only recorded (:attr:`stale`); the view
    plots and decodes when shown (:meth:`catch_up`).
    """

    samplesReady = Signal(object)
    COUNTS = (16, 36, 64, 100, 144)

    def __init__(self, parent: QWidget | None = None, seed: int = 0) -> None:
        super().__init__(parent)
        self._panels: dict[str, Panel] = {}
        self._plotted: dict[str, tuple[object, ...]] = {}
        self._decode_stale = False
        self.refresh_count = 0
        """Planes replotted and decode jobs started: unchanged while hidden."""
        self._gen = torch.Generator().manual_seed(seed)
        self._job = LatestJob()
        self._z: dict[tuple[int, int], npt.NDArray[np.float32]] = {}
        self._batch: PriorBatch | None = None
        self._key: object = None
        self._coverage: dict[str, float] = {}
        self._build()

    def _build(self) -> None:
        self.title = QLabel("Prior samples: decode z ~ N(0, I)", self)
        self.title.setStyleSheet("font-weight: 600; font-size: 13px;")
        self.hint = QLabel(
            "The same draws z ~ N(0, I) go through each decoder (black + in the "
            "planes). The VAE was trained to put its codes under this prior; the AE "
            "was not, so its decodes of prior draws need not look like data.",
            self,
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #555;")
        self.resample_button = QPushButton("Resample z", self)
        self.count_box = QComboBox(self)
        for n in self.COUNTS:
            self.count_box.addItem(f"{n} samples", n)
        self.count_box.setCurrentIndex(self.COUNTS.index(64))
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.count_box)
        row.addWidget(self.resample_button)

        self.headers: dict[str, QLabel] = {}
        self.planes: dict[str, LatentPlaneWidget] = {}
        self.grids: dict[str, ImageTilesWidget] = {}
        self.markers: dict[str, PassiveScatterItem] = {}
        cols = QHBoxLayout()
        for kind in KINDS:
            col = QVBoxLayout()
            header = QLabel(f"{kind}: none loaded", self)
            header.setTextFormat(Qt.TextFormat.RichText)
            header.setWordWrap(True)
            plane = LatentPlaneWidget(self)
            plane.setMinimumSize(260, 200)
            plane.vline.hide()
            plane.hline.hide()
            _plain_axes(plane)
            marker = PassiveScatterItem(
                size=9, symbol="+", pen=pg.mkPen("k", width=1.5), brush=None
            )
            marker.setZValue(8)
            plane.addItem(marker, ignoreBounds=True)
            grid = ImageTilesWidget(self, placeholder="no model")
            grid.setMinimumSize(260, 260)
            col.addWidget(header)
            col.addWidget(plane, 2)
            col.addWidget(grid, 3)
            cols.addLayout(col, 1)
            self.headers[kind] = header
            self.planes[kind] = plane
            self.grids[kind] = grid
            self.markers[kind] = marker
        self.reference = QLabel("", self)
        self.reference.setStyleSheet("color: #555;")
        self.reference.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row)
        layout.addWidget(self.hint)
        layout.addLayout(cols, 1)
        layout.addWidget(self.reference)
        self.resample_button.clicked.connect(self.resample)
        self.count_box.currentIndexChanged.connect(lambda _: self.resample())

    @property
    def batch(self) -> PriorBatch | None:
        """The decodes shown."""
        return self._batch

    def coverage(self, kind: str) -> float | None:
        """Share of ``kind``'s test codes inside the prior's 95% region."""
        return self._coverage.get(kind)

    def draws(self, kind: str) -> npt.NDArray[np.float32] | None:
        """The prior draws ``(n, d)`` decoded by ``kind`` ("AE" or "VAE"); models
        of the same latent size share them."""
        if self._batch is None:
            return None
        for r in self._batch.results:
            if r.kind == kind:
                return r.z.copy()
        return None

    def _draws(self, n: int, d: int) -> npt.NDArray[np.float32]:
        if (n, d) not in self._z:
            self._z[(n, d)] = torch.randn(n, d, generator=self._gen).numpy()
        return self._z[(n, d)]

    @property
    def stale(self) -> bool:
        """True while changes recorded when hidden wait for the view to be shown."""
        return self._panels_stale or self._decode_stale

    @property
    def busy(self) -> bool:
        """True while a decode job runs or waits."""
        return self._job.busy

    def _catch_up_rest(self) -> None:
        self.refresh()

    def _apply_panels(self, ae: Panel | None, vae: Panel | None) -> None:
        self._panels = _panels_by_kind(ae, vae)
        for kind in KINDS:
            panel = self._panels.get(kind)
            if panel is None:
                self._plotted.pop(kind, None)
                self._coverage.pop(kind, None)
                self.planes[kind].set_points(None)
                self.markers[kind].setData([], [])
                self.grids[kind].set_images(None)
                self.headers[kind].setText(f"<b>{kind}</b>: none loaded")
                continue
            key = _plot_key(panel)
            if _same_key(self._plotted.get(kind), key):
                continue  # this side did not change
            self._plotted[kind] = key
            self.refresh_count += 1
            _show_codes(self.planes[kind], panel)
            try:
                self._coverage[kind] = share_in_prior_bulk(panel.codes.mu, 0.95)
            except ConfigError:  # no finite code at all
                self._coverage.pop(kind, None)
            self._key = None

    def resample(self) -> None:
        """Draw new ``z`` and decode them (once shown)."""
        self._z = {}
        self.refresh()

    def refresh(self) -> None:
        """Decode the current draws (drawing them first if needed), once shown."""
        if self._closed:
            return
        if not self.isVisible():
            self._decode_stale = True
            return
        self._decode_stale = False
        if not self._panels:
            return
        n = self.count_box.currentData()
        models = [
            (kind, panel.model, self._draws(n, panel.model.config.latent_dim))
            for kind, panel in self._panels.items()
        ]
        key = tuple((id(z), id(m)) for _, m, z in models)
        if key == self._key:
            return
        self._key = key
        data = next(iter(self._panels.values())).dataset
        train = data.train_images if data is not None else None
        reference = None
        if data is not None and len(data.test_images):
            idx = np.random.default_rng(0).choice(
                len(data.test_images), size=min(n, len(data.test_images)), replace=False
            )
            reference = data.test_images[np.sort(idx)].numpy() / np.float32(255)
        for kind in self._panels:
            self.grids[kind].set_placeholder("decoding…")
        self.refresh_count += 1
        self._job.submit(
            prior_job,
            models,
            train,
            reference,
            on_return=lambda batch: self._on_batch(key, batch),
            on_error=self._on_error,
        )

    def _on_batch(self, key: object, batch: PriorBatch) -> None:
        if self._closed or key != self._key:
            return
        self._batch = batch
        data = next(iter(self._panels.values())).dataset if self._panels else None
        for r in batch.results:
            panel = self._panels.get(r.kind)
            if panel is None:
                continue
            xy = panel.latent_slice.project(r.z)
            self.markers[r.kind].setData(x=xy[:, 0], y=xy[:, 1])
            self.grids[r.kind].set_images(r.images)
            title = panel.checkpoint.title() if panel.checkpoint else r.kind
            text = f"<b>{title}</b>"
            if r.kind in self._coverage:
                text += (
                    "<br>test codes inside the prior's 95% region: "
                    f"<b>{100 * self._coverage[r.kind]:.0f}%</b>"
                )
            if r.nearest is not None and data is not None:
                d = r.nearest.distance
                classes = np.unique(data.train_labels.numpy()[r.nearest.index])
                text += (
                    f"<br>decodes' distance to nearest training image: mean "
                    f"<b>{d.mean():.2f}</b>, median {np.median(d):.2f}, "
                    f"max {d.max():.2f}; their nearest images cover "
                    f"<b>{len(classes)} of {len(data.class_names)}</b> classes"
                )
            self.headers[r.kind].setText(text)
        if batch.reference is not None:
            d = batch.reference.distance
            self.reference.setText(
                f"Yardstick: {len(d)} real test images lie at mean {d.mean():.2f} "
                f"(median {np.median(d):.2f}) from their nearest training image "
                "(L2 in pixel space, pixels in [0, 1])."
            )
        self.samplesReady.emit(batch)

    def _on_error(self, exc: Exception) -> None:
        if not self._closed:
            for grid in self.grids.values():
                grid.set_images(None)
                grid.set_placeholder(f"Could not decode: {exc}")

    def shutdown(self) -> None:
        """Ignore results that arrive after the window closed."""
        self._closed = True
        self._job.cancel()
