"""``python -m bench [--quick]``: every benchmark, each in its own process.

Each prints ``name value unit`` lines (context lines start with ``#``). Separate
processes keep one benchmark's memory and threads out of the next one's figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

MODULES = (
    "bench.train_speed",
    "bench.interactive",
    "bench.input_latency",
    "bench.startup",
    "bench.memory",
)


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
    opts = parser.parse_args(argv)
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    failed = []
    start = time.perf_counter()
    for module in MODULES:
        if opts.only and module.split(".")[1] not in opts.only:
            continue
        print(f"# --- {module}", flush=True)
        args = [sys.executable, "-m", module] + (["--quick"] if opts.quick else [])
        if subprocess.run(args, env=env).returncode != 0:
            failed.append(module)
    print(f"bench_total_s {time.perf_counter() - start:.0f} s", flush=True)
    if failed:
        print(f"# failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
