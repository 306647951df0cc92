"""Issue 28, defect 5: a click in one plane decodes the same z in every model;
where that z lies outside another plane's view, the plane says where it is
(an arrow and the value) and widens its view to it on a click."""

from __future__ import annotations

from PySide6.QtCore import Qt

from latentlab.core.latent import LatentRect

from .conftest import wait_loaded


def test_a_decoded_point_off_a_plane_is_named_and_can_be_brought_into_view(
    qtbot, window
):
    wait_loaded(qtbot, window)
    ws = window.controller.workspace
    near, far = (p.plane for p in window.panels)
    near.fit(LatentRect(-12.0, -12.0, 12.0, 12.0))
    far.fit(LatentRect(-2.0, -2.0, 2.0, 2.0))
    ws.decode(-10.0, 10.0)
    assert far.crosshair.position() == (-10.0, 10.0)
    assert near.crosshair_off_view() is None
    assert not near.off_view.isVisible()
    assert far.crosshair_off_view() == (-10.0, 10.0)
    assert far.off_view.isVisible()
    assert far.off_view.text().startswith("↖")  # up and to the left
    assert "(-10, 10)" in far.off_view.text()
    # Inside the plot area, not over an axis.
    plot_area = far.mapFromScene(far.view_box.sceneBoundingRect()).boundingRect()
    assert plot_area.contains(far.off_view.geometry())

    qtbot.mouseClick(far.off_view, Qt.MouseButton.LeftButton)
    view = far.view_rect()
    assert view.x0 < -10.0 < view.x1 and view.y0 < 10.0 < view.y1
    assert far.crosshair_off_view() is None
    assert not far.off_view.isVisible()

    # A point inside the view again: no note; panning it away brings it back.
    ws.decode(0.5, 0.5)
    assert not far.off_view.isVisible()
    far.fit(LatentRect(3.0, -1.0, 5.0, 1.0))
    assert far.off_view.isVisible() and far.off_view.text().startswith("←")
    far.hide_crosshair()
    assert not far.off_view.isVisible()
