"""Interactive latency of the real app, offscreen: click, drag, pan, manifold,
encode plus scatter, and GUI-thread stalls while training (issue 8).

Run ``python -m bench.interactive [--quick] [--data-dir DIR] [--only LIST]``.

Everything goes through the real window built by
:func:`latentlab.qt.app.create_window` with both panels loaded: mouse events are
QTest events on a plane's viewport (pyqtgraph ``mouseRateLimit=-1``, as the
tests use), so the times include pyqtgraph's scene dispatch, the controller's
decode, the signal fan-out to both panels and the repaint.

Two times are given per interaction:

* ``..._image``: until both decode panels hold the new z (``decode.z``);
* ``..._paint``: until, in addition, every widget that changed (both decoded
  images, both planes) has received its paint event from the event loop.

``pan_move_to_paint_*`` times a right-drag move until the plane has painted
its new range (both axes re-laid; the manifold redecodes in the background).
``click_gui_cpu_*``, ``drag_gui_cpu_*`` and ``pan_gui_cpu_*`` are the GUI
thread's own CPU time per interaction (``time.thread_time``): on a shared
machine they move much less than wall time, so compare those before and after
a change. The stall section
trains an AE + VAE on Fashion-MNIST in the window and records the gaps of a
10 ms GUI-thread timer: ``train_gap_*`` from ``start_training``,
``train_steady_gap_*`` from the first progress event (data loaded); the worst
gaps are listed with the controller and session signals handled during them.

Backbones: ``mlp`` is the shipped MNIST pair (``models/mnist-*-2d.pt``, the
app's default with the data found); ``conv`` is an untrained conv AE + VAE saved
with ``dataset={"name": "shapes"}`` (decode cost does not depend on the weights).

Every figure is one ``name value unit`` line; context lines start with ``#``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import threading
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

# PySide6 first, so pyqtgraph and superqt bind to it.
import PySide6.QtCore  # noqa: F401 - must precede pyqtgraph / superqt imports

# isort: split
import pyqtgraph as pg
import torch
from PySide6.QtCore import (
    QEvent,
    QEventLoop,
    QObject,
    QPoint,
    QSettings,
    Qt,
    QThreadPool,
    QTimer,
)
from PySide6.QtTest import QTest

from latentlab.core.checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.data import load_dataset
from latentlab.core.latent import (
    LatentSlice,
    decode_grid,
    decode_grid_levels,
    encode_images,
    native_bf16,
)
from latentlab.core.session import Side
from latentlab.core.training import new_model
from latentlab.core.training_run import TrainSpec
from latentlab.qt.app import (
    MODELS_DIR,
    create_window,
    freeze_startup_objects,
    new_application,
)
from latentlab.qt.widgets.latent_plane import fit_rect
from latentlab.qt.widgets.model_panel import colour_groups

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy.typing as npt
    from PySide6.QtWidgets import QApplication, QWidget

    from latentlab.qt.main_window import MainWindow
    from latentlab.qt.widgets.latent_plane import LatentPlaneWidget

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
SECTIONS = ("click", "drag", "pan", "grid", "encode", "stall")
WINDOW_SIZE = (1280, 880)
GOALS = {
    # issue 17: click -> image (conv) and click -> painted, p95
    "click_image_p95_ms": {"mlp": 8.0, "conv": 5.0, "colour": 16.0},
    "click_paint_p95_ms": 10.0,
    # issue 30: click -> both 64x64 colour panels painted, p95
    "click_paint_colour_p95_ms": 16.0,
    # issue 30: a 20x20 colour manifold, both planes, against the decoders' own
    # throughput (the share of the time that is decoding)
    "grid20_colour_of_decoder": 0.6,
    "drag_per_s": 60.0,
    "grid32_ms": 30.0,
    "grid32_e2e_both_ms": {"mlp": 16.0, "conv": 25.0},
    "encode_show_ms": 150.0,
    "stall_worst_ms": 25.0,
    "stall_p99_ms": 12.0,
    "train_start_s": 0.5,
    "train_rate_of_limit": 0.9,
}


# --- output ------------------------------------------------------------------------


def emit(name: str, value: float, unit: str) -> None:
    """One machine-readable figure."""
    print(f"{name} {value:.4g} {unit}", flush=True)


def note(text: str) -> None:
    """One human context line."""
    print(f"# {text}", flush=True)


def emit_spread(name: str, values_ms: Sequence[float]) -> None:
    """p50, p95 and max of ``values_ms`` as three figures."""
    arr = np.asarray(values_ms, dtype=np.float64)
    if arr.size == 0:
        note(f"{name}: no samples")
        return
    emit(f"{name}_p50_ms", float(np.percentile(arr, 50)), "ms")
    emit(f"{name}_p95_ms", float(np.percentile(arr, 95)), "ms")
    emit(f"{name}_max_ms", float(arr.max()), "ms")


def verdict(
    label: str, value: float, goal: float, higher_is_better: bool = False
) -> str:
    """``label 12.3 (goal < 8: MISSED)``."""
    ok = value >= goal if higher_is_better else value < goal
    sign = ">=" if higher_is_better else "<"
    return f"{label} {value:.4g} (goal {sign} {goal:g}: {'met' if ok else 'MISSED'})"


# --- event-loop helpers ------------------------------------------------------------


class PaintProbe(QObject):
    """Notes that one widget received a paint event (an event filter)."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.widget = widget
        self.painted = False
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted = True
        return False

    def remove(self) -> None:
        """Stop watching."""
        self.widget.removeEventFilter(self)


def spin_until(
    app: QApplication, timeout_s: float, pred: Callable[..., bool], *args: Any
) -> bool:
    """Process events in a tight loop until ``pred(*args)``; False on timeout.

    For short, latency-critical waits: no sleeping, so no timer granularity.
    """
    deadline = time.perf_counter() + timeout_s
    while not pred(*args):
        if time.perf_counter() > deadline:
            return False
        app.processEvents()
    return True


def wait_until(timeout_s: float, pred: Callable[[], bool]) -> bool:
    """Wait in the event loop (idle between polls) until ``pred()``."""
    if not pred():
        run_loop(timeout_s, until=pred)
    return pred()


def run_loop(seconds: float, until: Callable[[], bool] | None = None) -> None:
    """Run a real (blocking, idle-waiting) event loop for ``seconds`` or until
    ``until()`` is true (checked every 5 ms).

    The benchmarks wait with this, never ``QTest.qWait``: PySide6 holds the GIL
    through a ``qWait`` (a Python thread ran at 1 % of its speed meanwhile), so
    the app's job and training threads would stall while the bench waits.
    """
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    poll: QTimer | None = None
    if until is not None:
        poll = QTimer()
        poll.setInterval(5)
        poll.timeout.connect(lambda: loop.quit() if until() else None)
        poll.start()
    loop.exec()
    if poll is not None:
        poll.stop()


def settle(quiet_s: float = 0.35, timeout_s: float = 60.0) -> bool:
    """Wait until no background job has run for ``quiet_s`` (debounced grid
    requests included, whose timer is 120 ms)."""
    pool = QThreadPool.globalInstance()
    deadline = time.perf_counter() + timeout_s
    quiet_since: float | None = None
    while time.perf_counter() < deadline:
        run_loop(0.02)
        now = time.perf_counter()
        if pool.activeThreadCount() == 0:
            if quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= quiet_s:
                return True
        else:
            quiet_since = None
    return False


# --- the app -----------------------------------------------------------------------


def make_app() -> QApplication:
    """The offscreen QApplication, with settings isolated in a temp folder."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = new_application(["latentlab-bench"])
    folder = tempfile.mkdtemp(prefix="latentlab-bench-settings-")
    # The app's QSettings("LatentLab", "LatentLab") is the native format (INI on
    # Linux): isolate that one too, or runs restore each other's window state.
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)
    pg.setConfigOptions(mouseRateLimit=-1)
    return app  # type: ignore[return-value]


def open_window(files: Sequence[Path], data_dir: Path | None) -> MainWindow:
    """The real window with both panels loaded and every start-up job done."""
    window = create_window([str(f) for f in files], str(data_dir) if data_dir else None)
    window.resize(*WINDOW_SIZE)
    window.show()
    QTest.qWaitForWindowExposed(window)
    panels = window.session.sides
    if not wait_until(
        60.0, lambda: all(p.model is not None and p.codes is not None for p in panels)
    ):
        raise SystemExit(f"bench: the window did not load {files} within 60 s")
    settle()
    # As run_app does once start-up is done: its objects leave the GC's full passes.
    freeze_startup_objects()
    return window


def close_window(app: QApplication, window: MainWindow) -> None:
    """Close like a user (closeEvent stops the jobs), then drop the window."""
    window.close_discarding()
    settle(quiet_s=0.1)
    window.deleteLater()
    app.processEvents()


def conv_checkpoints(folder: Path) -> list[Path]:
    """An untrained conv AE and VAE for 28x28 shapes, saved as checkpoints."""
    paths = []
    for kind in ("ae", "vae"):
        cfg = ModelConfig(kind=kind, backbone="conv", image_shape=(1, 28, 28))
        path = folder / f"shapes-{kind}-conv-2d.pt"
        save_checkpoint(path, new_model(cfg, seed=0), dataset={"name": "shapes"})
        paths.append(path)
    return paths


def colour_checkpoints(folder: Path) -> list[Path]:
    """An untrained conv4 AE and VAE for 64x64 colour shapes, saved as
    checkpoints (latency does not depend on training)."""
    paths = []
    for kind in ("ae", "vae"):
        cfg = ModelConfig(
            kind=kind,
            backbone="conv4",
            image_shape=(3, 64, 64),
            hidden=(256,),
            likelihood="gaussian",
        )
        path = folder / f"colour-shapes-{kind}-conv4-2d.pt"
        save_checkpoint(path, new_model(cfg, seed=0), dataset={"name": "colour-shapes"})
        paths.append(path)
    return paths


def plot_area(plane: LatentPlaneWidget):
    """The ViewBox's rectangle in viewport pixels (QRect)."""
    return plane.mapFromScene(plane.view_box.sceneBoundingRect()).boundingRect()


def latent_at(plane: LatentPlaneWidget, pos: QPoint) -> tuple[float, float]:
    """The plane point under viewport pixel ``pos``."""
    p = plane.view_box.mapSceneToView(plane.mapToScene(pos))
    return float(p.x()), float(p.y())


def tolerance(plane: LatentPlaneWidget) -> tuple[float, float]:
    """A quarter pixel in latent units: tells neighbouring pixels apart."""
    px, py = plane.view_box.viewPixelSize()
    return 0.25 * px, 0.25 * py


def shows(
    window: MainWindow, xy: tuple[float, float], tol: tuple[float, float]
) -> bool:
    """True when both decode panels hold the code for plane point ``xy``."""
    for panel in window.panels:
        z = panel.decode.z
        if z is None or abs(z[0] - xy[0]) > tol[0] or abs(z[1] - xy[1]) > tol[1]:
            return False
    return True


def all_painted(probes: Sequence[PaintProbe]) -> bool:
    """True once every probe saw a paint event."""
    return all(p.painted for p in probes)


def decode_probes(window: MainWindow) -> list[PaintProbe]:
    """Probes on both decoded images, then on both planes' viewports."""
    probes = [PaintProbe(p.decode.image_label) for p in window.panels]
    return probes + [PaintProbe(p.plane.viewport()) for p in window.panels]


def arm(probes: Sequence[PaintProbe], window: MainWindow, xy: tuple[float, float]):
    """Expect a paint from both decoded images and from each plane that shows
    ``xy``: a crosshair moved outside a plane's view needs no repaint there."""
    for probe in probes[:2]:
        probe.painted = False
    for probe, panel in zip(probes[2:], window.panels, strict=True):
        r = panel.plane.view_rect()
        probe.painted = not (r.x0 <= xy[0] <= r.x1 and r.y0 <= xy[1] <= r.y1)


def random_points(
    plane: LatentPlaneWidget, rng: np.random.Generator, n: int, margin: int = 8
) -> list[QPoint]:
    """``n`` random viewport pixels inside the plot (the colour key is a
    ``LegendBar`` under the plane, so nothing covers the plot)."""
    area = plot_area(plane)
    out: list[QPoint] = []
    while len(out) < n:
        x = int(rng.integers(area.left() + margin, area.right() - margin))
        y = int(rng.integers(area.top() + margin, area.bottom() - margin))
        out.append(QPoint(x, y))
    return out


# --- click ---------------------------------------------------------------------------


def bench_click(app: QApplication, window: MainWindow, n: int, tag: str) -> float:
    """Click at random points, alternating planes; returns the p95 to the image.

    Timed from the press: the app decodes on it, and a person releases the
    button ~0.1 s later. The release is sent once both panels are painted.
    """
    rng = np.random.default_rng(8)
    probes = decode_probes(window)
    targets = [random_points(p.plane, rng, n) for p in window.panels]
    to_image: list[float] = []
    to_paint: list[float] = []
    cpu: list[float] = []
    missed = unpainted = 0
    for i in range(n):
        side = i % 2
        plane = window.panels[side].plane
        pos = targets[side][i]
        xy, tol = latent_at(plane, pos), tolerance(plane)
        arm(probes, window, xy)
        c0 = time.thread_time()
        t0 = time.perf_counter()
        args = (Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
        QTest.mousePress(plane.viewport(), *args)
        if not spin_until(app, 2.0, shows, window, xy, tol):
            missed += 1
            QTest.mouseRelease(plane.viewport(), *args)
            continue
        t1 = time.perf_counter()
        if not spin_until(app, 1.0, all_painted, probes):
            unpainted += 1
        t2 = time.perf_counter()
        cpu.append((time.thread_time() - c0) * 1e3)
        QTest.mouseRelease(plane.viewport(), *args)
        app.processEvents()
        to_image.append((t1 - t0) * 1e3)
        to_paint.append((t2 - t0) * 1e3)
    for probe in probes:
        probe.remove()
    emit_spread(f"click_to_image_{tag}", to_image)
    emit_spread(f"click_to_paint_{tag}", to_paint)
    # CPU time of the GUI thread alone, click to paint: less sensitive than wall
    # time to other processes on a shared machine (torch's helper threads and
    # background jobs are not in it).
    emit(f"click_gui_cpu_{tag}_p50_ms", float(np.percentile(cpu, 50)), "ms")
    if missed or unpainted:
        note(f"click {tag}: {missed} click(s) decoded nothing, {unpainted} not painted")
    p95 = float(np.percentile(to_image, 95)) if to_image else float("nan")
    note(
        f"click {tag}: {len(to_image)} clicks, "
        + verdict("p95 to image", p95, GOALS["click_image_p95_ms"].get(tag, 8.0))
        + ", "
        + verdict(
            "p95 to paint",
            float(np.percentile(to_paint, 95)),
            GOALS[
                "click_paint_colour_p95_ms" if tag == "colour" else "click_paint_p95_ms"
            ],
        )
    )
    return p95


# --- drag ----------------------------------------------------------------------------


def drag_path(plane: LatentPlaneWidget, n: int) -> list[QPoint]:
    """A figure-eight through the plot, a little left of and below its centre
    (where the in-plot legend, top right, used to leave room: same path as before)."""
    area = plane.mapFromScene(plane.view_box.sceneBoundingRect()).boundingRect()
    cx = area.left() + 0.42 * area.width()
    cy = area.top() + 0.58 * area.height()
    rx, ry = 0.3 * area.width(), 0.3 * area.height()
    t = np.linspace(0.0, 4 * np.pi, 4 * n)
    pts: list[QPoint] = []
    for ti in t:
        p = QPoint(int(cx + rx * np.sin(ti)), int(cy + ry * np.sin(2 * ti)))
        if not pts or p != pts[-1]:
            pts.append(p)
    step = max(1, len(pts) // n)
    return pts[::step][:n]


def bench_drag(app: QApplication, window: MainWindow, n: int, tag: str) -> float:
    """Press, move ``n`` times, release; returns shown decode updates per second."""
    plane = window.panels[0].plane
    viewport = plane.viewport()
    path = drag_path(plane, n + 1)
    probes = decode_probes(window)
    QTest.mousePress(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, path[0]
    )
    # Past pyqtgraph's drag threshold before timing: the drag has started.
    QTest.mouseMove(viewport, path[0] + QPoint(12, 0))
    QTest.mouseMove(viewport, path[0])
    app.processEvents()
    per_move: list[float] = []
    cpu: list[float] = []
    shown = lagging = unpainted = 0
    t_start = time.perf_counter()
    for pos in path[1:]:
        xy, tol = latent_at(plane, pos), tolerance(plane)
        arm(probes, window, xy)
        c0 = time.thread_time()
        t0 = time.perf_counter()
        QTest.mouseMove(viewport, pos)
        if not spin_until(app, 0.5, all_painted, probes):
            unpainted += 1
        # The z shown once this move has been processed must be this move's.
        if shows(window, xy, tol):
            shown += 1
        else:
            lagging += 1
        per_move.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.thread_time() - c0) * 1e3)
    elapsed = time.perf_counter() - t_start
    QTest.mouseRelease(
        viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, path[-1]
    )
    app.processEvents()
    for probe in probes:
        probe.remove()
    rate = shown / elapsed
    emit(f"drag_updates_per_s_{tag}", rate, "1/s")
    emit(f"drag_lagging_moves_{tag}", lagging, "moves")
    emit(f"drag_move_to_paint_p95_{tag}_ms", float(np.percentile(per_move, 95)), "ms")
    emit(f"drag_gui_cpu_{tag}_p50_ms", float(np.percentile(cpu, 50)), "ms")
    note(
        f"drag {tag}: {len(per_move)} moves in {elapsed:.2f} s, {shown} shown, "
        f"{lagging} lagging, {unpainted} not painted; "
        + verdict("updates/s", rate, GOALS["drag_per_s"], higher_is_better=True)
    )
    return rate


def bench_pan(app: QApplication, window: MainWindow, n: int, tag: str) -> float:
    """Right-drag the left plane ``n`` small steps, as a user pans; returns the
    median ms from a move to the plane painted with its new range (both axes
    re-laid; the manifold decodes for the new view in the background)."""
    plane = window.panels[0].plane
    viewport = plane.viewport()
    probe = PaintProbe(viewport)
    area = plane.mapFromScene(plane.view_box.sceneBoundingRect()).boundingRect()
    start = area.center()
    button, none = Qt.MouseButton.RightButton, Qt.KeyboardModifier.NoModifier
    QTest.mousePress(viewport, button, none, start)
    QTest.mouseMove(viewport, start + QPoint(12, 0))  # past the drag threshold
    app.processEvents()
    per_move: list[float] = []
    cpu: list[float] = []
    unpainted = 0
    before = plane.view_rect()
    pos = start + QPoint(12, 0)
    for i in range(n):
        # Back and forth, 3 px a move (40 right, 40 left): over the codes still.
        k = i % 40 + 1
        pos = start + QPoint(12 + 3 * (k if (i // 40) % 2 == 0 else 40 - k), 0)
        probe.painted = False
        c0 = time.thread_time()
        t0 = time.perf_counter()
        QTest.mouseMove(viewport, pos)
        if not spin_until(app, 0.5, lambda: probe.painted):
            unpainted += 1
        per_move.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.thread_time() - c0) * 1e3)
    QTest.mouseRelease(viewport, button, none, pos)
    probe.remove()
    plane.fit(before)  # the sections after this one see the view they saw before
    settle()
    median = float(np.percentile(per_move, 50))
    emit_spread(f"pan_move_to_paint_{tag}", per_move)
    emit(f"pan_gui_cpu_{tag}_p50_ms", float(np.percentile(cpu, 50)), "ms")
    note(
        f"pan {tag}: {n} right-drag moves of 3 px, {unpainted} not painted; move -> "
        f"plane painted with the new range, median {median:.2f} ms"
    )
    return median


# --- manifold ------------------------------------------------------------------------


def bench_grid(app: QApplication, window: MainWindow, reps: int, tag: str) -> float:
    """Decode, set and paint 16x16 and 32x32 manifolds in both planes."""
    result = float("nan")
    if tag == "colour":
        return bench_colour_grid(app, window, reps)
    for n in (16, 32):
        decode_ms: list[float] = []
        set_ms: list[float] = []
        paint_ms: list[float] = []
        total_ms: list[float] = []
        for _ in range(reps):
            for side, mp in enumerate(window.panels):
                panel, plane = window.session.sides[side], mp.plane
                rect = plane.view_rect()
                t0 = time.perf_counter()
                # As the app's job does: the display decode in 8-bit grey levels.
                image = decode_grid_levels(panel.model, rect, n, panel.latent_slice)
                t1 = time.perf_counter()
                plane.set_manifold(image, rect)
                t2 = time.perf_counter()
                plane.viewport().repaint()
                t3 = time.perf_counter()
                decode_ms.append((t1 - t0) * 1e3)
                set_ms.append((t2 - t1) * 1e3)
                paint_ms.append((t3 - t2) * 1e3)
                total_ms.append((t3 - t0) * 1e3)
        e2e = [grid_e2e(app, window, n) for _ in range(reps)]
        med = statistics.median
        emit(f"grid{n}_decode_{tag}_ms", med(decode_ms), "ms")
        emit(f"grid{n}_set_{tag}_ms", med(set_ms), "ms")
        emit(f"grid{n}_paint_{tag}_ms", med(paint_ms), "ms")
        emit(f"grid{n}_total_{tag}_ms", med(total_ms), "ms")
        emit(f"grid{n}_e2e_both_{tag}_ms", med(e2e), "ms")
        if n == 32:
            display_vs_f32(window, reps, tag)
            result = med(total_ms)
            note(
                f"grid {tag} 32x32 ({32 * 28}x{32 * 28} px), one plane: "
                + verdict("decode+set+paint ms", result, GOALS["grid32_ms"])
                + "; request_grid -> gridReady -> painted, both planes at once "
                "(worker threads): "
                + verdict("ms", med(e2e), GOALS["grid32_e2e_both_ms"].get(tag, 25.0))
            )
    return result


def bench_colour_grid(app: QApplication, window: MainWindow, reps: int) -> float:
    """A 20x20 manifold of 64x64 colour tiles in both planes, end to end, against
    the two decoders' own throughput on the same 400 codes (the display decode:
    what the job runs)."""
    n = 20
    first: list[float] = []
    e2e = [grid_e2e(app, window, n, first) for _ in range(reps)]
    raw = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for side, mp in enumerate(window.panels):
            panel = window.session.sides[side]
            decode_grid_levels(panel.model, mp.plane.view_rect(), n, panel.latent_slice)
        raw.append((time.perf_counter() - t0) * 1e3)
    med = statistics.median
    share = med(raw) / med(e2e)
    emit("grid20_first_shown_both_colour_ms", med(first), "ms")
    emit("grid20_e2e_both_colour_ms", med(e2e), "ms")
    emit("grid20_decode_both_colour_ms", med(raw), "ms")
    emit("grid20_colour_of_decoder", share, "ratio")
    note(
        "grid colour 20x20 (1280x1280 px RGB), both planes: decode alone "
        f"{med(raw):.1f} ms one after the other, request -> a coarse grid in "
        f"both {med(first):.1f} ms, the full grid painted {med(e2e):.1f} ms; "
        + verdict(
            "decode share of it",
            share,
            GOALS["grid20_colour_of_decoder"],
            higher_is_better=True,
        )
    )
    return med(e2e)


def display_vs_f32(window: MainWindow, reps: int, tag: str) -> None:
    """The app's 32x32 display decode against float32: time and largest difference."""
    panel, plane = window.session.sides[1], window.panels[1].plane
    rect = plane.view_rect()
    args = (panel.model, rect, 32, panel.latent_slice)
    f32_ms = []
    for _ in range(reps):
        t0 = time.perf_counter()
        exact = decode_grid(*args)
        f32_ms.append((time.perf_counter() - t0) * 1e3)
    # What the plane shows: the display decode as 8-bit grey levels.
    shown = decode_grid_levels(*args)
    levels = float(np.abs(shown - 255 * exact).max())
    emit(f"grid32_decode_float32_{tag}_ms", statistics.median(f32_ms), "ms")
    emit(f"grid32_display_max_diff_{tag}", levels, "grey_levels")
    fast = native_bf16()
    note(
        f"grid {tag}: the display decode runs in "
        + ("bfloat16 (native on this CPU)" if fast else "float32")
        + f", shown as 8-bit grey; largest difference from float32: {levels:.2f} "
        "of 255 grey levels"
    )


def grid_e2e(
    app: QApplication, window: MainWindow, n: int, first: list[float] | None = None
) -> float:
    """``controller.request_grid`` for both sides until both planes have painted
    the full grid; a costly grid's coarse first image (the workspace shows one)
    is not the end. ``first`` gets the ms until both showed something."""
    ctrl = window.controller
    got: dict[int, float] = {}
    shown: dict[int, float] = {}
    tiles = [s.model.config.image_shape[1:] for s in window.session.sides[:2]]

    probes = [PaintProbe(p.plane.viewport()) for p in window.panels]
    # A real, idle-waiting event loop: the workers get the CPU, as in the app.
    loop = QEventLoop()

    def on_ready(side: int, manifold: Any) -> None:
        # Connected after the window's slot: the manifold is set, a paint is due.
        now = time.perf_counter()
        shown.setdefault(side, now)
        h, w = tiles[side]
        full = max(manifold.image.shape[0] // h, manifold.image.shape[1] // w) >= n
        if not full:
            return
        got[side] = now
        probes[side].painted = False
        if len(got) == 2:
            loop.quit()

    ctrl.gridReady.connect(on_ready)
    QTimer.singleShot(10_000, loop.quit)
    t0 = time.perf_counter()
    for side, mp in enumerate(window.panels):
        ctrl.request_grid(side, mp.plane.view_rect(), n)
    loop.exec()
    spin_until(app, 1.0, all_painted, probes)
    elapsed = (time.perf_counter() - t0) * 1e3
    if first is not None and len(shown) == 2:
        first.append((max(shown.values()) - t0) * 1e3)
    ctrl.gridReady.disconnect(on_ready)
    for probe in probes:
        probe.remove()
    settle(quiet_s=0.05)
    return elapsed


# --- encode + scatter ----------------------------------------------------------------


def bench_encode(
    app: QApplication, window: MainWindow, data_dir: Path, reps: int
) -> float:
    """Encode Fashion-MNIST's 10,000 test images with an MLP and show the scatter."""
    t0 = time.perf_counter()
    dataset = load_dataset("fashion-mnist", data_dir)
    note(f"fashion-mnist loaded in {time.perf_counter() - t0:.2f} s (context)")
    ckpt = load_checkpoint(MODELS_DIR / "mnist-vae-2d.pt")  # MLP 784-512-256-2
    model = ckpt.model
    ident = dataset.identity()
    images = dataset.test_images
    encode_images(model, images[:100])  # first-call set-up, not part of the figure
    model_panel = window.panels[0]
    plane = model_panel.plane
    encode_ms: list[float] = []
    show_ms: list[float] = []
    total_ms: list[float] = []
    set_ms: list[float] = []
    paint_ms: list[float] = []
    for _ in range(reps):
        settle(quiet_s=0.2)
        t0 = time.perf_counter()
        codes = encode_images(model, images)
        t1 = time.perf_counter()
        # The load path's GUI half: a new checkpoint, so items and view are fresh.
        panel = Side(
            checkpoint=Checkpoint(model=model, dataset=ident),
            model=model,
            dataset=dataset,
            codes=codes,
            latent_slice=LatentSlice(2),
        )
        model_panel.show_side(panel)
        plane.viewport().repaint()
        t2 = time.perf_counter()
        encode_ms.append((t1 - t0) * 1e3)
        show_ms.append((t2 - t1) * 1e3)
        total_ms.append((t2 - t0) * 1e3)
        # The plane alone: fresh scatter items, then one repaint.
        settle(quiet_s=0.2)
        groups = colour_groups("label", dataset.factors()["label"], dataset.class_names)
        plane.set_points(None)
        plane.fit(fit_rect(codes.mu, prior=True))
        plane.viewport().repaint()
        t3 = time.perf_counter()
        plane.set_points(codes.mu, groups)
        t4 = time.perf_counter()
        plane.viewport().repaint()
        t5 = time.perf_counter()
        set_ms.append((t4 - t3) * 1e3)
        paint_ms.append((t5 - t4) * 1e3)
    med = statistics.median
    emit("encode_10k_ms", med(encode_ms), "ms")
    emit("scatter_show_10k_ms", med(show_ms), "ms")
    emit("encode_and_show_10k_ms", med(total_ms), "ms")
    emit("scatter_set_points_10k_ms", med(set_ms), "ms")
    emit("scatter_paint_10k_ms", med(paint_ms), "ms")
    note(
        "encode 10k (MLP mnist-vae-2d on fashion-mnist test) + ModelPanel.show_side "
        "+ repaint: "
        + verdict("ms", med(total_ms), GOALS["encode_show_ms"])
        + f"; encode {med(encode_ms):.3g} ms, show {med(show_ms):.3g} ms "
        f"(set_points {med(set_ms):.3g} + paint {med(paint_ms):.3g})"
    )
    settle()
    return med(total_ms)


# --- UI stalls while training --------------------------------------------------------


def heartbeat(seconds: float, period_ms: int = 10) -> npt.NDArray[np.float64]:
    """Tick times (perf_counter) of a ``period_ms`` GUI-thread timer over
    ``seconds`` of a real event loop."""
    return Heartbeat().run(seconds, period_ms)[:, 0]


class Heartbeat:
    """A GUI-thread timer's ticks, each with what the GUI thread had done by
    then: rows of (perf_counter s, its CPU time s, its run-queue wait s, the
    machine's steal time s).

    Linux only, elsewhere NaN: the run-queue wait (``schedstat``: runnable but
    not running) says whether a late tick waited for a core; steal time
    (``/proc/stat``, all CPUs, in 10 ms ticks) says whether the hypervisor ran
    something else instead of this virtual machine.
    """

    def __init__(self) -> None:
        sched, stat = Path("/proc/thread-self/schedstat"), Path("/proc/stat")
        self._schedstat = sched.open() if sched.exists() else None
        self._stat = stat.open() if stat.exists() else None
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self.rows: list[tuple[float, float, float, float]] = []

    def _runqueue_s(self) -> float:
        if self._schedstat is None:
            return float("nan")
        self._schedstat.seek(0)
        return int(self._schedstat.read().split()[1]) / 1e9

    def _steal_s(self) -> float:
        if self._stat is None:
            return float("nan")
        self._stat.seek(0)
        fields = self._stat.readline().split()  # "cpu user nice system ... steal"
        return int(fields[8]) / self._hz if len(fields) > 8 else float("nan")

    def _tick(self) -> None:
        now = time.perf_counter()
        self.rows.append((now, time.thread_time(), self._runqueue_s(), self._steal_s()))

    def run(self, seconds: float, period_ms: int = 10) -> npt.NDArray[np.float64]:
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(period_ms)
        timer.timeout.connect(self._tick)
        timer.start()
        run_loop(seconds)
        timer.stop()
        for source in (self._schedstat, self._stat):
            if source is not None:
                source.close()
        return np.asarray(self.rows, np.float64).reshape(-1, 4)


def late_ticks(prefix: str, ticks: npt.NDArray[np.float64]) -> tuple[int, int, int]:
    """Of the gaps over the p99 goal between ``ticks`` (rows of
    :class:`Heartbeat`): how many, in how many the window's own CPU time
    exceeded its run-queue wait (it was busy), and in how many the wait was
    larger (no core free). Printed as three ``{prefix}_late_ticks*`` figures."""
    gaps = np.diff(ticks[:, 0]) * 1e3
    cpu = np.diff(ticks[:, 1]) * 1e3
    waited = np.diff(ticks[:, 2]) * 1e3
    late = gaps > GOALS["stall_p99_ms"]
    busy = late & (cpu >= waited)
    counts = int(late.sum()), int(busy.sum()), int((late & (cpu < waited)).sum())
    for suffix, count in zip(
        ("", "_window_busy", "_waiting_for_core"), counts, strict=True
    ):
        emit(f"{prefix}_late_ticks{suffix}", count, "gaps")
    return counts


class EventLog:
    """Time stamps of the controller's and the session's signals, to say what a
    stall was near."""

    def __init__(self, window: MainWindow) -> None:
        self.events: list[tuple[float, str]] = []
        self.progress: list[tuple[float, int]] = []
        self.finished: list[str] = []
        ctrl = window.controller
        self._connections = [
            (ctrl.trainingProgress, self._on_progress),
            (ctrl.trainingFinished, self.finished.append),
            (ctrl.trainingEpoch, lambda _ev: self._add("epoch end")),
            (
                window.session.sideChanged,
                lambda side: self._add(f"sideChanged({side})"),
            ),
            (ctrl.gridReady, lambda side, *_: self._add(f"gridReady({side})")),
        ]
        for signal, slot in self._connections:
            signal.connect(slot)

    def _add(self, what: str) -> None:
        self.events.append((time.perf_counter(), what))

    def _on_progress(self, ev: Any) -> None:
        self.progress.append((time.perf_counter(), ev.step))

    def near(self, t0: float, t1: float) -> str:
        """The events between ``t0`` and ``t1``, counted."""
        names = [w for t, w in self.events if t0 <= t <= t1]
        return ", ".join(f"{n}x {w}" for w, n in Counter(names).items()) or "none"

    def disconnect(self) -> None:
        """Stop logging."""
        for signal, slot in self._connections:
            signal.disconnect(slot)


def cold_start_s(window: MainWindow, data_dir: Path) -> float:
    """Train pressed -> first progress, the dataset read from disk first (a
    fresh dataset cache, then put back)."""
    from latentlab.core.analysis.planes import DatasetCache

    ctrl = window.controller
    kept, ctrl.workspace.datasets = ctrl.workspace.datasets, DatasetCache()
    first: list[float] = []
    ctrl.trainingProgress.connect(lambda _ev: first.append(time.perf_counter()))
    t_start = time.perf_counter()
    ctrl.start_training(TrainSpec(dataset="fashion-mnist", data_dir=str(data_dir)))
    run_loop(10.0, until=lambda: bool(first))
    ctrl.stop_training()
    run_loop(10.0, until=lambda: not ctrl.training)
    ctrl.workspace.datasets = kept
    settle()
    for side in (0, 1):  # the models of this run are thrown away unasked
        ctrl.session.update_side(side, unsaved=False)
    return first[0] - t_start if first else float("nan")


def one_thread_limit(dataset: Any, steps: int = 150) -> float:
    """Images/s for the AE + VAE pair at the one-core limit: the trainer's
    one-thread rate for one model (the 2-D VAE, alone, no window work), halved."""
    from latentlab.core.config import TrainConfig
    from latentlab.core.training import TrainProgress, train

    model = new_model(ModelConfig(kind="vae", image_shape=dataset.image_shape))
    stamps: list[tuple[float, int]] = []
    for event in train(
        model,
        dataset,
        TrainConfig(epochs=1, threads=1),
        should_stop=lambda: bool(stamps) and stamps[-1][1] >= steps,
    ):
        if isinstance(event, TrainProgress):
            stamps.append((time.perf_counter(), event.step))
    (ta, sa), (tb, sb) = stamps[1], stamps[-1]  # from the second: warmed up
    return (sb - sa) * 128 / max(tb - ta, 1e-9) / 2


def gap_figures(prefix: str, gaps: npt.NDArray[np.float64]) -> tuple[float, float]:
    """Worst, p99, p50 and the count over 50 ms; returns (worst, p99)."""
    if gaps.size == 0:
        note(f"{prefix}: no heartbeat")
        return float("nan"), float("nan")
    worst, p99 = float(gaps.max()), float(np.percentile(gaps, 99))
    emit(f"{prefix}_worst_ms", worst, "ms")
    emit(f"{prefix}_p99_ms", p99, "ms")
    emit(f"{prefix}_p50_ms", float(np.percentile(gaps, 50)), "ms")
    emit(f"{prefix}s_over_50ms", int((gaps > 50).sum()), "gaps")
    return worst, p99


def gc_full_pass_ms() -> tuple[float, float]:
    """A full cyclic GC pass in ms: without the start-up freeze, and with it as
    the app runs (over what the benchmarks made since the window opened); both
    figures are printed. Frozen again after, with the bench's objects too."""
    t0 = time.perf_counter()
    gc.collect()
    frozen = (time.perf_counter() - t0) * 1e3
    gc.unfreeze()
    t0 = time.perf_counter()
    gc.collect()
    unfrozen = (time.perf_counter() - t0) * 1e3
    freeze_startup_objects()
    emit("gc_full_pass_unfrozen_ms", unfrozen, "ms")
    emit("gc_full_pass_ms", frozen, "ms")
    return unfrozen, frozen


class GcPasses:
    """The cyclic GC's passes while active: rows of (generation, start
    perf_counter s, ms), from any thread (a pass holds the GIL throughout)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, float, float]] = []
        self._started: dict[int, float] = {}

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        key = threading.get_ident()
        if phase == "start":
            self._started[key] = now
        elif key in self._started:
            t0 = self._started.pop(key)
            self.rows.append((info["generation"], t0, (now - t0) * 1e3))

    def __enter__(self) -> GcPasses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)


def choose_training(window: MainWindow, data_dir: Path) -> TrainSpec:
    """Fill the training form as a user does for an AE + VAE on Fashion-MNIST
    (its data then load in the background); Train is left to press."""
    panel = window.train_panel
    window.show_training_dock()
    panel.set_data_dir(str(data_dir))
    panel.epochs.setValue(50)
    index = panel.dataset.findData("fashion-mnist")
    panel.dataset.setCurrentIndex(index)
    panel.dataset.activated.emit(index)
    settle()
    return panel.spec()


def bench_stall(window: MainWindow, data_dir: Path, seconds: float) -> float:
    """Train AE + VAE on Fashion-MNIST in the app and watch a 10 ms heartbeat.

    ``train_gap_*`` covers the whole window from ``start_training``; the
    ``train_steady_gap_*`` figures start at the first progress event, so they
    leave out the job's data loading.
    """
    full_pass_ms = gc_full_pass_ms()
    idle = np.diff(heartbeat(min(2.0, seconds / 4))) * 1e3
    note(
        f"idle heartbeat (no training): worst {idle.max():.3g} ms, "
        f"p99 {np.percentile(idle, 99):.3g} ms over {len(idle)} gaps"
    )
    ctrl = window.controller
    log = EventLog(window)
    spec = choose_training(window, data_dir)
    t_start = time.perf_counter()
    cpu_start = time.thread_time()
    window.train_panel.train_button.click()
    with GcPasses() as passes:
        ticks = Heartbeat().run(seconds)
    stamps = ticks[:, 0]
    t_stop = time.perf_counter()
    gui_cpu_ms_per_s = (time.thread_time() - cpu_start) * 1e3 / (t_stop - t_start)
    ctrl.stop_training()
    run_loop(30.0, until=lambda: bool(log.finished))
    stop_ms = (time.perf_counter() - t_stop) * 1e3
    settle()
    log.disconnect()
    ends = stamps[1:]
    gaps = np.diff(stamps) * 1e3
    worst, p99 = gap_figures("train_gap", gaps)
    first = log.progress[0][0] if log.progress else t_stop
    gap_figures("train_steady_gap", gaps[ends - gaps / 1e3 >= first])
    late, busy, waiting = late_ticks("train", ticks[ticks[:, 0] >= first])
    note(
        f"steady training: {late} gaps over {GOALS['stall_p99_ms']:g} ms; in {busy} "
        "the window's own CPU time in the gap exceeded its wait for a core "
        f"(it was busy), in {waiting} the wait was longer (no core free)"
        + ("" if busy + waiting == late else "; waits unknown here (no schedstat)")
    )
    full = [ms for gen, _, ms in passes.rows if gen == 2]
    emit("train_gc_full_passes", len(full), "passes")
    note(
        f"cyclic GC while training: {len(passes.rows)} passes, {len(full)} full "
        f"(longest {max(full, default=0):.1f} ms); a full pass now takes "
        f"{full_pass_ms[1]:.1f} ms, {full_pass_ms[0]:.0f} ms without the app's "
        "gc.freeze of its start-up objects"
    )
    emit("train_stop_to_finished_ms", stop_ms, "ms")
    # The window's own work while training (the heartbeat's ~0.1 ms a tick
    # included): steadier than the gaps on a shared box.
    emit("train_gui_cpu_ms_per_s", gui_cpu_ms_per_s, "ms/s")
    if log.progress:
        emit("train_start_to_first_progress_s", first - t_start, "s")
        note(
            "Train pressed -> first progress (data loaded, models built, first "
            "steps): " + verdict("s", first - t_start, GOALS["train_start_s"])
        )
    if len(log.progress) >= 4:
        # Steady state: from the third progress event (past the first steps'
        # warm-up) to the last.
        (ta, sa), (tb, sb) = log.progress[2], log.progress[-1]
        rate = (sb - sa) * spec.batch_size / max(tb - ta, 1e-9)
        emit("train_in_app_samples_per_s", rate, "1/s")
        dataset = ctrl.datasets.get("fashion-mnist", str(data_dir))
        limit = one_thread_limit(dataset)
        emit("train_one_core_limit_samples_per_s", limit, "1/s")
        emit("train_in_app_of_limit", rate / limit, "ratio")
        note(
            "in-app AE + VAE rate over the one-core limit (one model's "
            "one-thread rate, halved, measured just now): "
            + verdict(
                "ratio",
                rate / limit,
                GOALS["train_rate_of_limit"],
                higher_is_better=True,
            )
        )
        note(
            f"training in the app: {sb} steps in {t_stop - t_start:.1f} s "
            f"(first progress, i.e. data loaded, after {first - t_start:.2f} s); "
            f"finished as {log.finished[:1]}"
        )
    # Last, so its dataset copy does not count in the memory figure above.
    cold = cold_start_s(window, data_dir)
    emit("train_start_cold_s", cold, "s")
    note(
        "Train pressed -> first progress with the dataset not yet in memory "
        f"(read from disk first): {cold:.3g} s"
    )
    cpu_ms, waited_ms, stolen_ms = (np.diff(ticks[:, k]) * 1e3 for k in (1, 2, 3))
    for i in np.argsort(gaps)[::-1][:5]:
        t1 = ends[i]
        t0 = t1 - gaps[i] / 1e3
        phase = "loading" if t0 < first else "training"
        gc_ms = sum(ms for _, at, ms in passes.rows if t0 <= at < t1)
        note(
            f"stall {gaps[i]:.0f} ms at {t0 - t_start:.2f} s ({phase}): the window "
            f"ran {cpu_ms[i]:.1f} ms, waited {waited_ms[i]:.1f} ms for a core, "
            f"{stolen_ms[i]:.0f} ms of CPU time stolen by the host, {gc_ms:.1f} ms "
            f"of GC passes; signals handled then: {log.near(t0, t1)}"
        )
    note(
        f"stalls over {seconds:g} s from start_training ({len(gaps)} gaps of a "
        "10 ms timer): "
        + verdict("worst ms", worst, GOALS["stall_worst_ms"])
        + ", "
        + verdict("p99 ms", p99, GOALS["stall_p99_ms"])
        + f"; gaps > 20 ms: {int((gaps > 20).sum())}"
    )
    return worst


# --- main ----------------------------------------------------------------------------


def pair_section(
    app: QApplication,
    files: Sequence[Path],
    tag: str,
    data_dir: Path,
    only: set[str],
    clicks: int,
    moves: int,
    reps: int,
) -> None:
    """Click, drag, pan and grid figures of one pair in a window of its own."""
    if not only & {"click", "drag", "pan", "grid"}:
        return
    t0 = time.perf_counter()
    window = open_window(files, data_dir)
    titles = [p.title.text() for p in window.panels]
    note(f"{tag}: window ready in {time.perf_counter() - t0:.2f} s: {titles}")
    if "click" in only:
        bench_click(app, window, clicks, tag)
    if "drag" in only:
        bench_drag(app, window, moves, tag)
    if "pan" in only:
        bench_pan(app, window, moves, tag)
    if "grid" in only:
        bench_grid(app, window, reps, tag)
    close_window(app, window)


def main(argv: list[str] | None = None) -> int:
    """Run the interactive benchmarks; prints ``name value unit`` lines."""
    parser = argparse.ArgumentParser(prog="python -m bench.interactive")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (~1 min)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated subset of {','.join(SECTIONS)}",
    )
    parser.add_argument("--clicks", type=int, help="clicks per backbone (>= 200)")
    parser.add_argument("--stall-seconds", type=float, help="heartbeat duration")
    parser.add_argument(
        "--backbones",
        default="mlp,conv,colour",
        help="mlp, conv and/or colour (conv4, 64x64 RGB), comma-separated",
    )
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    backbones = [b.strip() for b in args.backbones.split(",") if b.strip()]
    data_dir: Path = args.data_dir
    if not (data_dir / "FashionMNIST" / "raw").is_dir():
        parser.error(f"no Fashion-MNIST under {data_dir}")
    clicks = args.clicks or (200 if args.quick else 400)
    moves = 200 if args.quick else 500
    reps = 5 if args.quick else 15
    stall_s = args.stall_seconds or (10.0 if args.quick else 20.0)

    app = make_app()
    note(
        f"interactive bench: torch {torch.__version__}, {torch.get_num_threads()} "
        f"intra-op threads, {os.cpu_count()} CPUs, Qt platform "
        f"{app.platformName()}, window {WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}"
    )
    load = os.getloadavg()
    note(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with (
        tempfile.TemporaryDirectory(prefix="latentlab-bench-") as tmp,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        pairs = {
            "mlp": [MODELS_DIR / "mnist-ae-2d.pt", MODELS_DIR / "mnist-vae-2d.pt"],
            "conv": conv_checkpoints(Path(tmp)),
        }
        # The colour pair last: its 64 px models and data would otherwise be
        # in the process while the 28 px figures are taken.
        grey = [t for t in backbones if t != "colour"]
        for tag in grey:
            pair_section(app, pairs[tag], tag, data_dir, only, clicks, moves, reps)
        if only & {"encode", "stall"}:
            window = open_window(pairs["mlp"], data_dir)
            if "encode" in only:
                bench_encode(app, window, data_dir, reps)
            if "stall" in only:
                bench_stall(window, data_dir, stall_s)
            close_window(app, window)
        if "colour" in backbones:
            pairs["colour"] = colour_checkpoints(Path(tmp))
            pair_section(
                app, pairs["colour"], "colour", data_dir, only, clicks, moves, reps
            )
    # The app's own warnings (e.g. pyqtgraph overflows) are findings too.
    seen = Counter(
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
    )
    for text, count in seen.most_common(5):
        note(f"warning x{count}: {text}")
    load = os.getloadavg()
    note(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
