"""Issue 29, item 3 in the window: the Interpolation tab trains (or reuses) an
AE/VAE pair per seed on the data shown, says "k of n pairs" while they train,
then shows each figure as mean ± sd and the findings (where the AE was not
worse too). The pairs go to the (test-isolated) user cache."""

from __future__ import annotations

from PySide6.QtCore import Qt

from latentlab.core.analysis.seed_study import default_cache

from .conftest import wait_loaded


def test_several_pairs_are_trained_and_reported(qtbot, window):
    wait_loaded(qtbot, window)
    view = window.view("interpolation")
    window.tabs.setCurrentWidget(view)
    panel = view.seeds_panel
    panel.seeds.setValue(2)
    panel.epochs.setValue(1)
    panel.pairs = 20
    statuses = []
    original = panel.on_progress

    def spy(event):
        original(event)
        statuses.append(panel.status.text())

    panel.on_progress = spy
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.study is not None, timeout=90000)
    study = panel.study
    assert len(study.seeds) == 2 and study.dataset == "shapes"
    assert any(s.startswith("0 of 2 pairs ready") for s in statuses)
    assert any(s.startswith("1 of 2 pairs ready") for s in statuses)
    report = panel.report.text()
    mean, sd = study.mean_sd("ae_worse_jump_ratio")
    assert f"<b>{mean:.1f} ± {sd:.1f}</b>" in report
    for line in study.findings():
        assert line in report
    assert panel.run_button.isEnabled()
    assert len(list(default_cache().glob("shapes-*-seed1.pt"))) == 2
