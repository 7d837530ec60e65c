"""The spam model's second block of columns: hashed TF-IDF n-grams of the accented text.

The shared block (service/scoring/features.py) is binary char 2-5-grams of the folded text
plus word uni/bigrams, one L2 norm: it drops Vietnamese diacritics and weighs a frequent
n-gram like a rare one. The TF-IDF twin of the model card (models/baselines.py) ranks spam
better at the same false-positive rate; this block is its analyzers without its fitted
vocabulary:

* char 1-5-grams (no padding) of :attr:`Prepared.lower` — the cleaned text casefolded and
  single-spaced, diacritics and look-alikes as written — and word uni/bigrams of it;
* sublinear term frequency ``1 + ln(count)`` times an IDF per hash column, learned at
  training time (``ln((1 + n) / (1 + df)) + 1``, zero for columns seen in fewer than
  ``MIN_DF`` training rows, so an unseen n-gram neither counts nor dilutes the norm, as
  outside a fitted vocabulary);
* char and word columns L2-normalised on their own, each then times sqrt(2): the block has
  twice the shared block's norm, i.e. a weaker L2 penalty on its weights (at the cuts of the
  false-positive targets this ranked the held-out real spam at least as well as the same
  model with the block at norm 1, models/README.md).

The IDF vector is stored in the spam artifact (service/scoring/artifacts.py); any change to
what this module emits must bump ``TFIDF_VERSION``, which the artifact records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import scipy.sparse as sp

from moderation.scoring.ngram_hash import hashed_counts

if TYPE_CHECKING:
    from moderation.scoring.features import Prepared

TFIDF_VERSION: Final = 1
CHAR_SIZES: Final = (1, 2, 3, 4, 5)
N_CHAR: Final = 2**20
N_WORD: Final = 2**19
N_TFIDF: Final = N_CHAR + N_WORD
MIN_DF: Final = 2
# scikit-learn's default token pattern, which the twin uses with single-letter words kept.
_WORD_RE: Final = re.compile(r"\b\w+\b")
_SCALE: Final = np.float32(2.0 * np.sqrt(0.5))


def term_counts(prepared: Sequence[Prepared]) -> sp.csr_matrix:
    """Raw counts of every hashed char and word n-gram (``N_TFIDF`` columns, float32)."""
    texts = [p.lower for p in prepared]
    chars = hashed_counts(texts, [[] for _ in texts], sizes=CHAR_SIZES, word_prefix="", n_features=N_CHAR)
    words = hashed_counts(["" for _ in texts], [_WORD_RE.findall(t) for t in texts], sizes=(1,),
                          word_prefix="", n_features=N_WORD)  # fmt: skip
    return sp.hstack([chars, words], format="csr", dtype=np.float32)


def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
    """IDF per column of *counts* (training rows); zero below ``MIN_DF`` rows."""
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=N_TFIDF).astype(np.float64)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    idf[df < MIN_DF] = 0.0
    out: np.ndarray = idf.astype(np.float32)
    return out


def weigh(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times IDF, char and word columns L2-normalised apart, times sqrt(2)."""
    x = counts.copy()
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    n = x.shape[0]
    rows = np.repeat(np.arange(n), np.diff(x.indptr))
    word = x.indices >= N_CHAR
    square = np.square(x.data, dtype=np.float64)
    norm = np.sqrt(np.stack([np.bincount(rows[~word], square[~word], minlength=n),
                             np.bincount(rows[word], square[word], minlength=n)]))  # fmt: skip
    norm[norm == 0.0] = 1.0
    x.data = (x.data / norm[word.astype(np.intp), rows]).astype(np.float32) * _SCALE
    x.eliminate_zeros()
    return x


def transform(prepared: Sequence[Prepared], idf: np.ndarray) -> sp.csr_matrix:
    return weigh(term_counts(prepared), idf)
