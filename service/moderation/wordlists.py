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
  only with them: folded, ``đĩ`` would be ``di`` and hit every ``đi`` ("go"). Words are
  runs of letters and digits: punctuation inside a short entry stands for any separator.

Matching is one Aho-Corasick automaton per form (the ``ahocorasick-rs`` package), so its
cost is linear in the comment whatever the list holds; a regex alternation of the entries
cost comment length x list size (a site's own moderator could stall a worker with two
settings PUTs and one long comment). Whole-word matching needs no look-around: both the
entries and the text are written as `` word word `` (one space around every word), so an
occurrence of `` ib `` is a whole-word match by construction. Building the automatons is
bounded by the list limits in sitesettings (MAX_LIST_CHARS); figures in docs and bench.

Both sides are bounded in their *normalised* length, which is what the automatons see:
every form is at most normalize.MAX_EXPANSION (2) times the text it comes from. U+FDFA is
one character that NFKC turns into 18: before that cap, 250 entries of it were 900,000
characters of patterns in 80 automatons, scanned over a comment 18 times its own length
(12 s per check). Now a list's forms add up to at most 2 x MAX_LIST_CHARS, so a few
automatons per form, and each scans at most twice the comment's length;
``WordList.scanned`` counts the characters scanned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import ahocorasick_rs

from moderation.scoring.normalize import (
    find_phone_numbers,
    has_diacritics,
    normalize_text,
    remove_diacritics,
    skeleton,
)
from moderation.scoring.text import CommentText, TextForms

# Below this many letters/digits a skeleton substring is too likely to hit innocent text.
MIN_SKELETON_CHARS: Final = 4
# Fields of a comment in the order WordPress checks them (wp_check_comment_disallowed_list).
FIELDS: Final = ("author_name", "author_email", "author_url", "content", "user_ip", "user_agent")

_NON_ALNUM_RE: Final = re.compile(r"[\W_]+")


def words(form: str) -> str:
    """``form`` as its words, each with one space on both sides (`` nha cai ``)."""
    return " " + _NON_ALNUM_RE.sub(" ", form).strip() + " "


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
    return _Prepared(
        words(norm), words(fold), squash(fold), frozenset(find_phone_numbers(value)) if phones else frozenset()
    )


def _as_phone(entry: str) -> str | None:
    found = find_phone_numbers(entry)
    if len(found) != 1:
        return None
    # The entry must be the number and nothing else ("gọi 0908..." is a phrase, not a number).
    digits = sum(ch.isalnum() for ch in entry)
    return found[0] if digits <= len(found[0]) + 1 else None


# Characters of entries per automaton. Building one holds the GIL (it is C code), so the
# entries are split into automatons of this size, each built in about a millisecond; a
# list at the limit (sitesettings.MAX_LIST_CHARS) is a handful of them.
AUTOMATON_CHARS: Final = 10_000


class _Automaton:
    """Entries (already in the form they are matched on) -> the entry as the site wrote it."""

    __slots__ = ("_parts",)

    def __init__(self, forms: dict[str, str]) -> None:
        self._parts: list[tuple[ahocorasick_rs.AhoCorasick, list[str]]] = []
        chunk: list[str] = []
        size = 0
        for form in forms:
            if chunk and size + len(form) > AUTOMATON_CHARS:
                self._parts.append(self._build(chunk, forms))
                chunk, size = [], 0
            chunk.append(form)
            size += len(form)
        if chunk:
            self._parts.append(self._build(chunk, forms))

    @staticmethod
    def _build(chunk: list[str], forms: dict[str, str]) -> tuple[ahocorasick_rs.AhoCorasick, list[str]]:
        # Leftmost-longest: at the first place anything matches, report the longest entry,
        # as the regex alternation (longest first) did. A contiguous NFA builds several
        # times faster than a DFA and scans nearly as fast.
        automaton = ahocorasick_rs.AhoCorasick(
            chunk,
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=ahocorasick_rs.Implementation.ContiguousNFA,
        )
        return automaton, [forms[f] for f in chunk]

    def first(self, haystack: str, work: list[int]) -> str | None:
        # Linear in the haystack (the search releases the GIL); the matches returned are
        # non-overlapping: at most len(haystack) / 4 of them (skeletons) or one per word.
        for automaton, entries in self._parts:
            work[0] += len(haystack)
            found = automaton.find_matches_as_indexes(haystack)
            if found:
                return entries[found[0][0]]
        return None

    @property
    def parts(self) -> int:
        return len(self._parts)


def _automaton(forms: dict[str, str]) -> _Automaton | None:
    return _Automaton(forms) if forms else None


class WordList:
    """A compiled list; build once per settings version, then :meth:`find` per comment.

    ``scanned`` counts the characters the automatons have scanned (the matching work)."""

    __slots__ = ("_long", "_phones", "_short_fold", "_short_norm", "_work", "entries")

    def __init__(self, entries: Sequence[str]) -> None:
        self.entries = tuple(e.strip() for e in entries if e.strip())
        self._work = [0]
        # Matched form -> the entry as the site wrote it (first one wins), for the reason message.
        long: dict[str, str] = {}
        short_norm: dict[str, str] = {}
        short_fold: dict[str, str] = {}
        phones: dict[str, str] = {}
        for entry in self.entries:
            if entry_problem(entry) is not None:
                continue
            phone = _as_phone(entry)
            if phone is not None:
                phones.setdefault(phone, entry)
                continue
            skel = skeleton(entry)
            if len(skel) >= MIN_SKELETON_CHARS:
                long.setdefault(skel, entry)
            elif has_diacritics(entry):
                short_norm.setdefault(words(normalize_text(entry)), entry)
            else:
                short_fold.setdefault(words(remove_diacritics(normalize_text(entry))), entry)
        self._long = _automaton(long)
        self._short_norm = _automaton(short_norm)
        self._short_fold = _automaton(short_fold)
        self._phones = phones

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def scanned(self) -> int:
        return self._work[0]

    @property
    def automatons(self) -> int:
        """Automaton parts a check may scan, over all three forms."""
        return sum(a.parts for a in (self._long, self._short_norm, self._short_fold) if a is not None)

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
        for automaton, haystack in (
            (self._long, text.skel),
            (self._short_norm, text.norm),
            (self._short_fold, text.fold),
        ):
            if automaton is not None:
                hit = automaton.first(haystack, self._work)
                if hit is not None:
                    return hit
        return None


def _from_forms(forms: TextForms) -> _Prepared:
    """:func:`_prepare` from the submission's shared forms (no second normalization)."""
    return _Prepared(words(forms.norm), words(forms.fold), forms.skel, frozenset(forms.phones))


class PreparedFields:
    """A comment's fields prepared once and matched against several lists."""

    __slots__ = ("_cache", "_fields", "_text")

    def __init__(self, fields: Sequence[tuple[str, str | None]] | CommentText) -> None:
        # A CommentText: the submission's shared forms, which the rules and the model read too.
        self._text = fields if isinstance(fields, CommentText) else None
        if isinstance(fields, CommentText):
            self._fields = [(n, v) for n in FIELDS if (v := getattr(fields.comment, n))]
        else:
            self._fields = [(n, v) for n, v in fields if v]
        self._cache: dict[str, _Prepared] = {}

    def find(self, words: WordList) -> Match | None:
        if not words:
            return None
        for name, value in self._fields:
            prepared = self._cache.get(name)
            if prepared is None:
                forms = self._text.field(name) if self._text is not None else None
                # Phone extraction is cheap next to normalization; always do it once.
                prepared = _from_forms(forms) if forms is not None else _prepare(value, phones=True)
                self._cache[name] = prepared
            hit = words.find_in(prepared)
            if hit is not None:
                return Match(hit, name)
        return None
