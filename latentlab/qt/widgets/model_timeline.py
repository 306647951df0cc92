"""The training timeline under a model panel's plane: scrub, play, export.

A slider (shown when the checkpoint has a timeline) scrubs the scatter through
the epochs of training. The scrubbed epoch is display state of the panel, not a
model: the last position is the final model (all test images and the manifold);
earlier ones show the recorded subset as it was encoded then, without a
manifold, since only the final weights are stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QToolButton, QWidget

from latentlab.qt.export import figure_image, figure_legend, figure_root

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.session import Side
    from latentlab.core.timeline import Timeline

PLAY_INTERVAL_MS = 350
NO_MANIFOLD_NOTE = "no manifold: only the final weights are stored"


class TimelineControls:
    """The timeline half of :class:`~latentlab.qt.widgets.model_panel.ModelPanel`
    (a mixin): the row of controls, the scrubbed epoch, playing, GIF frames.

    The panel provides ``_panel`` (the :class:`~latentlab.core.session.Side`
    shown), ``plane``, ``manifold_box``, ``epochChanged``, ``gifRequested``,
    ``_redraw_points`` and ``_request_grid``; the epoch shown is ``_epoch``.
    """

    def _build_timeline_row(self) -> None:
        """The row under the plane, hidden until a checkpoint with a timeline."""
        self.timeline_row = QWidget(self)
        self.play_button = QToolButton(self.timeline_row)
        self.play_button.setText("▶")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the training timeline (pause: click again)")
        self.epoch_slider = QSlider(Qt.Orientation.Horizontal, self.timeline_row)
        self.epoch_slider.setMinimumWidth(80)
        self.epoch_slider.setPageStep(1)
        self.epoch_slider.setToolTip(
            "Scrub through training: each epoch's codes of the recorded test images. "
            "The right end is the final model, with its manifold."
        )
        self.epoch_label = QLabel("", self.timeline_row)
        self.epoch_label.setMinimumWidth(70)
        self.gif_button = QToolButton(self.timeline_row)
        self.gif_button.setText("GIF…")
        self.gif_button.setToolTip("Export the timeline as an animated GIF")
        tl_row = QHBoxLayout(self.timeline_row)
        tl_row.setContentsMargins(0, 0, 0, 0)
        tl_row.setSpacing(6)
        tl_row.addWidget(QLabel("Timeline", self.timeline_row))
        tl_row.addWidget(self.play_button)
        tl_row.addWidget(self.epoch_slider, 1)
        tl_row.addWidget(self.epoch_label)
        tl_row.addWidget(self.gif_button)
        self.timeline_row.hide()
        self._play_timer = QTimer(self, interval=PLAY_INTERVAL_MS)
        self._play_timer.timeout.connect(self._play_step)
        self.epoch_slider.valueChanged.connect(self._on_slider)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.gif_button.clicked.connect(self.gifRequested)

    @property
    def timeline(self) -> Timeline | None:
        """The shown model's timeline, when it can be shown with its data."""
        return None if self._panel is None else self._panel.timeline

    @property
    def epoch_position(self) -> int | None:
        """The timeline row shown, or None for the final model."""
        return self._epoch

    def _fill_timeline(self, panel: Side) -> None:
        self.play_button.setChecked(False)
        self._epoch = None
        tl = self.timeline
        self.timeline_row.setVisible(tl is not None)
        if tl is None:
            self.plane.set_epoch_badge("")
            return
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setRange(0, tl.count - 1)
        self.epoch_slider.setValue(tl.count - 1)
        self.epoch_slider.blockSignals(False)
        self._show_epoch_text()

    def set_epoch_position(self, position: int) -> None:
        """Show timeline row ``position`` (the last one is the final model)."""
        if self.timeline is None:
            return
        self.epoch_slider.setValue(int(position))  # emits epochChanged if it moved

    def _on_slider(self, value: int) -> None:
        tl = self.timeline
        if tl is None:
            return
        epoch = None if value >= tl.count - 1 else int(value)
        if epoch != self._epoch:
            self.epochChanged.emit(int(value))  # the workspace says what to show

    def show_epoch(self, row: int | None) -> None:
        """Show timeline row ``row`` (None: the final model), as the session says."""
        tl = self.timeline
        if tl is None:
            return
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setValue(tl.count - 1 if row is None else int(row))
        self.epoch_slider.blockSignals(False)
        if row == self._epoch:
            return
        self._epoch = row
        self._show_epoch_text()
        self._redraw_points()
        live = row is None
        self.plane.set_manifold_visible(live and self.manifold_box.isChecked())
        if live:
            self._request_grid()

    def _show_epoch_text(self) -> None:
        tl = self.timeline
        if tl is None:
            return
        i = self._epoch
        if i is None:
            self.epoch_label.setText(f"final ({int(tl.epochs[-1])})")
            self.plane.set_epoch_badge("")
            return
        self.epoch_label.setText(f"epoch {int(tl.epochs[i])}/{int(tl.epochs[-1])}")
        self.plane.set_epoch_badge(
            f"{self.epoch_caption(i)}\n{tl.points:,} test images · {NO_MANIFOLD_NOTE}"
        )

    def epoch_caption(self, i: int) -> str:
        """``Epoch 5 / 30 · test −ELBO 41.2 nats`` for timeline row ``i``."""
        tl = self.timeline
        if tl is None:
            return ""
        elbo = float(tl.test_recon[i] + tl.test_kl[i])
        last = int(tl.epochs[-1])
        return f"Epoch {int(tl.epochs[i])} / {last} · test −ELBO {elbo:.1f} nats"

    def _on_play_toggled(self, on: bool) -> None:
        self.play_button.setText("❚❚" if on else "▶")
        if not on:
            self._play_timer.stop()
            return
        if self.timeline is None:
            self.play_button.setChecked(False)
            return
        if self._epoch is None:  # from the end: start over
            self.set_epoch_position(0)
        self._play_timer.start()

    def _play_step(self) -> None:
        tl = self.timeline
        value = self.epoch_slider.value() + 1
        if tl is None or value >= tl.count:
            self.play_button.setChecked(False)
            return
        self.set_epoch_position(value)
        if value >= tl.count - 1:
            self.play_button.setChecked(False)  # at the final model: done

    def render_timeline_frames(self) -> list[npt.NDArray[np.uint8]]:
        """The plane at every recorded epoch, RGB ``(h, w, 3)``, as an exported
        figure: the epoch written under it, then the colour key, without the
        crosshair.

        Every frame shows the recorded test images (the last one too, so that
        all frames show the same points) without the manifold. The panel shows
        what it showed before when this returns.
        """

        tl = self.timeline
        if tl is None:
            return []
        before = self.epoch_slider.value()
        frames = []
        self._play_timer.stop()
        try:
            self.plane.set_manifold_visible(False)
            for i in range(tl.count):
                self._epoch = i
                self._redraw_points()
                image = figure_image(
                    figure_root(self.plane),
                    figure_legend(self.plane),
                    scale=1,
                    caption=self.epoch_caption(i),
                )
                frames.append(_to_rgb(image))
        finally:
            self._epoch = -1  # differs from every position: the next one redraws
            self.show_epoch(None if before >= tl.count - 1 else before)
            self.plane.set_manifold_visible(
                self._epoch is None and self.manifold_box.isChecked()
            )
        return frames


def _to_rgb(image: QImage) -> npt.NDArray[np.uint8]:
    """A QImage as an RGB array ``(h, w, 3)`` (a copy)."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    raw = np.frombuffer(img.constBits(), np.uint8, count=stride * h)
    return raw.reshape(h, stride)[:, : 3 * w].reshape(h, w, 3).copy()
