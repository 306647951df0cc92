"""Image files are decoded only as raster formats: no file runs a program.

Pillow hands EPS to Ghostscript, whatever the file is called. A fake ``gs`` on
``PATH`` writes a marker when anything runs it, so these tests fail (rather than
skip) on a machine without Ghostscript too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import EpsImagePlugin, Image

from latentlab.core.data import load_image_folder, read_grey_image
from latentlab.core.errors import DataError
from latentlab.core.raster import RASTER_FORMATS, identify, open_raster

if TYPE_CHECKING:
    from pathlib import Path

EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n"
    b"(from a file) print\nshowpage\n"
)
# A program that never ends: a real Ghostscript would hang the loader.
PS_LOOP = b"%!PS\n{ } loop\n"
# The DOS EPS binary header: magic, then offsets to the PostScript section.
DOS_EPS = (
    b"\xc5\xd0\xd3\xc6"
    + (30).to_bytes(4, "little")
    + len(EPS).to_bytes(4, "little")
    + bytes(18)
    + EPS
)
HOSTILE = {
    "cover.png": EPS,
    "loop.png": PS_LOOP,
    "photo.jpg": EPS,
    "scan.tiff": DOS_EPS,
    "binary.png": DOS_EPS,
}


@pytest.fixture
def fake_ghostscript(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``gs`` first on PATH that records each run in the returned marker."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "gs-ran"
    gs = bin_dir / "gs"
    gs.write_text(f'#!/bin/sh\necho "$@" >> "{marker}"\nexit 0\n')
    gs.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    # Pillow caches its Ghostscript lookup: let it look again, and find ours.
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", None)
    assert EpsImagePlugin.has_ghostscript()
    marker.unlink(missing_ok=True)  # has_ghostscript() may have run it
    return marker


def _png(path: Path, value: int) -> None:
    Image.fromarray(np.full((8, 8), value, np.uint8)).save(path)


def _folder(root: Path) -> Path:
    folder = root / "images"
    folder.mkdir()
    for i in range(3):
        _png(folder / f"ok{i}.png", 40 * i)
    for name, data in HOSTILE.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_postscript_under_an_image_name_is_refused_by_name(
    tmp_path: Path, fake_ghostscript: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    with pytest.raises(DataError, match=rf"{name} is a PostScript file, not an image"):
        read_grey_image(path)
    assert not fake_ghostscript.exists(), "Ghostscript ran on a file"


def test_an_image_folder_skips_postscript_and_runs_nothing(
    tmp_path: Path, fake_ghostscript: Path
) -> None:
    dataset = load_image_folder(_folder(tmp_path), (16, 16))
    assert len(dataset.train_images) + len(dataset.test_images) == 3
    assert len(dataset.skipped) == len(HOSTILE)
    for name in HOSTILE:
        (reason,) = [s for s in dataset.skipped if f"/{name} " in s]
        assert reason.endswith("is a PostScript file, not an image")
    assert not fake_ghostscript.exists(), "Ghostscript ran on a file"


def test_train_on_a_folder_with_postscript_runs_nothing(
    tmp_path: Path, fake_ghostscript: Path
) -> None:
    """End to end, as a user runs it: a fresh process, so no cached lookup."""
    folder = _folder(tmp_path)
    out = tmp_path / "m.pt"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "latentlab", "train", "--dataset", "folder"),
            *("--data-dir", str(folder), "--epochs", "1", "--hidden", "8"),
            *("--batch-size", "2", "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LATENTLAB_DATA": str(tmp_path / "none")},
    )
    assert done.returncode == 0, done.stderr
    assert f"skipped {len(HOSTILE)} files, e.g. " in done.stdout
    assert "is a PostScript file, not an image" in done.stdout
    assert out.is_file()
    assert not fake_ghostscript.exists(), "Ghostscript ran on a file"


@pytest.mark.parametrize(
    ("fmt", "named"),
    [("PPM", "PPM"), ("PCX", "PCX"), ("ICO", "ICO"), ("SGI", "SGI")],
)
def test_other_pillow_formats_are_named_not_decoded(
    tmp_path: Path, fmt: str, named: str
) -> None:
    """Formats outside the allow-list are refused even where Pillow could read
    them: the allow-list, not a block-list, decides."""
    path = tmp_path / "x.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).convert("RGB").save(path, format=fmt)
    with pytest.raises(DataError, match=rf"x\.png is a {named} file, not an image"):
        read_grey_image(path)


def test_pdf_and_svg_are_named(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n")
    (tmp_path / "b.png").write_bytes(b"  <svg xmlns='http://www.w3.org/2000/svg'/>")
    with pytest.raises(DataError, match="is a PDF file"):
        read_grey_image(tmp_path / "a.png")
    with pytest.raises(DataError, match="is a SVG file"):
        read_grey_image(tmp_path / "b.png")


def test_unknown_bytes_say_which_formats_are_read(tmp_path: Path) -> None:
    path = tmp_path / "x.gif"
    path.write_bytes(b"just some text\n" * 10)
    with pytest.raises(DataError, match=r"not an image LatentLab reads \(png, jpeg"):
        read_grey_image(path)


@pytest.mark.parametrize("fmt", RASTER_FORMATS)
def test_each_raster_format_opens_whatever_its_name(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "misnamed.png"
    Image.fromarray(np.full((8, 8), 200, np.uint8)).convert("RGB").save(
        path, format=fmt
    )
    with open_raster(path) as img:
        assert img.format in (fmt, "MPO")
    grey = read_grey_image(path, (16, 16))
    assert abs(int(grey.mean()) - 200) <= 3


def test_identify_reads_only_the_bytes_given() -> None:
    assert identify(EPS[:64]) == "PostScript"
    assert identify(DOS_EPS[:64]) == "PostScript"
    assert identify(b"P6\n16 16\n255\n") == "PPM"
    assert identify(b"\x89PNG\r\n\x1a\n") is None  # a raster format: not refused


def test_a_damaged_png_is_called_damaged(tmp_path: Path) -> None:
    path = tmp_path / "badihdr.png"
    _png(path, 10)
    data = bytearray(path.read_bytes())
    data[12:16] = b"XXXX"  # the IHDR chunk's type
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"badihdr\.png is a damaged PNG file"):
        read_grey_image(path)
