"""Diagnostics: which latent units are used, where the codes sit against the
prior, and the marginal likelihood against the bound.

For each model shown (an AE, a VAE or both): the KL of each latent dim (VAE)
or the variance of each code dim (AE) as bars with "k of d active" (Burda et
al. 2016); the aggregated posterior q(z) as a heat map under the prior's 1σ,
2σ and 3σ circles with its holes (inside the 3σ disc, q(z) < 0.1 p(z)) in red;
the share of the prior's mass in holes and KL(q(z) ‖ p(z)); per-dim traversal
strips for latents wider than 2. Clicking a plane decodes there. These figures
are recomputed from every model change, training snapshots included. log p(x)
(quadrature for 2-D latents, importance sampling otherwise) is computed on
demand, with progress and Cancel. Every computation is in
:mod:`latentlab.core.analysis.diagnostics` and ``.likelihood``.

No ``pg.TextItem`` in the plots (see :mod:`latentlab.qt.analysis.eps`): every
text is a QLabel beside them.

One model's column (and the images of its plane) is
:mod:`~latentlab.qt.analysis.diagnostics_column`; the texts are written by
:mod:`latentlab.core.analysis.diagnostics_texts`.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.core.analysis.diagnostics import (
    HOLE_RADIUS,
    HOLE_RATIO,
    live_diagnostics,
)
from latentlab.core.analysis.diagnostics_texts import (
    bound_text,
    report_text,
    units_detail,
    units_summary,
)
from latentlab.core.analysis.likelihood import IS_K_DEFAULT, likelihood_report
from latentlab.core.analysis.planes import decode_at
from latentlab.core.session import model_scope, side_scope
from latentlab.qt.analysis.base import AnalysisView
from latentlab.qt.analysis.diagnostics_column import (
    _Column,
    density_image,
    holes_image,
)
from latentlab.qt.widgets.styles import HINT_STYLE, NOTE_STYLE, TITLE_STYLE, dim_name

if TYPE_CHECKING:
    from latentlab.core.analysis.diagnostics import LiveDiagnostics
    from latentlab.core.analysis.likelihood import LikelihoodReport
    from latentlab.core.session import Side
    from latentlab.core.workspace import Workspace

KINDS = ("AE", "VAE")
BAR_COLOUR = (31, 119, 180)
INACTIVE_COLOUR = (180, 180, 180)


def note_html(text: str) -> str:
    """A warning line as rich text, escaped."""
    return f"<span style='{NOTE_STYLE}'>{escape(text)}</span>"


class DiagnosticsView(AnalysisView):
    """KL per dim and active units, q(z) against the prior, log p(x).

    Signals
    -------
    liveReady(str)
        ``"AE"`` or ``"VAE"``: that model's live figures are shown.
    likelihoodReady(object)
        A :class:`LikelihoodReport` is shown.
    """

    key: ClassVar[str] = "diagnostics"
    title: ClassVar[str] = "Diagnostics"
    tooltip: ClassVar[str] = (
        "KL per dimension and active units, the aggregated posterior against the "
        "prior (holes), and log p(x) against the ELBO"
    )
    needs: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[tuple[str, ...]] = ("ae", "vae")
    figures: ClassVar[tuple[tuple[str, str], ...]] = (
        ("columns/AE/plane", "&Diagnostics, AE q(z) Plane…"),
        ("columns/VAE/plane", "Diagnostics, VAE q(z) Plane…"),
        ("columns/AE/units_plot", "Diagnostics, AE Code Variance…"),
        ("columns/VAE/units_plot", "Diagnostics, VAE KL per Dim…"),
    )

    liveReady = Signal(str)
    likelihoodReady = Signal(object)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self.live: dict[str, LiveDiagnostics] = {}
        self.report: LikelihoodReport | None = None
        self._build()

    def _build(self) -> None:
        body = self.body
        heading = QLabel("Diagnostics: units, the aggregated posterior, log p(x)", body)
        heading.setStyleSheet(TITLE_STYLE)
        hint = QLabel(
            "Measured on each model's test split. Active: Var over test images of "
            f"E_q[z_d] > 0.01 (Burda et al. 2016). Holes: q(z) < {HOLE_RATIO:g}·p(z) "
            f"inside the prior's {HOLE_RADIUS:g}σ disc — where prior samples land "
            "on codes no image has. Updated live while training; log p(x) on demand.",
            body,
        )
        hint.setWordWrap(True)
        hint.setStyleSheet(HINT_STYLE)
        self.columns = {kind: _Column(kind, body) for kind in KINDS}
        cols = QHBoxLayout()
        for kind in KINDS:
            cols.addWidget(self.columns[kind], 1)
            self.columns[kind].plane.latentClicked.connect(
                lambda x, y, kind=kind: self.decode_at(kind, x, y)
            )

        box = QGroupBox("VAE: marginal log-likelihood log p(x)", body)
        self.method_box = QComboBox(box)
        self.method_box.addItem("quadrature (2-D) / IS", "auto")
        self.method_box.addItem("importance sampling", "is")
        self.k_spin = QSpinBox(box)
        self.k_spin.setRange(1, 100_000)
        self.k_spin.setValue(IS_K_DEFAULT)
        self.k_spin.setToolTip("K: importance samples per image (IS only)")
        self.n_spin = QSpinBox(box)
        self.n_spin.setRange(1, 1_000_000)
        self.n_spin.setToolTip("How many test images (the first N)")
        self.compute_button = QPushButton("Compute log p(x)", box)
        self.cancel_button = QPushButton("Cancel", box)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar(box)
        self.progress.setRange(0, 1000)
        self.progress.setMinimumWidth(120)
        self.result_label = QLabel("", box)
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        self.result_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.result_label.setMinimumHeight(90)
        grid = QGridLayout(box)
        grid.addWidget(QLabel("estimator", box), 0, 0)
        grid.addWidget(self.method_box, 0, 1)
        grid.addWidget(QLabel("K", box), 0, 2)
        grid.addWidget(self.k_spin, 0, 3)
        grid.addWidget(QLabel("test images", box), 0, 4)
        grid.addWidget(self.n_spin, 0, 5)
        grid.addWidget(self.compute_button, 0, 6)
        grid.addWidget(self.cancel_button, 0, 7)
        grid.addWidget(self.progress, 1, 0, 1, 8)
        grid.addWidget(self.result_label, 2, 0, 1, 8)
        self.likelihood_box = box

        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(heading)
        layout.addWidget(hint)
        layout.addLayout(cols, 1)
        layout.addWidget(box)
        self.compute_button.clicked.connect(self.compute_likelihood)
        self.cancel_button.clicked.connect(self.cancel_likelihood)

    # --- AnalysisView ------------------------------------------------------------

    def missing(self) -> str | None:
        if self.side_for("ae") is None and self.side_for("vae") is None:
            return (
                f"{self.title} needs an autoencoder (AE) or a VAE.\n\nOpen one with "
                "File ▸ Open, drop a checkpoint on a panel of the Latent planes tab, "
                "or train an AE and a VAE with Train ▸ Train AE + VAE."
            )
        return None

    def refresh(self, changed: frozenset[str]) -> None:
        for kind in KINDS:
            role = kind.lower()
            side = self.side_for(role)
            if side is None:
                self.live.pop(kind, None)
                self.columns[kind].clear(f"{kind}: none shown")
                continue
            wide = side.latent_slice.latent_dim > 2
            if role in changed or (wide and "selection" in changed):
                self._submit_live(kind, side)
        vae = self.side_for("vae")
        self.likelihood_box.setEnabled(vae is not None)
        if "vae.model" in changed:  # not a save or a new slice: the same model
            self._reset_likelihood(vae)

    def clear(self) -> None:
        self.live.clear()
        for col in self.columns.values():
            col.clear()
        self._reset_likelihood(None)

    # --- live figures ------------------------------------------------------------

    def _traverse_mu(self, side: Side):
        index = self.session.selection.current
        mu = side.codes.mu
        if (
            index is None
            or not 0 <= index < len(mu)
            or not np.isfinite(mu[index]).all()
        ):
            index = 0
        return mu[index].copy() if len(mu) else None

    def _submit_live(self, kind: str, side: Side) -> None:
        col = self.columns[kind]
        col.header.setText(f"<b>{side.title}</b>")
        for w in (col.plane, col.key_label, col.units_plot, col.decode):
            w.setVisible(True)
        sl = side.latent_slice
        images = None
        if side.is_vae and side.dataset is not None:
            images = side.dataset.test_images
        self.submit(
            f"live.{kind}",
            live_diagnostics,
            side.model,
            side.codes,
            sl.dims,
            images,
            self._traverse_mu(side),
            inputs=(side_scope(self.slot_for(kind.lower())), "selection"),
            on_result=lambda live, kind=kind: self._on_live(kind, live),
            on_error=lambda exc, kind=kind: self.columns[kind].figures.setText(
                note_html(f"Could not measure: {exc}")
            ),
        )

    def _on_live(self, kind: str, live: LiveDiagnostics) -> None:
        side = self.side_for(kind.lower())
        if side is None:
            return
        self.live[kind] = live
        col = self.columns[kind]
        u = live.units
        vae = kind == "VAE"
        heights = u.kl_per_dim if vae else u.mu_variance
        brushes = [pg.mkBrush(BAR_COLOUR if a else INACTIVE_COLOUR) for a in u.active]
        col.bars.setOpts(
            x=np.arange(1, u.latent_dim + 1),
            height=np.asarray(heights, float),
            width=0.7,
            brushes=brushes,
        )
        col.units_plot.setXRange(0.4, u.latent_dim + 0.6, padding=0)
        step = max(1, u.latent_dim // 10)
        ticks = [(d + 1, dim_name(d)) for d in range(0, u.latent_dim, step)]
        col.units_plot.getAxis("bottom").setTicks([ticks])
        col.units_plot.setYRange(0, max(float(np.max(heights)), 1e-3) * 1.1, padding=0)
        col.units_label.setText(units_summary(live, vae))
        col.detail_label.setText(units_detail(live, vae))
        sl = side.latent_slice
        col.plane.set_axis_labels(dim_name(sl.dims[0]), dim_name(sl.dims[1]))
        agg = live.aggregate
        lines = []
        if agg is not None:
            r = agg.rect
            rect = QRectF(r.x0, r.y0, r.width, r.height)
            img = density_image(agg)
            col.density.setImage(
                img,
                levels=(float(img.min()), float(img.max()) + 1e-9),
                autoLevels=False,
            )
            col.density.setRect(rect)
            col.holes.setImage(holes_image(agg), levels=(0, 255), autoLevels=False)
            col.holes.setRect(rect)
            if not col.framed or not side.training:
                col.plane.fit(r)  # while training, keep the user's zoom
                col.framed = True
            others = ""
            if agg.latent_dim > 2:
                others = (
                    f" (the plane of {dim_name(sl.dims[0])}, {dim_name(sl.dims[1])}; "
                    f"the other {agg.latent_dim - 2} dims marginalised)"
                )
            lines += [
                f"<b>{escape(agg.hole_text)}</b>",
                f"<b>{escape(agg.kl_text)}</b>",
                f"q(z): {escape(agg.method + others)}",
            ]
        if live.path_holes is not None:
            lines.insert(0, f"<b>{escape(live.path_holes.text)}</b>")
        if live.bound is not None:
            lines.append(bound_text(live))
        col.figures.setText("<br>".join(lines))
        if live.traversals is not None:
            t = live.traversals
            col.trav.set_images(t.images.reshape(-1, *t.images.shape[2:]))
            col.trav.show()
            change = ", ".join(
                f"{dim_name(d)} {c:.3f}" for d, c in enumerate(t.change[:12])
            )
            col.trav_label.setText(
                f"Traversals: row d decodes μ(x) of the picked input with z_d swept "
                f"{t.values[0]:g} … {t.values[-1]:g} ({len(t.values)} steps). Mean "
                f"pixel range along each row: {change} (≈ 0: the dim changes nothing)"
            )
        else:
            col.trav.hide()
            col.trav_label.setText(
                "Traversal strips are shown for latents wider than 2; this plane "
                "shows both dims."
                if u.latent_dim <= 2
                else ""
            )
        self.liveReady.emit(kind)

    def decode_at(self, kind: str, x: float, y: float) -> None:
        """Decode plane point (x, y) of ``kind``'s plane and say where it lies."""
        side = self.side_for(kind.lower())
        if side is None or self.showing_message:
            return
        col = self.columns[kind]
        # The q(z) plane is drawn over two latent dims, also when the panel
        # shows a PCA plane.
        decoded = decode_at(side.model, side.latent_slice.dims_only(), x, y)
        col.decode.show_decoded(decoded.z, decoded.image)
        col.plane.set_crosshair(x, y)
        live = self.live.get(kind)
        if live is None or live.aggregate is None:
            col.decode_label.setText("")
            return
        q = live.aggregate.q_at(x, y)
        p = float(np.exp(-0.5 * (x * x + y * y)) / (2 * np.pi))
        inside = x * x + y * y <= HOLE_RADIUS**2
        where = "in a hole" if inside and q < HOLE_RATIO * p else "not a hole"
        if not inside:
            where = f"outside the {HOLE_RADIUS:g}σ disc"
        col.decode_label.setText(f"q(z)/p(z) = {q / p:.3g}: {where}")

    # --- log p(x) ----------------------------------------------------------------

    def _reset_likelihood(self, vae: Side | None) -> None:
        if self.busy("likelihood"):
            self.jobs.cancel(f"{self.key}.likelihood")
        self.report = None
        self.progress.setValue(0)
        self.compute_button.setEnabled(vae is not None)
        self.cancel_button.setEnabled(False)
        if vae is None or vae.dataset is None:
            self.result_label.setText("")
            return
        n = len(vae.dataset.test_images)
        self.n_spin.setMaximum(n)
        self.n_spin.setValue(n)
        d = vae.latent_slice.latent_dim
        how = (
            "exact by quadrature over the plane (adaptive, to &lt; 0.05 nats/image)"
            if d == 2
            else "by importance sampling with q(z|x), K samples per image"
        )
        self.result_label.setText(
            f"log p(x) of the VAE on its test split: {how}. Press Compute."
        )

    def compute_likelihood(self) -> None:
        """Start log p(x) for the first N test images of the VAE shown."""
        s = self.slot_for("vae")
        if s is None:
            return
        side = self.session.sides[s]
        if side.dataset is None:
            return
        images = side.dataset.test_images[: self.n_spin.value()]
        self.report = None
        self.progress.setValue(0)
        self.compute_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.result_label.setText(f"computing log p(x) on {len(images):,} images…")
        name = side.dataset.name
        self.submit(
            "likelihood",
            likelihood_report,
            side.model,
            images,
            k=self.k_spin.value(),
            method=self.method_box.currentData(),
            inputs=(model_scope(s),),
            on_result=lambda r: self._on_report(r, len(images), name),
            on_progress=lambda f: self.progress.setValue(int(1000 * f)),
            on_error=lambda exc: self.result_label.setText(
                note_html(f"Could not compute: {exc}")
            ),
            on_finish=self._on_likelihood_finished,
        )

    def cancel_likelihood(self) -> None:
        """Stop the log p(x) job at its next step."""
        self.jobs.cancel(f"{self.key}.likelihood")
        self.result_label.setText("Cancelled.")

    def _on_report(self, report: LikelihoodReport, n: int, dataset: str) -> None:
        self.report = report
        self.progress.setValue(1000)
        self.result_label.setText(report_text(report, n, dataset))
        self.likelihoodReady.emit(report)

    def _on_likelihood_finished(self) -> None:
        self.compute_button.setEnabled(self.side_for("vae") is not None)
        self.cancel_button.setEnabled(False)
        if self.report is None and "Cancelled" not in self.result_label.text():
            if "Could not" not in self.result_label.text():
                self.result_label.setText(
                    "The model changed while log p(x) was computed: compute again."
                )

    def shutdown(self) -> None:
        """The window closes: stop the jobs."""
        super().shutdown()
        self.jobs.cancel(f"{self.key}.likelihood")
