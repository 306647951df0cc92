"""``latentlab evaluate FILE``: a checkpoint's diagnostics and log p(x) on its
test split, one ``name value unit`` line each, with a cost check before
importance sampling."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

from latentlab.cli.checks import (
    _check_data_dir,
    _check_input,
    _check_seed,
    _checkpoint_dataset,
    _dataset_key,
)
from latentlab.core.analysis.evaluation import MAX_EVALUATE_S

__all__ = ["MAX_EVALUATE_S", "cmd_evaluate"]

if TYPE_CHECKING:
    import argparse


def _line(name: str, value: float | int | str, unit: str, note: str = "") -> None:
    text = value if isinstance(value, str) else f"{value:.3f}"
    if isinstance(value, int):
        text = str(value)
    print(f"{name} {text} {unit}" + (f"  ({note})" if note else ""))


def _progress(fraction: float, what: str) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = int(width * min(max(fraction, 0.0), 1.0))
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * fraction:3.0f}% {what} "
    )
    sys.stderr.flush()


def cmd_evaluate(opts: argparse.Namespace) -> int:
    """``latentlab evaluate FILE``: the diagnostics and log p(x) on the test split."""
    from latentlab.core.analysis.evaluation import (
        check_importance_cost,
        check_method,
        evaluation_steps,
        needs_importance,
    )
    from latentlab.core.analysis.likelihood import likelihood_note
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.steps import run_steps
    from latentlab.core.text import printable, printable_path
    from latentlab.core.wrap import fit_sigma, needs_sigma

    start = time.perf_counter()
    _check_seed(opts.seed)
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    _check_input(opts.file)
    ckpt = load_checkpoint(opts.file)
    model = ckpt.model.eval()
    check_method(model, opts.method)
    dataset = _checkpoint_dataset(ckpt, opts)
    images = dataset.test_images[: opts.limit] if opts.limit else dataset.test_images
    n = len(images)
    if needs_importance(model, opts.method):
        check_importance_cost(model, images, opts.k)
    if needs_sigma(model):  # a pythae folder trained with MSE: σ is not in it
        fit_sigma(model, images, automatic=True)
    data = f"{printable(dataset.name, 40)} test split, {n:,} images"
    print(f"# {printable_path(ckpt.path)}: {ckpt.title()}; {data}")
    print(f"# likelihood: {likelihood_note(model)}")
    figures, warning = run_steps(
        evaluation_steps(model, images, k=opts.k, seed=opts.seed, method=opts.method),
        lambda fraction: _progress(fraction, "log p(x)"),
    )
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 50 + "\r")
    for figure in figures:
        _line(figure.name, figure.value, figure.unit, figure.note)
    if warning:
        print(f"latentlab: warning: {warning}", file=sys.stderr)
    _line("seconds", time.perf_counter() - start, "s")
    return 0
