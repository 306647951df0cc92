"""Interpolation AE vs VAE: the straight path between two inputs' codes,
decoded by both models, one strip above the other, each strip measured
(:mod:`latentlab.core.smoothness`): the jumps between consecutive decodes and
how far the decodes fall from the training images.

The strip and the path plane are
:mod:`~latentlab.qt.analysis.interpolation_widgets`; the texts are written by
:mod:`latentlab.core.analysis.interpolation_texts`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
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

from latentlab.core.analysis.interpolation_texts import (
    measured_text,
    population_summary,
    progress_text,
    strip_summary,
)
from latentlab.core.analysis.pair_statistics import (
    FIGURE_NAMES,
    FIGURES,
)
from latentlab.core.analysis.planes import display_images
from latentlab.core.session import describe
from latentlab.qt.analysis.base import AnalysisView, model_names
from latentlab.qt.analysis.interpolation_widgets import (
    A_COLOUR,
    B_COLOUR,
    StripWidget,
    _PathPlane,
    show_codes,
)
from latentlab.qt.analysis.seeds_panel import SeedsPanel
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.latent_plane import nearest_point
from latentlab.qt.widgets.plane_items import LegendBar
from latentlab.qt.widgets.styles import HINT_STYLE, TITLE_STYLE
from latentlab.qt.widgets.tiles import GalleryWidget

if TYPE_CHECKING:
    from latentlab.core.analysis.interpolation import StripResult
    from latentlab.core.analysis.pair_statistics import ManyPairs, PairsProgress
    from latentlab.core.session import Side
    from latentlab.core.workspace import Workspace

POSITIONS = ("0", "1")  # the two models compared, in the order chosen
STEPS_DEFAULT = 12
PAIRS_DEFAULT = 200
HIST_COLOURS = ((31, 119, 180), (214, 39, 40))  # first, second model
NOT_MEASURED = "not measured yet"


class InterpolationView(AnalysisView):
    """Two models' strips between inputs A and B, measured: by default the
    first AE and the last VAE; any two models the user chooses (two VAEs of
    different β, say).

    Signals
    -------
    stripsReady(object)
        ``list[StripResult]`` after a computation.
    """

    key = "interpolation"
    title = "Interpolation"
    tooltip = "The straight path between two inputs' codes, decoded by both models"
    needs = ("model", "model")
    prefers = ("ae", "vae")
    figures = (
        ("planes/0", "Interpolation, &First Plane…"),
        ("planes/1", "Interpolation, Seco&nd Plane…"),
    )
    same_data = True

    stripsReady = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self._population_seed = 0
        self._pairs_took: float | None = None  # the running measurement's time
        self._took: tuple[ManyPairs, float | None] | None = None  # the last's
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
        for kind in POSITIONS:
            col = QVBoxLayout()
            title = QLabel(kind, body)
            title.setStyleSheet("font-weight: 600;")
            title.setWordWrap(True)
            # The plane sets the column's width (about square), not its title.
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
            plane = _PathPlane(body)
            plane.setMinimumSize(180, 180)  # about square: see _PathPlane
            col.addWidget(title)
            col.addWidget(plane, 1)
            planes_row.addLayout(col)
            self.planes[kind] = plane
            self.plane_titles[kind] = title
            plane.latentClicked.connect(
                lambda x, y, k=kind: self._on_plane_clicked(k, x, y)
            )

        self.strips: dict[str, StripWidget] = {}
        self.summaries: dict[str, QLabel] = {}
        strips = QVBoxLayout()
        strips.setSpacing(2)
        for kind in POSITIONS:
            summary = rich_label("", body)
            strip = StripWidget(body)
            strips.addWidget(summary)
            strips.addWidget(strip)
            self.strips[kind] = strip
            self.summaries[kind] = summary
        self.legend = QLabel("", body)
        self.legend.setWordWrap(True)
        self.legend.setStyleSheet(HINT_STYLE)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.legend.setMinimumWidth(160)
        # Beside the planes: the width their square plots leave. Its height
        # is the planes' (it must not grow the row: the row would widen the
        # planes, leaving it narrower and taller still).
        self.legend.setSizePolicy(
            QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored
        )
        planes_row.addWidget(self.legend, 1)

        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.hint)
        layout.addWidget(self.gallery)
        layout.addLayout(row)
        layout.addLayout(planes_row, 1)
        layout.addLayout(strips)
        layout.addWidget(self._build_population(body))
        self.seeds_panel = SeedsPanel(body)
        self.seeds_panel.run_button.clicked.connect(self.measure_seeds)
        layout.addWidget(self.seeds_panel)

        self.gallery.picked.connect(self.session.pick)
        self.gallery.randomRequested.connect(lambda: self.session.pick_random(2))
        self.swap_button.clicked.connect(self.session.swap)
        self.steps_spin.valueChanged.connect(lambda _: self._compute())

    def measure_seeds(self) -> None:
        """Train (or reuse) a pair per seed on this data and measure each."""
        if self.showing_message:
            return
        panel = self.seeds_panel
        panel.started()
        self.run(
            self.workspace.seed_study,
            panel.seeds.value(),
            panel.epochs.value(),
            panel.pairs,
            slots=self.slots(),
            on_progress=panel.on_progress,
            on_result=panel.on_result,
            on_error=panel.on_error,
            on_finish=panel.on_finish,
        )

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
        self.pairs_progress.setFormat(NOT_MEASURED)
        self.pairs_progress.setTextVisible(True)
        self.pairs_progress.setToolTip(
            "The pairs are measured in each model first; then the realism "
            "classifier is trained, once per data set (the longest part on a "
            "large one), and scores the decodes. The time left is at the rates "
            "measured so far."
        )
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
        self.hist_placeholders: dict[str, pg.TextItem] = {}
        for figure in FIGURES:
            plot = pg.PlotWidget(box, background="w")
            plot.setMinimumSize(200, 170)
            plot.setMouseEnabled(x=False, y=False)
            plot.setMenuEnabled(False)
            plot.setLabel("bottom", FIGURE_NAMES[figure])
            plot.setLabel("left", "pairs")
            for kind, colour in zip(POSITIONS, HIST_COLOURS, strict=True):
                self.hist_curves[(figure, kind)] = plot.plot(
                    stepMode="center",
                    fillLevel=0,
                    pen=pg.mkPen(colour, width=2),
                    brush=pg.mkBrush(*colour, 60),
                )
            placeholder = pg.TextItem(NOT_MEASURED, color="#888", anchor=(0.5, 0.5))
            plot.addItem(placeholder, ignoreBounds=True)
            self.hist_placeholders[figure] = placeholder
            self.hist_plots[figure] = plot
            plots.addWidget(plot, 1)
        self.hist_key = LegendBar(box)
        key = self.hist_key
        self.population_label = rich_label("", box)
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 8, 0, 0)
        col.addLayout(row)
        col.addLayout(plots)
        col.addWidget(key)
        col.addWidget(self.population_label)
        self.run_button.clicked.connect(self.measure_population)
        self.cancel_button.clicked.connect(self.cancel_population)
        self._empty_histograms()
        return box

    @property
    def population(self) -> ManyPairs | None:
        """The latest many-pairs measurement of the models shown (kept by the
        workspace with the models it measured)."""
        return self.workspace.result("interpolation.pairs")

    def measure_population(self) -> None:
        """Interpolate N random test pairs in both models, in the background."""
        if self.showing_message:
            return
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.pairs_progress.setValue(0)
        self.pairs_progress.setFormat("starting…")
        self._pairs_took = None
        self.run(
            self.workspace.measure_pairs,
            self.pairs_spin.value(),
            self.steps_spin.value(),
            self._population_seed,
            slots=self.slots(),
            names=self.names(),
            on_progress=self._on_pairs_progress,
            on_result=self._on_population,
            on_error=lambda exc: self.pairs_progress.setFormat(f"failed: {exc}"),
            on_finish=self._population_ended,
        )

    def cancel_population(self) -> None:
        """Stop a running many-pairs measurement."""
        self.workspace.cancel("interpolation.pairs")
        self.pairs_progress.setFormat("cancelled")

    def _population_ended(self) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_pairs_progress(self, p: PairsProgress) -> None:
        """What the measurement does now, its share done and the time left."""
        self._pairs_took = p.elapsed_s
        self.pairs_progress.setValue(int(100 * p.fraction))
        # Its "%" is followed by a space: none of the bar's %p, %v, %m.
        self.pairs_progress.setFormat(progress_text(p))

    def _on_population(self, stats: ManyPairs) -> None:
        self._population_seed += 1  # the next run draws new pairs
        self._took = (stats, self._pairs_took)
        self._show_population(stats, running=False)  # it ends with this result
        for pos, r in zip(POSITIONS, self.results, strict=False):
            self.summaries[pos].setText(strip_summary(r.kind, r.smoothness, stats))

    def _show_population(
        self, stats: ManyPairs | None, running: bool | None = None
    ) -> None:
        """Draw the histograms of ``stats``, or empty axes saying that these
        models are not measured (None). The bar is left to a measurement
        ``running`` (default: one is)."""
        if running is None:
            running = self.busy("pairs")
        if stats is None:
            self._empty_histograms()
            self.population_label.setText("")
            if not running:
                self.pairs_progress.setValue(0)
                self.pairs_progress.setFormat(NOT_MEASURED)
            return
        if not running:
            took = self._took[1] if self._took and self._took[0] is stats else None
            self.pairs_progress.setValue(100)
            self.pairs_progress.setFormat(measured_text(stats, took))
        for figure in FIGURES:
            plot = self.hist_plots[figure]
            measured = figure in stats.figures
            self.hist_placeholders[figure].setVisible(not measured)
            for axis in ("bottom", "left"):
                plot.getAxis(axis).setStyle(showValues=measured)
            if not measured:  # no classifier for this data
                self.hist_placeholders[figure].setText("not measured for this data")
                for kind in POSITIONS:
                    self.hist_curves[(figure, kind)].setData([], [])
                continue
            values = [stats.populations[k].figure(figure) for k in stats.populations]
            finite = np.concatenate([v[np.isfinite(v)] for v in values])
            hi = float(np.quantile(finite, 0.99)) if len(finite) else 1.0
            lo = min(1.0, float(finite.min(initial=1.0)))
            edges = np.linspace(lo, max(hi, lo + 1e-6), 31)
            for kind, v in zip(POSITIONS, values, strict=True):
                counts, _ = np.histogram(np.clip(v, edges[0], edges[-1]), edges)
                self.hist_curves[(figure, kind)].setData(edges, counts)
            plot.enableAutoRange()
        self.population_label.setText(population_summary(stats))

    def _empty_histograms(self) -> None:
        """Axes with no numbers on them and "not measured yet" in the middle:
        nothing of an earlier measurement stays on them."""
        for figure, plot in self.hist_plots.items():
            for kind in POSITIONS:
                self.hist_curves[(figure, kind)].setData([], [])
            for axis in ("bottom", "left"):
                plot.getAxis(axis).setStyle(showValues=False)
            plot.disableAutoRange()
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            placeholder = self.hist_placeholders[figure]
            placeholder.setText(NOT_MEASURED)
            placeholder.setPos(0.5, 0.5)
            placeholder.setVisible(True)

    def _clear_population(self) -> None:
        self.workspace.forget("interpolation.pairs")
        self._show_population(None)

    @property
    def results(self) -> list[StripResult]:
        """The strips shown, AE first."""
        return list(self.workspace.result("interpolation.strips") or ())

    def _sides(self) -> dict[str, Side]:
        """The two models compared, by position."""
        return {
            pos: self.session.sides[s]
            for pos, s in zip(POSITIONS, self.slots(), strict=True)
        }

    def names(self) -> tuple[str, str]:
        """The two models' names: their kinds, and where they sit when alike."""
        return model_names(self.session, self.slots())

    # --- AnalysisView ------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        sides = self._sides()
        if changed & {"ae.model", "vae.model"} and self.busy("pairs"):
            self.cancel_population()  # it measures models no longer shown
            self.pairs_progress.setFormat("cancelled: the models changed")
        if "sides" in changed:
            # The workspace keeps a measurement while its models are shown.
            self._show_population(self.population)
            names = self.names()
            self.heading.setText(f"Interpolation: {names[0]} vs {names[1]}")
            self.hist_key.set_entries(list(zip(names, HIST_COLOURS, strict=True)))
            for kind, side in sides.items():
                self.plane_titles[kind].setText(side.title)
                show_codes(self.planes[kind], side)
            self.gallery.set_dataset(sides["1"].dataset)
        if changed & {"sides", "selection"}:
            self._compute()

    def clear(self) -> None:
        self.workspace.forget("interpolation.strips")
        self._clear_population()
        for kind in POSITIONS:
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
        data = sides["1"].dataset
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
        self.run(
            self.workspace.interpolate,
            self.steps_spin.value(),
            slots=self.slots(),
            names=self.names(),
            on_result=lambda res: self._on_strips(a, b, res),
            on_error=lambda exc: self._clear_strips(f"Could not interpolate: {exc}"),
        )

    def _clear_strips(self, text: str) -> None:
        self.workspace.forget("interpolation.strips")
        for kind in POSITIONS:
            self.strips[kind].set_placeholder(text)
            self.summaries[kind].setText("")
            self.planes[kind].show_path(None)

    def _on_strips(self, a: int, b: int, results: list[StripResult]) -> None:
        sides = self._sides()
        data = sides["1"].dataset
        ends = tuple(display_images(data, [a, b]))
        bar_max = max(r.smoothness.max_step for r in results) if results else 1.0
        for pos, r in zip(POSITIONS, results, strict=True):
            side = sides[pos]
            self.planes[pos].show_path(side.latent_slice.project(r.codes))
            self.strips[pos].set_strip(r.images, ends, r.smoothness, bar_max)
            self.summaries[pos].setText(
                strip_summary(r.kind, r.smoothness, self.population)
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
