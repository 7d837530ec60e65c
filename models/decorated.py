"""Decorated text as "fancy text" generators write it, for the folding tests.

``decorate(text, style)`` replaces every ASCII letter and digit of *text* by its decorated
form (Vietnamese tone and vowel marks stay as combining marks after the decorated letter,
the way the betting tip of issue 21, "HỖ TRỢ KÈO" in sans-serif bold italic, is written);
``plain(text, style)`` is the text a
reader sees in it: the same text, lower-cased for styles that have no capitals (small
capitals, superscripts) and upper-cased for those that have only capitals.
"""

from __future__ import annotations

import unicodedata
from typing import Final

_DIGITS: Final = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
_MATH: Final = (
    "BOLD", "ITALIC", "BOLD ITALIC", "SCRIPT", "BOLD SCRIPT", "FRAKTUR", "BOLD FRAKTUR", "DOUBLE-STRUCK",
    "SANS-SERIF", "SANS-SERIF BOLD", "SANS-SERIF ITALIC", "SANS-SERIF BOLD ITALIC", "MONOSPACE",
)  # fmt: skip
# Letters of the Mathematical Alphanumeric block that Unicode placed in Letterlike Symbols.
_HOLES: Final = {"ITALIC SMALL H": "PLANCK CONSTANT", "SCRIPT SMALL E": "SCRIPT SMALL E",
                 "SCRIPT SMALL G": "SCRIPT SMALL G", "SCRIPT SMALL O": "SCRIPT SMALL O"}  # fmt: skip
_HOLE_PREFIXES: Final = {"SCRIPT": "SCRIPT", "FRAKTUR": "BLACK-LETTER", "DOUBLE-STRUCK": "DOUBLE-STRUCK"}
CASELESS: Final = frozenset({"small capitals", "superscript"})
CAPITALS_ONLY: Final = frozenset({"negative circled", "negative squared", "squared"})
STYLES: Final = (*(s.lower() for s in _MATH), "fullwidth", "circled", *sorted(CASELESS), *sorted(CAPITALS_ONLY))


def _lookup(*names: str) -> str | None:
    for name in names:
        try:
            return unicodedata.lookup(name)
        except KeyError:
            continue
    return None


def _math(style: str, ch: str) -> str | None:
    if ch.isdigit():
        return _lookup(f"MATHEMATICAL {style} DIGIT {_DIGITS[int(ch)]}")
    case = "CAPITAL" if ch.isupper() else "SMALL"
    key = f"{style} {case} {ch.upper()}"
    hole = _HOLES.get(key) or f"{_HOLE_PREFIXES.get(style, style)} {case} {ch.upper()}"
    return _lookup(f"MATHEMATICAL {key}", hole)


def _char(style: str, ch: str) -> str | None:
    upper = style.upper()
    if upper in _MATH:
        return _math(upper, ch)
    if style == "fullwidth":
        return chr(ord(ch) + 0xFEE0)
    if ch.isdigit():
        digit = _DIGITS[int(ch)]
        return {
            "circled": _lookup(f"CIRCLED DIGIT {digit}"),
            "superscript": _lookup(f"SUPERSCRIPT {digit}"),
            "negative circled": _lookup(f"DINGBAT NEGATIVE CIRCLED DIGIT {digit}", f"NEGATIVE CIRCLED DIGIT {digit}"),
        }.get(style)
    letter = ch.upper()
    return {
        "circled": _lookup(f"CIRCLED LATIN {'CAPITAL' if ch.isupper() else 'SMALL'} LETTER {letter}"),
        "small capitals": _lookup(f"LATIN LETTER SMALL CAPITAL {letter}"),
        "superscript": _lookup(f"MODIFIER LETTER SMALL {letter}", f"SUPERSCRIPT LATIN SMALL LETTER {letter}"),
        "negative circled": _lookup(f"NEGATIVE CIRCLED LATIN CAPITAL LETTER {letter}"),
        "negative squared": _lookup(f"NEGATIVE SQUARED LATIN CAPITAL LETTER {letter}"),
        "squared": _lookup(f"SQUARED LATIN CAPITAL LETTER {letter}"),
    }[style]


def plain(text: str, style: str) -> str:
    if style in CASELESS:
        return text.lower()
    if style in CAPITALS_ONLY:
        return text.upper()
    return text


def decorate(text: str, style: str) -> str:
    """*text* with each ASCII letter and digit in *style* (kept as is where the style has none)."""
    out = []
    for ch in unicodedata.normalize("NFD", plain(text, style)):
        fancy = _char(style, ch) if ch.isascii() and ch.isalnum() else None
        out.append(fancy or ch)
    return "".join(out)
