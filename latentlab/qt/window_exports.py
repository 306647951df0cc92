"""The main window's exports: the planes as PNG, the decoded images, the codes
as CSV, a timeline as GIF, and any plot of File ▸ Export Figure as SVG or PNG."""

from __future__ import annotations

from typing import TYPE_CHECKING

from latentlab.core.errors import LatentLabError
from latentlab.core.session import SIDE_NAMES, SIDES
from latentlab.core.timeline import write_gif
from latentlab.qt.analysis.registry import VIEWS
from latentlab.qt.export import FIGURE_FILTER, export_figure
from latentlab.qt.save_dialog import ask_save_path, save_png

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from latentlab.core.session_state import Side
    from latentlab.qt.analysis.base import AnalysisView

GIF_FILTER = "GIF animation (*.gif)"
PNG_FILTER = "PNG image (*.png)"
CSV_FILTER = "CSV table (*.csv)"


# File ▸ Export Figure: (key, menu text); keys name the plot (see figure_plot).
# Each view declares its own (AnalysisView.figures); the training dock's is the
# window's.
def figure_entries(views: Sequence[type[AnalysisView]]) -> tuple[tuple[str, str], ...]:
    """File ▸ Export Figure's entries for ``views``, then the training dock's."""
    return (
        *(
            (f"{view.key}.{path}", text)
            for view in views
            for path, text in view.figures
        ),
        ("losses", "L&oss Curves…"),
    )


FIGURES = figure_entries(VIEWS)


def model_stem(state: Side) -> str:
    """What a file of this side's model holds, for its default name:
    ``fashion-mnist-vae-2d`` (its dataset, kind and latent size)."""
    cfg = state.checkpoint.config
    data = state.dataset.name if state.dataset is not None else "model"
    stem = f"{data}-{cfg.kind}-{cfg.latent_dim}d"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)


class WindowExports:
    """What :class:`~latentlab.qt.main_window.MainWindow` writes besides
    checkpoints (a mixin): the window provides ``session``, ``controller``,
    ``panels``, ``train_panel``, ``tabs``, :meth:`view`, :meth:`show_error`
    and :meth:`_last_dir`."""

    # --- the timeline ------------------------------------------------------------

    def export_timeline_gif(self, side: int, path: str | Path | None = None) -> None:
        """Save ``side``'s timeline as an animated GIF, one frame per epoch.

        The dialog asks before replacing the file; the GIF is written
        atomically in the background.
        """
        panel = self.panels[side]
        if panel.timeline is None:
            self.show_error("No timeline", "This model has no training timeline.")
            return
        if path is None:
            start = self._last_dir()
            path = ask_save_path(
                self,
                "Export timeline as GIF",
                start / f"timeline-{model_stem(self.session.sides[side])}.gif",
                GIF_FILTER,
            )
            if path is None:
                return
        frames = panel.render_timeline_frames()
        self.controller.jobs.submit(
            f"gif{side}",
            write_gif,
            path,
            frames,
            on_result=lambda written: self.statusBar().showMessage(
                f"Saved {written} ({len(frames)} frames)", 8000
            ),
            on_error=lambda exc: self.show_error("Could not export the GIF", str(exc)),
        )

    # --- codes -------------------------------------------------------------------

    def export_codes_dialog(self, side: int) -> None:
        """Ask where to write ``side``'s codes as CSV (and before replacing a
        file) and write them in the background."""
        state = self.session.sides[side]
        if state.codes is None or state.dataset is None:
            self.show_error(
                "No codes to export",
                f"The {SIDE_NAMES[side]} panel shows no encoded test set.",
            )
            return
        start = self._last_dir() / f"codes-{model_stem(state)}.csv"
        path = ask_save_path(
            self, f"Export the {SIDE_NAMES[side]} codes", start, CSV_FILTER
        )
        if path is not None:
            self.controller.export_codes(side, path)

    # --- figures -----------------------------------------------------------------

    def figure_plot(self, key: str):
        """The plot widget behind File ▸ Export Figure entry ``key``."""
        if key == "losses":
            return self.train_panel.plots
        view_key, _, attr = key.partition(".")
        first, *rest = attr.split("/")
        plot = getattr(self.view(view_key), first)
        for part in rest:  # a dict of plots by kind, or a widget's attribute
            plot = plot[part] if isinstance(plot, dict) else getattr(plot, part)
        return plot

    def _show_figure(self, key: str) -> None:
        """Bring the plot on screen, so it is laid out at its shown size."""
        if key == "losses":
            self.show_training_dock()
        else:
            self.tabs.setCurrentWidget(self.view(key.partition(".")[0]))

    def export_figure_dialog(self, key: str) -> None:
        """Ask for a file and write plot ``key`` as SVG or 2x PNG."""
        self._show_figure(key)
        if self._figure_missing(key):
            return
        label = dict(self.figures)[key].replace("&", "").rstrip("…")
        stem = "".join(c if c.isalnum() else "-" for c in label.lower()).strip("-")
        start = self._last_dir() / f"{stem}.svg"
        # The path ends in .svg or .png, so export_figure writes that very file.
        path = ask_save_path(self, f"Export {label}", start, FIGURE_FILTER)
        if path is not None:
            self.export_figure(key, str(path))

    def _figure_missing(self, key: str) -> bool:
        """True (and say why) when plot ``key``'s tab shows what it needs
        instead of a plot: exporting it would write an empty figure."""
        view_key = key.partition(".")[0]
        known = view_key in self.views or view_key in self._unbuilt_views
        view = self.view(view_key) if known else None
        if view is None or not view.showing_message:
            return False
        self.show_error("Nothing to export", view.message.text().split("\n")[0])
        return True

    def export_figure(self, key: str, path: str) -> Path | None:
        """Write plot ``key`` to ``path`` (.svg or .png at 2x); None on failure."""
        if self._figure_missing(key):
            return None
        try:
            written = export_figure(self.figure_plot(key), path)
        except LatentLabError as exc:
            self.show_error("Export failed", str(exc))
            return None
        self.statusBar().showMessage(f"Saved {written}", 8000)
        return written

    # --- images ------------------------------------------------------------------

    def export_view_dialog(self, side: int) -> None:
        """Save the plane as it is shown, as a PNG (atomically)."""
        start = self._last_dir()
        path = ask_save_path(
            self, "Export view", start / f"latent-{SIDE_NAMES[side]}.png", PNG_FILTER
        )
        if path is None:
            return
        try:
            save_png(self.panels[side].plane.grab().toImage(), path)
        except LatentLabError as exc:
            self.show_error("Export failed", str(exc))
            return
        self.statusBar().showMessage(f"Saved {path}", 8000)

    def _decoded_paths(self, base: Path) -> dict[int, Path]:
        """The files Export Decoded Images writes for ``base``, by side: one per
        side showing a decoded image, ``<stem>-left.png``, ``<stem>-right.png``."""
        return {
            side: base.with_name(f"{base.stem}-{SIDE_NAMES[side]}{base.suffix}")
            for side, panel in zip(SIDES, self.panels, strict=True)
            if panel.decode.has_image
        }

    def export_decoded_dialog(self) -> None:
        """Save both decoded images as PNG files next to each other."""
        if not any(panel.decode.has_image for panel in self.panels):
            self.show_error(
                "Nothing to export", "Click a plane to decode a point first."
            )
            return
        start = self._last_dir()
        path = ask_save_path(
            self,
            "Export decoded images",
            start / "decoded.png",
            PNG_FILTER,
            targets=lambda base: list(self._decoded_paths(base).values()),
        )
        if path is None:
            return
        written = []
        for side, target in self._decoded_paths(path).items():
            try:
                if self.panels[side].decode.export_png(str(target)):
                    written.append(target.name)
            except LatentLabError as exc:
                self.show_error("Export failed", str(exc))
                return
        self.statusBar().showMessage(f"Saved {', '.join(written)}", 8000)
