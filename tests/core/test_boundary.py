"""The core and the CLI import without Qt (STYLE.md §1.2)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from ..probe import python_report

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
    report = python_report(_PROBE)
    core_files = {p.stem for p in (REPO / "latentlab" / "core").glob("*.py")}
    imported = {n.rsplit(".", 1)[-1] for n in report["imported"]}
    assert core_files - {"__init__"} <= imported, "every core module was imported"
    assert "latentlab.cli" in report["imported"]
    assert report["qt"] == [], f"Qt modules reached sys.modules: {report['qt']}"


def test_package_root_imports_neither_torch_nor_qt() -> None:
    """``import latentlab`` (the version string) stays instant."""
    probe = (
        "import json, sys, latentlab\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    roots = python_report(probe)
    for heavy in ("torch", *QT_MODULES):
        assert heavy not in roots, heavy
