"""Text normalization shared by the models and the policy word-list matcher.

Everything here is pure, typed and fast (regexes compiled once at import). Two forms matter:

* :func:`normalize_text` — readable form: NFKC and decorated letters folded (bold, script,
  fullwidth, circled, small capitals…), invisible characters removed, look-alike
  characters folded inside words, separators collapsed inside spelled-out words, casefolded.
  Vietnamese diacritics are kept.
* :func:`fold_for_matching` — the same without diacritics (``đ`` → ``d``), which is how most
  obfuscated spam is typed; word lists should be folded with the same function.

Detectors (:func:`find_phone_numbers`, :func:`find_urls`, :func:`find_contacts`,
:func:`count_links`) work on raw text and survive spacing, dotting and letter look-alikes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = [
    "MAX_EXPANSION",
    "SHORTENER_DOMAINS",
    "clean_text",
    "collapse_spelled_words",
    "count_links",
    "find_contacts",
    "find_contacts_folded",
    "find_phone_numbers",
    "find_urls",
    "fold_decorations",
    "fold_for_matching",
    "fold_lookalikes",
    "has_diacritics",
    "is_short_link",
    "normalize_clean",
    "normalize_text",
    "phones_in_clean",
    "remove_diacritics",
    "skeleton",
    "squash",
    "strip_invisible",
    "urls_in_clean",
]

# Zero-width spaces/joiners, soft hyphen, bidi marks, BOM, variation selectors, tag chars:
# invisible characters spammers insert to break up blocked words.
_INVISIBLE_RE: Final = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]"
)

# Cyrillic / Greek / other letters that render like Latin ones.
_CONFUSABLES: Final[dict[int, str]] = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",  # noqa: RUF001
        "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",  # noqa: RUF001
        "ѕ": "s", "һ": "h", "ԁ": "d", "ɡ": "g", "ո": "n", "ս": "u",  # noqa: RUF001
        "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p",  # noqa: RUF001
        "С": "c", "Т": "t", "У": "y", "Х": "x", "І": "i", "Ј": "j", "Ѕ": "s",  # noqa: RUF001
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",  # noqa: RUF001
        "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",  # noqa: RUF001
        "Α": "a", "Β": "b", "Ε": "e", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n",  # noqa: RUF001
        "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "Ζ": "z",  # noqa: RUF001
        "ı": "i", "ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe",  # noqa: RUF001
    }
)  # fmt: skip

# Digits and symbols used as letters *inside* a word ("T0", "s0", "m@y", "$im").
_IN_WORD_LOOKALIKE: Final[dict[int, str]] = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "|": "i",
     "!": "i"}
)  # fmt: skip
# Only tokens that contain a look-alike character are candidates; most words are skipped.
# Linear: a match may only start where a token starts (the look-behind), and the tail is
# possessive. "[\w@$]*[013457@$][\w@$]*" retried every position of a token without a
# look-alike, so 30,000 letters in a row took 40 s (comment length squared).
_LOOKALIKE_TOKEN_RE: Final = re.compile(r"(?<![\w@$])[\w@$]*?[013457@$][\w@$]*+")
# A lowercase "l" written between capitals is an "I" look-alike ("GlAY", "SlNH").
_L_BEFORE_CAPITAL_RE: Final = re.compile(r"l(?=[A-ZĐ])")
_CONFUSABLE_PRESENT_RE: Final = re.compile(
    "[\u0370-\u03ff\u0400-\u04ff\u0500-\u058f\u0131\u0142\u00f8\u00df\u00e6\u0153\u0261]"
)

# Single letters separated by one non-space separator: "n.h.a", "c-a-i", "z_a_l_o".
_SPELLED_DOTTED_RE: Final = re.compile(r"(?<!\w)(?:\w[.\-_*'`~,+|/\\])+\w(?!\w)")
# Single letters separated by spaces: "n h a c a i", "z a l o".
_SPELLED_SPACED_RE: Final = re.compile(r"(?<!\w)(?:\w[ \t]){2,}\w(?!\w)")
_SEP_CHARS_RE: Final = re.compile(r"[.\-_*'`~,+|/\\ \t]")
_WS_RE: Final = re.compile(r"\s+")
_NON_ALNUM_RE: Final = re.compile(r"[\W_]+")


def strip_invisible(text: str) -> str:
    """Remove zero-width characters, joiners, bidi controls and variation selectors."""
    return _INVISIBLE_RE.sub("", text)


def _build_diacritics_table() -> dict[int, str]:
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D"}
    # Latin-1 Supplement, Latin Extended-A/B and Latin Extended Additional hold every
    # precomposed Vietnamese letter; a translate table is ~10x faster than NFD + filter.
    for cp in (*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)):
        base = "".join(
            ch for ch in unicodedata.normalize("NFD", chr(cp)) if not unicodedata.combining(ch)
        )
        if base and base != chr(cp) and len(base) == 1:
            table[cp] = base
    return table


_DIACRITICS_TABLE: Final = _build_diacritics_table()
_COMBINING_RE: Final = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff]")


def remove_diacritics(text: str) -> str:
    """Drop combining marks (Vietnamese tones and vowel marks); ``đ``/``Đ`` become ``d``/``D``."""
    text = unicodedata.normalize("NFC", text).translate(_DIACRITICS_TABLE)
    return _COMBINING_RE.sub("", text)


def has_diacritics(text: str) -> bool:
    """True when the text carries any combining mark or ``đ`` (i.e. accented Vietnamese)."""
    if "đ" in text or "Đ" in text:
        return True
    return any(unicodedata.combining(ch) for ch in unicodedata.normalize("NFD", text))


def _fold_token(match: re.Match[str]) -> str:
    token = match.group(0)
    letters = sum(ch.isalpha() for ch in token)
    others = len(token) - letters
    # "T0", "s1m", "gi4y" fold; "4g", "covid19", "iphone15" keep their numbers.
    if others == 0 or letters < others or token[0].isdigit():
        return token
    if token[-1].isdigit() and token[-2:].isdigit():
        return token
    return token.translate(_IN_WORD_LOOKALIKE)


def _l_as_i(match: re.Match[str]) -> str:
    # A lowercase "l" written before a capital, after a capital or at a word start,
    # is an "I" look-alike ("GlAY", "SlNH"); "Lan" or "bLog" style stays.
    start = match.start()
    prev = match.string[start - 1] if start else " "
    return "I" if prev.isupper() or not prev.isalpha() else "l"


def fold_lookalikes(text: str) -> str:
    """Fold Cyrillic/Greek look-alikes to Latin and digits/symbols used inside words.

    ``"GlAY T0"`` → ``"GIAY To"``; ``"m@y"`` → ``"may"``. Free-standing numbers are kept.
    """
    text = _L_BEFORE_CAPITAL_RE.sub(_l_as_i, text)
    if _CONFUSABLE_PRESENT_RE.search(text):
        text = text.translate(_CONFUSABLES)
    return _LOOKALIKE_TOKEN_RE.sub(_fold_token, text)


def collapse_spelled_words(text: str) -> str:
    """Join words spelled out letter by letter: ``"n.h.a c.a.i"`` → ``"nha cai"``.

    Dotted/dashed runs become one word each; space-separated single letters become one word.
    """
    text = _SPELLED_DOTTED_RE.sub(lambda m: _SEP_CHARS_RE.sub("", m.group(0)), text)
    return _SPELLED_SPACED_RE.sub(lambda m: _SEP_CHARS_RE.sub("", m.group(0)), text)


# NFKC can turn one character into 18 (U+FDFA, the ligature of a whole Arabic phrase) while
# ordinary text stays within a few percent of its length. Every form below is computed from
# the NFKC text, and the word lists scan them whole, so the expansion is capped: a form is
# never longer than this many times the raw text (a 64 KB comment of U+FDFA cost 12 s of
# word-list matching before). Text past the cap is an attacker's padding, not prose.
MAX_EXPANSION: Final = 2

_DIGIT_NAMES: Final = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
# Decorated letters and digits that NFKC leaves alone (it already folds Mathematical
# Alphanumeric Symbols, fullwidth forms, circled and squared letters, superscripts and
# subscripts): small capitals, negative circled and squared capitals and the dingbat
# circled digits that phone numbers are written with.
# Regional indicators are left alone: two in a row are a flag emoji.
_DECORATION_NAME_RE: Final = re.compile(
    r"^(?:LATIN (?:CAPITAL )?LETTER SMALL CAPITAL (?P<small>[A-Z])"
    r"|NEGATIVE (?:CIRCLED|SQUARED) LATIN CAPITAL LETTER (?P<capital>[A-Z])"
    r"|(?:DINGBAT )?(?:NEGATIVE |DOUBLE )?CIRCLED (?:SANS-SERIF )?DIGIT (?P<digit>[A-Z]+))$"
)
_DECORATION_BLOCKS: Final = ((0x0250, 0x02B0), (0x1D00, 0x1D80), (0xA720, 0xA800), (0x2460, 0x2500),
                             (0x2776, 0x2794), (0x1F100, 0x1F200))  # fmt: skip


def _build_decorations_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for start, end in _DECORATION_BLOCKS:
        for cp in range(start, end):
            match = _DECORATION_NAME_RE.match(unicodedata.name(chr(cp), ""))
            if match is None:
                continue
            if match["small"]:
                table[cp] = match["small"].lower()
            elif match["capital"]:
                table[cp] = match["capital"]
            elif match["digit"] in _DIGIT_NAMES:
                table[cp] = str(_DIGIT_NAMES.index(match["digit"]))
    return table


_DECORATIONS: Final = _build_decorations_table()
_DECORATED_RE: Final = re.compile("[" + "".join(map(chr, sorted(_DECORATIONS))) + "]")


def fold_decorations(text: str) -> str:
    """Decorated letters and digits as plain ones, Vietnamese diacritics kept.

    "Bán" written in bold, script, fraktur, double-struck, monospace or sans-serif letters,
    fullwidth, circled, in small capitals or in superscripts becomes "Bán": NFKC, then the
    decorations NFKC does not know, then recomposition, so a combining tone mark written
    after a decorated letter lands on the plain one (tests/test_normalize.py has examples).
    At most ``MAX_EXPANSION`` times as long as ``text``.
    """
    limit = MAX_EXPANSION * len(text)
    text = unicodedata.normalize("NFKC", text)
    if len(text) > limit:
        text = text[:limit]
    if _DECORATED_RE.search(text) is None:
        return text
    return unicodedata.normalize("NFC", text.translate(_DECORATIONS))


def clean_text(text: str) -> str:
    """Decorations folded (:func:`fold_decorations`, NFKC included) and invisible characters
    removed: the first step of every form and detector here. At most ``MAX_EXPANSION`` times
    as long as ``text``."""
    return strip_invisible(fold_decorations(text))


def normalize_text(text: str) -> str:
    """Readable normalized form (keeps Vietnamese diacritics), casefolded, single-spaced."""
    return normalize_clean(clean_text(text))


def normalize_clean(text: str) -> str:
    """:func:`normalize_text` of text already passed through :func:`clean_text`."""
    text = fold_lookalikes(text)
    folded = text.casefold()
    # A few characters casefold to three (U+0390): capped like NFKC's expansion.
    text = folded if len(folded) <= MAX_EXPANSION * len(text) else folded[: MAX_EXPANSION * len(text)]
    text = collapse_spelled_words(text)
    return _WS_RE.sub(" ", text).strip()


def fold_for_matching(text: str) -> str:
    """:func:`normalize_text` without diacritics — the form for word lists and n-grams."""
    return remove_diacritics(normalize_text(text))


def skeleton(text: str) -> str:
    """Most aggressive form: folded, ``l`` → ``i``, every non-alphanumeric removed.

    ``"n h a - c a i"``, ``"nhà cái"`` and ``"NHA.CAl"`` all give ``"nhacai"``; compare word
    lists against this form with substring search when spacing must not matter.
    """
    return squash(fold_for_matching(text))


def squash(folded: str) -> str:
    """:func:`skeleton` of text already passed through :func:`fold_for_matching`."""
    return _NON_ALNUM_RE.sub("", folded).replace("l", "i")


# ---------------------------------------------------------------- phone numbers

# A digit or a letter that stands in for one; runs may be broken by up to 3 separators.
_PHONE_CANDIDATE_RE: Final = re.compile(
    r"(?<![\w])(?:\+|\(\+?)?[0-9oOlIi|](?:[ \t.\-_()/*,]{0,3}[0-9oOlIi|]){6,13}(?![\w])"
)
_DIGIT_MAP: Final[dict[int, str]] = str.maketrans(
    {"o": "0", "O": "0", "l": "1", "I": "1", "i": "1", "|": "1"}
)
_NON_DIGIT_RE: Final = re.compile(r"\D")


def _mobile_number(digits: str) -> str | None:
    """*digits* as a Vietnamese subscriber number (``0…``, or ``84…`` made ``0…``), else None."""
    if digits.startswith("84") and len(digits) in (11, 12):
        return "0" + digits[2:]
    if digits.startswith("0") and digits[1:2] != "0" and len(digits) in (10, 11):
        return digits
    return None


def _phone_from_candidate(raw: str) -> str | None:
    mapped = raw.translate(_DIGIT_MAP)
    digits = _NON_DIGIT_RE.sub("", mapped)
    real_digits = sum(ch.isdigit() for ch in raw)
    # Mostly real digits: "ooo iii" in a sentence must not become a phone number.
    if real_digits < 7 or real_digits < len(digits) - 3:
        return None
    if (number := _mobile_number(digits)) is not None:
        return number
    # Switchboard / hotline formats: 1800xxxx, 1900xxxx.
    if digits[:4] in ("1800", "1900") and len(digits) in (8, 10):
        return digits
    return None


# Digits written as words, Vietnamese (with and without diacritics, "ko" for không) and
# English: "không chín tám hai ba sáu năm ba sáu năm". Words and digits may mix.
_DIGIT_WORDS: Final[dict[str, str]] = {
    "không": "0", "khong": "0", "ko": "0", "zero": "0", "linh": "0",
    "một": "1", "mot": "1", "mốt": "1", "one": "1",
    "hai": "2", "two": "2", "ba": "3", "three": "3",
    "bốn": "4", "bon": "4", "tư": "4", "tu": "4", "four": "4",
    "năm": "5", "nam": "5", "lăm": "5", "lam": "5", "five": "5",
    "sáu": "6", "sau": "6", "six": "6", "bảy": "7", "bay": "7", "seven": "7",
    "tám": "8", "tam": "8", "eight": "8", "chín": "9", "chin": "9", "nine": "9",
    **{str(d): str(d) for d in range(10)},
}  # fmt: skip
_DIGIT_WORD_ALT: Final = "|".join(sorted(map(re.escape, _DIGIT_WORDS), key=len, reverse=True))
# Eight or more digit words in a row (a phone number has 10): ordinary sentences do not do this.
# A number starts with 0 or 84, so the run starts with a zero or an eight: most positions fail
# on their first character.
_SPELLED_START: Final = "|".join(re.escape(w) for w, d in _DIGIT_WORDS.items() if d in "08")
_SPELLED_PHONE_RE: Final = re.compile(
    rf"(?<![^\W_])(?:{_SPELLED_START})(?![^\W_])(?:[\s.,\-_/]{{1,3}}(?:{_DIGIT_WORD_ALT})(?![^\W_])){{7,13}}",
    re.IGNORECASE,
)
_SPELLED_TOKEN_RE: Final = re.compile(r"[^\W_]+")


def _phone_from_words(raw: str) -> str | None:
    tokens = _SPELLED_TOKEN_RE.findall(raw.casefold())
    if all(t.isdigit() for t in tokens):
        return None  # plain spaced digits: the digit pattern already reports them
    # IGNORECASE may match a character whose casefold is another word: never guess.
    mapped = [_DIGIT_WORDS.get(t) for t in tokens]
    if None in mapped:
        return None
    return _mobile_number("".join(mapped))  # type: ignore[arg-type]


def find_phone_numbers(text: str) -> list[str]:
    """Vietnamese phone numbers in *text*, as plain digit strings (``"0982365365"``).

    Finds ``0982 365 365``, ``0 9 8 2 . 3 6 5 . 3 6 5``, ``+84 982365365``, ``09O8 123 456``
    (letter look-alikes), fullwidth digits, numbers split by zero-width characters, and numbers
    spelled out in words (``không chín tám hai …``, ``khong chin tam``, ``zero nine eight``).
    """
    return phones_in_clean(clean_text(text))


def phones_in_clean(text: str) -> list[str]:
    """:func:`find_phone_numbers` of text already passed through :func:`clean_text`."""
    found: list[str] = []
    for match in _PHONE_CANDIDATE_RE.finditer(text):
        phone = _phone_from_candidate(match.group(0))
        if phone is not None:
            found.append(phone)
    for match in _SPELLED_PHONE_RE.finditer(text):
        phone = _phone_from_words(match.group(0))
        if phone is not None:
            found.append(phone)
    return found


# ---------------------------------------------------------------- links

SHORTENER_DOMAINS: Final[frozenset[str]] = frozenset(
    {
        "bit.ly", "tinyurl.com", "goo.gl", "t.co", "ow.ly", "is.gd", "cutt.ly", "rb.gy",
        "shorturl.at", "tiny.cc", "s.id", "rebrand.ly", "bl.ink", "v.gd", "buff.ly",
        "shope.ee", "s.shopee.vn", "s.lazada.vn", "t.me", "zalo.me", "fb.me", "m.me",
        "youtu.be", "linktr.ee", "bom.to", "tinyurl.vn", "urlz.vn", "shorten.asia",
    }
)  # fmt: skip
_TLDS: Final = (
    "com|net|org|vn|io|me|ly|co|info|xyz|top|club|site|online|biz|tk|gl|gg|to|us|tv|app|"
    "link|shop|store|live|bet|win|vip|fun|cc|pro|asia|ee|id|at|gd|ml|ga|cf|uk|de|ru|in|br"
)
_URL_RE: Final = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+"
    # A bare domain may start only where a host name can start (not after a letter, digit,
    # dot or hyphen): with a plain \b every dot of "a.a.a…" is a start and the label loop
    # rescans the rest from each, quadratic time (1.2 s for 4,000 characters).
    r"|(?<![a-z0-9.\-])[a-z0-9][a-z0-9\-]{0,62}(?:\.[a-z0-9\-]{1,63})*\s?[.。](?:" + _TLDS + r")\b(?:/[^\s<>\"']*)?"
    r"|(?<![a-z0-9.\-])[a-z0-9][a-z0-9\-]{1,62}\s?(?:\(\.\)|\[\.\]|\(dot\)|\[dot\]| dot | cham | chấm )\s?"
    r"(?:" + _TLDS + r")\b",
    re.IGNORECASE,
)
_URL_HINT_RE: Final = re.compile(r"dot|cham|chấm", re.IGNORECASE)
_DOMAIN_RE: Final = re.compile(r"^(?:https?://)?(?:www\.)?([^/\s?#]+)", re.IGNORECASE)


def find_urls(text: str) -> list[str]:
    """URLs, bare domains (``abc.com``, ``dep.com.vn``) and written-out ones (``abc chấm com``)."""
    return urls_in_clean(clean_text(text))


def urls_in_clean(text: str) -> list[str]:
    """:func:`find_urls` of text already passed through :func:`clean_text`."""
    # Every alternative of _URL_RE needs "://", a dot ("." or "。") or a written-out one; two
    # comments in three have none, and the scan costs ~10 µs (it runs several times per submission).
    if "." not in text and "。" not in text and "://" not in text and _URL_HINT_RE.search(text) is None:
        return []
    return [m.group(0) for m in _URL_RE.finditer(text)]


def is_short_link(url: str) -> bool:
    """True for URL-shortener / messenger-redirect hosts (``bit.ly``, ``t.me``, ``zalo.me``)."""
    match = _DOMAIN_RE.match(url.strip())
    if match is None:
        return False
    host = match.group(1).casefold().replace(" ", "")
    return host in SHORTENER_DOMAINS


def count_links(text: str) -> int:
    """Number of links (URLs, bare or written-out domains) in *text*."""
    return len(find_urls(text))


# ---------------------------------------------------------------- contacts

# Matched on the folded form (no diacritics, look-alikes folded, spelled words collapsed).
_CONTACT_RE: Final = re.compile(
    r"\b(?:zalo|zl|za lo|zaio|telegram|tele|tg|viber|whatsapp|wechat|kakaotalk|line id|"
    r"inbox|ib|lien he|lh|sdt|so dt|dien thoai|hotline|hot line|ket ban|add zalo|nhan tin|"
    r"contact|call|text me|dm me|whats app|skype|facebook\.com|fb\.com|fanpage|"
    r"check out my|subscribe|my channel|kenh cua (?:minh|toi|em))\b"
)


def find_contacts(text: str) -> list[str]:
    """Contact-channel mentions (Zalo, Telegram, "liên hệ", hotline, "inbox", "my channel"…).

    Returned in folded form, e.g. ``["zalo", "lien he"]``.
    """
    return find_contacts_folded(fold_for_matching(text))


def find_contacts_folded(folded: str) -> list[str]:
    """:func:`find_contacts` for text already passed through :func:`fold_for_matching`."""
    return [m.group(0) for m in _CONTACT_RE.finditer(folded)]
