"""Codes as CSV: the file gives back the model's codes to float32 precision,
and ``latentlab encode`` checks everything before it works."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.codes_csv import read_codes_csv, write_codes_csv
from latentlab.core.config import ModelConfig
from latentlab.core.data import make_shapes
from latentlab.core.errors import ExportError
from latentlab.core.latent import encode_images
from latentlab.core.resources import models_dir
from latentlab.core.training import new_model


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(n_train=200, n_test=300)


@pytest.mark.parametrize("kind", ["vae", "ae"])
def test_codes_round_trip_to_float32_precision(tmp_path, shapes, kind):
    model = new_model(ModelConfig(kind=kind, latent_dim=3, hidden=(32,)), seed=0)
    model.eval()
    codes = encode_images(model, shapes.test_images)
    labels = shapes.test_labels.numpy()
    path = write_codes_csv(tmp_path / "c.csv", codes, labels, shapes.class_names)
    table = read_codes_csv(path)
    assert np.array_equal(table.mu, codes.mu), "mu read back differs from the model's"
    assert table.mu.dtype == np.float32
    if kind == "vae":
        assert np.array_equal(table.sigma, codes.sigma)
    else:
        assert table.sigma is None
    assert np.array_equal(table.index, np.arange(len(labels)))
    assert np.array_equal(table.label, labels)
    assert table.names[0] == shapes.class_names[labels[0]]
    header = path.read_text().splitlines()[0]
    want = "mu1,mu2,mu3,sigma1,sigma2,sigma3" if kind == "vae" else "z1,z2,z3"
    assert header == "index,label,class," + want


def test_an_existing_file_is_kept_without_overwrite(tmp_path, shapes):
    model = new_model(ModelConfig(kind="ae", hidden=(8,)), seed=0)
    codes = encode_images(model, shapes.test_images[:4])
    path = tmp_path / "c.csv"
    path.write_text("keep")
    with pytest.raises(ExportError, match="already exists"):
        write_codes_csv(path, codes, shapes.test_labels[:4].numpy())
    assert path.read_text() == "keep"
    write_codes_csv(path, codes, shapes.test_labels[:4].numpy(), overwrite=True)
    assert len(read_codes_csv(path).mu) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["c.csv"], "a temp file was left"


def test_encode_writes_the_shipped_models_codes(tmp_path, capsys):
    src = models_dir() / "shapes-vae-2d.pt"
    out = tmp_path / "codes.csv"
    assert main(["encode", str(src), "--out", str(out), "--limit", "50"]) == 0
    table = read_codes_csv(out)
    ckpt = load_checkpoint(src)
    want = encode_images(ckpt.model, make_shapes().test_images[:50])
    assert np.array_equal(table.mu, want.mu) and np.array_equal(table.sigma, want.sigma)
    assert "wrote 50 codes" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "0"], "--limit must be at least 1"),
        (["--dataset", "nope"], "unknown dataset"),
    ],
)
def test_encode_refuses_bad_options_in_one_line(tmp_path, capsys, args, message):
    src = models_dir() / "shapes-ae-2d.pt"
    code = main(["encode", str(src), "--out", str(tmp_path / "c.csv"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "c.csv").exists()


def test_encode_refuses_an_existing_out_without_force(tmp_path, capsys):
    out = tmp_path / "c.csv"
    out.write_text("keep")
    src = models_dir() / "shapes-ae-2d.pt"
    assert main(["encode", str(src), "--out", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert out.read_text() == "keep"


def test_encode_asks_for_the_dataset_of_a_model_trained_elsewhere(tmp_path, capsys):
    torch.manual_seed(0)
    state = {
        "fc1.weight": torch.randn(16, 784) * 0.05,
        "fc1.bias": torch.zeros(16),
        "fc21.weight": torch.randn(2, 16),
        "fc21.bias": torch.zeros(2),
        "fc22.weight": torch.randn(2, 16),
        "fc22.bias": torch.zeros(2),
        "fc3.weight": torch.randn(16, 2),
        "fc3.bias": torch.zeros(16),
        "fc4.weight": torch.randn(784, 16),
        "fc4.bias": torch.zeros(784),
    }
    src = tmp_path / "vae.pth"
    torch.save(state, src)
    out = tmp_path / "c.csv"
    assert main(["encode", str(src), "--out", str(out)]) == 2
    assert "pass --dataset" in capsys.readouterr().err
    assert main(["encode", str(src), "--out", str(out), "--dataset", "shapes"]) == 0
    assert read_codes_csv(out).sigma.shape == (3000, 2)


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("1,2,x,0.5", "line 3: 4 cells, the header has 5"),
        ("1,2,x,0.5,abc", "line 3: could not convert"),
        ("9" * 5000 + ",2,x,0.5,0.5", "an index has 5,000 digits"),
        ("1,²,x,0.5,0.5", "a label is"),
    ],
)
def test_a_bad_cell_is_named_not_a_traceback(tmp_path, row, words):
    path = tmp_path / "codes.csv"
    path.write_text(f"index,label,class,z1,z2\n0,1,a,0.1,0.2\n{row}\n")
    with pytest.raises(ExportError, match="is not a LatentLab codes CSV") as info:
        read_codes_csv(path)
    assert words in str(info.value)
    assert len(str(info.value)) < 400
