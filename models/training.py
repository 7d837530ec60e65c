"""Training and evaluation of the spam and toxicity models (``moderation train|evaluate``).

Kept apart from serving: scoring.py only needs the artifacts this module writes.

Spam: L2 logistic regression over service.features, then Platt scaling fitted on 5-fold
out-of-fold decision values so P(spam) is calibrated on data the weights did not see.
Toxicity: multinomial logistic regression; per-class decision biases (added to log-probabilities
before argmax) are tuned for macro-F1 on out-of-fold predictions, never on evaluation data.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import itertools
import json
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from tqdm import tqdm

from moderation.scoring import tfidf
from moderation.scoring.artifacts import load_artifact, save_artifact
from moderation.scoring.features import N_FEATURES, N_HASH, Featurizer, Prepared, analyze, feature_name, prepare
from moderation.scoring.scorer import (
    DEFAULT_APPROVE_THRESHOLD,
    DEFAULT_SPAM_THRESHOLD,
    TOXICITY_LABELS,
)

DEFAULT_SEED: Final = 20240601
SPAM_C: Final = 4.0
# `moderation train --task spam` picks C from this grid by 5-fold CV on the training file
# (out-of-fold macro-F1 at the best threshold); models/build.py uses SPAM_C directly.
SPAM_C_GRID: Final = (1.0, 4.0, 16.0)
# Candidate decision thresholds on calibrated P(spam) for the out-of-fold search.
_THRESHOLD_GRID: Final = np.round(np.linspace(0.05, 0.95, 91), 2)
# 5-fold out-of-fold macro-F1 on ViHSD train (biases tuned on the same folds): C = 1 / 2 / 8 →
# 0.642 / 0.653 / 0.659. Chosen on train only; ViHSD dev is reported once, in the model card.
TOXICITY_C: Final = 8.0
CV_FOLDS: Final = 5
# Explanations only need names for columns that carry weight; bounding the table keeps the
# artifact small (names are stored as fixed-width strings).
MAX_NAMED_COLUMNS: Final = 60_000
MAX_NAME_CHARS: Final = 32
_CHUNK: Final = 2000

csv.field_size_limit(16 * 1024 * 1024)


# ---------------------------------------------------------------- data


@dataclass(slots=True)
class Dataset:
    texts: list[str]
    labels: list[str]
    authors: list[str] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv(paths: Sequence[Path], text_column: str, label_column: str) -> Dataset:
    """Read and concatenate CSVs; each must have the two columns. Records file hashes."""
    data = Dataset([], [])
    for path in paths:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = reader.fieldnames or []
            missing = [c for c in (text_column, label_column) if c not in fields]
            if missing:
                raise SystemExit(f"{path}: missing column(s) {missing}; has {fields}")
            rows = 0
            for row in reader:
                data.texts.append(row[text_column] or "")
                data.labels.append((row[label_column] or "").strip())
                data.authors.append(row.get("AUTHOR") or "")
                rows += 1
        data.sources.append({"path": str(path), "sha256": _sha256(path), "rows": rows})
    return data


def spam_targets(labels: Sequence[str], positive_label: str) -> np.ndarray:
    return np.asarray([lab == positive_label for lab in labels], dtype=np.int64)


def toxicity_targets(labels: Sequence[str]) -> np.ndarray:
    """Map ``0/1/2`` or ``CLEAN/OFFENSIVE/HATE`` (any case) to class indices."""
    out = np.empty(len(labels), dtype=np.int64)
    upper = [lab.upper() for lab in TOXICITY_LABELS]
    for i, lab in enumerate(labels):
        if lab.isdigit() and int(lab) < len(TOXICITY_LABELS):
            out[i] = int(lab)
        elif lab.upper() in upper:
            out[i] = upper.index(lab.upper())
        else:
            raise SystemExit(f"row {i}: toxicity label {lab!r} is not 0/1/2 or {TOXICITY_LABELS}")
    return out


# ---------------------------------------------------------------- features


def prepare_all(texts: Sequence[str], authors: Sequence[str], desc: str) -> list[Prepared]:
    authors = list(authors) if authors else [""] * len(texts)
    return [
        prepare(t, a)
        for t, a in tqdm(
            zip(texts, authors, strict=True), total=len(texts), desc=desc, file=sys.stderr,
            unit="doc", mininterval=0.5,
        )
    ]


def featurize(prepared: Sequence[Prepared]) -> sp.csr_matrix:
    featurizer = Featurizer.create()
    blocks = [
        featurizer.transform_prepared(prepared[i : i + _CHUNK])
        for i in range(0, len(prepared), _CHUNK)
    ]
    if not blocks:
        return sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
    return sp.vstack(blocks, format="csr")


def _tfidf_tokens(p: Prepared) -> list[str]:
    """The TF-IDF block's tokens of one comment worth a name: char 4-5-grams (as ``c:``) and
    words and word pairs (as ``w:``)."""
    text = p.lower
    tokens = [f"c:{text[i : i + n]}" for n in (4, 5) for i in range(len(text) - n + 1)]
    words = tfidf._WORD_RE.findall(text)
    tokens += [f"w:{w}" for w in words]
    tokens += [f"w:{a} {b}" for a, b in itertools.pairwise(words)]
    return tokens


def _named_columns(counts: Counter[str], column: np.ndarray, wanted: np.ndarray,
                   display: list[str]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """For each wanted column, the display name of its most frequent token."""
    freq = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    keep = wanted[column]
    idx, freq = column[keep], freq[keep]
    kept = [d for d, k in zip(display, keep, strict=True) if k]
    order = np.lexsort((-freq, idx))
    first = np.ones(order.size, dtype=bool)
    first[1:] = idx[order][1:] != idx[order][:-1]
    chosen = order[first]
    names = np.asarray([kept[i][:MAX_NAME_CHARS] for i in chosen], dtype=np.str_)
    return idx[chosen].astype(np.int64), names


def _heaviest(weight: np.ndarray) -> np.ndarray:
    heavy = np.argsort(-weight, kind="stable")[:MAX_NAMED_COLUMNS]
    wanted = np.zeros(weight.size, dtype=bool)
    wanted[heavy[weight[heavy] > 0]] = True
    return wanted


def column_names(
    prepared: Sequence[Prepared], coef: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Most frequent training token for each of the heaviest hashed columns (of the shared
    block, and of the TF-IDF block when *coef* has its columns)."""
    counts: Counter[str] = Counter()
    for p in prepared:
        # Moderators read words and signals; short char n-grams ("…g…") explain nothing,
        # so only word tokens and char n-grams of 4+ visible characters get a name.
        counts.update(t for t in analyze(p) if t.startswith("w:") or len(t.strip()) >= 4)
    tokens = list(counts)
    hasher = FeatureHasher(n_features=N_HASH, input_type="string", alternate_sign=False)
    column = hasher.transform([[t] for t in tokens]).tocoo().col
    wanted = _heaviest(np.abs(coef[:, :N_HASH]).max(axis=0))
    idx, names = _named_columns(counts, column, wanted, [feature_name(t) for t in tokens])
    if coef.shape[1] == N_FEATURES:
        return idx, names
    counts = Counter()
    for p in prepared:
        counts.update(t for t in _tfidf_tokens(p) if t.startswith("w:") or len(t[2:].strip()) >= 4)
    tokens = list(counts)
    char = np.asarray([t.startswith("c:") for t in tokens])
    column = np.empty(len(tokens), dtype=np.int64)
    for is_char, n, offset in ((True, tfidf.N_CHAR, N_FEATURES), (False, tfidf.N_WORD, N_FEATURES + tfidf.N_CHAR)):
        hasher = FeatureHasher(n_features=n, input_type="string", alternate_sign=False)
        part = np.flatnonzero(char == is_char)
        column[part] = hasher.transform([[tokens[i][2:]] for i in part]).tocoo().col + offset
    wanted = _heaviest(np.abs(coef).max(axis=0))
    wanted[:N_FEATURES] = False
    display = [feature_name("w:" + t[2:]) if t.startswith("w:") else feature_name(t[2:]) for t in tokens]
    idx_t, names_t = _named_columns(counts, column, wanted, display)
    return np.concatenate([idx, idx_t]), np.concatenate([names, names_t]).astype(np.str_)


# ---------------------------------------------------------------- fitting


def _fit_lr(x: sp.csr_matrix, y: np.ndarray, c: float, seed: int, weights: np.ndarray | None) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=2000, tol=1e-4, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(x, y, sample_weight=weights)
    for w in caught:
        # Reported, not raised: a not-fully-converged L2 model is still usable, and the
        # evaluation figures in the manifest are what decide whether it ships.
        tqdm.write(f"warning: {w.message}", file=sys.stderr)
    return model


def _balanced_weights(y: np.ndarray, extra: np.ndarray | None) -> np.ndarray:
    counts = np.bincount(y, minlength=int(y.max()) + 1).astype(np.float64)
    w: np.ndarray = (len(y) / (len(counts) * np.maximum(counts, 1)))[y]
    return w * extra if extra is not None else w


@dataclass(frozen=True, slots=True)
class TrainResult:
    coef: np.ndarray
    intercept: np.ndarray
    extra_manifest: dict[str, Any]


def _macro_f1_by_threshold(y: np.ndarray, p: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Binary macro-F1 of ``p >= t`` for every t in *grid* (vectorized confusion counts)."""
    flagged = p[None, :] >= grid[:, None]
    pos = y.astype(bool)[None, :]
    tp = (flagged & pos).sum(axis=1).astype(np.float64)
    fp = (flagged & ~pos).sum(axis=1).astype(np.float64)
    fn = (~flagged & pos).sum(axis=1).astype(np.float64)
    tn = float(len(y)) - tp - fp - fn
    f1_pos = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp), where=(2 * tp + fp + fn) > 0)
    f1_neg = np.divide(2 * tn, 2 * tn + fn + fp, out=np.zeros_like(tn), where=(2 * tn + fn + fp) > 0)
    out: np.ndarray = (f1_pos + f1_neg) / 2
    return out


def _platt(z: np.ndarray, y: np.ndarray, seed: int) -> tuple[float, float]:
    platt = LogisticRegression(C=1e6, random_state=seed)
    # Unweighted: calibrate to the class mix actually seen in the training data.
    platt.fit(z.reshape(-1, 1), y)
    return float(platt.coef_[0, 0]), float(platt.intercept_[0])


def _calibrated(z: np.ndarray, a: float, b: float) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * (a * z + b)))
    return out


def _group_folds(groups: Sequence[str], k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """*k* folds by a hash of each row's group (a group is never on both sides)."""
    fold = np.asarray([hashlib.sha256(g.encode("utf-8")).digest()[0] % k for g in groups])
    return [(np.flatnonzero(fold != i), np.flatnonzero(fold == i)) for i in range(k)]


def _logit(p: float) -> float:
    return float(np.log(p / (1.0 - p)))


def _intercept_for_fpr(z: np.ndarray, a: float, fpr: dict[float, float]) -> float:
    """The intercept b that puts at most ``fpr[t]`` of the decision values *z* at or above each
    threshold t of ``sigmoid(a z + b)`` (the strictest of the thresholds binds)."""
    ordered = np.sort(z)[::-1]
    bounds = []
    for t, share in fpr.items():
        allowed = int(np.floor(share * len(ordered)))
        cut = ordered[min(allowed, len(ordered) - 1)]
        # The row at the cut and every row below it score under t.
        bounds.append(_logit(t) - a * cut - 1e-6)
    return float(min(bounds))


def _calibration_for_fpr(z: np.ndarray, a: float, fpr: dict[float, float]) -> tuple[float, float]:
    """Slope and intercept that put each threshold t of ``sigmoid(a z + b)`` at the cut which
    leaves exactly ``fpr[t]`` of the decision values *z* at or above it. With two thresholds
    both bind (the slope is set by the distance between their cuts); with one, or when the
    two cuts coincide, the given slope *a* is kept and only the intercept moves."""
    ordered = np.sort(z)[::-1]
    cuts = {t: ordered[min(int(np.floor(share * len(ordered))), len(ordered) - 1)] for t, share in fpr.items()}
    if len(cuts) == 2:
        (t1, c1), (t2, c2) = sorted(cuts.items())
        if c2 - c1 > 1e-9:
            slope = (_logit(t2) - _logit(t1)) / (c2 - c1)
            # The row at each cut and every row below it score under its threshold.
            return float(slope), float(_logit(t1) - slope * c1 - 1e-6)
    return a, _intercept_for_fpr(z, a, fpr)


def train_spam_model(
    x: sp.csr_matrix, y: np.ndarray, seed: int, sample_weight: np.ndarray | None = None,
    c: float = SPAM_C, c_grid: Sequence[float] | None = None, tune_threshold: bool = False,
    cv_folds: int = CV_FOLDS, groups: Sequence[str] | None = None,
    calibration_fpr: tuple[np.ndarray, dict[float, float]] | None = None,
) -> TrainResult:
    """Fit the spam model; optionally pick C and the decision threshold on out-of-fold data.

    With *c_grid*, each C is scored by out-of-fold macro-F1 (at its best threshold when
    *tune_threshold*, else at 0.5) and the best one is refitted on everything. With
    *tune_threshold*, the threshold on calibrated P(spam) that maximizes out-of-fold macro-F1
    is stored as the model's ``decision`` threshold; otherwise it is 0.5. Evaluation data is
    never involved.

    With *groups*, the out-of-fold splits keep each group on one side. With *calibration_fpr*
    (a mask of ordinary-comment rows, and for each threshold the share of them allowed at or
    above it), the Platt slope is kept and the intercept is set so that the masked rows'
    out-of-fold scores meet those shares, the strictest binding: the thresholds then sit at
    false-positive rates instead of at the training mix's probabilities.
    """
    weights = _balanced_weights(y, sample_weight)
    if groups is not None:
        folds = _group_folds(groups, cv_folds)
    else:
        folds = list(StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    grid = _THRESHOLD_GRID if tune_threshold else np.asarray([0.5])
    selection: dict[str, Any] = {}
    best: tuple[float, float, np.ndarray, float, float, float] | None = None
    for c_value in c_grid or (c,):
        oof = np.zeros(len(y), dtype=np.float64)
        for train_idx, test_idx in tqdm(folds, desc=f"spam cv C={c_value:g}", file=sys.stderr):
            fold_model = _fit_lr(x[train_idx], y[train_idx], c_value, seed, weights[train_idx])
            oof[test_idx] = fold_model.decision_function(x[test_idx])
        a, b = _platt(oof, y, seed)
        f1 = _macro_f1_by_threshold(y, _calibrated(oof, a, b), grid)
        k = int(np.argmax(f1))
        selection[f"{c_value:g}"] = {"oof_macro_f1": round(float(f1[k]), 4), "threshold": float(grid[k])}
        if best is None or f1[k] > best[0]:
            best = (float(f1[k]), c_value, oof, a, b, float(grid[k]))
    assert best is not None
    _, c, oof_best, a, b, decision = best
    calibration: dict[str, Any] = {"a": a, "b": b, "method": f"platt on {cv_folds}-fold oof"
                                   + (" (grouped)" if groups is not None else "")}  # fmt: skip
    if calibration_fpr is not None:
        mask, fpr = calibration_fpr
        a_fpr, b_fpr = _calibration_for_fpr(oof_best[mask], a, fpr)
        calibration |= {"a": a_fpr, "b": b_fpr, "platt_a": a, "platt_b": b,
                        "method": calibration["method"] + "; slope and intercept set so that "
                        + ", ".join(f"{100 * v:g} % of ordinary comments score >= {t}" for t, v in fpr.items())
                        + " out of fold", "ordinary_rows": int(mask.sum())}  # fmt: skip
        for t in fpr:
            calibration[f"oof_ordinary_share@{t}"] = float(np.mean(_calibrated(oof_best[mask], a_fpr, b_fpr) >= t))
            calibration[f"oof_spam_share@{t}"] = float(np.mean(_calibrated(oof_best[y == 1], a_fpr, b_fpr) >= t))
    model = _fit_lr(x, y, c, seed, weights)
    # classes_ is [0, 1]; coef_ points toward classes_[1], which must be the spam class.
    positive_col = int(np.flatnonzero(model.classes_ == 1)[0])
    sign = 1.0 if positive_col == 1 else -1.0
    return TrainResult(
        coef=sign * model.coef_,
        intercept=sign * model.intercept_,
        extra_manifest={
            "calibration": calibration,
            "decision_threshold": decision,
            "model_selection": {"C": c, "cv_folds": cv_folds, "tune_threshold": tune_threshold,
                                "candidates": selection},
        },
    )


def _tune_bias(proba: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> list[float]:
    """Coordinate search of per-class log-prob offsets maximizing out-of-fold macro-F1
    (rows weighted by *sample_weight*, e.g. to a class mix other than the training data's)."""
    from sklearn.metrics import f1_score

    logp = np.log(np.maximum(proba, 1e-12))
    bias = np.zeros(proba.shape[1])
    grid = np.linspace(-1.0, 3.0, 41)
    for _ in range(2):
        for k in range(1, proba.shape[1]):
            best, best_f1 = bias[k], -1.0
            for g in grid:
                bias[k] = g
                f1 = f1_score(y, np.argmax(logp + bias, axis=1), average="macro", sample_weight=sample_weight)
                if f1 > best_f1:
                    best, best_f1 = g, f1
            bias[k] = best
    return [float(b) for b in bias]


def nb_scaling(x: sp.csr_matrix, y: np.ndarray, columns: int, alpha: float = 1.0,
               sample_weight: np.ndarray | None = None) -> np.ndarray:
    """Naive-Bayes log-count ratio of each of the first *columns* columns, toxic (y != 0) vs
    clean, over binary presence; the other columns get 1.

    Multiplying the features by it before the fit (NB-LR, Wang & Manning 2012) gives a
    column that occurs mostly in toxic (or mostly in clean) rows a larger scale, so the same
    L2 penalty lets it carry more weight; a column that occurs as often in both gets ~0. The
    scaling is folded into the weights afterwards: serving is unchanged.
    """
    w = np.ones(len(y)) if sample_weight is None else sample_weight
    present = x[:, :columns].copy()
    present.data[:] = 1.0
    toxic = np.asarray(present.T @ (w * (y != 0))).ravel() + alpha
    clean = np.asarray(present.T @ (w * (y == 0))).ravel() + alpha
    out = np.ones(x.shape[1])
    out[:columns] = np.log((toxic / toxic.sum()) / (clean / clean.sum()))
    return out


def _scaled(x: sp.csr_matrix, scale: np.ndarray | None) -> sp.csr_matrix:
    return x if scale is None else (x @ sp.diags(scale.astype(np.float32))).tocsr()


def clean_flag_bias(proba: np.ndarray, y: np.ndarray, target: float) -> list[float]:
    """Decision biases that label at most *target* of the clean rows (y == 0) toxic.

    The HATE-vs-OFFENSIVE offset is chosen for macro-F1 of that split among the toxic rows;
    then one offset on both toxic classes (the CLEAN-vs-toxic cut) is set so that the share
    of clean rows labelled toxic is at most *target*.
    """
    from sklearn.metrics import f1_score

    logp = np.log(np.maximum(proba, 1e-12))
    toxic = y != 0
    grid = np.linspace(-3.0, 3.0, 61)
    split = [f1_score(y[toxic], np.where(logp[toxic, 2] + g > logp[toxic, 1], 2, 1), average="macro")
             for g in grid]  # fmt: skip
    hate = float(grid[int(np.argmax(split))])
    margin = np.maximum(logp[:, 1], logp[:, 2] + hate) - logp[:, 0]
    # Toxic when margin > cut: the (1 - target) quantile of the clean rows' margins, taken
    # from above so that ties never push the share past the target.
    cut = float(np.quantile(margin[~toxic], 1.0 - target, method="higher"))
    return [0.0, -cut, hate - cut]


def train_toxicity_model(
    x: sp.csr_matrix, y: np.ndarray, seed: int, c: float = TOXICITY_C, cv_folds: int = CV_FOLDS,
    sample_weight: np.ndarray | None = None, tune_rows: np.ndarray | None = None,
    nb_columns: int | None = None, clean_flag_target: float | None = None,
) -> TrainResult:
    """Fit the multinomial model and tune its per-class decision biases out of fold.

    *tune_rows* (a mask; all rows by default) are the rows the biases are tuned on: the folds
    split them, and every other row is in every fold's training part (extra data that should
    help the model but is not what it is judged on). With *nb_columns*, the first that many
    columns are scaled by :func:`nb_scaling` (computed inside each fold) and the scaling is
    folded into the returned weights. Without *clean_flag_target* the biases maximise
    macro-F1 and are stored as ``decision_bias``; with it (a share, e.g. 0.04) they label at
    most that share of the tune rows' clean comments toxic (:func:`clean_flag_bias`) and are
    added to the intercept instead, so the label is the argmax of the probabilities the
    service reports and a threshold on P(OFFENSIVE) or P(HATE) above 0.5 never flags a
    comment the label calls clean.
    """
    n_classes = len(TOXICITY_LABELS)
    tune = np.ones(len(y), dtype=bool) if tune_rows is None else np.asarray(tune_rows, dtype=bool)
    tune_idx, extra_idx = np.flatnonzero(tune), np.flatnonzero(~tune)
    oof = np.zeros((tune_idx.size, n_classes), dtype=np.float64)
    folds = StratifiedKFold(n_splits=cv_folds, shuffle=True, random_state=seed)

    def fit(rows: np.ndarray) -> tuple[LogisticRegression, np.ndarray | None]:
        w = None if sample_weight is None else sample_weight[rows]
        scale = None if nb_columns is None else nb_scaling(x[rows], y[rows], nb_columns, sample_weight=w)
        return _fit_lr(_scaled(x[rows], scale), y[rows], c, seed, w), scale

    for train_idx, test_idx in tqdm(
        list(folds.split(np.zeros(tune_idx.size), y[tune_idx])), desc="toxicity cv", file=sys.stderr
    ):
        fold_model, scale = fit(np.concatenate([tune_idx[train_idx], extra_idx]))
        proba = fold_model.predict_proba(_scaled(x[tune_idx[test_idx]], scale))
        oof[np.ix_(test_idx, fold_model.classes_)] = proba
    y_tune = y[tune_idx]
    model, scale = fit(np.arange(len(y)))
    coef = np.zeros((n_classes, x.shape[1]))
    intercept = np.zeros(n_classes)
    # Place each row by classes_, never by position.
    coef[model.classes_] = model.coef_
    intercept[model.classes_] = model.intercept_
    if scale is not None:
        coef *= scale
    extra: dict[str, Any] = {}
    if clean_flag_target is None:
        extra["decision_bias"] = _tune_bias(oof, y_tune)
    else:
        bias = clean_flag_bias(oof, y_tune, clean_flag_target)
        intercept += bias
        decided = np.argmax(np.log(np.maximum(oof, 1e-12)) + bias, axis=1)
        extra["decision_bias"] = [0.0] * n_classes
        extra["decision"] = {
            "rule": "argmax of the probabilities (biases added to the intercept)",
            "clean_flag_target": clean_flag_target,
            "bias_added_to_intercept": bias,
            "oof_clean_flagged": float(np.mean(decided[y_tune == 0] != 0)),
            "oof_toxic_caught": float(np.mean(decided[y_tune != 0] != 0)),
            "oof_rows": int(tune_idx.size),
        }
    if nb_columns is not None:
        extra["feature_scaling"] = {"kind": "naive-bayes log-count ratio, toxic vs clean (folded into coef)",
                                    "columns": nb_columns, "alpha": 1.0}  # fmt: skip
    return TrainResult(coef, intercept, extra)


def build_artifact(
    task: str, out: Path, prepared: Sequence[Prepared], y: np.ndarray, seed: int,
    data_sources: list[dict[str, Any]], notes: dict[str, Any] | None = None,
    sample_weight: np.ndarray | None = None, c_grid: Sequence[float] | None = None,
    tune_threshold: bool = False, cv_folds: int = CV_FOLDS, x: sp.csr_matrix | None = None,
    c: float | None = None, toxicity_options: dict[str, Any] | None = None, idf: np.ndarray | None = None,
    groups: Sequence[str] | None = None, calibration_fpr: tuple[np.ndarray, dict[float, float]] | None = None,
) -> Path:
    """Fit a model of *task* on prepared rows (features *x* when already computed) and write it to *out*.

    With *idf* the model also reads the TF-IDF block (service/scoring/tfidf.py) weighted by it;
    *x* then holds its columns after the shared ones."""
    if x is None:
        x = featurize(prepared)
        if idf is not None:
            x = sp.hstack([x, tfidf.transform(prepared, idf)], format="csr")
    thresholds = {"approve": DEFAULT_APPROVE_THRESHOLD, "spam": DEFAULT_SPAM_THRESHOLD}
    if task == "spam":
        if len(np.unique(y)) != 2:
            raise SystemExit("spam training needs both classes in the labels")
        result = train_spam_model(
            x, y, seed, sample_weight, c_grid=c_grid, tune_threshold=tune_threshold, cv_folds=cv_folds,
            groups=groups, calibration_fpr=calibration_fpr,
        )
        # The binary ham/spam cut used by `evaluate` (the service itself routes on approve/spam).
        thresholds["decision"] = float(result.extra_manifest.pop("decision_threshold"))
        classes = ["ham", "spam"]
    else:
        result = train_toxicity_model(x, y, seed, c=TOXICITY_C if c is None else c, cv_folds=cv_folds,
                                      sample_weight=sample_weight, **(toxicity_options or {}))  # fmt: skip
        classes = list(TOXICITY_LABELS)
    name_index, name_text = column_names(prepared, result.coef)
    # Explanations measure a signal against its training average, so an always-present
    # signal such as comment length does not show up as the "reason" for every score.
    signal_means = np.asarray(x[:, N_HASH:N_FEATURES].mean(axis=0)).ravel()
    manifest: dict[str, Any] = {
        "task": task,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "classes": classes,
        "positive_label": "spam" if task == "spam" else None,
        "thresholds": thresholds,
        "seed": seed,
        "training_rows": len(y),
        "class_counts": {classes[k]: int(v) for k, v in enumerate(np.bincount(y, minlength=len(classes)))},
        "training_data": data_sources,
        "signal_means": [round(float(v), 6) for v in signal_means],
        **result.extra_manifest,
        **(notes or {}),
    }
    return save_artifact(out, manifest, result.coef, result.intercept, name_index, name_text, idf=idf)


# ---------------------------------------------------------------- evaluation


def _binary_metrics(y: np.ndarray, p: np.ndarray, thresholds: dict[str, float]) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

    both = len(np.unique(y)) == 2
    # Headline figures at the model's own decision threshold (0.5 unless tuned at training).
    decision = thresholds.get("decision", 0.5)
    pred = (p >= decision).astype(np.int64)
    out: dict[str, Any] = {
        "rows": len(y),
        "decision_threshold": decision,
        "positives": int(y.sum()),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        # Undefined when the file holds one class only (e.g. ViHSD: every row is ham).
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if both else None,
        "mean_p": float(p.mean()),
    }
    neg, pos = y == 0, y == 1
    for name, t in {"default": 0.5, **thresholds}.items():
        flagged = p >= t
        out[f"at_{name}"] = {
            "threshold": t,
            "fpr": float(flagged[neg].mean()) if neg.any() else None,
            "recall": float(flagged[pos].mean()) if pos.any() else None,
            "flagged": int(flagged.sum()),
            "macro_f1": float(f1_score(y, flagged.astype(np.int64), average="macro", zero_division=0)),
        }
    return out


def _multiclass_metrics(y: np.ndarray, proba: np.ndarray, pred: np.ndarray, classes: list[str]) -> dict[str, Any]:
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
        roc_auc_score,
    )

    labels = list(range(len(classes)))
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    present = len(np.unique(y)) == len(classes)
    return {
        "rows": len(y),
        "macro_f1": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(y, pred)),
        "roc_auc_ovr": float(roc_auc_score(y, proba, multi_class="ovr", labels=labels)) if present else None,
        "per_class": {
            c: {"precision": float(prec[k]), "recall": float(rec[k]), "f1": float(f1[k]), "support": int(support[k])}
            for k, c in enumerate(classes)
        },
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
        # What a moderator sees: clean comments labelled toxic, toxic ones labelled anything toxic.
        "clean_flagged": float(np.mean(pred[y == 0] != 0)) if np.any(y == 0) else None,
        "toxic_caught": float(np.mean(pred[y != 0] != 0)) if np.any(y != 0) else None,
    }


def _plots_binary(report: Path, y: np.ndarray, p: np.ndarray, thresholds: dict[str, float]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix, precision_recall_curve

    report.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    if len(np.unique(y)) == 2:
        prec, rec, _ = precision_recall_curve(y, p)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(rec, prec)
        ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (spam)")
        fig.savefig(report / "pr_curve.png", dpi=100)
        plt.close(fig)
        written.append("pr_curve.png")
    cm = confusion_matrix(y, (p >= thresholds["spam"]).astype(np.int64), labels=[0, 1])
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["ham", "spam"], yticklabels=["ham", "spam"],
           xlabel="predicted", ylabel="true", title=f"Confusion at {thresholds['spam']}")
    fig.savefig(report / "confusion.png", dpi=100)
    plt.close(fig)
    written.append("confusion.png")
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(p, bins) - 1, 0, 9)
    mids, fracs = [], []
    for b in range(10):
        sel = which == b
        if sel.any():
            mids.append(float(p[sel].mean()))
            fracs.append(float(y[sel].mean()))
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot(mids, fracs, "o-")
    ax.set(xlabel="mean predicted P(spam)", ylabel="fraction spam", title="Calibration")
    fig.savefig(report / "calibration.png", dpi=100)
    plt.close(fig)
    written.append("calibration.png")
    return written


def _plots_multiclass(
    report: Path, y: np.ndarray, proba: np.ndarray, pred: np.ndarray, classes: list[str]
) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix, precision_recall_curve

    report.mkdir(parents=True, exist_ok=True)
    cm = confusion_matrix(y, pred, labels=list(range(len(classes))))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center")
    ticks = list(range(len(classes)))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=classes, yticklabels=classes,
           xlabel="predicted", ylabel="true", title="Confusion (toxicity)")
    fig.savefig(report / "confusion.png", dpi=100)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 4))
    for k, c in enumerate(classes):
        if (y == k).any():
            prec, rec, _ = precision_recall_curve(y == k, proba[:, k])
            ax.plot(rec, prec, label=c)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall per class")
    ax.legend()
    fig.savefig(report / "pr_curve.png", dpi=100)
    plt.close(fig)
    conf = proba.max(axis=1)
    correct = (pred == y).astype(np.float64)
    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(conf, bins) - 1, 0, 9)
    mids = [float(conf[which == b].mean()) for b in range(10) if (which == b).any()]
    accs = [float(correct[which == b].mean()) for b in range(10) if (which == b).any()]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot([0, 1], [0, 1], "--", color="grey")
    ax.plot(mids, accs, "o-")
    ax.set(xlabel="max predicted probability", ylabel="accuracy", title="Calibration")
    fig.savefig(report / "calibration.png", dpi=100)
    plt.close(fig)
    return ["confusion.png", "pr_curve.png", "calibration.png"]


def evaluate_artifact(
    model_dir: Path, data: Dataset, positive_label: str, report: Path | None
) -> dict[str, Any]:
    """Metrics (and optional plots) of one artifact on a labelled dataset."""
    from moderation.scoring.scorer import binary_probability, model_matrix, multiclass_decision, multiclass_probability

    artifact = load_artifact(model_dir)
    prepared = prepare_all(data.texts, data.authors, "featurize")
    x = model_matrix(artifact, featurize(prepared), prepared)
    task = artifact.manifest["task"]
    result: dict[str, Any] = {"model": artifact.version, "data": data.sources}
    if task == "spam":
        y = spam_targets(data.labels, positive_label)
        p = binary_probability(artifact, x)
        thresholds = {k: float(v) for k, v in artifact.manifest["thresholds"].items()}
        result["metrics"] = _binary_metrics(y, p, thresholds)
        if report is not None:
            result["plots"] = [str(report / f) for f in _plots_binary(report, y, p, thresholds)]
    else:
        y = toxicity_targets(data.labels)
        proba = multiclass_probability(artifact, x)
        pred = multiclass_decision(artifact, proba)
        result["metrics"] = _multiclass_metrics(y, proba, pred, artifact.classes)
        if report is not None:
            files = _plots_multiclass(report, y, proba, pred, artifact.classes)
            result["plots"] = [str(report / f) for f in files]
    if report is not None:
        (report / "metrics.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    return result


# ---------------------------------------------------------------- CLI


def _paths(value: str) -> list[Path]:
    return [Path(p) for p in value.split(",") if p]


def _c_grid(value: str) -> tuple[float, ...]:
    try:
        grid = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of numbers: {value!r}") from None
    if not grid or any(not np.isfinite(c) or c <= 0 for c in grid):
        raise argparse.ArgumentTypeError(f"C values must be positive numbers: {value!r}")
    return grid


def _folds(value: str) -> int:
    try:
        folds = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if folds < 2:
        raise argparse.ArgumentTypeError("at least 2 folds")
    return folds


def cmd_train(args: argparse.Namespace) -> int:
    data = read_csv(args.data, args.text_column, args.label_column)
    if args.task == "spam":
        y = spam_targets(data.labels, args.positive_label)
    else:
        y = toxicity_targets(data.labels)
    # Each fold needs a row of every label (StratifiedKFold warns, or raises a traceback).
    counts = np.bincount(y)
    smallest = int(counts[counts > 0].min()) if len(y) else 0
    if smallest < args.cv_folds:
        raise SystemExit(f"--cv-folds {args.cv_folds}: the rarest label has only {smallest} rows; use fewer folds")
    prepared = prepare_all(data.texts, data.authors, "featurize")
    tune = args.task == "spam" and not args.no_tune
    manifest = build_artifact(args.task, args.out, prepared, y, args.seed, data.sources,
                              notes={"label_column": args.label_column,
                                     "source_positive_label": args.positive_label},
                              c_grid=args.c_grid if tune else None, tune_threshold=tune,
                              cv_folds=args.cv_folds)
    print(json.dumps({"artifact": str(manifest.parent), "rows": len(y)}))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    data = read_csv(args.data, args.text_column, args.label_column)
    result = evaluate_artifact(args.model, data, args.positive_label, args.report)
    print(json.dumps(result, indent=2))
    return 0


def add_subcommands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``train`` and ``evaluate`` on the ``moderation`` CLI."""
    train = subparsers.add_parser("train", help="train a spam or toxicity model from CSV files")
    train.add_argument("--task", choices=("spam", "toxicity"), required=True, help="which model to train")
    train.add_argument("--data", type=_paths, required=True, help="CSV[,CSV...]")
    train.add_argument("--text-column", required=True, help="the CSV column holding the comment text")
    train.add_argument("--label-column", required=True, help="the CSV column holding the label")
    train.add_argument("--positive-label", default="1", help="spam: label value meaning spam")
    train.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same data and seed, same model)")
    train.add_argument("--no-tune", action="store_true",
                       help="spam: fixed C and 0.5 decision threshold instead of choosing both by CV")
    # A string default goes through `type` like a typed value, and reads as typed in the help.
    train.add_argument("--c-grid", type=_c_grid, default=",".join(f"{c:g}" for c in SPAM_C_GRID),
                       metavar="C[,C...]",
                       help="spam: the C values the CV chooses from; each costs --cv-folds fits, which "
                            "are most of a training's time (default: %(default)s)")
    train.add_argument("--cv-folds", type=_folds, default=CV_FOLDS, metavar="N",
                       help="folds of the cross-validation that calibrates and picks C and the threshold "
                            "(spam) or the class biases (toxicity) (default: %(default)s)")
    train.add_argument("--out", type=Path, required=True, help="artifact directory, e.g. models/NAME")
    # ``func`` follows service/cli.py's (args, settings) convention; settings are unused.
    train.set_defaults(handler=cmd_train, func=lambda args, _settings=None: cmd_train(args))

    ev = subparsers.add_parser("evaluate", help="print JSON metrics of a model on a labelled CSV")
    ev.add_argument("--model", type=Path, required=True, help="an artifact folder, e.g. models/spam")
    ev.add_argument("--data", type=_paths, required=True, help="CSV[,CSV...]")
    ev.add_argument("--text-column", required=True, help="the CSV column holding the comment text")
    ev.add_argument("--label-column", required=True, help="the CSV column holding the label")
    ev.add_argument("--positive-label", default="1", help="spam: label value meaning spam")
    ev.add_argument("--report", type=Path, default=None, help="folder for PNG plots and metrics.json")
    ev.set_defaults(handler=cmd_evaluate, func=lambda args, _settings=None: cmd_evaluate(args))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m moderation.models.training train|evaluate`` (same as the moderation CLI)."""
    parser = argparse.ArgumentParser(prog="python -m moderation.models.training")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subcommands(sub)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
