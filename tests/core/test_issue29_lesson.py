"""Issue 29, item 6: the guided lesson. Every step sets the workspace up and
names its tab; every text is computed from the models on screen (each figure
in it checked against an independent computation here), and says what a step
needs when the model is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from latentlab.core.analysis.continuity import path_holes
from latentlab.core.analysis.posterior_texts import sigma_note
from latentlab.core.analysis.texts import pair
from latentlab.core.lesson import LESSON_PAIR, STEPS, Lesson
from latentlab.core.workspace import Workspace

MODELS = Path(__file__).resolve().parents[2] / "models"
TABS = ["planes", "rectangle", "eps", "gradient", "gradient", "gradient", "gradient"]


@pytest.fixture
def ws():
    ws = Workspace()
    ws.open(MODELS / "shapes-ae-2d.pt")
    ws.open(MODELS / "shapes-vae-2d.pt")
    return ws


def test_the_steps_follow_the_article_and_set_up_their_tab(ws):
    lesson = Lesson(ws)
    assert [s.tab for s in STEPS] == TABS
    assert [s.title[0] for s in STEPS] == [str(i) for i in range(1, 8)]
    for i in range(len(STEPS)):
        step = lesson.go(i)
        sel = ws.session.selection
        assert (sel.previous, sel.current) == LESSON_PAIR
        assert lesson.text(), step.key
    assert lesson.go(99).key == "why" and lesson.go(-5).key == "autoencoder"


def test_each_text_carries_the_numbers_of_the_models_shown(ws):
    lesson = Lesson(ws)
    ae, vae = ws.slots
    lesson.go(0)
    lo, hi = np.percentile(ae.codes.mu, [1, 99], axis=0)
    assert f"from {pair(lo)} to {pair(hi)}" in lesson.text()

    lesson.go(1)
    text = lesson.text()
    h_ae, h_vae = path_holes(ae.codes.mu).share, path_holes(vae.codes.mu).share
    assert f"AE {100 * h_ae:.1f} %" in text and f"VAE {100 * h_vae:.1f} %" in text
    if h_ae > h_vae:
        assert "the autoencoder has more of them" in text
    elif h_ae < h_vae:
        assert "the VAE has more of them" in text
    else:
        assert "they have as many" in text

    ws.session.set_sigma_scale(0, 4.0)
    lesson.go(2)  # back to the encoder's σ
    assert ws.session.posterior().samples.sigma[0] == pytest.approx(
        ws.session.posterior().sigma0[0]
    )
    assert sigma_note(vae.codes, float(vae.checkpoint.config.beta)) in lesson.text()

    lesson.go(3)
    assert "z.requires_grad = False" in lesson.text()
    assert "autograd returns no gradient" in lesson.text()

    lesson.go(4)
    s = ws.session.posterior().samples
    text = lesson.text()
    assert f"μ = {pair(s.mu)}" in text and f"ε = {pair(s.eps[0])}" in text
    np.testing.assert_allclose(s.z[0], s.mu + s.sigma * s.eps[0], rtol=1e-5)
    assert f"z = {pair(s.z[0])}" in text

    lesson.go(5)
    assert "measured when the tab shows it" in lesson.text()
    res = ws.result(ws.measure_gradient(0, 4))
    ratio = float(np.median(res.ratio))
    if ratio > 1:
        assert f"have {ratio:,.0f}× the variance of the reparameterization" in (
            lesson.text()
        )
    else:
        assert f"{1 / ratio:,.1f}× the variance of the score" in lesson.text()

    lesson.go(6)
    assert "when pressed" in lesson.text()


def test_a_step_says_which_model_it_needs():
    ws = Workspace()
    ws.open(MODELS / "shapes-ae-2d.pt")
    lesson = Lesson(ws)
    lesson.go(2)
    assert "needs a trained VAE" in lesson.text()
    lesson.go(0)
    assert "needs" not in lesson.text()


def test_the_vae_steps_use_the_vae_the_tabs_show():
    """Two VAEs of different sizes: steps 3 and 4 read the ε tab's VAE (the
    session's choice), not the first one open."""
    ws = Workspace()
    ws.open(MODELS / "mnist-vae-2d.pt")
    ws.open(MODELS / "mnist-vae-8d.pt")
    lesson = Lesson(ws)
    shown = ws.slots[ws.session.eps_vae()]
    lesson.go(2)
    assert sigma_note(shown.codes, float(shown.checkpoint.config.beta)) in lesson.text()
    lesson.go(3)
    assert "z.requires_grad = False" in lesson.text()
