"""The toxicity recipe of issue 21 on small made-up data: the clean-flag decision, the
naive-Bayes scaling folded into the weights, and the evaluation of the default rules."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from moderation.models.build import toxic_recall_at, toxic_vs_clean
from moderation.models.training import _fit_lr, _scaled, clean_flag_bias, nb_scaling, train_toxicity_model
from moderation.moderation.sitesettings import SiteSettings


def _proba(rows: list[tuple[float, float, float]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float64)


def test_clean_flag_bias_labels_at_most_the_target_share_of_clean_rows_toxic() -> None:
    rng = np.random.default_rng(7)
    n = 2_000
    y = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    # Noisy probabilities that lean toward the true class.
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 1.5
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    for target in (0.01, 0.04, 0.10):
        bias = clean_flag_bias(proba, y, target)
        decided = np.argmax(np.log(proba) + bias, axis=1)
        flagged = float(np.mean(decided[y == 0] != 0))
        assert flagged <= target
        # The cut is the quantile, not far below it: one clean row more would pass the target.
        assert flagged >= target - 2 / np.sum(y == 0)
        assert bias[0] == 0.0


def test_nb_scaling_favours_columns_seen_mostly_in_one_class() -> None:
    # Column 0 only in toxic rows, column 1 only in clean rows, column 2 in both equally;
    # column 3 is past *columns* and keeps scale 1.
    x = sp.csr_matrix(np.asarray([[1, 0, 1, 1], [1, 0, 1, 0], [0, 1, 1, 1], [0, 1, 1, 0]], dtype=np.float32))
    y = np.asarray([1, 2, 0, 0])
    scale = nb_scaling(x, y, columns=3)
    assert scale[0] > 0.5 and scale[1] < -0.5
    assert abs(scale[2]) < 1e-9
    assert scale[3] == 1.0


def test_scaling_and_clean_flag_decision_are_folded_into_the_weights() -> None:
    # What serving computes (softmax of x @ coef.T + intercept, label = argmax) must be the
    # fitted model with its scaling and decision: no decision_bias is left to apply.
    rng = np.random.default_rng(3)
    n, d = 600, 40
    y = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])
    dense = (rng.random((n, d)) < 0.1).astype(np.float32)
    dense[:, 0] += (y != 0) * (rng.random(n) < 0.6)
    dense[:, 1] += (y == 2) * (rng.random(n) < 0.6)
    x = sp.csr_matrix(dense)
    result = train_toxicity_model(x, y, seed=1, c=1.0, cv_folds=3, nb_columns=20, clean_flag_target=0.04)
    assert result.extra_manifest["decision_bias"] == [0.0, 0.0, 0.0]
    decision = result.extra_manifest["decision"]
    assert decision["clean_flag_target"] == 0.04
    assert decision["oof_clean_flagged"] <= 0.04
    assert result.extra_manifest["feature_scaling"]["columns"] == 20
    # Without the target the same fit is returned with the intercept untouched: the decision
    # is the bias added to it, nothing else.
    untuned = train_toxicity_model(x, y, seed=1, c=1.0, cv_folds=3, nb_columns=20)
    np.testing.assert_allclose(result.coef, untuned.coef)
    np.testing.assert_allclose(result.intercept, untuned.intercept + np.asarray(decision["bias_added_to_intercept"]))
    # The scaling is folded in: the stored weights on raw features are the fit on scaled ones.
    scale = nb_scaling(x, y, 20)
    fitted = _fit_lr(_scaled(x, scale), y, 1.0, 1, None)
    np.testing.assert_allclose(result.coef, fitted.coef_ * scale, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(untuned.intercept, fitted.intercept_, rtol=1e-6, atol=1e-9)


def test_toxic_vs_clean_counts_what_the_default_rules_hold() -> None:
    defaults = SiteSettings()
    assert defaults.hate_auto_reject_at is None  # nothing is rejected by default: held only
    y = np.asarray([0, 0, 0, 0, 1, 1, 2, 2])
    off, hate = defaults.offensive_hold_at, defaults.hate_hold_at
    proba = _proba([
        (0.9, 0.05, 0.05),                     # clean, not held
        (1 - off, off, 0.0),                   # clean, held at exactly offensive_hold_at
        (1 - hate, 0.0, hate),                 # clean, held at exactly hate_hold_at
        (0.2, 0.6, 0.2),                       # clean, labelled toxic but below both holds
        (0.1, 0.85, 0.05),                     # offensive, held
        (0.5, 0.45, 0.05),                     # offensive, not held
        (0.05, 0.1, 0.85),                     # hate, held (not rejected)
        (0.3, 0.3, 0.4),                       # hate, not held
    ])  # fmt: skip
    out = toxic_vs_clean(y, proba)
    policy = out["policy_defaults"]
    assert policy["offensive_hold_at"] == off and policy["hate_hold_at"] == hate
    assert policy["clean_held"] == pytest.approx(2 / 4)
    assert policy["toxic_held"] == pytest.approx(2 / 4)
    assert not any("reject" in key for key in policy)
    assert set(out["recall_at_clean_rate"]) == {"0.01", "0.05"}


def test_toxic_recall_at_a_clean_rate_reads_the_cut_off_the_clean_rows() -> None:
    # Ten clean rows scored 0.0 .. 0.9 by 1 - P(CLEAN); at a 10 % clean rate the cut is the
    # highest clean score, so only toxic rows strictly above it count.
    clean_scores = np.arange(10) / 10
    toxic_scores = np.asarray([0.95, 0.9, 0.5])
    scores = np.concatenate([clean_scores, toxic_scores])
    proba = np.stack([1 - scores, scores, np.zeros_like(scores)], axis=1)
    y = np.asarray([0] * 10 + [1] * 3)
    assert toxic_recall_at(y, proba, 0.1) == pytest.approx(1 / 3)
    assert toxic_recall_at(y, proba, 0.5) == pytest.approx(2 / 3)
