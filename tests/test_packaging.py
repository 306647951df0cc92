"""The sdist and the wheel carry what the installed app needs, and the wheel's
layout is found at run time; ``latentlab --install-desktop`` installs the desktop
entry for the user. Every file goes under ``tmp_path``: HOME and XDG_DATA_HOME are
pointed there, never at the real home.

``.ci/run`` goes one step further: it installs the wheel into a fresh venv and
starts the app from it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import latentlab
from latentlab.core.resources import (
    ICON_SIZES,
    desktop_exec_arg,
    install_desktop,
    models_dir,
    resources_dir,
    xdg_data_home,
)

REPO = Path(__file__).resolve().parents[1]
MODELS = sorted(p.name for p in (REPO / "models").glob("*.pt"))
RESOURCES = sorted(
    str(p.relative_to(REPO / "resources"))
    for p in (REPO / "resources").rglob("*")
    if p.is_file()
)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build`` output: the sdist, then a wheel built from that sdist."""
    pytest.importorskip("build", reason="the test extra's 'build' is not installed")
    pytest.importorskip("hatchling", reason="the test extra's 'hatchling' is missing")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    (path,) = dist.glob("*.whl")
    return path


@pytest.fixture(scope="module")
def unpacked_wheel(wheel, tmp_path_factory) -> Path:
    """The wheel's purelib as pip lays it out, with no source tree beside it."""
    root = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(root)
    return root


def _isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, HOME=str(tmp_path / "home"), **extra)
    for key in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "PYTHONPATH"):
        if key not in extra:
            env.pop(key, None)
    return env


# --- what the artefacts contain -------------------------------------------------


def test_wheel_carries_models_resources_and_license(wheel):
    version = latentlab.__version__
    assert wheel.name == f"latentlab-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for name in MODELS:
            member = f"latentlab/models/{name}"
            assert member in names, f"{member} missing from the wheel"
            assert _sha(zf.read(member)) == _sha((REPO / "models" / name).read_bytes())
        assert "latentlab/models/README.md" in names
        for rel in RESOURCES:
            assert f"latentlab/resources/{rel}" in names, f"resources/{rel} missing"
        for size in ICON_SIZES:
            assert f"latentlab/resources/icons/latentlab-{size}.png" in names
        dist_info = f"latentlab-{version}.dist-info"
        assert f"{dist_info}/licenses/LICENSE" in names
        metadata = zf.read(f"{dist_info}/METADATA").decode()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    assert not re.search(r"^License: ", metadata, re.M), "deprecated License field"
    assert "latentlab = latentlab.cli:main" in entry_points
    assert not {n for n in names if n.startswith(("tests/", "bench/", "models/"))}


def test_sdist_holds_the_repository_layout(dist):
    (sdist,) = dist.glob("*.tar.gz")
    prefix = f"latentlab-{latentlab.__version__}/"
    with tarfile.open(sdist) as tf:
        names = {m.name.removeprefix(prefix) for m in tf.getmembers() if m.isfile()}
    for top in ("README.md", "LICENSE", "pyproject.toml", "PKG-INFO"):
        assert top in names, f"{top} missing from the sdist"
    expected = [
        *(f"models/{n}" for n in [*MODELS, "README.md"]),
        *(f"resources/{rel}" for rel in RESOURCES),
        *(str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py")),
        *(str(p.relative_to(REPO)) for p in (REPO / "latentlab").rglob("*.py")),
    ]
    missing = sorted(set(expected) - names)
    assert not missing, f"missing from the sdist: {missing}"


# --- finding the shipped files --------------------------------------------------


def test_source_checkout_finds_the_top_level_folders():
    assert models_dir() == REPO / "models"
    assert resources_dir() == REPO / "resources"
    assert sorted(p.name for p in models_dir().glob("*.pt")) == MODELS


def test_unpacked_wheel_finds_its_own_copies(unpacked_wheel, tmp_path):
    # -S: no site-packages, so no editable install can lend the checkout's files.
    probe = (
        "from latentlab.core.resources import models_dir, resources_dir;"
        "print(models_dir()); print(resources_dir())"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=tmp_path,
        env=_isolated_env(tmp_path, PYTHONPATH=str(unpacked_wheel)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    models, resources = proc.stdout.split()
    assert Path(models) == unpacked_wheel / "latentlab" / "models"
    assert Path(resources) == unpacked_wheel / "latentlab" / "resources"


def test_app_from_the_unpacked_wheel_opens_its_shipped_pair(unpacked_wheel, tmp_path):
    """The issue's "0 model(s) loaded": the wheel's own models must be enough."""
    pytest.importorskip("PySide6")
    empty_data = tmp_path / "data"
    empty_data.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "latentlab", "--data-dir", str(empty_data)],
        cwd=tmp_path,
        # The unpacked wheel precedes site-packages (and any editable checkout).
        env=_isolated_env(
            tmp_path,
            PYTHONPATH=str(unpacked_wheel),
            QT_QPA_PLATFORM="offscreen",
            LATENTLAB_QUIT_WHEN_READY="1",
            XDG_CONFIG_HOME=str(tmp_path / "config"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "latentlab: ready, 2 model(s) loaded" in proc.stdout, proc.stderr
    assert "Traceback" not in proc.stderr


# --- the desktop entry -----------------------------------------------------------


def _install_cli(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "latentlab", "--install-desktop"],
        cwd=tmp_path,
        env=_isolated_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _expected_files(data_home: Path) -> set[Path]:
    hicolor = data_home / "icons" / "hicolor"
    return {
        data_home / "applications" / "latentlab.desktop",
        hicolor / "scalable" / "apps" / "latentlab.svg",
        *(hicolor / f"{n}x{n}" / "apps" / "latentlab.png" for n in ICON_SIZES),
    }


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_install_desktop_writes_the_entry_and_icons(tmp_path):
    data_home = tmp_path / "xdg-data"
    proc = _install_cli(tmp_path, XDG_DATA_HOME=str(data_home))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    expected = _expected_files(data_home)
    assert _files_under(data_home) == expected, "stray or missing files"
    printed = {Path(line.removeprefix("wrote ")) for line in proc.stdout.splitlines()}
    assert printed == expected
    assert not (tmp_path / "home").exists(), "something was written to HOME"

    for n in ICON_SIZES:
        png = data_home / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "latentlab.png"
        src = REPO / "resources" / "icons" / f"latentlab-{n}.png"
        assert png.read_bytes() == src.read_bytes()
        assert stat.S_IMODE(png.stat().st_mode) == 0o644
    entry = (data_home / "applications" / "latentlab.desktop").read_text()
    shipped = (REPO / "resources" / "latentlab.desktop").read_text()
    assert "Exec=latentlab %F" in shipped
    for line in ("Icon=latentlab", "Terminal=false", "Type=Application"):
        assert line in entry
    # Exec names this environment's script by absolute path (or the bare command
    # when there is none, e.g. a bare `python -m` run).
    (exec_line,) = re.findall(r"^Exec=(.*)$", entry, re.M)
    command = exec_line.removesuffix(" %F")
    script = Path(sys.executable).parent / "latentlab"
    assert command == (str(script) if script.is_file() else "latentlab")
    assert exec_line.endswith(" %F")


def test_install_desktop_twice_replaces_the_files(tmp_path):
    data_home = tmp_path / "xdg-data"
    assert _install_cli(tmp_path, XDG_DATA_HOME=str(data_home)).returncode == 0
    entry = data_home / "applications" / "latentlab.desktop"
    entry.write_text("stale")
    proc = _install_cli(tmp_path, XDG_DATA_HOME=str(data_home))
    assert proc.returncode == 0, proc.stderr
    assert entry.read_text().startswith("[Desktop Entry]")
    assert _files_under(data_home) == _expected_files(data_home), "temp files left"


def test_install_desktop_defaults_to_home_local_share(tmp_path):
    home = tmp_path / "home"
    proc = _install_cli(tmp_path)  # HOME=tmp_path/home, no XDG_DATA_HOME
    assert proc.returncode == 0, proc.stderr
    assert _files_under(home) == _expected_files(home / ".local" / "share")


def test_relative_xdg_data_home_is_ignored(tmp_path):
    home = tmp_path / "home"
    default = Path.home() / ".local" / "share"  # a path only: nothing is written
    assert xdg_data_home({"XDG_DATA_HOME": "relative/share"}) == default
    assert xdg_data_home({"XDG_DATA_HOME": ""}) == default
    assert xdg_data_home({"XDG_DATA_HOME": str(tmp_path)}) == tmp_path
    proc = _install_cli(tmp_path, XDG_DATA_HOME="relative/share")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "relative").exists()
    assert _files_under(home) == _expected_files(home / ".local" / "share")


def test_install_desktop_into_a_file_fails_in_one_line(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data folder should be")
    proc = _install_cli(tmp_path, XDG_DATA_HOME=str(blocker))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("latentlab: error: cannot write ")
    assert str(blocker) in lines[0]
    assert lines[0].count("write") == 1, "the reason is said once"
    assert "is a file in the way?" in lines[0]
    assert blocker.read_text().startswith("a file")


def test_install_desktop_over_a_folder_says_so_once(tmp_path):
    home = tmp_path / "share"
    entry = home / "applications" / "latentlab.desktop"
    entry.mkdir(parents=True)  # a folder where the entry goes
    proc = _install_cli(tmp_path, XDG_DATA_HOME=str(home))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].count("could not write") + lines[0].count("cannot write") == 1
    assert "a folder of that name is in the way" in lines[0]
    assert entry.is_dir()


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("/usr/bin/latentlab", "/usr/bin/latentlab"),
        ("/home/a b/.venv/bin/latentlab", '"/home/a b/.venv/bin/latentlab"'),
        ("/opt/$x/latentlab", r'"/opt/\\$x/latentlab"'),
        ("/opt/100%/latentlab", "/opt/100%%/latentlab"),
        ("/opt/back\\slash", r'"/opt/back\\\\slash"'),
    ],
)
def test_exec_argument_is_quoted_per_the_desktop_entry_spec(arg, expected):
    assert desktop_exec_arg(arg) == expected


def test_launcher_path_with_spaces_lands_quoted_in_exec(tmp_path):
    install_desktop(tmp_path, launcher="/home/a b/bin/latentlab")
    entry = (tmp_path / "applications" / "latentlab.desktop").read_text()
    assert 'Exec="/home/a b/bin/latentlab" %F' in entry.splitlines()


@pytest.mark.skipif(
    shutil.which("desktop-file-validate") is None,
    reason="desktop-file-validate (desktop-file-utils) is not installed",
)
def test_installed_entry_passes_desktop_file_validate(tmp_path):
    install_desktop(tmp_path, launcher="/home/a b/bin/latentlab")
    proc = subprocess.run(
        ["desktop-file-validate", str(tmp_path / "applications" / "latentlab.desktop")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    errors = [ln for ln in proc.stdout.splitlines() if ": error:" in ln]
    assert proc.returncode == 0 and not errors, proc.stdout
