"""Strings from files are shown inert: escaped, bounded, one line."""

from __future__ import annotations

import pytest

from latentlab.core.text import describe, printable, shorten


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("mnist", "mnist"),
        ("β · Fashion-MNIST · 日本 · ünïcode", "β · Fashion-MNIST · 日本 · ünïcode"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\u202eevil", "\\u202eevil"),  # bidi override
        ("\u2028x", "\\u2028x"),  # line separator
        ("bad\udcffpath", "bad\\udcffpath"),  # a lone surrogate from a path
        ("\x00\x7f\x9b", "\\x00\\x7f\\x9b"),  # NUL, DEL, 8-bit CSI
        ("C:\\Users\\x", "C:\\Users\\x"),  # backslashes stay as written
    ],
)
def test_printable_escapes_controls_and_keeps_unicode(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert printable(shown) == shown  # idempotent: escaping twice changes nothing


def test_printable_shortens_without_cutting_an_escape() -> None:
    text = printable("ab\x1b" * 100, 20)
    assert len(text) <= 20 and text.endswith("…")
    assert not text[:-1].endswith(("\\", "\\x", "\\x1"))
    assert printable("short", 20) == "short"
    assert len(printable("x" * 10**6, 50)) == 50


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("the quick brown fox jumps", 18) == "the quick brown…"
    assert shorten("averyveryverylongword", 10) == "averyvery…"
    assert shorten("fits", 10) == "fits"


def test_describe_is_bounded_for_huge_and_deep_values() -> None:
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    for value in (deep, "x" * 10**6, list(range(10**6)), {"\x1b": 1}):
        text = describe(value)
        assert len(text) <= 80 and "\x1b" not in text and "\n" not in text
