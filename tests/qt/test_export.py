"""Figures (SVG, 2x PNG), codes CSV and models trained elsewhere, in the app."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtGui import QImage

from latentlab.core.codes_csv import read_codes_csv
from latentlab.core.latent import LatentRect
from latentlab.qt.export import SVG_NS, export_figure
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget

from .conftest import wait_loaded

TAG = f"{{{SVG_NS}}}"


def _marks(svg_path) -> list[ET.Element]:
    root = ET.parse(svg_path).getroot()  # parses as XML, or raises
    groups = [g for g in root.iter(f"{TAG}g") if g.get("id") == "points"]
    assert len(groups) == 1, "the SVG has no group of point marks"
    return list(groups[0])


@pytest.fixture
def plane(qtbot):
    w = LatentPlaneWidget()
    qtbot.addWidget(w)
    w.resize(420, 400)
    w.show()
    qtbot.waitExposed(w)
    rng = np.random.default_rng(0)
    xy = rng.normal(scale=1.5, size=(500, 2)).astype(np.float32)
    labels = rng.integers(0, 3, 500)
    w.set_points(xy, [(str(i), labels == i) for i in range(3)])
    w.set_manifold(rng.random((84, 84)).astype(np.float32), LatentRect.square(3))
    w.fit(LatentRect.square(3))

    # The view applies its range when it paints: wait for the settled rect.
    def settled():
        r = w.view_rect()
        assert abs(min(r.x1, r.y1) - 3.0) < 1e-3, f"view still at {r}"

    qtbot.waitUntil(settled)
    return w, xy


def test_plane_svg_parses_and_holds_one_mark_per_shown_point(tmp_path, plane):
    w, xy = plane
    rect = w.view_rect()
    inside = (
        (xy[:, 0] >= rect.x0)
        & (xy[:, 0] <= rect.x1)
        & (xy[:, 1] >= rect.y0)
        & (xy[:, 1] <= rect.y1)
    )
    assert 0 < inside.sum() < len(xy), "the test needs points inside and outside"
    path = export_figure(w, tmp_path / "plane.svg")
    marks = _marks(path)
    assert len(marks) == int(inside.sum())
    assert {m.tag for m in marks} == {f"{TAG}circle"}
    root = ET.parse(path).getroot()
    images = list(root.iter(f"{TAG}image"))
    assert len(images) == 1, "the manifold is not embedded as one <image>"
    assert (
        images[0]
        .get("{http://www.w3.org/1999/xlink}href")
        .startswith("data:image/png;base64,")
    )
    # The marks sit where the points are on screen (the plot's top-left is 0, 0).
    origin = w.getPlotItem().sceneBoundingRect().topLeft()
    vb = w.view_box
    want = []
    for x, y in xy[inside]:
        p = vb.mapViewToScene(_pt(x, y))
        want.append((round(p.x() - origin.x(), 2), round(p.y() - origin.y(), 2)))
    got = sorted((float(m.get("cx")), float(m.get("cy"))) for m in marks)
    np.testing.assert_allclose(got, sorted(want), atol=0.02)


def _pt(x, y):
    import pyqtgraph as pg

    return pg.Point(float(x), float(y))


def test_plane_png_is_twice_the_shown_size(tmp_path, plane):
    w, _ = plane
    path = export_figure(w, tmp_path / "plane.png")
    image = QImage(str(path))
    rect = w.getPlotItem().sceneBoundingRect()
    assert image.width() == round(2 * rect.width())
    assert abs(image.height() - 2 * rect.height()) <= 1


def test_the_crosshair_exports_within_its_view_at_its_point(tmp_path, plane):
    w, _ = plane
    w.set_crosshair(1.0, -0.5)
    origin = w.getPlotItem().sceneBoundingRect().topLeft()
    at = w.view_box.mapViewToScene(_pt(1.0, -0.5)) - origin
    view = w.view_box.sceneBoundingRect().translated(-origin)
    root = ET.parse(export_figure(w, tmp_path / "plane.svg")).getroot()
    (group,) = [g for g in root.iter(f"{TAG}g") if g.get("id") == "crosshair"]
    lines = group.findall(f"{TAG}line")
    (dot,) = group.findall(f"{TAG}circle")
    assert len(lines) == 2
    assert float(dot.get("cx")) == pytest.approx(at.x(), abs=0.02)
    assert float(dot.get("cy")) == pytest.approx(at.y(), abs=0.02)
    # Through the point, across the view and not over the axes.
    ends = sorted(
        (
            sorted(float(line.get(k)) for k in ("x1", "x2")),
            sorted(float(line.get(k)) for k in ("y1", "y2")),
        )
        for line in lines
    )
    horizontal, vertical = ends
    np.testing.assert_allclose(horizontal[0], [view.left(), view.right()], atol=0.02)
    np.testing.assert_allclose(horizontal[1], [at.y(), at.y()], atol=0.02)
    np.testing.assert_allclose(vertical[0], [at.x(), at.x()], atol=0.02)
    np.testing.assert_allclose(vertical[1], [view.top(), view.bottom()], atol=0.02)
    # At 2x the dot is twice its on-screen width, as scatter symbols are.
    image = QImage(str(export_figure(w, tmp_path / "plane.png")))
    cx, cy = round(2 * at.x()), round(2 * at.y())
    red = [
        dx
        for dx in range(-20, 21)
        if (c := image.pixelColor(cx + dx, cy - 3)).red() > 180
        and c.green() < 80
        and c.blue() < 80
    ]
    # 3 px above the line, the red disc (7 px across on screen) is ~12 px wide
    # at 2x; unscaled, ~4.
    assert 9 <= max(red) - min(red) + 1 <= 16, red


def test_window_exports_each_figure_and_the_codes(tmp_path, window, qtbot):
    from latentlab.qt.main_window import FIGURES

    for key, _ in FIGURES:
        window._show_figure(key)
        path = window.export_figure(key, str(tmp_path / f"{key.replace('/', '-')}.svg"))
        assert path is not None, f"{key} was not exported: {window.last_error}"
        ET.parse(path)  # every figure parses as XML
    assert len(_marks(tmp_path / "planes.plane-1.svg")) > 100
    png = window.export_figure("losses", str(tmp_path / "losses.png"))
    assert QImage(str(png)).width() > 0

    out = tmp_path / "codes.csv"
    with qtbot.waitSignal(window.controller.codesExported, timeout=10000):
        window.controller.export_codes(1, str(out))
    table = read_codes_csv(out)
    codes = window.session.sides[1].codes
    assert np.array_equal(table.mu, codes.mu)
    assert np.array_equal(table.sigma, codes.sigma)


def test_a_model_trained_elsewhere_opens_after_asking_its_dataset(
    tmp_path, window, qtbot
):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    state = {
        "fc1.weight": torch.randn(32, 784) * 0.05,
        "fc1.bias": torch.zeros(32),
        "fc21.weight": torch.randn(2, 32) * 0.1,
        "fc21.bias": torch.zeros(2),
        "fc22.weight": torch.randn(2, 32) * 0.1,
        "fc22.bias": torch.zeros(2),
        "fc3.weight": torch.randn(32, 2),
        "fc3.bias": torch.zeros(32),
        "fc4.weight": torch.randn(784, 32) * 0.1,
        "fc4.bias": torch.zeros(784),
    }
    path = tmp_path / "example.pth"
    torch.save(state, path)
    asked = []

    def ask(title, pixels):
        asked.append((title, pixels))
        return "shapes"

    window.ask_dataset = ask
    window.open_file(0, str(path))
    qtbot.waitUntil(lambda: window.session.sides[0].checkpoint.origin != "")
    wait_loaded(qtbot, window, sides=(0,))
    assert asked == [("PyTorch-example VAE, 784-32-2, no training history", 784)]
    side = window.session.sides[0]
    assert side.dataset.name == "shapes" and side.codes.mu.shape == (3000, 2)
    assert side.title.startswith("PyTorch-example VAE, 784-32-2, no training history")
    assert str(path) in window.recent_files()


def test_a_tab_without_its_model_exports_nothing(qtbot, tmp_path):
    from latentlab.qt.app import create_window

    from .conftest import SHAPES_PAIR

    win = create_window([SHAPES_PAIR[0], SHAPES_PAIR[0]], None)
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    wait_loaded(qtbot, win)
    target = tmp_path / "eps.svg"
    win.tabs.setCurrentWidget(win.views["eps"])
    assert win.export_figure("eps.plane", str(target)) is None
    assert not target.exists()
    assert win.last_error[0] == "Nothing to export"
    assert "needs a VAE" in win.last_error[1]
    # A plot that is shown still exports.
    assert win.export_figure("planes.plane/0", str(tmp_path / "left.svg")) is not None
