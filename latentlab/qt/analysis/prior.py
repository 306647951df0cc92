"""Prior samples: the same draws z ~ N(0, I) decoded by the AE and the VAE."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.planes import display_images
from latentlab.core.analysis.prior import decode_prior, prior_draws
from latentlab.core.session import side_scope
from latentlab.qt.analysis.base import AnalysisView, model_names
from latentlab.qt.analysis.interpolation_widgets import plain_axes, show_codes
from latentlab.qt.widgets.labels import rich_label
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget
from latentlab.qt.widgets.plane_items import PassiveScatterItem
from latentlab.qt.widgets.styles import HINT_STYLE, TITLE_STYLE
from latentlab.qt.widgets.tiles import ImageTilesWidget

if TYPE_CHECKING:
    from latentlab.core.analysis.prior import PriorBatch, PriorResult
    from latentlab.core.data import ImageDataset
    from latentlab.core.session import Side
    from latentlab.core.workspace import Workspace

POSITIONS = ("0", "1")  # the two models compared, in the order chosen


def prior_header(title: str, r: PriorResult, dataset: ImageDataset | None) -> str:
    """One model's figures over its prior decodes, each named."""
    text = f"<b>{title}</b>"
    if r.coverage is not None:
        text += (
            "<br>test codes (μ) inside the prior's 95% region: "
            f"<b>{100 * r.coverage:.0f}%</b>"
        )
    if r.nearest is not None and dataset is not None:
        d = r.nearest.distance
        classes = np.unique(dataset.train_labels.numpy()[r.nearest.index])
        text += (
            f"<br>decodes' L2 distance to the nearest training image (not a "
            f"realism measure: blurry decodes sit close): mean "
            f"<b>{d.mean():.2f}</b>, median {np.median(d):.2f}, max {d.max():.2f}; "
            f"their nearest images cover <b>{len(classes)} of "
            f"{len(dataset.class_names)}</b> classes"
        )
    return text


class PriorSamplesView(AnalysisView):
    """Decode the same ``z ~ N(0, I)`` with two models side by side: the AE and
    the VAE by default, or any two the user chooses.

    Signals
    -------
    samplesReady(object)
        ``PriorBatch`` after a computation.
    """

    key = "prior"
    title = "Prior samples"
    tooltip = "Decode z ~ N(0, I) with two models (the AE and the VAE by default)"
    needs = ("model", "model")
    prefers = ("ae", "vae")
    figures = (
        ("planes/0", "Prior Samples, First &Plane…"),
        ("planes/1", "Prior Samples, Second Plan&e…"),
    )
    COUNTS = (16, 36, 64, 100, 144)

    samplesReady = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self._seed = 0
        self._build()

    def _build(self) -> None:
        body = self.body
        self.heading = QLabel("Prior samples: decode z ~ N(0, I)", body)
        self.heading.setStyleSheet(TITLE_STYLE)
        self.hint = QLabel(
            "The same draws z ~ N(0, I) go through each decoder (black + in the "
            "planes). The VAE was trained to put its codes under this prior; the AE "
            "was not, so its decodes of prior draws need not look like data.",
            body,
        )
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(HINT_STYLE)
        self.resample_button = QPushButton("Resample z", body)
        self.count_box = QComboBox(body)
        for n in self.COUNTS:
            self.count_box.addItem(f"{n} samples", n)
        self.count_box.setCurrentIndex(self.COUNTS.index(64))
        row = QHBoxLayout()
        row.addWidget(self.heading, 1)
        row.addWidget(self.count_box)
        row.addWidget(self.resample_button)

        self.headers: dict[str, QLabel] = {}
        self.planes: dict[str, LatentPlaneWidget] = {}
        self.grids: dict[str, ImageTilesWidget] = {}
        self.markers: dict[str, PassiveScatterItem] = {}
        cols = QHBoxLayout()
        for kind in POSITIONS:
            col = QVBoxLayout()
            header = rich_label(kind, body)
            plane = LatentPlaneWidget(body)
            plane.setMinimumSize(220, 170)
            plain_axes(plane)
            marker = PassiveScatterItem(
                size=9,
                symbol="+",
                pen=pg.mkPen("k", width=1.5),
                brush=None,
                name="prior samples z ~ N(0, I)",
            )
            marker.setZValue(8)
            plane.addItem(marker, ignoreBounds=True)
            grid = ImageTilesWidget(body, placeholder="")
            grid.setMinimumSize(220, 220)
            col.addWidget(header)
            col.addWidget(plane, 2)
            col.addWidget(grid, 3)
            cols.addLayout(col, 1)
            self.headers[kind] = header
            self.planes[kind] = plane
            self.grids[kind] = grid
            self.markers[kind] = marker
        self.reference = QLabel("", body)
        self.reference.setStyleSheet(HINT_STYLE)
        self.reference.setWordWrap(True)

        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(row)
        layout.addWidget(self.hint)
        layout.addLayout(cols, 1)
        layout.addWidget(self.reference)
        self.resample_button.clicked.connect(self.resample)
        self.count_box.currentIndexChanged.connect(lambda _: self._decode())

    @property
    def batch(self) -> PriorBatch | None:
        """The decodes shown (kept by the workspace with the models they used)."""
        return self.workspace.result("prior.decode")

    def coverage(self, kind: str) -> float | None:
        """Share of ``kind``'s test codes inside the prior's 95% region."""
        for r in self.batch.results if self.batch else ():
            if r.kind == kind:
                return r.coverage
        return None

    def draws(self, kind: str):
        """The prior draws ``(n, d)`` decoded by the model called ``kind``
        (:meth:`names`: "AE", "VAE"…); models of the same latent size share them."""
        for r in self.batch.results if self.batch else ():
            if r.kind == kind:
                return r.z.copy()
        return None

    def _sides(self) -> dict[str, Side]:
        """The two models compared, by position."""
        return {
            pos: self.session.sides[s]
            for pos, s in zip(POSITIONS, self.slots(), strict=True)
        }

    def names(self) -> tuple[str, str]:
        """The two models' names: their kinds, and where they sit when alike."""
        return model_names(self.session, self.slots())

    def resample(self) -> None:
        """Draw new ``z`` and decode them."""
        self._seed += 1
        self._decode()

    # --- AnalysisView ------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        if "sides" not in changed:
            return
        for kind, side in self._sides().items():
            show_codes(self.planes[kind], side)
            self.headers[kind].setText(f"<b>{side.title}</b>")
        self._decode()

    def clear(self) -> None:
        self.workspace.forget("prior.decode")
        for kind in POSITIONS:
            self.planes[kind].set_points(None)
            self.markers[kind].setData([], [])
            self.grids[kind].set_images(None)
            self.grids[kind].set_placeholder("")
            self.headers[kind].setText(kind)
        self.reference.setText("")

    def _decode(self) -> None:
        if self.showing_message:
            return
        sides = self._sides()
        n = self.count_box.currentData()
        models = [
            (name, s.model, prior_draws(n, s.model.config.latent_dim, self._seed))
            for name, s in zip(self.names(), sides.values(), strict=True)
        ]
        data = sides["1"].dataset
        train = data.train_images if data is not None else None
        reference = None
        if data is not None and len(data.test_images):
            idx = np.random.default_rng(0).choice(
                len(data.test_images), size=min(n, len(data.test_images)), replace=False
            )
            reference = display_images(data, np.sort(idx))
        for grid in self.grids.values():
            grid.set_images(None)
            grid.set_placeholder("decoding…")
        self.submit(
            "decode",
            decode_prior,
            models,
            [s.codes.mu for s in sides.values()],
            train,
            reference,
            inputs=tuple(side_scope(s) for s in self.slots()),
            on_result=self._on_batch,
            on_error=self._on_error,
        )

    def _on_batch(self, batch: PriorBatch) -> None:
        sides = self._sides()
        for pos, r in zip(POSITIONS, batch.results, strict=True):
            side = sides[pos]
            xy = side.latent_slice.project(r.z)
            self.markers[pos].setData(x=xy[:, 0], y=xy[:, 1])
            self.grids[pos].set_images(r.images)
            self.headers[pos].setText(prior_header(side.title, r, side.dataset))
        if batch.reference is not None:
            d = batch.reference.distance
            self.reference.setText(
                f"Yardstick: {len(d)} real test images lie at mean {d.mean():.2f} "
                f"(median {np.median(d):.2f}) from their nearest training image "
                "(L2 in pixel space, pixels in [0, 1])."
            )
        self.samplesReady.emit(batch)

    def _on_error(self, exc: Exception) -> None:
        for grid in self.grids.values():
            grid.set_images(None)
            grid.set_placeholder(f"Could not decode: {exc}")
