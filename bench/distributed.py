"""Training on one process against two gloo processes on this machine:
``python -m bench.distributed [--quick]``.

The same run both ways — LatentLab's default 2-D VAE (MLP 512-256) on
Fashion-MNIST's 60,000 training images (the generated shapes when the data is
absent), seed 0 — through ``latentlab train``: one process with batch 128,
then ``--nproc 2`` with batch 64 each (the same global batch of 128). Printed
per way: the training images/s of each epoch and its test -ELBO, and the
largest difference between the two runs' figures (the equivalence), so what
parallelism costs or gains on this machine is read beside what it computes.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
EPOCH = re.compile(
    r"epoch\s+(\d+)\s+train\s+([\d.]+)\s+test recon\s+([\d.]+)\s+KL\s+([\d.]+)\s+"
    r"-ELBO\s+([\d.]+) nats\s+([\d.]+)s \(([\d,]+) img/s\)"
)


def line(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.6g} {unit}", flush=True)


def run(args: list[str]) -> list[tuple[float, float]]:
    """``latentlab train ARGS``; each epoch's (images/s, test -ELBO)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "latentlab", "train", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=REPO,
    )
    if proc.returncode != 0:
        raise SystemExit(f"latentlab train failed: {proc.stderr.strip()[-500:]}")
    epochs = []
    for match in EPOCH.finditer(proc.stdout):
        rate = float(match.group(7).replace(",", ""))
        epochs.append((rate, float(match.group(5))))
    return epochs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.distributed")
    p.add_argument("--quick", action="store_true", help="2 epochs (default 3)")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    opts = p.parse_args(argv)
    epochs = 2 if opts.quick else 3
    fashion = (opts.data_dir / "FashionMNIST" / "raw").is_dir()
    data = ["--dataset", "fashion-mnist", "--data-dir", str(opts.data_dir)]
    if not fashion:
        data = ["--dataset", "shapes"]
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {data[1]}, VAE 2-D, {epochs} epochs"
    )
    with tempfile.TemporaryDirectory() as folder:
        common = [*data, "--model", "vae", "--epochs", str(epochs), "--device", "cpu"]
        one = run([*common, "--batch-size", "128", "--out", f"{folder}/one.pt"])
        two = run(
            [*common, "--batch-size", "64", "--nproc", "2", "--out", f"{folder}/two.pt"]
        )
    for name, epochs_seen in (("one_process", one), ("two_processes", two)):
        for i, (rate, elbo) in enumerate(epochs_seen, 1):
            line(f"dist_{name}_epoch{i}_images_per_s", rate, "images/s")
            line(f"dist_{name}_epoch{i}_test_neg_elbo", elbo, "nats")
    rates = [r for r, _ in one], [r for r, _ in two]
    line("dist_two_over_one_speed", sum(rates[1]) / sum(rates[0]), "ratio")
    gap = max(abs(a[1] - b[1]) for a, b in zip(one, two, strict=True))
    line("dist_largest_test_neg_elbo_difference", gap, "nats")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
