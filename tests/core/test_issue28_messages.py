"""Issue 28, item 18: error messages read as one sentence each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torchvision.datasets as tvd

from latentlab.core.datasets.idx import _download_with_torchvision
from latentlab.core.errors import DataError

REPO = Path(__file__).resolve().parents[2]


class _Offline:
    """Stands for torchvision's KMNIST when the network is down: it raises
    what torchvision raises then (a message over several lines, ending in a
    newline). No download is tried."""

    def __init__(self, root, train=True, download=False):
        raise RuntimeError(
            "Error downloading train-images-idx3-ubyte.gz:\n"
            "Tried http://codh.rois.ac.jp/kmnist/dataset/kmnist/, got:\n"
            "<urlopen error [Errno -3] Temporary failure in name resolution>\n"
        )


def test_a_failed_download_is_one_line_with_no_stray_full_stop(tmp_path, monkeypatch):
    monkeypatch.setattr(tvd, "KMNIST", _Offline)
    with pytest.raises(DataError) as info:
        _download_with_torchvision("kmnist", tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert not any(line.lstrip().startswith(".") for line in message.split(". "))
    assert "name resolution>. Without internet, copy the four .gz files" in message


# --- item 6: what the shipped beta = 4 file shows, recomputed -------------------------


def _spread(model, codes, inputs, draws=64, seed=0):
    """Mean per-pixel s.d. of ``draws`` decoded samples z = mu + sigma * eps."""
    from latentlab.core.latent import decode_codes

    rng = np.random.default_rng(seed)
    out = []
    for i in inputs:
        eps = rng.standard_normal((draws, codes.mu.shape[1])).astype(np.float32)
        z = codes.mu[i] + codes.sigma[i] * eps
        out.append(decode_codes(model, z).std(0).mean())
    return float(np.mean(out))


def test_models_readme_states_what_the_beta4_file_shows(real_data_dir):
    """The figures models/README.md gives for the two 2-D VAEs, recomputed."""
    from latentlab.core.workspace import Workspace

    text = (REPO / "models" / "README.md").read_text()
    figures = {}
    for name in ("mnist-vae-2d.pt", "mnist-vae-2d-beta4.pt"):
        ws = Workspace(slots=1, data_dir=str(real_data_dir))
        ws.open(REPO / "models" / name, slot=0)
        slot = ws.slots[0]
        figures[name] = (
            float(slot.codes.sigma.mean()),
            float(slot.codes.mu.std(0).mean()),
            _spread(slot.model, slot.codes, range(0, len(slot.codes.mu), 10)),
        )
    (s1, m1, d1), (s4, m4, d4) = figures.values()
    assert s4 > 1.5 * s1, "beta = 4 keeps sigma larger"
    assert d4 < 0.05, "yet its samples differ by a few hundredths of the pixel range"
    for value in (s4, s1, m4, m1):
        assert f"{value:.3f}" in text or f"{value:.2f}" in text, value
    assert f"{d4:.3f} against {d1:.3f}" in text


def test_the_sigma_note_suggests_the_beta4_file_only_beside_a_smaller_beta():
    from latentlab.core.analysis.posterior_texts import sigma_note
    from latentlab.core.latent import Codes

    rng = np.random.default_rng(0)
    codes = Codes(
        mu=rng.standard_normal((50, 2)).astype(np.float32),
        sigma=np.full((50, 2), 0.2, np.float32),
    )
    assert "mnist-vae-2d-beta4.pt" in sigma_note(codes, beta=1.0)
    assert "mnist-vae-2d-beta4.pt" not in sigma_note(codes, beta=4.0)
    assert "Mean σ(x) over the test set: 0.2" in sigma_note(codes, beta=4.0)
