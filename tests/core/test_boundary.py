"""The core and the CLI import without Qt (STYLE.md §1.2)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
QT_MODULES = ("PySide6", "pyqtgraph", "qtpy", "superqt", "shiboken6")

_PROBE = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    import latentlab.core

    names = ["latentlab", "latentlab.core", "latentlab.cli"] + [
        info.name
        for info in pkgutil.walk_packages(latentlab.core.__path__, "latentlab.core.")
    ]
    for name in names:
        importlib.import_module(name)
    qt = sorted(
        m for m in sys.modules if m.split(".")[0] in {qt_roots!r}
    )
    print(json.dumps({{"imported": names, "qt": qt}}))
    """
).format(qt_roots=set(QT_MODULES))


def test_core_and_cli_import_without_qt() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.splitlines()[-1])
    core_files = {p.stem for p in (REPO / "latentlab" / "core").glob("*.py")}
    imported = {n.rsplit(".", 1)[-1] for n in report["imported"]}
    assert core_files - {"__init__"} <= imported, "every core module was imported"
    assert "latentlab.cli" in report["imported"]
    assert report["qt"] == [], f"Qt modules reached sys.modules: {report['qt']}"


def test_package_root_imports_neither_torch_nor_qt() -> None:
    """``import latentlab`` (the version string) stays instant."""
    probe = (
        "import sys, latentlab; print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    roots = proc.stdout
    for heavy in ("torch", *QT_MODULES):
        assert f"'{heavy}'" not in roots, heavy
