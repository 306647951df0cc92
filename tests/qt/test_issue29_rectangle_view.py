"""Issue 29, item 1 in the window: the A–B rectangle tab shows each model's
grid for the picked pair, every cell framed by the data test's verdict, with
the grid's summary and the test's own check beside it."""

from __future__ import annotations

from latentlab.core.analysis.rectangle import grid_summary
from latentlab.qt.analysis.rectangle import DATA_RGB, NOT_DATA_RGB

from .conftest import wait_loaded


def test_the_rectangle_tab_frames_every_cell_by_its_verdict(qtbot, window):
    wait_loaded(qtbot, window)
    view = window.view("rectangle")
    window.tabs.setCurrentWidget(view)
    with qtbot.waitSignal(view.gridsReady, timeout=60000) as blocker:
        window.controller.workspace.pick_pair(3, 17)
    grids, yardstick = blocker.args[0]
    assert view.result == (grids, yardstick)
    for pos, grid in zip(("0", "1"), grids, strict=True):
        tiles = view.grids[pos]
        assert tiles.count == grid.n * grid.n == 64
        assert tiles.grid_shape() == (8, 8)
        frames = tiles.highlight_colours()
        want = {
            i: DATA_RGB if ok else NOT_DATA_RGB for i, ok in enumerate(grid.data_like)
        }
        assert frames == want
        assert view.summaries[pos].text().startswith(grid_summary(grid))
    assert view.yardstick_label.text() == yardstick.text
    # Another grid size recomputes.
    with qtbot.waitSignal(view.gridsReady, timeout=60000) as blocker:
        view.size_spin.setValue(4)
    assert blocker.args[0][0][0].images.shape[0] == 16
