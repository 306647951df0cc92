"""``python -m bench [--quick] [--plain | --both [--rounds N]]``: every benchmark,
each in its own process.

Each prints ``name value unit`` lines (context lines start with ``#``). Separate
processes keep one benchmark's memory and threads out of the next one's figures.

``--plain`` runs them with ``LATENTLAB_PLAIN=1``: every speed device of
``latentlab/core/perf.py`` off. ``--both`` runs each benchmark with the devices
on, then off, ``--rounds`` times in turn, and ends with a table of the key
figures both ways (the median of the rounds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from latentlab.core import perf

MODULES = (
    "bench.train_speed",
    "bench.colour_train",
    "bench.interactive",
    "bench.input_latency",
    "bench.startup",
    "bench.memory",
    "bench.distributed",
    "bench.planes200k",
)

# The figures the --both table compares: (name, what).
KEY_FIGURES = (
    ("ll_samples_per_s", "training, LatentLab, samples/s"),
    ("vae2d_fashion_mnist_train_s", "Fashion-MNIST VAE 2-D, train s"),
    ("click_to_image_mlp_p95_ms", "click -> image, MLP, p95 ms"),
    ("click_to_image_conv_p95_ms", "click -> image, conv, p95 ms"),
    ("click_to_paint_conv_p95_ms", "click -> both painted, conv, p95 ms"),
    ("grid32_e2e_both_mlp_ms", "32x32 manifolds, both planes, MLP ms"),
    ("grid32_e2e_both_conv_ms", "32x32 manifolds, both planes, conv ms"),
    ("train_gap_p99_ms", "GUI gaps while training, p99 ms"),
    ("train_gap_worst_ms", "GUI gaps while training, worst ms"),
    ("gc_full_pass_ms", "a full GC pass, as the app runs, ms"),
    ("train_in_app_samples_per_s", "in-app training, samples/s"),
    ("train_start_to_first_progress_s", "Train pressed -> first progress, s"),
    ("startup_to_ready_median_s", "start-up to ready, median s"),
    ("first_paint_s", "window painted, s"),
)


def run_module(module: str, quick: bool, plain: bool) -> tuple[bool, dict[str, float]]:
    """Run one benchmark module, echoing its output; its figures by name."""
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if plain:
        env[perf.ENV_VAR] = "1"
    else:
        env.pop(perf.ENV_VAR, None)
    args = [sys.executable, "-m", module] + (["--quick"] if quick else [])
    figures: dict[str, float] = {}
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                try:
                    figures[parts[0]] = float(parts[1])
                except ValueError:
                    pass
    return proc.returncode == 0, figures


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _cell(values: list[float]) -> str:
    if not values:
        return "-"
    text = _num(statistics.median(values))
    if len(values) > 1:
        text += f" ({_num(min(values))}-{_num(max(values))})"
    return text


def print_table(runs: dict[bool, list[dict[str, float]]]) -> None:
    """The key figures, devices on against off: medians (and ranges) of rounds."""
    print("# --- key figures: devices on | LATENTLAB_PLAIN=1 (median (range))")
    for name, what in KEY_FIGURES:
        on = [r[name] for r in runs[False] if name in r]
        off = [r[name] for r in runs[True] if name in r]
        if on or off:
            print(f"# {what:<40} {_cell(on):>26} | {_cell(off)}   [{name}]")


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark module; non-zero if any of them failed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (~5 min)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[m.split(".")[1] for m in MODULES],
        help="run only these benchmarks",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--plain",
        action="store_true",
        help="every speed device off (LATENTLAB_PLAIN=1, latentlab/core/perf.py)",
    )
    mode.add_argument(
        "--both",
        action="store_true",
        help="devices on, then off, in turn; a table of the key figures both ways",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --both: on/off rounds (1)"
    )
    opts = parser.parse_args(argv)
    if opts.rounds < 1:
        parser.error("--rounds must be at least 1")
    if opts.both:
        order = [False, True] * opts.rounds
    else:
        order = [opts.plain or bool(perf.env_plain())]
    failed = []
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    start = time.perf_counter()
    for i, plain in enumerate(order):
        figures: dict[str, float] = {}
        for module in MODULES:
            if opts.only and module.split(".")[1] not in opts.only:
                continue
            devices = "off (LATENTLAB_PLAIN=1)" if plain else "on"
            print(f"# --- {module}, speed devices {devices}", flush=True)
            ok, found = run_module(module, opts.quick, plain)
            figures.update(found)
            if not ok:
                failed.append(f"{module} ({'plain' if plain else 'devices'}, run {i})")
        runs[plain].append(figures)
    print(f"bench_total_s {time.perf_counter() - start:.0f} s", flush=True)
    if opts.both:
        print_table(runs)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
