"""The training dock's loss curves: per-epoch points, a smoothed train curve and
a y range that follows the run.

Two plots split the VAE's −ELBO into its parts: the reconstruction term
−log p(x|z) (the AE's whole loss, beside the VAE's) and the VAE's KL. Each shows,
per model, the train mean of every epoch (solid, filled points, at the middle of
the epoch it averages), the test figure after every epoch (dashed, open points)
and, while a run is on screen, the train loss smoothed over about
:data:`SMOOTH_EPOCHS` of an epoch (thin): a progress event's mean covers a few
batches and jumps by several nats from one to the next.
"""

from __future__ import annotations

import bisect
import math
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Qt

from latentlab.qt.widgets.plane_items import PassiveScatterItem
from latentlab.qt.widgets.plot_style import cache_axes

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from latentlab.core.training import EpochEnd, EpochMetrics, TrainProgress

AXIS_WIDTH = 44  # px: room for tick labels up to 5 characters
AE_COLOUR, VAE_COLOUR = (31, 119, 180), (214, 39, 40)
SMOOTH_EPOCHS = 0.1  # the smoothed curve's time constant, in epochs
# The train means of epoch e are drawn at e - TRAIN_X_OFFSET: the middle of the
# steps they average. The test figures are taken after the epoch, at e.
TRAIN_X_OFFSET = 0.5
SMOOTH_STYLE = {"width": 1.0}
SMOOTH_SHARE = 0.45  # the smoothed curve's colour: this share of the model's, on white
TRAIN_STYLE = {"width": 2.0}
TEST_STYLE = {"width": 2.0, "style": Qt.PenStyle.DashLine}
# Short enough for two plots beside the form in a 1024 px window (a title's
# width is its plot's minimum).
RECON_TITLE = "Recon −log p(x|z), nats / image"
KL_TITLE = "VAE KL(q ‖ p), nats / image"


def _faint(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """A lighter, opaque version of ``colour`` (a translucent pen costs a blend
    per pixel at every repaint)."""
    return tuple(round(255 - SMOOTH_SHARE * (255 - c)) for c in colour)


class Smoother:
    """An exponential moving mean over training steps, time constant ``tau``
    steps, corrected at the start for its zero start (as Adam's moments), so
    the first value is the first figure rather than a fraction of it."""

    def __init__(self, tau_steps: float = 1.0) -> None:
        self.reset(tau_steps)

    def reset(self, tau_steps: float) -> None:
        self._tau = max(float(tau_steps), 1e-9)
        self._mean = 0.0
        self._weight = 0.0

    def add(self, value: float, steps: int) -> float:
        """Fold in the mean ``value`` of ``steps`` steps; returns the smoothed
        value (NaN until a finite value came)."""
        if math.isfinite(value) and steps > 0:
            keep = math.exp(-steps / self._tau)
            self._mean = keep * self._mean + (1.0 - keep) * value
            self._weight = keep * self._weight + (1.0 - keep)
        return self._mean / self._weight if self._weight > 0 else math.nan


class _Curve:
    """A growing line (x increasing), redrawn from Python lists."""

    def __init__(self, plot: pg.PlotItem, name: str, pen: dict, colour) -> None:
        self.x: list[float] = []
        self.y: list[float] = []
        self.colour = colour
        self.item = plot.plot(name=name, pen=pg.mkPen(colour, **pen))

    def append(self, x: float, y: float) -> None:
        if math.isfinite(y):
            self.x.append(x)
            self.y.append(y)

    def redraw(self) -> None:
        self.item.setData(self.x, self.y)

    def values_from(self, x_from: float) -> Sequence[float]:
        """The y values at ``x >= x_from``."""
        return self.y[bisect.bisect_left(self.x, x_from) :]

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()
        self.item.setData([], [])


def _spots(curve: _Curve, filled: bool) -> list[dict]:
    """The markers of a per-epoch curve: filled (train) or open (test) dots."""
    pen = pg.mkPen(curve.colour, width=1.5)
    brush = pg.mkBrush(curve.colour if filled else "w")
    size = 6 if filled else 7
    return [
        {"pos": (x, y), "pen": pen, "brush": brush, "size": size}
        for x, y in zip(curve.x, curve.y, strict=True)
    ]


# (key, plot, colour, kind): kind "smooth", "train" or "test"
CURVES = (
    ("ae_recon", "recon", AE_COLOUR, "smooth"),
    ("vae_recon", "recon", VAE_COLOUR, "smooth"),
    ("ae_train", "recon", AE_COLOUR, "train"),
    ("vae_train", "recon", VAE_COLOUR, "train"),
    ("ae_test", "recon", AE_COLOUR, "test"),
    ("vae_test", "recon", VAE_COLOUR, "test"),
    ("vae_kl", "kl", VAE_COLOUR, "smooth"),
    ("vae_train_kl", "kl", VAE_COLOUR, "train"),
    ("vae_test_kl", "kl", VAE_COLOUR, "test"),
)
# (curve key, model index, EpochMetrics field)
EPOCH_FIELDS = (
    ("ae_train", 0, "train_recon"),
    ("vae_train", 1, "train_recon"),
    ("vae_train_kl", 1, "train_kl"),
    ("ae_test", 0, "test_recon"),
    ("vae_test", 1, "test_recon"),
    ("vae_test_kl", 1, "test_kl"),
)
SMOOTH_KEYS = ("ae_recon", "vae_recon", "vae_kl")


class LossPlots(pg.GraphicsLayoutWidget):
    """The reconstruction and KL plots of the training dock.

    ``curves`` maps a key (:data:`CURVES`) to its line; ``kind`` of a key:
    ``smooth`` (the live train loss, smoothed, per progress event), ``train``
    (per-epoch train means) or ``test`` (per-epoch test figures).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.recon_plot = self.addPlot()
        self.kl_plot = self.addPlot()
        # Small titles: the dock is short on a small screen.
        self.recon_plot.setTitle(RECON_TITLE, size="9pt")
        self.kl_plot.setTitle(KL_TITLE, size="9pt")
        for plot in (self.recon_plot, self.kl_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            cache_axes(plot)
            # A fixed width: tick labels of a new y range ("1000" after "250")
            # would otherwise re-lay the plot and redraw both axes.
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            plot.setLabel("bottom", "epoch")
        plots = {"recon": self.recon_plot, "kl": self.kl_plot}
        self.curves: dict[str, _Curve] = {}
        self.kinds: dict[str, str] = {}
        for key, where, colour, kind in CURVES:
            model = "AE" if key.startswith("ae") else "VAE"
            name, pen = {
                "smooth": (f"{model} train, smoothed", SMOOTH_STYLE),
                "train": (f"{model} train, epoch mean", TRAIN_STYLE),
                "test": (f"{model} test", TEST_STYLE),
            }[kind]
            shade = _faint(colour) if kind == "smooth" else colour
            self.curves[key] = _Curve(plots[where], name, pen, shade)
            self.kinds[key] = kind
        # The per-epoch points of a plot, one item (each scatter item costs its
        # paint at every repaint, points or none).
        self.markers: dict[str, PassiveScatterItem] = {}
        for where, plot in plots.items():
            self.markers[where] = PassiveScatterItem(symbol="o", pxMode=True)
            plot.addItem(self.markers[where])
        self._plot_curves = (
            (self.recon_plot, tuple(k for k, w, _, _ in CURVES if w == "recon")),
            (self.kl_plot, tuple(k for k, w, _, _ in CURVES if w == "kl")),
        )
        self._where = {key: where for key, where, _, _ in CURVES}
        self._smoothers = {key: Smoother() for key in SMOOTH_KEYS}
        self._last_step = 0
        self._epochs = 0
        self._x_epochs = 0  # the epochs the x axes show

    # --- what is shown ---------------------------------------------------------------

    def clear_curves(self) -> None:
        for curve in self.curves.values():
            curve.clear()
        for markers in self.markers.values():
            markers.clear()

    def _redraw_markers(self) -> None:
        for where, markers in self.markers.items():
            spots = []
            for key, kind in self.kinds.items():
                if self._where[key] == where and kind != "smooth":
                    spots += _spots(self.curves[key], filled=kind == "train")
            markers.setData(spots)

    def show_history(self, histories: Sequence[Sequence[EpochMetrics] | None]) -> None:
        """The per-epoch figures of the models shown (AE, VAE; None for a
        missing one)."""
        self.clear_curves()
        for key, index, field in EPOCH_FIELDS:
            curve = self.curves[key]
            for m in histories[index] or ():
                curve.append(self._epoch_x(key, m.epoch), getattr(m, field))
            curve.redraw()
        self._redraw_markers()
        self._epochs = max((len(h) for h in histories if h), default=0)
        self.fit_ranges(refit=True)

    def start_run(self, p: TrainProgress) -> None:
        """A run's first figures: clear the curves; the smoothing spans about
        :data:`SMOOTH_EPOCHS` of its epochs."""
        self.clear_curves()
        tau = SMOOTH_EPOCHS * p.total_steps / max(p.epochs, 1)
        for smoother in self._smoothers.values():
            smoother.reset(max(tau, 1.0))
        self._last_step = 0
        self._epochs = p.epochs

    def add_progress(self, p: TrainProgress) -> None:
        """Fold a progress event into the smoothed curves (not redrawn)."""
        steps = max(p.step - self._last_step, 1)
        self._last_step = p.step
        x = p.fraction * p.epochs
        for key, value in (
            ("ae_recon", p.recon[0]),
            ("vae_recon", p.recon[-1]),
            ("vae_kl", p.kl[-1]),
        ):
            self.curves[key].append(x, self._smoothers[key].add(value, steps))

    def smoothed(self, key: str) -> float:
        """The latest smoothed value of ``key`` (NaN before any)."""
        y = self.curves[key].y
        return y[-1] if y else math.nan

    def redraw_live(self) -> None:
        for key in SMOOTH_KEYS:
            self.curves[key].redraw()
        self.fit_ranges()

    def add_epoch(self, event: EpochEnd) -> None:
        """The train means and test figures of a finished epoch."""
        for key, index, field in EPOCH_FIELDS:
            if index < len(event.metrics):
                m = event.metrics[index]
                self.curves[key].append(self._epoch_x(key, m.epoch), getattr(m, field))
                self.curves[key].redraw()
        self._redraw_markers()
        self.fit_ranges()

    def redraw_all(self) -> None:
        for curve in self.curves.values():
            curve.redraw()
        self._redraw_markers()
        self.fit_ranges()

    def _epoch_x(self, key: str, epoch: int) -> float:
        return epoch - (TRAIN_X_OFFSET if self.kinds[key] == "train" else 0.0)

    # --- ranges ----------------------------------------------------------------------

    def framed_values(self, keys: Iterable[str]) -> list[float]:
        """The figures the y range of a plot showing ``keys`` covers.

        Every test figure, and the train figures of the run's latest stretch:
        the smoothed curve over its last epoch (the later half of it before one
        epoch has run) and the epoch means, the first epoch's left out once
        later figures exist. The untrained first steps (500 nats and more on
        MNIST) would otherwise set the range, and squash the rest of the run
        into a flat line at the bottom where train and test cannot be told apart.
        """
        keys = tuple(keys)
        train_x = [
            self.curves[k].x[-1]
            for k in keys
            if self.kinds[k] != "test" and self.curves[k].x
        ]
        x_last = max(train_x, default=0.0)
        values: list[float] = []
        for key in keys:
            curve, kind = self.curves[key], self.kinds[key]
            if kind == "test":
                values.extend(curve.y)
            elif kind == "smooth":
                values.extend(curve.values_from(max(x_last / 2, x_last - 1)))
            else:
                first_epoch_x = 1 - TRAIN_X_OFFSET
                later = x_last > first_epoch_x
                values.extend(
                    curve.values_from(first_epoch_x + 0.25) if later else curve.y
                )
        return values

    def fit_ranges(self, *, refit: bool = False) -> None:
        """Frame the whole run in x and :meth:`framed_values` in y, moving the
        axes rarely (``refit``: frame them now, as for a history).

        Autorange would re-lay both axes at every redraw as the curves grow; a
        fixed x range shows how far the run is, and y changes only when a figure
        leaves its range or the figures shrink to under 40 % of it. The range
        spans at least a tenth of the figures' size: a KL that wavers by 0.05
        nats around 6 should not fill the plot as a trend would.
        """
        # Any range call, even an unchanged one, makes the axes redraw their
        # ticks (~7 ms a plot): set x only when the run's length changes.
        new_x = self._epochs and (refit or self._epochs != self._x_epochs)
        self._x_epochs = self._epochs
        for plot, keys in self._plot_curves:
            if new_x:
                plot.setXRange(0, self._epochs, padding=0.02)
            values = self.framed_values(keys)
            if not values:
                continue
            lo, hi = min(values), max(values)
            span = max(hi - lo, 0.1 * max(abs(hi), abs(lo), 1.0))
            y0, y1 = plot.viewRange()[1]
            if refit or lo < y0 or hi > y1 or span < 0.4 * (y1 - y0):
                # Room below: losses fall, and each new range redraws the axes.
                plot.setYRange(lo - 0.3 * span, hi + 0.15 * span, padding=0)
