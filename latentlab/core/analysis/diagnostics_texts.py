"""What the Diagnostics tab says about its numbers.

Each text is a pure function of the figures shown beside it (the units, the
bound, the log p(x) report). No Qt: the tab puts these strings in its labels.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from latentlab.core.analysis.texts import dim_name

if TYPE_CHECKING:
    from latentlab.core.analysis.diagnostics import LiveDiagnostics
    from latentlab.core.analysis.likelihood import LikelihoodReport


def units_detail(live: LiveDiagnostics, variational: bool) -> str:
    """Each dim's figure, named, and what they sum to."""
    u = live.units
    if variational:
        dims = ", ".join(
            f"{dim_name(d)} {v:.3f}" for d, v in enumerate(u.kl_per_dim[:12])
        )
        more = " …" if u.latent_dim > 12 else ""
        return (
            f"KL(q(z_d|x) ‖ N(0,1)) per dim, mean over {u.n:,} test images (nats): "
            f"{dims}{more}; sum {u.total_kl:.3f} = the KL term"
        )
    dims = ", ".join(f"{dim_name(d)} {v:.3g}" for d, v in enumerate(u.mu_variance[:12]))
    more = " …" if u.latent_dim > 12 else ""
    return f"variance of each code dim over {u.n:,} test images: {dims}{more}"


WEAK_KL = 0.05  # nats: an active dim carrying less than this says little


def units_summary(live: LiveDiagnostics, variational: bool) -> str:
    """How many dims are active, by what rule, and for a VAE how many of the
    active ones carry almost no KL (the count alone overstates them)."""
    u = live.units
    what = "Var_x(E_q[z_d])" if variational else "Var_x(z_d)"
    text = (
        f"<b>{u.active_count} of {u.latent_dim} active</b><br>{what} > "
        f"{u.threshold:g} (Burda et al. 2016) on {u.n:,} test images"
    )
    if variational:
        kl = [float(u.kl_per_dim[d]) for d in range(u.latent_dim) if u.active[d]]
        weak = [v for v in kl if v < WEAK_KL]
        if weak:
            text += (
                f"<br>{len(weak)} of the active carry under {WEAK_KL:g} nats of "
                f"KL each ({min(weak):.3f}–{max(weak):.3f})"
            )
        elif kl:
            text += f"<br>each active dim carries ≥ {min(kl):.3f} nats of KL"
    if u.active_count < u.latent_dim:
        text += "<br>grey bars: inactive dims"
    return text


def bound_text(live: LiveDiagnostics) -> str:
    """Reconstruction at μ and at samples, each labelled."""
    b = live.bound
    if b is None:
        return ""
    return (
        f"reconstruction −log p(x|z), first {b.n:,} test images: at z = μ "
        f"<b>{b.recon_mu:.2f}</b> nats, averaged over {b.samples} z ~ q(z|x) "
        f"<b>{b.recon_samples:.2f}</b> nats; −ELBO {b.neg_elbo:.2f} nats "
        f"({b.likelihood})"
    )


def report_text(r: LikelihoodReport, n: int, dataset: str) -> str:
    """log p(x), −ELBO and the gap, with the estimator and the data."""
    b = r.bound
    text = (
        f"On {n:,} {dataset} test images ({b.likelihood}):<br>"
        f"log p(x) = <b>{r.log_px:.3f}</b> nats/image by {escape(r.method)}<br>"
        f"−ELBO = <b>{b.neg_elbo:.3f}</b> nats ({b.samples} z ~ q(z|x) per image; "
        f"KL {b.kl:.3f})<br>"
        f"{gap_text(r)}<br>"
        f"reconstruction at z = μ {b.recon_mu:.3f} nats, at samples "
        f"{b.recon_samples:.3f} nats · {r.seconds:.1f} s"
    )
    if r.warning:
        text += f"<br><span style='color:#a05a00'>⚠ {escape(r.warning)}</span>"
    return text


def gap_text(r: LikelihoodReport) -> str:
    """The gap log p(x) − ELBO, labelled as the estimate it is: from two
    estimates, importance sampling's resting on its effective sample size."""
    text = (
        f"gap log p(x) − ELBO ≈ <b>{r.gap:.3f}</b> nats, an estimate of the mean "
        "KL(q(z|x) ‖ p(z|x))"
    )
    if r.median_ess is not None:
        text += (
            f" (log p(x) by importance sampling, median ESS {r.median_ess:.1f} of "
            f"K = {r.k:,}: a small ESS biases it low)"
        )
    return text
