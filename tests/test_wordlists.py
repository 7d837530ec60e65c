"""The word-list matcher on its own: every obfuscation form the issue lists."""

from __future__ import annotations

import unicodedata

import pytest

from moderation.moderation.wordlists import PreparedFields, WordList, entry_problem, squash
from moderation.scoring.normalize import normalize_text, remove_diacritics, skeleton


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


def test_matching_work_is_bounded_by_the_normalised_length_for_u_fdfa() -> None:
    """Issue 23: U+FDFA normalises (NFKC) to 18 characters. 250 entries of it (the list limit)
    made 80 automatons over 900,000 pattern characters, scanned over a 64 KB comment of it
    normalised to 393,000 characters: 12-13 s of CPU per check. The work is now counted, not
    timed: every form of the comment is at most MAX_EXPANSION times its length (casefolding
    may double it once more), the list compiles into a handful of automatons, so the
    characters scanned per character of the comment are bounded by constants."""
    from moderation.core.schemas import MAX_CONTENT_BYTES
    from moderation.moderation.sitesettings import DEFAULTS, MAX_LIST_CHARS, apply_update
    from moderation.moderation.wordlists import AUTOMATON_CHARS
    from moderation.scoring.normalize import MAX_EXPANSION

    entries = ["\ufdfa" * 199 + f"{i % 10}" for i in range(250)]
    assert apply_update(DEFAULTS, {"moderation_words": entries}).moderation_words  # within the list limits
    words = WordList(entries)
    text = "\ufdfa" * (MAX_CONTENT_BYTES // 3)  # 64 KB of UTF-8
    fields = PreparedFields([("content", text)])
    assert fields.find(words) is not None
    prepared = fields._cache["content"]
    bound = MAX_EXPANSION * MAX_EXPANSION * len(text) + 2  # the word forms add a space each side
    assert max(len(prepared.norm), len(prepared.fold), len(prepared.skel)) <= bound
    # A list's forms add up to at most MAX_EXPANSION x MAX_LIST_CHARS (plus a space per word).
    assert words.automatons <= 3 * (MAX_EXPANSION * MAX_LIST_CHARS * 2 // AUTOMATON_CHARS + 1)
    assert 0 < words.scanned <= words.automatons * bound
    # What that means for this comment: a few characters scanned per character written
    # (before: 80 automatons x 18 = 1,440).
    assert words.scanned / len(text) <= 2 * MAX_EXPANSION
