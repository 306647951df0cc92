"""Issue 28, item 18: error messages read as one sentence each."""

from __future__ import annotations

import pytest
import torchvision.datasets as tvd

from latentlab.core.datasets.idx import _download_with_torchvision
from latentlab.core.errors import DataError


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
