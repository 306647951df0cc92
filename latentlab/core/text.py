"""Strings from files are data: show them without letting them drive a terminal.

A checkpoint's dataset name, an image path or a config value can hold ANSI
escapes, carriage returns, bidi overrides or lone surrogates. :func:`printable`
escapes those (as ``repr`` would) and keeps every printable character, so
ordinary Unicode (``β``, ``·``, accented names) reads as written.
"""

from __future__ import annotations

import reprlib

ELLIPSIS = "…"

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    # repr's escapes: \n, \t, \x1b, \u202e, \udcff, \U000e0001.
    return repr(ch)[1:-1]


def printable(text: str, max_len: int | None = None) -> str:
    """``text`` with every non-printable character escaped, optionally shortened.

    Control characters (ANSI escapes included), line and paragraph separators,
    format characters such as bidi overrides, and lone surrogates become
    ``\\x1b``-style escapes; everything ``str.isprintable`` accepts is kept.
    With ``max_len``, the result is at most that many characters, ending in
    ``…`` when cut (never inside an escape).
    """
    if not isinstance(text, str):
        text = str(text)
    if text.isprintable():
        return shorten(text, max_len) if max_len is not None else text
    head = text if max_len is None else text[: max_len + 1]  # a cut needs no more
    pieces = [_escape(ch) for ch in head]
    if max_len is None or (len(text) <= max_len and sum(map(len, pieces)) <= max_len):
        return "".join(pieces)
    out: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > max_len - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + ELLIPSIS


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, plus ``…``.

    A cut inside a word backs up to the last space when one is within the last
    third; a single long word is cut where it must be.
    """
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space >= len(cut) * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS


def describe(value: object) -> str:
    """A short, escaped ``repr`` of a value read from a file, for messages.

    Bounded in length and depth (a nested or huge value costs no more than a
    small one), and one line.
    """
    try:
        text = _repr.repr(value)
    except Exception:  # a hostile __repr__ cannot exist here, but stay total
        text = f"<{type(value).__name__}>"
    return printable(text, 80)
