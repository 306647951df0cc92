"""The many-pairs statistics: reproducible, and the latent-density ratio reads
about 1 inside the codes and much more than 1 across a gap."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.core.analysis.pair_statistics import (
    density_ratio,
    jump_ratios,
    knn_mean_distance,
    many_pairs,
    percentile_rank,
    random_pairs,
    typical_knn_distance,
)
from latentlab.core.smoothness import strip_smoothness


def run(gen):
    try:
        while True:
            next(gen)
    except StopIteration as done:
        return done.value


def two_clusters(n=2000, gap=6.0, seed=0):
    rng = np.random.default_rng(seed)
    left = rng.normal(size=(n // 2, 2)) * 0.5 + [-gap / 2, 0]
    right = rng.normal(size=(n // 2, 2)) * 0.5 + [gap / 2, 0]
    return np.concatenate([left, right])


def test_knn_distance_matches_brute_force():
    rng = np.random.default_rng(1)
    refs, queries = rng.normal(size=(300, 3)), rng.normal(size=(40, 3))
    d = np.linalg.norm(queries[:, None] - refs[None], axis=2)
    brute = np.sort(d, 1)[:, :5].mean(1)
    np.testing.assert_allclose(knn_mean_distance(queries, refs, 5), brute, rtol=1e-9)
    own = np.sort(np.linalg.norm(refs[:, None] - refs[None], axis=2), 1)[:, 1:6]
    np.testing.assert_allclose(
        knn_mean_distance(refs, refs, 5, exclude_self=True), own.mean(1), rtol=1e-9
    )


def test_density_ratio_is_one_inside_the_codes_and_large_across_a_gap():
    codes = two_clusters()
    typical = typical_knn_distance(codes, 10)
    inside = np.linspace([-3.2, 0.0], [-2.8, 0.0], 12)  # within the left cluster
    across = np.linspace([-3.0, 0.0], [3.0, 0.0], 12)  # from one cluster to the other
    r_in = density_ratio(inside, codes, 10, typical)
    r_across = density_ratio(across, codes, 10, typical)
    assert 0.5 < r_in.max() < 2.0
    assert r_across[1:-1].max() > 10.0


def test_jump_ratio_is_the_strips_largest_over_mean_step():
    rng = np.random.default_rng(2)
    images = rng.random((5, 12, 28, 28)).astype(np.float32)
    for strip, ratio in zip(images, jump_ratios(images), strict=True):
        assert ratio == pytest.approx(strip_smoothness(strip).jump_ratio)


def test_random_pairs_are_reproducible_and_never_the_same_image():
    a, b = random_pairs(100, 500, seed=3), random_pairs(100, 500, seed=3)
    np.testing.assert_array_equal(a, b)
    assert (a[:, 0] != a[:, 1]).all()
    assert not np.array_equal(a, random_pairs(100, 500, seed=4))


def test_many_pairs_is_reproducible_with_a_seed(shapes):
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.qt.app import MODELS_DIR

    models = [
        (kind.upper(), load_checkpoint(MODELS_DIR / f"shapes-{kind}-2d.pt").model)
        for kind in ("ae", "vae")
    ]
    first = run(many_pairs(models, shapes, n_pairs=40, seed=5))
    second = run(many_pairs(models, shapes, n_pairs=40, seed=5))
    for kind in ("AE", "VAE"):
        for name in ("jump_ratio", "density_ratio"):
            np.testing.assert_array_equal(
                first.populations[kind].figure(name),
                second.populations[kind].figure(name),
            )
    assert first.n == 40
    share = first.fraction_worse("jump_ratio")
    ae, vae = first.populations["AE"].jump_ratio, first.populations["VAE"].jump_ratio
    assert share == pytest.approx(float((ae > vae).mean()))
    assert percentile_rank(np.median(ae), ae) == pytest.approx(0.5, abs=0.05)


def test_a_less_confident_path_counts_as_worse_for_realism():
    from latentlab.core.analysis.pair_statistics import ManyPairs, PairPopulation

    ae, vae = np.array([0.9, 0.8, 0.1]), np.array([0.5, 0.5, 0.5])
    stats = ManyPairs(
        np.zeros((3, 2), np.int64),
        12,
        10,
        0,
        {
            "AE": PairPopulation("AE", ae, ae, ae),
            "VAE": PairPopulation("VAE", vae, vae, vae),
        },
        0.9,
    )
    assert stats.fraction_worse("jump_ratio") == pytest.approx(2 / 3)  # larger
    assert stats.fraction_worse("realism") == pytest.approx(1 / 3)  # smaller


def test_the_classifier_is_sure_of_real_digits_and_not_of_noise(mnist):
    from latentlab.core.analysis.realism import confidence, train_classifier

    clf = train_classifier(mnist, seed=0)
    assert clf.test_accuracy > 0.85
    real = confidence(clf, mnist.test_images[:200].numpy() / 255.0)
    flat = confidence(clf, np.full((200, 28, 28), 0.15, np.float32))
    assert np.median(real) > 0.9
    assert np.median(real) > np.median(flat) + 0.2
