"""Issue 29, item 7: while the shipped models show the MNIST subset shipped
with the package, the status bar offers the full set; taking the offer
downloads it into the data folder (the download is simulated here: no network
in tests) and opens the models again on it."""

from __future__ import annotations

import shutil

from PySide6.QtWidgets import QPushButton

from latentlab.core.datasets import idx
from latentlab.core.resources import models_dir

from .conftest import wait_loaded


def test_the_full_set_is_offered_and_taken(
    qtbot, tmp_path, monkeypatch, no_threads_left
):
    from latentlab.qt.app import create_window

    root = tmp_path / "data"
    root.mkdir()
    files = [str(models_dir() / f"mnist-{k}-2d.pt") for k in ("ae", "vae")]
    win = create_window(files, str(root))
    qtbot.addWidget(win, before_close_func=lambda w: w.close_discarding())
    win.show()
    wait_loaded(qtbot, win)
    shipped = str(idx.shipped_data_dir())
    assert all(s.dataset.source.startswith(shipped) for s in win.session.sides)
    from latentlab.qt.app import shipped_data_note

    assert shipped_data_note(win) == (
        "MNIST: the 4,000 / 1,000-image subset shipped with LatentLab "
        "(CC BY-SA 3.0, LeCun & Cortes)"
    )
    qtbot.waitUntil(
        lambda: any(
            b.text() == "Download the full MNIST…"
            for b in win.statusBar().findChildren(QPushButton)
        )
    )
    (button,) = [
        b
        for b in win.statusBar().findChildren(QPushButton)
        if b.text() == "Download the full MNIST…"
    ]
    assert str(root) in button.toolTip() and "internet" in button.toolTip()

    def fake_download(key, where):
        raw = where / "MNIST" / "raw"
        raw.mkdir(parents=True)
        for f in (idx.shipped_data_dir() / "MNIST" / "raw").glob("*.gz"):
            shutil.copy(f, raw / f.name)

    monkeypatch.setattr(idx, "_download_with_torchvision", fake_download)
    button.click()
    qtbot.waitUntil(
        lambda: all(
            s.dataset is not None and s.dataset.source == str(root / "MNIST" / "raw")
            for s in win.session.sides
        ),
        timeout=30000,
    )
    # The offer has done its work: it is gone.
    assert not [
        b
        for b in win.statusBar().findChildren(QPushButton)
        if b.text().startswith(("Download the full", "Downloading"))
        and not b.isHidden()
    ]
    win.close_discarding()
