"""Issue 31: ``latentlab.view`` opens the window on modules from Python, every
tab works on them, and ``latentlab.run`` ends when the window is ready under
``LATENTLAB_QUIT_WHEN_READY`` (CI's way to open and close it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import latentlab
from latentlab.core.errors import ConfigError
from tests.byo_models import ConvVAE64, KerasAE, blobs

from .conftest import wait_loaded

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "data" / "pythae"


@pytest.fixture
def pair():
    torch.manual_seed(0)
    vae = ConvVAE64().eval()
    ae = KerasAE((3, 64, 64), latent_dim=2)
    x, y = blobs(48, (3, 64, 64))
    levels = torch.round(x * 255).to(torch.uint8)
    return (
        latentlab.wrap(ae, likelihood="bernoulli"),
        latentlab.wrap(vae, image_shape=(3, 64, 64), name="my conv VAE"),
        levels,
        y,
    )


def test_view_shows_wrapped_modules_and_every_tab_works(
    qtbot, no_threads_left, pair, tmp_path
):
    ae, vae, images, labels = pair
    with pytest.raises(ConfigError, match="uint8"):
        latentlab.view(ae, vae, images=images.float() / 255)  # two pixel ranges
    ws = latentlab.view(
        ae, vae, images=images, labels=labels, class_names=["left", "right"]
    )
    window = latentlab.api._WINDOWS[-1]
    qtbot.addWidget(window, before_close_func=lambda w: w.close_discarding())
    window.resize(1280, 900)
    qtbot.waitExposed(window)
    wait_loaded(qtbot, window)
    assert ws is window.controller.workspace
    assert ws.slots[1].codes.mu.shape == (48, 4)
    assert window.panels[1].title.text().startswith("my conv VAE")
    assert ws.slots[1].dataset.class_names == ("left", "right")
    # A decode in both panels is the module's own image, in colour.
    ws.decode(0.1, -0.2)
    for side, model in enumerate((ae, vae)):
        qtbot.waitUntil(lambda s=side: window.panels[s].decode.image is not None)
        shown = window.panels[side].decode.image
        z = torch.tensor(window.panels[side].decode.z[None], dtype=torch.float32)
        with torch.no_grad():
            expected = model.mean_image(z)[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(shown, expected, atol=1e-6)
    # Every tab, before and after picking an input.
    for pick in (None, 5):
        if pick is not None:
            ws.pick(pick)
        for index in range(window.tabs.count()):
            window.tabs.setCurrentIndex(index)
            qtbot.wait(250)
            assert window.last_error is None, (
                window.tabs.tabText(index),
                window.last_error,
            )
    # The AE has no σ: the ε view says so rather than failing.
    assert window.last_error is None
    # The figure export and the codes' CSV work on them too.
    png = window.export_figure("planes.plane/1", str(tmp_path / "vae.png"))
    assert Path(png).stat().st_size > 1000
    ws.export_codes(1, tmp_path / "codes.csv")
    qtbot.waitUntil(lambda: (tmp_path / "codes.csv").exists(), timeout=10000)
    rows = (tmp_path / "codes.csv").read_text().splitlines()
    assert len(rows) == 1 + 48
    # Saving a module LatentLab cannot rebuild is refused, saying why.
    window.save_dialog(1)
    assert window.last_error[0] == "Cannot save this model"
    assert "usable from Python only" in window.last_error[1]
    window.close_discarding()


def test_run_returns_once_the_window_is_ready(tmp_path):
    script = tmp_path / "notebook.py"
    script.write_text(
        textwrap.dedent(
            """
            import torch, latentlab
            from tests.byo_models import PythaeShaped, blobs
            x, y = blobs(40)
            model = latentlab.wrap(PythaeShaped(), likelihood="bernoulli")
            ws = latentlab.view(model, images=x, labels=y)
            print("view returned", ws.slots[0].codes is None, flush=True)
            print("run returned", latentlab.run(), flush=True)
            """
        )
    )
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "LATENTLAB_QUIT_WHEN_READY": "1",
        "PYTHONPATH": str(REPO),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    proc = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "view returned True"  # at once, before the images are encoded
    assert any(line.startswith("latentlab: ready, 1 model(s) loaded") for line in lines)
    assert lines[-1] == "run returned 0"


def test_the_app_opens_a_pythae_folder(qtbot, no_threads_left):
    from latentlab.qt.app import create_window

    window = create_window([str(FIXTURES / "vae")], None)
    asked = []
    window.ask_dataset = lambda title, pixels: asked.append((title, pixels))
    qtbot.addWidget(window, before_close_func=lambda w: w.close_discarding())
    window.show()
    qtbot.waitUntil(lambda: window.session.sides[0].model is not None, timeout=20000)
    assert asked and asked[0][0].startswith("pythae VAE") and asked[0][1] == 64
    assert window.panels[0].title.text().startswith("pythae VAE (binary cross-entropy)")
    window.close_discarding()
