"""Peak memory of the app with two Fashion-MNIST models and both 32x32 manifolds.

Run ``python -m bench.memory [--quick] [--data-dir DIR] [--models-dir DIR]``.

1. Trains a 1-epoch 2-D AE and VAE on Fashion-MNIST with the CLI
   (``python -m latentlab train ... --epochs 1``), both at once with one torch
   thread each, into a temporary folder (``--models-dir`` keeps and reuses them;
   ``--quick`` trains with batch 512, which changes nothing the app holds).
2. Runs the app in a fresh process (``--child``): the real window from
   :func:`latentlab.qt.app.create_window`, offscreen, both models loaded (test
   sets encoded), both planes showing a decoded 32x32 manifold, painted. The
   child reads its own ``VmHWM`` / ``VmRSS`` (``/proc/self/status``) after each
   step, so every figure is the app's own, and splits the final resident set
   by mapping (``/proc/self/smaps``).
3. For comparison, the peak of the real ``python -m latentlab A.pt B.pt``
   process (``LATENTLAB_QUIT_WHEN_READY=1``), read with ``os.wait4``.

Every figure is one ``name value unit`` line; context lines start with ``#``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
GOAL_MB = 1024.0
GRID = 32
TRAIN_S = 10.0  # seconds of training watched
TRAIN_GOAL_MB = 1200.0  # issue 17: app + training together
# Issue 30: two 64x64 RGB models, 10,000 test images, 20x20 manifolds.
COLOUR_GOAL_MB = 1500 / 1.048576  # 1.5 GB
COLOUR_GRID = 20
COLOUR_TEST = 10_000


def emit(name: str, value: float, unit: str) -> None:
    """One machine-readable figure."""
    print(f"{name} {value:.4g} {unit}", flush=True)


def note(text: str) -> None:
    """One human context line."""
    print(f"# {text}", flush=True)


def status_mb() -> tuple[float, float]:
    """``(VmRSS, VmHWM)`` of this process in MiB."""
    values = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def smaps_breakdown() -> tuple[float, float, list[tuple[str, float]]]:
    """Resident MiB of this process: anonymous, file-backed, and the top files."""
    rss: Counter[str] = Counter()
    current = "[anon]"
    header = re.compile(r"^[0-9a-f]+-[0-9a-f]+ ")
    with open("/proc/self/smaps") as f:
        for line in f:
            if header.match(line):
                parts = line.split()
                current = parts[5] if len(parts) > 5 else "[anon]"
            elif line.startswith("Rss:"):
                rss[current] += int(line.split()[1])
    anon = sum(v for k, v in rss.items() if not k.startswith("/")) / 1024
    files = sum(v for k, v in rss.items() if k.startswith("/")) / 1024
    top = [(k, v / 1024) for k, v in rss.most_common(40) if k.startswith("/")]
    return anon, files, top


def child(files: list[str], data_dir: str, colour: bool = False) -> int:
    """The app in this process; prints its own memory after each step.

    ``colour``: two 64x64 RGB conv4 models (``files``) on the colour shapes with
    10,000 test images, 20x20 manifolds (issue 30's goal: < 1.5 GB), no
    training afterwards."""
    steps: list[tuple[str, float, float]] = []

    def step(name: str) -> None:
        rss, hwm = status_mb()
        steps.append((name, rss, hwm))

    step("python")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import PySide6.QtWidgets  # noqa: F401 - bind pyqtgraph / superqt to PySide6

    # isort: split
    import pyqtgraph  # noqa: F401 - attributed to Qt + pyqtgraph here

    step("import PySide6+pyqtgraph")
    import torch

    step("import torch")
    from PySide6.QtCore import QSettings, QThreadPool
    from PySide6.QtTest import QTest

    from bench.interactive import run_loop, settle, wait_until  # nothing app lacks
    from latentlab.qt.app import create_window, new_application

    step("import latentlab.qt.app")
    app = new_application(["latentlab"])
    app.setApplicationName("LatentLab")  # as run_app does
    settings = tempfile.mkdtemp(prefix="latentlab-memory-settings-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, settings)  # app's: native
    grid, tile = (COLOUR_GRID, 64) if colour else (GRID, 28)
    if colour:
        from latentlab.core.datasets.colour_shapes import make_colour_shapes

        window = create_window([], data_dir)
        window.controller.workspace.datasets.put(
            make_colour_shapes(n_train=4000, n_test=COLOUR_TEST),
            data_dir,
            name="colour-shapes",
        )
        step("colour shapes made")
        for slot, path in enumerate(files):
            window.controller.workspace.open(path, slot)
    else:
        window = create_window(files, data_dir)
    window.resize(1280, 880)
    window.show()
    QTest.qWaitForWindowExposed(window)
    step("window shown")

    panels = window.session.sides
    if not wait_until(
        120, lambda: all(p.model is not None and p.codes is not None for p in panels)
    ):
        print("# the models did not load within 120 s", flush=True)
        return 1
    step("both models loaded, test sets encoded")
    names = [p.checkpoint.dataset.get("name") for p in panels if p.checkpoint]
    points = [len(p.codes.mu) for p in panels if p.codes is not None]

    shown: dict[int, tuple[int, ...]] = {}

    def on_grid(side: int, manifold) -> None:
        shown[side] = tuple(manifold.image.shape)

    window.controller.gridReady.connect(on_grid)
    for mp in window.panels:
        index = mp.resolution.findData(grid)
        if index >= 0:
            mp.resolution.setCurrentIndex(index)
    for side, mp in enumerate(window.panels):
        window.controller.request_grid(side, mp.plane.view_rect(), grid)
    # n tiles along the longer side of the visible rectangle.
    want = grid * tile
    if not wait_until(60, lambda: all(max(shown.get(s, (0,))) == want for s in (0, 1))):
        print(f"# no {grid}x{grid} manifold within 60 s: {shown}", flush=True)
        return 1
    for mp in window.panels:
        mp.plane.viewport().repaint()
    run_loop(0.05)
    step(f"both {grid}-tile manifolds shown {shown[0]} {shown[1]}")
    # Let every follow-up job finish (the analysis views' jobs included): the
    # peak is what the app reaches once it has done all it starts by itself.
    settle(quiet_s=1.0)
    step("all background jobs done")

    rss, hwm = status_mb()
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    prefix = "colour_" if colour else ""
    goal = COLOUR_GOAL_MB if colour else GOAL_MB
    emit(f"{prefix}app_peak_rss_mb", hwm, "MiB")
    emit(f"{prefix}app_rss_mb", rss, "MiB")
    emit(f"{prefix}app_ru_maxrss_mb", maxrss, "MiB")
    ok = "met" if hwm < goal else "MISSED"
    note(
        f"app with {names} ({points} test points), both {grid}x{grid} manifolds: "
        f"peak {hwm:.0f} MiB = {hwm * 1.048576:.0f} MB (goal < {goal:.0f} MiB: "
        f"{ok}), now {rss:.0f} MiB; "
        f"torch {torch.__version__}"
    )
    prev = 0.0
    parts = []
    for name, rss_i, hwm_i in steps:
        parts.append(f"{name}: rss {rss_i:.0f} (+{rss_i - prev:.0f}) peak {hwm_i:.0f}")
        prev = rss_i
    note("MiB by step: " + "; ".join(parts))
    anon, file_backed, top = smaps_breakdown()
    cuda = sum(v for k, v in top if "/nvidia/" in k or "cuda" in k.lower())
    emit("app_rss_anon_mb", anon, "MiB")
    emit("app_rss_files_mb", file_backed, "MiB")
    emit("app_rss_cuda_libs_mb", cuda, "MiB")
    short = [f"{Path(k).name} {v:.0f}" for k, v in top[:8]]
    note(
        f"resident now: anonymous (heap, tensors, Python) {anon:.0f} MiB, mapped "
        f"files {file_backed:.0f} MiB, of which CUDA libraries {cuda:.0f} MiB on "
        f"a machine without a GPU; top files: {', '.join(short)}"
    )
    if colour:
        window.close_discarding()
        QThreadPool.globalInstance().waitForDone(5000)
        return 0
    # Last, so that the figures above are the app's before any training.
    train_peak = train_and_watch(window, data_dir, TRAIN_S)
    emit("train_total_rss_mb", train_peak, "MiB")
    note(
        f"while training an AE + VAE on Fashion-MNIST in this window: peak "
        f"{train_peak:.0f} MiB, the app's one process "
        f"(goal < {TRAIN_GOAL_MB:.0f} MiB: "
        f"{'met' if train_peak < TRAIN_GOAL_MB else 'MISSED'})"
    )
    window.close_discarding()
    QThreadPool.globalInstance().waitForDone(5000)
    return 0


def train_and_watch(window, data_dir: str, seconds: float) -> float:
    """Train AE + VAE on Fashion-MNIST in ``window`` for ``seconds``; the peak of
    this process's resident memory, sampled every 0.1 s (training runs on a
    thread of the app: there is no other process)."""
    from bench.interactive import run_loop, wait_until
    from latentlab.core.training_run import TrainSpec

    ctrl = window.controller
    ctrl.start_training(TrainSpec(dataset="fashion-mnist", data_dir=data_dir))
    peak = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        run_loop(0.1)
        peak = max(peak, status_mb()[0])
    ctrl.stop_training()
    wait_until(30, lambda: not ctrl.training)
    return peak


def train_pair(folder: Path, data_dir: str, quick: bool) -> list[Path]:
    """A 1-epoch Fashion-MNIST AE and VAE from the CLI, trained side by side."""
    paths = [folder / f"fashion-mnist-{kind}-2d.pt" for kind in ("ae", "vae")]
    if all(p.is_file() for p in paths):
        note(f"reusing {', '.join(map(str, paths))}")
        return paths
    procs = []
    t0 = time.perf_counter()
    for kind, path in zip(("ae", "vae"), paths, strict=True):
        cmd = [
            sys.executable,
            "-m",
            "latentlab",
            "train",
            "--model",
            kind,
            "--dataset",
            "fashion-mnist",
            "--data-dir",
            data_dir,
            "--epochs",
            "1",
            "--threads",
            "1",
            "--out",
            str(path),
            "--force",
        ]
        if quick:
            cmd += ["--batch-size", "512"]
        procs.append(
            subprocess.Popen(
                cmd,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    for proc in procs:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"bench: training failed:\n{out}")
    note(
        f"trained AE + VAE (1 epoch fashion-mnist, CLI) in "
        f"{time.perf_counter() - t0:.0f} s into {folder}"
    )
    return paths


def cli_peak(paths: list[Path], data_dir: str) -> float:
    """Peak RSS (MiB) of ``python -m latentlab A B`` until its ready line."""
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", LATENTLAB_QUIT_WHEN_READY="1")
    with tempfile.TemporaryDirectory(prefix="latentlab-memory-") as home:
        env["XDG_CONFIG_HOME"] = home
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "latentlab",
                *map(str, paths),
                "--data-dir",
                data_dir,
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if "ready, 2 model(s)" not in out:
        note(f"python -m latentlab did not get ready: {out.strip()[-300:]}")
    return usage.ru_maxrss / 1024


def colour_pair(folder: Path) -> list[Path]:
    """An untrained conv4 AE and VAE for 64x64 colour shapes (memory does not
    depend on training)."""
    from latentlab.core.checkpoint.save import save_checkpoint
    from latentlab.core.config import ModelConfig
    from latentlab.core.training import new_model

    paths = []
    for kind in ("ae", "vae"):
        cfg = ModelConfig(
            kind=kind, backbone="conv4", image_shape=(3, 64, 64), hidden=(256,)
        )
        path = folder / f"colour-{kind}.pt"
        save_checkpoint(path, new_model(cfg, seed=0), dataset={"name": "colour-shapes"})
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Measure the app's peak memory; prints ``name value unit`` lines."""
    parser = argparse.ArgumentParser(prog="python -m bench.memory")
    parser.add_argument("--quick", action="store_true", help="train with batch 512")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument(
        "--models-dir", type=Path, help="keep the trained checkpoints here and reuse"
    )
    parser.add_argument("--repeats", type=int, help="app runs (default 1 / 3)")
    parser.add_argument("--child", nargs=2, metavar="PT", help=argparse.SUPPRESS)
    parser.add_argument("--colour-child", nargs=2, metavar="PT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.data_dir)
    if args.colour_child:
        return child(args.colour_child, args.data_dir, colour=True)

    repeats = args.repeats or (1 if args.quick else 3)
    load = os.getloadavg()
    note(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory(prefix="latentlab-memory-") as tmp:
        folder = args.models_dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths = train_pair(folder, args.data_dir, args.quick)
        env = dict(os.environ)
        env["QT_QPA_PLATFORM"] = "offscreen"
        cmd = [
            sys.executable,
            "-m",
            "bench.memory",
            "--data-dir",
            args.data_dir,
            "--child",
            *map(str, paths),
        ]
        # The peak varies from run to run (background jobs overlap differently):
        # the first run prints its details, further runs add to the spread.
        peaks: list[float] = []
        for i in range(repeats):
            proc = subprocess.run(
                cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300
            )
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr[-3000:], file=sys.stderr)
                return proc.returncode
            for line in proc.stdout.splitlines():
                if line.startswith("app_peak_rss_mb "):
                    peaks.append(float(line.split()[1]))
                if i == 0:
                    print(line, flush=True)
        if repeats > 1:
            emit("app_peak_rss_median_mb", statistics.median(peaks), "MiB")
            emit("app_peak_rss_max_mb", max(peaks), "MiB")
            note(f"peaks of {repeats} runs: {', '.join(f'{p:.0f}' for p in peaks)} MiB")
        emit("app_cli_ready_maxrss_mb", cli_peak(paths, args.data_dir), "MiB")
        note("app_cli_ready_maxrss_mb: python -m latentlab A B until ready (no grids)")
        colour = colour_pair(Path(tmp))
        cmd = [*cmd[: cmd.index("--child")], "--colour-child", *map(str, colour)]
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr[-3000:], file=sys.stderr)
            return proc.returncode
        print(proc.stdout, end="", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
