"""The Interpolation and Prior samples views end to end, on the shipped shapes
pair (no real data needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from latentlab.core.latent import decode_codes, encode_images


def test_interpolation_strips_are_measured_from_their_images(qtbot, window):
    view = window.views["interpolation"]
    data = window.session.sides[1].dataset
    labels = data.test_labels.numpy()
    a, b = int(np.flatnonzero(labels == 0)[0]), int(np.flatnonzero(labels == 2)[0])
    window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.stripsReady, timeout=10000) as blocker:
        window.session.pick_pair(a, b)
    results = {r.kind: r for r in blocker.args[0]}
    assert set(results) == {"AE", "VAE"}
    test = data.test_images.numpy() / 255.0
    train_px = data.train_images.numpy().reshape(len(data.train_images), -1) / 255.0
    for kind, r in results.items():
        pos = "0" if kind == "AE" else "1"
        model = window.session.sides[int(pos)].model
        assert r.images.shape == (12, 28, 28)
        recon = decode_codes(model, encode_images(model, data.test_images[[a, b]]).mu)
        np.testing.assert_allclose(r.images[0], recon[0], atol=1e-5)
        np.testing.assert_allclose(r.images[-1], recon[1], atol=1e-5)
        assert np.linalg.norm(r.images[0] - test[a]) < np.linalg.norm(
            r.images[0] - test[b]
        ), f"{kind}: ends swapped"
        s = r.smoothness
        steps = np.linalg.norm(
            np.diff(r.images.astype(np.float64), axis=0), axis=(1, 2)
        )
        np.testing.assert_allclose(s.step_l2, steps, rtol=1e-6)
        mid = r.images[5].reshape(-1).astype(np.float64)
        brute = np.sqrt(((train_px - mid) ** 2).sum(1)).min()
        assert s.nearest.distance[5] == pytest.approx(brute, rel=1e-6)
        assert f"{s.max_step:.2f}" in view.summaries[pos].text()
        assert "jump ratio (largest / mean step)" in view.summaries[pos].text()
        x, _ = view.planes[pos].path.getData()
        np.testing.assert_allclose(x, r.codes[:, 0], atol=1e-6)


def test_clicking_the_views_plane_picks_the_point(qtbot, window):
    view = window.views["interpolation"]
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: len(view.results) == 2, timeout=10000)
    plane = view.planes["1"]
    side = window.session.sides[1]
    xy = side.latent_slice.project(side.codes.mu)
    # The point farthest from every other on screen, so the pick is unambiguous.
    pix = xy / np.array(plane.view_box.viewPixelSize())
    d2 = ((pix[:, None] - pix[None]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    rect = plane.view_rect()
    inside = (xy[:, 0] > rect.x0) & (xy[:, 0] < rect.x1)
    inside &= (xy[:, 1] > rect.y0) & (xy[:, 1] < rect.y1)
    i = int(np.where(inside, d2.min(1), -1).argmax())
    before = window.session.selection.current
    with qtbot.waitSignal(view.stripsReady, timeout=10000):
        qtbot.mouseClick(
            plane.viewport(), Qt.MouseButton.LeftButton, pos=plane.scene_pos_of(*xy[i])
        )
    assert window.session.selection.current == i
    assert window.session.selection.previous == before
    assert f"#{i}" in view.pair_label.text()


def test_prior_samples_share_z_and_resample(qtbot, window):
    prior = window.views["prior"]
    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        window.tabs.setCurrentWidget(prior)
    z_ae, z_vae = prior.draws("AE"), prior.draws("VAE")
    assert z_ae.shape == (64, 2)
    np.testing.assert_array_equal(z_ae, z_vae)
    for r in prior.batch.results:
        model = window.session.sides[0 if r.kind == "AE" else 1].model
        np.testing.assert_allclose(r.images, decode_codes(model, r.z), atol=1e-6)
        assert len(r.nearest.distance) == 64
        mu = window.session.sides[0 if r.kind == "AE" else 1].codes.mu
        # An independent count of the codes inside the 95% region of N(0, I).
        inside = float(((mu**2).sum(1) <= 5.991464547107979).mean())
        assert r.coverage == pytest.approx(inside)
        header = prior.headers["0" if r.kind == "AE" else "1"]
        assert f"{100 * inside:.0f}%" in header.text()
    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        qtbot.mouseClick(prior.resample_button, Qt.MouseButton.LeftButton)
    assert not np.allclose(prior.draws("VAE"), z_vae)


def test_many_pairs_are_measured_and_shown_from_their_numbers(qtbot, window):
    view = window.views["interpolation"]
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: len(view.results) == 2, timeout=10000)
    view.pairs_spin.setValue(30)
    view.run_button.click()
    qtbot.waitUntil(lambda: view.population is not None, timeout=30000)
    stats = view.population
    assert stats.n == 30
    text = view.population_label.text()
    assert stats.figures == ("jump_ratio", "density_ratio", "realism")
    assert f"test accuracy {100 * stats.classifier_accuracy:.1f}%" in text
    for figure in stats.figures:
        assert f"median AE {stats.median('AE', figure):.2f}" in text
        assert f"{100 * stats.fraction_worse(figure):.0f}%</b> of the 30 pairs" in text
        for pos in ("0", "1"):
            _, counts = view.hist_curves[(figure, pos)].getData()
            assert counts.sum() == 30
    # Each strip now says where it stands among the pairs.
    assert "random pairs" in view.summaries["0"].text()
    qtbot.waitUntil(lambda: view.run_button.isEnabled(), timeout=5000)


def test_many_pairs_can_be_cancelled(qtbot, window):
    view = window.views["interpolation"]
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: len(view.results) == 2, timeout=10000)
    view.pairs_spin.setValue(2000)
    view.run_button.click()
    view.cancel_button.click()
    qtbot.waitUntil(lambda: view.run_button.isEnabled(), timeout=20000)
    assert view.population is None
    assert view.pairs_progress.format() == "cancelled"


def test_the_identity_is_shown_from_both_measured_sides(qtbot, window):
    view = window.views["gradient"]
    view.repeats = 8  # the variance plots are not under test here
    window.tabs.setCurrentWidget(view)
    view.identity_k.setValue(256)
    view.without_box.setChecked(True)  # toggling measures
    qtbot.waitUntil(lambda: view.identity is not None, timeout=30000)
    res = view.identity
    post = window.session.posterior()
    # The sides are measured independently (issue 29): they agree within the
    # check's threshold, not to a rounding error.
    assert "quadrature" in res.check.left_method
    assert res.check.verdict.agree, res.check.verdict.text(["a", "b", "c", "d"])
    assert not np.allclose(res.check.rhs, res.check.lhs, rtol=1e-6)
    text = view.identity_label.text()
    assert f"{res.check.lhs[0]:+.4f} ± {res.check.lhs_se[0]:.4f}" in text
    assert ("agree" in text) and (res.check.verdict.agree == ("NOT" not in text))
    assert res.without.grad_mu is None and res.without.grad_sigma is None
    assert "None (no gradient path)" in view.without_label.text()
    # A new input makes the shown check stale: it is cleared, not kept.
    window.session.pick((post.index + 1) % len(window.session.sides[1].codes.mu))
    assert view.identity is None
