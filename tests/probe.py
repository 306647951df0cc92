"""Run code in a fresh interpreter and read what it reports (for tests of what
an import or a start-up leaves in ``sys.modules``, which this process cannot show)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def python_report(code: str, env: dict[str, str] | None = None) -> Any:
    """Run ``python -c code`` from the checkout; its last stdout line as JSON.

    Fails the test, with the child's stderr, when the child fails.
    """
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def app_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh app process whose settings, home and data
    folder are all under ``home`` (the shipped shapes pair loads), with Qt's GUI
    thread pool as the app itself chooses; ``extra`` adds variables."""
    env = dict(
        os.environ,
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(home),
        HOME=str(home),
        LATENTLAB_DATA=str(home / "no-data"),
        **extra,
    )
    env.pop("QT_NO_GUI_THREADPOOL", None)
    return env
