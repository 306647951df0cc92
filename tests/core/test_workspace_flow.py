"""The whole flow through the workspace, without Qt: open two shipped
checkpoints, decode a point in both, pick two test images, compute the
interpolation and gradient analyses, train an AE+VAE pair on the embedded
shapes for one epoch, save it and reopen it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from latentlab.core.analysis.interpolation import interpolation_strips
from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.workspace import TrainSpec, Workspace

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


def _events(ws: Workspace, name: str) -> list[tuple]:
    got: list[tuple] = []
    getattr(ws, name).connect(lambda *args: got.append(args))
    return got


def test_open_decode_pick_analyse_train_save_reopen(tmp_path):
    ws = Workspace()
    opened = _events(ws, "opened")
    decoded = _events(ws, "decoded")
    results = _events(ws, "resultChanged")

    assert ws.open(MODELS / "shapes-ae-2d.pt", slot=0) == 0
    assert ws.open(MODELS / "shapes-vae-2d.pt") == 1  # the first empty slot
    assert [s.kind for s in ws.slots] == ["AE", "VAE"]
    assert [int(o[0]) for o in opened] == [0, 1]
    assert all(s.ready for s in ws.slots)

    # A point decodes in both models, as their own decoders decode it.
    ws.decode(0.5, -0.25)
    assert sorted(d[0] for d in decoded) == [0, 1]
    for slot, got in decoded:
        model = ws.slots[slot].model
        with torch.no_grad():
            want = model.decode(torch.tensor([[0.5, -0.25]])).reshape(-1).numpy()
        np.testing.assert_allclose(got.image.reshape(-1), want, atol=1e-5)

    ws.pick_pair(3, 17)
    sel = ws.session.selection
    assert (sel.previous, sel.current) == (3, 17)

    # Interpolation: stored with its inputs, equal to a direct computation.
    key = ws.interpolate(steps=6)
    strips = ws.result(key)
    data = ws.slots[1].dataset
    direct = interpolation_strips(
        [("AE", ws.slots[0].model), ("VAE", ws.slots[1].model)],
        data.test_images[3],
        data.test_images[17],
        6,
        data.train_images,
    )
    assert [r.kind for r in strips] == ["AE", "VAE"]
    for got, want in zip(strips, direct, strict=True):
        np.testing.assert_allclose(got.images, want.images, atol=1e-6)
    assert ws.results[key].inputs[:3] == ("side0", "side1", "selection")

    # The gradient path: the table and both estimators' variances.
    table_key = ws.gradient_table()
    variance_key = ws.measure_gradient(seed=1, repeats=4)
    table, variance = ws.result(table_key), ws.result(variance_key)
    assert table is not None and variance is not None
    # dz/dσ through z = μ + σ ⊙ ε is ε itself, sample by sample.
    np.testing.assert_allclose(table.dz_dsigma, ws.session.eps.eps, atol=1e-6)
    assert table.dlogp_dmu.shape == ws.session.eps.eps.shape
    assert (key,) in results and (variance_key,) in results

    # A new pick makes both stale; ε alone leaves the variance current.
    ws.set_eps(resample=True)
    assert ws.result(table_key) is None
    assert ws.result(variance_key) is variance
    ws.pick(5)
    assert ws.result(key) is None and ws.result(variance_key) is None

    # Train an AE+VAE pair on the shapes for one epoch, into the two slots.
    finished = _events(ws, "trainingFinished")
    epochs = _events(ws, "trainingEpoch")
    ws.train(TrainSpec(dataset="shapes", epochs=1, batch_size=64))
    assert finished == [("done",)]
    assert len(epochs) == 1
    assert [s.kind for s in ws.slots] == ["AE", "VAE"]
    assert all(s.ready and s.unsaved and not s.training for s in ws.slots)
    assert [len(s.checkpoint.history) for s in ws.slots] == [1, 1]
    assert ws.run_log.histories[1][0].test_kl > 0

    out = tmp_path / "vae.pt"
    ws.save(1, out)
    assert out.exists() and not ws.slots[1].unsaved
    trained = ws.slots[1].model

    again = Workspace(slots=1)
    again.open(out, slot=0)
    reopened = again.slots[0]
    assert reopened.kind == "VAE" and reopened.checkpoint.history
    z = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(reopened.model.decode(z), trained.decode(z))
    assert load_checkpoint(out).timeline is not None


def test_results_stay_with_their_inputs():
    ws = Workspace()
    ws.open(MODELS / "shapes-ae-2d.pt")
    ws.open(MODELS / "shapes-vae-2d.pt")
    calls = []

    def count(x):
        calls.append(x)
        return x * 2

    ws.compute("demo.model", count, 3, inputs=("side1.model",))
    ws.compute("demo.pick", count, 4, inputs=("selection",))
    assert ws.result("demo.model") == 6 and ws.result("demo.pick") == 8
    ws.pick(9)  # a new pick: only the result that read the picks is stale
    assert ws.result("demo.model") == 6
    assert ws.result("demo.pick") is None
    ws.open(MODELS / "shapes-vae-2d.pt", slot=1)  # another model object
    assert ws.result("demo.model") is None


def test_any_number_of_slots_and_the_user_chooses():
    ws = Workspace(slots=1)
    for path in ("shapes-vae-2d.pt", "shapes-ae-2d.pt", "shapes-vae-2d.pt"):
        ws.open(MODELS / path)
    assert [s.kind for s in ws.slots] == ["VAE", "AE", "VAE"]
    assert ws.slots_for("eps", ("vae",)) == [2]  # the last VAE by default
    ws.choose("eps", [0])
    assert ws.slots_for("eps", ("vae",)) == [0]
    ws.choose("interpolation", [0, 2])  # two VAEs compared
    key = ws.interpolate(
        steps=4, slots=ws.slots_for("interpolation", ("model", "model"))
    )
    assert len(ws.result(key)) == 2
    ws.remove_slot(1)
    assert [s.kind for s in ws.slots] == ["VAE", "VAE"]


def test_a_bad_file_raises_in_scripts_and_changes_nothing(tmp_path):
    ws = Workspace()
    ws.open(MODELS / "shapes-vae-2d.pt", slot=1)
    before = ws.slots[1]
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception, match=r"bad\.pt"):
        ws.open(bad, slot=1)
    assert ws.slots[1] is before


def test_the_workspace_imports_no_qt():
    code = textwrap.dedent(
        """
        import sys
        from latentlab.core.workspace import Workspace, TrainSpec
        ws = Workspace()
        ws.open("models/shapes-vae-2d.pt")
        qt = [m for m in sys.modules if m.split(".")[0] in
              ("PySide6", "qtpy", "superqt", "pyqtgraph", "shiboken6")]
        assert not qt, qt
        """
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_eps_is_drawn_for_the_chosen_vae_of_its_size(tmp_path):
    from latentlab.core.checkpoints import save_checkpoint
    from latentlab.core.config import ModelConfig
    from latentlab.core.training import new_model

    wide = tmp_path / "wide.pt"
    config = ModelConfig(
        kind="vae", latent_dim=5, hidden=(16,), image_shape=(1, 28, 28)
    )
    save_checkpoint(wide, new_model(config, seed=0), dataset={"name": "shapes"})
    ws = Workspace()
    ws.open(wide)
    ws.open(MODELS / "shapes-vae-2d.pt")
    assert ws.session.eps_vae() == 1 and ws.session.eps.eps.shape[1] == 2
    ws.choose("eps", [0])  # the 5-D VAE: ε takes its size, the gradient follows
    assert ws.session.eps_vae() == 0 and ws.session.eps.eps.shape[1] == 5
    table = ws.result(ws.gradient_table())
    assert table.dz_dsigma.shape == ws.session.eps.eps.shape
    ws.remove_slot(0)  # the chosen VAE is gone: back to the last one
    assert ws.session.eps_vae() == 0 and ws.session.eps.eps.shape[1] == 2


def test_a_listeners_error_is_not_the_jobs():
    from latentlab.core.workspace import SyncRunner

    runner, errors = SyncRunner(), []

    def steps():
        yield 1
        yield 2
        return "done"

    def listener(_step):
        raise KeyError("the listener's own")

    with pytest.raises(KeyError, match="listener"):
        runner.submit("k", steps, on_progress=listener, on_error=errors.append)
    assert errors == [] and not runner.busy("k")


def test_another_vae_for_eps_starts_from_its_own_mu_and_sigma():
    ws = Workspace()
    ws.open(MODELS / "shapes-vae-2d.pt")
    ws.open(MODELS / "shapes-vae-2d.pt")
    ws.pick(4)
    ws.session.move_mu(ws.session.posterior().mu0 + 1.0)
    assert np.abs(ws.session.eps.offset).sum() > 0
    ws.choose("eps", [0])
    np.testing.assert_array_equal(ws.session.eps.offset, 0.0)


def test_inputs_picked_from_other_data_are_refused():
    ws = Workspace(slots=3)
    ws.open(MODELS / "shapes-ae-2d.pt")
    ws.open(MODELS / "shapes-vae-2d.pt")
    ws.pick_pair(1, 2)
    key = ws.interpolate(steps=4, slots=[0, 1])
    assert len(ws.result(key)) == 2
    other = ws.slots[0].dataset.test_subset(50)  # another split: index i differs
    ws.session.update_side(0, dataset=other)
    with pytest.raises(Exception, match="data the inputs were picked from"):
        ws.interpolate(steps=4, slots=[0, 1])
