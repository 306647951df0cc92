"""What the Gradient path tab says about its numbers, in words and tables.

Each text is a pure function of the numbers shown beside it (the variance
measurement, the identity check, the σ scan): it states what they show and
asserts nothing they do not. No Qt: the tab puts these strings in its labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.analysis.texts import pair

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

    from latentlab.core.analysis.gradient import IdentityResult, RatioScan
    from latentlab.core.reparam import EstimatorVariance


def ratio_text(ratios: npt.ArrayLike) -> str:
    """A median variance ratio as ``×1,234`` or ``×5.6``."""
    finite = np.asarray(ratios, np.float64)
    finite = finite[np.isfinite(finite)]
    if len(finite) == 0:
        return "×?"
    median = float(np.median(finite))
    return f"×{median:,.0f}" if median >= 100 else f"×{median:.1f}"


def variance_summary(res: EstimatorVariance) -> str:
    """What the variance plots show, from their numbers."""
    lower = bool((res.var_reparam < res.var_score).all())
    lower_b = bool((res.var_reparam < res.var_score_baseline).all())
    verdict = (
        "lower than the score function's at every S"
        if lower
        else "NOT lower than the score function's at every S"
    )
    base = (
        "also lower than with the baseline f(μ)"
        if lower_b
        else "NOT lower than with the baseline f(μ) at every S"
    )
    return (
        f"Reparameterization variance is {verdict} (median ratio "
        f"{ratio_text(res.ratio)}), {base} ({ratio_text(res.ratio_baseline)})."
    )


def _times(scale: npt.NDArray[np.float32]) -> str:
    """``× 8`` when every dim has the same factor, else ``⊙ (8, 1)``."""
    if np.all(scale == scale[0]):
        return f"× {scale[0]:.3g}"
    return f"⊙ {pair(scale)}"


def operating_point(
    mu: npt.ArrayLike,
    sigma: npt.ArrayLike,
    mu0: npt.ArrayLike,
    sigma0: npt.ArrayLike,
    offset: npt.ArrayLike,
    scale: npt.ArrayLike,
) -> str:
    """The one μ and σ every figure of the Gradient path tab is measured at
    (the ε-resampling tab's), and how they were set from the encoder's
    μ(x) = ``mu0``, σ(x) = ``sigma0`` (``mu = mu0 + offset``,
    ``sigma = sigma0 * scale``)."""
    off = np.asarray(offset, np.float32).reshape(-1)
    sc = np.asarray(scale, np.float32).reshape(-1)
    if np.any(off != 0):
        how_mu = f"μ(x) + {pair(off)}, μ(x) = {pair(mu0)}"
    else:
        how_mu = "μ(x)"
    if np.any(sc != 1):
        how_sigma = f"σ(x) {_times(sc)}, σ(x) = {pair(sigma0)}"
    else:
        how_sigma = "σ(x)"
    return (
        f"This tab works at <b>μ = {pair(mu)}</b> ({how_mu}) and "
        f"<b>σ = {pair(sigma)}</b> ({how_sigma}), as set on the ε-resampling tab: "
        "the samples, the variances, the pooled means, the identity and the σ "
        "scan are all measured at this μ and σ."
    )


def identity_html(res: IdentityResult, names: Sequence[str]) -> str:
    """The identity written out with the measured numbers, per component, and
    the μ, σ it was measured at."""
    c = res.check
    rows = [
        "<b>∇<sub>μ,σ</sub> E<sub>q(z|x)</sub>[f(z)] = "
        "E<sub>ε~N(0,I)</sub>[∇<sub>μ,σ</sub> f(μ + σ ⊙ ε)]</b>, "
        "f = log p(x|z) (nats), "
        f"at μ = {pair(res.mu)}, σ = {pair(res.sigma)}. The left side is "
        "computed without the right side's draws of ε and without f's "
        "derivative (it differentiates q instead), so the two can disagree",
        "<table cellspacing=6><tr><th></th><th>left: ∇ of E<sub>q</sub>[f] by "
        f"{c.left_method}</th><th>right: mean of K = {c.k:,} path "
        "gradients (autograd)</th><th>gap</th></tr>",
    ]
    gaps = c.verdict.gaps
    for j, name in enumerate(names):
        rows.append(
            f"<tr><td>{name}</td><td>{c.lhs[j]:+.4f} ± {c.lhs_se[j]:.4f}</td>"
            f"<td>{c.rhs[j]:+.4f} ± {c.rhs_se[j]:.4f}</td>"
            f"<td>{gaps[j]:.2f} SE</td></tr>"
        )
    rows.append("</table>")
    rows.append(c.verdict.text(names).replace("two estimators", "two sides"))
    return "".join(rows[:2]) + "".join(rows[2:-1]) + "<br>" + rows[-1]


def without_html(res: IdentityResult, names: Sequence[str]) -> str:
    """What autograd gives without the trick, and the estimator that is left."""
    w = res.without
    if w is None:
        return ""

    def answer(g) -> str:
        return "None (no gradient path)" if g is None else np.array2string(g, 3)

    rows = [
        "<b>Without the trick</b>: z = Normal(μ, σ).sample(), drawn directly, "
        f"not as μ + σ ⊙ ε. z.requires_grad = {w.z_requires_grad}; autograd "
        f"gives ∂/∂μ = {answer(w.grad_mu)}, ∂/∂σ = {answer(w.grad_sigma)}.",
        "The only estimator left is the score function f(z) ∇ log q(z), with "
        "∇<sub>μ</sub> log q = ε/σ and ∇<sub>σ</sub> log q = (ε² − 1)/σ:",
    ]
    se_ratio = w.score_se / np.maximum(res.check.rhs_se, 1e-300)
    parts = [
        f"{name} {w.score[j]:+.3g} ± {w.score_se[j]:.3g} ({se_ratio[j]:,.0f}× the "
        "path estimate's SE)"
        for j, name in enumerate(names)
    ]
    return "<br>".join(rows) + "<br>" + "; ".join(parts) + f" (K = {w.k:,})."


def scan_summary(scan: RatioScan) -> str:
    """The ratio against sigma, in words from its numbers."""
    lo, hi = int(np.argmin(scan.mean_sigma)), int(np.argmax(scan.mean_sigma))
    return (
        f"σ = {pair(scan.sigma)} (mean {float(np.mean(scan.sigma)):.3g}) scaled "
        f"×{scan.scales.min():g} … ×{scan.scales.max():g}, "
        f"S = {scan.samples} samples per estimate: at mean σ {scan.mean_sigma[lo]:.3g} "
        f"the score function's variance is {scan.ratio[lo]:,.0f}× the "
        f"reparameterization's; at {scan.mean_sigma[hi]:.3g}, {scan.ratio[hi]:,.0f}×. "
        + trend_text(scan.mean_sigma, scan.ratio, "Without a baseline")
        + " "
        + trend_text(scan.mean_sigma, scan.ratio_baseline, "With the baseline f(μ)")
    )


def trend_text(sigma: npt.ArrayLike, ratio: npt.ArrayLike, what: str) -> str:
    """How ``ratio`` moves as ``sigma`` grows, step by step, in words."""
    order = np.argsort(np.asarray(sigma, float))
    r = np.asarray(ratio, float)[order]
    r = r[np.isfinite(r)]
    if len(r) < 2:
        return f"{what}, too few finite ratios to say how they move with σ."
    steps = np.diff(r)
    falls, rises = int((steps < 0).sum()), int((steps > 0).sum())
    if falls == len(steps):
        return f"{what}, the ratio falls at every step as σ grows."
    if rises == len(steps):
        return f"{what}, the ratio rises at every step as σ grows."
    return (
        f"{what}, the ratio is not monotone in σ: it falls in {falls} and rises "
        f"in {rises} of the {len(steps)} steps as σ grows "
        f"(×{r[0]:,.1f} at the smallest σ, ×{r[-1]:,.1f} at the largest)."
    )
