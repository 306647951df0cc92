"""The main window's files: opening and saving checkpoints, the Save / Discard /
Cancel prompt for unsaved models, Open Recent, the dataset of a model trained
elsewhere, and the folder the file dialogs start in."""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from latentlab.core.catalog import DATASET_NAMES
from latentlab.core.data import expected_shape
from latentlab.core.session import SIDE_NAMES, SIDES
from latentlab.qt.save_dialog import ask_save_path

MAX_RECENT = 8
CHECKPOINT_FILTER = (
    "Checkpoints (*.pt *.pth *.ckpt *.safetensors);;safetensors (*.safetensors);;"
    "All files (*)"
)
# .pth and .ckpt are torch files too: listed so a name ending so keeps it.
SAVE_FILTER = "PyTorch checkpoint (*.pt *.pth *.ckpt);;safetensors (*.safetensors)"


class WindowFiles:
    """Checkpoint files of :class:`~latentlab.qt.main_window.MainWindow` (a
    mixin): the window provides ``session``, ``controller``, ``settings``,
    ``recent_menu`` and :meth:`show_error`."""

    # --- unsaved models ----------------------------------------------------------

    def confirm_discard(self, sides: list[int], action: str) -> bool:
        """Ask Save / Discard / Cancel for each unsaved model of ``sides``.

        True when the action may go on (saved or discarded); Cancel, or a save
        that was not written, returns False and changes nothing.
        """
        for side in sides:
            state = self.session.sides[side]
            if not state.unsaved:
                continue
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Unsaved model",
                f"The {SIDE_NAMES[side]} model ({state.checkpoint.title()}) has "
                f"not been saved. {action} will discard it.",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                self,
            )
            box.setObjectName("unsavedPrompt")
            box.setDefaultButton(QMessageBox.StandardButton.Save)
            answer = box.exec()
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            if answer == QMessageBox.StandardButton.Save:
                path = self._ask_save_path(side)
                if not path or not self.controller.save_now(side, path):
                    return False
        return True

    # --- files -------------------------------------------------------------------

    def open_dialog(self, side: int) -> None:
        """Ask for a checkpoint and load it into ``side``."""
        start = str(self._last_dir())
        path, _ = QFileDialog.getOpenFileName(
            self,
            f"Open checkpoint into the {SIDE_NAMES[side]} panel",
            start,
            CHECKPOINT_FILTER,
        )
        if path:
            self.open_file(side, path)

    def open_folder_dialog(self, side: int) -> None:
        """Ask for a folder pythae saved and load it into ``side``."""
        path = QFileDialog.getExistingDirectory(
            self,
            f"Open a pythae folder into the {SIDE_NAMES[side]} panel",
            str(self._last_dir()),
        )
        if path:
            self.open_file(side, path)

    def open_file(self, side: int, path: str) -> None:
        """Load ``path`` into ``side``; it joins Open Recent once it opened."""
        if self.controller.training:
            self.show_error(
                "Training is running", "Stop training before loading another model."
            )
            return
        if not self.confirm_discard([side], f"Opening {Path(path).name}"):
            return
        self.settings.setValue("lastDir", str(Path(path).parent))
        self.controller.load_file(side, path)

    def _ask_save_path(self, side: int) -> Path | None:
        """Where to save ``side``'s model; asks before replacing that file."""
        state = self.session.sides[side]
        cfg = state.checkpoint.config
        dataset = state.checkpoint.dataset.get("name", "model")
        name = f"{dataset}-{cfg.kind}-{cfg.latent_dim}d.pt"
        start = self._last_dir() / name
        # The start name's .pt gives way when safetensors is picked: a native
        # dialog may not change it with the filter.
        return ask_save_path(
            self,
            f"Save the {SIDE_NAMES[side]} model",
            start,
            SAVE_FILTER,
            switch=(".pt",),
        )

    def save_dialog(self, side: int) -> None:
        """Ask where to save ``side``'s model (and before replacing a file)."""
        state = self.session.sides[side]
        if state.checkpoint is None or state.training:
            self.show_error("Nothing to save", "This panel has no finished model yet.")
            return
        refusal = self.controller.workspace.save_refusal(side)
        if refusal:
            self.show_error("Cannot save this model", refusal)
            return
        path = self._ask_save_path(side)
        if path is not None:
            # ask_save_path has asked before replacing an existing file.
            self.controller.save(side, path, overwrite=True)

    # --- models trained elsewhere ------------------------------------------------

    def ask_dataset(self, title: str, pixels: int) -> str | None:
        """Ask which dataset a model trained elsewhere was trained on; None to
        show it without a test set. (Tests replace this method.) The sets whose
        images have the model's ``pixels`` come first."""
        names = [n for n in DATASET_NAMES if n != "folder"]
        fits = [n for n in names if math.prod(expected_shape(n)) == pixels]
        names = fits + [n for n in names if n not in fits]
        default = names.index("mnist") if pixels == 784 and "mnist" in names else 0
        name, ok = QInputDialog.getItem(
            self,
            "Which dataset?",
            f"{title}\n\nThe file does not say which dataset the model was trained "
            "on. Plot the test images of:",
            names,
            default,
            False,
        )
        return name if ok and name else None

    def _on_dataset_needed(self, side: int, checkpoint) -> None:
        name = self.ask_dataset(checkpoint.title(), checkpoint.config.pixels)
        self.controller.use_dataset(side, checkpoint, name)

    # --- recent files and the dialogs' folder -----------------------------------

    def _remember(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recentFiles", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def recent_files(self) -> list[str]:
        """File ▸ Open Recent, newest first: files that opened or were saved."""
        value = self.settings.value("recentFiles", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, str) and v]

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_files():
            sub = self.recent_menu.addMenu(Path(path).name)
            sub.setToolTip(path)
            for side, name in zip(SIDES, SIDE_NAMES, strict=True):
                act = sub.addAction(f"Open into {name}")
                act.triggered.connect(
                    lambda _=False, s=side, p=path: self.open_file(s, p)
                )
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def _setting_text(self, key: str, default: str = "") -> str:
        """A text setting; a damaged settings file (a list, a number) gives
        ``default`` rather than a traceback."""
        value = self.settings.value(key, default)
        return value if isinstance(value, str) else default

    def _last_dir(self) -> Path:
        """The folder the last file dialog used (the working folder at first)."""
        return Path(self._setting_text("lastDir") or Path.cwd())
