"""Issue 28 on the Gradient path tab and the plots' axes, through real widgets:
one σ per tab, stated on it (2); the diagram's labels apart (4); the σ scan's
axis and the planes' axes in the data's units (12)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF

from latentlab.core.analysis.texts import pair
from latentlab.qt.analysis.gradient import GradientView
from latentlab.qt.analysis.gradient_diagram import ComputationDiagram
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget
from tests.qt import test_view_eps as eps_tests

shipped = eps_tests.shipped
session = eps_tests.session
jobs = eps_tests.jobs
no_singular_transforms = eps_tests.no_singular_transforms
show = eps_tests.show
wait_idle = eps_tests.wait_idle


@pytest.fixture
def view(qtbot, session, jobs):
    v = GradientView(jobs)
    v.repeats = 4
    show(qtbot, v, (1100, 900))
    wait_idle(qtbot, v, "variance", timeout=10000)
    wait_idle(qtbot, v, "table")
    assert v.result is not None
    yield v
    v.shutdown()


def _scale_sigma(qtbot, view, session, k: float) -> None:
    session.set_sigma_scale(0, k)
    session.set_sigma_scale(1, k)
    wait_idle(qtbot, view, "table")
    wait_idle(qtbot, view, "variance", timeout=10000)


# --- defect 2: one σ per tab ----------------------------------------------------------


def test_every_figure_uses_the_eps_tabs_sigma_and_says_so(qtbot, view, session):
    _scale_sigma(qtbot, view, session, 8.0)
    post = session.posterior()
    mu, sigma = post.samples.mu, post.samples.sigma
    np.testing.assert_allclose(sigma, post.sigma0 * 8, rtol=1e-6)
    # The stated σ, once, at the top: the ε tab's, and how it was set.
    point = view.point_label.text()
    assert f"σ = {pair(sigma)}" in point and "σ(x) × 8" in point
    # The samples' line, the variance study and the pooled means: the same σ.
    assert f"σ = {pair(sigma)}" in view.sample_line.text()
    res = view.result
    assert res is not None, "the variances were measured again at the new σ"
    np.testing.assert_allclose(res.sigma, sigma, rtol=1e-6)
    np.testing.assert_allclose(res.mu, mu, rtol=1e-6)
    assert f"σ = {pair(sigma)}" in view.status.text()
    assert f"{res.grad_reparam[0]:+.4g}" in view.means.item(0, 1).text()

    # The identity block names the μ, σ it was measured at: the same.
    view.identity_k.setValue(64)
    view.check_identity()
    qtbot.waitUntil(lambda: view.identity is not None, timeout=10000)
    np.testing.assert_array_equal(view.identity.sigma, sigma)
    assert f"σ = {pair(sigma)}" in view.identity_label.text()

    # The σ scan scales this σ (its ×1 point is the tab's σ).
    view.scan()
    qtbot.waitUntil(lambda: view._scan is not None, timeout=30000)
    scan = view._scan
    np.testing.assert_array_equal(scan.sigma, sigma)
    one = list(scan.scales).index(1.0)
    assert scan.mean_sigma[one] == pytest.approx(float(np.mean(sigma)))
    assert view.scan_here.isVisible()
    assert view.scan_here.value() == pytest.approx(np.log10(np.mean(sigma)))


def test_a_new_draw_of_eps_alone_does_not_remeasure(qtbot, view, session):
    _scale_sigma(qtbot, view, session, 2.0)
    result = view.result
    session.resample_eps()
    wait_idle(qtbot, view, "table")
    assert not view.busy("variance")
    assert view.result is result
    # Back to σ(x): measured again, at σ(x).
    _scale_sigma(qtbot, view, session, 1.0)
    post = session.posterior()
    assert view.result is not result
    np.testing.assert_allclose(view.result.sigma, post.sigma0, rtol=1e-6)
    assert "(σ(x))," in view.point_label.text()


# --- defect 12: axes in the data's units ----------------------------------------------


def test_the_scan_axis_is_ticked_at_each_sigma_measured(qtbot, view, session):
    view.scan()
    qtbot.waitUntil(lambda: view._scan is not None, timeout=30000)
    scan = view._scan
    lo, hi = np.log10(scan.mean_sigma.min()), np.log10(scan.mean_sigma.max())
    ticks = view.scan_plot.getAxis("bottom")._tickLevels[0]
    inside = [(x, label) for x, label in ticks if lo - 1e-9 <= x <= hi + 1e-9]
    assert len(inside) == len(scan.scales) >= 4, ticks
    for x, label in inside:
        assert label == f"{10**x:.3g}"
    # The S axes keep their counts.
    labels = [t[1] for t in view.var_plot.getAxis("bottom")._tickLevels[0]]
    assert labels == ["1", "4", "16", "64", "256", "1024"]
    # Its ratio axis: plain numbers over the ratios shown.
    y = view.scan_plot.getAxis("left")._tickLevels[0]
    assert len(y) >= 2 and all("·" not in label for _, label in y)


def test_a_zoomed_plane_labels_its_axes_in_the_datas_units(qtbot):
    plane = LatentPlaneWidget()
    qtbot.addWidget(plane)
    plane.resize(400, 400)
    plane.show()
    qtbot.waitExposed(plane)
    plane.getPlotItem().getViewBox().setRange(
        xRange=(-0.0006, 0.0002), yRange=(-0.0004, 0.0004), padding=0
    )
    qtbot.wait(50)
    for name in ("bottom", "left"):
        axis = plane.getAxis(name)
        assert axis.autoSIPrefixScale == 1.0
        assert "x1e" not in axis.labelString() and "(" not in axis.labelString()
        assert axis.tickStrings([-0.0006, 0.0002], 1.0, 0.0002) == ["-0.0006", "0.0002"]


# --- defect 4: the diagram's labels ---------------------------------------------------


def _crosses(a: QPointF, b: QPointF, r: QRectF) -> bool:
    return any(
        r.contains(a + (b - a) * t) for t in np.linspace(0.0, 1.0, 400, dtype=float)
    )


@pytest.mark.parametrize("size", [(520, 200), (590, 200), (700, 230), (900, 260)])
def test_the_diagram_labels_sit_apart_from_each_other_and_the_arrows(qtbot, size):
    d = ComputationDiagram()
    qtbot.addWidget(d)
    d.resize(*size)
    lay = d.layout_at()
    labels = {name: r for name, (r, _, _) in lay.labels.items()}
    assert set(labels) == {"dz_dmu", "dz_dsigma", "eps_note"}
    for name, r in labels.items():
        assert QRectF(0, 0, *size).contains(r), f"{name} leaves the widget at {size}"
        for other, r2 in labels.items():
            assert other == name or not r.intersects(r2), f"{name} runs into {other}"
        for key, box in lay.boxes.items():
            assert not r.intersects(box), f"{name} covers the node {key}"
        for edge, (a, b) in lay.edges.items():
            assert not _crosses(a, b, r), f"the arrow {edge} crosses {name}"
    # σ's derivative is on σ's side of the dashed ε arrow, ε's note on ε's.
    a, b = lay.edges[("eps", "z")]
    assert labels["dz_dsigma"].right() < min(a.x(), b.x())
    assert labels["eps_note"].left() > lay.boxes["eps"].right()
    assert labels["dz_dsigma"].left() > lay.boxes["sigma"].right()
    d.grab()  # paints what was checked


def test_log_axes_are_labelled_in_plain_numbers_at_any_span():
    from latentlab.qt.widgets.plot_style import log_ticks

    # A ratio of 5 … 20: a few plain labels, no crowd of minor ones.
    assert [t[1] for t in log_ticks(np.log10(5), np.log10(20))] == [
        "5",
        "6",
        "8",
        "10",
        "15",
        "20",
    ]
    assert [t[1] for t in log_ticks(0.7, 1.6)] == ["10", "20", "30"]
    assert [t[1] for t in log_ticks(0.9, 3.3)] == [
        "10",
        "20",
        "50",
        "100",
        "200",
        "500",
        "1,000",
    ]
    for lo, hi in [(-1.5, 5.5), (-3.2, 0.1), (0.0, 12.0)]:
        ticks = log_ticks(lo, hi)
        assert 2 <= len(ticks) <= 9
        for x, label in ticks:
            assert lo <= x <= hi
            assert float(label.replace(",", "")) == pytest.approx(10**x, rel=1e-9)
