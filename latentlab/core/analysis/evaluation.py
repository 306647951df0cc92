"""A model's diagnostics and log p(x) on a set of images, as named figures:
what ``latentlab evaluate`` prints and :func:`latentlab.evaluate` returns, from
one computation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    import torch

# Importance sampling longer than this is refused before it starts.
MAX_EVALUATE_S = 7 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure: ``name value unit  (note)``."""

    name: str
    value: float | int
    unit: str
    note: str = ""


class Evaluation(dict):
    """The figures by name (``neg_elbo``, ``kl``, ``kl_dim1``, …), with
    :attr:`units`, :attr:`notes` and the :attr:`likelihood` they were computed
    with. A plain ``dict`` of numbers otherwise.

    Example: ``ev["neg_elbo"]``, ``ev.notes["neg_elbo"]``.
    """

    def __init__(self, figures: list[Figure], likelihood: str, data: str) -> None:
        super().__init__((f.name, f.value) for f in figures)
        self.units = {f.name: f.unit for f in figures}
        self.notes = {f.name: f.note for f in figures}
        self.likelihood = likelihood
        self.data = data

    def __repr__(self) -> str:
        rows = [f"# {self.data}; likelihood: {self.likelihood}"]
        for name, value in self.items():
            text = f"{value:.3f}" if isinstance(value, float) else str(value)
            rows.append(f"{name} {text} {self.units[name]}")
        return "\n".join(rows)


def _duration(seconds: float) -> str:
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600)):
        if seconds >= size:
            return f"{seconds / size:,.3g} {unit}"
    return f"{seconds / 60:.0f} minutes"


def check_importance_cost(model: Any, images: torch.Tensor, k: int) -> None:
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


def check_method(model: Any, method: str) -> None:
    """Refuse a log p(x) method the model cannot take, saying what to use."""
    from latentlab.core.errors import ConfigError

    cfg = model.config
    if method == "quadrature" and cfg.latent_dim != 2:
        raise ConfigError(
            f"--method quadrature needs a 2-D latent; this one has {cfg.latent_dim} "
            "dims (use --method is)"
        )
    if cfg.kind != "vae" and method != "auto":
        raise ConfigError("--method applies to a VAE; an AE has no log p(x)")


def needs_importance(model: Any, method: str) -> bool:
    """True when log p(x) will be importance-sampled (its cost is checked)."""
    cfg = model.config
    return cfg.kind == "vae" and (method == "is" or cfg.latent_dim != 2)


def evaluation_steps(
    model: Any,
    images: torch.Tensor,
    *,
    k: int = 1000,
    seed: int = 0,
    method: str = "auto",
) -> Generator[float, None, tuple[list[Figure], str | None]]:
    """The figures of ``model`` on ``images`` (uint8 ``(n, h, w)`` or
    ``(n, 3, h, w)``), yielding log p(x)'s progress in [0, 1]; returns the
    figures and a warning (or None). The checks above come first."""
    from latentlab.core.analysis.continuity import HOLE_RATIO, path_holes
    from latentlab.core.analysis.diagnostics import aggregate_posterior, unit_stats
    from latentlab.core.analysis.diagnostics_texts import WEAK_KL
    from latentlab.core.analysis.likelihood import (
        bits_comparable,
        bound_terms,
        likelihood_report,
    )
    from latentlab.core.latent import encode_images
    from latentlab.core.model_interface import bits_per_dim

    cfg = model.config
    dims = cfg.pixels
    bits_how = (
        "discretized over 8-bit levels: comparable with published bits/dim"
        if bits_comparable(model)
        else "from a continuous density or non-binary Bernoulli targets: not "
        "comparable with published (discrete 8-bit) bits/dim"
    )
    out = [Figure("test_images", len(images), "images")]
    codes = encode_images(model, images)
    units = unit_stats(codes)
    vae = cfg.kind == "vae"
    report = None
    if vae:
        report = yield from likelihood_report(
            model, images, k=k, seed=seed, method=method
        )
        b = report.bound
        out += [
            Figure(
                "neg_elbo",
                b.neg_elbo,
                "nats",
                f"recon at samples + KL, {b.samples} z ~ q(z|x) per image",
            ),
            Figure("recon_mu", b.recon_mu, "nats", "-log p(x|z) at z = mu"),
            Figure(
                "recon_samples",
                b.recon_samples,
                "nats",
                f"-log p(x|z) averaged over {b.samples} z ~ q(z|x) per image",
            ),
            Figure("kl", b.kl, "nats", "KL(q(z|x) || N(0, I)), closed form"),
            Figure(
                "neg_elbo_bits_per_dim",
                bits_per_dim(b.neg_elbo, dims),
                "bits/dim",
                f"neg_elbo / ({dims} dims x ln 2); {bits_how}",
            ),
        ]
        out += [
            Figure(f"kl_dim{d + 1}", float(v), "nats", "mean over the test images")
            for d, v in enumerate(units.kl_per_dim)
        ]
    else:
        b = bound_terms(model, images)
        out.append(
            Figure("recon_mu", b.recon_mu, "nats", "-log p(x|z) at z = mu(x), the code")
        )
        out += [
            Figure(
                f"code_var_dim{d + 1}",
                float(v),
                "units²",
                "variance over the test images",
            )
            for d, v in enumerate(units.mu_variance)
        ]
    what = "Var_x(E_q[z_d])" if vae else "Var_x(z_d)"
    out.append(
        Figure(
            "active_units",
            units.active_count,
            f"of {units.latent_dim}",
            f"{what} > {units.threshold:g}, Burda et al. 2016",
        )
    )
    if vae:
        weak = [
            float(units.kl_per_dim[d])
            for d in range(units.latent_dim)
            if units.active[d] and units.kl_per_dim[d] < WEAK_KL
        ]
        out.append(
            Figure(
                "active_units_weak",
                len(weak),
                f"of {units.active_count}",
                f"active dims with KL under {WEAK_KL:g} nats each (kl_dim* lines)",
            )
        )
    holes = path_holes(codes.mu)
    out.append(
        Figure(
            "path_hole_share",
            100 * holes.share,
            "%",
            f"of {holes.points} points on the paths between {holes.pairs} random pairs "
            f"of test codes where the codes' density < {HOLE_RATIO:g} x their own "
            "Gaussian's (whitened; the same for any invertible linear map of z)",
        )
    )
    if cfg.latent_dim == 2:
        agg = aggregate_posterior(codes)
        out += [
            Figure(
                "hole_share",
                100 * agg.hole_share,
                "%",
                "of the N(0, I) prior's 3-sigma-disc mass where q(z) < 0.1 p(z) "
                "(against the VAE's prior)",
            ),
            Figure(
                "kl_aggregate",
                agg.kl,
                "nats",
                f"KL(q(z) || p(z)), midpoint rule on a {2 * agg.n}x{2 * agg.n} "
                "grid; " + agg.method,
            ),
        ]
    warning = None
    if report is not None:
        out += [
            Figure("log_px", report.log_px, "nats", report.method),
            Figure(
                "neg_log_px_bits_per_dim",
                bits_per_dim(-report.log_px, dims),
                "bits/dim",
                f"-log_px / ({dims} dims x ln 2); {bits_how}",
            ),
        ]
        if report.median_ess is not None:
            out.append(
                Figure("median_ess", report.median_ess, "samples", f"of K = {report.k}")
            )
        how = (
            f"IS, median ESS {report.median_ess:.1f} of K = {report.k}: biased low "
            "when small"
            if report.median_ess is not None
            else "quadrature log p(x)"
        )
        out.append(
            Figure(
                "gap",
                report.gap,
                "nats",
                f"log p(x) - ELBO, an estimate of the mean KL(q(z|x) || p(z|x)); {how}",
            )
        )
        warning = report.warning or None
    return out, warning


def evaluate_model(
    model: Any,
    images: torch.Tensor,
    *,
    k: int = 1000,
    seed: int = 0,
    method: str = "auto",
    data: str = "",
    progress: Callable[[float], None] | None = None,
) -> Evaluation:
    """:func:`evaluation_steps` run to the end, after the checks."""
    from latentlab.core.analysis.likelihood import likelihood_note
    from latentlab.core.steps import run_steps

    check_method(model, method)
    if needs_importance(model, method):
        check_importance_cost(model, images, k)
    figures, warning = run_steps(
        evaluation_steps(model, images, k=k, seed=seed, method=method), progress
    )
    result = Evaluation(figures, likelihood_note(model), data)
    result.warning = warning
    return result
