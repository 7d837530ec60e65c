"""The TF-IDF twin of a toxicity model, ranked on its held-out set without fitting its decision.

``models/build.py``'s ``toxicity_baseline`` fits the twin four (English) or six (Vietnamese)
times: the out-of-fold fits only tune its decision biases. How many toxic comments it catches
at a fixed share of clean ones flagged (a cut read off the held-out set, ``toxic_vs_clean``)
needs only its final fit, made here exactly as the build makes it (same rows, C, seed, no
sample weights when every row weighs 1). Not the same probabilities where the decision is
folded into the intercept (the English clean-flag recipe): its HATE-vs-OFFENSIVE offset can
move the ranking slightly. Run (one fit; ~3 min idle for Vietnamese, longer for English):
.venv/bin/python models/experiments/toxicity_twin_ranking.py toxicity|toxicity-en
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from moderation.models import baselines, build  # noqa: E402
from moderation.models.training import DEFAULT_SEED, _fit_lr, toxicity_targets  # noqa: E402


def main(model: str) -> None:
    root = ROOT.parent / "shared" / "data"
    recipe = build.TOXICITY_MODELS[model]
    tox = build.toxicity_training_data(root, model)
    started = time.perf_counter()
    tfidf = baselines.Tfidf.fit(tox.data.texts)
    x = tfidf.transform(tox.data.texts)
    lr = _fit_lr(x, toxicity_targets(tox.data.labels), recipe.c, DEFAULT_SEED, build._weights(tox))
    coef, intercept = np.zeros((3, x.shape[1])), np.zeros(3)
    coef[lr.classes_], intercept[lr.classes_] = lr.coef_, lr.intercept_  # placed by classes_
    held = build.toxicity_eval_set(root, model)
    logits = np.asarray(tfidf.transform(held.texts) @ coef.T) + intercept
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    out = build.toxic_vs_clean(toxicity_targets(held.labels), proba)
    out["fit_seconds"] = round(time.perf_counter() - started)
    print(json.dumps({recipe.dev_key: out}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
