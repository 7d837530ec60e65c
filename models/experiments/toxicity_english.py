"""English toxicity: which features, judged toxic-vs-clean on the held-out english-comments.

Scratch comparison behind the model card's "what was tried" (issue 21). Each variant is a
binary logistic regression (toxic = OFFENSIVE or HATE, C = 1) on the rows models/build.py
trains ``toxicity-en`` on; it prints, on the held-out part (models/sources.py), ROC-AUC, the
share of toxic comments caught when a cut is set on the held-out clean comments to flag 5 %
of them, and the ROC-AUC within each collection:

* ``shipped``: the shared features (service/scoring/features.py, binary hashed n-grams);
* ``twin``: the TF-IDF baseline's features (models/baselines.py);
* ``nb``: the shared features scaled by their naive-Bayes log-count ratio (what ships);
* ``idf``: the shared n-gram tokens as counts, sublinear tf x IDF, char and word blocks
  L2-normalised apart (a vocabulary-free hashed TF-IDF; it would need a second pass and an
  IDF vector at serving).

The cut is read off the held-out rows themselves: a comparison of rankings, not a rule.
Run (one core, ~1-2 min a variant once the features are built):
.venv/bin/python models/experiments/toxicity_english.py [variant ...]
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import normalize

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from moderation.models import baselines, build, sources  # noqa: E402
from moderation.models.training import featurize, nb_scaling, prepare_all, toxicity_targets  # noqa: E402
from moderation.scoring import features as feat  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
C = 1.0


def _blocks(prepared: list[feat.Prepared]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Counts of the shared char n-grams and word tokens, hashed into two blocks."""

    def chars(p: feat.Prepared) -> list[str]:
        s = f" {p.folded} "
        return [s[i : i + n] for n in feat.NGRAM_SIZES for i in range(len(s) - n + 1)]

    def words(p: feat.Prepared) -> list[str]:
        w = feat._WORD_RE.findall(p.normalized)
        return [feat.WORD_PREFIX + x for x in w] + [feat.WORD_PREFIX + a + " " + b for a, b in itertools.pairwise(w)]

    out = []
    for analyzer in (chars, words):
        hv = HashingVectorizer(analyzer=analyzer, n_features=feat.N_HASH, alternate_sign=False, norm=None,
                               dtype=np.float32)  # fmt: skip
        out.append(hv.transform(prepared))
    return out[0], out[1]


def _tfidf(x: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    x = x.copy()
    x.data = 1 + np.log(x.data)
    out: sp.csr_matrix = normalize(x @ sp.diags(idf.astype(np.float32))) * np.float32(np.sqrt(0.5))
    return out


def main(names: list[str]) -> None:
    tox = build.toxicity_training_data(DATA, "toxicity-en")
    train = tox.data
    held = [r for r in sources.english_comments(DATA) if r.heldout]
    y = (toxicity_targets(train.labels) != 0).astype(int)
    y_held = np.asarray([r.label != sources.CLEAN for r in held])
    collection = np.asarray([r.group.split(":")[0] for r in held])
    p_train = prepare_all(train.texts, train.authors, "train")
    p_held = prepare_all([r.text for r in held], [""] * len(held), "held-out")
    for name in names:
        started = time.perf_counter()
        if name == "twin":
            tfidf = baselines.Tfidf.fit(train.texts)
            x, x_held = tfidf.transform(train.texts), tfidf.transform([r.text for r in held])
        elif name == "idf":
            (c_tr, w_tr), (c_he, w_he) = _blocks(p_train), _blocks(p_held)
            idf = [np.log((1 + m.shape[0]) / (1 + np.bincount(m.indices, minlength=m.shape[1]))) + 1
                   for m in (c_tr, w_tr)]  # fmt: skip
            x = sp.hstack([_tfidf(c_tr, idf[0]), _tfidf(w_tr, idf[1])], format="csr")
            x_held = sp.hstack([_tfidf(c_he, idf[0]), _tfidf(w_he, idf[1])], format="csr")
        else:
            x, x_held = featurize(p_train), featurize(p_held)
            if name == "nb":
                scale = sp.diags(nb_scaling(x, y, feat.N_HASH).astype(np.float32))
                x, x_held = (x @ scale).tocsr(), (x_held @ scale).tocsr()
        model = LogisticRegression(C=C, max_iter=3000, tol=1e-4).fit(x, y)
        s = model.decision_function(x_held)
        cut = np.quantile(s[~y_held], 0.95)
        per = ", ".join(f"{k} {roc_auc_score(y_held[collection == k], s[collection == k]):.3f}"
                        for k in ("civil", "impermium", "fox"))  # fmt: skip
        print(f"{name}: ROC-AUC {roc_auc_score(y_held, s):.4f}, toxic caught at 5 % of clean "
              f"{np.mean(s[y_held] > cut):.3f} ({per}; {time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:] or ["shipped", "twin", "nb", "idf"])
