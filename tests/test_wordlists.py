"""The word-list matcher on its own: every obfuscation form the issue lists."""

from __future__ import annotations

import unicodedata

import pytest

from service.moderation.wordlists import PreparedFields, WordList, entry_problem, squash
from service.scoring.normalize import normalize_text, remove_diacritics, skeleton


def hit(entries: list[str], text: str, field: str = "content") -> str | None:
    match = WordList(entries).find([(field, text)])
    return match.entry if match is not None else None


@pytest.mark.parametrize(
    "text",
    [
        "Vào nhà cái uy tín nhất",  # as listed
        "Vao nha cai uy tin nhat",  # without diacritics
        "NHÀ CÁI số 1",  # case
        unicodedata.normalize("NFD", "Vào nhà cái uy tín"),  # decomposed Unicode
        "nh\u200bà c\u200dái",  # zero-width space and joiner inside words
        "n.h.a c.a.i",  # separators inside words
        "n h a c a i",  # spaced letters
        "n-h-à c-á-i",
        "nhà\u00adcái",  # soft hyphen
    ],
)
def test_nha_cai_matches_every_spelling(text: str) -> None:
    assert hit(["nhà cái"], text) == "nhà cái"
    # The list written without diacritics matches the same texts.
    assert hit(["nha cai"], text) == "nha cai"


@pytest.mark.parametrize(
    ("entry", "text"),
    [
        ("casino", "ch\u01a1i cas1n0 online"),  # 1 -> i, 0 -> o
        ("casino", "ca$ino"),  # $ -> s
        ("casino", "c\u0430sin\u043e"),  # Cyrillic a and o
        ("casino", "\u03bfnline c\u03b1sino"),  # Greek omicron and alpha
        ("casino", "CASlNO"),  # l -> i between capitals
        ("cá độ", "ca do bong da"),
        ("cá độ", "c.á đ.ộ"),
    ],
)
def test_look_alikes(entry: str, text: str) -> None:
    assert hit([entry], text) == entry


FULLWIDTH_PHONE = "".join(chr(0xFF10 + int(d)) for d in "0908123456")


@pytest.mark.parametrize(
    "text",
    [
        "gọi 09O8 123 456 nhé", "sdt 0 9 0 8 . 1 2 3 . 4 5 6", "0908.123.456", "+84 908 123 456", FULLWIDTH_PHONE,
        "gọi không chín không tám một hai ba bốn năm sáu",
    ],
)
def test_phone_entries_match_spaced_dotted_and_lookalike_numbers(text: str) -> None:
    assert hit(["0908123456"], text) == "0908123456"
    assert hit(["0908 123 456"], text) == "0908 123 456"


def test_phone_entry_does_not_match_another_number() -> None:
    assert hit(["0908123456"], "gọi 0908 123 457") is None


def test_short_entries_match_whole_words_only() -> None:
    assert hit(["ib"], "ib mình nhé") == "ib"
    assert hit(["ib"], "chim ibis") is None


def test_short_entry_with_diacritics_keeps_them() -> None:
    # Folded, "đĩ" is "di" and would hit every "đi" ("go").
    assert hit(["đĩ"], "con đĩ") == "đĩ"
    assert hit(["đĩ"], "đi chơi đi") is None


def test_clean_text_does_not_match() -> None:
    assert hit(["nhà cái", "casino", "0908123456"], "Bài viết rất hay, cảm ơn tác giả") is None


def test_every_field_is_checked_like_wordpress() -> None:
    words = WordList(["spamhost", "203.0.113.9", "evilbot"])
    fields = PreparedFields(
        [
            ("author_name", "An"),
            ("author_email", "an@example.vn"),
            ("author_url", None),
            ("content", "Bài hay"),
            ("user_ip", "203.0.113.9"),
            ("user_agent", "Mozilla"),
        ]
    )
    match = fields.find(words)
    assert match is not None and (match.entry, match.field) == ("203.0.113.9", "user_ip")
    assert WordList(["evilbot"]).find([("user_agent", "EvilBot/1.0")]) is not None
    assert WordList(["spamhost"]).find([("author_email", "x@spamhost.com")]) is not None


@pytest.mark.parametrize("entry", ["", "   ", "!!!", "..."])
def test_entries_without_letters_are_refused(entry: str) -> None:
    assert entry_problem(entry) is not None
    # And a list holding one never matches everything.
    assert hit([entry], "bất kỳ nội dung nào") is None


@pytest.mark.parametrize("text", ["nhà cái", "n.h.a C.A.I", "CASlNO", "ca$ino 123", "Đĩ"])
def test_squash_equals_normalize_skeleton(text: str) -> None:
    assert squash(remove_diacritics(normalize_text(text))) == skeleton(text)
