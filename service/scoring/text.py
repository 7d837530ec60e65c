"""A comment's text prepared once, in every form its readers need.

The site rules (duplicate and campaign fingerprints), the word lists, the link limit and the
model's features all read normalized forms of the same fields. Each used to normalize on its
own — three or four passes over the content per submission. :class:`CommentText` is built
once per submission and computes each form on first use, so every reader shares one pass:

* :class:`TextForms` of a text: ``clean`` (NFKC, invisible characters removed, what the
  phone and link detectors scan), ``norm`` (:func:`normalize.normalize_text`), ``fold``
  (without diacritics), ``skel`` (:func:`normalize.skeleton`), ``phones`` and ``urls``. Every
  form equals what the matching function of service/normalize.py returns for the raw text
  (tests/test_text.py checks this on the datasets).
* Readers look at different lengths of the content (features its first 4,000 characters,
  fingerprints 8,000, word lists all of it). A prefix that is the whole content is the
  content's own :class:`TextForms`, so a comment of up to 4,000 characters — nearly all of
  them — is normalized exactly once; a longer one once per distinct length.
"""

from __future__ import annotations

from moderation.core.schemas import CommentIn
from moderation.scoring import normalize as nz

__all__ = ["CommentText", "TextForms"]


class TextForms:
    """One text in the normalized forms of service/normalize.py, each computed on first use."""

    __slots__ = ("_clean", "_fold", "_norm", "_phones", "_skel", "_urls", "raw")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self._clean: str | None = None
        self._norm: str | None = None
        self._fold: str | None = None
        self._skel: str | None = None
        self._phones: tuple[str, ...] | None = None
        self._urls: tuple[str, ...] | None = None

    @property
    def clean(self) -> str:
        if self._clean is None:
            self._clean = nz.clean_text(self.raw)
        return self._clean

    @property
    def norm(self) -> str:
        """``normalize_text(raw)``: casefolded, look-alikes folded, diacritics kept."""
        if self._norm is None:
            self._norm = nz.normalize_clean(self.clean)
        return self._norm

    @property
    def fold(self) -> str:
        """``fold_for_matching(raw)``: :attr:`norm` without diacritics."""
        if self._fold is None:
            self._fold = nz.remove_diacritics(self.norm)
        return self._fold

    @property
    def skel(self) -> str:
        """``skeleton(raw)``: :attr:`fold` with every non-alphanumeric removed."""
        if self._skel is None:
            self._skel = nz.squash(self.fold)
        return self._skel

    @property
    def phones(self) -> tuple[str, ...]:
        """``find_phone_numbers(raw)``, in order of appearance."""
        if self._phones is None:
            self._phones = tuple(nz.phones_in_clean(self.clean))
        return self._phones

    @property
    def urls(self) -> tuple[str, ...]:
        """``find_urls(raw)``, in order of appearance."""
        if self._urls is None:
            self._urls = tuple(nz.urls_in_clean(self.clean))
        return self._urls


class CommentText:
    """The text fields of one comment, prepared once per submission and shared by its readers."""

    __slots__ = ("_fields", "_prefixes", "comment")

    def __init__(self, comment: CommentIn) -> None:
        self.comment = comment
        self._fields: dict[str, TextForms | None] = {}
        self._prefixes: dict[int, TextForms] = {}

    def field(self, name: str) -> TextForms | None:
        """The forms of a text field of the comment (``content``, ``author_name``…); None when empty."""
        if name not in self._fields:
            value = getattr(self.comment, name)
            self._fields[name] = TextForms(value) if value else None
        return self._fields[name]

    @property
    def content(self) -> TextForms:
        forms = self.field("content")
        return forms if forms is not None else TextForms("")

    def prefix(self, chars: int) -> TextForms:
        """The forms of the first *chars* characters of the content (the content's own when shorter)."""
        content = self.comment.content
        if len(content) <= chars:
            return self.content
        forms = self._prefixes.get(chars)
        if forms is None:
            forms = self._prefixes[chars] = TextForms(content[:chars])
        return forms
