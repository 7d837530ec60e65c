"""Feature extraction shared by training (service/training.py) and serving (service/scoring.py).

A comment becomes one sparse row: hashed n-grams (no fitted vocabulary, so the extractor has
no state to persist and both models can share one pass) followed by a few structural signals
that survive obfuscation (phone numbers, links, contact handles, look-alike spelling…).

Any change to what this module emits must bump ``FEATURES_VERSION``: artifacts record it and
loading refuses a mismatch instead of silently scoring garbage.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

import numpy as np
import scipy.sparse as sp

from moderation.scoring import normalize as nz
from moderation.scoring.language import detect as detect_language
from moderation.scoring.ngram_hash import hashed_ngrams
from moderation.scoring.text import CommentText, TextForms

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer

# 3: decorated letters folded (normalize.fold_decorations); the text signals read the folded
# text; "no Vietnamese diacritics" only for text detected as Vietnamese.
FEATURES_VERSION: Final = 3

# Scoring cost is linear in length and spam/toxicity is decided early in a comment; 4,000
# characters covers >99.9 % of real comments while bounding a 65 KB paste to ~1 ms.
MAX_SCORED_CHARS: Final = 4000

N_HASH: Final = 2**19

# Human-readable names, used verbatim in explanations.
SIGNAL_NAMES: Final[tuple[str, ...]] = (
    "phone number",
    "several phone numbers",
    "link",
    "several links",
    "short link",
    "contact handle (Zalo/Telegram/hotline…)",
    "@handle",
    "invisible characters",
    "look-alike / spelled-out letters",
    "many digits",
    "mostly capitals",
    "repeated words",
    "money amount",
    "comment length",
    "very short comment",
    "emoji-heavy",
    "no Vietnamese diacritics",
    "author name/URL has link or phone",
)
N_SIGNALS: Final = len(SIGNAL_NAMES)
N_FEATURES: Final = N_HASH + N_SIGNALS

_WORD_RE: Final = re.compile(r"\w+", re.UNICODE)
_HANDLE_RE: Final = re.compile(r"(?<!\w)@[a-z0-9_.]{3,}", re.IGNORECASE)
_MONEY_RE: Final = re.compile(
    r"\d[\d.,]*\s?(?:k|tr|triệu|trieu|ty|tỷ|đ|d|vnd|vnđ|usd|\$|%)(?!\w)|\$\s?\d|lãi suất|lai suat",
    re.IGNORECASE,
)
_EMOJI_RE: Final = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf]")
_VI_LETTERS_RE: Final = re.compile(r"[a-z]")
_MULTISPACE_RE: Final = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Prepared:
    """Normalized views of one comment, computed once and reused by every feature block."""

    folded: str  # no diacritics, look-alikes folded, casefolded
    normalized: str  # same but with diacritics
    signals: tuple[float, ...]
    # "vi", "en" or "other" (service/scoring/language.py), from ``normalized``.
    language: str
    # The cleaned text (decorations folded, invisible characters removed) casefolded and
    # single-spaced, look-alikes and diacritics as written: what the TF-IDF block reads.
    lower: str = ""


def _plain(clean: str) -> str:
    return _MULTISPACE_RE.sub(" ", clean.casefold()).strip()


def _signals(text: TextForms, author: TextForms | None, language: str, plain: str) -> tuple[float, ...]:
    # Counts read the cleaned text (decorations folded, invisible characters removed), so a
    # comment in bold, fullwidth or small-capital letters has the signals of the plain one.
    raw, clean, normalized, folded = text.raw, text.clean, text.norm, text.fold
    phones = text.phones
    urls = text.urls
    short = any(nz.is_short_link(u) for u in urls)
    contacts = nz.find_contacts_folded(folded)
    # map/filter over str methods: same counts as generator expressions, ~3x faster.
    letters = list(filter(str.isalpha, clean))
    n_letters = len(letters)
    n_digits = sum(map(str.isdigit, clean))
    caps = sum(map(str.isupper, letters)) / n_letters if n_letters >= 8 else 0.0
    words = folded.split()
    repetition = 1.0 - len(set(words)) / len(words) if len(words) >= 6 else 0.0
    invisible = nz.strip_invisible(raw) != raw
    lookalike = plain != normalized
    has_diacritics = folded != normalized
    author_flag = author is not None and bool(author.urls or author.phones)
    return (
        float(bool(phones)),
        float(len(phones) >= 2),
        float(bool(urls)),
        float(len(urls) >= 2),
        float(short),
        float(bool(contacts)),
        float(bool(_HANDLE_RE.search(clean))),
        float(invisible),
        float(lookalike),
        min(1.0, 3.0 * n_digits / max(1, len(clean))),
        caps,
        repetition,
        float(bool(_MONEY_RE.search(normalized))),
        min(1.0, math.log1p(len(clean)) / math.log1p(MAX_SCORED_CHARS)),
        float(len(clean.strip()) < 12),
        min(1.0, len(_EMOJI_RE.findall(clean)) / 5.0),
        # Vietnamese typed without diacritics; never English text, nor text in no language.
        float(language == "vi" and not has_diacritics and len(_VI_LETTERS_RE.findall(folded)) >= 12),
        float(author_flag),
    )


def _scored(text: str) -> str:
    raw = text[:MAX_SCORED_CHARS]
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        # Unpaired surrogates (possible from JSON "\ud800") cannot be hashed as UTF-8.
        raw = raw.encode("utf-8", "replace").decode("utf-8")
    return raw


def _prepare(text: TextForms, author: TextForms | None) -> Prepared:
    language = detect_language(text.norm)
    plain = _plain(text.clean)
    return Prepared(text.fold, text.norm, _signals(text, author, language, plain), language, plain)


def prepare(text: str, author: str = "") -> Prepared:
    """Normalize one comment (truncated to ``MAX_SCORED_CHARS``) and compute its signals."""
    return _prepare(TextForms(_scored(text)), TextForms(author) if author else None)


def prepare_comment(text: CommentText) -> Prepared:
    """:func:`prepare` of a comment's content and author name, reusing its shared forms."""
    forms = text.prefix(MAX_SCORED_CHARS)
    raw = _scored(forms.raw)
    if raw is not forms.raw:  # surrogates replaced: no longer the shared text
        forms = TextForms(raw)
    return _prepare(forms, text.field("author_name"))


NGRAM_SIZES: Final = (2, 3, 4, 5)
WORD_PREFIX: Final = "w:"


def analyze(prep: Prepared) -> list[str]:
    """Token strings hashed into the n-gram block.

    Char 2-5-grams of the folded text catch broken spelling and missing diacritics; word
    uni/bi-grams of the accented text keep Vietnamese meaning ("đẹp" vs "dép").
    """
    padded = f" {prep.folded} "
    length = len(padded)
    tokens = [padded[i : i + n] for n in NGRAM_SIZES for i in range(length - n + 1)]
    words = _WORD_RE.findall(prep.normalized)
    tokens.extend([WORD_PREFIX + w for w in words])
    tokens.extend([WORD_PREFIX + a + " " + b for a, b in itertools.pairwise(words)])
    return tokens


def _identity(tokens: list[str]) -> list[str]:
    return tokens


@cache
def _sklearn_hasher() -> HashingVectorizer:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer=_identity,
        n_features=N_HASH,
        alternate_sign=False,
        binary=True,
        norm="l2",
        dtype=np.float32,
    )


@dataclass(frozen=True, slots=True)
class Featurizer:
    """Stateless text → sparse matrix transform (``N_FEATURES`` columns)."""

    @classmethod
    def create(cls) -> Featurizer:
        return cls()

    @property
    def hasher(self) -> HashingVectorizer:
        """scikit-learn's definition of the n-gram block (imported on first use: the serving
        path never needs it, and importing scikit-learn is most of a worker's start-up)."""
        return _sklearn_hasher()

    def transform_prepared(self, prepared: Sequence[Prepared]) -> sp.csr_matrix:
        # The numpy path builds the same matrix as ``self.hasher`` over ``analyze`` ~3x faster
        # (tests/test_ngram_hash.py); the hasher stays as the definition, for tests and
        # training only: a serving install has no scikit-learn. There is no fallback to it:
        # what the numpy path refuses (text that is not valid UTF-8), scikit-learn's
        # murmurhash refuses too, and prepare() has already replaced lone surrogates.
        ngrams = hashed_ngrams(
            [f" {p.folded} " for p in prepared],
            [_WORD_RE.findall(p.normalized) for p in prepared],
            sizes=NGRAM_SIZES,
            word_prefix=WORD_PREFIX,
            n_features=N_HASH,
        )
        signals = sp.csr_matrix(
            np.asarray([p.signals for p in prepared], dtype=np.float32).reshape(
                len(prepared), N_SIGNALS
            )
        )
        return sp.hstack([ngrams, signals], format="csr", dtype=np.float32)

    def transform(self, texts: Sequence[str], authors: Sequence[str] | None = None) -> sp.csr_matrix:
        if authors is None:
            prepared = [prepare(t) for t in texts]
        else:
            prepared = [prepare(t, a) for t, a in zip(texts, authors, strict=True)]
        return self.transform_prepared(prepared)


def feature_name(token: str) -> str:
    """Display form of an n-gram token for moderators."""
    if token.startswith("w:"):
        return f"'{token[2:]}'"
    return f"'…{token.strip()}…'" if token.strip() else "'␠'"
