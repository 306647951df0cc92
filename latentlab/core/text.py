"""Strings and numbers from files are data: show them without letting them drive
a terminal or a message's length.

A checkpoint's dataset name, an image path or a config value can hold ANSI
escapes, carriage returns, bidi overrides or lone surrogates. :func:`printable`
escapes those (as ``repr`` would) and keeps every printable character, so
ordinary Unicode (``β``, ``·``, accented names) reads as written; no text it
returns is longer than :data:`MAX_SHOWN` (a longer one loses its middle), and
:func:`printable_path` keeps a long path's file name.

Python refuses to turn an integer of more than 4,300 digits into text or back
(``sys.get_int_max_str_digits``), so numbers from files are read with
:func:`bounded_int` (also JSON's ``parse_int``: :func:`json_int`) and shown
with :func:`format_int` or :func:`describe`, which never format a huge one.
"""

from __future__ import annotations

import math
import os
import reprlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

ELLIPSIS = "…"
# The longest text printable() returns: one message line stays readable, and a
# file cannot make LatentLab print kilobytes (a number of 4,000 digits, twice).
MAX_SHOWN = 2000
# The longest path printable_path() shows by default.
MAX_PATH_SHOWN = 300
# Integers of more digits are shown as ~10^N.
MAX_DIGITS_SHOWN = 20
# The longest integer read from a file's JSON: 64-bit values have at most 20.
MAX_JSON_DIGITS = 20


class NumberError(ValueError):
    """A number in a file is not a plain decimal integer, or has too many digits
    (its message says which, in one short line)."""


def digit_count(n: int) -> int:
    """Decimal digits of ``n`` (without sign), found without ``str(n)``."""
    n = abs(int(n))
    if n < 10:
        return 1
    d = int((n.bit_length() - 1) * math.log10(2)) + 1  # exact or one short
    if d < 100_000:
        return d + 1 if n >= 10**d else d
    return d  # an estimate: no record holds such a number, so it is refused anyway


def format_int(n: int, *, grouped: bool = True) -> str:
    """``1234`` -> ``"1,234"``; an integer of more than :data:`MAX_DIGITS_SHOWN`
    digits -> ``"~10^N"`` (never formatted whole, however large)."""
    digits = digit_count(n)
    if digits <= MAX_DIGITS_SHOWN:
        return f"{n:,}" if grouped else str(n)
    return f"{'-' if n < 0 else ''}~10^{digits - 1}"


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    """``"3x4"`` (``"a scalar"`` for ``()``) for a message about a shape a file
    declares: each size through :func:`format_int`, at most 80 characters."""
    text = "x".join(format_int(n, grouped=False) for n in list(shape)[:10])
    return printable(text, 80) if text else "a scalar"


def bounded_int(text: str, what: str = "a number", max_digits: int = 20) -> int:
    """``int(text)`` for a plain decimal from a file: ASCII digits, an optional
    leading ``-``, at most ``max_digits`` digits.

    Raises
    ------
    NumberError
        Anything else (``"²"``, ``" 1"``, ``"1_000"``, 5,000 digits), with a
        message naming ``what`` that echoes at most a short, escaped piece.
    """
    if not isinstance(text, str):
        raise NumberError(f"{what} is {describe(text)}, not a whole number")
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()):
        raise NumberError(f"{what} is {describe(text)}, not a whole number")
    if len(digits) > max_digits:
        raise NumberError(
            f"{what} has {len(digits):,} digits, more than the {max_digits} "
            "LatentLab reads"
        )
    return int(text)


def json_int(text: str) -> int:
    """``json.loads(..., parse_int=json_int)``: an integer in a file's JSON, of
    at most :data:`MAX_JSON_DIGITS` digits (a :class:`NumberError` otherwise)."""
    return bounded_int(text, "an integer", MAX_JSON_DIGITS)


class _Repr(reprlib.Repr):
    def repr_int(self, x: int, level: int) -> str:
        if digit_count(x) > 30:
            return f"an integer of {digit_count(x):,} digits"
        return super().repr_int(x, level)


_repr = _Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlong = 40
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def _escape(ch: str) -> str:
    if ch.isprintable():
        return ch
    # repr's escapes: \n, \t, \x1b, \u202e, \udcff, \U000e0001.
    return repr(ch)[1:-1]


def printable(text: str, max_len: int | None = None) -> str:
    """``text`` with every non-printable character escaped, and bounded.

    Control characters (ANSI escapes included), line and paragraph separators,
    format characters such as bidi overrides, and lone surrogates become
    ``\\x1b``-style escapes; everything ``str.isprintable`` accepts is kept.
    With ``max_len``, the result is at most that many characters, ending in
    ``…`` when cut (never inside an escape). Without it, a result longer than
    :data:`MAX_SHOWN` loses its middle (:func:`printable_middle`), so a message
    keeps its start (the file) and its end (the reason).
    """
    if not isinstance(text, str):
        text = str(text)
    if max_len is None:
        return printable_middle(text, MAX_SHOWN)
    if text.isprintable():
        return shorten(text, max_len)
    head = text[: max_len + 1]  # a cut needs no more
    pieces = [_escape(ch) for ch in head]
    if len(text) <= max_len and sum(map(len, pieces)) <= max_len:
        return "".join(pieces)
    return _head(text, max_len - 1) + ELLIPSIS


def _escaped_prefix(chars: Iterable[str], budget: int) -> list[str]:
    """Escapes of ``chars`` while they fit in ``budget`` characters, whole."""
    out: list[str] = []
    size = 0
    for ch in chars:
        piece = _escape(ch)
        if size + len(piece) > budget:
            break
        out.append(piece)
        size += len(piece)
    return out


def _head(text: str, budget: int) -> str:
    """The escaped start of ``text``, at most ``budget`` characters, whole escapes."""
    return "".join(_escaped_prefix(text[: max(budget, 0)], budget))


def _tail(text: str, budget: int) -> str:
    """The escaped end of ``text``, at most ``budget`` characters, whole escapes."""
    if budget <= 0:
        return ""
    return "".join(reversed(_escaped_prefix(reversed(text[-budget:]), budget)))


def _whole(text: str, max_len: int) -> str | None:
    """``text`` escaped when that is at most ``max_len`` characters, else None."""
    if len(text) > max_len:
        return None
    shown = text if text.isprintable() else "".join(map(_escape, text))
    return shown if len(shown) <= max_len else None


def printable_middle(text: str, max_len: int, keep_end: int | None = None) -> str:
    """``text`` escaped as :func:`printable` does, at most ``max_len`` characters:
    a longer one keeps its start and its last ``keep_end`` characters (half of
    what fits by default) around ``…``. Costs O(``max_len``), whatever the
    length of ``text``."""
    if not isinstance(text, str):
        text = str(text)
    max_len = max(int(max_len), 1)
    whole = _whole(text, max_len)
    if whole is not None:
        return whole
    room = max_len - 1
    end = room // 2 if keep_end is None else min(max(keep_end, 0), room)
    return _head(text, room - end) + ELLIPSIS + _tail(text, end)


def printable_path(path: str | os.PathLike[str], max_len: int = MAX_PATH_SHOWN) -> str:
    """A path for a message: escaped, at most ``max_len`` characters. A longer
    one keeps its file name (and the start of its folder) around ``…``; a name
    too long for that keeps its start and its end (the extension)."""
    text = os.fsdecode(path) if isinstance(path, bytes | os.PathLike) else str(path)
    max_len = max(int(max_len), 1)
    whole = _whole(text, max_len)
    if whole is not None:
        return whole
    cut = max(text.rfind("/"), text.rfind(os.sep))
    name = _whole(text[cut:], (max_len - 1) * 2 // 3) if cut >= 0 else None
    if name is not None:  # the separator and the name, whole
        return printable_middle(text, max_len, keep_end=len(name))
    return printable_middle(text, max_len)


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
    small one), and one line; an integer of more than 30 digits is described by
    its size (``an integer of 5,001 digits``), never formatted.
    """
    try:
        text = _repr.repr(value)
    except Exception:  # a hostile __repr__ cannot exist here, but stay total
        text = f"<{type(value).__name__}>"
    return printable(text, 80)
