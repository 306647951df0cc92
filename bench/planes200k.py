"""Planes of 60,000-200,000 points: ``python -m bench.planes200k [--quick]``.

Two sets, each shown in one latent plane (800x600, offscreen Qt) as the window
shows its test codes, coloured by label:

- a generated set of 200,000 codes: ten Gaussian clusters, one per label;
- Fashion-MNIST's 60,000 training images encoded by LatentLab's default 2-D
  VAE trained for two epochs here, when ``../shared/data`` has them.

For each: the time to set the points; a pan step and a zoom step (the view
moved, then the plane repainted at once), zoomed out (more than
``DENSITY_POINTS`` on screen: the density image) and zoomed in (the discs);
a crosshair move (what a click repaints in the plane); and a rectangle
holding about half the points selected and summarised (the selection panel's
figures). The pan step is also timed with every point drawn as a disc (the
density image off), the way before. Plus the process's memory with the 200,000
28x28 images and their codes in it. A frame is 16 ms at 60 Hz.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def line(name: str, value: float, unit: str) -> None:
    print(f"{name} {value:.4g} {unit}", flush=True)


def spread(name: str, values: list[float]) -> None:
    line(f"{name}_p50_ms", float(np.percentile(values, 50)), "ms")
    line(f"{name}_p95_ms", float(np.percentile(values, 95)), "ms")


def generated(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    angle = labels * (2 * np.pi / 10)
    centres = np.column_stack([3 * np.cos(angle), 3 * np.sin(angle)])
    return (centres + rng.normal(0, 0.7, (n, 2))).astype(np.float32), labels


def measure(app, tag: str, xy: np.ndarray, labels: np.ndarray, moves: int) -> None:
    from latentlab.core.analysis.group import (
        points_in_polygon,
        rect_polygon,
        summarize_group,
    )
    from latentlab.core.latent import Codes, LatentSlice
    from latentlab.qt.widgets import points as points_module
    from latentlab.qt.widgets.latent_plane import LatentPlaneWidget

    plane = LatentPlaneWidget()
    plane.resize(800, 600)
    plane.show()
    app.processEvents()
    groups = [(str(k), labels == k) for k in range(int(labels.max()) + 1)]
    t0 = time.perf_counter()
    plane.set_points(xy, groups)
    app.processEvents()
    line(f"{tag}_set_points_ms", (time.perf_counter() - t0) * 1e3, "ms")
    viewport = plane.viewport()
    lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)
    centre, half = (lo + hi) / 2, (hi - lo).max() / 2 * 1.1

    def frame(x0: float, y0: float, w: float) -> float:
        plane.view_box.setRange(
            xRange=(x0 - w, x0 + w), yRange=(y0 - 0.75 * w, y0 + 0.75 * w), padding=0
        )
        t = time.perf_counter()
        viewport.repaint()
        return (time.perf_counter() - t) * 1e3

    for view, width in (("out", half), ("in", half / 12)):
        frame(*centre, width)  # settle the layout
        pans = [
            frame(centre[0] + 0.01 * width * (i % 20), centre[1], width)
            for i in range(moves)
        ]
        spread(f"{tag}_pan_zoomed_{view}", pans)
        zooms = [
            frame(*centre, width * (1.0 + 0.05 * (i % 10))) for i in range(moves // 2)
        ]
        spread(f"{tag}_zoom_zoomed_{view}", zooms)
    on_screen = int(((np.abs(xy - centre) < half).all(1)).sum())
    line(f"{tag}_points_on_screen_zoomed_out", on_screen, "points")
    frame(*centre, half)
    crosshair = []
    for i in range(moves):
        plane.set_crosshair(centre[0] + 0.01 * i, centre[1])
        t = time.perf_counter()
        viewport.repaint()
        crosshair.append((time.perf_counter() - t) * 1e3)
    spread(f"{tag}_crosshair_repaint", crosshair)
    # The way before: every point a disc, at any zoom.
    saved = points_module.DENSITY_POINTS
    points_module.DENSITY_POINTS = len(xy) + 1
    discs = [
        frame(centre[0] + 0.01 * half * (i % 20), centre[1], half)
        for i in range(moves // 4)
    ]
    points_module.DENSITY_POINTS = saved
    spread(f"{tag}_pan_zoomed_out_discs", discs)
    # A rectangle over the left half: selected and summarised.
    codes = Codes(xy, None)
    polygon = rect_polygon(lo[0] - 1, lo[1] - 1, centre[0], hi[1] + 1)
    t = time.perf_counter()
    inside = points_in_polygon(xy, polygon)
    summary = summarize_group(
        np.flatnonzero(inside),
        labels,
        [name for name, _ in groups],
        [("VAE", codes, LatentSlice(2))],
    )
    line(f"{tag}_select_and_summarise_ms", (time.perf_counter() - t) * 1e3, "ms")
    line(f"{tag}_selected_points", summary.count, "points")
    plane.close()
    plane.deleteLater()
    app.processEvents()


def fashion_codes(data_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    from latentlab.core.config import ModelConfig, TrainConfig
    from latentlab.core.data import load_dataset
    from latentlab.core.latent import encode_images
    from latentlab.core.training import new_model, train

    if not (data_dir / "FashionMNIST" / "raw").is_dir():
        print("# Fashion-MNIST not found: its part is skipped")
        return None
    dataset = load_dataset("fashion-mnist", str(data_dir))
    # LatentLab's default 2-D VAE, two epochs (no Fashion model is shipped).
    model = new_model(ModelConfig(), seed=0)
    run = train(model, dataset, TrainConfig(epochs=2, device="cpu"))
    for _ in run:
        pass
    t = time.perf_counter()
    codes = encode_images(model, dataset.train_images)
    line("fashion60k_encode_train_ms", (time.perf_counter() - t) * 1e3, "ms")
    return codes.mu, dataset.train_labels.numpy()


def main(argv: list[str] | None = None) -> int:
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    p = argparse.ArgumentParser(prog="python -m bench.planes200k")
    p.add_argument("--quick", action="store_true", help="fewer frames")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    opts = p.parse_args(argv)
    moves = 40 if opts.quick else 120
    app = QApplication.instance() or QApplication([])
    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    print(f"# {os.cpu_count()} cores, offscreen Qt, plane 800x600; a frame is 16 ms")
    xy, labels = generated(200_000)
    images = np.random.default_rng(1).integers(0, 256, (200_000, 28, 28), np.uint8)
    measure(app, "gen200k", xy, labels, moves)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    line("gen200k_process_peak_rss_mb", rss, "MB")
    line("gen200k_images_and_codes_mb", (images.nbytes + xy.nbytes) / 2**20, "MB")
    del images
    found = fashion_codes(opts.data_dir)
    if found is not None:
        measure(app, "fashion60k", *found, moves)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
