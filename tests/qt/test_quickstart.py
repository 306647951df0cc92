"""The README's quickstart, run as a user would: a real process, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest


def _run(args, env_extra=None, timeout=120):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LATENTLAB_QUIT_WHEN_READY="1")
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "latentlab", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_latentlab_opens_with_the_shipped_models_and_quits_cleanly(tmp_path):
    # An empty data dir: the MNIST pair opens on the subset shipped with it.
    proc = _run(["--data-dir", str(tmp_path)])
    assert proc.returncode == 0, proc.stderr
    assert (
        "latentlab: ready, 2 model(s) loaded (mnist-ae-2d.pt, mnist-vae-2d.pt)"
        in proc.stdout
    )
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr


def test_latentlab_opens_the_mnist_pair_when_mnist_is_found(real_data_dir):
    proc = _run(["--data-dir", str(real_data_dir)])
    assert proc.returncode == 0, proc.stderr
    assert "ready, 2 model(s) loaded" in proc.stdout


@pytest.fixture
def broken_torchvision(tmp_path):
    """A torchvision that fails to import, like PyPI's beside a mismatched torch."""
    pkg = tmp_path / "broken" / "torchvision"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(
        textwrap.dedent(
            """
            raise RuntimeError("operator torchvision::nms does not exist")
            """
        )
    )
    return {"PYTHONPATH": str(tmp_path / "broken")}


def test_app_starts_when_torchvision_is_unusable(broken_torchvision, tmp_path):
    proc = _run(["--data-dir", str(tmp_path)], env_extra=broken_torchvision)
    assert proc.returncode == 0, proc.stderr
    assert "ready, 2 model(s) loaded" in proc.stdout


def test_download_without_torchvision_says_so(broken_torchvision, tmp_path):
    proc = _run(
        [
            "train",
            "--dataset",
            "kmnist",
            "--data-dir",
            str(tmp_path),
            "--download",
            "--out",
            str(tmp_path / "k.pt"),
        ],
        env_extra=broken_torchvision,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "torchvision" in lines[0] and "nms does not exist" in lines[0]
    assert str(tmp_path / "KMNIST" / "raw") in lines[0]
