"""Issue 28 on the Interpolation tab: the many-pairs histograms after the
models change (9), its progress (9), one colour per pick (13), planes that
span the data (14), no pyqtgraph "A" button in a plane's corner (15)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from latentlab.qt.widgets.latent_plane import fit_rect
from latentlab.qt.widgets.styles import PICK_A, PICK_B, PICK_COLOURS
from tests.qt.conftest import SHAPES_PAIR, wait_loaded


def show_strips(qtbot, window):
    view = window.views["interpolation"]
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: len(view.results) == 2, timeout=10000)
    return view


def measure(qtbot, view, n=30):
    formats = []  # the bar's text at each progress report
    shown = view._on_pairs_progress

    def record(p):
        shown(p)
        formats.append(view.pairs_progress.text())

    view._on_pairs_progress = record
    view.pairs_spin.setValue(n)
    view.run_button.click()
    qtbot.waitUntil(lambda: view.population is not None, timeout=60000)
    qtbot.waitUntil(lambda: view.run_button.isEnabled(), timeout=5000)
    return formats


def axes_show_values(plot) -> bool:
    return all(plot.getAxis(a).style["showValues"] for a in ("bottom", "left"))


def test_histograms_keep_nothing_of_other_models(qtbot, window):
    view = show_strips(qtbot, window)
    formats = measure(qtbot, view)
    # Progress from the first pair, with the time left, then the time taken.
    assert any("pair 10 of 30 measured" in f for f in formats), formats
    assert any(" left" in f for f in formats), formats
    assert view.pairs_progress.format().startswith("30 pairs measured in ")
    for figure, plot in view.hist_plots.items():
        assert axes_show_values(plot)
        assert not view.hist_placeholders[figure].isVisible()

    window.workspace.open(SHAPES_PAIR[0], 0)  # another AE model in slot 0
    wait_loaded(qtbot, window)
    qtbot.waitUntil(lambda: view.population is None, timeout=5000)
    qtbot.waitUntil(lambda: len(view.results) == 2, timeout=10000)
    assert view.pairs_progress.format() == "not measured yet"
    assert view.population_label.text() == ""
    for figure, plot in view.hist_plots.items():
        for pos in ("0", "1"):
            x, _ = view.hist_curves[(figure, pos)].getData()
            assert x is None or len(x) == 0
        # No numbers of the old measurement on the axes: none at all, and the
        # placeholder in the middle of the plot.
        assert not axes_show_values(plot)
        # Reset to the empty frame, whatever range the measurement had reached.
        (x0, x1), (y0, y1) = plot.viewRange()
        assert (x0, x1, y0, y1) == pytest.approx((0.0, 1.0, 0.0, 1.0))
        assert view.hist_placeholders[figure].isVisible()
        assert view.hist_placeholders[figure].toPlainText() == "not measured yet"

    measure(qtbot, view)
    for plot in view.hist_plots.values():
        assert axes_show_values(plot)


def test_a_model_change_cancels_a_running_measurement(qtbot, window):
    view = show_strips(qtbot, window)
    view.pairs_spin.setValue(2000)
    view.run_button.click()
    qtbot.waitUntil(lambda: "pair" in view.pairs_progress.format(), timeout=20000)
    window.workspace.open(SHAPES_PAIR[0], 0)
    wait_loaded(qtbot, window)
    qtbot.waitUntil(lambda: view.run_button.isEnabled(), timeout=20000)
    assert view.population is None
    assert view.pairs_progress.format() == "cancelled: the models changed"
    assert not any(axes_show_values(p) for p in view.hist_plots.values())


def test_each_pick_has_one_colour_everywhere(qtbot, window):
    view = show_strips(qtbot, window)
    a, b = view.gallery.indices[1], view.gallery.indices[4]
    with qtbot.waitSignal(view.stripsReady, timeout=10000):
        window.session.pick_pair(a, b)
    # The thumbnails: A in A's colour, B in B's (not both orange).
    assert view.gallery.tiles.highlight_colours() == {1: PICK_A, 4: PICK_B}
    label = view.pair_label.text()
    assert f"color:rgb{PICK_A}'>A =" in label
    assert f"color:rgb{PICK_B}'>B =" in label
    for plane in view.planes.values():
        ends = plane.ends.data["brush"]
        assert [br.color().getRgb()[:3] for br in ends] == list(PICK_COLOURS)
        assert [lab.color.getRgb()[:3] for lab in plane.labels] == list(PICK_COLOURS)
    # The same colours ring the picks on the Latent planes tab.
    plane = window.panels[0].plane
    assert [p.color().getRgb()[:3] for p in plane._pick_pens] == list(PICK_COLOURS)


@pytest.mark.parametrize("size", [(1600, 1000), (1024, 768)])
def test_the_planes_span_the_data(qtbot, window, size):
    window.resize(*size)
    view = show_strips(qtbot, window)
    QApplication.processEvents()
    qtbot.wait(200)
    QApplication.processEvents()
    for pos, slot in (("0", 0), ("1", 1)):
        side = window.session.sides[slot]
        xy = side.latent_slice.project(side.codes.mu)
        bulk = fit_rect(xy, prior=side.is_vae)
        shown = view.planes[pos].view_rect()
        assert shown.x0 <= bulk.x0 + 1e-6 and shown.x1 >= bulk.x1 - 1e-6
        assert shown.y0 <= bulk.y0 + 1e-6 and shown.y1 >= bulk.y1 - 1e-6
        # The plot is about square: the data's square is not spread over a
        # wide strip (the issue's ±60 for a ±15 bulk).
        assert shown.width <= 1.15 * bulk.width, (pos, shown, bulk)
        assert shown.height <= 1.15 * bulk.height, (pos, shown, bulk)
    # The legend takes the width the planes leave.
    assert view.legend.width() > 150


def test_no_auto_range_letter_in_a_planes_corner(qtbot, window):
    view = show_strips(qtbot, window)
    planes = [*view.planes.values(), window.panels[0].plane]
    planes += list(window.views["prior"].planes.values())
    for plane in planes:
        assert plane.getPlotItem().buttonsHidden
        assert not plane.getPlotItem().autoBtn.isVisible()
    plane = view.planes["1"]
    assert not plane.fit_button.isVisible()
    plane.view_box.scaleBy((0.4, 0.4))
    qtbot.waitUntil(plane.fit_button.isVisible, timeout=2000)
    assert plane.fit_button.text() == "Fit"
    plane.fit_button.click()
    qtbot.waitUntil(lambda: not plane.fit_button.isVisible(), timeout=2000)
    assert plane.shows_home()
    home, shown = plane.home, plane.view_rect()
    assert shown.x0 <= home.x0 + 1e-6 and shown.x1 >= home.x1 - 1e-6
    assert np.isclose(shown.width, home.width, rtol=0.02) or np.isclose(
        shown.height, home.height, rtol=0.02
    )
