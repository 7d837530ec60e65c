"""`train` / `evaluate` on a tiny CSV: deterministic artifacts, JSON metrics, PNG plots."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import numpy as np
import pytest

from moderation.models.training import main
from moderation.scoring.artifacts import load_artifact

HAM = ["bài viết hay quá", "cảm ơn tác giả", "đồng ý với ý kiến này", "trận đấu tối qua hay",
       "thời tiết hôm nay đẹp", "great song", "love this video", "giá xăng lại tăng rồi"]  # fmt: skip
SPAM = ["vay tiền nhanh zalo 0982365365", "nhà cái uy tín bit.ly/abc", "check out my channel www.x.com",
        "sim số đẹp lh 0912 345 678", "kiếm tiền online ib tele @abc", "subscribe to my channel"]  # fmt: skip


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "kind"])
        writer.writerows(rows)
    return path


@pytest.fixture
def spam_csv(tmp_path: Path) -> Path:
    rng = random.Random(3)
    rows = [(f"{rng.choice(HAM)} {i}", "ok") for i in range(30)]
    rows += [(f"{rng.choice(SPAM)} {i}", "junk") for i in range(20)]
    return _write_csv(tmp_path / "spam.csv", rows)


def _train(csv_path: Path, out: Path, task: str, *options: str, positive: str = "junk", seed: int = 7) -> None:
    code = main(["train", "--task", task, "--data", str(csv_path), "--text-column", "text",
                 "--label-column", "kind", "--positive-label", positive, "--seed", str(seed),
                 "--out", str(out), *options])  # fmt: skip
    assert code == 0


# The time of a training is its fits, not its rows: each fits all 2**19 + signal columns
# (1.6-2.5 s per fit at load 9-11 on this machine, whatever the rows), and the default search
# makes 3 C values x 5 folds + the final fit = 16. Two candidates and two folds (5 fits) still
# choose C and the threshold out of fold, on a fifth of the work.
QUICK_SEARCH = ("--c-grid", "1,16", "--cv-folds", "2")


def test_train_spam_is_deterministic_and_evaluates(
    spam_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _train(spam_csv, tmp_path / "a", "spam", *QUICK_SEARCH)
    _train(spam_csv, tmp_path / "b", "spam", *QUICK_SEARCH)
    a, b = load_artifact(tmp_path / "a"), load_artifact(tmp_path / "b")
    assert np.array_equal(a.coef, b.coef)
    assert np.array_equal(a.intercept, b.intercept) and a.manifest["thresholds"] == b.manifest["thresholds"]
    thresholds = a.manifest["thresholds"]
    assert (thresholds["approve"], thresholds["spam"]) == (0.3, 0.9)
    # C and the ham/spam cut are chosen by CV on the training file (the folds and candidates
    # asked for) and stored.
    assert 0.05 <= thresholds["decision"] <= 0.95
    selection = a.manifest["model_selection"]
    assert selection["tune_threshold"] is True and selection["cv_folds"] == 2
    assert set(selection["candidates"]) == {"1", "16"}
    assert f"{selection['C']:g}" in selection["candidates"]
    assert a.manifest["training_data"][0]["rows"] == 50
    capsys.readouterr()

    report = tmp_path / "report"
    code = main(["evaluate", "--model", str(tmp_path / "a"), "--data", str(spam_csv),
                 "--text-column", "text", "--label-column", "kind", "--positive-label", "junk",
                 "--report", str(report)])  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    metrics = result["metrics"]
    for key in ("macro_f1", "precision", "recall", "roc_auc", "pr_auc", "at_approve", "at_spam"):
        assert key in metrics
    assert metrics["at_spam"]["threshold"] == 0.9 and "fpr" in metrics["at_spam"]
    assert metrics["decision_threshold"] == thresholds["decision"]
    assert metrics["at_decision"]["macro_f1"] == metrics["macro_f1"]
    assert metrics["roc_auc"] > 0.9
    for png in ("pr_curve.png", "confusion.png", "calibration.png"):
        assert (report / png).read_bytes()[:4] == b"\x89PNG"


def test_train_toxicity_on_tiny_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    words = {"CLEAN": "cảm ơn bài viết", "OFFENSIVE": "đồ ngu", "HATE": "cút về nước đi lũ"}
    rows = [(f"{words[label]} {i}", label) for label in words for i in range(10)]
    data = _write_csv(tmp_path / "tox.csv", rows)
    _train(data, tmp_path / "tox", "toxicity", "--cv-folds", "2")  # 3 fits instead of 6, as above
    capsys.readouterr()
    code = main(["evaluate", "--model", str(tmp_path / "tox"), "--data", str(data),
                 "--text-column", "text", "--label-column", "kind"])  # fmt: skip
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["macro_f1"] > 0.9
    assert set(metrics["per_class"]) == {"CLEAN", "OFFENSIVE", "HATE"}


def test_no_tune_keeps_fixed_c_and_half_threshold(spam_csv: Path, tmp_path: Path) -> None:
    code = main(["train", "--task", "spam", "--data", str(spam_csv), "--text-column", "text",
                 "--label-column", "kind", "--positive-label", "junk", "--no-tune", "--cv-folds", "2",
                 "--out", str(tmp_path / "fixed")])  # fmt: skip
    assert code == 0
    manifest = load_artifact(tmp_path / "fixed").manifest
    assert manifest["thresholds"]["decision"] == 0.5
    assert manifest["model_selection"]["tune_threshold"] is False


def test_missing_column_is_a_clear_error(spam_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="missing column"):
        main(["train", "--task", "spam", "--data", str(spam_csv), "--text-column", "body",
              "--label-column", "kind", "--out", str(tmp_path / "x")])  # fmt: skip


def test_search_options_are_checked(spam_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["train", "--task", "spam", "--data", str(spam_csv), "--text-column", "text",
            "--label-column", "kind", "--positive-label", "junk", "--out", str(tmp_path / "x")]  # fmt: skip
    # More folds than the rarest label has rows (20 junk): a sentence, not StratifiedKFold's traceback.
    with pytest.raises(SystemExit, match="rarest label has only 20 rows"):
        main([*base, "--cv-folds", "21"])
    for option, value in (("--cv-folds", "1"), ("--cv-folds", "two"), ("--c-grid", "1,0"), ("--c-grid", "a")):
        with pytest.raises(SystemExit) as exit_info:
            main([*base, option, value])
        assert exit_info.value.code == 2
        assert option in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_calibration_at_two_false_positive_rates_puts_each_threshold_at_its_cut() -> None:
    from moderation.models.training import _calibrated, _calibration_for_fpr

    z = np.random.default_rng(0).normal(size=20_000)
    a, b = _calibration_for_fpr(z, 1.0, {0.3: 0.002, 0.9: 0.0005})
    p = _calibrated(z, a, b)
    # Exactly the allowed share at or above each threshold, and the slope is not the given one.
    assert int(np.sum(p >= 0.3)) == 40
    assert int(np.sum(p >= 0.9)) == 10
    assert a != 1.0
    # One threshold: the slope is kept, only the intercept moves.
    a1, b1 = _calibration_for_fpr(z, 1.0, {0.3: 0.002})
    assert a1 == 1.0 and int(np.sum(_calibrated(z, a1, b1) >= 0.3)) == 40
