"""``latentlab [FILE ...]`` starts the desktop app; ``latentlab
--install-desktop`` adds it to this user's application menu."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from latentlab.cli.parsers import EXIT_USAGE

if TYPE_CHECKING:
    from collections.abc import Sequence


def run_gui(files: Sequence[str], data_dir: str | None) -> int:
    """Start the desktop app."""
    if len(files) > 2:
        print("latentlab: error: give at most two checkpoints", file=sys.stderr)
        return EXIT_USAGE
    if data_dir is not None:
        from latentlab.core.data import check_data_dir

        check_data_dir(data_dir, what="--data-dir")
    try:
        from latentlab.qt.app import run_app
    except ImportError as exc:
        print(
            f"latentlab: error: the desktop app needs PySide6 and pyqtgraph ({exc})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return run_app(list(files), data_dir)


def cmd_install_desktop() -> int:
    """``latentlab --install-desktop``: the desktop entry and icons, for this user."""
    from latentlab.core.resources import install_desktop

    for path in install_desktop():
        print(f"wrote {path}")
    return 0
