"""The Diagnostics view on the shipped shapes pair: its figures against
independent computations, click-to-decode, log p(x) with progress and Cancel."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocumentFragment

from latentlab.core.analysis.likelihood import quadrature_log_px
from latentlab.core.data import to_float
from latentlab.core.latent import decode_codes
from latentlab.core.losses import gaussian_kl_per_dim


@pytest.fixture
def view(qtbot, window):
    v = window.views["diagnostics"]
    with qtbot.waitSignals([v.liveReady, v.liveReady], timeout=20000):
        window.tabs.setCurrentWidget(v)
    qtbot.waitUntil(lambda: set(v.live) == {"AE", "VAE"}, timeout=20000)
    return v


def test_units_and_aggregate_figures_match_an_independent_computation(
    qtbot, window, view
):
    ae, vae = window.session.sides
    images = vae.dataset.test_images
    with torch.no_grad():
        enc = vae.model.encode(to_float(images))
        kl = gaussian_kl_per_dim(enc.mu, enc.logvar).mean(0).double().numpy()
        mu = enc.mu.double().numpy()
    col = view.columns["VAE"]
    heights = col.bars.opts["height"]
    np.testing.assert_allclose(heights, kl, rtol=1e-4)
    assert f"{kl.sum():.3f}" in col.detail_label.text()
    active = int((mu.var(0) > 0.01).sum())
    assert f"{active} of 2 active" in col.units_label.text()
    ae_var = ae.codes.mu.astype(np.float64).var(0)
    np.testing.assert_allclose(view.columns["AE"].bars.opts["height"], ae_var)
    for kind in ("AE", "VAE"):
        agg = view.live[kind].aggregate
        text = view.columns[kind].figures.text()
        assert f"{100 * agg.hole_share:.1f}%" in text
        assert "q(z) &lt; 0.1·p(z)" in text or "q(z) < 0.1·p(z)" in text
        assert f"{agg.kl:.3f} nats" in text and "midpoint rule" in text
        # The heat map's image is the grid's q(z), shown as log10 over 4 decades.
        img = view.columns[kind].density.image
        assert img.shape == agg.density.shape
        assert img.max() == pytest.approx(np.log10(agg.density.max()), rel=1e-5)
    b = view.live["VAE"].bound
    assert f"{b.recon_mu:.2f}" in view.columns["VAE"].figures.text()
    assert "not binarized" in view.columns["VAE"].figures.text()
    assert b.recon_mu < b.recon_samples


def test_clicking_the_plane_decodes_there(qtbot, window, view):
    col = view.columns["VAE"]
    plane = col.plane
    qtbot.mouseClick(
        plane.viewport(), Qt.MouseButton.LeftButton, pos=plane.scene_pos_of(1.5, -1.0)
    )
    z = col.decode.z
    assert z is not None
    px = plane.view_box.viewPixelSize()
    assert abs(z[0] - 1.5) <= 2 * px[0] and abs(z[1] + 1.0) <= 2 * px[1]
    expected = decode_codes(window.session.sides[1].model, z[None])[0]
    np.testing.assert_allclose(col.decode.image, expected, atol=1e-6)
    assert "q(z)/p(z) = " in col.decode_label.text()


def test_compute_log_px_matches_the_quadrature_and_cancel_stops_it(qtbot, window, view):
    vae = window.session.sides[1]
    # The whole sentence is shown (a bare "<" in rich text cut it short).
    shown = QTextDocumentFragment.fromHtml(view.result_label.text()).toPlainText()
    assert shown.endswith("(adaptive, to < 0.05 nats/image). Press Compute.")
    view.n_spin.setValue(40)
    with qtbot.waitSignal(view.likelihoodReady, timeout=60000) as blocker:
        qtbot.mouseClick(view.compute_button, Qt.MouseButton.LeftButton)
    report = blocker.args[0]
    gen = quadrature_log_px(vae.model, vae.dataset.test_images[:40])
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            direct = stop.value
            break
    assert report.log_px == pytest.approx(direct.log_px.mean(), abs=1e-6)
    text = view.result_label.text()
    assert f"{report.log_px:.3f}" in text and "quadrature" in text
    assert f"{report.gap:.3f}" in text and f"{report.bound.neg_elbo:.3f}" in text
    assert report.gap == pytest.approx(report.log_px + report.bound.neg_elbo)
    assert view.progress.value() == 1000
    qtbot.waitUntil(lambda: view.compute_button.isEnabled(), timeout=5000)

    # Cancel: importance sampling with a large K, stopped at its first step.
    view.method_box.setCurrentIndex(1)
    view.k_spin.setValue(20000)
    view.n_spin.setValue(400)
    view.compute_likelihood()
    assert view.cancel_button.isEnabled()
    qtbot.mouseClick(view.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.busy("likelihood"), timeout=30000)
    assert view.report is None
    assert "Cancelled" in view.result_label.text()
    assert view.compute_button.isEnabled() and not view.cancel_button.isEnabled()
