"""Strings from files are shown inert: escaped, bounded, one line."""

from __future__ import annotations

import pytest

from latentlab.core.text import (
    MAX_SHOWN,
    NumberError,
    bounded_int,
    describe,
    digit_count,
    format_int,
    printable,
    printable_path,
    shorten,
)


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


def test_printable_caps_every_text_in_the_middle() -> None:
    """Without a length, a text is still cut, in the middle: one message line of
    an 11 KB number keeps the file it names and the reason at its end."""
    text = "model.pt: " + "9" * 10_000 + " is too large"
    shown = printable(text)
    assert len(shown) == MAX_SHOWN
    assert shown.startswith("model.pt: 999") and shown.endswith("9 is too large")
    assert "…" in shown
    escaped = printable("\x1b" * 10_000)
    assert len(escaped) <= MAX_SHOWN and "\x1b" not in escaped
    assert not escaped.split("…")[0].endswith(("\\", "\\x", "\\x1"))
    assert printable("short") == "short"


def test_printable_path_keeps_the_file_name() -> None:
    path = "/data/" + "/".join(["deep" * 20] * 20) + "/my model\x1b.pt"
    shown = printable_path(path, 120)
    assert len(shown) <= 120 and shown.endswith("/my model\\x1b.pt"), shown
    assert shown.startswith("/data/deep") and "…" in shown
    assert printable_path("/a/b.pt") == "/a/b.pt"
    long_name = "/x/" + "n" * 500 + ".safetensors"
    shown = printable_path(long_name, 80)
    assert len(shown) <= 80 and shown.endswith(".safetensors") and "…" in shown


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("12", 12), ("-7", -7), ("9" * 20, int("9" * 20))]
)
def test_bounded_int_reads_plain_decimals(text: str, value: int) -> None:
    assert bounded_int(text, "a count") == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1" * 5000, "5,000 digits"),
        ("1" * 21, "21 digits"),
        ("\u00b2", "not a whole number"),  # isdigit() but int() refuses it
        ("\u0661", "not a whole number"),  # Arabic-Indic one: not ASCII
        ("", "not a whole number"),
        ("-", "not a whole number"),
        (" 1", "not a whole number"),
        ("1_000", "not a whole number"),
        ("+1", "not a whole number"),
        ("\x1b[31m" * 1000, "not a whole number"),
    ],
)
def test_bounded_int_refuses_in_words(text: str, words: str) -> None:
    with pytest.raises(NumberError) as info:
        bounded_int(text, "a count", max_digits=20)
    msg = str(info.value)
    assert words in msg and "a count" in msg, msg
    assert len(msg) < 120 and "\x1b" not in msg, msg
    assert isinstance(info.value, ValueError)


def test_huge_integers_are_shown_by_their_size() -> None:
    assert digit_count(0) == 1 and digit_count(-999) == 3
    assert digit_count(10**5000) == 5001 and digit_count(10**5000 - 1) == 5000
    assert format_int(1234567) == "1,234,567"
    assert format_int(10**3999) == "~10^3999"
    assert format_int(-(10**5000)) == "-~10^5000"
    assert describe(10**5000) == "an integer of 5,001 digits"
    assert describe(12) == "12"
    text = describe([1, 10**5000, {"a": 10**400}])
    assert "5,001 digits" in text and len(text) <= 80, text
