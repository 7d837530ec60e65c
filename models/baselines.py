"""The plain baseline beside every figure of the model card: TF-IDF + logistic regression.

Character 1-5-grams and word 1-2-grams of the lower-cased text (scikit-learn's
``TfidfVectorizer``, sublinear tf, min_df 2), fitted on the very rows the shipped model was
trained on, then put through the same training function (same C, class weights, sample
weights, out-of-fold calibration or decision biases, seed). Only the features differ, so a
gap between the two columns is what the shipped features (hashing, normalisation of
look-alikes and teencode, structural signals) are worth.

The baseline is never shipped: its fitted vocabulary (a million-plus n-grams) would be a
pickle-sized artifact and an extra pass per comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

# Bounds the vocabulary (char 1-5-grams of ~100k comments run to several million distinct
# n-grams); the most frequent ones carry nearly all of the signal and fit in memory.
MAX_CHAR_FEATURES: Final = 1_000_000
MAX_WORD_FEATURES: Final = 500_000


@dataclass(frozen=True, slots=True)
class Tfidf:
    """The two fitted vectorizers; ``transform`` stacks their columns."""

    char: TfidfVectorizer
    word: TfidfVectorizer

    @classmethod
    def fit(cls, texts: Sequence[str]) -> Tfidf:
        char = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 5), sublinear_tf=True, min_df=2,
            max_features=MAX_CHAR_FEATURES, dtype=np.float32,
        )
        word = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2,
            token_pattern=r"(?u)\b\w+\b", max_features=MAX_WORD_FEATURES, dtype=np.float32,
        )
        char.fit(texts)
        word.fit(texts)
        return cls(char, word)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        # Each block is L2-normalised on its own; halving keeps the row norm at 1 like the
        # shipped features', so the same C means the same regularisation strength.
        stacked = sp.hstack([self.char.transform(texts), self.word.transform(texts)], format="csr")
        out: sp.csr_matrix = stacked * np.float32(np.sqrt(0.5))
        return out
