"""Every save asks before replacing the file it really writes.

QFileDialog asks about the name as typed; the app adds an extension (``myfig``
-> ``myfig.svg``), changes one (``.pt`` -> ``.safetensors``) or writes two files
(``decoded-left.png``, ``decoded-right.png``), and those used to be replaced
without a word. Through the real window: the file dialog is replaced, the
replace question is the real QMessageBox, clicked.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from latentlab.core.checkpoints import load_checkpoint
from latentlab.core.codes_csv import read_codes_csv
from latentlab.qt.export import FIGURE_FILTER
from latentlab.qt.main_window import CSV_FILTER, SAVE_FILTER
from latentlab.qt.save_dialog import real_save_path

# A pair trained here with its timelines, for the GIF.
from .test_timeline_selection import EPOCHS, trained_pair, win  # noqa: F401

OLD = b"an earlier file that must survive a No"
YES = QMessageBox.StandardButton.Yes
NO = QMessageBox.StandardButton.No
SVG = "SVG image (*.svg)"
PNG2X = "PNG image, 2× resolution (*.png)"
SAFETENSORS = "safetensors (*.safetensors)"
GIF_FILTER = "GIF animation (*.gif)"


@pytest.fixture
def prompts():
    """Answers each replace question with ``prompts["answer"]``; its texts go
    to ``prompts["seen"]``."""
    state = {"answer": NO, "seen": []}

    def poll() -> None:
        box = QApplication.activeModalWidget()
        if (
            isinstance(box, QMessageBox)
            and box.objectName() == "replacePrompt"
            and box.isVisible()
        ):
            state["seen"].append(box.text())
            box.button(state["answer"]).click()

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(poll)
    timer.start()
    yield state
    timer.stop()


@pytest.fixture
def dialog(monkeypatch):
    """The file dialog, answering ``dialog["path"]`` with filter ``dialog["chosen"]``;
    when it comes back after a No (opened at the name just refused) it answers
    ``dialog["then"]``, by default cancelling. The options it was called with
    go to ``dialog["options"]``, its start paths to ``dialog["starts"]``."""
    state = {"path": "", "chosen": "", "options": [], "starts": [], "then": ""}

    def get_save_file_name(*args, **kwargs):
        state["options"].append(kwargs.get("options", args[5] if len(args) > 5 else 0))
        start = Path(args[2] if len(args) > 2 else kwargs.get("dir"))
        state["starts"].append(str(start))
        refused = Path(str(state["path"]))
        back = start.parent == refused.parent and start.stem == refused.stem
        return str(state["then"] if back else state["path"]), state["chosen"]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", get_save_file_name)
    return state


def _leftovers(folder, *expected):
    """Files in ``folder`` other than ``expected`` (temps included)."""
    return sorted(p.name for p in folder.iterdir() if p.name not in expected)


@pytest.mark.parametrize(
    ("typed", "chosen", "real"),
    [
        ("fig", SVG, "fig.svg"),
        ("fig", PNG2X, "fig.png"),
        ("fig", "", "fig.svg"),  # no filter said: the first is the default
        ("fig.v2", SVG, "fig.v2.svg"),  # export_figure would have added .png
        ("fig.PNG", SVG, "fig.PNG"),  # an extension typed wins over the filter
        ("fig.svg", PNG2X, "fig.svg"),
    ],
)
def test_a_figure_name_becomes_the_file_written(typed, chosen, real):
    assert real_save_path(typed, chosen, FIGURE_FILTER).name == real


@pytest.mark.parametrize(
    ("typed", "chosen", "real"),
    [
        ("m.pt", SAFETENSORS, "m.safetensors"),
        ("m", SAFETENSORS, "m.safetensors"),
        ("m.safetensors", "PyTorch checkpoint (*.pt *.pth *.ckpt)", "m.safetensors"),
        ("m.pth", SAFETENSORS, "m.pth"),
        ("m", "", "m.pt"),
        ("m.v2", "", "m.v2.pt"),
    ],
)
def test_a_model_name_becomes_the_file_written(typed, chosen, real):
    assert real_save_path(typed, chosen, SAVE_FILTER, switch=(".pt",)).name == real


def test_no_goes_back_to_the_dialog_at_the_refused_name(
    window, tmp_path, dialog, prompts
):
    """As Qt's own question does: a No lets the user pick another name."""
    taken = tmp_path / "myfig.svg"
    taken.write_bytes(OLD)
    dialog.update(path=tmp_path / "myfig", chosen=SVG, then=tmp_path / "other")
    window.export_figure_dialog("planes.plane/0")
    assert prompts["seen"] == ["myfig.svg already exists.\nReplace it?"]
    assert len(dialog["starts"]) == 2
    assert dialog["starts"][1] == str(taken), "reopened at the name refused"
    assert taken.read_bytes() == OLD
    assert (tmp_path / "other.svg").read_bytes().startswith(b"<?xml")


def test_csv_and_gif_names_get_their_extension():
    assert real_save_path("codes", "", CSV_FILTER).name == "codes.csv"
    assert real_save_path("run.2024", CSV_FILTER, CSV_FILTER).name == "run.2024.csv"
    assert real_save_path("codes.CSV", "", CSV_FILTER).name == "codes.CSV"
    assert real_save_path("anim", GIF_FILTER, GIF_FILTER).name == "anim.gif"


@pytest.mark.parametrize(("chosen", "real"), [(SVG, "myfig.svg"), (PNG2X, "myfig.png")])
def test_a_figure_typed_without_extension_asks_before_replacing(
    window, tmp_path, dialog, prompts, chosen, real
):
    target = tmp_path / real
    target.write_bytes(OLD)
    dialog.update(path=tmp_path / "myfig", chosen=chosen)

    window.export_figure_dialog("planes.plane/0")
    assert prompts["seen"] == [f"{real} already exists.\nReplace it?"]
    assert target.read_bytes() == OLD, "No still replaced the file"
    assert _leftovers(tmp_path, real) == []
    # The dialog's own question is off: it would ask about "myfig".
    assert all(o & QFileDialog.Option.DontConfirmOverwrite for o in dialog["options"])

    prompts["answer"] = YES
    window.export_figure_dialog("planes.plane/0")
    assert len(prompts["seen"]) == 2
    assert target.read_bytes() != OLD
    if real.endswith(".svg"):
        ET.parse(target)
    else:
        assert QImage(str(target)).width() > 100
    assert _leftovers(tmp_path, real) == []


def test_a_new_figure_name_is_written_without_a_question(
    window, tmp_path, dialog, prompts
):
    dialog.update(path=tmp_path / "fresh", chosen=SVG)
    window.export_figure_dialog("planes.plane/1")
    assert prompts["seen"] == []
    ET.parse(tmp_path / "fresh.svg")


def test_decoded_images_ask_once_about_the_files_they_replace(
    qtbot, window, tmp_path, dialog, prompts
):
    window.controller.decode_at(0.2, 0.1)
    qtbot.waitUntil(lambda: all(p.decode.z_label.text() for p in window.panels))
    left, right = tmp_path / "decoded-left.png", tmp_path / "decoded-right.png"
    left.write_bytes(OLD)
    dialog["path"] = tmp_path / "decoded"  # no extension, no filter said

    window.export_decoded_dialog()
    assert prompts["seen"] == ["decoded-left.png already exists.\nReplace it?"]
    assert left.read_bytes() == OLD
    assert _leftovers(tmp_path, left.name) == [], "No still wrote the other image"

    right.write_bytes(OLD)
    prompts["answer"] = YES
    window.export_decoded_dialog()
    assert prompts["seen"][1:] == [
        "decoded-left.png and decoded-right.png already exist.\nReplace them?"
    ]
    for path in (left, right):
        image = QImage(str(path))
        assert (image.width(), image.height()) == (28 * 8, 28 * 8)
    assert _leftovers(tmp_path, left.name, right.name) == []


def test_decoded_images_with_nothing_decoded_ask_nothing(window, dialog, prompts):
    dialog["path"] = "unused"
    window.export_decoded_dialog()
    assert window.last_error[0] == "Nothing to export"
    assert dialog["options"] == [] and prompts["seen"] == []


def test_a_model_saved_as_safetensors_asks_about_the_safetensors_file(
    qtbot, window, tmp_path, dialog, prompts
):
    target = tmp_path / "model.safetensors"
    target.write_bytes(OLD)
    dialog.update(path=tmp_path / "model.pt", chosen=SAFETENSORS)

    window.save_dialog(0)
    assert prompts["seen"] == ["model.safetensors already exists.\nReplace it?"]
    qtbot.wait(200)
    assert not window.controller.jobs.busy("save0")
    assert target.read_bytes() == OLD
    assert _leftovers(tmp_path, target.name) == []

    prompts["answer"] = YES
    with qtbot.waitSignal(window.controller.saved, timeout=20000):
        window.save_dialog(0)
    assert len(prompts["seen"]) == 2
    saved = load_checkpoint(target)
    assert saved.config == window.session.sides[0].checkpoint.config
    assert _leftovers(tmp_path, target.name) == []


def test_codes_typed_without_extension_ask_before_replacing(
    qtbot, window, tmp_path, dialog, prompts
):
    target = tmp_path / "codes.csv"
    target.write_bytes(OLD)
    dialog.update(path=tmp_path / "codes", chosen=CSV_FILTER)

    window.export_codes_dialog(1)
    assert prompts["seen"] == ["codes.csv already exists.\nReplace it?"]
    qtbot.wait(200)
    assert target.read_bytes() == OLD

    prompts["answer"] = YES
    with qtbot.waitSignal(window.controller.codesExported, timeout=10000):
        window.export_codes_dialog(1)
    assert len(read_codes_csv(target).mu) == len(window.session.sides[1].codes.mu)
    assert _leftovers(tmp_path, target.name) == []


def test_the_view_png_asks_and_gets_its_extension(window, tmp_path, dialog, prompts):
    target = tmp_path / "view.png"
    target.write_bytes(OLD)
    dialog["path"] = tmp_path / "view"

    window.export_view_dialog(0)
    assert prompts["seen"] == ["view.png already exists.\nReplace it?"]
    assert target.read_bytes() == OLD

    prompts["answer"] = YES
    window.export_view_dialog(0)
    assert QImage(str(target)).width() > 100, window.last_error
    assert _leftovers(tmp_path, target.name) == []


def test_a_gif_typed_without_extension_asks_before_replacing(
    qtbot,
    win,  # noqa: F811 - the fixture imported above
    tmp_path,
    dialog,
    prompts,
):
    from PIL import Image

    target = tmp_path / "timeline.gif"
    target.write_bytes(OLD)
    dialog.update(path=tmp_path / "timeline", chosen=GIF_FILTER)

    win.export_timeline_gif(0)
    # The name offered says which model the timeline is of.
    state = win.session.sides[0]
    cfg = state.checkpoint.config
    offered = Path(dialog["starts"][0]).name
    assert offered == f"timeline-{state.dataset.name}-{cfg.kind}-{cfg.latent_dim}d.gif"
    assert prompts["seen"] == ["timeline.gif already exists.\nReplace it?"]
    qtbot.wait(200)
    assert not win.controller.jobs.busy("gif0")
    assert target.read_bytes() == OLD

    prompts["answer"] = YES
    win.export_timeline_gif(0)
    qtbot.waitUntil(lambda: target.read_bytes() != OLD, timeout=10000)
    qtbot.waitUntil(lambda: not win.controller.jobs.busy("gif0"), timeout=10000)
    with Image.open(target) as im:
        assert im.n_frames == EPOCHS
    assert _leftovers(tmp_path, target.name) == []
