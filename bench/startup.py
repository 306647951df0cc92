"""Start-up time: ``python -m latentlab`` from process start to its ready line.

Run ``python -m bench.startup [--quick] [--runs N] [--data-dir DIR]``.

Each run starts ``python -m latentlab --data-dir DIR`` (the shipped MNIST pair,
as a user with the data gets) offscreen with ``LATENTLAB_QUIT_WHEN_READY=1`` and
times from just before the process is spawned until it prints
``latentlab: ready, 2 model(s) loaded`` (both panels loaded, test sets encoded).
With ``LATENTLAB_REPORT_PAINT=1`` the app also prints ``latentlab: window
painted`` in the event-loop turn after the main window's first paint event (the
whole window, menus, tabs, planes and training dock, painted in one pass; no
splash): ``first_paint_*`` time that line the same way.
Settings go to a temporary ``XDG_CONFIG_HOME`` so runs do not share state.

For context it also times, each in a fresh interpreter: an empty interpreter,
``import torch`` and ``import latentlab.qt.app``; one instrumented in-process run
(``--phases``) splits the start-up into imports, QApplication, window, first
paint, torch (imported by the first load job) and loading; and ``python -X
importtime -c "import latentlab.qt.app"`` names the slowest imports (torch is
not among them: the app imports it once its window is painted).

Every figure is one ``name value unit`` line; context lines start with ``#``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
READY = "latentlab: ready"
PAINTED = "latentlab: window painted"
GOAL_S = 2.0
PAINT_GOAL_S = 1.0
PHASES_MARK = "phase "


def emit(name: str, value: float, unit: str) -> None:
    """One machine-readable figure."""
    print(f"{name} {value:.4g} {unit}", flush=True)


def note(text: str) -> None:
    """One human context line."""
    print(f"# {text}", flush=True)


def app_env(config_home: str) -> dict[str, str]:
    """The environment of a user's offscreen launch that quits when ready."""
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        LATENTLAB_QUIT_WHEN_READY="1",
        LATENTLAB_REPORT_PAINT="1",
        XDG_CONFIG_HOME=config_home,
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def time_to_ready(
    cmd: Sequence[str], env: dict[str, str], timeout_s: float = 60.0
) -> tuple[float, float, float, str]:
    """Seconds from spawn to the painted line, to the ready line and to exit, and
    the ready line."""
    with tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=REPO
        )
        assert proc.stdout is not None
        ready_s = painted_s = float("nan")
        line = ""
        for line in proc.stdout:
            if line.startswith(PAINTED):
                painted_s = time.perf_counter() - t0
            if line.startswith(READY):
                ready_s = time.perf_counter() - t0
                break
        proc.stdout.read()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        exit_s = time.perf_counter() - t0
        if ready_s != ready_s:  # NaN: never ready
            err.seek(0)
            raise SystemExit(
                f"bench: {' '.join(cmd)} never printed the ready line "
                f"(exit {proc.returncode}): {line.strip()} {err.read()[-2000:]}"
            )
    return painted_s, ready_s, exit_s, line.strip()


def time_python(code: str, env: dict[str, str]) -> float:
    """Seconds from spawning a fresh interpreter until ``code`` has run.

    The child prints a time stamp and leaves with ``os._exit``, so interpreter
    teardown (slow once torch is loaded) is not counted.
    """
    script = f"{code}\nimport os, time\nprint(time.time(), flush=True)\nos._exit(0)"
    t0 = time.time()
    return float(python_stdout(script, env).split()[-1]) - t0


def python_stdout(code: str, env: dict[str, str]) -> str:
    """What ``python -c code`` prints, run from the checkout."""
    return subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
    ).stdout


def _modules_after(module: str, env: dict[str, str]) -> set[str]:
    """The top-level packages in ``sys.modules`` after importing ``module``."""
    code = (
        f"import sys, {module}\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    return set(python_stdout(code, env).split())


def importtime_report(env: dict[str, str]) -> tuple[float, list[str], list[str]]:
    """Parse ``-X importtime`` of the app module.

    Returns the total (ms), the top cumulative packages (with the module that
    first imported them) and the top modules by self time.
    """
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import latentlab.qt.app"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    rows: list[tuple[int, int, int, str]] = []  # self us, cumulative us, depth, name
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        parts = line[len("import time:") :].split("|")
        self_us, cum_us, raw = int(parts[0]), int(parts[1]), parts[2]
        depth = (len(raw) - len(raw.lstrip(" ")) - 1) // 2
        rows.append((self_us, cum_us, depth, raw.strip()))
    # -X importtime prints a module after the modules it imported (post-order):
    # the parent is the next row with a smaller depth.
    # Skip parents in the same package: "torch" is imported by "torch.x" only
    # because something outside imported "torch.x".
    parent: dict[str, str] = {}
    for i, (_, _, depth, name) in enumerate(rows):
        level = depth
        for _, _, d2, name2 in rows[i + 1 :]:
            if d2 < level:
                level = d2
                if name2.split(".")[0] != name.split(".")[0]:
                    parent[name] = name2
                    break
    total = sum(r[0] for r in rows) / 1e3
    tops = [r for r in rows if "." not in r[3] and r[3] != "latentlab"]
    tops.sort(key=lambda r: -r[1])
    cumulative = [
        f"{name} {cum / 1e3:.0f} ms (imported by {parent.get(name, '-')})"
        for _, cum, _, name in tops[:6]
    ]
    by_self = sorted(rows, key=lambda r: -r[0])[:6]
    selfs = [f"{name} {s / 1e3:.0f} ms" for s, _, _, name in by_self]
    return total, cumulative, selfs


def phases_child(data_dir: str) -> int:
    """In-process copy of ``run_app``'s start-up with time stamps (``--phases``).

    Prints ``phase NAME SECONDS`` lines, seconds of wall time since the epoch,
    so the parent can subtract its spawn time. ``torch`` is when the first load
    job (a worker thread) has imported it, seen by a 5 ms poll on the GUI thread.
    """

    def stamp(name: str) -> None:
        print(f"{PHASES_MARK}{name} {time.time():.6f}", flush=True)

    stamp("main")
    import PySide6.QtCore  # noqa: F401 - bind pyqtgraph / superqt to PySide6

    stamp("pyside6")
    from PySide6.QtCore import QTimer

    from latentlab.qt.app import create_window, new_application, show_then_load

    stamp("imports")
    if "torch" in sys.modules:
        note("the app's imports imported torch")
    app = new_application(["latentlab"])
    stamp("qapplication")
    window = create_window([], data_dir, load=False, defer_views=True)
    stamp("window")
    panels = window.session.sides
    done = {"ready": False}
    poll = QTimer()
    poll.setInterval(5)

    def torch_seen() -> None:
        torch = sys.modules.get("torch")
        spec = getattr(torch, "__spec__", None)
        # importlib marks a module whose import is under way as initializing.
        if spec is not None and not getattr(spec, "_initializing", False):
            poll.stop()
            stamp("torch")

    def painted() -> None:
        stamp("first_paint")
        poll.timeout.connect(torch_seen)
        poll.start()

    def check(_side: int = 0) -> None:
        if not done["ready"] and all(p.model is not None for p in panels):
            done["ready"] = True
            stamp("ready")
            # One more turn of the loop paints the loaded panels.
            QTimer.singleShot(0, lambda: (stamp("painted"), window.close_discarding()))

    window.session.sideChanged.connect(check)
    show_then_load(window, [], data_dir, painted=painted)
    stamp("shown")
    QTimer.singleShot(0, lambda: stamp("first_event"))
    app.exec()
    return 0


def phase_breakdown(env: dict[str, str], data_dir: str) -> list[tuple[str, float]]:
    """Run ``--phases`` once; (phase, seconds since spawn) in order."""
    env = dict(env)
    env.pop("LATENTLAB_QUIT_WHEN_READY", None)
    t0 = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.startup", "--phases", "--data-dir", data_dir],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = []
    for line in proc.stdout.splitlines():
        if line.startswith(PHASES_MARK):
            _, name, stamp = line.split()
            out.append((name, float(stamp) - t0))
    return out


def main(argv: list[str] | None = None) -> int:
    """Time the app's start-up; prints ``name value unit`` lines."""
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--quick", action="store_true", help="5 runs, fewer extras")
    parser.add_argument("--runs", type=int, help="start-ups to time (default 5 / 9)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--phases", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phases:
        return phases_child(args.data_dir)
    load = os.getloadavg()
    note(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    runs = args.runs or (5 if args.quick else 9)
    extra_runs = 3 if args.quick else 5

    with tempfile.TemporaryDirectory(prefix="latentlab-startup-") as config_home:
        env = app_env(config_home)
        cmd = [sys.executable, "-m", "latentlab", "--data-dir", args.data_dir]
        note(f"start-up: {' '.join(cmd)} (offscreen, quit when ready), {runs} runs")
        time_to_ready(cmd, env)  # warm the page cache; not counted
        # Round-robin, so that the machine's changing load hits every figure alike.
        ready: list[float] = []
        paints: list[float] = []
        exits: list[float] = []
        bare: list[float] = []
        torch_s: list[float] = []
        app_s: list[float] = []
        line = ""
        for i in range(runs):
            p, r, e, line = time_to_ready(cmd, env)
            paints.append(p)
            ready.append(r)
            exits.append(e)
            if i < extra_runs:
                bare.append(time_python("", env))
                torch_s.append(time_python("import torch", env))
                app_s.append(time_python("import latentlab.qt.app", env))
        med = statistics.median(ready)
        emit("startup_to_ready_median_s", med, "s")
        emit("startup_to_ready_min_s", min(ready), "s")
        emit("startup_to_ready_max_s", max(ready), "s")
        emit("startup_to_exit_median_s", statistics.median(exits), "s")
        paint_med = statistics.median(paints)
        emit("first_paint_s", paint_med, "s")
        emit("first_paint_min_s", min(paints), "s")
        emit("first_paint_max_s", max(paints), "s")
        ok = "met" if med < GOAL_S else "MISSED"
        paint_ok = "met" if paint_med < PAINT_GOAL_S else "MISSED"
        note(
            f"{line!r}; to ready: median {med:.2f} s (goal < {GOAL_S} s: {ok}), "
            f"runs {', '.join(f'{r:.2f}' for r in ready)}"
        )
        note(
            f"window painted: median {paint_med:.2f} s (goal < {PAINT_GOAL_S} s: "
            f"{paint_ok}), runs {', '.join(f'{p:.2f}' for p in paints)}"
        )
        bare_m = statistics.median(bare)
        torch_m = statistics.median(torch_s)
        app_m = statistics.median(app_s)
        emit("python_empty_s", bare_m, "s")
        emit("python_import_torch_s", torch_m, "s")
        emit("python_import_app_s", app_m, "s")
        app_torch = (
            "with" if "torch" in _modules_after("latentlab.qt.app", env) else "without"
        )
        note(
            f"medians of {extra_runs} fresh interpreters: empty {bare_m:.2f} s, "
            f"import torch {torch_m:.2f} s, import latentlab.qt.app {app_m:.2f} s "
            f"({app_torch} torch)"
        )

        phases = phase_breakdown(env, args.data_dir)
        if phases:
            steps, prev = [], 0.0
            for name, at in phases:
                steps.append(f"{name} +{(at - prev) * 1e3:.0f} ms")
                prev = at
            note("one instrumented start-up, step by step: " + ", ".join(steps))

        total_ms, cumulative, selfs = importtime_report(env)
        emit("importtime_app_total_ms", total_ms, "ms")
        note("importtime top (cumulative): " + "; ".join(cumulative))
        note("importtime top (self): " + "; ".join(selfs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
