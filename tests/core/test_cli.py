"""The command line as a user runs it: ``python -m latentlab ...`` in subprocesses.

Each subprocess pays 2-3 s to import torch on the shared 2-core box, so train,
info, a refused overwrite and a bad checkpoint run as real processes (the last
three side by side), and the other error cases call :func:`latentlab.cli.main`
in-process: the same code, exit status and stderr, where an escaping exception
would fail the test just as a traceback would.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from latentlab import __version__
from latentlab.cli import main
from latentlab.core.checkpoints import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
# One torch thread: the test box has 2 shared cores (see tests/core/conftest.py).
FAST = ("--threads", "1")


def _command(*args: object) -> list[str]:
    return [sys.executable, "-m", "latentlab", *map(str, args)]


def latentlab(*args: object, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


def assert_one_line_error(rc: int, stderr: str, *words: str) -> str:
    assert rc == 2, (rc, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, f"expected one stderr line, got: {stderr!r}"
    assert "Traceback" not in stderr
    line = lines[0]
    assert line.startswith("latentlab: error: "), line
    for word in words:
        assert word in line, (word, line)
    return line


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def trained(real_data_dir: Path, workdir: Path):
    out = workdir / "x.pt"
    proc = latentlab(
        "train", "--dataset", "mnist", "--data-dir", real_data_dir,
        "--epochs", "1", "--out", out, *FAST,
    )  # fmt: skip
    return out, proc


@pytest.fixture(scope="module")
def runs(trained, real_data_dir: Path, workdir: Path):
    """Run the follow-up commands at once; returns name -> (rc, stdout, stderr)."""
    out, _ = trained
    bad = workdir / "bad.pt"
    data = out.read_bytes()
    bad.write_bytes(data[: len(data) // 2])  # a copy cut short, as by a full disk
    commands = {
        "info": ("info", out),
        "again": (
            "train", "--dataset", "mnist", "--data-dir", real_data_dir,
            "--epochs", "1", "--out", out, *FAST,
        ),
        "bad": ("info", bad),
    }  # fmt: skip
    before = out.read_bytes()
    procs = {
        name: subprocess.Popen(
            _command(*args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for name, args in commands.items()
    }
    results = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        results[name] = (proc.returncode, stdout, stderr)
    results["bytes-before"] = before
    return results


def test_train_on_mnist_writes_a_checkpoint(trained) -> None:
    out, proc = trained
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "on mnist: 4000 train / 1000 test images" in proc.stdout
    assert "epoch   1" in proc.stdout and f"saved {out}" in proc.stdout
    ckpt = load_checkpoint(out)
    assert ckpt.config.kind == "vae" and ckpt.config.latent_dim == 2
    assert ckpt.epochs == 1
    assert ckpt.dataset["name"] == "mnist" and ckpt.dataset["n_train"] == 4000
    # The printed -ELBO is the one stored.
    assert f"-ELBO {ckpt.history[0].test_neg_elbo:.2f} nats" in proc.stdout


def test_info_prints_config_and_history(trained, runs) -> None:
    out, _ = trained
    rc, stdout, stderr = runs["info"]
    assert rc == 0, stderr
    lines = stdout.splitlines()
    assert lines[0] == f"{out}: VAE · mnist · 2-D · β=1 · 1 epoch"
    assert "model     vae · backbone mlp · latent 2 · hidden 512,256 · β 1" in stdout
    assert "image 1×28×28 (C×H×W)" in stdout
    assert "p(x|z)    pixels in [0,1] as Bernoulli targets" in stdout
    assert "dataset   mnist (4000 train / 1000 test" in stdout
    header = next(i for i, line in enumerate(lines) if "test -ELBO" in line)
    row = lines[header + 1].split()
    m = load_checkpoint(out).history[0]
    assert row[0] == "1"
    assert float(row[2]) == pytest.approx(m.test_recon, abs=0.006)
    assert float(row[4]) == pytest.approx(m.test_neg_elbo, abs=0.006)


def test_train_refuses_to_overwrite_without_force(trained, runs) -> None:
    out, _ = trained
    rc, stdout, stderr = runs["again"]
    assert_one_line_error(rc, stderr, str(out), "already exists", "--force")
    assert stdout == ""
    assert out.read_bytes() == runs["bytes-before"]


def test_info_on_a_bad_checkpoint(runs, workdir: Path) -> None:
    rc, stdout, stderr = runs["bad"]
    assert_one_line_error(rc, stderr, str(workdir / "bad.pt"), "corrupt")
    assert stdout == ""


def test_version() -> None:
    proc = latentlab("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"latentlab {__version__}"


# --- in-process: the same main() without a fresh interpreter -----------------------


def test_train_with_force_overwrites(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s.pt"
    out.write_bytes(b"old")
    rc = main(
        [
            "train", "--dataset", "shapes", "--model", "ae", "--hidden", "16",
            "--epochs", "1", "--batch-size", "512", "--out", str(out), "--force",
            *FAST,
        ]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "on shapes: 12000 train / 3000 test images" in captured.out
    ckpt = load_checkpoint(out)
    assert ckpt.config.kind == "ae" and ckpt.config.hidden == (16,)
    assert ckpt.dataset["name"] == "shapes"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--epochs", "0"), "epochs"),
        (("--seed", str(2**64)), "seed"),
        (("--hidden", "wide"), "--hidden"),
        (("--hidden", ""), "hidden sizes"),
        (("--beta", "nan"), "beta"),
        (("--beta", "-1"), "beta"),
        (("--batch-size", "0"), "batch size"),
        (("--lr", "0"), "learning rate"),
        (("--threads", "0"), "threads"),
        (("--device", "tpu"), "device"),
        (("--dataset", "cifar"), "unknown dataset"),
        (("--dataset", "folder"), "needs a folder"),
    ],
)
def test_bad_settings_exit_2(tmp_path: Path, capsys, args, words: str) -> None:
    out = tmp_path / "m.pt"
    rc = main(["train", "--dataset", "shapes", *args, "--out", str(out)])
    captured = capsys.readouterr()
    assert_one_line_error(rc, captured.err, words)
    assert not out.exists()


def test_out_in_a_missing_folder(tmp_path: Path, capsys) -> None:
    rc = main(["train", "--out", str(tmp_path / "no" / "m.pt")])
    assert_one_line_error(rc, capsys.readouterr().err, "does not exist")


def test_too_many_files_for_the_app(capsys) -> None:
    rc = main(["a.pt", "b.pt", "c.pt"])
    assert_one_line_error(rc, capsys.readouterr().err, "at most two")


def test_info_on_a_missing_file(tmp_path: Path, capsys) -> None:
    rc = main(["info", str(tmp_path / "none.pt")])
    assert_one_line_error(rc, capsys.readouterr().err, "does not exist")


def test_missing_data_dir(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no-data"
    out = tmp_path / "n.pt"
    args = ["--dataset", "mnist", "--data-dir", str(missing), "--out", str(out)]
    rc = main(["train", *args])
    line = assert_one_line_error(rc, capsys.readouterr().err, str(missing))
    assert "does not exist" in line and str(missing / "MNIST" / "raw") in line
    assert not out.exists()


def test_latent_dim_zero(tmp_path: Path, capsys, real_data_dir: Path) -> None:
    out = tmp_path / "z.pt"
    rc = main(
        [
            "train", "--dataset", "mnist", "--data-dir", str(real_data_dir),
            "--latent-dim", "0", "--out", str(out),
        ]
    )  # fmt: skip
    assert_one_line_error(rc, capsys.readouterr().err, "latent size", "not 0")
    assert not out.exists()


def test_usage_errors_are_one_line(capsys) -> None:
    from latentlab.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["train", "--epochs", "x", "--out", "unused.pt"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "latentlab train: error: argument --epochs: invalid int value: 'x' (see --help)"
    ]


def test_info_into_a_closed_pipe_ends_quietly() -> None:
    """``latentlab info x.pt | head -0``: the reader is gone before the first
    line; no traceback, and a non-zero exit like other tools."""
    proc = subprocess.Popen(
        _command("info", REPO / "models" / "mnist-vae-2d.pt"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command has written anything
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err, err


# --- every check before training; hostile strings printed inert ---------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--threads", str(10**6)), "threads must be from 1 to"),
        (("--threads", "-3"), "threads"),
        (("--hidden", str(10**8)), "hidden sizes must be integers from 1 to 65536"),
        (("--hidden", ",".join(["8"] * 9)), "1 to 8 widths"),
        (("--hidden", "-5"), "hidden sizes"),
        (("--hidden", "9" * 5000), "--hidden must be integers"),
        (("--latent-dim", str(10**9)), "latent size"),
        (("--latent-dim", "-1"), "latent size"),
        (("--batch-size", str(10**9)), "batch size"),
        (("--epochs", str(10**7)), "epochs must be from 1 to 10000"),
        (("--lr", "inf"), "learning rate"),
        (("--lr=-1e-3",), "learning rate"),
        (("--beta", "inf"), "beta"),
        (("--seed", str(-(2**64))), "seed"),
        (("--device", "cuda:abc"), "unknown device"),
        (("--device", "cuda:99999999999999999999"), "device"),
        (("--device", "\x1b[2Jcpu"), "\\x1b[2Jcpu"),
        (("--hidden", "65536,65536"), "training would need about"),
    ],
)
def test_hostile_settings_exit_2_before_training(tmp_path: Path, capsys, args, words):
    out = tmp_path / "m.pt"
    rc = main(["train", "--dataset", "shapes", *args, "--out", str(out)])
    captured = capsys.readouterr()
    line = assert_one_line_error(rc, captured.err, words)
    assert "\x1b" not in line
    assert captured.out == "", "training started before the check"
    assert not out.exists()


@pytest.mark.skipif(
    __import__("torch").cuda.is_available(), reason="this machine has a CUDA GPU"
)
def test_an_unavailable_device_exits_2(tmp_path: Path, capsys) -> None:
    rc = main(["train", "--device", "cuda", "--out", str(tmp_path / "m.pt")])
    assert_one_line_error(rc, capsys.readouterr().err, "not available", "--device cpu")


def test_out_that_cannot_be_written_fails_before_training(tmp_path: Path, capsys):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (folder, "it is a folder"),
        (a_file / "m.pt", "is not a folder"),
        (Path("/proc/latentlab-test.pt"), "is not writable"),  # procfs refuses
    ]
    for out, words in cases:
        rc = main(["train", "--out", str(out), "--force"])
        captured = capsys.readouterr()
        assert_one_line_error(rc, captured.err, words)
        assert captured.out == ""


_NO_TORCH = """
import contextlib, io, sys
from latentlab.cli import main
err = io.StringIO()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
    try:
        rc = main(sys.argv[1:])
    except SystemExit as exc:
        rc = exc.code
print(rc, "torch" in sys.modules, err.getvalue().count("\\n"))
"""


@pytest.mark.parametrize(
    ("args", "rc", "err_lines"),
    [
        (("train", "--help"), 0, 0),
        (("train",), 2, 1),  # --out missing
        (("train", "--epochs", "x", "--out", "m.pt"), 2, 1),
        (("train", "--epochs", "0", "--out", "m.pt"), 2, 1),
        (("train", "--hidden", "wide", "--out", "m.pt"), 2, 1),
        (("info",), 2, 1),
        (("info", "a", "b"), 2, 1),
        (("info", "--help"), 0, 0),
        (("evaluate", "--help"), 0, 0),
        (("evaluate",), 2, 1),  # FILE missing
        (("evaluate", "m.pt", "--k", "0"), 2, 1),
        (("evaluate", "m.pt", "--limit", "x"), 2, 1),
        (("evaluate", "m.pt", "--method", "mcmc"), 2, 1),
    ],
)
def test_help_and_argument_errors_do_not_import_torch(tmp_path, args, rc, err_lines):
    proc = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(rc), "False", str(err_lines)], proc.stdout


def test_info_prints_strings_from_the_file_escaped(tmp_path: Path, capsys) -> None:
    from latentlab.core.checkpoints import save_checkpoint
    from latentlab.core.config import ModelConfig
    from latentlab.core.training import new_model

    evil = "\x1b]0;owned\x07\x1b[2J\r\u202emnist"
    path = save_checkpoint(
        tmp_path / "evil.pt",
        new_model(ModelConfig(hidden=(8,))),
        dataset={"name": evil, "n_train": "\x1b[31m9", "n_test": 1, "digest": "\n"},
    )
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for ch in "\x1b\x07\r\u202e":
        assert ch not in out, repr(ch)
    assert "\\x1b]0;owned\\x07\\x1b[2J\\r\\u202emnist" in out
    # title, model, p(x|z), dataset, created, history: no more
    assert out.count("\n") == 6
