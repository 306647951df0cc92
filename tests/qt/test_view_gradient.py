"""The gradient-path view on the shipped shapes VAE, through real widgets."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import Qt, QThreadPool

from latentlab.core.session import K_DEFAULT, Session
from latentlab.qt.analysis.gradient import (
    GradientView,
    agreement,
    component_names,
    ratio_text,
)
from latentlab.qt.jobs import qt_workspace
from tests.qt import test_view_eps as eps_tests

# The shipped models, session and job runner of the ε view's tests, and its
# check that no singular transform is inverted (autouse).
shipped = eps_tests.shipped
session = eps_tests.session
jobs = eps_tests.jobs
no_singular_transforms = eps_tests.no_singular_transforms
show = eps_tests.show
wait_idle = eps_tests.wait_idle
assert_laid_out = eps_tests.assert_laid_out

REPEATS = 8  # 8 x 1024 samples: a fraction of a second on the shapes VAE


@pytest.fixture
def view(qtbot, session, jobs):
    v = GradientView(jobs)
    v.repeats = REPEATS
    show(qtbot, v, (1100, 900))
    wait_idle(qtbot, v, "variance", timeout=10000)
    wait_idle(qtbot, v, "table")
    assert v.result is not None and v.gradients is not None
    yield v
    v.shutdown()


# --- the verdict ----------------------------------------------------------------------


def test_agreement_is_measured_in_combined_standard_errors():
    names = component_names(2)
    assert names == ["∂/∂μ₁", "∂/∂μ₂", "∂/∂σ₁", "∂/∂σ₂"]
    same = agreement(
        [1.0, 2.0, 0.0, 0.0], [0.3, 0.4, 0, 0], [1.5, 1.0, 0, 0], [0.4, 0.3, 0, 0]
    )
    np.testing.assert_allclose(same.gaps, [1.0, 2.0, 0.0, 0.0])
    assert same.agree and same.worst == 1
    text = same.text(names)
    assert text.startswith("The two estimators agree")
    assert "2.0 SE, ∂/∂μ₂" in text

    # 3 combined SE apart is already too far.
    apart = agreement(
        [0.0, 5.0, 1.0, 1.0], [0.3, 1.0, 1, 1], [0.0, 0.0, 1.0, 1.0], [0.4, 0.0, 1, 1]
    )
    np.testing.assert_allclose(apart.gaps, [0.0, 5.0, 0.0, 0.0])
    assert not apart.agree and apart.beyond == 1
    text = apart.text(names)
    assert "do NOT agree" in text and "∂/∂μ₂ differs by 5.0" in text
    assert "1 of 4 components" in text
    assert not agreement([3.0], [0.6], [0.0], [0.8]).agree  # exactly 3 SE

    # Different values with no error at all cannot agree; NaN cannot be compared.
    exact = agreement([1.0], [0.0], [1.1], [0.0])
    assert not exact.agree and np.isinf(exact.gaps[0])
    assert "by ∞" in exact.text(["g"])
    broken = agreement([np.nan, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0])
    assert not broken.agree and not broken.comparable
    assert "cannot be compared" in broken.text(["a", "b"])
    assert ratio_text([120.0, 2000.0, 5000.0]) == "×2,000"
    assert ratio_text([1.5, 2.5, np.inf]) == "×2.0"


# --- what the view shows --------------------------------------------------------------


def test_variance_plot_data_shows_reparam_below_score_function(qtbot, view, session):
    res = view.result
    assert list(res.counts) == [1, 4, 16, 64, 256, 1024]
    assert (res.var_reparam < res.var_score).all(), (
        f"reparam {res.var_reparam} not below score {res.var_score}"
    )
    np.testing.assert_allclose(view.curves["reparam"].yData, res.var_reparam)
    np.testing.assert_allclose(view.curves["score"].yData, res.var_score)
    np.testing.assert_allclose(view.curves["score_b"].yData, res.var_score_baseline)
    np.testing.assert_allclose(view.ratio_curves["score"].yData, res.ratio)
    assert view.numbers.rowCount() == 6
    assert "median variance ratio" in view.ratio_label.text()
    assert ratio_text(res.ratio) in view.ratio_label.text()
    post = session.posterior()
    np.testing.assert_allclose(res.mu, post.mu0, rtol=1e-5)
    assert "lower than the score function's at every S" in view.status.text()
    # The verdict is the one the numbers beside it give.
    verdict = agreement(res.grad_reparam, res.se_reparam, res.grad_score, res.se_score)
    assert view.verdict.text() == verdict.text(component_names(2))
    assert "Both estimate the same gradient" not in view.status.text()
    assert view.means.rowCount() == 4
    assert view.means.item(0, 0).text() == "∂/∂μ₁"
    assert f"{res.grad_reparam[0]:+.4g}" in view.means.item(0, 1).text()
    # The autograd table: dz/dmu = 1 and dz/dsigma = eps for the session's samples.
    g = view.gradients
    s = post.samples
    np.testing.assert_array_equal(g.eps, s.eps)
    np.testing.assert_array_equal(g.dz_dmu, np.ones_like(s.eps))
    np.testing.assert_allclose(g.dz_dsigma, s.eps, rtol=1e-6)
    assert view.table.rowCount() == K_DEFAULT
    assert view.measure_button.isEnabled()


def test_the_table_follows_eps_and_the_variances_do_not(qtbot, view, session):
    result = view.result
    session.resample_eps()
    session.set_count(10)
    assert not view.busy("variance"), "new noise does not change the estimators"
    wait_idle(qtbot, view, "table")
    np.testing.assert_array_equal(view.gradients.eps, session.eps.eps)
    assert view.table.rowCount() == 10
    assert view.result is result
    # A table row spells out its sample.
    view.table.selectRow(3)
    g = view.gradients
    assert "sample 4:" in view.sample_line.text()
    assert f"{g.logp[3]:.1f} nats" in view.sample_line.text()


def test_an_ae_beside_it_does_not_remeasure(qtbot, view, session, shipped):
    result = view.result
    session.set_side(0, shipped["ae"])
    assert not view.busy("variance")
    assert view.result is result
    assert view.numbers.rowCount() == 6


def test_a_new_input_is_measured_and_a_stale_measurement_dropped(
    qtbot, view, session, jobs
):
    dropped = jobs.dropped
    session.pick(50)
    assert view.busy("variance") and view.result is None
    assert view.numbers.rowCount() == 0 and view.means.rowCount() == 0
    session.pick(51)  # while input 50 is measured
    wait_idle(qtbot, view, "variance", timeout=10000)
    wait_idle(qtbot, view, "table")
    assert jobs.dropped > dropped
    post = session.posterior()
    assert post.index == 51
    np.testing.assert_allclose(view.result.mu, post.mu0, rtol=1e-5)
    np.testing.assert_allclose(view.result.sigma, post.sigma0, rtol=1e-5)
    assert "#51" in view.status.text()
    np.testing.assert_array_equal(view.gradients.z, post.samples.z)


def test_measure_draws_new_noise(qtbot, view):
    first = view.result
    qtbot.mouseClick(view.measure_button, Qt.MouseButton.LeftButton)
    assert not view.measure_button.isEnabled()
    assert "Measuring on" in view.status.text()
    wait_idle(qtbot, view, "variance", timeout=10000)
    assert view.result is not first
    assert not np.array_equal(view.result.var_reparam, first.var_reparam)
    assert view.measure_button.isEnabled()


def test_while_the_vae_trains_only_measure_measures(qtbot, view, session):
    result = view.result
    session.update_side(1, training=True)  # a training snapshot arrives
    assert not view.busy("variance")
    assert view.result is result, "a snapshot keeps the figures shown"
    assert "The VAE is training" in view.status.text()
    assert "earlier snapshot" in view.status.text()
    qtbot.mouseClick(view.measure_button, Qt.MouseButton.LeftButton)
    session.update_side(1, training=True)  # the next snapshot, while measuring
    wait_idle(qtbot, view, "variance", timeout=10000)
    assert view.result is not result
    assert "a snapshot taken while training" in view.status.text()
    # Training ends: the final model is measured without asking.
    session.update_side(1, training=False)
    assert view.busy("variance")
    wait_idle(qtbot, view, "variance", timeout=10000)


def test_closing_mid_measurement_stops_the_job(qtbot, session, jobs):
    view = GradientView(jobs)  # 64 x 1024 samples: seconds
    show(qtbot, view)
    assert view.busy("variance"), "a measurement should be running"
    start = time.perf_counter()
    view.shutdown()
    assert QThreadPool.globalInstance().waitForDone(5000)
    stopped = time.perf_counter() - start
    qtbot.waitUntil(lambda: not view.busy("variance"), timeout=5000)
    assert view.result is None, "a cancelled measurement was shown"
    assert stopped < 2.0, f"the measurement ran on for {stopped:.1f} s"


# --- needs and laziness ---------------------------------------------------------------


def test_the_view_waits_for_a_vae_and_keeps_nothing_of_it(
    qtbot, view, session, shipped
):
    assert view.table.rowCount() > 0
    session.set_side(1, shipped["ae"])
    session.set_side(0, shipped["ae"])
    assert view.showing_message and "needs a VAE" in view.message.text()
    assert view.result is None and view.gradients is None
    assert view.table.rowCount() == 0 and view.numbers.rowCount() == 0
    assert view.means.rowCount() == 0 and view.verdict.text() == ""
    for curve in (*view.curves.values(), *view.ratio_curves.values()):
        assert curve.yData is None or len(curve.yData) == 0
    assert view.sample_line.text() == "" and view.ratio_label.text() == ""
    wait_idle(qtbot, view, "variance", timeout=10000)
    assert view.result is None
    session.set_side(1, shipped["vae"])
    assert not view.showing_message and view.busy("variance")


def test_a_hidden_view_does_no_work_until_shown(qtbot, session, jobs):
    view = GradientView(jobs)
    view.repeats = REPEATS
    qtbot.addWidget(view)
    session.pick(9)
    session.resample_eps()
    assert view.refresh_count == 0 and view.stale
    assert not view.busy("variance") and not view.busy("table")
    show(qtbot, view)
    assert view.refresh_count == 3, "one redraw, the table and one measurement"
    wait_idle(qtbot, view, "variance", timeout=10000)
    wait_idle(qtbot, view, "table")
    np.testing.assert_array_equal(view.gradients.eps, session.eps.eps)
    view.shutdown()


def test_a_non_finite_input_shows_why(qtbot, view, session, shipped):
    from latentlab.core.latent import Codes

    vae = shipped["vae"]
    mu = vae.codes.mu.copy()
    mu[:5] = np.nan
    session.update_side(1, codes=Codes(mu, vae.codes.sigma))
    session.pick(2)
    assert session.posterior() is None
    assert "finite" in view.status.text()
    assert view.table.rowCount() == 0 and view.result is None
    assert not view.measure_button.isEnabled()
    wait_idle(qtbot, view, "variance", timeout=10000)


def test_a_fresh_session_without_input(qtbot, shipped, no_threads_left):
    session = Session(seed=0)
    jobs = qt_workspace(session)
    view = GradientView(jobs)
    show(qtbot, view)
    assert view.showing_message and "needs a VAE" in view.message.text()
    view.shutdown()
    assert jobs.close(5000)


def test_nothing_overlaps_or_clips_at_1024x720(qtbot, view):
    assert_laid_out(qtbot, view)
    assert view.var_plot.height() >= 240 and view.table.height() >= 170


def test_the_log_plots_hold_no_text_item(qtbot, view):
    for plot in (view.var_plot, view.ratio_plot):
        assert eps_tests.text_items(plot) == []
    assert "median variance ratio" in view.ratio_label.text()
