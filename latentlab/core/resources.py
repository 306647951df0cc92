"""The files LatentLab ships beside its code, and the per-user desktop-entry install.

The repository keeps ``models/`` (checkpoints) and ``resources/`` (icon, desktop
entry) at its top level; a wheel carries them inside the package as
``latentlab/models`` and ``latentlab/resources`` (``pyproject.toml``, hatchling's
``force-include``). A source checkout uses the top-level folders; so does an
editable install: hatchling copies the force-included files into site-packages'
``latentlab/`` there, but the source package shadows that folder, so those copies
are never found (nor go stale unseen). Qt-free: the CLI uses it too.
"""

from __future__ import annotations

import os
import re
import sys
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from latentlab.core.errors import LatentLabError
from latentlab.core.files import write_atomic
from latentlab.core.text import printable_path

if TYPE_CHECKING:
    from collections.abc import Mapping

APP_ID = "latentlab"
"""The desktop-entry and icon name (``latentlab.desktop``, ``Icon=latentlab``)."""
ICON_SIZES = (16, 32, 48, 64, 128, 256)

# Characters that force an Exec argument into double quotes (Desktop Entry spec,
# "The Exec key").
_EXEC_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def shipped_dir(name: str) -> Path:
    """The shipped folder ``name`` (``"models"`` or ``"resources"``).

    Inside the installed package when it is there (a wheel), else the repository's
    top-level folder when this package runs from a source or editable checkout.
    Returns the in-package path, which may not exist, when neither is found.
    """
    # A regular (non-zip) package: files() is a filesystem path.
    packaged = Path(str(files("latentlab") / name))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2]
    # Only a checkout of this project: site-packages may hold another "models".
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_dir():
        return checkout / name
    return packaged


def models_dir() -> Path:
    """Where the shipped checkpoints are (see ``models/README.md``)."""
    return shipped_dir("models")


def resources_dir() -> Path:
    """Where the icon and the desktop entry are."""
    return shipped_dir("resources")


def icon_svg() -> Path:
    """The scalable application icon."""
    return resources_dir() / f"{APP_ID}.svg"


def icon_pngs() -> dict[int, Path]:
    """The application icon rendered at each of :data:`ICON_SIZES`, by size."""
    icons = resources_dir() / "icons"
    return {size: icons / f"{APP_ID}-{size}.png" for size in ICON_SIZES}


def desktop_entry() -> Path:
    """The shipped freedesktop entry, ``latentlab.desktop``."""
    return resources_dir() / f"{APP_ID}.desktop"


def xdg_data_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME``, or ``~/.local/share`` when it is unset or relative.

    The XDG Base Directory spec says a relative value is invalid and is ignored.
    """
    env = os.environ if environ is None else environ
    value = env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / ".local" / "share"


def desktop_exec_arg(arg: str) -> str:
    """``arg`` quoted and escaped as one argument of a desktop entry's Exec key."""
    if "\n" in arg or "\r" in arg:
        raise LatentLabError(f"cannot put a path with a line break into Exec: {arg!r}")
    arg = arg.replace("%", "%%")
    if any(c in _EXEC_RESERVED for c in arg):
        arg = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
    # The string-value escape applies on top of the quoting rule.
    return arg.replace("\\", "\\\\")


def _launcher() -> str:
    """The command the entry should run: this environment's ``latentlab`` script,
    by absolute path (a venv's bin is rarely on the desktop session's PATH)."""
    # sys.executable unresolved: a venv's python is a symlink out of the venv.
    script = Path(sys.executable).parent / APP_ID
    return str(script.absolute()) if script.is_file() else APP_ID


def _write_atomically(target: Path, data: bytes) -> None:
    """One file of the installation; any failure is one line that says what
    to do (a folder in the way, a file where a folder should be)."""
    shown = printable_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LatentLabError(
            f"cannot write {shown}: cannot create its folder "
            f"({exc.strerror or exc}); is a file in the way?"
        ) from exc
    if target.is_dir():
        raise LatentLabError(
            f"cannot write {shown}: a folder of that name is in the way; "
            "move or remove it"
        )
    # Menus read the entry as the user; the temp file alone would be private.
    write_atomic(target, data, error=LatentLabError, mode=0o644)


def install_desktop(
    data_home: Path | None = None, launcher: str | None = None
) -> list[Path]:
    """Install the desktop entry and icons for the current user; return the paths.

    Writes ``<data_home>/applications/latentlab.desktop`` (its Exec pointing at
    ``launcher``, by default this environment's ``latentlab`` script),
    ``<data_home>/icons/hicolor/<N>x<N>/apps/latentlab.png`` for each size and
    ``.../scalable/apps/latentlab.svg``. Each file is replaced atomically.
    ``data_home`` defaults to :func:`xdg_data_home`.
    """
    home = xdg_data_home() if data_home is None else data_home
    sources = [desktop_entry(), icon_svg(), *icon_pngs().values()]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise LatentLabError(
            f"this installation lacks its resources: {', '.join(missing)}"
        )
    command = desktop_exec_arg(_launcher() if launcher is None else launcher)
    entry = desktop_entry().read_text(encoding="utf-8")
    entry, n = re.subn(
        r"^Exec=\S+", lambda _: f"Exec={command}", entry, count=1, flags=re.M
    )
    if n != 1:
        raise LatentLabError(f"{desktop_entry()} has no Exec line")

    icons = home / "icons" / "hicolor"
    plan: list[tuple[Path, bytes]] = [
        (home / "applications" / f"{APP_ID}.desktop", entry.encode("utf-8")),
        (icons / "scalable" / "apps" / f"{APP_ID}.svg", icon_svg().read_bytes()),
    ]
    for size, png in icon_pngs().items():
        plan.append(
            (icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png", png.read_bytes())
        )
    written = []
    for target, data in plan:
        _write_atomically(target, data)
        written.append(target)
    # A newer theme folder tells icon caches to rescan (as xdg-icon-resource does).
    os.utime(icons)
    return written
