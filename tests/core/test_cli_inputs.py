"""No command writes over its own inputs, and every argument is checked before
work: in-process :func:`latentlab.cli.main` (the same code, exit status and
stderr as the command; an escaping exception fails the test as a traceback
would)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from latentlab.cli import main
from latentlab.core.analysis.likelihood import importance_log_px, quadrature_log_px
from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.data import make_shapes
from latentlab.core.models import build_model
from tests.core.test_cli import assert_one_line_error
from tests.core.test_data import _write_idx_set

REPO = Path(__file__).resolve().parents[2]
MNIST_VAE = REPO / "models" / "mnist-vae-2d.pt"
MNIST_VAE_8D = REPO / "models" / "mnist-vae-8d.pt"
SHAPES_VAE = REPO / "models" / "shapes-vae-2d.pt"


def _error(capsys: pytest.CaptureFixture[str], args: list[object], *words: str):
    rc = main([str(a) for a in args])
    return assert_one_line_error(rc, capsys.readouterr().err, *words)


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    path = tmp_path / "mine.pt"
    path.write_bytes(MNIST_VAE.read_bytes())
    return path


# --- no output over an input ---------------------------------------------------------


def test_encode_refuses_to_write_over_its_checkpoint_even_with_force(
    model_copy: Path, capsys
) -> None:
    before = model_copy.read_bytes()
    for force in ([], ["--force"]):
        # Never "pass --force": that advice would only lead to this refusal.
        line = _error(capsys, ["encode", model_copy, "--out", model_copy, *force])
        assert "mine.pt is one of this command's inputs" in line
        assert "--force" not in line
    assert model_copy.read_bytes() == before


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_link_to_the_checkpoint_is_the_checkpoint(
    model_copy: Path, tmp_path: Path, capsys, link: str
) -> None:
    out = tmp_path / "codes.csv"
    if link == "symlink":
        out.symlink_to(model_copy)
    else:
        os.link(model_copy, out)
    before = model_copy.read_bytes()
    line = _error(capsys, ["encode", model_copy, "--out", out, "--force"], "inputs")
    assert "the same file as" in line and "mine.pt" in line
    assert model_copy.read_bytes() == before
    assert out.is_symlink() == (link == "symlink")


def test_encode_refuses_to_write_over_a_file_of_its_dataset(
    tmp_path: Path, capsys
) -> None:
    raw = _write_idx_set(tmp_path / "data")
    target = raw / "t10k-labels-idx1-ubyte.gz"
    before = target.read_bytes()
    _error(
        capsys,
        [
            *("encode", MNIST_VAE, "--data-dir", tmp_path / "data"),
            *("--dataset", "mnist", "--out", target, "--force"),
        ],
        "one of this command's inputs",
    )
    assert target.read_bytes() == before


def test_train_refuses_to_write_over_a_file_of_its_dataset(
    tmp_path: Path, capsys
) -> None:
    raw = _write_idx_set(tmp_path / "data")
    target = raw / "train-images-idx3-ubyte.gz"
    before = target.read_bytes()
    start = time.perf_counter()
    _error(
        capsys,
        [
            *("train", "--dataset", "mnist", "--data-dir", tmp_path / "data"),
            *("--out", target, "--force", "--epochs", "1"),
        ],
        "one of this command's inputs",
    )
    assert time.perf_counter() - start < 5, "refused after training"
    assert target.read_bytes() == before


def test_an_image_folder_file_is_an_input_too(tmp_path: Path, capsys) -> None:
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        Image.new("L", (8, 8), 50 * i).save(folder / f"{i}.png")
    before = (folder / "1.png").read_bytes()
    _error(
        capsys,
        [
            *("train", "--dataset", "folder", "--data-dir", folder),
            *("--out", folder / "1.png", "--force"),
        ],
        "1.png is one of this command's inputs",
    )
    assert (folder / "1.png").read_bytes() == before


# --- arguments checked before work ------------------------------------------------


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_seed_out_of_range_is_refused_up_front(
    command: str, tmp_path: Path, capsys
) -> None:
    args = (
        ["train", "--out", tmp_path / "x.pt"]
        if command == "train"
        else ["evaluate", SHAPES_VAE]
    )
    start = time.perf_counter()
    line = _error(capsys, [*args, "--seed", "99999999999999999999999"], "seed")
    assert "from -2**63 to 2**63 - 2" in line
    assert time.perf_counter() - start < 2, "the diagnostics ran first"


@pytest.mark.parametrize("command", ["train", "encode", "evaluate", "app"])
def test_a_data_dir_that_is_a_file_says_so(
    command: str, tmp_path: Path, capsys
) -> None:
    a_file = tmp_path / "hostname"
    a_file.write_text("box\n")
    args = {
        "train": ["train", "--dataset", "mnist", "--out", tmp_path / "x.pt"],
        "encode": ["encode", MNIST_VAE, "--out", tmp_path / "c.csv"],
        "evaluate": ["evaluate", MNIST_VAE],
        "app": [],
    }[command]
    line = _error(capsys, [*args, "--data-dir", a_file], "hostname is a file")
    assert "does not exist" not in line and "Create it" not in line


def test_evaluate_reads_a_plain_state_dict_with_dataset(tmp_path: Path, capsys) -> None:
    """pytorch/examples' VAE saved as a bare state dict names no dataset."""
    state = {
        "fc1.weight": torch.randn(16, 784) * 0.05, "fc1.bias": torch.zeros(16),
        "fc21.weight": torch.randn(2, 16) * 0.05, "fc21.bias": torch.zeros(2),
        "fc22.weight": torch.randn(2, 16) * 0.05, "fc22.bias": torch.zeros(2),
        "fc3.weight": torch.randn(16, 2) * 0.05, "fc3.bias": torch.zeros(16),
        "fc4.weight": torch.randn(784, 16) * 0.05, "fc4.bias": torch.zeros(784),
    }  # fmt: skip
    path = tmp_path / "vae.pth"
    torch.save(state, path)
    _write_idx_set(tmp_path / "data")
    line = _error(capsys, ["evaluate", path], "--dataset")
    assert "plot" not in line, "the window's word, in the command line"
    rc = main(
        [
            *("evaluate", str(path), "--dataset", "mnist", "--data-dir"),
            *(str(tmp_path / "data"), "--method", "is", "--k", "20"),
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "mnist test split, 10 images" in out
    assert "log_px" in out and "neg_elbo" in out


def test_evaluate_refuses_a_k_that_cannot_finish_before_any_work(
    tmp_path: Path, capsys
) -> None:
    _write_idx_set(tmp_path / "data")
    start = time.perf_counter()
    line = _error(
        capsys,
        [
            *("evaluate", MNIST_VAE_8D, "--data-dir", tmp_path / "data"),
            *("--dataset", "mnist", "--k", 10**15),
        ],
        "--k 1,000,000,000,000,000",
    )
    assert "years" in line and "decoder passes" in line
    assert time.perf_counter() - start < 10
    assert capsys.readouterr().out == "", "nothing printed before the refusal"


def test_evaluate_of_the_issue_is_refused_with_its_cost(
    real_data_dir: Path, capsys
) -> None:
    """``evaluate mnist-vae-8d.pt --k 1000000000`` took 64 GB and ended in a
    traceback; on this 1,000-image subset a K ten times larger is as far out
    of reach (months even at 10 million samples a second)."""
    line = _error(
        capsys,
        ["evaluate", MNIST_VAE_8D, "--data-dir", real_data_dir, "--k", 10**10],
        "on 1,000 test images",
    )
    assert "days" in line or "years" in line


def test_the_refusal_states_the_time_at_the_measured_rate(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The estimate is K x images / the measured rate; at a fixed rate the
    message's figures are exact, and a K just inside 7 days is not refused."""
    import latentlab.core.analysis.likelihood as likelihood

    monkeypatch.setattr(
        likelihood, "importance_points_per_second", lambda model, images: 1e6
    )
    _write_idx_set(tmp_path / "data")  # 10 test images
    common = ["evaluate", MNIST_VAE_8D, "--data-dir", tmp_path / "data"]
    line = _error(capsys, [*common, "--dataset", "mnist", "--k", 2**62])
    # 10 x 2^62 / 10^6 s = 1.46 million years
    assert "--k 4,611,686,018,427,387,904 on 10 test images" in line
    assert "4.61e+19 decoder passes: about 1.46e+06 years" in line
    assert "1,000,000 samples/s" in line

    def started(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # as a user's Ctrl+C, once it is running

    # 6 days: accepted, and it starts
    monkeypatch.setattr(likelihood, "importance_log_px", started)
    ok = 6 * 86400 * 10**6 // 10
    assert main([str(a) for a in (*common, "--dataset", "mnist", "--k", ok)]) == 130


def test_a_k_past_64_bits_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", str(SHAPES_VAE), "--method", "is", "--k", "9" * 400])
    (line,) = capsys.readouterr().err.splitlines()
    assert "must be from 1 to 9,223,372,036,854,775,807, not ~10^399" in line


def test_a_chunk_of_samples_fits_its_memory_whatever_the_width() -> None:
    from latentlab.core.analysis.likelihood import (
        IS_CHUNK_BYTES,
        importance_points_per_step,
    )
    from latentlab.core.config import ModelConfig
    from latentlab.core.models import decoder_activations

    shipped = load_checkpoint(MNIST_VAE).config
    assert importance_points_per_step(shipped) == 65536, "the shipped models' chunk"
    for hidden in ((8192,), (65536,), (65536, 65536)):
        cfg = ModelConfig(hidden=hidden)
        points = importance_points_per_step(cfg)
        per_point = 4 * (2 * decoder_activations(cfg) + 3 * cfg.pixels)
        assert 64 <= points < 65536
        assert points * per_point <= IS_CHUNK_BYTES


def test_importance_sampling_memory_is_bounded_whatever_k() -> None:
    """K = 10^8 for one image: the first chunk comes back instead of an attempt
    to decode 10^8 points at once (313 GB of logits)."""
    model = load_checkpoint(SHAPES_VAE).model.eval()
    images = make_shapes(n_train=1, n_test=1).test_images
    run = importance_log_px(model, images, k=10**8, points_per_step=4096)
    first = next(run)
    assert 0 < first < 1e-3


def test_importance_sampling_in_chunks_agrees_with_quadrature() -> None:
    """The chunked sum of K draws against an independent exact value."""
    model = load_checkpoint(SHAPES_VAE).model.eval()
    images = make_shapes(n_train=1, n_test=20).test_images

    def result(gen):
        try:
            while True:
                next(gen)
        except StopIteration as stop:
            return stop.value

    exact = result(quadrature_log_px(model, images)).log_px
    chunked = result(importance_log_px(model, images, k=3000, points_per_step=256))
    assert abs(chunked.log_px.mean() - exact.mean()) < 0.1, (chunked.log_px, exact)
    assert chunked.k == 3000


# --- what info prints ------------------------------------------------------------


def test_info_prints_what_a_dataset_record_holds_and_nothing_else(
    tmp_path: Path, capsys
) -> None:
    model = build_model(load_checkpoint(SHAPES_VAE).config)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, dataset={"name": "fashion-mnist"})
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.strip().startswith("dataset")]
    assert line.split() == ["dataset", "fashion-mnist"]
    save_checkpoint(
        path, model, dataset={"name": "mnist", "n_test": 1000}, overwrite=True
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "mnist (1000 test)" in out and "None" not in out


# --- long values: one short line, never a traceback ----------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--epochs", "9" * 5000, "--out", "x.pt"],
        ["evaluate", str(SHAPES_VAE), "--k", "9" * 5000],
        ["encode", str(SHAPES_VAE), "--limit", "9" * 5000, "--out", "c.csv"],
    ],
)
def test_a_huge_number_is_echoed_short(args: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert len(line) < 400, len(line)
    assert "error: argument" in line


@pytest.mark.parametrize("command", ["train", "encode"])
def test_an_out_name_too_long_for_the_file_system_is_one_line(
    command: str, tmp_path: Path, capsys
) -> None:
    out = tmp_path / ("9" * 5000 + ".csv")
    args = {
        "train": ["train", "--out", out],
        "encode": ["encode", SHAPES_VAE, "--out", out],
    }[command]
    line = _error(capsys, args, "File name too long")
    assert len(line) < 1000, len(line)


def test_an_image_folder_is_recognised_however_it_is_written(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpoint's image folder is read when --data-dir names that folder,
    written another way (relative, through a link); it is never read unasked."""
    from PIL import Image

    folder = tmp_path / "himg"
    folder.mkdir()
    for i in range(10):
        Image.new("L", (28, 28), 20 * i).save(folder / f"{i}.png")
    model = tmp_path / "h.pt"
    train = ["train", "--dataset", "folder", "--data-dir", folder, "--out", model]
    assert main([str(a) for a in (*train, "--epochs", "1", "--hidden", "8")]) == 0
    capsys.readouterr()
    line = _error(capsys, ["evaluate", model], "pass --data-dir with that folder")
    assert "himg" in line and "plot" not in line
    monkeypatch.chdir(folder)
    assert main(["evaluate", "../h.pt", "--data-dir", "."]) == 0
    assert "folder:himg test split, 2 images" in capsys.readouterr().out
    (tmp_path / "link").symlink_to(folder)
    assert main(["evaluate", "../h.pt", "--data-dir", str(tmp_path / "link")]) == 0


@pytest.mark.parametrize("command", ["info", "evaluate", "encode"])
def test_an_input_name_too_long_says_so(command: str, tmp_path: Path, capsys) -> None:
    name = tmp_path / ("9" * 5000 + ".pt")
    args = [command, name] + (["--out", tmp_path / "c.csv"] * (command == "encode"))
    line = _error(capsys, args, "File name too long")
    assert "does not exist" not in line and len(line) < 1000
