"""``latentlab evaluate``: one ``name value unit`` line per figure, exit 2 on bad
input. One real subprocess on the shipped shapes VAE; the rest in-process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from latentlab.cli import main

REPO = Path(__file__).resolve().parents[2]
VAE = REPO / "models" / "shapes-vae-2d.pt"
AE = REPO / "models" / "shapes-ae-2d.pt"


def parse(out: str) -> dict[str, tuple[str, str]]:
    lines = {}
    for line in out.splitlines():
        if line.startswith("#"):
            continue
        name, value, unit = line.split("  (")[0].split(" ", 2)
        lines[name] = (value, unit)
    return lines


def test_evaluate_prints_every_figure_of_a_vae():
    proc = subprocess.run(
        [sys.executable, "-m", "latentlab", "evaluate", str(VAE), "--limit", "80"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = parse(proc.stdout)
    for name in (
        "test_images", "neg_elbo", "recon_mu", "recon_samples", "kl", "kl_dim1",
        "kl_dim2", "active_units", "hole_share", "kl_aggregate", "log_px", "gap",
        "seconds",
    ):  # fmt: skip
        assert name in lines, (name, proc.stdout)
    num = {k: float(v) for k, (v, _) in lines.items()}
    assert num["test_images"] == 80
    assert lines["log_px"][1] == "nats"
    assert num["kl_dim1"] + num["kl_dim2"] == pytest.approx(num["kl"], abs=2e-3)
    assert num["neg_elbo"] == pytest.approx(num["recon_samples"] + num["kl"], abs=2e-3)
    assert num["gap"] == pytest.approx(num["log_px"] + num["neg_elbo"], abs=2e-3)
    assert lines["active_units"] == ("2", "of 2")
    assert "quadrature" in proc.stdout
    assert "not binarized" in proc.stdout


def test_evaluate_an_ae_and_importance_sampling_in_process(capsys):
    assert main(["evaluate", str(AE), "--limit", "50"]) == 0
    lines = parse(capsys.readouterr().out)
    assert "code_var_dim1" in lines and "recon_mu" in lines
    assert "log_px" not in lines and "kl" not in lines
    assert (
        main(["evaluate", str(VAE), "--limit", "20", "--method", "is", "--k", "50"])
        == 0
    )
    cap = capsys.readouterr()
    lines = parse(cap.out)
    assert "median_ess" in lines
    assert "importance sampling" in cap.out and "K = 50" in cap.out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["evaluate", "missing.pt"], ["missing.pt"]),
        (["evaluate", str(AE), "--method", "is"], ["AE"]),
        (["evaluate", "{bad}"], ["bad.pt"]),
    ],
)
def test_evaluate_bad_input_is_one_line_and_exit_2(capsys, tmp_path, args, words):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(VAE.read_bytes()[:5000])  # cut short
    rc = main([a.format(bad=bad) for a in args])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("latentlab: error: ")
    for w in words:
        assert w in err
