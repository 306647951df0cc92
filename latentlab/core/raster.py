"""The one way LatentLab opens an image file: raster formats only, by content.

Pillow picks a decoder from a file's bytes, not its name, and some of its
plugins run other programs: EPS hands the file to Ghostscript, a PostScript
interpreter, so a ``cover.png`` holding PostScript would run its program (or
loop forever). :func:`open_raster` lets Pillow try only the formats in
:data:`RASTER_FORMATS`, which it decodes itself, and names what anything else
is ("x.png is a PostScript file, not an image") without opening it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from latentlab.core.errors import DataError
from latentlab.core.text import printable_path

if TYPE_CHECKING:
    import os

    from PIL import Image

# Pillow format names matching catalog.IMAGE_SUFFIXES; each decoded in-process.
RASTER_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")

# Formats Pillow cannot or must not open, named by their first bytes.
_SIGNATURES = (
    (b"%!PS", "PostScript"),
    (b"\xc5\xd0\xd3\xc6", "PostScript"),  # DOS EPS binary header
    (b"%PDF-", "PDF"),
    (b"<svg", "SVG"),
    (b"<?xml", "XML (SVG?)"),
    (b"PK\x03\x04", "zip"),
    (b"\x1f\x8b", "gzip"),
)
_PILLOW_NAMES = {"EPS": "PostScript"}
_PREFIX_BYTES = 64


def identify(head: bytes) -> str | None:
    """What a file starting with ``head`` is, when it is a known non-raster
    format (or a raster format LatentLab does not read); else None.

    Reads only the bytes given: no decoder runs.
    """
    stripped = head.lstrip()
    for magic, name in _SIGNATURES:
        if head.startswith(magic) or stripped.startswith(magic):
            return name
    for fmt in _accepting(head):
        if fmt not in RASTER_FORMATS:
            return _PILLOW_NAMES.get(fmt, fmt)
    return None


def _accepting(head: bytes) -> list[str]:
    """The Pillow formats whose signature check accepts ``head`` (the checks
    only read the bytes; no decoder runs)."""
    from PIL import Image

    Image.init()
    found = []
    for fmt, (_factory, accept) in Image.OPEN.items():
        try:
            if accept is not None and accept(head):
                found.append(fmt)
        except Exception:  # a plugin's check on odd bytes; it only reads them
            continue
    return found


def open_raster(path: str | os.PathLike[str]) -> Image.Image:
    """Open ``path`` with Pillow as one of :data:`RASTER_FORMATS`, whatever its
    name; use it as a context manager.

    Raises
    ------
    DataError
        The file is another format (named when known: "x.png is a PostScript
        file, not an image"), unreadable, or not an image.

    Example
    -------
    >>> with open_raster("photo.jpg") as img:  # doctest: +SKIP
    ...     img.load()
    """
    from PIL import Image, UnidentifiedImageError

    shown = printable_path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(_PREFIX_BYTES)
    except OSError as exc:
        raise DataError(f"{shown}: unreadable ({exc.strerror or exc})") from exc
    try:
        return Image.open(Path(path), formats=RASTER_FORMATS)
    except UnidentifiedImageError:
        pass
    kind = identify(head)
    if kind is not None:
        raise DataError(f"{shown} is a {kind} file, not an image")
    damaged = [fmt for fmt in _accepting(head) if fmt in RASTER_FORMATS]
    if damaged:
        raise DataError(f"{shown} is a damaged {damaged[0]} file")
    readable = ", ".join(f.lower() for f in RASTER_FORMATS)
    raise DataError(f"{shown} is not an image LatentLab reads ({readable})")
