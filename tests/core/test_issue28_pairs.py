"""Issue 28, item 9: "Over many pairs" shows its progress from the first pair
and the time it will take; the figures are those of the whole computation."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.core.analysis import realism
from latentlab.core.analysis.continuity import whitening
from latentlab.core.analysis.interpolation_texts import (
    duration,
    measured_text,
    progress_text,
)
from latentlab.core.analysis.pair_statistics import (
    CLASSIFIER_SEED,
    PAIRS_PER_CHUNK,
    PairsProgress,
    WorkClock,
    density_ratio,
    jump_ratios,
    many_pairs,
    typical_knn_distance,
)
from latentlab.core.latent import decode_codes, encode_images


def collect(gen):
    """The generator's yields and its value."""
    items = []
    while True:
        try:
            items.append(next(gen))
        except StopIteration as done:
            return items, done.value


@pytest.fixture(scope="module")
def models():
    from latentlab.core.checkpoints import load_checkpoint
    from latentlab.qt.app import MODELS_DIR

    return [
        (kind.upper(), load_checkpoint(MODELS_DIR / f"shapes-{kind}-2d.pt").model)
        for kind in ("ae", "vae")
    ]


@pytest.fixture
def fresh_classifiers():
    """No classifier trained yet (as at the first run on a data set)."""
    saved = dict(realism._CACHE)
    realism._CACHE.clear()
    yield
    realism._CACHE.clear()
    realism._CACHE.update(saved)


def test_progress_starts_with_the_pairs_and_runs_to_the_end(
    models, shapes, fresh_classifiers
):
    items, stats = collect(many_pairs(models, shapes, n_pairs=40, steps=6, seed=3))
    assert all(isinstance(p, PairsProgress) for p in items)
    stages = [p.stage for p in items]
    # The pairs are measured (and counted) before the classifier is trained,
    # so the bar moves from the first pair on, not after the classifier: of
    # the classifier, only its set-up and its first steps (to time it) come
    # first.
    first_pair = stages.index("pairs")
    last_pair = len(stages) - 1 - stages[::-1].index("pairs")
    assert stages[:first_pair].count("classifier") == 2
    assert [p.done for p in items[:first_pair] if p.stage == "classifier"] == [0, 20]
    assert stages[last_pair + 1] == "classifier"
    assert stages[first_pair:last_pair].count("classifier") == 0
    assert items[first_pair].done == PAIRS_PER_CHUNK
    assert items[first_pair].fraction > 0
    pairs = [(p.model, p.done) for p in items if p.stage == "pairs"]
    assert pairs == [
        (kind, n) for kind in ("AE", "VAE") for n in range(10, 41, PAIRS_PER_CHUNK)
    ]
    steps = [p for p in items if p.stage == "classifier"]
    assert steps[-1].total == realism.classifier_steps(shapes)
    assert len(steps) >= steps[-1].total // 20  # every 20 steps, a yield
    fractions = [p.fraction for p in items]
    assert fractions == sorted(fractions)
    assert fractions[-1] > 0.97
    elapsed = [p.elapsed_s for p in items]
    assert elapsed == sorted(elapsed)
    assert stats.n == 40 and stats.classifier_accuracy is not None


def test_the_figures_are_those_of_the_whole_computation(models, shapes):
    stats = collect(many_pairs(models, shapes, n_pairs=25, steps=7, seed=4))[1]
    clf = realism.train_classifier(shapes, seed=CLASSIFIER_SEED)
    t = np.linspace(0.0, 1.0, 7, dtype=np.float32)[None, :, None]
    for kind, model in models:
        train = encode_images(model, shapes.train_images).mu
        test = encode_images(model, shapes.test_images).mu
        a, b = test[stats.pairs[:, 0]], test[stats.pairs[:, 1]]
        flat = ((1 - t) * a[:, None] + t * b[:, None]).reshape(-1, 2)
        images = decode_codes(model, flat).reshape(25, 7, -1)
        # The density ratio is measured in the whitened latent (issue 29).
        white = whitening(train)
        typical = typical_knn_distance(white(train), 10, seed=4)
        ratio = density_ratio(white(flat), white(train), 10, typical).reshape(25, 7)
        sure = realism.confidence(clf, images.reshape(-1, 28, 28))
        pop = stats.populations[kind]
        np.testing.assert_allclose(pop.jump_ratio, jump_ratios(images), rtol=1e-6)
        np.testing.assert_allclose(pop.density_ratio, ratio[:, 1:-1].max(1), rtol=1e-9)
        np.testing.assert_allclose(
            pop.realism, sure.reshape(25, 7)[:, 1:-1].min(1), rtol=1e-6
        )


def test_the_classifier_is_trained_once_per_data_set(models, shapes):
    collect(many_pairs(models, shapes, n_pairs=20, seed=0))
    # The view draws new pairs with the next seed: the classifier is the same
    # instrument, not trained again.
    items, stats = collect(many_pairs(models, shapes, n_pairs=20, seed=1))
    assert "classifier" not in {p.stage for p in items}
    trained = realism.cached_classifier(shapes, seed=CLASSIFIER_SEED)
    assert stats.classifier_accuracy == trained.test_accuracy
    assert items[-1].fraction == pytest.approx(1.0)


def test_the_time_left_is_each_stages_measured_rate():
    clock = WorkClock({"pairs": 100.0, "classifier": 300.0}, start=0.0)
    assert clock.remaining(0.2) is None  # no rate yet
    clock.advance("pairs", 100.0, now=10.0)  # 0.1 s a unit
    # The classifier has not begun: at the job's rate so far.
    assert clock.remaining(10.0) == pytest.approx(30.0)
    clock.advance("classifier", 30.0, now=13.0)  # its own rate: 0.1 s a unit
    assert clock.remaining(13.0) == pytest.approx(27.0)
    clock.advance("classifier", 30.0, now=14.5)  # faster: 0.075 s a unit
    assert clock.remaining(14.5) == pytest.approx(240 * 4.5 / 60)
    clock.advance("classifier", 0.0, now=20.0)  # set-up time: not its rate
    assert clock.remaining(20.0) == pytest.approx(240 * 4.5 / 60)
    assert clock.fraction == pytest.approx(160 / 400)

    p = PairsProgress("pairs", "AE", 40, 200, 0.25, 30.0, remaining_s=90.0)
    text = progress_text(p)
    assert text == "AE: pair 40 of 200 measured · 25% · about 1:30 left"
    early = progress_text(PairsProgress("classifier", "", 20, 3752, 0.001, 0.2))
    assert "step 20 of 3,752" in early and "estimating time left" in early
    assert duration(3725) == "1:02:05"


def test_the_time_left_is_given_from_the_first_pair(models, shapes):
    items, _ = collect(many_pairs(models, shapes, n_pairs=40, steps=6, seed=3))
    for p in items:
        if p.elapsed_s >= 0.5 and p.fraction >= 0.01:
            assert p.remaining_s is not None and p.remaining_s >= 0
    assert items[-1].remaining_s == pytest.approx(0.0, abs=0.5)


def test_the_measured_bar_says_how_long_it_took(models, shapes):
    stats = collect(many_pairs(models, shapes, n_pairs=20, seed=0))[1]
    assert measured_text(stats, 95.4) == "20 pairs measured in 1:35"
    assert measured_text(stats, None) == "20 pairs measured"
