"""Issue 29, item 3: the claim over several trained pairs. Each seed's pair is
trained from its own seed (weights and batch order), cached, measured the same
way; the figures come as mean ± sd, and the findings say where the AE was not
worse as plainly as where it was."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.cli import main
from latentlab.core.analysis.seed_study import (
    FIGURES,
    SeedPair,
    SeedStudy,
    seed_study,
    trained_pair,
)
from latentlab.core.errors import ConfigError

from .test_cli_evaluate import parse


def _run(gen):
    try:
        while True:
            next(gen)
    except StopIteration as done:
        return done.value


def _study(rows) -> SeedStudy:
    study = SeedStudy("x", 100, 50, 2, 3, 200)
    for seed, row in enumerate(rows):
        study.seeds.append(SeedPair(seed, dict(zip(FIGURES, row, strict=True))))
    return study


def test_the_findings_follow_the_numbers():
    # path holes AE, VAE, then % of pairs where the AE is worse, per seed.
    mixed = _study(
        [
            (2.0, 0.0, 80, 40, 30),
            (1.0, 3.0, 70, 60, 45),
            (4.0, 1.0, 75, 55, 20),
        ]
    )
    ae_m, ae_s = mixed.mean_sd("path_hole_share_ae")
    assert (ae_m, ae_s) == pytest.approx((7 / 3, np.std([2, 1, 4], ddof=1)))
    lines = mixed.findings()
    assert "the AE has more in 2 of 3 seeds, not more in 1." in lines[0]
    assert "jumps more" in lines[1] and "worse in all 3 seeds" in lines[1]
    assert "worse in 2 of 3 seeds; not worse in 1" in lines[2]
    assert "worse in 0 of 3 seeds; not worse in 3" in lines[3]
    better = _study([(0.0, 1.0, 20, 10, 5), (0.0, 2.0, 30, 15, 5)])
    assert "the AE has more in 0 of 2 seeds, not more in 2." in better.findings()[0]


def test_pairs_differ_by_seed_and_are_cached(shapes, tmp_path):
    small = _small(shapes)
    ae0, vae0 = _run(trained_pair(small, seed=0, epochs=1, cache_dir=tmp_path))
    ae1, _ = _run(trained_pair(small, seed=1, epochs=1, cache_dir=tmp_path))
    w0, w1 = ae0.head.weight.detach(), ae1.head.weight.detach()
    assert not np.allclose(w0.numpy(), w1.numpy())
    assert len(list(tmp_path.glob("*.pt"))) == 4
    again, _ = _run(trained_pair(small, seed=0, epochs=1, cache_dir=tmp_path))
    np.testing.assert_array_equal(again.head.weight.detach().numpy(), w0.numpy())
    assert vae0.variational and not ae0.variational


def _small(shapes):
    import dataclasses

    return dataclasses.replace(
        shapes,
        train_images=shapes.train_images[:600],
        train_labels=shapes.train_labels[:600],
    )


def test_a_study_needs_two_seeds(shapes):
    with pytest.raises(ConfigError, match="at least 2 seeds"):
        _run(seed_study(shapes, seeds=(0,)))


def test_the_command_prints_every_figure_per_seed_and_their_spread(tmp_path, capsys):
    # Two seeds, one epoch each on the shapes set: the command end to end.
    code = main(
        [
            "seeds",
            "--dataset",
            "shapes",
            "--seeds",
            "2",
            "--epochs",
            "1",
            "--pairs",
            "20",
            "--cache",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    lines = parse(out)
    for name in FIGURES:
        for seed in (0, 1):
            assert f"seed{seed}_{name}" in lines
    mean = lines["path_hole_share_ae"]
    assert mean[1].startswith("±")  # "x.xx ± y.yy %"
    findings = [line for line in out.splitlines() if line.startswith("# ")]
    assert any("Holes on paths" in line for line in findings)
    assert len(list(tmp_path.glob("*.pt"))) == 4
