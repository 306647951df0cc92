"""Writing files safely: recognisable temp names, stale-temp cleanup, early checks.

Imports neither torch nor Qt, so ``latentlab train`` checks its ``--out`` before
paying for the torch import, and so the Qt layer can check a folder cheaply.

Every save writes ``.<name>.latentlab-tmp-<pid>-<hex>`` beside the target and
renames it into place. A save killed before the rename leaves that file behind;
the next save into the same folder removes it once its writer is gone (or it is
older than :data:`STALE_TEMP_S`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

from latentlab.core.errors import CheckpointError, LatentLabError
from latentlab.core.text import printable_path

if TYPE_CHECKING:
    from collections.abc import Iterable

TEMP_MARK = ".latentlab-tmp-"
_TEMP_RE = re.compile(r"^\..+\.latentlab-tmp-(\d+)-[0-9a-f]{8}$")
# A temp file this old belongs to no save still running, whatever its pid says
# (pids are reused).
STALE_TEMP_S = 3600.0


def temp_path(target: Path) -> Path:
    """A fresh temp name beside ``target`` that :func:`clean_stale_temps` knows."""
    folder = target.parent
    return folder / f".{target.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}"


def write_atomic(
    target: Path,
    data: bytes,
    *,
    error: type[Exception] = CheckpointError,
    mode: int | None = None,
) -> Path:
    """Write ``data`` to ``target`` through a temp file and a rename, so a
    failure (disk full, Ctrl+C) leaves any existing file as it was and no temp
    behind. An ``OSError`` becomes one line of ``error``."""
    folder = target.parent if str(target.parent) else Path(".")
    clean_stale_temps(folder)
    tmp = temp_path(folder / target.name)
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        shown = printable_path(target)
        raise error(f"could not write {shown}: {exc.strerror or exc}") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process, or a pid we cannot ask about
    return True


def clean_stale_temps(folder: Path, *, now: float | None = None) -> list[Path]:
    """Remove temp files left in ``folder`` by saves that were killed.

    A temp file goes when the process that wrote it no longer exists, or when
    it is older than :data:`STALE_TEMP_S`. Our own pid's temps are kept unless
    stale: another thread may be saving. Best effort: errors are ignored.
    Returns the files removed.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        pid = int(match.group(1))
        stale = now - info.st_mtime > STALE_TEMP_S
        gone = pid != os.getpid() and not _pid_alive(pid)
        if stale or gone:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def probe_writable(folder: Path, *, what: str) -> None:
    """Create and remove a temp file in ``folder``; CheckpointError if we cannot.

    ``os.access`` says yes to root on a read-only mount; only a real create
    tells. ``what`` names the file the caller means to write, for the message.
    """
    probe = temp_path(folder / "probe")
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise CheckpointError(
            f"cannot write {what}: folder {printable_path(folder)} is not writable "
            f"({exc.strerror or exc})"
        ) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def check_output_file(path: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Check, before any work, that a checkpoint can be written to ``path``.

    Raises
    ------
    CheckpointError
        ``path`` is a folder (or empty), exists and ``overwrite`` is False, its
        folder is missing, is not a folder, or is not writable.
    """
    target = Path(path)
    shown = printable_path(target)
    try:
        os.lstat(target)
    except (FileNotFoundError, NotADirectoryError):
        pass  # said below, in words
    except (OSError, ValueError) as exc:  # a name too long, a NUL, a loop
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise CheckpointError(f"cannot save to {shown}: {reason or exc}") from exc
    if not str(path).strip() or target.is_dir():
        raise CheckpointError(f"cannot save to {shown}: it is a folder")
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise CheckpointError(
            f"{shown} already exists; choose another name or allow overwriting"
        )
    if target.exists() and not target.is_file():
        raise CheckpointError(f"cannot save to {shown}: it is not a regular file")
    folder = target.parent
    if not folder.exists():
        raise CheckpointError(
            f"cannot save to {shown}: folder {printable_path(folder)} does not exist"
        )
    if not folder.is_dir():
        raise CheckpointError(
            f"cannot save to {shown}: {printable_path(folder)} is not a folder"
        )
    probe_writable(folder, what=shown)
    return target


def prepare_folder(path: str | os.PathLike[str], *, what: str) -> Path:
    """Make sure ``path`` is a writable folder, creating it if missing.

    Raises
    ------
    CheckpointError
        It is a file, cannot be created, or is not writable.
    """
    folder = Path(path)
    shown = printable_path(folder)
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"{what} {shown} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(
            f"cannot create {what} {shown}: {exc.strerror or exc}"
        ) from exc
    probe_writable(folder, what=f"into {what} {shown}")
    return folder


def check_not_an_input(
    out: str | os.PathLike[str],
    inputs: Iterable[str | os.PathLike[str]],
    *,
    flag: str = "--out",
    error: type[LatentLabError] = CheckpointError,
) -> None:
    """Refuse, before any work, to write ``out`` when it is one of ``inputs``.

    Files are compared by device and inode, so a symlink or a hard link to an
    input is that input, whatever ``--force`` says. An ``out`` that does not
    exist yet is no input.

    Example
    -------
    >>> check_not_an_input("codes.csv", ["model.pt"])  # doctest: +SKIP
    """
    try:
        written = os.stat(out)
    except (OSError, ValueError):
        return
    for path in inputs:
        try:
            read = os.stat(path)
        except (OSError, ValueError):
            continue
        if (read.st_dev, read.st_ino) == (written.st_dev, written.st_ino):
            same = (
                ""
                if str(path) == str(out)
                else f" (the same file as {printable_path(path)})"
            )
            raise error(
                f"{flag} {printable_path(out)} is one of this command's inputs"
                f"{same}; write to another file"
            )
