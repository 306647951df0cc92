"""Issue 29, item 8: sentences shown as conclusions follow their numbers.

The σ-scan's summary says how the ratio moves with σ from the measured ratios
(it had stated "the score term grows as σ shrinks" whatever they were); the
ε tab's σ note compares σ with the codes' spread and reads the comparison
(it had stated what training and β do, for any model); an active-units count
says how many active dims carry almost no KL; the log p(x) − ELBO gap is an
estimate, with the effective sample size it rests on.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from latentlab.core.analysis.diagnostics_texts import WEAK_KL, gap_text, units_summary
from latentlab.core.analysis.gradient_texts import trend_text
from latentlab.core.analysis.likelihood import BoundTerms, LikelihoodReport
from latentlab.core.analysis.posterior_texts import sigma_note
from latentlab.core.latent import Codes

SIGMA = [0.1, 0.2, 0.4, 0.8]


def test_the_scan_trend_is_read_from_the_ratios():
    assert "falls at every step" in trend_text(SIGMA, [900, 300, 80, 20], "W")
    assert "rises at every step" in trend_text(SIGMA, [2, 3, 5, 9], "W")
    mixed = trend_text(SIGMA, [16.8, 30.4, 10.8, 12.5], "W")
    assert "not monotone" in mixed
    assert "falls in 1 and rises in 2 of the 3 steps" in mixed
    assert "×16.8 at the smallest σ, ×12.5 at the largest" in mixed
    # The order of the scan's points does not matter, only σ's.
    assert trend_text(SIGMA[::-1], [20, 80, 300, 900], "W") == trend_text(
        SIGMA, [900, 300, 80, 20], "W"
    )


def _codes(spread: float, sigma: float, n=500, d=2) -> Codes:
    rng = np.random.default_rng(0)
    mu = (rng.standard_normal((n, d)) * spread).astype(np.float32)
    return Codes(mu, np.full((n, d), sigma, np.float32))


def test_the_sigma_note_reads_its_numbers():
    narrow = sigma_note(_codes(1.3, 0.1), beta=1.0)
    wide = sigma_note(_codes(1.0, 1.2), beta=4.0)
    middle = sigma_note(_codes(1.0, 0.5), beta=1.0)
    assert "stay close to its own code" in narrow and "0.1 " in narrow
    assert "cover much of where other inputs are coded" in wide
    assert "β = 4" in wide
    assert "reach its neighbours' codes" in middle
    # No claim about training or β that holds whatever the numbers are.
    for text in (narrow, wide, middle):
        assert "shrinks" not in text and "keeps σ" not in text
    share = 0.1 / float(_codes(1.3, 0.1).mu.std(0).mean())
    assert f"{share:.0%} of the spread" in narrow


def _live(kl, threshold=0.01):
    kl = np.asarray(kl, float)
    active = kl > 0.005  # stands in for Var_x(E_q[z_d]) > threshold
    units = SimpleNamespace(
        n=1000,
        latent_dim=len(kl),
        kl_per_dim=kl,
        active=active,
        active_count=int(active.sum()),
        threshold=threshold,
    )
    return SimpleNamespace(units=units)


def test_active_units_say_how_many_carry_almost_no_kl():
    text = units_summary(_live([2.9, 2.7, 0.008, 0.016, 0.0001]), variational=True)
    assert "4 of 5 active" in text
    assert f"2 of the active carry under {WEAK_KL:g} nats of KL each" in text
    assert "(0.008–0.016)" in text
    strong = units_summary(_live([2.9, 2.7]), variational=True)
    assert "each active dim carries ≥ 2.700 nats" in strong
    ae = units_summary(_live([2.9, 2.7]), variational=False)
    assert "KL" not in ae and "Var_x(z_d)" in ae


def _report(median_ess):
    bound = BoundTerms(150.0, 152.0, 5.0, 16, 1000)
    return LikelihoodReport(
        -154.0,
        np.zeros(3),
        "importance sampling" if median_ess else "quadrature",
        bound,
        1.0,
        median_ess=median_ess,
        k=1000 if median_ess else None,
    )


def test_the_gap_is_labelled_an_estimate_with_its_ess():
    is_text = gap_text(_report(6.5))
    assert "≈ <b>3.000</b>" in is_text and "an estimate" in is_text
    assert "median ESS 6.5 of K = 1,000" in is_text and "biases it low" in is_text
    assert "ESS" not in gap_text(_report(None))
