"""The analysis views end to end, on an AE and a VAE trained briefly on real MNIST.

The views are lazy: a view whose tab is not current does no work until it is
shown, so tests make a view's tab current (as a user would) before using it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from latentlab.qt.gallery_view import describe, nearest_point
from PySide6.QtCore import QPoint, Qt

from latentlab.core.checkpoints import save_checkpoint
from latentlab.core.config import ModelConfig, TrainConfig
from latentlab.core.latent import LatentSlice, decode_codes, encode_images
from latentlab.core.training import new_model, train
from latentlab.qt.app import create_window
from latentlab.qt.controller import Controller
from latentlab.qt.main_window import MainWindow


@pytest.fixture(scope="module")
def mnist_pair(mnist, tmp_path_factory):
    """An AE and a VAE trained side by side for 3 epochs on the MNIST subset.

    One torch thread: on a shared 2-core box two OpenMP threads spin against
    each other (the core conftest measured 5x slower).
    """
    common = ModelConfig(latent_dim=2)
    models = [new_model(replace(common, kind=k), seed=0) for k in ("ae", "vae")]
    for _ in train(models, mnist, TrainConfig(epochs=3, seed=0, threads=1)):
        pass
    folder = tmp_path_factory.mktemp("pair")
    return [
        str(
            save_checkpoint(
                folder / f"mnist-{m.config.kind}-2d.pt", m, dataset=mnist.identity()
            )
        )
        for m in models
    ]


@pytest.fixture
def window(qtbot, mnist_pair, real_data_dir, no_threads_left):
    win = create_window(mnist_pair, str(real_data_dir))
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.resize(1300, 900)
    win.show()
    qtbot.waitExposed(win)
    views = win.analysis

    def ready():
        for side in (0, 1):
            panel = win.controller.panels[side]
            assert panel.model is not None and panel.codes is not None
        assert views.selection.current is not None, "no input picked yet"

    qtbot.waitUntil(ready, timeout=20000)
    assert win.tabs.currentIndex() == 0, "the Latent planes tab should be current"
    yield win
    win.close_discarding()


def _show_reparam(qtbot, window):
    """Make the ε-resampling tab current and wait for its decoded samples."""
    reparam = window.analysis.reparam
    window.tabs.setCurrentWidget(reparam)
    assert reparam.is_ready(), "the ε view has no input once shown"
    qtbot.waitUntil(lambda: reparam.decoded is not None, timeout=10000)
    return reparam


def _isolated_visible_point(plane, xy):
    """Index of the visible point farthest (in pixels) from every other point."""
    rect = plane.view_rect()
    px, py = plane.view_box.viewPixelSize()
    margin_x, margin_y = 30 * px, 30 * py
    inside = (
        (xy[:, 0] > rect.x0 + margin_x)
        & (xy[:, 0] < rect.x1 - margin_x)
        & (xy[:, 1] > rect.y0 + margin_y)
        & (xy[:, 1] < rect.y1 - margin_y)
    )
    pix = xy / np.array([px, py])
    d2 = ((pix[:, None, :] - pix[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    spacing = np.where(inside, d2.min(1), -1.0)
    i = int(spacing.argmax())
    assert spacing[i] > 4.0**2, "no visible point stands apart from the others"
    return i


def _drag(qtbot, viewport, start: QPoint, end: QPoint, steps: int = 8) -> None:
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, steps + 1):
        qtbot.mouseMove(viewport, start + (end - start) * (k / steps))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def test_nearest_point_is_measured_in_screen_pixels():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 10.0]], np.float32)
    # 0.1 units per pixel along x, 1 along y: (0.5, 5) is 5 px from point 0 in x
    # and 5 px in y, so ~7.1 px away; point 2 is 5 px away in y only.
    assert nearest_point(xy, (0.0, 5.0), (0.1, 1.0)) == 0
    assert nearest_point(xy, (0.0, 9.0), (0.1, 1.0)) == 2
    assert nearest_point(xy, (0.5, 0.0), (0.01, 1.0)) is None  # 50 px from both
    assert nearest_point(np.zeros((0, 2), np.float32), (0, 0), (1, 1)) is None


def test_clicking_a_vae_scatter_point_selects_it_and_updates_the_eps_view(
    qtbot, window
):
    controller, views = window.controller, window.analysis
    panel = controller.panels[1]
    assert panel.model.is_variational, "the right panel should hold the VAE"
    plane = window.panels[1].plane
    xy = panel.latent_slice.project(panel.codes.mu)
    i = _isolated_visible_point(plane, xy)
    assert views.selection.current != i
    pos = plane.scene_pos_of(*xy[i])
    qtbot.mouseClick(plane.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert views.selection.current == i
    assert views.reparam.index != i, "the hidden ε view should wait to be shown"
    with qtbot.waitSignal(views.reparam.samplesDecoded, timeout=5000):
        window.tabs.setCurrentWidget(views.reparam)
    assert views.reparam.index == i
    s = views.reparam.samples()
    np.testing.assert_allclose(s.mu, panel.codes.mu[i])
    np.testing.assert_allclose(s.sigma, panel.codes.sigma[i])
    np.testing.assert_allclose(s.z, s.mu + s.sigma * s.eps, rtol=1e-6)
    handle = views.reparam.mu_handle.pos()
    assert (handle.x(), handle.y()) == pytest.approx(tuple(xy[i]), abs=1e-5)
    decoded = views.reparam.decoded
    np.testing.assert_allclose(
        decoded.samples, decode_codes(panel.model, s.z), atol=1e-6
    )
    np.testing.assert_allclose(
        decoded.mu, decode_codes(panel.model, s.mu[None])[0], atol=1e-6
    )
    # The input shown is that test image.
    expected = panel.dataset.test_images[i].numpy() / 255.0
    np.testing.assert_allclose(views.reparam.input_tile.images[0], expected)


def test_a_click_away_from_every_point_keeps_the_input(qtbot, window):
    views = window.analysis
    plane = window.panels[1].plane
    before = views.selection.current
    rect = plane.view_rect()
    corner = (rect.x0 + 0.01 * rect.width, rect.y1 - 0.01 * rect.height)
    panel = window.controller.panels[1]
    xy = panel.latent_slice.project(panel.codes.mu)
    assert nearest_point(xy, corner, plane.view_box.viewPixelSize()) is None
    with qtbot.waitSignal(plane.latentClicked):
        qtbot.mouseClick(
            plane.viewport(),
            Qt.MouseButton.LeftButton,
            pos=plane.scene_pos_of(*corner),
        )
    assert views.selection.current == before


def test_fixed_eps_dragging_mu_moves_every_sample_by_the_same_delta(qtbot, window):
    reparam = _show_reparam(qtbot, window)
    plane = reparam.plane
    before = reparam.samples()
    assert reparam.fixed_box.isChecked()
    start = plane.scene_pos_of(*reparam.latent_slice.project(before.mu[None])[0])
    with qtbot.waitSignal(reparam.samplesDecoded, timeout=5000):
        _drag(qtbot, plane.viewport(), start, start + QPoint(60, -40))
    after = reparam.samples()
    delta = after.mu - before.mu
    px, py = plane.view_box.viewPixelSize()
    assert delta[0] == pytest.approx(60 * px, rel=0.1)
    assert delta[1] == pytest.approx(40 * py, rel=0.1)
    np.testing.assert_array_equal(after.eps, before.eps)
    np.testing.assert_allclose(
        after.z - before.z, np.tile(delta, (len(after.z), 1)), atol=1e-5
    )
    np.testing.assert_allclose(after.sigma, before.sigma)
    # The decoded samples follow: they are the decodes of the moved samples.
    np.testing.assert_allclose(
        reparam.decoded.samples, decode_codes(reparam.model, after.z), atol=1e-6
    )


def test_fixed_eps_scaling_sigma_scales_the_offsets(qtbot, window):
    reparam = _show_reparam(qtbot, window)
    before = reparam.samples()
    with qtbot.waitSignal(reparam.samplesChanged):
        reparam.scale_sliders[0].setValue(2.5)
    with qtbot.waitSignal(reparam.samplesChanged):
        reparam.scale_sliders[1].setValue(0.5)
    after = reparam.samples()
    np.testing.assert_array_equal(after.eps, before.eps)
    np.testing.assert_allclose(after.mu, before.mu)
    np.testing.assert_allclose(
        after.z - after.mu,
        (before.z - before.mu) * np.array([2.5, 0.5]),
        rtol=1e-5,
        atol=1e-6,
    )
    with qtbot.waitSignal(reparam.samplesChanged):
        reparam.scale_sliders[0].setValue(0.0)
    np.testing.assert_allclose(reparam.samples().z[:, 0], after.mu[0])


def test_resample_changes_eps_and_keeps_mu_and_sigma(qtbot, window):
    reparam = _show_reparam(qtbot, window)
    reparam.set_mu_xy(0.3, -0.2)
    before = reparam.samples()
    with qtbot.waitSignal(reparam.samplesDecoded, timeout=5000):
        qtbot.mouseClick(reparam.resample_button, Qt.MouseButton.LeftButton)
    after = reparam.samples()
    assert not np.allclose(after.eps, before.eps)
    np.testing.assert_array_equal(after.mu, before.mu)
    np.testing.assert_array_equal(after.sigma, before.sigma)
    np.testing.assert_allclose(after.z, after.mu + after.sigma * after.eps, rtol=1e-6)
    # Without fixed ε, moving mu also draws new noise.
    reparam.fixed_box.setChecked(False)
    reparam.set_mu_xy(0.1, 0.1)
    assert not np.allclose(reparam.samples().eps, after.eps)


def test_sample_count_keeps_existing_noise(qtbot, window):
    reparam = _show_reparam(qtbot, window)
    eps = reparam.eps
    reparam.k_slider.setValue(256)
    assert reparam.eps.shape == (256, 2)
    np.testing.assert_array_equal(reparam.eps[: len(eps)], eps)
    reparam.k_slider.setValue(5)
    np.testing.assert_array_equal(reparam.eps, eps[:5])
    qtbot.waitUntil(lambda: reparam.decoded is not None, timeout=5000)
    assert reparam.grid.count == 5


def test_hovering_a_sample_shows_its_equation(qtbot, window):
    reparam = _show_reparam(qtbot, window)
    reparam.k_slider.setValue(4)
    s = reparam.samples()
    xy = reparam.latent_slice.project(s.z)
    plane = reparam.plane
    px, py = plane.view_box.viewPixelSize()
    pix = xy / np.array([px, py])
    gaps = np.sqrt(((pix[:, None] - pix[None]) ** 2).sum(-1)) + np.eye(len(pix)) * 1e9
    j = int(gaps.min(1).argmax())
    with qtbot.waitSignal(reparam.sampleHovered) as blocker:
        qtbot.mouseMove(plane.viewport(), plane.scene_pos_of(*xy[j]))
    assert blocker.args == [j]
    text = reparam.equation.text()
    assert f"sample {j + 1} of 4" in text
    for value in (s.mu[0], s.sigma[0], s.eps[j, 0], s.z[j, 0]):
        assert f"{abs(value):.3f}" in text, f"{value:.3f} missing from the equation"


def test_gallery_click_picks_that_input(qtbot, window):
    views = window.analysis
    window.tabs.setCurrentWidget(views.reparam)
    gallery = views.reparam.gallery
    k = 4
    target = gallery.indices[k]
    centre = gallery.tiles.tile_rect(k).center().toPoint()
    with qtbot.waitSignal(views.selection.changed):
        qtbot.mouseClick(gallery.tiles, Qt.MouseButton.LeftButton, pos=centre)
    assert views.selection.current == target
    assert views.reparam.index == target


def test_interpolation_strips_are_measured_from_their_images(qtbot, window, mnist):
    views = window.analysis
    window.tabs.setCurrentWidget(views.interpolation)
    labels = mnist.test_labels.numpy()
    a, b = int(np.flatnonzero(labels == 1)[0]), int(np.flatnonzero(labels == 0)[0])
    with qtbot.waitSignal(views.interpolation.stripsReady, timeout=10000) as blocker:
        views.selection.pick_pair(a, b)
    results = {r.kind: r for r in blocker.args[0]}
    assert set(results) == {"AE", "VAE"}
    test = mnist.test_images.numpy() / 255.0
    for kind, r in results.items():
        assert r.images.shape == (12, 28, 28)
        # The endpoints decode close to the inputs: they are the model's
        # reconstructions of A and B, each nearer its own input than the other's,
        # and no worse than this model reconstructs a typical test image.
        model = window.controller.panels[0 if kind == "AE" else 1].model
        recon = decode_codes(model, encode_images(model, mnist.test_images).mu)
        errors = np.linalg.norm((recon - test).reshape(len(test), -1), axis=1)
        for end, own, other in ((r.images[0], a, b), (r.images[-1], b, a)):
            np.testing.assert_allclose(end, recon[own], atol=1e-5)
            d_own = np.linalg.norm(end - test[own])
            assert d_own < np.linalg.norm(end - test[other]), f"{kind}: ends swapped"
            assert d_own <= np.quantile(errors, 0.95), f"{kind}: poor end decode"
        # The figures come from these very images.
        s = r.smoothness
        steps = np.linalg.norm(
            np.diff(r.images.astype(np.float64), axis=0), axis=(1, 2)
        )
        np.testing.assert_allclose(s.step_l2, steps, rtol=1e-6)
        train_px = (
            mnist.train_images.numpy().reshape(len(mnist.train_images), -1) / 255.0
        )
        mid = r.images[5].reshape(-1).astype(np.float64)
        brute = np.sqrt(((train_px - mid) ** 2).sum(1)).min()
        assert s.nearest.distance[5] == pytest.approx(brute, rel=1e-6)
        assert f"{s.max_step:.2f}" in views.interpolation.summaries[kind].text()
        # The path drawn in the plane is the straight line between the codes.
        codes = r.codes
        t = np.linspace(0, 1, 12)[:, None]
        np.testing.assert_allclose(codes, (1 - t) * codes[0] + t * codes[-1], atol=1e-5)
        x, _ = views.interpolation.planes[kind].path.getData()
        np.testing.assert_allclose(x, codes[:, 0], atol=1e-6)


def test_interpolation_uses_the_last_two_clicked_points(qtbot, window):
    views = window.analysis
    window.tabs.setCurrentWidget(views.interpolation)
    plane = views.interpolation.planes["VAE"]
    panel = window.controller.panels[1]
    xy = panel.latent_slice.project(panel.codes.mu)
    i = _isolated_visible_point(plane, xy)
    with qtbot.waitSignal(views.interpolation.stripsReady, timeout=10000):
        qtbot.mouseClick(
            plane.viewport(),
            Qt.MouseButton.LeftButton,
            pos=plane.scene_pos_of(*xy[i]),
        )
    previous = views.selection.previous
    assert views.selection.current == i
    assert f"#{previous}" in views.interpolation.pair_label.text()
    assert f"#{i}" in views.interpolation.pair_label.text()


def test_prior_samples_share_z_and_resample(qtbot, window):
    views = window.analysis
    prior = views.prior
    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        window.tabs.setCurrentWidget(prior)
    z_ae, z_vae = prior.draws("AE"), prior.draws("VAE")
    assert z_ae.shape == (64, 2)
    np.testing.assert_array_equal(z_ae, z_vae)
    for r in prior.batch.results:
        model = window.controller.panels[0 if r.kind == "AE" else 1].model
        np.testing.assert_allclose(r.images, decode_codes(model, r.z), atol=1e-6)
        assert len(r.nearest.distance) == 64
    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        qtbot.mouseClick(prior.resample_button, Qt.MouseButton.LeftButton)
    assert not np.allclose(prior.draws("VAE"), z_vae)
    # Measured, not asserted: the VAE's codes fill its prior's bulk better.
    assert prior.coverage("VAE") > prior.coverage("AE")


def test_variance_plot_data_shows_reparam_below_score_function(qtbot, window):
    views = window.analysis
    gradient = views.gradient
    with qtbot.waitSignal(gradient.varianceReady, timeout=60000) as blocker:
        window.tabs.setCurrentWidget(gradient)
    res = blocker.args[0]
    assert list(res.counts) == [1, 4, 16, 64, 256, 1024]
    assert (res.var_reparam < res.var_score).all(), (
        f"reparam {res.var_reparam} not below score {res.var_score}"
    )
    np.testing.assert_allclose(gradient.curves["reparam"].yData, res.var_reparam)
    np.testing.assert_allclose(gradient.curves["score"].yData, res.var_score)
    np.testing.assert_allclose(gradient.ratio_curves["score"].yData, res.ratio)
    assert gradient.numbers.rowCount() == 6
    # The autograd table: dz/dmu = 1 and dz/dsigma = eps for the view's samples.
    qtbot.waitUntil(lambda: gradient.gradients is not None, timeout=5000)
    g = gradient.gradients
    s = views.reparam.samples()
    np.testing.assert_array_equal(g.eps, s.eps)
    np.testing.assert_array_equal(g.dz_dmu, np.ones_like(s.eps))
    np.testing.assert_allclose(g.dz_dsigma, s.eps, rtol=1e-6)
    assert gradient.table.rowCount() == len(s.eps)


def test_closing_mid_measurement_stops_the_job(qtbot, window):
    gradient = window.analysis.gradient
    window.tabs.setCurrentWidget(gradient)
    assert gradient.busy, "a measurement should be running"
    window.close_discarding()
    # no_threads_left then checks the pool drains within 5 s.


def test_non_finite_codes_are_never_picked(qtbot, window):
    views = window.analysis
    _show_reparam(qtbot, window)
    panel = window.controller.panels[1]
    mu = panel.codes.mu.copy()
    mu[:5] = np.nan
    mu[5] = np.inf
    panel.codes = replace(panel.codes, mu=mu)
    window.controller.panelChanged.emit(1)  # must not raise in any view
    before = views.reparam.index
    views.selection.pick(2)
    assert views.reparam.index == before
    assert "NaN or infinity" in views.reparam.input_label.text()
    assert nearest_point(mu[:, :2], (np.nan, 0.0), (1.0, 1.0)) is None
    for view in (views.interpolation, views.prior):  # they catch up without raising
        window.tabs.setCurrentWidget(view)
        assert not view.stale


def test_wide_latent_works_in_the_two_chosen_dims(
    qtbot, mnist, real_data_dir, tmp_path, no_threads_left
):
    vae = new_model(ModelConfig(kind="vae", latent_dim=5), seed=0)
    path = save_checkpoint(tmp_path / "vae5.pt", vae, dataset=mnist.identity())
    win = create_window([str(path)], str(real_data_dir))
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    reparam = win.analysis.reparam
    win.tabs.setCurrentWidget(reparam)
    qtbot.waitUntil(reparam.is_ready, timeout=20000)
    panel = win.controller.panels[0]
    base = tuple(float(v) for v in panel.codes.mu.mean(0))
    with qtbot.waitSignal(reparam.samplesChanged):
        win.controller.set_slice(0, LatentSlice(5, (3, 1), base))
    before = reparam.samples()
    reparam.set_mu_xy(float(before.mu[3]) + 0.5, float(before.mu[1]) - 0.25)
    reparam.set_sigma_scale(0, 3.0)
    after = reparam.samples()
    np.testing.assert_allclose(after.mu - before.mu, [0, -0.25, 0, 0.5, 0], atol=1e-6)
    np.testing.assert_allclose(after.sigma / before.sigma, [1, 1, 1, 3, 1], rtol=1e-6)
    np.testing.assert_array_equal(after.eps, before.eps)
    assert "z₄ =" in reparam.equation.text() and "z₂ =" in reparam.equation.text()
    handle = reparam.mu_handle.pos()
    assert (handle.x(), handle.y()) == pytest.approx(
        (after.mu[3], after.mu[1]), abs=1e-5
    )
    win.close_discarding()


def test_views_wait_for_a_vae(qtbot, no_threads_left):
    win = MainWindow(Controller())
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    views = win.analysis
    assert not views.reparam.is_ready()
    assert not views.reparam.resample_button.isEnabled()
    win.tabs.setCurrentWidget(views.gradient)
    assert "Load a VAE" in views.gradient.status.text()
    win.close_discarding()


def _lazy_views(views):
    return {
        "reparam": views.reparam,
        "gradient": views.gradient,
        "interpolation": views.interpolation,
        "prior": views.prior,
    }


def test_hidden_views_do_no_work_until_their_tab_is_shown(qtbot, window):
    controller, views = window.controller, window.analysis
    interp, prior = views.interpolation, views.prior
    # Show the interpolation and prior tabs once, then go back to the planes.
    with qtbot.waitSignal(interp.stripsReady, timeout=10000):
        window.tabs.setCurrentWidget(interp)
    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        window.tabs.setCurrentWidget(prior)
    window.tabs.setCurrentIndex(0)
    lazy = _lazy_views(views)
    qtbot.waitUntil(lambda: not any(v.busy for v in lazy.values()), timeout=10000)
    counts = {name: v.refresh_count for name, v in lazy.items()}
    n = len(controller.panels[1].codes.mu)
    ae_points = interp.planes["AE"].point_count()
    assert interp.planes["VAE"].point_count() == n

    # Pick a VAE point, then give the VAE new codes (as a training snapshot does,
    # ~2x/s): 7 other codes become NaN, so its planes lose 7 points.
    plane = window.panels[1].plane
    panel = controller.panels[1]
    xy = panel.latent_slice.project(panel.codes.mu)
    i = _isolated_visible_point(plane, xy)
    dropped = [j for j in range(20) if j != i][:7]
    mu = panel.codes.mu.copy()
    mu[dropped] = np.nan
    original = panel.codes
    panel.codes = replace(original, mu=mu)
    controller.panelChanged.emit(1)
    with qtbot.waitSignal(plane.latentClicked):
        qtbot.mouseClick(
            plane.viewport(), Qt.MouseButton.LeftButton, pos=plane.scene_pos_of(*xy[i])
        )
    # The pick itself is immediate: the selection and the status bar follow it.
    assert views.selection.current == i
    assert describe(panel.dataset, i) in window.statusBar().currentMessage()
    # Its consequences wait: no plotting and no job in any hidden view.
    after = {name: v.refresh_count for name, v in lazy.items()}
    assert after == counts, f"hidden views refreshed: {counts} -> {after}"
    busy = [name for name, v in lazy.items() if v.busy]
    assert not busy, f"hidden views started jobs: {busy}"
    for name in ("reparam", "interpolation", "prior"):
        assert lazy[name].stale, f"the hidden {name} view should be marked stale"
    assert interp.planes["VAE"].point_count() == n
    assert f"#{i}" not in interp.pair_label.text()

    # Shown, a view catches up once from the latest state, replotting only the
    # side that changed.
    with qtbot.waitSignal(interp.stripsReady, timeout=10000):
        window.tabs.setCurrentWidget(interp)
    assert not interp.stale
    assert interp.refresh_count == counts["interpolation"] + 2, "VAE plane + one job"
    assert interp.planes["VAE"].point_count() == n - 7
    assert interp.planes["AE"].point_count() == ae_points
    assert f"#{i}" in interp.pair_label.text()
    assert f"#{views.selection.previous}" in interp.pair_label.text()

    with qtbot.waitSignal(prior.samplesReady, timeout=10000):
        window.tabs.setCurrentWidget(prior)
    assert prior.refresh_count == counts["prior"] + 2, "VAE plane + one decode job"
    assert prior.planes["VAE"].point_count() == n - 7

    reparam = _show_reparam(qtbot, window)
    assert reparam.index == i
    np.testing.assert_allclose(reparam.samples().mu, panel.codes.mu[i])
    assert reparam.plane.point_count() == n - 7

    # A visible view still follows every update at once.
    count = prior.refresh_count
    window.tabs.setCurrentWidget(prior)
    panel.codes = original
    controller.panelChanged.emit(1)
    assert prior.planes["VAE"].point_count() == n
    assert prior.refresh_count == count + 2
    assert interp.planes["VAE"].point_count() == n - 7, "hidden again: not replotted"
    qtbot.waitUntil(lambda: not prior.busy, timeout=10000)


def test_only_the_users_picks_are_announced(qtbot, window):
    views = window.analysis
    dataset = window.controller.panels[1].dataset
    bar = window.statusBar()
    bar.clearMessage()
    views.selection.reset(dataset)  # as a newly loaded dataset does
    assert views.selection.current is not None and not views.selection.by_user
    assert "picked" not in bar.currentMessage()
    views.selection.pick(3)
    assert views.selection.by_user
    message = bar.currentMessage()
    assert "picked" in message and describe(dataset, 3) in message
