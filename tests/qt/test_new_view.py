"""A new view is one class and one registry line: with no other edit it is a
tab, File ▸ Export Figure lists its plot, it says what it needs, its result is
kept by the workspace with the inputs it read, and the startup checks
enumerate it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QLabel, QVBoxLayout

from latentlab.core.session import model_scope
from latentlab.qt.analysis import registry
from latentlab.qt.analysis.base import AnalysisView


def spread(mu: np.ndarray) -> np.ndarray:
    """The per-dim standard deviation of the codes: what the new view shows."""
    return mu.std(0)


class SpreadView(AnalysisView):
    """The VAE codes' spread per latent dim, as bars."""

    key = "spread"
    title = "Code spread"
    tooltip = "How far the VAE's codes spread along each latent dim"
    needs = ("vae",)
    figures = (("plot", "Code &Spread Plot…"),)

    def __init__(self, workspace, parent=None):
        super().__init__(workspace, parent)
        self.plot = pg.PlotWidget(self.body, background="w")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6)
        self.plot.addItem(self.bars)
        self.label = QLabel("", self.body)
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.label)
        layout.addWidget(self.plot)

    def refresh(self, changed):
        if "vae.model" not in changed:
            return  # a pick changes nothing here
        slot = self.slot_for("vae")
        self.submit(
            "spread",
            spread,
            self.session.sides[slot].codes.mu,
            inputs=(model_scope(slot),),
            on_result=self._show,
        )

    def _show(self, values):
        self.bars.setOpts(x=np.arange(len(values)), height=values)
        self.label.setText(", ".join(f"{v:.3f}" for v in values))

    def clear(self):
        self.bars.setOpts(x=[], height=[])
        self.label.setText("")


@pytest.fixture
def registered(monkeypatch):
    """The registry with one more line: the only edit a new view takes."""
    monkeypatch.setattr(registry, "VIEWS", (*registry.VIEWS, SpreadView))


def test_a_registered_view_is_a_tab_with_its_figure_and_its_result(
    qtbot, registered, window, tmp_path
):
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles[-1] == "Code spread"
    view = window.view("spread")
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: window.workspace.result("spread.spread") is not None)
    got = window.workspace.result("spread.spread")
    mu = window.session.sides[1].codes.mu  # the VAE, on the right
    np.testing.assert_allclose(got, mu.std(0), rtol=1e-6)
    assert view.label.text() == ", ".join(f"{v:.3f}" for v in mu.std(0))
    # Stored with what it read: a pick leaves it current, another model not.
    window.session.pick(7)
    assert window.workspace.result("spread.spread") is got
    entries = [a.text() for a in window.figure_menu.actions()]
    assert "Code &Spread Plot…" in entries
    written = window.export_figure("spread.plot", str(tmp_path / "spread.svg"))
    assert written is not None and "<svg" in written.read_text()[:500]
    window.session.set_side(1, window.session.sides[0])  # an AE on both sides
    assert window.workspace.result("spread.spread") is None
    assert view.showing_message and "needs a VAE" in view.message.text()
