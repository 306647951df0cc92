"""The ε-resampling view on the shipped shapes models, through real widgets.

The view keeps no copy of μ, σ or ε: every check reads the session
(``session.posterior()``, ``session.eps``) and what the widgets show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, Qt, QThreadPool
from PySide6.QtWidgets import QAbstractButton, QWidget

from latentlab.core.analysis import planes
from latentlab.core.analysis.planes import DatasetCache, prepare
from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.latent import Codes, LatentRect, LatentSlice, decode_codes
from latentlab.core.session import K_DEFAULT, Session, Side
from latentlab.qt.analysis.eps import (
    EpsView,
    caption_text,
    equation_html,
    posterior_frame,
)
from latentlab.qt.jobs import qt_workspace
from latentlab.qt.widgets.latent_plane import nearest_point

MODELS = Path(__file__).resolve().parents[2] / "models"


def shipped_side(kind: str, cache: DatasetCache) -> Side:
    """A side holding the shipped 2-D shapes ``kind`` ("ae" or "vae")."""
    ckpt = load_checkpoint(MODELS / f"shapes-{kind}-2d.pt")
    p = prepare(ckpt, None, cache)
    return Side(
        checkpoint=ckpt,
        model=ckpt.model,
        dataset=p.dataset,
        codes=p.codes,
        latent_slice=p.latent_slice,
    )


@pytest.fixture(scope="module")
def shipped() -> dict[str, Side]:
    """The shipped shapes AE and VAE, loaded and encoded once per module."""
    cache = DatasetCache()
    return {kind: shipped_side(kind, cache) for kind in ("ae", "vae")}


@pytest.fixture
def session(shipped) -> Session:
    s = Session(seed=0)
    s.set_side(0, shipped["ae"])
    s.set_side(1, shipped["vae"])
    return s


@pytest.fixture
def jobs(session, no_threads_left):
    runner = qt_workspace(session)
    yield runner
    assert runner.close(5000)


@pytest.fixture(autouse=True)
def no_singular_transforms(monkeypatch):
    """Fails a test in which pyqtgraph inverts a singular transform.

    pyqtgraph 0.14 then falls back to a pseudo-inverse that assigns
    ``ndarray.shape``, a DeprecationWarning (an error here) under numpy 2.5; a
    ``TextItem`` on a plot without a size is the usual way in.
    """
    calls = []
    fallback = pg.functions._pinv_fallback

    def spy(tr):
        calls.append(tr)
        return fallback(tr)

    monkeypatch.setattr(pg.functions, "_pinv_fallback", spy)
    yield calls
    assert not calls, f"{len(calls)} singular transforms inverted"


def show(qtbot, view: QWidget, size=(1100, 820)) -> None:
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)


def wait_idle(qtbot, view, kind: str, timeout: int = 5000) -> None:
    qtbot.waitUntil(lambda: not view.busy(kind), timeout=timeout)


@pytest.fixture
def view(qtbot, session, jobs):
    v = EpsView(jobs)
    show(qtbot, v)
    wait_idle(qtbot, v, "decode")
    assert v.decoded is not None
    yield v
    v.shutdown()


def assert_decodes_current(view: EpsView, session: Session) -> None:
    post = session.posterior()
    model = session.sides[post.side].model
    np.testing.assert_allclose(
        view.grid.images, decode_codes(model, post.samples.z), atol=1e-6
    )
    np.testing.assert_allclose(
        view.mu_tile.images[0], decode_codes(model, post.samples.mu[None])[0], atol=1e-6
    )


def drag(qtbot, viewport, start: QPoint, end: QPoint, steps: int = 8) -> None:
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, steps + 1):
        qtbot.mouseMove(viewport, start + (end - start) * (k / steps))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)


def isolated_visible_point(plane, xy) -> int:
    """Index of the visible point farthest (in pixels) from every other one."""
    rect = plane.view_rect()
    px, py = plane.view_box.viewPixelSize()
    inside = (
        (xy[:, 0] > rect.x0 + 30 * px)
        & (xy[:, 0] < rect.x1 - 30 * px)
        & (xy[:, 1] > rect.y0 + 30 * py)
        & (xy[:, 1] < rect.y1 - 30 * py)
    )
    idx = np.flatnonzero(inside & np.isfinite(xy).all(1))[:1500]
    pix = xy[idx] / np.array([px, py])
    d2 = ((pix[:, None, :] - pix[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d2, np.inf)
    k = int(d2.min(1).argmax())
    assert d2[k].min() > 4.0**2, "no visible point stands apart from the others"
    return int(idx[k])


# --- pure texts -----------------------------------------------------------------------


def test_texts_are_built_from_the_numbers():
    from latentlab.core.latent import posterior_samples

    s = posterior_samples([0.5, -1.0], [0.1, 0.2], [[1.0, -2.0], [0.0, 0.5]], 2.0)
    html = equation_html(s, np.array([2.0, 2.0], np.float32), [0, 1], 2, 0)
    assert "sample 1 of 2" in html
    assert "z₁ =" in html and "z₂ =" in html
    # sigma = (0.1, 0.2) * 2; z = mu + sigma * eps
    assert "+0.500" in html and "0.200" in html and "0.400" in html
    assert "−2.000" in html and "+0.700" in html and "−1.800" in html
    assert "(2.00×, 2.00×)" in html
    assert "other" not in html
    wide = equation_html(s, np.ones(2, np.float32), [1], 5, 1)
    assert "The other 4 dims" in wide and "z₂ =" in wide and "z₁ =" not in wide
    assert caption_text(64, True).endswith("(fixed ε)")
    assert "(fixed ε)" not in caption_text(64, False)
    whole = LatentRect(-4, -4, 4, 4)
    frame = posterior_frame((1.0, 2.0), [0.1, 0.2], whole)
    assert (frame.x0, frame.y0, frame.x1, frame.y1) == pytest.approx(
        (1 - 1.4, 2 - 1.4, 1 + 1.4, 2 + 1.4)
    )
    tiny = posterior_frame((0.0, 0.0), [1e-6, 1e-6], whole)
    assert tiny.width == pytest.approx(0.08 * whole.width)
    assert posterior_frame((0.0, 0.0), [9.0, 1.0], whole).width == whole.width


# --- what the view shows --------------------------------------------------------------


def test_the_view_draws_the_sessions_posterior(qtbot, view, session):
    post = session.posterior()
    side = session.sides[post.side]
    assert post.side == 1 and side.is_vae
    index = session.selection.current
    s = post.samples
    np.testing.assert_allclose(s.mu, side.codes.mu[index])
    np.testing.assert_allclose(s.sigma, side.codes.sigma[index])
    np.testing.assert_allclose(s.z, s.mu + s.sigma * s.eps, rtol=1e-6)
    handle = view.mu_handle.pos()
    assert (handle.x(), handle.y()) == pytest.approx(tuple(s.mu[:2]), abs=1e-5)
    assert len(view.samples_item.data) == K_DEFAULT
    assert view.plane.point_count() == len(side.codes.mu)
    assert_decodes_current(view, session)
    np.testing.assert_allclose(
        view.input_tile.images[0], planes.display_images(side.dataset, [index])[0]
    )
    assert view.spread_tile.images is not None
    assert f"#{index}" in view.input_label.text()
    assert side.title in view.heading.text()
    # Zoomed to q(z|x): mu is in view and the view is much smaller than the set.
    rect = view.plane.view_rect()
    assert rect.x0 < s.mu[0] < rect.x1 and rect.y0 < s.mu[1] < rect.y1
    assert view.grid.count == K_DEFAULT


def test_fixed_eps_dragging_mu_moves_every_sample_by_the_same_delta(
    qtbot, view, session
):
    plane = view.plane
    before = session.posterior().samples
    assert session.eps.fixed and view.fixed_box.isChecked()
    start = plane.scene_pos_of(*before.mu[:2])
    drag(qtbot, plane.viewport(), start, start + QPoint(60, -40))
    after = session.posterior().samples
    delta = after.mu - before.mu
    px, py = plane.view_box.viewPixelSize()
    assert delta[0] == pytest.approx(60 * px, rel=0.1)
    assert delta[1] == pytest.approx(40 * py, rel=0.1)
    np.testing.assert_array_equal(after.eps, before.eps)
    np.testing.assert_allclose(
        after.z - before.z, np.tile(delta, (len(after.z), 1)), atol=1e-5
    )
    np.testing.assert_allclose(after.sigma, before.sigma)
    handle = view.mu_handle.pos()
    assert (handle.x(), handle.y()) == pytest.approx(tuple(after.mu), abs=1e-5)
    # The encoder's mu(x) is marked where mu started.
    np.testing.assert_allclose(view.mu0_marker.data["x"], [before.mu[0]], rtol=1e-6)
    # The decoded samples follow: they are the decodes of the moved samples.
    wait_idle(qtbot, view, "decode")
    assert_decodes_current(view, session)


def test_fixed_eps_scaling_sigma_scales_the_offsets(qtbot, view, session):
    before = session.posterior().samples
    view.scale_sliders[0].setValue(2.5)
    view.scale_sliders[1].setValue(0.5)
    after = session.posterior().samples
    np.testing.assert_array_equal(session.eps.scale, [2.5, 0.5])
    np.testing.assert_array_equal(after.eps, before.eps)
    np.testing.assert_allclose(after.mu, before.mu)
    np.testing.assert_allclose(
        after.z - after.mu,
        (before.z - before.mu) * np.array([2.5, 0.5]),
        rtol=1e-5,
        atol=1e-6,
    )
    # The 1σ ellipse is drawn at the scaled sigma.
    xs = view.ellipse1.getData()[0]
    assert xs.max() - after.mu[0] == pytest.approx(after.sigma[0], rel=1e-4)
    view.scale_sliders[0].setValue(0.0)
    np.testing.assert_allclose(session.posterior().samples.z[:, 0], after.mu[0])
    # Reset: mu back at mu(x), the sliders back at 1.
    view.set_mu_xy(0.3, -0.2)
    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    post = session.posterior()
    np.testing.assert_array_equal(post.samples.mu, post.mu0)
    np.testing.assert_array_equal(post.samples.sigma, post.sigma0)
    assert [s.value() for s in view.scale_sliders] == [1.0, 1.0]


def test_resample_changes_eps_and_keeps_mu_and_sigma(qtbot, view, session):
    view.set_mu_xy(0.3, -0.2)
    before = session.posterior().samples
    qtbot.mouseClick(view.resample_button, Qt.MouseButton.LeftButton)
    after = session.posterior().samples
    assert not np.allclose(after.eps, before.eps)
    np.testing.assert_array_equal(after.mu, before.mu)
    np.testing.assert_array_equal(after.sigma, before.sigma)
    np.testing.assert_allclose(after.z, after.mu + after.sigma * after.eps, rtol=1e-6)
    np.testing.assert_allclose(view.samples_item.data["x"], after.z[:, 0])
    wait_idle(qtbot, view, "decode")
    assert_decodes_current(view, session)
    # Without fixed ε, moving mu also draws new noise.
    view.fixed_box.setChecked(False)
    view.set_mu_xy(0.1, 0.1)
    assert not np.allclose(session.posterior().samples.eps, after.eps)


def test_the_caption_follows_the_fixed_eps_toggle(qtbot, view, session):
    # Decoded: the caption also says how much the samples differ (issue 28, #6).
    assert view.grid_caption.text().startswith(caption_text(K_DEFAULT, True) + ".")
    view.fixed_box.click()
    assert not session.eps.fixed
    assert view.grid_caption.text() == caption_text(K_DEFAULT, False)
    assert "(fixed ε)" not in view.grid_caption.text()
    assert "also on drag" in view.resample_button.text()
    session.set_eps_fixed(True)  # from elsewhere: the box and caption follow
    assert view.fixed_box.isChecked()
    assert view.grid_caption.text().endswith("(fixed ε)")


def test_sample_count_keeps_existing_noise(qtbot, view, session):
    eps = session.eps.eps.copy()
    view.k_slider.setValue(256)
    assert session.eps.eps.shape == (256, 2)
    np.testing.assert_array_equal(session.eps.eps[: len(eps)], eps)
    view.k_slider.setValue(5)
    np.testing.assert_array_equal(session.eps.eps, eps[:5])
    assert len(view.samples_item.data) == 5
    wait_idle(qtbot, view, "decode")
    assert view.grid.count == 5
    assert_decodes_current(view, session)
    assert view.grid_caption.text().startswith("5 decoded samples")


def test_hovering_a_sample_shows_its_equation(qtbot, view, session):
    view.k_slider.setValue(4)
    s = session.posterior().samples
    plane = view.plane
    px, py = plane.view_box.viewPixelSize()
    pix = s.z / np.array([px, py])
    gaps = np.sqrt(((pix[:, None] - pix[None]) ** 2).sum(-1)) + np.eye(len(pix)) * 1e9
    j = int(gaps.min(1).argmax())
    assert j != view.hovered or j == 0
    if j == view.hovered:
        view.set_hovered(1)
    with qtbot.waitSignal(view.sampleHovered) as blocker:
        qtbot.mouseMove(plane.viewport(), plane.scene_pos_of(*s.z[j]))
    assert blocker.args == [j]
    text = view.equation.text()
    assert f"sample {j + 1} of 4" in text
    for value in (s.mu[0], s.sigma[0], s.eps[j, 0], s.z[j, 0]):
        assert f"{abs(value):.3f}" in text, f"{value:.3f} missing from the equation"
    np.testing.assert_allclose(view.hover_ring.data["x"], [s.z[j, 0]])
    np.testing.assert_allclose(view.hover_line.getData()[0], [s.mu[0], s.z[j, 0]])


def test_gallery_click_picks_that_input(qtbot, view, session):
    gallery = view.gallery
    k = 4
    target = gallery.indices[k]
    assert session.selection.current != target
    centre = gallery.tiles.tile_rect(k).center().toPoint()
    qtbot.mouseClick(gallery.tiles, Qt.MouseButton.LeftButton, pos=centre)
    assert session.selection.current == target
    assert f"#{target}" in view.input_label.text()
    np.testing.assert_allclose(
        view.mu_handle.pos().x(), session.sides[1].codes.mu[target, 0], atol=1e-5
    )
    wait_idle(qtbot, view, "decode")
    assert_decodes_current(view, session)


def test_a_click_in_the_plane_picks_the_nearest_test_point(qtbot, view, session):
    plane = view.plane
    view.fit_whole()
    side = session.sides[1]
    xy = side.latent_slice.project(side.codes.mu)
    i = isolated_visible_point(plane, xy)
    qtbot.mouseClick(
        plane.viewport(), Qt.MouseButton.LeftButton, pos=plane.scene_pos_of(*xy[i])
    )
    assert session.selection.current == i
    # A click away from every point keeps the input.
    view.fit_whole()
    rect = plane.view_rect()
    corner = (rect.x0 + 0.01 * rect.width, rect.y1 - 0.01 * rect.height)
    assert nearest_point(xy, corner, plane.view_box.viewPixelSize()) is None
    qtbot.mouseClick(
        plane.viewport(), Qt.MouseButton.LeftButton, pos=plane.scene_pos_of(*corner)
    )
    assert session.selection.current == i


def test_zoom_and_whole_plane(qtbot, view, session):
    side = session.sides[1]
    xy = side.latent_slice.project(side.codes.mu)
    qtbot.mouseClick(view.whole_button, Qt.MouseButton.LeftButton)
    whole = view.plane.view_rect()
    inside = (
        (xy[:, 0] > whole.x0)
        & (xy[:, 0] < whole.x1)
        & (xy[:, 1] > whole.y0)
        & (xy[:, 1] < whole.y1)
    )
    assert inside.mean() > 0.98
    view.set_mu_xy(0.5, 0.5)
    qtbot.mouseClick(view.zoom_button, Qt.MouseButton.LeftButton)
    rect = view.plane.view_rect()
    assert rect.width < whole.width
    cx, cy = (rect.x0 + rect.x1) / 2, (rect.y0 + rect.y1) / 2
    assert (cx, cy) == pytest.approx((0.5, 0.5), abs=0.02 * rect.width)


def test_non_finite_codes_are_never_picked(qtbot, view, session, shipped):
    vae = shipped["vae"]
    mu = vae.codes.mu.copy()
    mu[:5] = np.nan
    mu[5] = np.inf
    broken = Side(
        checkpoint=vae.checkpoint,
        model=vae.model,
        dataset=vae.dataset,
        codes=Codes(mu, vae.codes.sigma),
        latent_slice=vae.latent_slice,
    )
    session.pick(40)
    session.set_side(1, broken)  # must not raise
    assert view.plane.point_count() == len(mu) - 6
    assert nearest_point(mu[:, :2], (np.nan, 0.0), (1.0, 1.0)) is None
    # A click exactly where a NaN code would project picks a finite one or none.
    view.fit_whole()
    plane = view.plane
    qtbot.mouseClick(
        plane.viewport(), Qt.MouseButton.LeftButton, pos=plane.scene_pos_of(0.0, 0.0)
    )
    assert session.selection.current not in range(6)
    assert view.mu_handle.isVisible()
    # Picked from elsewhere, a NaN input shows no samples, only why.
    session.pick(2)
    assert session.posterior() is None
    assert "NaN or infinity" in view.input_label.text()
    assert not view.mu_handle.isVisible()
    assert len(view.samples_item.data) == 0
    assert view.grid.images is None and view.equation.text() == ""
    assert not view.resample_button.isEnabled()
    session.pick(7)
    assert view.mu_handle.isVisible() and len(view.samples_item.data) == K_DEFAULT
    wait_idle(qtbot, view, "decode")
    assert_decodes_current(view, session)


@pytest.fixture(scope="module")
def wide_vae(tmp_path_factory) -> Side:
    """A 5-D VAE trained for one epoch on a small shapes set."""
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import make_shapes
    from latentlab.core.latent import encode_images
    from latentlab.core.training import new_model, train

    data = make_shapes(n_train=600, n_test=300)
    model = new_model(ModelConfig(kind="vae", latent_dim=5, hidden=(64, 32)), seed=0)
    for _ in train([model], data, TrainConfig(epochs=1, threads=1)):
        pass
    path = save_checkpoint(
        tmp_path_factory.mktemp("wide") / "vae5.pt", model, dataset=data.identity()
    )
    ckpt = load_checkpoint(path)
    codes = encode_images(ckpt.model, data.test_images)
    base = tuple(float(v) for v in codes.mu.mean(0))
    return Side(
        checkpoint=ckpt,
        model=ckpt.model,
        dataset=data,
        codes=codes,
        latent_slice=LatentSlice(5, (3, 1), base),
    )


def test_wide_latent_works_in_the_two_chosen_dims(qtbot, wide_vae, no_threads_left):
    session = Session(seed=0)
    session.set_side(1, wide_vae)
    jobs = qt_workspace(session)
    view = EpsView(jobs)
    show(qtbot, view)
    wait_idle(qtbot, view, "decode")
    assert session.eps.eps.shape == (K_DEFAULT, 5)
    before = session.posterior().samples
    handle = view.mu_handle.pos()
    assert (handle.x(), handle.y()) == pytest.approx(
        (before.mu[3], before.mu[1]), abs=1e-5
    )
    view.set_mu_xy(float(before.mu[3]) + 0.5, float(before.mu[1]) - 0.25)
    view.scale_sliders[0].setValue(3.0)
    after = session.posterior().samples
    np.testing.assert_allclose(after.mu - before.mu, [0, -0.25, 0, 0.5, 0], atol=1e-6)
    np.testing.assert_allclose(after.sigma / before.sigma, [1, 1, 1, 3, 1], rtol=1e-6)
    np.testing.assert_array_equal(after.eps, before.eps)
    text = view.equation.text()
    assert "z₄ =" in text and "z₂ =" in text and "The other 3 dims" in text
    assert view.scale_labels[0].text().startswith("σ of z₄")
    handle = view.mu_handle.pos()
    assert (handle.x(), handle.y()) == pytest.approx(
        (after.mu[3], after.mu[1]), abs=1e-5
    )
    wait_idle(qtbot, view, "decode")
    assert_decodes_current(view, session)
    view.shutdown()
    assert jobs.close(5000)


# --- needs, laziness and stale results ------------------------------------------------


def test_the_view_waits_for_a_vae(qtbot, shipped, no_threads_left):
    session = Session(seed=0)
    jobs = qt_workspace(session)
    view = EpsView(jobs)
    show(qtbot, view)
    assert view.showing_message and "needs a VAE" in view.message.text()
    session.set_side(1, shipped["vae"])
    assert not view.showing_message
    wait_idle(qtbot, view, "decode")
    assert view.grid.images is not None and view.plane.point_count() > 0
    # The VAE replaced by an AE, on both sides: nothing of it is left.
    session.set_side(1, shipped["ae"])
    session.set_side(0, shipped["ae"])
    assert view.showing_message and "needs a VAE" in view.message.text()
    assert view.plane.point_count() == 0
    assert view.grid.images is None and view.mu_tile.images is None
    assert view.input_tile.images is None and view.gallery.indices == []
    assert len(view.samples_item.data) == 0 and not view.mu_handle.isVisible()
    assert view.ellipse1.getData()[0] is None or len(view.ellipse1.getData()[0]) == 0
    assert view.equation.text() == "" and view.decoded is None
    wait_idle(qtbot, view, "decode")
    assert view.grid.images is None, "a decode that was under way came back"
    view.shutdown()
    assert jobs.close(5000)


def test_a_hidden_view_does_no_work_until_shown(qtbot, session, jobs):
    view = EpsView(jobs)
    qtbot.addWidget(view)
    assert view.refresh_count == 0 and view.stale
    session.pick(11)
    session.resample_eps()
    session.set_count(8)
    assert view.refresh_count == 0, "a hidden view refreshed"
    assert not view.busy("decode")
    assert view.plane.point_count() == 0
    show(qtbot, view)
    assert view.refresh_count == 2, "one redraw and one decode job"
    assert not view.stale
    wait_idle(qtbot, view, "decode")
    assert view.grid.count == 8
    assert_decodes_current(view, session)
    view.hide()
    count = view.refresh_count
    session.pick(12)
    assert view.refresh_count == count and view.stale
    view.shutdown()


def test_a_stale_decode_is_dropped(qtbot, view, session, jobs):
    """A decode that was running when the input changed is never shown."""
    dropped = jobs.dropped
    session.pick(20)  # starts a decode for input 20
    assert view.busy("decode")
    session.pick(21)  # while it runs: its result is stale
    wait_idle(qtbot, view, "decode")
    assert jobs.dropped > dropped
    assert session.posterior().index == 21
    assert_decodes_current(view, session)


def test_an_ae_beside_it_does_not_redraw_the_vae_plane(qtbot, view, session, shipped):
    points = view.plane.points
    drawn = points.x  # set_groups replaces this array
    session.set_side(0, shipped["ae"])  # a new AE record on the other side
    assert points.x is drawn, "the VAE's 10k points were redrawn for an AE"
    session.update_side(1, note="x")  # the VAE's side changed: redrawn
    assert points.x is not drawn
    assert view.plane.point_count() == len(session.sides[1].codes.mu)


def assert_laid_out(qtbot, view) -> None:
    """In the tab area of a 1024×720 window no two sibling widgets overlap and
    no button is narrower than its text: the body scrolls rather than squeeze."""
    view.resize(1000, 560)
    qtbot.wait(50)

    def check(parent: QWidget) -> None:
        kids = [
            w
            for w in parent.findChildren(QWidget)
            if w.parentWidget() is parent and w.isVisible()
        ]
        for i, a in enumerate(kids):
            for b in kids[i + 1 :]:
                inter = a.geometry().intersected(b.geometry())
                assert inter.isEmpty() or min(inter.width(), inter.height()) <= 1, (
                    f"{a.__class__.__name__} overlaps {b.__class__.__name__}"
                )
        for b in parent.findChildren(QAbstractButton):
            if b.isVisible():
                assert b.width() >= b.minimumSizeHint().width(), b.text()

    for w in [view.body, *view.body.findChildren(QWidget)]:
        if w.isVisible() and w.layout() is not None:
            check(w)
    body = view.body
    assert body.width() >= body.layout().minimumSize().width()
    assert body.height() >= body.layout().minimumSize().height()
    assert body.width() <= 1000, "the body is wider than a 1024 px window"


def test_nothing_overlaps_or_clips_at_1024x720(qtbot, view):
    assert_laid_out(qtbot, view)
    assert view.plane.width() >= 300 and view.grid.width() >= 200


def text_items(plot) -> list:
    """The plot's ``TextItem``s, the target labels of ``TargetItem``s included."""
    return [i for i in plot.scene().items() if isinstance(i, pg.TextItem)]


def test_the_plane_holds_no_text_item(qtbot, view, session):
    """A TextItem in a plot whose view has no size (not laid out yet, or
    squeezed) inverts a singular transform: pyqtgraph 0.14's pseudo-inverse
    then assigns ``ndarray.shape``, an error under numpy 2.5 (the autouse spy
    fails any test that takes that path)."""
    view.k_slider.setValue(3)
    view.set_hovered(2)
    view.zoom_to_posterior()
    assert text_items(view.plane) == []


def test_closing_drops_the_decode(qtbot, view, session):
    session.pick(30)
    assert view.busy("decode")
    view.shutdown()
    count = view.refresh_count
    session.pick(31)
    assert QThreadPool.globalInstance().waitForDone(5000)
    qtbot.waitUntil(lambda: not view.busy("decode"), timeout=5000)
    assert view.refresh_count == count, "a closed view refreshed"


def test_the_sigma_note_is_computed_from_the_models_codes(qtbot):
    from latentlab.qt.analysis.eps import sigma_note

    codes = Codes(
        mu=np.array([[0.0, 1.0], [2.0, 3.0]], np.float32),
        sigma=np.array([[0.1, 0.2], [0.3, 0.4]], np.float32),
    )
    text = sigma_note(codes, beta=4.0)
    assert "Mean σ(x) over the test set: 0.25" in text
    assert "s.d. of μ(x)) of 1" in text
    assert "β = 4" in text
