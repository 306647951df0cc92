"""Saving under faults, injected in child processes: a full disk, a file-size
limit, a failing fsync, Ctrl+C mid-save and a killed save's leftovers.

After every fault the old file is byte-for-byte intact, no temporary file is
left, and ``latentlab train`` says so in one line (exit 2, or 130 for Ctrl+C).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from latentlab.core.checkpoints import load_checkpoint, save_checkpoint
from latentlab.core.config import ModelConfig
from latentlab.core.files import STALE_TEMP_S, TEMP_MARK
from latentlab.core.training import new_model

REPO = Path(__file__).resolve().parents[2]
TINY = ModelConfig(kind="vae", hidden=(8,))

# One child runs every CLI scenario in turn (torch is imported once): each
# scenario arms one fault, calls latentlab.cli.main() and reports what it saw.
_CLI_FAULTS = textwrap.dedent(
    """
    import contextlib, errno, io, json, os, resource, signal, sys
    from latentlab.cli import main

    real_fsync = os.fsync
    results = {}
    for arg in sys.argv[1:]:
        scenario, out = arg.split("=", 1)

        def fsync_fault(fd, scenario=scenario):
            if scenario == "ctrl-c":
                os.kill(os.getpid(), signal.SIGINT)  # as a user would, mid-save
                real_fsync(fd)
            else:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)
        if scenario in ("ctrl-c", "fsync-enospc"):
            os.fsync = fsync_fault
        elif scenario == "file-size-limit":
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG, not a kill
            resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, limit[1]))
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err):
                rc = main([
                    "train", "--dataset", "shapes", "--model", "ae", "--hidden",
                    "16", "--epochs", "1", "--batch-size", "512", "--threads", "1",
                    "--out", out, "--force",
                ])
        finally:
            os.fsync = real_fsync
            resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        results[scenario] = {"rc": rc, "stderr": err.getvalue()}
    print(json.dumps(results))
    """
)
SCENARIOS = {
    "fsync-enospc": (2, "No space left on device; the existing file is unchanged"),
    "file-size-limit": (2, "File too large; the existing file is unchanged"),
    "ctrl-c": (130, "interrupted while saving"),
}


def _run_child(script: str, *args: str, timeout: float = 120):
    home = Path(args[0].split("=")[-1]).parent  # the test's folder, not ~
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
        check=False,
    )


def _folder_state(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def faulted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each scenario's folder, old bytes and the child's report."""
    folders = {}
    for scenario in SCENARIOS:
        folder = tmp_path_factory.mktemp(scenario)
        out = save_checkpoint(
            folder / "model.pt", new_model(TINY), metrics={"old": 1.0}
        )
        folders[scenario] = (folder, out.read_bytes())
    args = [f"{name}={folder / 'model.pt'}" for name, (folder, _) in folders.items()]
    proc = _run_child(_CLI_FAULTS, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr
    results = json.loads(proc.stdout.splitlines()[-1])
    return {name: (*folders[name], results[name]) for name in SCENARIOS}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_failed_save_keeps_the_old_file(faulted, scenario: str) -> None:
    rc, words = SCENARIOS[scenario]
    folder, before, result = faulted[scenario]
    out = folder / "model.pt"
    lines = result["stderr"].splitlines()
    assert result["rc"] == rc, result
    assert len(lines) == 1 and words in lines[0], lines
    assert "Traceback" not in result["stderr"]
    assert out.read_bytes() == before, "the old checkpoint was changed"
    assert _folder_state(folder) == ["model.pt"], "a temporary file was left"
    assert load_checkpoint(out).metrics == {"old": 1.0}


_TMPFS_SAVE = textwrap.dedent(
    """
    import sys
    from latentlab.core.checkpoints import save_checkpoint
    from latentlab.core.config import ModelConfig
    from latentlab.core.errors import CheckpointError
    from latentlab.core.training import new_model

    try:
        save_checkpoint(sys.argv[1], new_model(ModelConfig()), overwrite=True)
    except CheckpointError as exc:
        print("CheckpointError", exc)
    """
)


@contextlib.contextmanager
def _tiny_tmpfs(folder: Path, size: str = "256k"):
    """A really full disk: a 256 KB tmpfs (needs root and CAP_SYS_ADMIN)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_disk_keeps_the_old_file(tmp_path: Path) -> None:
    with _tiny_tmpfs(tmp_path / "disk") as disk:
        out = save_checkpoint(disk / "model.pt", new_model(TINY))  # ~60 KB fits
        before = out.read_bytes()
        proc = _run_child(_TMPFS_SAVE, str(out))  # a 4 MB model does not
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.startswith("CheckpointError"), proc.stdout
        assert "No space left on device" in proc.stdout
        assert out.read_bytes() == before
        assert _folder_state(disk) == ["model.pt"]


def test_ctrl_c_during_training_exits_130_in_one_line(tmp_path: Path) -> None:
    """SIGINT to a real ``latentlab train`` process once its first epoch is done."""
    out = tmp_path / "never.pt"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "latentlab", "train", "--dataset", "shapes",
            "--model", "ae", "--hidden", "16", "--epochs", "500",
            "--batch-size", "512", "--threads", "1", "--out", str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if line.startswith("epoch"):
                break
        proc.send_signal(2)  # SIGINT, as Ctrl+C in the terminal sends
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert err.splitlines() == [f"latentlab: interrupted; nothing was saved to {out}"]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_next_save_removes_temps_of_killed_saves(tmp_path: Path) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead_pid = int(gone.stdout)
    dead = tmp_path / f".model.pt{TEMP_MARK}{dead_pid}-0123abcd"
    live = tmp_path / f".other.pt{TEMP_MARK}{os.getppid()}-0123abcd"
    old = tmp_path / f".old.pt{TEMP_MARK}{os.getppid()}-4567abcd"
    mine = tmp_path / f".mine.pt{TEMP_MARK}{os.getpid()}-89abcdef"
    lookalike = tmp_path / ".notes.latentlab-tmp-x"
    for path in (dead, live, old, mine, lookalike):
        path.write_bytes(b"half a checkpoint")
    stale = time.time() - STALE_TEMP_S - 60
    os.utime(old, (stale, stale))
    save_checkpoint(tmp_path / "new.pt", new_model(TINY))
    left = _folder_state(tmp_path)
    assert dead.name not in left, "a dead saver's temp survived"
    assert old.name not in left, "a temp older than an hour survived"
    assert {live.name, mine.name, lookalike.name, "new.pt"} == set(left)
