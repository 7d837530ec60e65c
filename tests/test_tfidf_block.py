"""The spam model's hashed TF-IDF block (service/scoring/tfidf.py): the twin's analyzers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize

from moderation.scoring import tfidf
from moderation.scoring.artifacts import MANIFEST_NAME, ModelError, load_artifact
from moderation.scoring.features import prepare
from tests.test_ngram_hash import AWKWARD, _random_texts

MODELS = Path(__file__).resolve().parent.parent / "models"


def test_counts_are_scikit_learns_hashed_char_and_word_ngrams() -> None:
    prepared = [prepare(t) for t in AWKWARD + _random_texts(200, 7)]
    texts = [p.lower for p in prepared]
    char = HashingVectorizer(analyzer="char", ngram_range=(1, 5), n_features=tfidf.N_CHAR, alternate_sign=False,
                             norm=None, lowercase=False, dtype=np.float32).transform(texts)  # fmt: skip
    word = HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"\b\w+\b",
                             n_features=tfidf.N_WORD, alternate_sign=False, norm=None, lowercase=False,
                             dtype=np.float32).transform(texts)  # fmt: skip
    ours = tfidf.term_counts(prepared)
    assert (ours[:, : tfidf.N_CHAR] != char).nnz == 0
    assert (ours[:, tfidf.N_CHAR :] != word).nnz == 0


def test_lower_is_the_clean_text_casefolded_with_diacritics() -> None:
    plain = prepare("Nhà cái UY TÍN,   đăng ký\u200b tặng 88k")
    assert plain.lower == "nhà cái uy tín, đăng ký tặng 88k"
    # Decorated letters are folded first (mathematical bold), so both give the same block.
    assert prepare("𝐍𝐡𝐚̀ cái UY TÍN,   đăng ký tặng 88k").lower == plain.lower  # noqa: RUF001 (mathematical bold)


def test_weights_are_sublinear_tf_idf_normalised_per_block() -> None:
    prepared = [prepare(t) for t in ("Vay tiền nhanh nhanh nhanh, zalo 0912 345 678", "Bài viết rất hay", "")]
    counts = tfidf.term_counts(prepared)
    idf = tfidf.fit_idf(counts[:2])
    x = tfidf.weigh(counts, idf).toarray()
    raw = counts.toarray()
    expected = np.where(raw > 0, 1 + np.log(np.maximum(raw, 1)), 0) * idf
    for block in (slice(0, tfidf.N_CHAR), slice(tfidf.N_CHAR, None)):
        np.testing.assert_allclose(x[:, block], normalize(expected[:, block]) * np.sqrt(2), rtol=1e-5, atol=1e-7)
    assert not x[2].any()


def test_idf_is_zero_below_min_df() -> None:
    prepared = [prepare(t) for t in ("một hai", "một ba", "một bốn")]
    counts = tfidf.term_counts(prepared)
    idf = tfidf.fit_idf(counts)
    seen = np.bincount(counts.indices, minlength=tfidf.N_TFIDF)
    assert np.all(idf[seen < tfidf.MIN_DF] == 0)
    assert np.all(idf[seen >= tfidf.MIN_DF] > 0)
    # "một" is in every row: smooth IDF ln(4/4) + 1.
    assert idf[seen == 3].min() == pytest.approx(1.0)


@pytest.mark.skipif(load_artifact(MODELS / "spam").idf is None, reason="the shipped spam model has no TF-IDF block")
def test_artifact_with_another_tfidf_version_is_refused(tmp_path: Path) -> None:
    shutil.copytree(MODELS / "spam", tmp_path / "spam")
    manifest_path = tmp_path / "spam" / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["tfidf"]["version"] = tfidf.TFIDF_VERSION + 1
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ModelError, match="TF-IDF block"):
        load_artifact(tmp_path / "spam")
