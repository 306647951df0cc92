"""The selected group: the region test, its figures, and the session's field."""

from __future__ import annotations

import numpy as np

from latentlab.core.analysis.group import (
    group_figures_text,
    group_title,
    points_in_polygon,
    rect_polygon,
    summarize_group,
)
from latentlab.core.data import make_shapes
from latentlab.core.latent import Codes, LatentSlice
from latentlab.core.session import Session, Side


def test_rectangle_selects_exactly_the_points_inside() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(-3, 3, (5000, 2)).astype(np.float32)
    poly = rect_polygon(1.0, 0.5, -1.0, -2.0)  # corners in any order
    want = (np.abs(xy[:, 0]) < 1.0) & (xy[:, 1] > -2.0) & (xy[:, 1] < 0.5)
    assert np.array_equal(points_in_polygon(xy, poly), want)


def test_concave_lasso_and_degenerate_polygons() -> None:
    xy = np.array([(0.5, 0.5), (1.5, 1.0), (0.5, 1.5), (2.5, 1.0), (np.nan, 1.0)])
    # A "C": the square (0, 0)-(2, 2) minus the notch x > 1, 0.8 < y < 1.2.
    c = [(0, 0), (2, 0), (2, 0.8), (1, 0.8), (1, 1.2), (2, 1.2), (2, 2), (0, 2)]
    assert points_in_polygon(xy, c).tolist() == [True, False, True, False, False]
    assert not points_in_polygon(xy, [(0, 0), (2, 2)]).any()
    assert points_in_polygon(np.zeros((0, 2)), c).shape == (0,)


def test_summary_counts_labels_and_gives_mean_and_spread() -> None:
    labels = np.array([0, 1, 1, 2, 0, 1])
    mu = np.arange(12, dtype=np.float32).reshape(6, 2)
    sigma = np.full((6, 2), 0.5, np.float32)
    models = [
        ("AE (left)", Codes(mu, None), LatentSlice()),
        ("VAE (right)", Codes(mu * 2, sigma), LatentSlice()),
    ]
    s = summarize_group([1, 2, 4, 99], labels, ("a", "b", "c"), models)
    assert s.count == 3 and s.counts == (1, 2, 0)
    ae, vae = s.models
    np.testing.assert_allclose(ae.mean, mu[[1, 2, 4]].mean(0))
    np.testing.assert_allclose(ae.spread, mu[[1, 2, 4]].std(0))
    assert ae.mean_sigma is None and vae.mean_sigma == (0.5, 0.5)
    assert group_title(s) == "Selection: 3 test images · 2 classes"
    lines = group_figures_text(s)
    assert lines[0].startswith("AE (left): mean (z1, z2) = (4.67, 5.67)")
    assert "mean σ = (0.50, 0.50)" in lines[1]


def test_session_group_events_scope_and_reset() -> None:
    data = make_shapes(n_train=16, n_test=20, seed=1)
    other = make_shapes(n_train=16, n_test=30, seed=1)
    session = Session()
    session.set_side(0, Side(dataset=data))
    seen = []
    session.groupChanged.connect(lambda: seen.append(session.group))
    stamp = session.stamp("group")
    session.set_group([3, 1, 1, 500], data)
    assert session.group == {1, 3} and seen == [{1, 3}]
    assert not session.is_current(("group",), stamp)
    session.set_group([1, 3], data)  # the same: no event
    assert len(seen) == 1
    session.set_side(0, Side(dataset=other))  # no side shows those images now
    assert session.group is None and seen[-1] is None
    session.set_group([], other)
    session.clear_group()
    assert len(seen) == 2
