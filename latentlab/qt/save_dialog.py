"""Save dialogs that ask before replacing the file a save will really write.

QFileDialog asks about the name as typed; the app then adds an extension
(``myfig`` -> ``myfig.svg``) or changes it (``.pt`` -> ``.safetensors``), or
writes two files from one name, and those were replaced without a word. So the
dialog's own question is turned off, the real paths are derived here, and one
question names every one of them that exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QIODevice, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from latentlab.core.errors import ExportError
from latentlab.core.files import write_atomic
from latentlab.core.text import printable

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QWidget

_SUFFIX_RE = re.compile(r"\*(\.[^\s;()*]+)")


def filter_suffixes(filters: str) -> list[str]:
    """The extensions a Qt name filter lists, in order, lower case:
    ``"SVG image (*.svg);;All (*)"`` -> ``[".svg"]``."""
    return [s.lower() for s in _SUFFIX_RE.findall(filters)]


def real_save_path(
    path: str, chosen: str, filters: str, *, switch: Sequence[str] = ()
) -> Path:
    """The file a save to ``path`` writes: a name without an extension that
    ``filters`` lists gets the chosen filter's first one (``fig.v2`` ->
    ``fig.v2.svg``); an extension in ``switch`` becomes the chosen filter's
    (the start name's ``.pt`` when safetensors was picked)."""
    target = Path(path)
    # Some dialogs (and tests) say no filter: the first one is the default.
    wanted = filter_suffixes(chosen) or filter_suffixes(filters.split(";;")[0])
    if not wanted:
        return target
    suffix = target.suffix.lower()
    if suffix in (s.lower() for s in switch):
        return target.with_suffix(wanted[0])
    if suffix not in filter_suffixes(filters):
        return target.with_name(target.name + wanted[0])
    return target


def confirm_replace(parent: QWidget | None, targets: Sequence[Path]) -> bool:
    """Ask once before replacing those of ``targets`` that exist; True to go on."""
    taken = [t for t in targets if t.exists() or t.is_symlink()]
    if not taken:
        return True
    names = [printable(t.name) for t in taken]
    if len(names) == 1:
        text = f"{names[0]} already exists.\nReplace it?"
    else:
        text = f"{', '.join(names[:-1])} and {names[-1]} already exist.\nReplace them?"
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Replace file?",
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        parent,
    )
    box.setObjectName("replacePrompt")
    box.setTextFormat(Qt.TextFormat.PlainText)  # a file name is not markup
    box.setInformativeText(f"In {printable(str(taken[0].parent))}")
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def ask_save_path(
    parent: QWidget | None,
    title: str,
    start: str | Path,
    filters: str,
    *,
    switch: Sequence[str] = (),
    targets: Callable[[Path], Sequence[Path]] | None = None,
) -> Path | None:
    """Ask for a file to save; the real path (see :func:`real_save_path`), or
    None when cancelled. Refusing to replace a file opens the dialog again.

    ``targets`` maps that path to the files the save writes, when it writes
    others than the path itself; every one of them that exists is asked about.
    """
    while True:
        # The dialog would ask about the name as typed: asked below, about the
        # real one.
        path, chosen = QFileDialog.getSaveFileName(
            parent,
            title,
            str(start),
            filters,
            options=QFileDialog.Option.DontConfirmOverwrite,
        )
        if not path:
            return None
        target = real_save_path(path, chosen, filters, switch=switch)
        written = list(targets(target)) if targets is not None else [target]
        if confirm_replace(parent, written):
            return target
        start = target  # No: back to the dialog, as Qt's own question does


def png_bytes(image: QImage) -> bytes:
    """``image`` encoded as PNG; ExportError if Qt cannot."""
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if image.isNull() or not image.save(buf, "PNG"):
        raise ExportError("the image could not be encoded as PNG")
    return bytes(buf.data())


def save_png(image: QImage, path: str | Path) -> Path:
    """Write ``image`` as PNG to ``path`` atomically (an existing file stays
    whole if the write fails). Raises :class:`ExportError`."""
    return write_atomic(Path(path), png_bytes(image), error=ExportError)
