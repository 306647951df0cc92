"""``latentlab evaluate FILE``: a checkpoint's diagnostics and log p(x) on its
test split, one ``name value unit`` line each, with a cost check before
importance sampling."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from latentlab.cli.checks import (
    _check_data_dir,
    _check_input,
    _check_seed,
    _checkpoint_dataset,
    _dataset_key,
)

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


# Importance sampling longer than this is refused before it starts.
MAX_EVALUATE_S = 7 * 24 * 3600.0


def _check_importance_cost(model: Any, images: Any, k: int) -> None:
    """Refuse a K that cannot finish, saying how long it would take here.

    Memory stays bounded whatever K is (the samples are drawn in chunks);
    time does not."""
    from latentlab.core.analysis.likelihood import importance_points_per_second
    from latentlab.core.errors import ConfigError
    from latentlab.core.text import format_int

    n = len(images)
    passes = n * k
    rate = importance_points_per_second(model, images[:1])
    seconds = passes / rate
    if seconds > MAX_EVALUATE_S:
        raise ConfigError(
            f"--k {format_int(k)} on {n:,} test images means {passes:.3g} decoder "
            f"passes: about {_duration(seconds)} on this machine (it computes "
            f"{rate:,.0f} samples/s). Lower --k (default 1000) or --limit"
        )


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return f"{seconds / size:,.3g} {unit}"
    return f"{seconds / 60:.0f} minutes"


def cmd_evaluate(opts: argparse.Namespace) -> int:
    """``latentlab evaluate FILE``: the diagnostics and log p(x) on the test split."""
    from latentlab.core.analysis.continuity import HOLE_RATIO, path_holes
    from latentlab.core.analysis.diagnostics import aggregate_posterior, unit_stats
    from latentlab.core.analysis.diagnostics_texts import WEAK_KL
    from latentlab.core.analysis.likelihood import (
        bits_comparable,
        likelihood_note,
        likelihood_report,
    )
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.core.errors import ConfigError
    from latentlab.core.latent import encode_images
    from latentlab.core.model_interface import bits_per_dim
    from latentlab.core.text import printable, printable_path

    start = time.perf_counter()
    _check_seed(opts.seed)
    opts.dataset = _dataset_key(opts.dataset)
    _check_data_dir(opts)
    _check_input(opts.file)
    ckpt = load_checkpoint(opts.file)
    model = ckpt.model.eval()
    cfg = ckpt.config
    if opts.method == "quadrature" and cfg.latent_dim != 2:
        raise ConfigError(
            f"--method quadrature needs a 2-D latent; this one has {cfg.latent_dim} "
            "dims (use --method is)"
        )
    if cfg.kind != "vae" and opts.method != "auto":
        raise ConfigError("--method applies to a VAE; an AE has no log p(x)")
    dataset = _checkpoint_dataset(ckpt, opts)
    images = dataset.test_images[: opts.limit] if opts.limit else dataset.test_images
    n = len(images)
    if cfg.kind == "vae" and (opts.method == "is" or cfg.latent_dim != 2):
        _check_importance_cost(model, images, opts.k)
    data = f"{printable(dataset.name, 40)} test split, {n:,} images"
    print(f"# {printable_path(ckpt.path)}: {ckpt.title()}; {data}")
    print(f"# likelihood: {likelihood_note(model)}")
    dims = cfg.pixels
    bits_how = (
        "discretized over 8-bit levels: comparable with published bits/dim"
        if bits_comparable(model)
        else "from a continuous density or non-binary Bernoulli targets: not "
        "comparable with published (discrete 8-bit) bits/dim"
    )
    _line("test_images", n, "images")
    codes = encode_images(model, images)
    units = unit_stats(codes)
    vae = cfg.kind == "vae"
    report = None
    if vae:
        run = likelihood_report(
            model, images, k=opts.k, seed=opts.seed, method=opts.method
        )
        while True:
            try:
                _progress(next(run), "log p(x)")
            except StopIteration as stop:
                report = stop.value
                break
        if sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 50 + "\r")
        b = report.bound
        _line(
            "neg_elbo",
            b.neg_elbo,
            "nats",
            f"recon at samples + KL, {b.samples} z ~ q(z|x) per image",
        )
        _line("recon_mu", b.recon_mu, "nats", "-log p(x|z) at z = mu")
        _line(
            "recon_samples",
            b.recon_samples,
            "nats",
            f"-log p(x|z) averaged over {b.samples} z ~ q(z|x) per image",
        )
        _line("kl", b.kl, "nats", "KL(q(z|x) || N(0, I)), closed form")
        _line(
            "neg_elbo_bits_per_dim",
            bits_per_dim(b.neg_elbo, dims),
            "bits/dim",
            f"neg_elbo / ({dims} dims x ln 2); {bits_how}",
        )
        for d, v in enumerate(units.kl_per_dim):
            _line(f"kl_dim{d + 1}", float(v), "nats", "mean over the test images")
    else:
        from latentlab.core.analysis.likelihood import bound_terms

        b = bound_terms(model, images)
        _line("recon_mu", b.recon_mu, "nats", "-log p(x|z) at z = mu(x), the code")
        for d, v in enumerate(units.mu_variance):
            _line(
                f"code_var_dim{d + 1}",
                float(v),
                "units²",
                "variance over the test images",
            )
    what = "Var_x(E_q[z_d])" if vae else "Var_x(z_d)"
    _line(
        "active_units",
        units.active_count,
        f"of {units.latent_dim}",
        f"{what} > {units.threshold:g}, Burda et al. 2016",
    )
    if vae:
        weak = [
            float(units.kl_per_dim[d])
            for d in range(units.latent_dim)
            if units.active[d] and units.kl_per_dim[d] < WEAK_KL
        ]
        _line(
            "active_units_weak",
            len(weak),
            f"of {units.active_count}",
            f"active dims with KL under {WEAK_KL:g} nats each (kl_dim* lines)",
        )
    holes = path_holes(codes.mu)
    _line(
        "path_hole_share",
        100 * holes.share,
        "%",
        f"of {holes.points} points on the paths between {holes.pairs} random pairs "
        f"of test codes where the codes' density < {HOLE_RATIO:g} x their own "
        "Gaussian's (whitened; the same for any invertible linear map of z)",
    )
    if cfg.latent_dim == 2:
        agg = aggregate_posterior(codes)
        _line(
            "hole_share",
            100 * agg.hole_share,
            "%",
            "of the N(0, I) prior's 3-sigma-disc mass where q(z) < 0.1 p(z) "
            "(against the VAE's prior)",
        )
        _line(
            "kl_aggregate",
            agg.kl,
            "nats",
            f"KL(q(z) || p(z)), midpoint rule on a {2 * agg.n}x{2 * agg.n} grid; "
            + agg.method,
        )
    if report is not None:
        _line("log_px", report.log_px, "nats", report.method)
        _line(
            "neg_log_px_bits_per_dim",
            bits_per_dim(-report.log_px, dims),
            "bits/dim",
            f"-log_px / ({dims} dims x ln 2); {bits_how}",
        )
        if report.median_ess is not None:
            _line("median_ess", report.median_ess, "samples", f"of K = {report.k}")
        how = (
            f"IS, median ESS {report.median_ess:.1f} of K = {report.k}: biased low "
            "when small"
            if report.median_ess is not None
            else "quadrature log p(x)"
        )
        _line(
            "gap",
            report.gap,
            "nats",
            f"log p(x) - ELBO, an estimate of the mean KL(q(z|x) || p(z|x)); {how}",
        )
        if report.warning:
            print(f"latentlab: warning: {report.warning}", file=sys.stderr)
    _line("seconds", time.perf_counter() - start, "s")
    return 0
