"""The training timeline under each plane, and linked selection between planes.

Both through real widgets: a pair trained here on the embedded shapes (1 thread,
2 epochs, a small MLP), saved with its timeline and opened in the window.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.qt.conftest import wait_loaded

if TYPE_CHECKING:
    from pathlib import Path

EPOCHS = 2
ALT = Qt.KeyboardModifier.AltModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture(scope="module")
def trained_pair(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    from latentlab.core.checkpoints import save_checkpoint
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import load_dataset
    from latentlab.core.training import new_model, train

    full = load_dataset("shapes")
    # Fewer training images, the same test split: the app finds its data by name.
    data = dataclasses.replace(full, train_images=full.train_images[:1500])
    cfg = ModelConfig(kind="ae", hidden=(32,), image_shape=full.image_shape)
    models = [new_model(cfg), new_model(dataclasses.replace(cfg, kind="vae"))]
    run = train(models, data, TrainConfig(epochs=EPOCHS, batch_size=100, threads=1))
    while True:
        try:
            next(run)
        except StopIteration as stop:
            result = stop.value
            break
    folder = tmp_path_factory.mktemp("pair")
    paths = []
    for model, history, tl in zip(
        models, result.histories, result.timelines, strict=True
    ):
        path = folder / f"{model.config.kind}.pt"
        save_checkpoint(
            path, model, history=history, dataset=full.identity(), timeline=tl
        )
        paths.append(str(path))
    return paths


@pytest.fixture
def win(qtbot, no_threads_left, trained_pair):
    from latentlab.qt.app import create_window

    w = create_window(trained_pair, None)
    qtbot.addWidget(w, before_close_func=lambda x: x.close_discarding())
    w.resize(1280, 900)
    w.show()
    qtbot.waitExposed(w)
    wait_loaded(qtbot, w)
    qtbot.waitUntil(lambda: all(p.timeline_row.isVisible() for p in w.panels))
    yield w
    w.close_discarding()


def _drag(qtbot, plane, points, modifiers) -> list[tuple[float, float]]:
    """Press at the first plane point, move through the rest, release at the
    last; returns the plane points the integer pixel positions stand for.

    They are mapped before the drag: the selection panel appearing afterwards
    changes the plane's size, and with it the view.
    """
    viewport = plane.viewport()
    pos = [plane.scene_pos_of(x, y) for x, y in points]
    mapped = [_to_plane(plane, p) for p in pos]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, modifiers, pos[0])
    for p in pos[1:]:
        qtbot.mouseMove(viewport, p)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, modifiers, pos[-1])
    return mapped


def _to_plane(plane, pos: QPoint) -> tuple[float, float]:
    p = plane.view_box.mapSceneToView(plane.mapToScene(pos))
    return float(p.x()), float(p.y())


def _winding_inside(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Point in polygon by winding number (an independent check of the app's
    even-odd crossing test; the two agree for simple polygons)."""
    wn = np.zeros(len(xy), int)
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        cross = (x1 - x0) * (xy[:, 1] - y0) - (xy[:, 0] - x0) * (y1 - y0)
        up = (y0 <= xy[:, 1]) & (y1 > xy[:, 1]) & (cross > 0)
        down = (y0 > xy[:, 1]) & (y1 <= xy[:, 1]) & (cross < 0)
        wn += up.astype(int) - down.astype(int)
    return wn != 0


def _xy(win, side: int) -> np.ndarray:
    state = win.session.sides[side]
    return state.latent_slice.project(state.codes.mu)


def _around(xy: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Two corners spanning the ``lo``..``hi`` quantiles of the points."""
    return np.quantile(xy, lo, axis=0), np.quantile(xy, hi, axis=0)


# --- the timeline ---------------------------------------------------------------------


def test_scrubbing_shows_that_epochs_codes_and_both_planes_follow(win) -> None:
    left, right = win.panels
    tl = left.timeline
    assert tl.count == EPOCHS and right.timeline.run_id == tl.run_id
    n_test = len(win.session.sides[0].codes.mu)
    assert left.plane.point_count() == n_test
    assert left.plane.manifold.isVisible()

    left.epoch_slider.setValue(0)
    assert left.epoch_position == 0
    assert right.epoch_position == 0, "the VAE plane scrubs with the AE plane"
    for panel in (left, right):
        assert panel.plane.point_count() == panel.timeline.points
        assert not panel.plane.manifold.isVisible(), "no manifold for a past epoch"
        assert panel.plane.epoch_badge.isVisible()
        assert "Epoch 1 / 2" in panel.plane.epoch_badge.text()
        assert "no manifold" in panel.plane.epoch_badge.text()
        assert not panel.plane.pick_rings.isVisible(), "rings mark final codes"
    _, xy = left.shown_points()
    expected = win.session.sides[0].latent_slice.project(tl.codes_at(0))
    np.testing.assert_array_equal(xy, expected)

    right.epoch_slider.setValue(EPOCHS - 1)  # the end: the final model again
    assert left.epoch_position is None and right.epoch_position is None
    assert left.plane.point_count() == n_test
    assert left.plane.manifold.isVisible() and not left.plane.epoch_badge.isVisible()
    assert left.plane.pick_rings.isVisible()


def test_play_runs_to_the_final_model_and_stops(qtbot, win) -> None:
    left, right = win.panels
    left.play_button.click()
    assert left.play_button.isChecked() and left.epoch_position == 0
    qtbot.waitUntil(lambda: not left.play_button.isChecked(), timeout=5000)
    assert left.epoch_position is None and right.epoch_position is None


def test_gif_has_one_frame_per_epoch(qtbot, win, tmp_path: Path) -> None:
    from PIL import Image

    left = win.panels[0]
    left.epoch_slider.setValue(0)
    win.controller.workspace.decode(0.2, 0.1)  # a crosshair on screen
    path = tmp_path / "timeline.gif"
    win.export_timeline_gif(0, str(path))
    qtbot.waitUntil(path.exists, timeout=10000)
    frames = []
    with Image.open(path) as im:
        assert im.n_frames == EPOCHS
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")).astype(int))
    h, w, _ = frames[0].shape
    # The plot at its on-screen width, then the epoch and the colour key under it.
    plot = left.plane.getPlotItem().sceneBoundingRect()
    assert w == round(plot.width()) and h > plot.height() + 30
    below = frames[0][round(plot.height()) :]
    for _, rgb in left.plane.legend_entries:
        assert (np.abs(below - rgb).max(-1) <= 12).any(), f"no {rgb} key swatch"
    # No red crosshair in any frame; the frames differ (the epoch changes).
    red = np.array([220, 30, 30])
    assert not any((np.abs(f - red).max(-1) <= 6).any() for f in frames)
    assert not np.array_equal(frames[0], frames[-1])
    assert left.epoch_position == 0, "the panel shows what it showed before"
    assert left.plane.crosshair.dot.isVisible()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# --- linked selection -----------------------------------------------------------------


def test_alt_drag_selects_the_rectangle_in_both_planes(qtbot, win) -> None:
    left, right = win.panels
    plane = left.plane
    xy = _xy(win, 0)
    (x0, y0), (x1, y1) = _around(xy, 0.3, 0.7)
    pos = _drag(qtbot, plane, [(x0, y0), ((x0 + x1) / 2, y0), (x1, y1)], ALT)
    (ax, ay), (bx, by) = pos[0], pos[-1]
    inside = (
        (xy[:, 0] >= min(ax, bx))
        & (xy[:, 0] <= max(ax, bx))
        & (xy[:, 1] >= min(ay, by))
        & (xy[:, 1] <= max(ay, by))
    )
    expected = set(np.flatnonzero(inside).tolist())
    assert len(expected) > 20, "the test rectangle should hold points"
    assert win.session.group == expected
    assert plane.highlighted_count() == len(expected)
    assert right.plane.highlighted_count() == len(expected), "linked in the VAE"
    assert win.group_panel.isVisible()
    assert win.group_panel.title.text().startswith(f"Selection: {len(expected):,}")
    labels = win.session.sides[0].dataset.test_labels.numpy()
    counts = np.bincount(labels[sorted(expected)], minlength=len(set(labels)))
    assert win.group_panel.bar_heights == counts.tolist()
    assert "AE (left)" in win.group_panel.figures.text()
    assert "VAE (right)" in win.group_panel.figures.text()
    assert win.group_panel.tiles.count == min(len(expected), 48)

    qtbot.keyClick(plane.viewport(), Qt.Key.Key_Escape)
    assert win.session.group is None, "Esc clears the selection"
    assert plane.highlighted_count() == 0 and right.plane.highlighted_count() == 0
    assert not win.group_panel.isVisible()


def test_alt_shift_drag_selects_the_lasso(qtbot, win) -> None:
    left, right = win.panels
    plane = right.plane
    xy = _xy(win, 1)
    (x0, y0), (x1, y1) = _around(xy, 0.2, 0.8)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    # A concave pentagon, so a rectangle test would give another answer.
    path = [(x0, y0), (x1, y0), (cx, cy), (x1, y1), (x0, y1)]
    poly = np.array(_drag(qtbot, plane, path, ALT | SHIFT))
    expected = set(np.flatnonzero(_winding_inside(xy, poly)).tolist())
    assert len(expected) > 20
    assert win.session.group == expected
    assert left.plane.highlighted_count() == len(expected)
    win.group_panel.clear_button.click()
    assert win.session.group is None


def test_the_select_tool_button_makes_a_plain_drag_select(qtbot, win) -> None:
    left = win.panels[0]
    xy = _xy(win, 0)
    (x0, y0), (x1, y1) = _around(xy, 0.4, 0.6)
    decoded = []
    left.plane.latentClicked.connect(lambda x, y: decoded.append((x, y)))
    left.rect_tool.click()
    _drag(qtbot, left.plane, [(x0, y0), (x1, y1)], Qt.KeyboardModifier.NoModifier)
    assert win.session.group and not decoded
    left.rect_tool.click()  # off: a plain drag decodes again
    win.session.clear_group()
    _drag(qtbot, left.plane, [(x0, y0), (x1, y1)], Qt.KeyboardModifier.NoModifier)
    assert decoded and win.session.group is None


def test_selecting_in_a_past_epoch_picks_among_the_recorded_images(qtbot, win) -> None:
    left, right = win.panels
    left.epoch_slider.setValue(0)
    indices, xy = left.shown_points()
    (x0, y0), (x1, y1) = _around(xy, 0.2, 0.8)
    (ax, ay), (bx, by) = _drag(qtbot, left.plane, [(x0, y0), (x1, y1)], ALT)
    inside = (
        (xy[:, 0] >= min(ax, bx))
        & (xy[:, 0] <= max(ax, bx))
        & (xy[:, 1] >= min(ay, by))
        & (xy[:, 1] <= max(ay, by))
    )
    assert win.session.group == set(indices[inside].tolist())
    assert right.plane.highlighted_count() == int(inside.sum())


def test_an_empty_region_clears_and_says_so(qtbot, win) -> None:
    plane = win.panels[0].plane
    win.session.set_group([1, 2, 3], win.session.sides[0].dataset)
    rect = plane.view_rect()
    far = (rect.x1 - 0.01 * rect.width, rect.y1 - 0.01 * rect.height)
    near = (rect.x1 - 0.03 * rect.width, rect.y1 - 0.03 * rect.height)
    xy = _xy(win, 0)
    assert not ((xy[:, 0] > near[0]) & (xy[:, 1] > near[1])).any()
    _drag(qtbot, plane, [near, far], ALT)
    assert win.session.group is None
    assert "No test images" in win.statusBar().currentMessage()


def test_ctrl_click_still_picks_an_input(qtbot, win) -> None:
    plane = win.panels[0].plane
    xy = _xy(win, 0)
    i = int(np.argmin(np.abs(xy - np.median(xy, 0)).sum(1)))
    qtbot.mouseClick(
        plane.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ControlModifier,
        plane.scene_pos_of(*xy[i]),
    )
    picked = win.session.selection.current
    px, py = plane.view_box.viewPixelSize()
    assert abs(xy[picked, 0] - xy[i, 0]) <= 2 * px
    assert abs(xy[picked, 1] - xy[i, 1]) <= 2 * py
    assert win.session.group is None, "a pick is not a selection"


def test_ctrl_click_at_an_earlier_epoch_picks_the_image_shown_there(qtbot, win) -> None:
    left = win.panels[0]
    left.epoch_slider.setValue(0)
    indices, xy = left.shown_points()
    j = int(np.argmin(np.abs(xy - np.median(xy, 0)).sum(1)))
    qtbot.mouseClick(
        left.plane.viewport(),
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.ControlModifier,
        left.plane.scene_pos_of(*xy[j]),
    )
    picked = win.session.selection.current
    assert picked in set(indices.tolist()), "picked an image this epoch does not show"
    k = int(np.flatnonzero(indices == picked)[0])
    px, py = left.plane.view_box.viewPixelSize()
    assert abs(xy[k, 0] - xy[j, 0]) <= 2 * px and abs(xy[k, 1] - xy[j, 1]) <= 2 * py
    left.epoch_slider.setValue(left.epoch_slider.maximum())
