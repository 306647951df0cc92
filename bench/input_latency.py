"""Input latency while training, through an X server as a user's mouse arrives.

Run ``python -m bench.input_latency [--quick] [--data-dir DIR] [--seconds S]``.

The stall section of ``bench.interactive`` times a 10 ms GUI-thread timer in the
offscreen platform. A user's mouse comes another way: from the X server, read by
Qt's xcb thread and handed to the GUI thread's event loop. This benchmark runs
the real window on the xcb platform in an Xvfb it starts (it runs itself again
there, and never moves the pointer of another display), moves the pointer over
the left plane with XTest from a thread every 8-16 ms, and times each motion
from its send to the moment the window receives its ``MouseMove`` (an event
filter on the window's ``QWindow``: the event's delivery, before any handler
ran). The same 10 ms heartbeat as the stall
section runs meanwhile, so the two figures sit side by side. First with the
window idle, then while an AE + VAE train on Fashion-MNIST, set up as the stall
section does.

Needs ``Xvfb`` and ``libXtst``; without them it prints a note and no figures.
Every figure is one ``name value unit`` line; context lines start with ``#``.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import ctypes.util
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CHILD_MARK = "LATENTLAB_BENCH_IN_XVFB"
SCREEN = "-screen 0 1920x1200x24"  # Xvfb's arguments
WINDOW_SIZE = (1600, 1000)
SWEEP_PX = 300  # distinct x positions, so each motion is recognised on arrival


def note(text: str) -> None:
    """One human context line."""
    print(f"# {text}", flush=True)


def run_in_xvfb(argv: list[str]) -> int:
    """This module again, on the xcb platform in an Xvfb started here: the
    child moves the pointer only of the display this function names."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None or ctypes.util.find_library("Xtst") is None:
        note("input latency: needs Xvfb and libXtst (XTest); skipped")
        return 0
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-nolisten", "tcp", *SCREEN.split()],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes it once it listens
        if not number.isdigit():
            note("input latency: Xvfb did not start; skipped")
            return 0
        display = f":{number}"
        env = dict(os.environ, QT_QPA_PLATFORM="xcb", DISPLAY=display)
        env[CHILD_MARK] = f"{display} {os.getpid()}"  # the display, its parent
        # Scaled coordinates would not match the XTest positions.
        for name in ("QT_SCALE_FACTOR", "QT_SCREEN_SCALE_FACTORS"):
            env.pop(name, None)
        cmd = [sys.executable, "-m", "bench.input_latency", *argv]
        return subprocess.run(cmd, env=env).returncode
    finally:
        server.terminate()
        server.wait(10)


class Pointer:
    """XTest pointer motions on this process's own connection to ``display``,
    from a thread: (perf_counter s, x) of each motion sent."""

    def __init__(self, display: str) -> None:
        x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
        self._xtst = ctypes.CDLL(ctypes.util.find_library("Xtst"))
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        x11.XFlush.argtypes = [ctypes.c_void_p]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._xtst.XTestFakeMotionEvent.argtypes = [
            ctypes.c_void_p,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_ulong,
        ]
        self._x11 = x11
        self._display = x11.XOpenDisplay(display.encode())
        if not self._display:
            raise SystemExit(f"bench: cannot open the X display {display} for XTest")
        self.sent: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sweep(self, x0: int, y: int) -> None:
        """Start moving along ``SWEEP_PX`` pixels from ``(x0, y)``, one motion
        every 8-16 ms (jittered so that it does not lock onto a timer)."""
        self.sent = []
        self._stop.clear()

        def run() -> None:
            k = 0
            while not self._stop.is_set():
                x = x0 + k % SWEEP_PX
                k += 1
                self._xtst.XTestFakeMotionEvent(self._display, -1, x, y, 0)
                # Stamped after the call has the GIL back (a wait for it, up to
                # the switch interval while training, is no input latency) and
                # before the flush that sends the motion.
                t = time.perf_counter()
                self._x11.XFlush(self._display)
                self.sent.append((t, x))
                time.sleep(0.008 + 0.008 * random.random())

        self._thread = threading.Thread(target=run, name="xtest", daemon=True)
        self._thread.start()

    def stop(self) -> list[tuple[float, int]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.sent

    def close(self) -> None:
        self._x11.XCloseDisplay(self._display)


def latencies_ms(
    sent: list[tuple[float, int]], received: list[tuple[float, int]]
) -> np.ndarray:
    """Milliseconds from each motion sent to its arrival, matched by x (a
    motion Qt merged into a later one has no arrival of its own; one later than
    a whole sweep would match the next sweep's send)."""
    pending: dict[int, collections.deque[float]] = collections.defaultdict(
        collections.deque
    )
    for t, x in sent:
        pending[x].append(t)
    out = []
    for t, x in received:
        queue = pending.get(x)
        while queue and queue[0] <= t:
            sent_t = queue.popleft()
            if not queue or queue[0] > t:
                out.append((t - sent_t) * 1e3)
    return np.asarray(out, np.float64)


def child(args: argparse.Namespace) -> int:
    # Imported here: the parent only starts Xvfb.
    import PySide6.QtCore  # noqa: F401 - must precede pyqtgraph / superqt imports
    from PySide6.QtCore import QEvent, QObject

    from bench.interactive import (
        MODELS_DIR,
        EventLog,
        Heartbeat,
        choose_training,
        close_window,
        emit,
        emit_spread,
        gap_figures,
        late_ticks,
        make_app,
        open_window,
        run_loop,
        settle,
        wait_until,
    )

    app = make_app()
    received: list[tuple[float, int]] = []

    class Arrivals(QObject):
        """On the window's QWindow, which gets a mouse event before any widget
        (an application-wide filter would put every event through Python)."""

        def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.MouseMove:
                received.append((time.perf_counter(), int(event.globalPosition().x())))
            return False

    window = open_window(
        [MODELS_DIR / "mnist-ae-2d.pt", MODELS_DIR / "mnist-vae-2d.pt"], args.data_dir
    )
    window.resize(*WINDOW_SIZE)
    window.move(0, 0)
    settle()
    note(
        f"input latency: Qt platform {app.platformName()} in Xvfb, window "
        f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}, XTest motions over the left plane"
    )
    filt = Arrivals()
    handle = window.windowHandle()
    handle.installEventFilter(filt)
    pointer = Pointer(os.environ["DISPLAY"])
    arrived = []

    def measure(tag: str, seconds: float) -> None:
        viewport = window.panels[0].plane.viewport()
        centre = viewport.mapToGlobal(viewport.rect().center())
        received.clear()
        pointer.sweep(centre.x() - SWEEP_PX // 2, centre.y())
        ticks = Heartbeat().run(seconds)
        sent = pointer.stop()
        run_loop(0.2)  # the last motions arrive
        lat = latencies_ms(sent, received)
        arrived.append(len(lat))
        emit(f"input_sent_{tag}", len(sent), "events")
        emit(f"input_arrived_{tag}", len(lat), "events")
        if len(lat):
            emit_spread(f"input_latency_{tag}", lat.tolist())
            emit(f"input_latency_{tag}_p99_ms", float(np.percentile(lat, 99)), "ms")
        worst, p99 = gap_figures(f"input_{tag}_gap", np.diff(ticks[:, 0]) * 1e3)
        late_ticks(f"input_{tag}", ticks)
        if len(lat):
            note(
                f"{tag}: {len(lat)} of {len(sent)} motions arrived (Qt merges one "
                f"queued behind another), median {np.median(lat):.2f} ms, p99 "
                f"{np.percentile(lat, 99):.2f} ms, worst {lat.max():.1f} ms after "
                f"XTest sent them; the 10 ms heartbeat meanwhile: p99 "
                f"{p99:.1f} ms, worst {worst:.1f} ms"
            )

    measure("idle", min(5.0, args.seconds))
    ctrl = window.controller
    choose_training(window, args.data_dir)
    log = EventLog(window)
    window.train_panel.train_button.click()
    # From the first progress (data loaded), as the steady stall figures.
    wait_until(30.0, lambda: bool(log.progress))
    measure("train", args.seconds)
    ctrl.stop_training()
    wait_until(30.0, lambda: not ctrl.training)
    log.disconnect()
    handle.removeEventFilter(filt)
    pointer.close()
    close_window(app, window)
    if not all(arrived):
        print("bench: no pointer motion reached the window", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Input latency, idle and while training; prints ``name value unit`` lines."""
    parser = argparse.ArgumentParser(prog="python -m bench.input_latency")
    parser.add_argument("--quick", action="store_true", help="10 s of training")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seconds", type=float, help="seconds measured while training")
    args = parser.parse_args(argv)
    if not (args.data_dir / "FashionMNIST" / "raw").is_dir():
        parser.error(f"no Fashion-MNIST under {args.data_dir}")
    # Only in the Xvfb that run_in_xvfb started (its display, and this process
    # its child): never a user's own display, whatever the environment says.
    mark = os.environ.get(CHILD_MARK, "").split()
    ours = len(mark) == 2 and mark[1] == str(os.getppid())
    if not ours or os.environ.get("DISPLAY") != mark[0]:
        return run_in_xvfb(sys.argv[1:] if argv is None else argv)
    args.seconds = args.seconds or (10.0 if args.quick else 20.0)
    return child(args)


if __name__ == "__main__":
    sys.exit(main())
