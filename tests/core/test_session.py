"""The session's revisions: what a change invalidates, and what it leaves."""

from __future__ import annotations

import dataclasses

import numpy as np

from latentlab.core.analysis.group import summarize_group
from latentlab.core.latent import Codes, LatentSlice, pca_slice
from latentlab.core.session import Session, Side, model_scope, side_scope


def test_a_save_or_a_new_slice_keeps_the_model_scope(shapes):
    session = Session()
    session.set_side(0, Side(dataset=shapes))
    model_stamp = session.stamp(model_scope(0))
    side_stamp = session.stamp(side_scope(0))
    session.update_side(0, unsaved=True)
    session.update_side(0, latent_slice=LatentSlice(2))
    assert session.stamp(model_scope(0)) == model_stamp
    assert session.stamp(side_scope(0)) != side_stamp
    session.update_side(0, dataset=dataclasses.replace(shapes))  # other data
    assert session.stamp(model_scope(0)) != model_stamp
    assert session.stamp(model_scope(1)) == (0,), "the other side is untouched"


def test_a_groups_sigma_on_a_pca_plane_is_the_sd_along_each_axis(shapes):
    rng = np.random.default_rng(0)
    n = len(shapes.test_images)
    mu = rng.normal(size=(n, 5)).astype(np.float32) * np.arange(1, 6)
    sigma = rng.uniform(0.1, 0.5, size=(n, 5)).astype(np.float32)
    sl = pca_slice(mu)
    summary = summarize_group(
        np.arange(100),
        shapes.test_labels.numpy(),
        shapes.class_names,
        [("VAE (right)", Codes(mu, sigma), sl)],
    )
    (figures,) = summary.models
    axes = np.asarray(sl.axes)
    # Var(a·z) = Σ a_j² σ_j² for a diagonal Gaussian.
    expected = np.sqrt(sigma[:100].astype(np.float64) ** 2 @ (axes**2).T).mean(0)
    np.testing.assert_allclose(figures.mean_sigma, expected, rtol=1e-6)
    assert figures.axes_label == "(PC 1, PC 2)"
