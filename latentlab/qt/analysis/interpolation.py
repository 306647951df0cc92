"""Interpolation AE vs VAE: the straight path between two inputs' codes,
decoded by both models, one strip above the other, each strip measured
(:mod:`latentlab.core.smoothness`): the jumps between consecutive decodes and
how far the decodes fall from the training images."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.interpolation import interpolation_strips
from latentlab.core.analysis.pair_statistics import (
    FIGURE_NAMES,
    FIGURES,
    LARGER_IS_WORSE,
    many_pairs,
    percentile_rank,
)
from latentlab.core.analysis.planes import display_images, labelled_points
from latentlab.core.session import describe, model_scope, side_scope
from latentlab.qt.analysis.base import AnalysisView
from latentlab.qt.widgets.decode_panel import to_qimage
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.latent_plane import (
    LatentPlaneWidget,
    LegendBar,
    PassiveScatterItem,
    fit_rect,
    nearest_point,
)
from latentlab.qt.widgets.styles import HINT_STYLE, TITLE_STYLE
from latentlab.qt.widgets.tiles import GalleryWidget

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.analysis.interpolation import StripResult
    from latentlab.core.analysis.pair_statistics import ManyPairs
    from latentlab.core.session import Side
    from latentlab.core.smoothness import StripSmoothness

KINDS = ("AE", "VAE")
STEPS_DEFAULT = 12
PAIRS_DEFAULT = 200
HIST_COLOURS = ((31, 119, 180), (214, 39, 40))  # AE, VAE
PATH_COLOUR = (20, 20, 20)
A_COLOUR = (0, 150, 70)
B_COLOUR = (150, 0, 170)
JUMP_COLOUR = QColor(214, 39, 40)
BAR_COLOUR = QColor(110, 140, 180)


def show_codes(plane: LatentPlaneWidget, side: Side) -> None:
    """Scatter a side's test codes (no key: the views' planes are small)."""
    xy, groups = labelled_points(side.codes, side.latent_slice, side.dataset)
    plane.set_points(xy, groups, size=3.5)
    plane.fit(fit_rect(xy, prior=side.is_vae))


def strip_summary(
    kind: str, s: StripSmoothness, population: ManyPairs | None = None
) -> str:
    """One strip's figures, each named, and its place among many pairs."""
    text = (
        f"<b>{kind}</b> &nbsp; largest jump <b>{s.max_step:.2f}</b> "
        f"(steps {s.worst_step + 1}→{s.worst_step + 2}), mean step "
        f"{s.mean_step:.2f}, jump ratio (largest / mean step) <b>{s.jump_ratio:.2f}</b>"
    )
    if population is not None and kind in population.populations:
        rank = percentile_rank(s.jump_ratio, population.populations[kind].jump_ratio)
        text += f" — jumpier than {100 * rank:.0f}% of {population.n} random pairs"
    if s.nearest is not None:
        text += (
            f" &nbsp;·&nbsp; midpoint → nearest training image (L2) {s.midpoint_nn:.2f}"
        )
    return text


def population_summary(stats: ManyPairs) -> str:
    """What the many-pairs histograms show, from their numbers."""
    rows = []
    for figure in stats.figures:
        ae, vae = stats.median("AE", figure), stats.median("VAE", figure)
        share = stats.fraction_worse(figure)
        worse = "larger" if LARGER_IS_WORSE[figure] else "smaller"
        rows.append(
            f"<b>{FIGURE_NAMES[figure]}</b>: median AE {ae:.2f}, VAE {vae:.2f}; the "
            f"AE's is {worse} (further from the data) in <b>{100 * share:.0f}%</b> "
            f"of the {stats.n} pairs"
        )
    if stats.classifier_accuracy is not None:
        rows.append(
            "<span style='color:#666'>confidence: top-class probability of an MLP "
            "classifier trained here on the same training split, test accuracy "
            f"{100 * stats.classifier_accuracy:.1f}%</span>"
        )
    return (
        "<br>".join(rows)
        + f"<br><span style='color:#666'>{stats.n} random test pairs (seed "
        f"{stats.seed}), {stats.steps} steps each, codes = the encoders' means; "
        f"density: mean distance to the {stats.k} nearest training codes over the "
        "typical such distance between training codes (≫ 1: a hole)</span>"
    )


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
        plain_axes(self)

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


def plain_axes(plane: LatentPlaneWidget) -> None:
    """Tick labels in latent units, never rescaled with an SI prefix."""
    for side in ("left", "bottom"):
        plane.getAxis(side).enableAutoSIPrefix(False)


class InterpolationView(AnalysisView):
    """AE and VAE strips between inputs A and B, measured.

    Signals
    -------
    stripsReady(object)
        ``list[StripResult]`` after a computation.
    """

    key = "interpolation"
    title = "Interpolation: AE vs VAE"
    tooltip = "The straight path between two inputs' codes, decoded by both models"
    needs = ("ae", "vae")
    figures = (
        ("planes/AE", "Interpolation, &AE Plane…"),
        ("planes/VAE", "Interpolation, VAE Pla&ne…"),
    )
    same_data = True

    stripsReady = Signal(object)

    def __init__(self, session, jobs, parent: QWidget | None = None) -> None:
        super().__init__(session, jobs, parent)
        self._results: list[StripResult] = []
        self._population: ManyPairs | None = None
        self._population_seed = 0
        self._build()

    def _build(self) -> None:
        body = self.body
        self.heading = QLabel("Interpolation", body)
        self.heading.setStyleSheet(TITLE_STYLE)
        self.hint = QLabel(
            "Pick two inputs: click two scatter points (here, or Ctrl+click in the "
            "Latent planes tab) or two thumbnails. A is the earlier pick, B the "
            "later.",
            body,
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(HINT_STYLE)
        self.gallery = GalleryWidget(body, random_text="Random pair")
        self.pair_label = QLabel("", body)
        self.swap_button = QPushButton("Swap A ↔ B", body)
        self.steps_spin = QSpinBox(body)
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
            title = QLabel(kind, body)
            title.setStyleSheet("font-weight: 600;")
            title.setWordWrap(True)
            plane = _PathPlane(body)
            plane.setMinimumSize(240, 180)
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
            summary = rich_label("", body)
            strip = StripWidget(body)
            strips.addWidget(summary)
            strips.addWidget(strip)
            self.strips[kind] = strip
            self.summaries[kind] = summary
        self.legend = QLabel("", body)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet(HINT_STYLE)

        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.hint)
        layout.addWidget(self.gallery)
        layout.addLayout(row)
        layout.addLayout(planes_row, 1)
        layout.addLayout(strips)
        layout.addWidget(self.legend)
        layout.addWidget(self._build_population(body))

        self.gallery.picked.connect(self.session.pick)
        self.gallery.randomRequested.connect(lambda: self.session.pick_random(2))
        self.swap_button.clicked.connect(self.session.swap)
        self.steps_spin.valueChanged.connect(lambda _: self._compute())

    def _build_population(self, body: QWidget) -> QWidget:
        """The "over many pairs" section: N, Run / Cancel, progress, histograms."""
        box = QWidget(body)
        self.pairs_spin = QSpinBox(box)
        self.pairs_spin.setRange(20, 2000)
        self.pairs_spin.setValue(PAIRS_DEFAULT)
        self.pairs_spin.setSuffix(" pairs")
        self.pairs_spin.setToolTip("Random test pairs to interpolate in both models")
        self.run_button = QPushButton("Measure over many pairs", box)
        self.cancel_button = QPushButton("Cancel", box)
        self.cancel_button.setEnabled(False)
        self.pairs_progress = QProgressBar(box)
        self.pairs_progress.setRange(0, 100)
        self.pairs_progress.setValue(0)
        self.pairs_progress.setFormat("not measured yet")
        self.pairs_progress.setTextVisible(True)
        row = QHBoxLayout()
        heading = QLabel("Over many pairs", box)
        heading.setStyleSheet(TITLE_STYLE)
        row.addWidget(heading)
        row.addWidget(self.pairs_spin)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.pairs_progress, 1)
        plots = QHBoxLayout()
        self.hist_plots: dict[str, pg.PlotWidget] = {}
        self.hist_curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        for figure in FIGURES:
            plot = pg.PlotWidget(box, background="w")
            plot.setMinimumSize(200, 170)
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.setLabel("bottom", FIGURE_NAMES[figure])
            plot.setLabel("left", "pairs")
            for kind, colour in zip(KINDS, HIST_COLOURS, strict=True):
                self.hist_curves[(figure, kind)] = plot.plot(
                    stepMode="center",
                    fillLevel=0,
                    pen=pg.mkPen(colour, width=2),
                    brush=pg.mkBrush(*colour, 60),
                )
            self.hist_plots[figure] = plot
            plots.addWidget(plot, 1)
        key = LegendBar(box)
        key.set_entries(list(zip(KINDS, HIST_COLOURS, strict=True)))
        self.population_label = rich_label("", box)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 8, 0, 0)
        col.addLayout(row)
        col.addLayout(plots)
        col.addWidget(key)
        col.addWidget(self.population_label)
        self.run_button.clicked.connect(self.measure_population)
        self.cancel_button.clicked.connect(self.cancel_population)
        return box

    @property
    def population(self) -> ManyPairs | None:
        """The latest many-pairs measurement of the models shown."""
        return self._population

    def measure_population(self) -> None:
        """Interpolate N random test pairs in both models, in the background."""
        if self.showing_message:
            return
        sides = self._sides()
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.pairs_progress.setValue(0)
        self.pairs_progress.setFormat("measuring… %p%")
        self.submit(
            "pairs",
            many_pairs,
            [(kind, side.model) for kind, side in sides.items()],
            sides["VAE"].dataset,
            n_pairs=self.pairs_spin.value(),
            steps=self.steps_spin.value(),
            seed=self._population_seed,
            scopes=(
                model_scope(self.session.role("ae")),
                model_scope(self.session.role("vae")),
            ),
            on_progress=lambda done: self.pairs_progress.setValue(int(100 * done)),
            on_result=self._on_population,
            on_error=lambda exc: self.pairs_progress.setFormat(f"failed: {exc}"),
            on_finish=self._population_ended,
        )

    def cancel_population(self) -> None:
        """Stop a running many-pairs measurement."""
        self.jobs.cancel(f"{self.key}.pairs")
        self.pairs_progress.setFormat("cancelled")

    def _population_ended(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_population(self, stats: ManyPairs) -> None:
        self._population = stats
        self._population_seed += 1  # the next run draws new pairs
        self.pairs_progress.setValue(100)
        self.pairs_progress.setFormat(f"{stats.n} pairs measured")
        for figure in stats.figures:
            values = [stats.populations[k].figure(figure) for k in KINDS]
            finite = np.concatenate([v[np.isfinite(v)] for v in values])
            hi = float(np.quantile(finite, 0.99)) if len(finite) else 1.0
            lo = min(1.0, float(finite.min(initial=1.0)))
            edges = np.linspace(lo, max(hi, lo + 1e-6), 31)
            for kind, v in zip(KINDS, values, strict=True):
                counts, _ = np.histogram(np.clip(v, edges[0], edges[-1]), edges)
                self.hist_curves[(figure, kind)].setData(edges, counts)
        self.population_label.setText(population_summary(stats))
        for r in self._results:
            self.summaries[r.kind].setText(strip_summary(r.kind, r.smoothness, stats))

    def _clear_population(self) -> None:
        self._population = None
        for curve in self.hist_curves.values():
            curve.setData([], [])
        self.population_label.setText("")
        self.pairs_progress.setValue(0)
        self.pairs_progress.setFormat("not measured yet")

    @property
    def results(self) -> list[StripResult]:
        """The strips shown, AE first."""
        return list(self._results)

    def _sides(self) -> dict[str, Side]:
        return {"AE": self.side_for("ae"), "VAE": self.side_for("vae")}

    # --- AnalysisView ------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        sides = self._sides()
        if changed & {"ae.model", "vae.model"}:
            self._clear_population()  # measured on other models
        if "sides" in changed:
            for kind, side in sides.items():
                self.plane_titles[kind].setText(side.title)
                show_codes(self.planes[kind], side)
            self.gallery.set_dataset(sides["VAE"].dataset)
        if changed & {"sides", "selection"}:
            self._compute()

    def clear(self) -> None:
        self._results = []
        self._clear_population()
        for kind in KINDS:
            self.planes[kind].set_points(None)
            self.planes[kind].show_path(None)
            self.strips[kind].set_placeholder("")
            self.summaries[kind].setText("")
        self.gallery.set_dataset(None)
        self.pair_label.setText("")
        self.legend.setText("")

    # --- strips ------------------------------------------------------------------

    def _compute(self) -> None:
        if self.showing_message:
            return
        sel = self.session.selection
        sides = self._sides()
        data = sides["VAE"].dataset
        if sel.previous is None or sel.current is None:
            self._clear_strips("Pick two inputs.")
            return
        a, b = sel.previous, sel.current
        self.gallery.mark([a, b])
        self.pair_label.setText(
            f"<span style='color:rgb{A_COLOUR}'>A = {describe(data, a)}</span> → "
            f"<span style='color:rgb{B_COLOUR}'>B = {describe(data, b)}</span>"
        )
        for strip in self.strips.values():
            strip.set_placeholder("decoding…")
        self.submit(
            "strips",
            interpolation_strips,
            [(kind, side.model) for kind, side in sides.items()],
            data.test_images[a],
            data.test_images[b],
            self.steps_spin.value(),
            data.train_images,
            scopes=(
                side_scope(self.session.role("ae")),
                side_scope(self.session.role("vae")),
                "selection",
            ),
            on_result=lambda res: self._on_strips(a, b, res),
            on_error=lambda exc: self._clear_strips(f"Could not interpolate: {exc}"),
        )

    def _clear_strips(self, text: str) -> None:
        self._results = []
        for kind in KINDS:
            self.strips[kind].set_placeholder(text)
            self.summaries[kind].setText("")
            self.planes[kind].show_path(None)

    def _on_strips(self, a: int, b: int, results: list[StripResult]) -> None:
        self._results = results
        sides = self._sides()
        data = sides["VAE"].dataset
        ends = tuple(display_images(data, [a, b]))
        bar_max = max(r.smoothness.max_step for r in results) if results else 1.0
        for r in results:
            side = sides[r.kind]
            self.planes[r.kind].show_path(side.latent_slice.project(r.codes))
            self.strips[r.kind].set_strip(r.images, ends, r.smoothness, bar_max)
            self.summaries[r.kind].setText(
                strip_summary(r.kind, r.smoothness, self._population)
            )
        self.legend.setText(
            "Distances are L2 in pixel space (pixels in [0, 1]). Bars: distance "
            "between consecutive decodes (red: the largest). Numbers: distance from "
            f"each decode to its nearest of the {len(data.train_images):,} training "
            "images — not a realism measure: blurry decodes sit close to training "
            "images. Codes are the encoders' means μ(x). One pair proves little: "
            "measure over many pairs below."
        )
        self.stripsReady.emit(results)

    def _on_plane_clicked(self, kind: str, x: float, y: float) -> None:
        side = self._sides().get(kind)
        if side is None:
            return
        xy = side.latent_slice.project(side.codes.mu)
        i = nearest_point(xy, (x, y), self.planes[kind].view_box.viewPixelSize())
        if i is not None:
            self.session.pick(i)
