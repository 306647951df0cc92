"""Issue 30: colour models in the window — RGB in the decode panels, the
manifold, the tiles and the exported QImage, from a click as a user makes it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage

from latentlab.qt.widgets.decode_panel import to_qimage

from .conftest import wait_loaded


def test_to_qimage_keeps_rgb() -> None:
    image = np.zeros((2, 3, 3), np.float32)
    image[0, 0] = (1.0, 0.0, 0.0)
    image[0, 1] = (0.0, 1.0, 0.0)
    image[1, 2] = (0.2, 0.4, 0.6)
    q = to_qimage(image)
    assert (q.width(), q.height()) == (3, 2)
    assert QColor(q.pixel(0, 0)).getRgb()[:3] == (255, 0, 0)
    assert QColor(q.pixel(1, 0)).getRgb()[:3] == (0, 255, 0)
    assert QColor(q.pixel(2, 1)).getRgb()[:3] == (51, 102, 153)
    grey = to_qimage(np.full((2, 2), 0.5, np.float32))
    assert QColor(grey.pixel(1, 1)).getRgb()[:3] == (128, 128, 128)


@pytest.fixture(scope="module")
def colour_pair(tmp_path_factory) -> list[str]:
    """A tiny AE and VAE on the colour shapes at 32 px, their decoders' last
    bias pushed so every decode is red-dominated (a colour a grey path loses)."""
    import latentlab
    from latentlab.core.datasets.colour_shapes import make_colour_shapes

    folder = tmp_path_factory.mktemp("colour")
    ws = latentlab.Workspace()
    ws.datasets.put(
        make_colour_shapes(n_train=256, n_test=128, size=32),
        None,
        name="colour-shapes",
    )
    ws.train(
        latentlab.TrainSpec(
            dataset="colour-shapes",
            image_size=32,
            epochs=1,
            hidden=(32,),
            likelihood="gaussian",
        ),
        show=False,
    )
    paths = []
    for slot, kind in enumerate(("ae", "vae")):
        last = ws.slots[slot].model.decoder[1]  # Linear(hidden -> 3*32*32)
        with torch.no_grad():
            bias = last.bias.view(3, 32, 32)
            bias[0] += 6.0
            bias[1:] -= 6.0
        path = folder / f"colour-{kind}.pt"
        ws.save(slot, path)
        paths.append(str(path))
    ws.close()
    return paths


def test_a_click_decodes_colour_in_both_panels(
    qtbot, tmp_path, no_threads_left, colour_pair
):
    from latentlab.qt.app import create_window

    window = create_window(colour_pair, None)
    qtbot.addWidget(window, before_close_func=lambda w: w.close_discarding())
    window.resize(1280, 900)
    window.show()
    qtbot.waitExposed(window)
    wait_loaded(qtbot, window)
    plane = window.panels[0].plane
    (x0, x1), (y0, y1) = plane.view_box.viewRange()
    pos = plane.scene_pos_of((x0 + x1) / 2, (y0 + y1) / 2)
    qtbot.mouseClick(plane.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    for side in (0, 1):
        qtbot.waitUntil(lambda s=side: window.panels[s].decode.image is not None)
        panel = window.panels[side]
        shown = panel.decode.image
        assert shown.shape == (32, 32, 3)
        model = window.controller.workspace.slots[side].model
        with torch.no_grad():
            z = torch.tensor(panel.decode.z[None], dtype=torch.float32)
            expected = model.decode(z)[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(shown, expected, atol=1e-6)
        # What the panel paints is red, not a grey of it.
        pixmap = panel.decode.image_label.pixmap().toImage()
        r, g, b = QColor(
            pixmap.pixel(pixmap.width() // 2, pixmap.height() // 2)
        ).getRgb()[:3]
        assert r > 200 and g < 60 and b < 60
        # The manifold behind the plane is an RGB image too.
        qtbot.waitUntil(lambda s=side: window.panels[s].plane.has_manifold())
        manifold = window.panels[side].plane.manifold.image
        assert manifold.ndim == 3 and manifold.shape[2] == 3
        assert manifold[..., 0].mean() > 3 * manifold[..., 1].mean()
    # The training dock follows the models shown: a rerun trains the same kind.
    spec = window.train_panel.spec()
    assert (spec.dataset, spec.image_size, spec.channels) == ("colour-shapes", 32, 3)
    assert spec.likelihood == "gaussian"
    # The exported figure keeps the colour: red-dominated manifold pixels.
    png = window.export_figure("planes.plane/1", str(tmp_path / "vae.png"))
    image = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB888)
    pixels = (
        np.frombuffer(image.constBits(), np.uint8)
        .reshape(image.height(), image.bytesPerLine())[:, : 3 * image.width()]
        .reshape(image.height(), image.width(), 3)
    )
    red = (pixels[..., 0] > 150) & (pixels[..., 1] < 80) & (pixels[..., 2] < 80)
    assert red.mean() > 0.1, f"only {red.mean():.1%} of the figure is red"
    window.close_discarding()
