"""Issue 29, item 4: training without the trick. Both runs start from the same
weights and see the same batches; only the encoder's gradient of the
reconstruction term differs (the score function with baseline log p(x|μ)),
the KL in closed form in both; each epoch reports both test −ELBOs by one
estimator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.core.analysis.without_trick import (
    TrickCurves,
    TrickStep,
    train_without_trick,
)
from latentlab.core.errors import ConfigError


def _small(shapes, n=800):
    return dataclasses.replace(
        shapes,
        train_images=shapes.train_images[:n],
        train_labels=shapes.train_labels[:n],
    )


def test_both_runs_report_every_epoch(shapes):
    events = []
    run = train_without_trick(_small(shapes), epochs=2, test_images=300, report_every=2)
    while True:
        try:
            events.append(next(run))
        except StopIteration as done:
            curves = done.value
            break
    steps = [e for e in events if isinstance(e, TrickStep)]
    ends = [e for e in events if isinstance(e, TrickCurves)]
    assert len(ends) == 2 and curves.epochs == [1, 2]
    assert steps[-1].step == steps[-1].total == 2 * 7  # 800 images, batches of 128
    assert all(np.isfinite(e.train).all() for e in steps)
    for k in (0, 1):
        assert len(curves.test[k]) == len(curves.train[k]) == 2
        assert all(np.isfinite(curves.test[k]))
    rep, score = curves.test[0][-1], curves.test[1][-1]
    text = curves.summary()
    assert (
        f"reparameterized {rep:.1f}" in text and f"score function {score:.1f}" in text
    )
    assert ("reparameterized run is lower" in text) == (rep < score)


def test_the_score_run_gives_the_encoder_no_path_through_z(shapes, monkeypatch):
    """The first step from one start: the decoders get the same gradient
    (they see the same z), the encoders different ones (path vs score)."""
    from latentlab.core.analysis import without_trick

    grads = []
    real_step = torch.optim.Adam.step

    def record(self, *args, **kwargs):
        grads.append(
            {
                id(p): p.grad.detach().clone()
                for g in self.param_groups
                for p in g["params"]
            }
        )
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", record)
    run = without_trick.train_without_trick(
        _small(shapes, 128), epochs=1, test_images=50, report_every=1
    )
    next(run)  # one step: both runs stepped once
    run.close()
    rep, score = (list(g.values()) for g in grads[:2])
    # The optimiser's parameters are the model's, in its order.
    from latentlab.core.config import ModelConfig
    from latentlab.core.training_setup import new_model

    cfg = ModelConfig(
        kind="vae", latent_dim=2, hidden=(512, 256), image_shape=shapes.image_shape
    )
    names = [n for n, _ in new_model(cfg).named_parameters()]
    for name, a, b in zip(names, rep, score, strict=True):
        if name.startswith("decoder"):
            torch.testing.assert_close(a, b)
    head = names.index("head.weight")
    assert not torch.allclose(rep[head], score[head])


def test_bad_epochs_are_refused(shapes):
    with pytest.raises(ConfigError, match="epochs"):
        next(train_without_trick(shapes, epochs=0))


def test_the_command_prints_both_curves(capsys):
    code = main(["trick", "--dataset", "shapes", "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "epoch1_test_neg_elbo_reparam" in out and "epoch1_test_neg_elbo_score" in out
    assert "# after 1 epoch, test −ELBO" in out


def test_the_summary_says_level_or_diverged_rather_than_a_winner():
    curves = TrickCurves([1], ([200.04], [200.01]), ([210.0], [210.0]))
    assert curves.summary().endswith("the two runs are level")
    curves = TrickCurves([1], ([200.0], [float("nan")]), ([210.0], [210.0]))
    assert "cannot be compared" in curves.summary()
