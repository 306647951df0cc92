"""Issue 28, items 8, 10, 11 and 18 (the progress bar): the training dock
describes the models shown, its ETA says when it is paused, its curves show
per-epoch points and a smoothed train loss in a range that follows the run,
and the bar's text is not drawn across the fill's edge."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from PySide6.QtCore import Qt

from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.training import EpochEnd, EpochMetrics, TrainProgress
from latentlab.qt.widgets.train_panel import READY, TrainPanel, format_seconds
from tests.qt.conftest import SHAPES_PAIR

STEPS, EPOCHS, EVERY = 400, 2, 4  # steps per epoch, epochs, steps per event


def _metrics(epoch: int, train: float, test: float, kl: float = 0.0) -> EpochMetrics:
    return EpochMetrics(epoch, train + kl, train, kl, test, kl, 1.0, 1.0)


def _history(n: int, base: float, kl: float = 0.0) -> list[EpochMetrics]:
    return [_metrics(e, base + 40 / e, base - 2 + 30 / e, kl) for e in range(1, n + 1)]


def _loss(step: int, rng: random.Random) -> float:
    """An untrained start over 550 nats falling to about 150, with per-batch
    noise of ±20 nats."""
    return 150 + 400 * math.exp(-step / 20) + rng.uniform(-20, 20)


def _progress(step: int, loss: float, kl: float = 5.0) -> TrainProgress:
    total = STEPS * EPOCHS
    return TrainProgress(
        step=step,
        total_steps=total,
        epoch=min((step - 1) // STEPS + 1, EPOCHS),
        epochs=EPOCHS,
        recon=(loss - 5, loss),
        kl=(0.0, kl),
        loss=(loss - 5, loss + kl),
        samples_per_s=2000.0,
        elapsed_s=step * 0.05,
        rate_seconds=1.0,
        steps_s=step * 0.05,
        images_per_epoch=6000,
        test_images=1000,
    )


@pytest.fixture
def panel(qtbot, monkeypatch):
    import latentlab.qt.widgets.train_panel as module

    monkeypatch.setattr(module, "REDRAW_INTERVAL_S", 0.0)  # redraw every event
    widget = TrainPanel()
    qtbot.addWidget(widget)
    widget.resize(1000, 250)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _run(panel: TrainPanel, epochs: int = EPOCHS) -> list[float]:
    """Feed a run's events; returns the raw VAE reconstruction figures."""
    rng = random.Random(1)
    raw = []
    panel.on_started()
    for step in range(EVERY, STEPS * epochs + 1, EVERY):
        loss = _loss(step, rng)
        raw.append(loss)
        panel.on_progress(_progress(step, loss))
        if step % STEPS == 0:
            e = step // STEPS
            panel.on_epoch(
                EpochEnd(e, (_metrics(e, 160 - e, 150 - e), _metrics(e, 165, 155, 6)))
            )
    return raw


# --- item 8: the dock describes the models shown -----------------------------------


def test_a_run_that_fails_before_its_first_step_keeps_the_curves_shown(panel):
    ae, vae = _history(5, 120), _history(5, 130, kl=7.0)
    panel.show_history([ae, vae], "history of a.pt and b.pt")
    panel.on_started()
    panel.on_finished("failed")  # a download that failed, say
    assert panel.curves["vae_test"].y == [m.test_recon for m in vae]
    assert panel.curves["ae_train"].y == [m.train_recon for m in ae]
    assert panel.source.text() == "history of a.pt and b.pt"
    assert not panel.shows_run
    assert panel.progress.format() == "Failed before its first step"


def test_another_models_history_replaces_the_runs_status_and_figures(panel):
    _run(panel, epochs=1)
    panel.on_finished("stopped")
    assert panel.shows_run and panel.progress.format() == "Stopped"
    run_figures = panel.readout.text()
    assert "test, epoch 1" in run_figures
    ae, vae = _history(30, 90), _history(30, 100, kl=14.0)
    panel.show_history([ae, vae], "history of c.pt and d.pt")
    assert not panel.shows_run
    assert panel.progress.format() == READY and panel.progress.value() == 0
    text = panel.readout.text()
    assert text != run_figures
    assert f"{ae[-1].test_recon:7.2f}" in text
    assert f"{vae[-1].test_recon:7.2f}" in text
    assert f"{vae[-1].test_recon + vae[-1].test_kl:7.2f}" in text


def test_opening_other_models_after_a_run_leaves_the_runs_status(qtbot, window):
    panel = window.train_panel
    panel.epochs.setValue(1)
    with qtbot.waitSignal(window.controller.trainingFinished, timeout=120000) as done:
        qtbot.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert done.args == ["done"]
    ctrl = window.controller
    qtbot.waitUntil(
        lambda: all(
            any(s.checkpoint is c for c in ctrl.run_checkpoints)
            for s in ctrl.workspace.slots
        ),
        timeout=10000,
    )
    qtbot.wait(300)
    # The run's own models: its curves and its end stay.
    assert panel.shows_run and panel.progress.format() == "Done"
    assert panel.source.text() == "this run"
    for side, path in enumerate(SHAPES_PAIR):
        ctrl.load_file(side, path)
    shipped = load_checkpoint(SHAPES_PAIR[1]).history
    qtbot.waitUntil(
        lambda: panel.curves["vae_test"].y == [m.test_recon for m in shipped],
        timeout=20000,
    )
    assert panel.progress.format() == READY
    assert "shapes-vae-2d.pt" in panel.source.text()
    assert f"{shipped[-1].test_recon:7.2f}" in panel.readout.text()


def test_a_failed_download_leaves_the_shipped_models_curves(qtbot, window, tmp_path):
    panel = window.train_panel
    shipped = window.session.sides[1].checkpoint.history
    assert panel.curves["vae_test"].y == [m.test_recon for m in shipped]
    source = panel.source.text()
    panel.dataset.setCurrentIndex(panel.dataset.findData("kmnist"))
    panel.set_data_dir(str(tmp_path / "nothing-here"))
    panel.download.setChecked(False)
    with qtbot.waitSignal(window.controller.trainingFinished, timeout=30000) as done:
        panel.train_button.click()
    assert done.args == ["failed"]
    assert window.last_error is not None
    assert panel.curves["vae_test"].y == [m.test_recon for m in shipped]
    assert len(panel.curves["vae_train"].y) == len(shipped)
    assert panel.source.text() == source
    assert panel.progress.format() == "Failed before its first step"


# --- item 10: the ETA --------------------------------------------------------------


def test_the_eta_says_paused_while_paused(panel):
    rng = random.Random(2)
    panel.on_started()
    for step in range(EVERY, 40, EVERY):
        panel.on_progress(_progress(step, _loss(step, rng)))
    last = _progress(40, 150.0)
    panel.on_progress(last)
    assert f"ETA {format_seconds(last.eta_s)} · " in panel.progress.format()
    panel.on_paused(True)
    text = panel.progress.format()
    assert text.startswith("Paused — epoch 1/2")
    assert "ETA paused" in text and f"{format_seconds(last.eta_s)} left" in text
    assert "images/s" not in text  # a rate of no steps would stand still too
    panel.on_progress(_progress(44, 150.0))  # sent just before the pause
    assert "ETA paused" in panel.progress.format()
    panel.on_paused(False)
    text = panel.progress.format()
    assert not text.startswith("Paused") and "ETA paused" not in text
    assert "ETA " in text and "images/s" in text
    tip = panel.progress.toolTip()
    assert "test pass after each epoch" in tip and "estimated" in tip


# --- item 11: the curves -------------------------------------------------------------


def test_the_curves_show_epoch_points_and_a_smoothed_train_loss(panel):
    raw = _run(panel)
    # One point per epoch: the train mean at the middle of its epoch, the
    # test figure after it, each with a marker.
    assert panel.curves["ae_train"].x == [0.5, 1.5]
    assert panel.curves["ae_test"].x == [1.0, 2.0]
    assert panel.curves["vae_test_kl"].y == [6.0, 6.0]
    markers = panel.plots.markers
    recon = {tuple(p) for p in zip(*markers["recon"].getData(), strict=True)}
    for key in ("ae_train", "vae_train", "ae_test", "vae_test"):
        curve = panel.curves[key]
        assert set(zip(curve.x, curve.y, strict=True)) <= recon
    assert len(markers["kl"].getData()[0]) == 4  # the VAE's train and test KL
    # The live curve is smoothed: its steps are a fraction of the raw noise.
    smooth = np.array(panel.curves["vae_recon"].y)
    assert len(smooth) == len(raw)
    late = len(raw) // 2
    assert np.std(np.diff(smooth[late:])) < 0.25 * np.std(np.diff(raw[late:]))


def test_the_y_range_follows_the_run_not_its_first_steps(panel):
    _run(panel)
    panel.on_finished("done")
    (_, _), (y0, y1) = panel.recon_plot.viewRange()
    tests = panel.curves["ae_test"].y + panel.curves["vae_test"].y
    assert y0 <= min(tests) and max(tests) <= y1
    assert max(panel.curves["vae_recon"].y) > 400  # the untrained start
    assert y1 < 250, "the first steps set the range"
    # The test figures span a readable part of the height.
    assert (max(tests) - min(tests)) / (y1 - y0) > 0.05


def test_the_readout_splits_the_elbo(panel):
    _run(panel, epochs=1)
    text = panel.readout.text()
    assert "train, smoothed" in text
    line = text.splitlines()[1]
    recon = float(line.split("recon")[1].split("+")[0])
    kl = float(line.split("KL")[1].split("=")[0])
    elbo = float(line.split("−ELBO")[1])
    assert elbo == pytest.approx(recon + kl, abs=0.011)
    panel.on_finished("done")
    assert "test, epoch 1" in panel.readout.text()
    assert "155.00 + KL  6.00 = −ELBO  161.00" in panel.readout.text()


# --- item 18: the bar's text ---------------------------------------------------------


def test_the_bars_text_is_not_drawn_across_its_fill(panel):
    _run(panel, epochs=1)
    assert not panel.progress.isTextVisible()
    assert panel.status_label.text() == panel.progress.format()
    assert panel.status_label.text().startswith("epoch 1/2 · 50% · ETA ")
    label, bar = panel.status_label.geometry(), panel.progress.geometry()
    assert not label.intersects(bar)


def test_a_history_is_framed_afresh_on_its_later_epochs(panel):
    _run(panel)
    panel.on_finished("done")
    ae, vae = _history(30, 90), _history(30, 100, kl=14.0)
    vae[0] = _metrics(1, 290.0, vae[0].test_recon, 14.0)  # the untrained start
    panel.show_history([ae, vae], "history of c.pt and d.pt")
    (x0, x1), (y0, y1) = panel.recon_plot.viewRange()
    assert x0 <= 0 and 30 <= x1 < 31
    shown = [m.test_recon for m in ae + vae] + [m.train_recon for m in ae + vae[1:]]
    assert y0 <= min(shown) and max(shown) <= y1 < 290
    assert (max(shown) - min(shown)) / (y1 - y0) > 0.6
