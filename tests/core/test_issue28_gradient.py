"""Issue 28, defect 2: the Gradient path has one σ, the ε-resampling tab's, and
says which (no Qt here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentlab.core.analysis.gradient import (
    identity_for_input,
    measure_variances,
    scan_sigma,
)
from latentlab.core.analysis.gradient_texts import (
    identity_html,
    operating_point,
    scan_summary,
)
from latentlab.core.analysis.identity import component_names
from latentlab.core.analysis.texts import pair
from latentlab.core.workspace import Workspace

MODELS = Path(__file__).resolve().parents[2] / "models"


def _run(gen):
    try:
        while True:
            next(gen)
    except StopIteration as done:
        return done.value


def _scaled_workspace() -> Workspace:
    """The shipped shapes VAE with an input picked and σ × 8 along both dims."""
    ws = Workspace()
    ws.open(MODELS / "shapes-vae-2d.pt")
    ws.pick(4)
    ws.session.set_sigma_scale(0, 8.0)
    ws.session.set_sigma_scale(1, 8.0)
    return ws


def test_the_variance_study_is_measured_at_the_sigma_it_is_given():
    ws = _scaled_workspace()
    post = ws.session.posterior()
    s = post.samples
    np.testing.assert_allclose(s.sigma, post.sigma0 * 8, rtol=1e-6)
    state = ws.slots[post.side]
    res = _run(
        measure_variances(
            state.model,
            state.dataset,
            post.index,
            0,
            4,
            (1, 16),
            mu=s.mu,
            sigma=s.sigma,
        )
    )
    np.testing.assert_allclose(res.sigma, s.sigma, rtol=1e-6)
    np.testing.assert_allclose(res.mu, s.mu, rtol=1e-6)
    # Without them, the encoder's (as scripts that ask for it get).
    plain = _run(measure_variances(state.model, state.dataset, post.index, 0, 4, (1,)))
    np.testing.assert_allclose(plain.sigma, post.sigma0, rtol=1e-5)

    # The workspace command passes them on (its keyword arguments reach the job).
    key = ws.measure_gradient(0, 4, mu=s.mu, sigma=s.sigma)
    np.testing.assert_allclose(ws.result(key).sigma, s.sigma, rtol=1e-6)


def test_identity_and_scan_say_and_use_the_sigma_they_were_given():
    ws = _scaled_workspace()
    post = ws.session.posterior()
    s = post.samples
    state = ws.slots[post.side]
    res = identity_for_input(
        state.model, state.dataset, post.index, s.mu, s.sigma, 64, 0, False
    )
    np.testing.assert_array_equal(res.sigma, s.sigma)
    np.testing.assert_array_equal(res.mu, s.mu)
    html = identity_html(res, component_names(2))
    assert f"σ = {pair(s.sigma)}" in html and f"μ = {pair(s.mu)}" in html

    scan = _run(
        scan_sigma(
            state.model,
            state.dataset,
            post.index,
            s.mu,
            s.sigma,
            scales=(0.5, 1.0, 2.0),
            repeats=4,
            samples=4,
        )
    )
    np.testing.assert_array_equal(scan.sigma, s.sigma)
    one = list(scan.scales).index(1.0)
    assert scan.mean_sigma[one] == float(np.mean(s.sigma))
    assert f"σ = {pair(s.sigma)}" in scan_summary(scan)


def test_the_tab_states_its_mu_and_sigma_and_how_they_were_set():
    mu0, sigma0 = np.array([0.5, -1.0], np.float32), np.array([0.25, 0.125], np.float32)
    same = operating_point(mu0, sigma0, mu0, sigma0, np.zeros(2), np.ones(2))
    assert f"σ = {pair(sigma0)}" in same and "(μ(x)) and" in same and "(σ(x))," in same
    scaled = operating_point(
        mu0 + 1, sigma0 * 8, mu0, sigma0, np.ones(2, np.float32), np.full(2, 8.0)
    )
    assert f"σ = {pair(sigma0 * 8)}" in scaled
    assert f"σ(x) × 8, σ(x) = {pair(sigma0)}" in scaled
    assert f"μ(x) + (1, 1), μ(x) = {pair(mu0)}" in scaled
    apart = operating_point(mu0, sigma0, mu0, sigma0, np.zeros(2), [8.0, 1.0])
    assert "σ(x) ⊙ (8, 1)" in apart
