"""Word lists (moderation and disallowed words) matched the way spammers write.

WordPress matches every list entry as a case-insensitive substring of the author name,
email, URL, content, IP and user agent. We match the same fields, but on normalized
forms from service/normalize.py (the module the model shares), so an entry also matches
when the comment is written

* with or without Vietnamese diacritics, composed or decomposed (``nhà cái`` ≡ ``nha cai``),
* with zero-width or joiner characters inside words,
* spelled out with separators (``n.h.a c.a.i``, ``n h a c a i``),
* with look-alikes (``0``→``o``, ``1``/``l``→``i``, ``$``→``s``, Cyrillic/Greek homoglyphs).

Three kinds of entry:

* **phone numbers** (an entry that is one Vietnamese phone number) match any phone number
  in a field written spaced, dotted or with letter look-alikes (``09O8 123 456``);
* **long entries** (``MIN_SKELETON_CHARS`` or more letters/digits once folded) match as a
  substring of the field's *skeleton* (folded, every non-alphanumeric removed), which is
  what makes separators and spacing irrelevant;
* **short entries** match as whole words only: as substrings of a skeleton they would hit
  ordinary words (``ib`` inside ``ibis``). A short entry written *with* diacritics matches
  only with them: folded, ``đĩ`` would be ``di`` and hit every ``đi`` ("go").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from service.scoring.normalize import find_phone_numbers, has_diacritics, normalize_text, remove_diacritics, skeleton

# Below this many letters/digits a skeleton substring is too likely to hit innocent text.
MIN_SKELETON_CHARS: Final = 4
# Fields of a comment in the order WordPress checks them (wp_check_comment_disallowed_list).
FIELDS: Final = ("author_name", "author_email", "author_url", "content", "user_ip", "user_agent")

_NON_ALNUM_RE: Final = re.compile(r"[\W_]+")


def squash(folded: str) -> str:
    """The skeleton of text already folded by normalize_text + remove_diacritics.

    Equal to ``normalize.skeleton(text)`` without normalizing twice (tests check this).
    """
    return _NON_ALNUM_RE.sub("", folded).replace("l", "i")


def entry_problem(entry: str) -> str | None:
    """Why *entry* cannot be a list entry, or None when it can."""
    if not entry.strip():
        return "is blank"
    if not skeleton(entry):
        return "has no letters or digits, so it would match every comment"
    return None


@dataclass(frozen=True, slots=True)
class Match:
    entry: str
    field: str


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One field in the three forms entries are matched against."""

    norm: str
    fold: str
    skel: str
    phones: frozenset[str]


def _prepare(value: str, *, phones: bool) -> _Prepared:
    norm = normalize_text(value)
    fold = remove_diacritics(norm)
    return _Prepared(norm, fold, squash(fold), frozenset(find_phone_numbers(value)) if phones else frozenset())


def _as_phone(entry: str) -> str | None:
    found = find_phone_numbers(entry)
    if len(found) != 1:
        return None
    # The entry must be the number and nothing else ("gọi 0908..." is a phrase, not a number).
    digits = sum(ch.isalnum() for ch in entry)
    return found[0] if digits <= len(found[0]) + 1 else None


def _alternation(words: Iterable[str], boundary: bool) -> re.Pattern[str] | None:
    unique = sorted(set(words), key=lambda w: (-len(w), w))
    if not unique:
        return None
    body = "|".join(re.escape(w) for w in unique)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)" if boundary else f"(?:{body})")


class WordList:
    """A compiled list; build once per settings version, then :meth:`find` per comment."""

    __slots__ = ("_by_form", "_long", "_phones", "_short_fold", "_short_norm", "entries")

    def __init__(self, entries: Sequence[str]) -> None:
        self.entries = tuple(e.strip() for e in entries if e.strip())
        long: list[str] = []
        short_norm: list[str] = []
        short_fold: list[str] = []
        phones: dict[str, str] = {}
        # Matched form -> the entry as the site wrote it, for the reason message.
        self._by_form: dict[tuple[str, str], str] = {}
        for entry in self.entries:
            if entry_problem(entry) is not None:
                continue
            phone = _as_phone(entry)
            if phone is not None:
                phones[phone] = entry
                continue
            skel = skeleton(entry)
            if len(skel) >= MIN_SKELETON_CHARS:
                long.append(skel)
                self._by_form.setdefault(("skel", skel), entry)
            elif has_diacritics(entry):
                form = normalize_text(entry)
                short_norm.append(form)
                self._by_form.setdefault(("norm", form), entry)
            else:
                form = remove_diacritics(normalize_text(entry))
                short_fold.append(form)
                self._by_form.setdefault(("fold", form), entry)
        self._long = _alternation(long, boundary=False)
        self._short_norm = _alternation(short_norm, boundary=True)
        self._short_fold = _alternation(short_fold, boundary=True)
        self._phones = phones

    def __bool__(self) -> bool:
        return bool(self.entries)

    def find(self, fields: Sequence[tuple[str, str | None]]) -> Match | None:
        """The first entry found in ``(field name, value)`` pairs, or None."""
        if not self.entries:
            return None
        for name, value in fields:
            if not value:
                continue
            hit = self.find_in(_prepare(value, phones=bool(self._phones)))
            if hit is not None:
                return Match(hit, name)
        return None

    def find_in(self, text: _Prepared) -> str | None:
        if self._phones:
            for phone in text.phones:
                if phone in self._phones:
                    return self._phones[phone]
        for kind, pattern, haystack in (
            ("skel", self._long, text.skel),
            ("norm", self._short_norm, text.norm),
            ("fold", self._short_fold, text.fold),
        ):
            if pattern is None:
                continue
            found = pattern.search(haystack)
            if found is not None:
                return self._by_form.get((kind, found.group(0)), found.group(0))
        return None


class PreparedFields:
    """A comment's fields prepared once and matched against several lists."""

    __slots__ = ("_cache", "_fields")

    def __init__(self, fields: Sequence[tuple[str, str | None]]) -> None:
        self._fields = [(n, v) for n, v in fields if v]
        self._cache: dict[str, _Prepared] = {}

    def find(self, words: WordList) -> Match | None:
        if not words:
            return None
        for name, value in self._fields:
            prepared = self._cache.get(name)
            if prepared is None:
                # Phone extraction is cheap next to normalization; always do it once.
                prepared = self._cache[name] = _prepare(value, phones=True)
            hit = words.find_in(prepared)
            if hit is not None:
                return Match(hit, name)
        return None
