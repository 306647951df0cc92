"""What the ε-resampling tab says about its numbers.

Each text is a pure function of the numbers shown beside it (the samples
``z = μ + σ ⊙ ε``, the σ multipliers, the test set's codes). No Qt: the tab
puts these strings in its labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.analysis.texts import dim_name, signed

if TYPE_CHECKING:
    import numpy.typing as npt

    from latentlab.core.latent import Codes, PosteriorSamples

# The equation's colours: μ, σ, ε, z.
MU_HTML, SIGMA_HTML, EPS_HTML, Z_HTML = "#c81414", "#a05a00", "#1e64ff", "#000"


def caption_text(
    count: int, fixed: bool, pixel_std: npt.ArrayLike | None = None
) -> str:
    """The sample grid's caption for ``count`` samples and the "Fixed ε" state;
    with ``pixel_std`` (the decoded samples' per-pixel s.d., ``(h, w)``), how
    much they differ, in pixel units (colour: each channel's s.d., ``(h, w, 3)``,
    said so)."""
    state = "  (fixed ε)" if fixed else "  (ε redrawn at every change)"
    text = f"{count} decoded samples z = μ + σ ⊙ ε" + state
    if pixel_std is not None and np.size(pixel_std):
        sd = np.asarray(pixel_std, np.float64)
        per = "per-pixel, per-channel (R, G, B)" if sd.ndim == 3 else "per-pixel"
        text += (
            f". They differ by a {per} s.d. of {sd.mean():.3f} on average, "
            f"{sd.max():.2f} at most (pixels in [0, 1])"
        )
    return text


def equation_html(
    samples: PosteriorSamples,
    scale: npt.NDArray[np.float32],
    dims: list[int],
    latent_dim: int,
    i: int,
) -> str:
    """The reparameterization with the numbers of sample ``i``, for the shown
    ``dims``; ``scale`` is the per-dim σ multiplier (σ = σ(x) · scale)."""
    s = samples
    rows = [
        f"<b>z = <span style='color:{MU_HTML}'>μ</span> + "
        f"<span style='color:{SIGMA_HTML}'>σ</span> ⊙ "
        f"<span style='color:{EPS_HTML}'>ε</span></b>"
        f"&nbsp;&nbsp;sample {i + 1} of {len(s.z)}"
    ]
    for d in dims:
        rows.append(
            f"{dim_name(d)} = <span style='color:{MU_HTML}'>{signed(s.mu[d])}</span>"
            f" + <span style='color:{SIGMA_HTML}'>{s.sigma[d]:.3f}</span> × "
            f"<span style='color:{EPS_HTML}'>{signed(s.eps[i, d])}</span> = "
            f"<b style='color:{Z_HTML}'>{signed(s.z[i, d])}</b>"
        )
    factors = ", ".join(f"{scale[d]:.2f}×" for d in dims)
    rows.append(
        f"<span style='color:#666'>σ = σ(x) · ({factors}); "
        "μ and σ carry the gradient, ε is a constant draw</span>"
    )
    others = latent_dim - len(dims)
    if others > 0:
        rows.append(
            f"<span style='color:#666'>The other {others} dims are sampled the "
            "same way; the plane shows the two chosen ones.</span>"
        )
    return "<br>".join(rows)


def sigma_note(codes: Codes, beta: float) -> str:
    """σ(x) against the spread of the codes, with this model's numbers; what
    the comparison says follows them (no claim that holds whatever they are)."""
    sigma = codes.sigma[np.isfinite(codes.sigma).all(1)]
    mu = codes.mu[np.isfinite(codes.mu).all(1)]
    if len(sigma) == 0 or len(mu) < 2:
        return ""
    mean_sigma = float(sigma.mean())
    spread = float(mu.std(0).mean())
    share = mean_sigma / spread if spread > 0 else float("inf")
    if share < 0.25:
        reading = (
            "narrow next to the codes' spread: one input's samples stay close "
            "to its own code"
        )
    elif share < 0.75:
        reading = (
            "a sizeable part of the codes' spread: one input's samples reach "
            "its neighbours' codes"
        )
    else:
        reading = (
            "as wide as the codes' spread or wider: one input's samples cover "
            "much of where other inputs are coded"
        )
    return (
        f"Mean σ(x) over the test set: {mean_sigma:.3g} (the prior's σ is 1; this "
        f"model's β = {beta:g}), against a spread of the codes (s.d. of μ(x)) of "
        f"{spread:.3g}: σ is {share:.0%} of the spread, {reading}."
        + (
            " To compare another β: models/mnist-vae-2d-beta4.pt (β = 4)."
            if beta < 4
            else ""
        )
    )
