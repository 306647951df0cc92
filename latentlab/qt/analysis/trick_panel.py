"""The Gradient path tab's "Train without the trick": two learning curves, live.

The same VAE from the same start, trained on the same batches with the
reparameterization trick and with the score-function estimator (baseline
log p(x|μ)) for its encoder (:mod:`latentlab.core.analysis.without_trick`):
each run's train −ELBO, smoothed, as it trains, and its test −ELBO after
every epoch. The panel only draws what the job reports.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.without_trick import RUNS, TrickCurves, TrickStep
from latentlab.qt.widgets.plane_items import LegendBar
from latentlab.qt.widgets.plot_style import cache_axes
from latentlab.qt.widgets.styles import HINT_STYLE, TITLE_STYLE

if TYPE_CHECKING:
    from latentlab.core.data import ImageDataset

COLOURS = ((31, 119, 180), (214, 39, 40))  # reparameterized, score function
# Exponential smoothing of the reported batches' train −ELBO (one report every
# 10 steps): little, so the line does not lag a falling curve by epochs.
SMOOTHING = 0.5
REDRAW_S = 0.2


class TrickPanel(QWidget):
    """Button, epochs, the two runs' curves and what they came to."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Without the trick, in training", self)
        title.setStyleSheet(TITLE_STYLE)
        self.epochs = QSpinBox(self)
        self.epochs.setRange(1, 50)
        self.epochs.setValue(3)
        self.epochs.setSuffix(" epochs")
        self.train_button = QPushButton("Train both", self)
        self.train_button.setToolTip(
            "Train a VAE like this tab's from one start, on the same batches, "
            "with z = μ + σ ⊙ ε and with the score function for the encoder"
        )
        self.hint = QLabel(
            "One VAE (this tab's latent size, an MLP with Bernoulli p(x|z), on its "
            "data) from the same initial "
            "weights, on the same batches, each with its own Adam: one with "
            "z = μ + σ ⊙ ε (the gradient reaches μ, σ and the encoder through z), "
            "one with z drawn off the gradient path and the encoder trained by the "
            "score function (log p(x|z) − log p(x|μ)) ∇ log q(z|x). The KL term is "
            "in closed form in both. Lines: train −ELBO per batch, smoothed; "
            "points: test −ELBO after each epoch (one z per image).",
            self,
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(HINT_STYLE)
        self.plot = pg.PlotWidget(self, background="w")
        self.plot.setMinimumSize(380, 200)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "−ELBO (nats / image)")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        cache_axes(self.plot)
        self.train_lines = [
            self.plot.plot(pen=pg.mkPen(c, width=2), name=f"{run}, train")
            for c, run in zip(COLOURS, RUNS, strict=True)
        ]
        self.test_points = [
            self.plot.plot(
                pen=None,
                symbol="o",
                symbolBrush=c,
                symbolPen="w",
                symbolSize=9,
                name=f"{run}, test",
            )
            for c, run in zip(COLOURS, RUNS, strict=True)
        ]
        self.key = LegendBar(self)
        self.key.set_entries(list(zip(RUNS, COLOURS, strict=True)))
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        row = QHBoxLayout()
        row.addWidget(title, 1)
        row.addWidget(self.epochs)
        row.addWidget(self.train_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.hint)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.key)
        layout.addWidget(self.status)
        self._xs: list[float] = []
        self._ys: tuple[list[float], list[float]] = ([], [])
        self._smooth: list[float | None] = [None, None]
        self._drawn_at = 0.0
        self._run_epochs = 1  # the run's, not the spin box's (it may change)
        self.curves: TrickCurves | None = None

    def started(self, dataset: ImageDataset | None) -> None:
        """A run begins: clear the curves and say what trains."""
        self._xs.clear()
        for ys in self._ys:
            ys.clear()
        self._smooth = [None, None]
        self._run_epochs = self.epochs.value()
        self.curves = None
        for item in (*self.train_lines, *self.test_points):
            item.setData([], [])
        n = len(dataset.train_images) if dataset is not None else 0
        self.status.setText(f"training both on {n:,} images…")
        self.train_button.setEnabled(False)

    def on_progress(self, event: TrickStep | TrickCurves) -> None:
        """Draw a step (at most 5 times a second) or an epoch's test points."""
        if isinstance(event, TrickCurves):
            self._show_test(event)
            return
        x = event.step / max(event.total, 1) * self._run_epochs
        self._xs.append(x)
        for k, value in enumerate(event.train):
            prev = self._smooth[k]
            self._smooth[k] = (
                value if prev is None else (SMOOTHING * prev + (1 - SMOOTHING) * value)
            )
            self._ys[k].append(self._smooth[k])
        now = time.monotonic()
        if now - self._drawn_at >= REDRAW_S or event.step == event.total:
            self._drawn_at = now
            for line, ys in zip(self.train_lines, self._ys, strict=True):
                line.setData(self._xs, ys)
            self.status.setText(
                f"epoch {event.epoch}: step {event.step:,} of {event.total:,}; last "
                f"batch −ELBO {event.train[0]:.1f} (reparameterized), "
                f"{event.train[1]:.1f} (score function)"
            )

    def _show_test(self, curves: TrickCurves) -> None:
        self.curves = curves
        for k, points in enumerate(self.test_points):
            points.setData(curves.epochs, curves.test[k])

    def on_result(self, curves: TrickCurves) -> None:
        """The run ended: its curves and their summary."""
        self._show_test(curves)
        for line, ys in zip(self.train_lines, self._ys, strict=True):
            line.setData(self._xs, ys)
        text = curves.summary()
        self.status.setText(text[:1].upper() + text[1:] + ".")
        self.train_button.setEnabled(True)

    def on_error(self, exc: Exception) -> None:
        """The run failed: say why."""
        self.status.setText(f"Could not train: {exc}")
        self.train_button.setEnabled(True)

    def on_finish(self) -> None:
        """The job ended, delivered or dropped (its model was replaced)."""
        if not self.train_button.isEnabled():
            self.train_button.setEnabled(True)
            if self.curves is None:
                self.status.setText("Stopped: the model changed before the end.")
