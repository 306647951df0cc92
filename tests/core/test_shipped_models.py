"""Every shipped model reproduces the test figures listed in models/README.md
(within 1 nat: another CPU's kernels may change the last digits)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.data import load_dataset
from latentlab.core.training import evaluate

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(
    r"^\| `(?P<file>[\w.-]+\.pt)` \| `[^`]*` \| "
    r"(?P<recon>-?[\d.]+) \| (?P<kl>[\d.]+) \|"
)


def listed() -> list[tuple[str, float, float]]:
    rows = []
    for line in (REPO / "models" / "README.md").read_text().splitlines():
        m = ROW.match(line)
        if m:
            rows.append((m["file"], float(m["recon"]), float(m["kl"])))
    return rows


def test_every_shipped_model_is_listed():
    names = {name for name, *_ in listed()}
    assert names == {p.name for p in (REPO / "models").glob("*.pt")}


@pytest.mark.parametrize(("name", "recon", "kl"), listed())
def test_a_shipped_model_reproduces_its_listed_figures(name, recon, kl, request):
    ckpt = load_checkpoint(REPO / "models" / name)
    dataset_name = ckpt.dataset["name"]
    root = None
    if dataset_name not in ("shapes", "colour-shapes"):  # generated, no files
        root = request.getfixturevalue("real_data_dir")
    dataset = load_dataset(dataset_name, root)
    test_recon, test_kl = evaluate(ckpt.model, dataset.test_images)
    assert test_recon == pytest.approx(recon, abs=1.0)
    assert test_kl == pytest.approx(kl, abs=1.0)
