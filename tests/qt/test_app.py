"""The main window end to end: clicks decode, training runs and stops, files load."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt, QThreadPool

from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.training import new_model
from latentlab.core.training_run import TrainSpec
from latentlab.qt.app import create_window

from .conftest import SHAPES_PAIR, wait_loaded

_wait_loaded = wait_loaded


def test_click_decodes_the_point_under_the_cursor_in_both_panels(qtbot, window):
    plane = window.panels[0].plane
    target = (1.3, -0.7)
    pos = plane.scene_pos_of(*target)
    with qtbot.waitSignal(plane.latentClicked) as blocker:
        qtbot.mouseClick(plane.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    x, y = blocker.args
    px, py = plane.view_box.viewPixelSize()
    assert abs(x - target[0]) <= 1.5 * px and abs(y - target[1]) <= 1.5 * py
    for side in (0, 1):
        model = window.controller.workspace.slots[side].model
        with torch.no_grad():
            expected = model.decode(torch.tensor([[x, y]], dtype=torch.float32))
        shown = window.panels[side].decode.image
        assert shown is not None, f"panel {side} shows no decoded image"
        np.testing.assert_array_equal(shown, expected[0, 0].numpy())
        np.testing.assert_allclose(window.panels[side].decode.z, [x, y])
        # The crosshair marks the same z in both planes.
        shown_at = window.panels[side].plane.crosshair.position()
        assert shown_at == pytest.approx((x, y))


def test_drag_decodes_continuously(qtbot, window):
    plane = window.panels[1].plane
    viewport = plane.viewport()
    start = plane.scene_pos_of(-1.0, 0.0)
    seen = []
    plane.latentClicked.connect(lambda x, y: seen.append((x, y)))
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for dx in range(0, 120, 10):
        qtbot.mouseMove(viewport, start + QPoint(dx, 0))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(110, 0))
    xs = [x for x, _ in seen]
    assert len(seen) >= 5, f"a drag produced only {len(seen)} decodes"
    assert xs == sorted(xs), "decodes did not follow the cursor to the right"
    assert window.panels[0].decode.z[0] == pytest.approx(xs[-1])


def test_a_press_decodes_before_the_release_and_the_click_adds_nothing(qtbot, window):
    plane = window.panels[0].plane
    viewport = plane.viewport()
    seen, picks = [], []
    plane.latentClicked.connect(lambda x, y: seen.append((x, y)))
    plane.pickRequested.connect(lambda x, y: picks.append((x, y)))
    pos = plane.scene_pos_of(0.8, 0.4)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=pos)
    # Both panels show the decode while the button is still down.
    assert len(seen) == 1
    for side in (0, 1):
        np.testing.assert_allclose(window.panels[side].decode.z, seen[0], rtol=1e-6)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=pos)
    assert len(seen) == 1, "the release decoded the same point again"
    # Ctrl+click picks on release and decodes nothing.
    ctrl = Qt.KeyboardModifier.ControlModifier
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, ctrl, pos)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, ctrl, pos)
    assert len(seen) == 1 and len(picks) == 1
    # A plane with draggable items of its own (the ε view's μ) acts on the
    # click, so that a press starting a drag picks nothing.
    eps = window.view("eps")
    window.tabs.setCurrentWidget(eps)
    qtbot.waitExposed(eps.plane)
    eps_seen = []
    eps.plane.latentClicked.connect(lambda x, y: eps_seen.append((x, y)))
    r = eps.plane.view_rect()
    at = eps.plane.scene_pos_of(r.x0 + 0.2 * r.width, r.y0 + 0.8 * r.height)
    qtbot.mousePress(eps.plane.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert eps_seen == []
    qtbot.mouseRelease(eps.plane.viewport(), Qt.MouseButton.LeftButton, pos=at)
    assert len(eps_seen) == 1


def test_manifold_covers_the_visible_rect_with_square_tiles(qtbot, window):
    panel = window.panels[1]
    manifold = panel.plane.manifold

    def covers_view():
        assert manifold.image is not None, "no manifold yet"
        placed = manifold.mapRectToParent(manifold.boundingRect())
        view = panel.plane.view_rect()
        assert placed.left() <= view.x0 + 1e-6 and placed.right() >= view.x1 - 1e-6
        assert placed.top() <= view.y0 + 1e-6 and placed.bottom() >= view.y1 - 1e-6

    qtbot.waitUntil(covers_view, timeout=10000)
    image = manifold.image
    n = panel.resolution.currentData()
    rows, cols = image.shape[0] // 28, image.shape[1] // 28
    assert image.shape == (28 * rows, 28 * cols) and max(rows, cols) == n
    assert image.dtype == np.uint8 and image.max() > image.min()  # grey levels
    placed = manifold.mapRectToParent(manifold.boundingRect())
    assert placed.width() / cols == pytest.approx(placed.height() / rows, rel=1e-3)


def test_panels_are_titled_from_the_checkpoints(window):
    assert window.panels[0].title.text() == "AE · shapes · 2-D · 20 epochs"
    assert window.panels[1].title.text() == "VAE · shapes · 2-D · β=1 · 20 epochs"


def test_bad_file_shows_an_error_and_keeps_the_model(qtbot, window, tmp_path):
    before = window.controller.workspace.slots[0].checkpoint
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x00not a checkpoint" * 50)
    with qtbot.waitSignal(window.controller.errorRaised, timeout=10000) as blocker:
        window.open_file(0, str(bad))
    title, message = blocker.args
    assert "broken.pt" in title
    assert "refused" in message or "corrupt" in message, message
    assert window.last_error == (title, message)
    assert window.controller.workspace.slots[0].checkpoint is before
    assert window.panels[0].title.text().startswith("AE · shapes")


def test_loading_two_checkpoints_fills_the_panels(qtbot, window, tmp_path):
    cfg = ModelConfig(kind="vae", beta=4.0)
    path = tmp_path / "beta4.pt"
    save_checkpoint(path, new_model(cfg, seed=3), dataset={"name": "shapes"})
    window.open_file(0, str(path))
    qtbot.waitUntil(
        lambda: window.panels[0].title.text().startswith("VAE · shapes · 2-D · β=4"),
        timeout=10000,
    )
    assert window.controller.workspace.slots[0].checkpoint.path == path
    recent = window.settings.value("recentFiles")
    assert str(path) in (recent if isinstance(recent, list) else [recent])


def test_train_from_the_ui_then_stop_leaves_usable_models(qtbot, window, tmp_path):
    panel = window.train_panel
    panel.dataset.setCurrentIndex(panel.dataset.findData("shapes"))
    panel.epochs.setValue(200)
    progress = []
    window.controller.trainingProgress.connect(progress.append)
    with qtbot.waitSignal(window.controller.trainingProgress, timeout=30000):
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert not panel.train_button.isEnabled() and panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: len(progress) >= 3, timeout=30000)
    with qtbot.waitSignal(window.controller.trainingFinished, timeout=10000) as done:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert done.args == ["stopped"]
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()
    assert len(panel.curves["vae_recon"].x) >= 3
    assert progress[-1].recon[0] < progress[0].recon[0], "AE loss did not fall"
    steps = len(panel.curves["vae_recon"].x)
    ctrl = window.controller
    qtbot.waitUntil(
        lambda: (
            all(
                any(s.checkpoint is c for c in ctrl.run_checkpoints)
                for s in ctrl.workspace.slots
            )
            and not (ctrl.jobs.busy("load0") or ctrl.jobs.busy("load1"))
        ),
        timeout=10000,
    )
    _wait_loaded(qtbot, window)
    # Stopped within the first epoch: the run's own curves stay on screen (the
    # models' per-epoch history is still empty).
    assert len(panel.curves["vae_recon"].x) == steps
    assert panel.source.text() == "this run"
    for side in (0, 1):
        model = window.controller.workspace.slots[side].model
        assert all(torch.isfinite(p).all() for p in model.parameters())
    window.controller.decode_at(0.0, 0.0)
    assert window.panels[1].decode.image is not None
    out = tmp_path / "stopped-vae.pt"
    with qtbot.waitSignal(window.controller.status, timeout=10000):
        window.controller.save(1, out, overwrite=False)
    qtbot.waitUntil(out.exists, timeout=5000)
    assert load_checkpoint(out).config.kind == "vae"


def test_training_runs_to_the_end_and_updates_the_curves(qtbot, window):
    panel = window.train_panel
    panel.epochs.setValue(1)
    epochs = []
    window.controller.trainingEpoch.connect(epochs.append)
    with qtbot.waitSignal(window.controller.trainingFinished, timeout=120000) as done:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert done.args == ["done"]
    assert len(epochs) == 1
    assert len(panel.curves["ae_test"].x) == 1
    assert panel.progress.value() == panel.progress.maximum()
    qtbot.waitUntil(
        lambda: (
            window.panels[1].title.text()
            == "VAE · shapes · 2-D · β=1 · 1 epoch · unsaved"
        ),
        timeout=10000,
    )
    for side in (0, 1):
        history = window.controller.workspace.slots[side].checkpoint.history
        assert len(history) == 1 and np.isfinite(history[0].test_recon)


def test_closing_mid_training_leaves_no_thread(qtbot, tmp_path):
    win = create_window(SHAPES_PAIR, None)
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    _wait_loaded(qtbot, win)
    win.train_panel.epochs.setValue(500)
    with qtbot.waitSignal(win.controller.trainingProgress, timeout=30000):
        win.train_panel.train_button.click()
    win.close_discarding()
    # closeEvent waits up to a second for the workers: none may be left.
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    qtbot.waitUntil(lambda: not win.controller.training, timeout=1000)


def test_non_finite_codes_are_left_out_and_reported(qtbot, window):
    from dataclasses import replace

    side = 1
    panel = window.controller.workspace.slots[side]
    mu = panel.codes.mu.copy()
    mu[:5] = np.nan
    mu[5] = np.inf
    window.session.update_side(side, codes=replace(panel.codes, mu=mu))
    widget = window.panels[side]
    assert "6 test image(s) encode to NaN or infinity" in widget.note.text()
    assert widget.plane.point_count() == len(mu) - 6
    rect = widget.plane.view_rect()
    assert np.isfinite([rect.x0, rect.x1, rect.y0, rect.y1]).all()


def test_wide_latent_shows_a_chosen_slice_and_decodes_through_it(
    qtbot, window, tmp_path
):
    path = tmp_path / "vae5.pt"
    save_checkpoint(
        path, new_model(ModelConfig(latent_dim=5), seed=1), dataset={"name": "shapes"}
    )
    window.open_file(1, str(path))
    widget = window.panels[1]
    qtbot.waitUntil(
        lambda: widget.title.text().startswith("VAE · shapes · 5-D"), timeout=10000
    )
    assert widget.slice_row.isVisible()
    widget.dim_x.setCurrentIndex(3)
    widget.dim_y.setCurrentIndex(1)
    widget.others.setText("0.5, 0, -1, 0, 2")
    with qtbot.waitSignal(widget.sliceChanged) as blocker:
        widget.others.editingFinished.emit()
    latent_slice = blocker.args[0]
    assert latent_slice.dims == (3, 1)
    assert widget.plane.getAxis("bottom").labelText == "z4"
    plane = widget.plane
    with qtbot.waitSignal(plane.latentClicked) as click:
        qtbot.mouseClick(
            plane.viewport(),
            Qt.MouseButton.LeftButton,
            pos=plane.scene_pos_of(0.8, -0.3),
        )
    x, y = click.args
    z = np.array([[0.5, y, -1.0, x, 2.0]], dtype=np.float32)
    model = window.controller.workspace.slots[1].model
    with torch.no_grad():
        expected = model.decode(torch.from_numpy(z))[0, 0].numpy()
    np.testing.assert_array_equal(widget.decode.image, expected)
    np.testing.assert_allclose(widget.decode.z, z[0])


def test_a_pca_plane_shows_the_codes_principal_components(qtbot, window, tmp_path):
    path = tmp_path / "vae5.pt"
    save_checkpoint(
        path, new_model(ModelConfig(latent_dim=5), seed=1), dataset={"name": "shapes"}
    )
    window.open_file(1, str(path))
    widget = window.panels[1]
    qtbot.waitUntil(lambda: window.session.sides[1].latent_slice.latent_dim == 5)
    widget.plane_mode.setCurrentIndex(1)
    with qtbot.waitSignal(widget.sliceChanged):
        widget.plane_mode.activated.emit(1)
    side = window.session.sides[1]
    sl = side.latent_slice
    assert sl.is_projection
    # An independent PCA: the plane's coordinates carry the codes' largest
    # variances, in decreasing order, and nothing is lost going up and back.
    mu = side.codes.mu.astype(np.float64)
    eig = np.linalg.eigvalsh(np.cov(mu.T))[::-1]
    xy = sl.project(mu)
    np.testing.assert_allclose(xy.var(0, ddof=1), eig[:2], rtol=1e-3)
    assert widget.plane.getAxis("bottom").labelText.startswith("PC 1")
    plane = widget.plane
    with qtbot.waitSignal(plane.latentClicked) as click:
        qtbot.mouseClick(
            plane.viewport(),
            Qt.MouseButton.LeftButton,
            pos=plane.scene_pos_of(0.2, 0.1),
        )
    x, y = click.args
    lifted = mu.mean(0) + x * np.array(sl.axes[0]) + y * np.array(sl.axes[1])
    np.testing.assert_allclose(widget.decode.z, lifted, atol=1e-5)
    # Back to dims: the plane is two latent dims again.
    widget.plane_mode.setCurrentIndex(0)
    with qtbot.waitSignal(widget.sliceChanged):
        widget.plane_mode.activated.emit(0)
    assert not window.session.sides[1].latent_slice.is_projection


def test_bad_slice_values_are_refused_with_a_message(qtbot, window, tmp_path):
    path = tmp_path / "vae3.pt"
    save_checkpoint(
        path, new_model(ModelConfig(latent_dim=3)), dataset={"name": "shapes"}
    )
    window.open_file(0, str(path))
    widget = window.panels[0]
    qtbot.waitUntil(lambda: widget.slice_row.isVisible(), timeout=10000)
    widget.others.setText("1, two")
    with qtbot.assertNotEmitted(widget.sliceChanged):
        widget.others.editingFinished.emit()
    assert "Slice not changed" in widget.note.text()


def test_exports_write_png_files(window, tmp_path):
    window.controller.decode_at(0.2, 0.1)
    decoded = tmp_path / "decoded.png"
    assert window.panels[1].decode.export_png(str(decoded))
    view = tmp_path / "view.png"
    assert window.panels[0].plane.grab().save(str(view))
    from PySide6.QtGui import QImage

    img = QImage(str(decoded))
    assert (img.width(), img.height()) == (28 * 8, 28 * 8)
    assert QImage(str(view)).width() > 100


def test_dropping_a_checkpoint_on_a_panel_loads_it(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    path = tmp_path / "dropped.pt"
    save_checkpoint(
        path,
        new_model(ModelConfig(kind="ae", latent_dim=2), seed=7),
        dataset={"name": "shapes"},
    )
    widget = window.panels[1]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = widget.rect().center()
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    try:  # PySide6 6.12 deprecates the QPoint form; 6.11 has only that one
        enter = QDragEnterEvent(QPointF(centre), *args)
    except TypeError:
        enter = QDragEnterEvent(centre, *args)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(centre),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, drop)
    qtbot.waitUntil(
        lambda: (
            window.controller.workspace.slots[1].checkpoint is not None
            and window.controller.workspace.slots[1].checkpoint.path == path
        ),
        timeout=10000,
    )
    assert widget.title.text() == "AE · shapes · 2-D · 0 epochs"


def test_pause_holds_training_and_resume_goes_on(qtbot, window):
    panel = window.train_panel
    ctrl = window.controller
    panel.epochs.setValue(200)
    progress = []
    events = []
    ctrl.trainingProgress.connect(lambda p: progress.append(p.step))
    ctrl.trainingProgress.connect(lambda p: events.append((time.perf_counter(), p)))
    with qtbot.waitSignal(ctrl.trainingProgress, timeout=30000):
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(ctrl.trainingPaused, timeout=5000) as paused:
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert paused.args == [True] and panel.pause_button.text() == "Resume"
    qtbot.wait(700)  # what was sent before the pause has arrived by now
    held = len(progress)
    qtbot.wait(700)
    assert len(progress) == held, "training went on while paused"
    assert panel.progress.format().startswith("Paused — epoch ")
    with qtbot.waitSignal(ctrl.trainingPaused, timeout=5000) as resumed:
        qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert resumed.args == [False] and panel.pause_button.text() == "Pause"
    assert not panel.progress.format().startswith("Paused")
    qtbot.waitUntil(lambda: len(progress) > held + 2, timeout=10000)
    assert progress[-1] > progress[held - 1]
    # Across the pause (1.4 s, less the delivery of the last step before it) the
    # run's clock, the ETA's, stood still: counted, it would move with the wall's.
    wall, run = max(
        (b[0] - a[0], b[1].elapsed_s - a[1].elapsed_s)
        for a, b in itertools.pairwise(events)
    )
    assert wall - run > 0.7
    latest = events[-1][1]
    tip = panel.progress.toolTip()
    assert any(
        f"over the last {p.rate_seconds:.1f} s of steps" in tip for _, p in events
    )
    assert latest.rate_seconds > 0
    with qtbot.waitSignal(ctrl.trainingFinished, timeout=10000) as done:
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert done.args == ["stopped"]


def test_snapshots_redraw_the_manifold_only_while_it_is_shown(qtbot, window):
    ctrl = window.controller
    window.panels[0].manifold_box.setChecked(False)
    window.train_panel.epochs.setValue(200)
    with qtbot.waitSignal(ctrl.trainingProgress, timeout=30000):
        window.train_panel.train_button.click()
    grids = {0: 0, 1: 0}
    ctrl.gridReady.connect(lambda side, *_: grids.__setitem__(side, grids[side] + 1))
    # Each snapshot re-encodes both planes; only the right one redraws its grid.
    qtbot.waitUntil(lambda: grids[1] >= 3, timeout=30000)
    assert grids[0] == 0
    assert window.panels[1].plane.has_manifold()
    with qtbot.waitSignal(ctrl.trainingFinished, timeout=10000):
        ctrl.stop_training()


def test_training_a_wider_latent_redraws_its_own_manifold(qtbot, window):
    """The 2-D models' manifold request must not leak into a 3-D training run."""
    ctrl = window.controller
    grids = []
    ctrl.gridReady.connect(lambda side, manifold: grids.append(side))
    ctrl.start_training(TrainSpec(dataset="shapes", latent_dim=3, epochs=200))
    qtbot.waitUntil(lambda: grids.count(1) >= 3, timeout=30000)
    assert window.last_error is None, window.last_error
    for side in (0, 1):
        panel = ctrl.workspace.slots[side]
        assert panel.model is not None and panel.model.config.latent_dim == 3
        assert panel.codes is not None and panel.codes.mu.shape[1] == 3
    with qtbot.waitSignal(ctrl.trainingFinished, timeout=10000):
        ctrl.stop_training()


def test_a_click_or_drag_on_an_axis_decodes_nothing_and_pans_along_it(qtbot, window):
    # The axes pass their mouse events to the view: a press there mapped to a
    # point outside the view and decoded it.
    for side in (0, 1):
        plane = window.panels[side].plane
        viewport = plane.viewport()
        seen = []
        plane.latentClicked.connect(lambda x, y, out=seen: out.append((x, y)))
        view = plane.mapFromScene(plane.view_box.sceneBoundingRect()).boundingRect()
        axes = {
            "left": QPoint(view.left() - 12, view.center().y()),
            "bottom": QPoint(view.center().x(), view.bottom() + 12),
        }
        for name, pos in axes.items():
            on_axis = plane.getAxis(name).sceneBoundingRect()
            assert on_axis.contains(plane.mapToScene(pos)), f"{pos} is not on {name}"
            qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
            ctrl = Qt.KeyboardModifier.ControlModifier
            qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, ctrl, pos)
            before = plane.view_rect()
            qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=pos)
            for step in range(1, 7):
                qtbot.mouseMove(viewport, pos + QPoint(5 * step, 5 * step))
            end = pos + QPoint(30, 30)
            qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
            after = plane.view_rect()
            moved_x, moved_y = after.x0 != before.x0, after.y0 != before.y0
            # The left axis pans in z2 only, the bottom one in z1 only.
            assert (moved_x, moved_y) == (
                (False, True) if name == "left" else (True, False)
            )
            assert after.width == pytest.approx(before.width)
        assert seen == [], f"plane {side} decoded {seen[:3]} from its axes"
        # Inside the view a click still decodes.
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=view.center())
        assert len(seen) == 1
