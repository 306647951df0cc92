"""A guided lesson through the article, driven through the workspace.

Each :class:`LessonStep` follows one section of the article in order — the
autoencoder; its problem; what a VAE learns; why sampling blocks the gradient;
the trick; implementing it; why it works — and has two parts:

- ``setup(ws)`` puts the workspace where the section is seen (the pair of
  inputs, the σ scale), and names the tab to show (the window switches to it);
- ``text(ws)`` says what to look at, with the numbers of the models on screen,
  computed when the step is shown: every comparison in it follows its numbers
  (a claim that would hold whatever they are is not written).

:class:`Lesson` holds the position; its ``step`` index is all there is to
remember between sessions (the window keeps it in its settings). No Qt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from latentlab.core.analysis.texts import pair

if TYPE_CHECKING:
    from collections.abc import Callable

    from latentlab.core.session_state import Side
    from latentlab.core.workspace import Workspace

LESSON_PAIR = (0, 100)  # two test inputs of different classes on the shipped data


@dataclass(frozen=True, slots=True)
class LessonStep:
    """One section: its title, the tab it shows, its setup and its text."""

    key: str
    title: str
    tab: str
    setup: Callable[[Workspace], None]
    text: Callable[[Workspace], str]


def _model(ws: Workspace, kind: str) -> tuple[int, Side] | None:
    for i, s in enumerate(ws.slots):
        if s.ready and s.kind == kind:
            return i, s
    return None


def _needs(kind: str) -> str:
    return (
        f"This step needs a trained {kind} with its test images: open one "
        "(File ▸ Open) or train a pair (Train ▸ Train AE + VAE)."
    )


def _pick(ws: Workspace) -> None:
    for _, s in [m for m in (_model(ws, "AE"), _model(ws, "VAE")) if m]:
        n = len(s.dataset.test_images)
        a, b = LESSON_PAIR
        if max(a, b) < n:
            ws.pick_pair(a, b)
        else:
            ws.pick_pair(0, n - 1)
        return


def _unscaled(ws: Workspace) -> None:
    vae = ws.session.eps_vae()
    if vae is not None:
        for d in range(ws.slots[vae].latent_slice.latent_dim):
            ws.session.set_sigma_scale(d, 1.0)
    _pick(ws)


# --- the sections ----------------------------------------------------------------


def _autoencoder(ws: Workspace) -> str:
    found = _model(ws, "AE")
    if found is None:
        return _needs("autoencoder")
    _, ae = found
    mu = ae.codes.mu
    lo, hi = np.percentile(mu, [1, 99], axis=0)
    return (
        f"An autoencoder squeezes each image into a code z of "
        f"{ae.latent_slice.latent_dim} numbers and decodes it back. The left plane "
        f"shows the {len(mu):,} test images' codes: from {pair(lo)} to {pair(hi)} "
        "(1st to 99th percentile per dim), coloured by label, over the decodes of "
        "every point of the plane. Click anywhere on it to decode that z."
    )


def _problem(ws: Workspace) -> str:
    from latentlab.core.analysis.continuity import path_holes

    models = [m for m in (_model(ws, "AE"), _model(ws, "VAE")) if m]
    if not models:
        return _needs("autoencoder")
    holes = {s.kind: path_holes(s.codes.mu) for _, s in models}
    parts = [f"{k} {100 * h.share:.1f} %" for k, h in holes.items()]
    text = (
        "Decode the codes between two inputs: the A–B rectangle tab decodes the "
        "rectangle their codes span, each cell framed green where it looks like "
        "data. Points on paths between random pairs of codes that fall where the "
        "codes are far sparser than their own Gaussian (holes on paths): "
        + ", ".join(parts)
        + "."
    )
    if "AE" in holes and "VAE" in holes:
        ae, vae = holes["AE"].share, holes["VAE"].share
        if ae > vae:
            text += " Here the autoencoder has more of them: its space has holes."
        elif ae < vae:
            text += " Here the VAE has more of them: not what the article expects."
        else:
            text += " Here they have as many: one pair of models shows no difference."
    return text


def _eps_vae(ws: Workspace) -> Side | None:
    """The VAE the ε and Gradient path tabs show (the session's choice)."""
    slot = ws.session.eps_vae()
    return None if slot is None else ws.slots[slot]


def _vae_learns(ws: Workspace) -> str:
    from latentlab.core.analysis.posterior_texts import sigma_note

    vae = _eps_vae(ws)
    if vae is None:
        return _needs("VAE")
    beta = float(vae.checkpoint.config.beta)
    return (
        "A VAE's encoder gives each input a distribution q(z|x) = N(μ(x), σ(x)²), "
        "not a point: the ellipses show μ and σ, the dots samples from it, the "
        "tiles their decodes. " + sigma_note(vae.codes, beta)
    )


def _blocks(ws: Workspace) -> str:
    from latentlab.core.analysis.identity import log_likelihood_of, without_the_trick

    vae = _eps_vae(ws)
    post = ws.session.posterior()
    if vae is None or post is None:
        return _needs("VAE")
    f = log_likelihood_of(vae.model, vae.dataset.test_images[post.index])
    res = without_the_trick(f, post.samples.mu, post.samples.sigma, 64, seed=0)
    said = (
        "no gradient"
        if res.grad_mu is None and res.grad_sigma is None
        else ("a gradient")
    )
    return (
        "Training needs ∂/∂μ and ∂/∂σ of E_q[log p(x|z)]. Drawn directly, "
        f"z = Normal(μ, σ).sample() for input #{post.index} gives "
        f"z.requires_grad = {res.z_requires_grad}, and autograd returns {said} for "
        "μ and σ: the draw cuts the path from the decoder back to the encoder."
    )


def _trick(ws: Workspace) -> str:
    post = ws.session.posterior()
    if post is None:
        return _needs("VAE")
    s = post.samples
    return (
        "Write the draw as z = μ + σ ⊙ ε with ε ~ N(0, I) drawn on its own: "
        f"for input #{post.index}, μ = {pair(s.mu)}, σ = {pair(s.sigma)}, and the "
        f"first draw ε = {pair(s.eps[0])} gives z = {pair(s.z[0])}. Now "
        "∂z/∂μ = 1 and ∂z/∂σ = ε: the diagram's red path runs from log p(x|z) "
        "back through z to μ and σ, and ε stays off it."
    )


def _implementing(ws: Workspace) -> str:
    res = ws.result("gradient.variance")
    text = (
        "In code it is one line, mu + sigma * eps, and autograd does the rest; the "
        "table lists each sample's ∂z/∂μ, ∂z/∂σ and gradients of log p(x|z). "
    )
    if res is None:
        return text + "The variance plot is measured when the tab shows it."
    ratio = float(np.median(res.ratio))
    if ratio > 1:
        return text + (
            "Measured: the score function's estimates (no baseline) have "
            f"{ratio:,.0f}× the variance of the reparameterization's (median over "
            "the sample sizes S)."
        )
    return text + (
        f"Measured: here the reparameterization's estimates have {1 / ratio:,.1f}× "
        "the variance of the score function's (median over S): not what the "
        "article expects."
    )


def _why(ws: Workspace) -> str:

    res = ws.result("gradient.identity")
    text = (
        "It works because the expectation moves outside the derivative: "
        "∇ E_q[f(z)] = E_ε[∇ f(μ + σ ⊙ ε)]. Check the identity measures both "
        "sides independently, "
    )
    if res is None:
        return text + "for this input, when pressed."
    verdict = res.check.verdict
    return (
        text
        + "and here: "
        + verdict.text([f"c{i}" for i in range(len(res.check.lhs))]).replace(
            "two estimators", "two sides"
        )
    )


STEPS: tuple[LessonStep, ...] = (
    LessonStep("autoencoder", "1. The autoencoder", "planes", _pick, _autoencoder),
    LessonStep("problem", "2. Its problem: holes", "rectangle", _pick, _problem),
    LessonStep("vae", "3. What a VAE learns: μ and σ", "eps", _unscaled, _vae_learns),
    LessonStep("blocks", "4. Sampling blocks the gradient", "gradient", _pick, _blocks),
    LessonStep("trick", "5. The trick", "gradient", _pick, _trick),
    LessonStep("code", "6. Implementing it", "gradient", _pick, _implementing),
    LessonStep("why", "7. Why it works", "gradient", _pick, _why),
)


class Lesson:
    """The lesson's position over :data:`STEPS`, driving a workspace.

    >>> from latentlab.core.workspace import Workspace
    >>> ws = Workspace()
    >>> ws.open("models/shapes-ae-2d.pt"); ws.open("models/shapes-vae-2d.pt")
    0
    1
    >>> lesson = Lesson(ws)
    >>> lesson.go(0).tab
    'planes'
    """

    def __init__(self, ws: Workspace, step: int = 0) -> None:
        self.ws = ws
        self.step = max(0, min(int(step), len(STEPS) - 1))

    @property
    def current(self) -> LessonStep:
        """The step shown."""
        return STEPS[self.step]

    def go(self, step: int) -> LessonStep:
        """Move to ``step`` (clamped) and set the workspace up for it."""
        self.step = max(0, min(int(step), len(STEPS) - 1))
        self.current.setup(self.ws)
        return self.current

    def text(self) -> str:
        """The current step's text, from the numbers on screen now."""
        return self.current.text(self.ws)
