"""The gradient path: autograd through ``z = μ + σ ⊙ ε``, and estimator variances.

The view differentiates the session's current samples (:meth:`Session.posterior`,
the same ones the ε-resampling tab draws) and measures, for the picked input,
the variance of the reparameterization and score-function gradient estimators
(:mod:`latentlab.core.reparam`). Whether the two estimators agree is computed
from the pooled means and standard errors shown beside the verdict
(:func:`agreement`), never asserted.

This module runs the view's jobs and shows their results. Its widgets are built
in :mod:`~latentlab.qt.analysis.gradient_layout` (the diagram is
:mod:`~latentlab.qt.analysis.gradient_diagram`) and its sentences are written
by :mod:`latentlab.core.analysis.gradient_texts`.

The log-log plots carry no ``TextItem``: the ratio labels are a line under the
plot (a ``TextItem`` on a plot whose transform is singular, e.g. one that has no
size yet, assigns ``ndarray.shape``, which numpy 2.5 deprecates).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableWidgetItem, QWidget

from latentlab.core.analysis.gradient import (
    IdentityResult,
    RatioScan,
    identity_for_input,
    scan_sigma,
)
from latentlab.core.analysis.gradient_texts import (
    identity_html,
    operating_point,
    ratio_text,
    scan_summary,
    variance_summary,
    without_html,
)
from latentlab.core.analysis.identity import Agreement, agreement, component_names
from latentlab.core.analysis.texts import pair
from latentlab.core.reparam import DEFAULT_COUNTS
from latentlab.core.session import K_MAX, describe, model_scope
from latentlab.qt.analysis.base import AnalysisView
from latentlab.qt.analysis.gradient_layout import (
    SCORE_BASE_RGB,
    SCORE_RGB,
    GradientLayout,
)
from latentlab.qt.widgets.plot_style import set_log_ticks
from latentlab.qt.widgets.styles import NOTE_STYLE, dim_name, shown_dims

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.latent import PosteriorSamples
    from latentlab.core.reparam import EstimatorVariance, PathGradients
    from latentlab.core.session import Posterior, Side
    from latentlab.core.workspace import Workspace

VARIANCE_REPEATS = 64


def _sci(v: float) -> str:
    return f"{v:.3g}" if 1e-2 <= abs(v) < 1e4 else f"{v:.2e}"


# --- the view -------------------------------------------------------------------------


class GradientView(GradientLayout, AnalysisView):
    """The gradient path of the picked input's samples, and estimator variances.

    Signals
    -------
    gradientsReady(object)
        ``PathGradients`` for the session's current samples, shown.
    varianceReady(object)
        ``EstimatorVariance`` for the picked input, shown.

    The variances are measured again when the VAE or the input changes, but not
    automatically while the VAE trains (its weights change twice a second):
    then **Measure** measures the current snapshot.
    """

    key: ClassVar[str] = "gradient"
    choice_key: ClassVar[str] = "eps"  # it differentiates the ε tab's samples
    title: ClassVar[str] = "Gradient path"
    tooltip: ClassVar[str] = "Autograd through z = μ + σ ⊙ ε; estimator variances"
    needs: ClassVar[tuple[str, ...]] = ("vae",)
    figures: ClassVar[tuple[tuple[str, str], ...]] = (
        ("var_plot", "&Variance Plot…"),
        ("ratio_plot", "Variance Ra&tio Plot…"),
    )

    gradientsReady = Signal(object)
    varianceReady = Signal(object)
    ROWS_SHOWN = K_MAX
    repeats: int = VARIANCE_REPEATS
    """Independent estimates at the largest sample count (tests use fewer)."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(workspace, parent)
        self._seed = 0
        """The variance measurement shown."""
        self.gradients: PathGradients | None = None
        """The path gradients shown (of :attr:`gradient_samples`)."""
        self.gradient_samples: PosteriorSamples | None = None
        self._dims: list[int] = []
        self._identity: IdentityResult | None = None
        self._scan: RatioScan | None = None
        self._setting: tuple[npt.NDArray[np.float32], ...] | None = None
        """The ε tab's μ offset and σ scales the variances were requested at."""
        self._build()

    @property
    def result(self) -> EstimatorVariance | None:
        """The estimators' variances shown (kept by the workspace with the
        input and model they were measured for)."""
        return self.workspace.result("gradient.variance")

    # --- the identity and the σ scan ----------------------------------------------

    @property
    def identity(self) -> IdentityResult | None:
        """The latest identity check shown."""
        return self._identity

    def check_identity(self) -> None:
        """Measure both sides of the identity for the current μ, σ (background)."""
        side, post = self.side_for("vae"), self.session.posterior(self.slot_for("vae"))
        if side is None or post is None or self.showing_message:
            return
        self.identity_label.setText("measuring both sides…")
        self.without_label.setText("")
        self.submit(
            "identity",
            identity_for_input,
            side.model,
            side.dataset,
            post.index,
            post.samples.mu,
            post.samples.sigma,
            self.identity_k.value(),
            self._seed,
            self.without_box.isChecked(),
            inputs=(model_scope(post.side), "selection", "eps"),
            on_result=self._show_identity,
            on_error=self._on_error,
        )

    def train_without_trick(self) -> None:
        """Train a VAE like this tab's with and without the trick, live."""
        slot = self.slot_for("vae")
        if slot is None or self.showing_message:
            return
        self.trick.started(self.session.sides[slot].dataset)
        self.run(
            self.workspace.train_without_trick,
            self.trick.epochs.value(),
            slot=slot,
            on_progress=self.trick.on_progress,
            on_result=self.trick.on_result,
            on_error=self.trick.on_error,
            on_finish=self.trick.on_finish,
        )

    def _show_identity(self, res: IdentityResult) -> None:
        self._identity = res
        names = component_names(len(res.check.lhs) // 2)
        self.identity_label.setText(identity_html(res, names))
        self.without_label.setText(without_html(res, names))

    def scan(self) -> None:
        """Scan the variance ratio over scales of the tab's σ for the current
        input (at the tab's μ)."""
        side, post = self.side_for("vae"), self.session.posterior(self.slot_for("vae"))
        if side is None or post is None or self.showing_message:
            return
        self.scan_label.setText("scanning σ…")
        self.submit(
            "scan",
            scan_sigma,
            side.model,
            side.dataset,
            post.index,
            post.samples.mu,
            post.samples.sigma,
            on_progress=lambda done: self.scan_label.setText(
                f"scanning σ… {100 * done:.0f}%"
            ),
            inputs=(model_scope(post.side), "selection", "eps"),
            on_result=self._show_scan,
            on_error=self._on_error,
        )

    def _show_scan(self, scan: RatioScan) -> None:
        self._scan = scan
        self.scan_curves["score"].setData(scan.mean_sigma, scan.ratio)
        self.scan_curves["score_b"].setData(scan.mean_sigma, scan.ratio_baseline)
        # A tick at each σ measured, labelled in σ's units (log axis: log10).
        self.scan_plot.getAxis("bottom").setTicks(
            [[(float(np.log10(v)), f"{v:.3g}") for v in scan.mean_sigma], []]
        )
        self._fit_ratio_axis(self.scan_plot, scan.ratio, scan.ratio_baseline)
        here = float(np.mean(scan.sigma))
        self.scan_here.setPos(float(np.log10(here)) if here > 0 else 0.0)
        self.scan_here.setVisible(here > 0)
        self.scan_label.setText(scan_summary(scan))

    def _clear_identity(self) -> None:
        self._identity = None
        self._scan = None
        self.identity_label.setText(
            "Press Check the identity to measure both sides for this input."
        )
        self.without_label.setText("")
        self.scan_label.setText("")
        for curve in self.scan_curves.values():
            curve.setData([], [])
        self.scan_plot.getAxis("bottom").setTicks(None)
        self.scan_plot.getAxis("left").setTicks(None)
        self.scan_here.setVisible(False)

    # --- refresh ------------------------------------------------------------------

    def refresh(self, changed: frozenset[str]) -> None:
        side = self.side_for("vae")
        vae_changed = "vae.model" in changed  # not a save or a new slice
        new_input = "selection" in changed
        self.heading.setText(f"Gradient path · {side.title}")
        self.measure_button.setToolTip(
            f"Redraw the {self.repeats} × {max(DEFAULT_COUNTS)} noise samples and "
            "measure both estimators again"
        )
        post = self.session.posterior(self.slot_for("vae"))
        if post is None:
            self._clear_results()
            self.status.setText(
                "Pick an input whose code is finite (ε-resampling tab, or Ctrl+click "
                "a point in a latent plane)."
            )
            self.measure_button.setEnabled(False)
            return
        e = self.session.eps
        self.point_label.setText(
            operating_point(
                post.samples.mu,
                post.samples.sigma,
                post.mu0,
                post.sigma0,
                e.offset,
                e.scale,
            )
        )
        self._request_table(side, post)
        if changed & {"selection", "eps", "vae.model"}:
            self._clear_identity()  # measured at another μ, σ or model
        # The variances are measured at the tab's μ, σ: the ε tab's offset and
        # σ scales (a new draw of ε alone changes neither).
        moved = self._setting is None or not all(
            np.array_equal(a, b)
            for a, b in zip(self._setting, (e.offset, e.scale), strict=True)
        )
        if new_input or moved or (vae_changed and not side.training):
            self._clear_variance()  # measured for another input, μ, σ or model
        if not (new_input or vae_changed or moved):
            return
        if side.training:
            shown = (
                " The figures were measured on an earlier snapshot."
                if self.result is not None
                else ""
            )
            self.status.setText(
                "The VAE is training: its weights change twice a second. Press "
                "Measure to measure the current snapshot." + shown
            )
            self.measure_button.setEnabled(not self.busy("variance"))
            return
        self._measure(side, post)

    def _request_table(self, side: Side, post: Posterior) -> None:
        s = post.samples
        self.run(
            self.workspace.gradient_table,
            slot=post.side,
            on_result=lambda g, s=s, side=side: self._show_gradients(side, s, g),
            on_error=self._on_error,
        )

    def remeasure(self) -> None:
        """Measure again with new noise (also while the VAE trains)."""
        side, post = self.side_for("vae"), self.session.posterior(self.slot_for("vae"))
        if side is None or post is None or self.showing_message:
            return
        self._seed += 1
        self._measure(side, post)

    def _measure(self, side: Side, post: Posterior) -> None:
        """Measure the variances at the tab's μ, σ (the ε tab's)."""
        label = describe(side.dataset, post.index)
        e = self.session.eps
        self._setting = (e.offset.copy(), e.scale.copy())
        pool = self.repeats * max(DEFAULT_COUNTS)
        self.status.setText(f"Measuring on {pool:,} samples of ε for input {label}…")
        self.status.setStyleSheet("")
        self.measure_button.setEnabled(False)
        # While training, the snapshot measured is replaced twice a second; its
        # result is still shown (and said to be of a snapshot) until the input
        # or the model is replaced.
        self.run(
            self.workspace.measure_gradient,
            self._seed,
            self.repeats,
            slot=post.side,
            # passed on to measure_variances: the tab's μ, σ, not the encoder's
            mu=post.samples.mu.copy(),
            sigma=post.samples.sigma.copy(),
            on_result=lambda res, label=label, t=side.training: self._show_variance(
                res, label, t
            ),
            on_error=self._on_error,
            on_finish=lambda: self.measure_button.setEnabled(not self.busy("variance")),
        )

    # --- results ------------------------------------------------------------------

    def _show_gradients(
        self, side: Side, s: PosteriorSamples, g: PathGradients
    ) -> None:
        self.gradients, self.gradient_samples = g, s
        sl = side.latent_slice.dims_only()
        dims = shown_dims(sl.latent_dim, sl.dims)

        def cell(values: npt.NDArray[np.float32], i: int) -> str:
            return " ".join(f"{values[i, d]:+.3g}" for d in dims)

        n = min(len(g.z), self.ROWS_SHOWN)
        row = max(self.table.currentRow(), 0)
        self.table.setUpdatesEnabled(False)
        self.table.setRowCount(n)
        red = QColor(190, 20, 20)
        for i in range(n):
            cells = (
                cell(g.eps, i),
                cell(g.z, i),
                cell(g.dz_dmu, i),
                cell(g.dz_dsigma, i),
                cell(g.dlogp_dmu, i),
                cell(g.dlogp_dsigma, i),
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j in (2, 3):
                    item.setForeground(red)
                self.table.setItem(i, j, item)
        self.table.setUpdatesEnabled(True)
        names = ", ".join(dim_name(d) for d in dims)
        self.table.setToolTip(f"Each cell lists the shown dims ({names})")
        self._dims = dims
        self.show_sample(min(row, n - 1))
        self.gradientsReady.emit(g)

    def show_sample(self, i: int) -> None:
        """Spell out sample ``i``'s forward values and local derivatives."""
        g, s = self.gradients, self.gradient_samples
        if g is None or s is None:
            return
        i = min(max(i, 0), len(g.z) - 1)
        dims = self._dims
        if self.table.currentRow() != i:
            self.table.selectRow(i)
        self.sample_line.setText(
            f"sample {i + 1}: <span style='color:#c81414'>μ = {pair(s.mu[dims])}"
            f"</span>, <span style='color:#a05a00'>σ = {pair(s.sigma[dims])}</span>"
            f", <span style='color:#1e64ff'>ε = {pair(g.eps[i, dims])}</span> → "
            f"z = {pair(g.z[i, dims])} → log p(x|z) = {g.logp[i]:.1f} nats"
        )

    def _show_variance(
        self, res: EstimatorVariance, label: str, snapshot: bool
    ) -> None:
        c = res.counts.astype(float)
        self.curves["reparam"].setData(c, res.var_reparam)
        self.curves["score"].setData(c, res.var_score)
        self.curves["score_b"].setData(c, res.var_score_baseline)
        self.ratio_curves["score"].setData(c, res.ratio)
        self.ratio_curves["score_b"].setData(c, res.ratio_baseline)
        self._fit_ratio_axis(self.ratio_plot, res.ratio, res.ratio_baseline)
        self.ratio_label.setText(
            "median variance ratio: "
            f"<span style='color:rgb{SCORE_RGB}'>■</span> no baseline "
            f"{ratio_text(res.ratio)} &nbsp; "
            f"<span style='color:rgb{SCORE_BASE_RGB}'>■</span> baseline f(μ) "
            f"{ratio_text(res.ratio_baseline)}"
        )
        self.numbers.setRowCount(len(c))
        for i in range(len(c)):
            row = (
                str(int(c[i])),
                str(int(res.n_estimates[i])),
                _sci(res.var_reparam[i]),
                _sci(res.var_score[i]),
                _sci(res.var_score_baseline[i]),
                f"{res.ratio[i]:,.0f}× / {res.ratio_baseline[i]:,.1f}×",
            )
            for j, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.numbers.setItem(i, j, item)
        verdict = agreement(
            res.grad_reparam, res.se_reparam, res.grad_score, res.se_score
        )
        names = component_names(len(res.mu))
        self._show_means(res, verdict, names)
        self.verdict.setText(verdict.text(names))
        self.verdict.setStyleSheet("" if verdict.agree else NOTE_STYLE)
        when = " (a snapshot taken while training)" if snapshot else ""
        self.status.setText(
            f"Input {label}{when}, μ = {pair(res.mu)}, σ = {pair(res.sigma)}. "
            + variance_summary(res)
        )
        self.varianceReady.emit(res)

    @staticmethod
    def _fit_ratio_axis(plot, *ratios: npt.NDArray[np.float64]) -> None:
        """Show the ratios with a margin, the log axis labelled in ratios."""
        values = np.concatenate(ratios)
        values = values[np.isfinite(values) & (values > 0)]
        if len(values):
            lo = float(np.log10(values.min())) - 0.3
            hi = float(np.log10(values.max())) + 0.3
            plot.setYRange(lo, hi, padding=0)
            set_log_ticks(plot, "left", lo, hi)

    def _show_means(
        self, res: EstimatorVariance, verdict: Agreement, names: Sequence[str]
    ) -> None:
        n = len(names)
        self.means.setRowCount(n)
        for j in range(n):
            gap = verdict.gaps[j]
            cells = (
                names[j],
                f"{res.grad_reparam[j]:+.4g} ± {res.se_reparam[j]:.2g}",
                f"{res.grad_score[j]:+.4g} ± {res.se_score[j]:.2g}",
                "?" if np.isnan(gap) else f"{gap:.1f} SE",
            )
            for k, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not gap < verdict.threshold:
                    item.setForeground(QColor(190, 20, 20))
                self.means.setItem(j, k, item)

    def _on_error(self, exc: Exception) -> None:
        self.status.setText(f"Could not compute: {exc}")
        self.status.setStyleSheet(NOTE_STYLE)

    # --- clearing -----------------------------------------------------------------

    def _clear_variance(self) -> None:
        self.workspace.forget("gradient.variance")
        for curve in (*self.curves.values(), *self.ratio_curves.values()):
            curve.setData([], [])
        self.ratio_label.setText("")
        self.numbers.setRowCount(0)
        self.means.setRowCount(0)
        self.verdict.setText("")

    def _clear_results(self) -> None:
        self._clear_identity()
        self._setting = None
        self.point_label.setText("")
        self.gradients = self.gradient_samples = None
        self.table.setRowCount(0)
        self.sample_line.setText("")
        self._clear_variance()

    def clear(self) -> None:
        self._clear_results()
        self.heading.setText("Gradient path")
        self.status.setText("")
        self.status.setStyleSheet("")

    def shutdown(self) -> None:
        """The window closes: stop a running measurement."""
        super().shutdown()
        for kind in ("table", "variance"):
            self.jobs.cancel(f"{self.key}.{kind}")
