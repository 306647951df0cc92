"""The analysis views (ε-resampling, interpolation, prior samples, gradient path),
added to the main window as tabs.

:func:`install_views` builds the views and an :class:`AnalysisHub` that feeds
them: it follows ``controller.panelChanged`` to find the AE and the VAE, and turns
a click on a scatter point of the main planes into a picked input.

Feeding a view is cheap: a hidden view (its tab not current) only keeps the
latest panels and notes that the selection changed, and catches up in its
``showEvent`` when its tab is made current. So the panel updates of a training
run and the clicks in the Latent planes tab cost the hidden tabs no plotting and
no jobs; the selection itself (and the status bar) still follows every click.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from latentlab.qt.gallery_view import (
    InputSelection,
    describe,
    model_sides,
    nearest_point,
    same_data,
)
from latentlab.qt.interpolation_view import InterpolationView, PriorSamplesView
from latentlab.qt.reparam_view import GradientView, ReparamView

if TYPE_CHECKING:
    from latentlab.qt.main_window import MainWindow


@dataclass(frozen=True, slots=True)
class AnalysisViews:
    """The views installed in a window, and the selection they share."""

    selection: InputSelection
    reparam: ReparamView
    gradient: GradientView
    interpolation: InterpolationView
    prior: PriorSamplesView
    hub: AnalysisHub


class AnalysisHub(QObject):
    """Feeds the views from the controller and the main planes."""

    def __init__(self, window: MainWindow, views: dict[str, QObject]) -> None:
        super().__init__(window)
        self._window = window
        self._views = views
        self.selection: InputSelection = views["selection"]
        controller = window.controller
        controller.panelChanged.connect(self._on_panel_changed)
        for side, panel in enumerate(window.panels):
            panel.plane.latentClicked.connect(
                lambda x, y, s=side: self._on_plane_clicked(s, x, y)
            )
        self.selection.changed.connect(self._on_selection_changed)
        window.closing.connect(self._shutdown_views)

    def _on_panel_changed(self, _side: int) -> None:
        # Each view compares what it plotted per model, so an update of one side
        # leaves the other side's plane alone; hidden views only record it.
        panels = self._window.controller.panels
        sides = model_sides(panels)
        ae = panels[sides.ae] if sides.ae is not None else None
        vae = panels[sides.vae] if sides.vae is not None else None
        self._views["reparam"].set_panel(vae)
        self._views["interpolation"].set_panels(ae, vae)
        self._views["prior"].set_panels(ae, vae)
        reference = (vae or ae).dataset if (vae or ae) is not None else None
        if not same_data(self.selection.dataset, reference):
            self.selection.reset(reference)
        gradient = self._views["gradient"]
        if gradient.isVisible():
            gradient.refresh()

    def _on_plane_clicked(self, side: int, x: float, y: float) -> None:
        """Pick the test image whose code lies under the click (within ~8 px)."""
        panel = self._window.controller.panels[side]
        if panel.codes is None or not same_data(panel.dataset, self.selection.dataset):
            return
        plane = self._window.panels[side].plane
        xy = panel.latent_slice.project(panel.codes.mu)
        i = nearest_point(xy, (x, y), plane.view_box.viewPixelSize())
        if i is not None:
            self.selection.pick(i)

    def _on_selection_changed(self) -> None:
        sel = self.selection
        if sel.dataset is None or sel.current is None or not sel.by_user:
            return  # a new dataset's default pair is no news
        self._window.statusBar().showMessage(
            f"Input {describe(sel.dataset, sel.current)} picked: see the "
            "ε-resampling, Gradient path and Interpolation tabs",
            6000,
        )

    def _shutdown_views(self) -> None:
        """Stop the views' jobs as the window closes."""
        for key in ("reparam", "gradient", "interpolation", "prior"):
            self._views[key].shutdown()


def install_views(window: MainWindow) -> AnalysisViews:
    """Add every analysis view to ``window.tabs``; also kept as ``window.analysis``."""
    selection = InputSelection(window)
    reparam = ReparamView(selection)
    gradient = GradientView(reparam)
    interpolation = InterpolationView(selection)
    prior = PriorSamplesView()
    for widget, name, tip in (
        (reparam, "ε-resampling", "q(z|x), its σ ellipses and samples z = μ + σ ⊙ ε"),
        (
            gradient,
            "Gradient path",
            "Autograd through z = μ + σ ⊙ ε; estimator variances",
        ),
        (
            interpolation,
            "Interpolation: AE vs VAE",
            "The straight path between two inputs' codes, decoded by both models",
        ),
        (prior, "Prior samples", "Decode z ~ N(0, I) with the AE and the VAE"),
    ):
        index = window.tabs.addTab(widget, name)
        window.tabs.setTabToolTip(index, tip)
    hub = AnalysisHub(
        window,
        {
            "selection": selection,
            "reparam": reparam,
            "gradient": gradient,
            "interpolation": interpolation,
            "prior": prior,
        },
    )
    views = AnalysisViews(selection, reparam, gradient, interpolation, prior, hub)
    window.analysis = views
    return views
