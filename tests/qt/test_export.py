"""Figures (SVG, 2x PNG), codes CSV and models trained elsewhere, in the app."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from latentlab.core.codes_csv import read_codes_csv
from latentlab.core.latent import LatentRect
from latentlab.qt.export import (
    SVG_NS,
    KeyEntry,
    _legend_layout,
    export_figure,
    figure_legend,
)
from latentlab.qt.widgets.latent_plane import LatentPlaneWidget
from latentlab.qt.widgets.plane_items import Crosshair

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


def test_plane_png_is_twice_the_shown_size_with_its_key_under_it(tmp_path, plane):
    w, _ = plane
    path = export_figure(w, tmp_path / "plane.png")
    image = QImage(str(path))
    rect = w.getPlotItem().sceneBoundingRect()
    assert image.width() == round(2 * rect.width())
    _, key_height = _legend_layout(figure_legend(w), rect.width())
    assert key_height > 0
    assert abs(image.height() - 2 * (rect.height() + key_height)) <= 1
    # The key's swatches are drawn in the groups' colours, under the plot.
    below = image.copy(
        0, round(2 * rect.height()), image.width(), round(2 * key_height)
    )
    for _, rgb in w.legend_entries:
        assert _has_colour(below, rgb), f"no swatch of {rgb} under the plot"


def _has_colour(image: QImage, rgb, tol=12) -> bool:
    arr = np.frombuffer(
        image.convertToFormat(QImage.Format.Format_RGB888).constBits(), np.uint8
    ).reshape(image.height(), -1)[:, : 3 * image.width()]
    pixels = arr.reshape(image.height(), image.width(), 3).astype(int)
    return bool((np.abs(pixels - np.array(rgb)).max(-1) <= tol).any())


def test_a_figure_carries_its_key_and_leaves_out_the_crosshair(tmp_path, plane):
    w, _ = plane
    w.set_crosshair(1.0, -0.5)
    w.set_picks([(0.0, 0.0), None])
    key = figure_legend(w)
    assert [(k.name, k.mark) for k in key] == [
        ("0", "point"),
        ("1", "point"),
        ("2", "point"),
        ("pick A", "ring"),
    ]
    root = ET.parse(export_figure(w, tmp_path / "plane.svg")).getroot()
    assert not [g for g in root.iter(f"{TAG}g") if g.get("id") == "crosshair"]
    (legend,) = [g for g in root.iter(f"{TAG}g") if g.get("id") == "legend"]
    assert [t.text for t in legend.iter(f"{TAG}text")] == ["0", "1", "2", "pick A"]
    fills = [c.get("fill") for c in legend.iter(f"{TAG}circle")]
    assert fills[:3] == [
        "#{:02x}{:02x}{:02x}".format(*rgb) for _, rgb in w.legend_entries
    ]
    # The key lies under the plot: the canvas grew by its height.
    height = float(root.get("viewBox").split()[3])
    plot_h = w.getPlotItem().sceneBoundingRect().height()
    ys = [float(t.get("y")) for t in legend.iter(f"{TAG}text")]
    assert min(ys) > round(plot_h) and max(ys) < height
    # The PNG: no red crosshair pixels anywhere (the groups are blue, orange,
    # green), while the crosshair is still on screen afterwards.
    image = QImage(str(export_figure(w, tmp_path / "plane.png")))
    assert not _has_colour(image, Crosshair.COLOUR, tol=6)
    assert w.crosshair.position() == (1.0, -0.5) and w.crosshair.dot.isVisible()


def test_named_curves_and_an_owners_entries_join_the_key(qtbot):
    import pyqtgraph as pg

    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.plot(
        [0, 1],
        [1, 2],
        pen=pg.mkPen((10, 20, 30), style=Qt.PenStyle.DashLine),
        name="test",
    )
    w.plot([0, 1], [2, 3], pen=(40, 50, 60), name="train")
    w.plot([], [], pen=(1, 2, 3), name="empty, so not in the key")
    w.plot([0, 1], [0, 0], pen=(9, 9, 9))  # unnamed: not in the key
    w.figure_key = [KeyEntry("holes", (220, 30, 30), "patch")]
    assert figure_legend(w) == [
        KeyEntry("test", (10, 20, 30), "dash"),
        KeyEntry("train", (40, 50, 60), "line"),
        KeyEntry("holes", (220, 30, 30), "patch"),
    ]


def test_window_exports_each_figure_and_the_codes(tmp_path, window, qtbot):
    from latentlab.qt.main_window import FIGURES

    keys = {}
    for key, _ in FIGURES:
        window._show_figure(key)
        path = window.export_figure(key, str(tmp_path / f"{key.replace('/', '-')}.svg"))
        assert path is not None, f"{key} was not exported: {window.last_error}"
        root = ET.parse(path).getroot()  # every figure parses as XML
        written = [g for g in root.iter(f"{TAG}g") if g.get("id") == "legend"]
        names = [t.text for g in written for t in g.iter(f"{TAG}text")]
        assert names == [e.name for e in figure_legend(window.figure_plot(key))]
        keys[key] = names
    assert len(_marks(tmp_path / "planes.plane-1.svg")) > 100
    plane = window.panels[1].plane
    assert keys["planes.plane/1"][: len(plane.legend_entries)] == [
        name for name, _ in plane.legend_entries
    ]
    assert "VAE test" in keys["losses"] and "AE test" in keys["losses"]
    assert "holes" in keys["diagnostics.columns/VAE/plane"]
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
