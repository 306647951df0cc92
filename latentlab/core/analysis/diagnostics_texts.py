"""What the Diagnostics tab says about its numbers.

Each text is a pure function of the figures shown beside it (the units, the
bound, the log p(x) report). No Qt: the tab puts these strings in its labels.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from latentlab.core.analysis.likelihood import LIKELIHOOD_NOTE
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


def bound_text(live: LiveDiagnostics) -> str:
    """Reconstruction at μ and at samples, each labelled."""
    b = live.bound
    if b is None:
        return ""
    return (
        f"reconstruction −log p(x|z), first {b.n:,} test images: at z = μ "
        f"<b>{b.recon_mu:.2f}</b> nats, averaged over {b.samples} z ~ q(z|x) "
        f"<b>{b.recon_samples:.2f}</b> nats; −ELBO {b.neg_elbo:.2f} nats "
        f"({LIKELIHOOD_NOTE})"
    )


def report_text(r: LikelihoodReport, n: int, dataset: str) -> str:
    """log p(x), −ELBO and the gap, with the estimator and the data."""
    b = r.bound
    text = (
        f"On {n:,} {dataset} test images ({LIKELIHOOD_NOTE}):<br>"
        f"log p(x) = <b>{r.log_px:.3f}</b> nats/image by {escape(r.method)}<br>"
        f"−ELBO = <b>{b.neg_elbo:.3f}</b> nats ({b.samples} z ~ q(z|x) per image; "
        f"KL {b.kl:.3f})<br>"
        f"gap log p(x) − ELBO = <b>{r.gap:.3f}</b> nats (the mean "
        "KL(q(z|x) ‖ p(z|x)))<br>"
        f"reconstruction at z = μ {b.recon_mu:.3f} nats, at samples "
        f"{b.recon_samples:.3f} nats · {r.seconds:.1f} s"
    )
    if r.warning:
        text += f"<br><span style='color:#a05a00'>⚠ {escape(r.warning)}</span>"
    return text
