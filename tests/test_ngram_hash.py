"""The numpy n-gram hasher must build exactly the matrix scikit-learn builds from ``analyze``."""

from __future__ import annotations

import random

import numpy as np
import pytest

from moderation.scoring import features as feat
from moderation.scoring.ngram_hash import hashed_ngrams, murmur3_32

AWKWARD = [
    "",
    " ",
    "a",
    "Bài viết rất hay, cảm ơn tác giả!",
    "Bai viet rat hay cam on tac gia",
    "LH 0912.345.678 zalo: nhacai88 👉 https://bit.ly/abc",
    "😀😀😀 \U0001f600 \U0001d518\U0001d52b\U0001d526 中文字符 Ελληνικά кириллица",
    "x\ny\r\nz\tq\u00a0w\u200bv",
    "đ Đ ư Ư ơ ờ ở ỡ ợ",
    "w:w: w:",
    "a" * 3000,
    "Check out my channel!!! http://www.youtube.com/user/xyz " * 20,
]


def _random_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    pool = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,!?@#:/-_ \n\tăâđêôơưáàảãạếềểễệ€😀中\U0001f9e1\u200b"
    return ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 300))) for _ in range(n)]


def _fast(prepared: list[feat.Prepared]) -> object:
    return hashed_ngrams(
        [f" {p.folded} " for p in prepared],
        [feat._WORD_RE.findall(p.normalized) for p in prepared],
        sizes=feat.NGRAM_SIZES,
        word_prefix=feat.WORD_PREFIX,
        n_features=feat.N_HASH,
    )


@pytest.mark.parametrize("texts", [AWKWARD, _random_texts(200, 1), [t for t in AWKWARD if t][:1]])
def test_same_matrix_as_scikit_learn(texts: list[str]) -> None:
    prepared = [feat.prepare(t, "An") for t in texts]
    expected = feat.Featurizer.create().hasher.transform([feat.analyze(p) for p in prepared]).tocsr()
    expected.sort_indices()
    got = _fast(prepared)
    assert got.shape == expected.shape
    assert np.array_equal(got.indptr, expected.indptr)
    assert np.array_equal(got.indices, expected.indices)
    assert np.array_equal(got.data, expected.data)
    assert got.dtype == np.float32


def test_murmur3_matches_scikit_learn() -> None:
    from sklearn.utils import murmurhash3_32

    tokens = [b"", b"a", b"ab", b"abc", b"abcd", b"abcde", "tiếng việt 😀".encode(), b"x" * 41]
    buf = np.frombuffer(b"".join(tokens) + b"\x00" * 8, dtype=np.uint8)
    lengths = np.array([len(t) for t in tokens], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    got = murmur3_32(buf, starts, lengths)
    assert got.tolist() == [murmurhash3_32(t, seed=0) for t in tokens]


def test_featurizer_output_unchanged_by_fast_path() -> None:
    texts = AWKWARD + _random_texts(50, 2)
    fz = feat.Featurizer.create()
    prepared = [feat.prepare(t) for t in texts]
    fast = fz.transform_prepared(prepared)
    import scipy.sparse as sp

    slow_ngrams = fz.hasher.transform([feat.analyze(p) for p in prepared])
    signals = sp.csr_matrix(np.asarray([p.signals for p in prepared], dtype=np.float32))
    slow = sp.hstack([slow_ngrams, signals], format="csr", dtype=np.float32)
    slow.sort_indices()
    assert (fast != slow).nnz == 0
