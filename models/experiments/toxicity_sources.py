"""Vietnamese toxicity: which training rows and class weighting, judged on ViHSD dev.

Each variant is the shipped recipe (the shipped features, multinomial LR, C = 8, per-class
decision biases tuned for macro-F1 on 3-fold out-of-fold predictions of the ViHSD train
rows) with one change:

* ``base``: ViHSD train alone (what ships);
* ``bal``: classes weighted to equal total weight;
* ``vlsp03`` / ``vlsp1``: VLSP 2019 hate-speech rows added at sample weight 0.3 / 1 (in every
  fold's training part; the folds, and so the biases, are over ViHSD rows only).

Prints macro-F1 on ViHSD dev at argmax and with the tuned biases. Run (one core, ~5 min a
variant): .venv/bin/python models/experiments/toxicity_sources.py [variant ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from moderation.models import sources  # noqa: E402
from moderation.models.training import TOXICITY_C, _tune_bias, featurize, prepare_all, read_csv, toxicity_targets  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SEED = 1
VARIANTS = {"base": (0.0, False), "bal": (0.0, True), "vlsp03": (0.3, False), "vlsp1": (1.0, False)}


def main(names: list[str]) -> None:
    vihsd = read_csv([DATA / "vihsd" / "train.csv"], "free_text", "label_id")
    vlsp = sources.vlsp_toxicity(DATA)
    dev = read_csv([DATA / "vihsd" / "dev.csv"], "free_text", "label_id")
    texts = vihsd.texts + [r.text for r in vlsp]
    y = toxicity_targets(vihsd.labels + [r.label for r in vlsp])
    x = featurize(prepare_all(texts, [""] * len(texts), "train"))
    x_dev = featurize(prepare_all(dev.texts, [""] * len(dev.texts), "dev"))
    y_dev = toxicity_targets(dev.labels)
    n_vi = len(vihsd.texts)
    for name in names:
        extra, balanced = VARIANTS[name]
        started = time.perf_counter()
        rows = np.arange(len(y)) if extra else np.arange(n_vi)
        weights = np.where(rows < n_vi, 1.0, extra)
        if balanced:
            counts = np.bincount(y[rows], minlength=3)
            weights = weights * (len(rows) / (3 * counts))[y[rows]]
        oof = np.zeros((n_vi, 3))
        for train, test in StratifiedKFold(3, shuffle=True, random_state=SEED).split(np.zeros(n_vi), y[:n_vi]):
            fit = np.concatenate([train, np.arange(n_vi, len(rows))])
            model = LogisticRegression(C=TOXICITY_C, max_iter=2000, tol=1e-4, random_state=SEED)
            model.fit(x[rows[fit]], y[rows[fit]], sample_weight=weights[fit])
            oof[test] = model.predict_proba(x[test])
        bias = np.asarray(_tune_bias(oof, y[:n_vi]))
        model = LogisticRegression(C=TOXICITY_C, max_iter=2000, tol=1e-4, random_state=SEED)
        model.fit(x[rows], y[rows], sample_weight=weights)
        proba = model.predict_proba(x_dev)
        at_argmax = f1_score(y_dev, proba.argmax(axis=1), average="macro")
        tuned = f1_score(y_dev, np.argmax(np.log(proba) + bias, axis=1), average="macro")
        print(f"{name}: ViHSD dev macro-F1 {at_argmax:.4f} at argmax, {tuned:.4f} with biases "
              f"{np.round(bias, 2).tolist()} ({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:] or list(VARIANTS))
