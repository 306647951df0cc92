"""The Interpolation tab's "Over several trained pairs": claim (1) measured on
AE/VAE pairs trained here from several seeds (:mod:`latentlab.core.analysis.
seed_study`), "k of n pairs" while they train, then each figure as mean ± sd and
what they say together. The panel only draws what the job reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.seed_study import FIGURE_NOTES, FIGURES
from latentlab.qt.widgets.styles import HINT_STYLE, TITLE_STYLE

if TYPE_CHECKING:
    from latentlab.core.analysis.seed_study import SeedStudy


class SeedsPanel(QWidget):
    """Seeds and epochs, Run, progress, and the study's figures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Over several trained pairs", self)
        title.setStyleSheet(TITLE_STYLE)
        self.seeds = QSpinBox(self)
        self.seeds.setRange(2, 20)
        self.seeds.setValue(5)
        self.seeds.setSuffix(" seeds")
        self.epochs = QSpinBox(self)
        self.epochs.setRange(1, 100)
        self.epochs.setValue(10)
        self.epochs.setSuffix(" epochs")
        self.run_button = QPushButton("Train and measure", self)
        self.run_button.setToolTip(
            "Train an AE and a VAE (2-D MLP) from each seed on this data, or reuse "
            "those trained before, and measure every pair the same way"
        )
        self.hint = QLabel(
            "One trained pair is one draw. This trains an AE/VAE pair (2-D MLP, "
            "hidden 512-256, the same data and epochs) from each seed — not the models "
            "shown — caches them, and measures each pair: holes on paths against "
            "each model's own codes, and on 200 random test pairs the share where "
            "the AE's path is worse. Figures: mean ± sd over the seeds.",
            self,
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(HINT_STYLE)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.report = QLabel("", self)
        self.report.setWordWrap(True)
        self.report.setTextFormat(Qt.TextFormat.RichText)
        self.report.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        row = QHBoxLayout()
        row.addWidget(title, 1)
        row.addWidget(self.seeds)
        row.addWidget(self.epochs)
        row.addWidget(self.run_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.hint)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.report)
        self.study: SeedStudy | None = None
        self.pairs = 200  # random test pairs measured per seed
        self._run_seeds = 5  # the run's, not the spin box's (it may change)

    def started(self) -> None:
        """A study begins."""
        self.study = None
        self.report.setText("")
        self.progress.setValue(0)
        self._run_seeds = self.seeds.value()
        self.status.setText(f"0 of {self._run_seeds} pairs ready…")
        self.run_button.setEnabled(False)

    def on_progress(self, event: tuple[int, float]) -> None:
        """``(seed index, fraction of it done)``: "k of n pairs"."""
        i, fraction = event
        n = self._run_seeds
        self.progress.setValue(round(1000 * (i + fraction) / n))
        done = i + (1 if fraction >= 1.0 else 0)
        what = "training" if fraction < 0.8 else "measuring"
        self.status.setText(
            f"{done} of {n} pairs ready; pair {min(i + 1, n)} {what}…"
            if done < n
            else f"{n} of {n} pairs ready"
        )

    def on_result(self, study: SeedStudy) -> None:
        """The figures of every pair, as mean ± sd, and the findings."""
        self.study = study
        self.progress.setValue(1000)
        self.run_button.setEnabled(True)
        n = len(study.seeds)
        self.status.setText(
            f"{n} of {n} pairs: {study.dataset}, {study.train_images:,} training / "
            f"{study.test_images:,} test images, {study.epochs} epochs each"
        )
        rows = []
        for name in FIGURES:
            if len(study.values(name)):
                mean, sd = study.mean_sd(name)
                rows.append(f"<b>{mean:.1f} ± {sd:.1f}</b> {FIGURE_NOTES[name]}")
        self.report.setText("<br>".join([*rows, "", *study.findings()]))

    def on_error(self, exc: Exception) -> None:
        """The study failed: say why."""
        self.status.setText(f"Could not train the pairs: {exc}")
        self.run_button.setEnabled(True)

    def on_finish(self) -> None:
        """The job ended, delivered or dropped (its models were replaced)."""
        if not self.run_button.isEnabled():
            self.run_button.setEnabled(True)
            if self.study is None:
                self.status.setText("Stopped: the models changed before the end.")
