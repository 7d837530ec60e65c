"""Retraining for one site: base data plus the site's moderator labels → a candidate spam
model, compared with the current one on a held-out slice of the site's labels, promoted only
if it is better there (see :func:`retrain` for the rule). CPU-bound, no Redis;
``moderation retrain`` (service/cli/feedback.py) fetches the labels and tells the workers to
reload.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moderation.moderation.feedback import HAM, SPAM, LabelRow, write_csv

# Fraction of the site's labels kept out of training to judge candidate against current.
DEFAULT_HOLDOUT = 0.3
# A site's own labels are few but are exactly its traffic: each counts this many base rows.
DEFAULT_SITE_WEIGHT = 5.0
# Held-out labels of each class needed before a candidate can replace the current model: on
# a handful of labels both models score 1.0 or differ by one comment, which says nothing.
# (A 4-label holdout once let a model trained on 72 rows replace the shipped one on a tie.)
MIN_HOLDOUT_PER_CLASS = 10


@dataclass(frozen=True, slots=True)
class BaseData:
    """Where the candidate's base training data comes from (the CSVs the current model used)."""

    paths: tuple[Path, ...]
    text_column: str = "text"
    label_column: str = "label"
    positive_label: str = "1"


@dataclass(slots=True)
class RetrainReport:
    site: str
    rows: dict[str, int]
    current: dict[str, Any]
    candidate: dict[str, Any]
    promoted: bool
    reason: str
    reload_generation: int | None = None
    candidate_dir: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "rows": self.rows,
            "current": self.current,
            "candidate": self.candidate,
            "promoted": self.promoted,
            "reason": self.reason,
            "reload_generation": self.reload_generation,
            "candidate_dir": self.candidate_dir,
        }


def split_holdout(rows: Sequence[LabelRow], fraction: float, seed: int) -> tuple[list[LabelRow], list[LabelRow]]:
    """Stratified, seeded split: each class gives ``fraction`` of its rows (at least one when
    it has two or more) to the held-out slice."""
    rng = random.Random(seed)
    train: list[LabelRow] = []
    held: list[LabelRow] = []
    for label in (SPAM, HAM):
        group = [r for r in rows if r.label == label]
        rng.shuffle(group)
        n_held = round(len(group) * fraction)
        if len(group) >= 2:
            n_held = min(max(n_held, 1), len(group) - 1)
        held += group[:n_held]
        train += group[n_held:]
    return train, held


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    metrics = result["metrics"]
    at_spam = metrics.get("at_spam", {})
    return {
        "version": result["model"],
        "macro_f1": round(float(metrics["macro_f1"]), 4),
        "pr_auc": None if metrics.get("pr_auc") is None else round(float(metrics["pr_auc"]), 4),
        "recall_at_spam_threshold": at_spam.get("recall"),
        "fpr_at_spam_threshold": at_spam.get("fpr"),
    }


def retrain(
    site: str,
    rows: Sequence[LabelRow],
    base: BaseData,
    models_dir: Path,
    work_dir: Path,
    *,
    holdout: float = DEFAULT_HOLDOUT,
    site_weight: float = DEFAULT_SITE_WEIGHT,
    seed: int | None = None,
) -> RetrainReport:
    """Train, compare on held-out site labels, promote only if better. CPU-bound; no Redis.

    The rule: the held-out slice must hold at least MIN_HOLDOUT_PER_CLASS spam and as many
    ham labels (otherwise nothing is trained), and the candidate's macro-F1 on it must be
    strictly higher than the current model's (rounded to 4 places): a tie keeps the current
    model, which has been serving without complaint.
    """
    import numpy as np

    from moderation.models import training

    seed = training.DEFAULT_SEED if seed is None else seed
    train_rows, held_rows = split_holdout(rows, holdout, seed)
    counts = {"site_labels": len(rows), "site_train": len(train_rows), "site_holdout": len(held_rows)}
    if not held_rows or len({r.label for r in rows}) < 2:
        return RetrainReport(site, counts, {}, {}, False, "need labelled spam and ham examples of this site")
    held_spam = sum(r.label == SPAM for r in held_rows)
    held_ham = len(held_rows) - held_spam
    if min(held_spam, held_ham) < MIN_HOLDOUT_PER_CLASS:
        return RetrainReport(
            site, counts, {}, {}, False,
            f"the held-out slice has {held_spam} spam and {held_ham} ham labels; at least "
            f"{MIN_HOLDOUT_PER_CLASS} of each are needed to judge a candidate (with --holdout {holdout}, "
            f"about {math.ceil(MIN_HOLDOUT_PER_CLASS / holdout)} labels of each class); kept the current model",
        )
    base_data = training.read_csv(list(base.paths), base.text_column, base.label_column)
    counts["base"] = len(base_data.texts)
    y = np.concatenate([
        training.spam_targets(base_data.labels, base.positive_label),
        np.asarray([r.label == SPAM for r in train_rows], dtype=np.int64),
    ])
    weights = np.concatenate([np.ones(len(base_data.texts)), np.full(len(train_rows), site_weight)])
    texts = base_data.texts + [r.text for r in train_rows]
    authors = (base_data.authors or [""] * len(base_data.texts)) + [r.author for r in train_rows]
    site_csv = work_dir / "site-train.csv"
    held_csv = work_dir / "site-holdout.csv"
    work_dir.mkdir(parents=True, exist_ok=True)
    write_csv(train_rows, site_csv)
    write_csv(held_rows, held_csv)
    prepared = training.prepare_all(texts, authors, "featurize")
    candidate_dir = work_dir / "spam"
    training.build_artifact(
        "spam", candidate_dir, prepared, y, seed,
        [*base_data.sources, {"path": f"labels of site {site}", "rows": len(train_rows), "weight": site_weight}],
        notes={"retrained_for_site": site, "site_holdout_rows": len(held_rows)},
        sample_weight=weights,
    )
    held = training.read_csv([held_csv], "text", "label")
    current = _summary(training.evaluate_artifact(models_dir / "spam", held, SPAM, None))
    candidate = _summary(training.evaluate_artifact(candidate_dir, held, SPAM, None))
    # Strictly better on the site's held-out labels: a tie is no evidence for the candidate.
    promoted = candidate["macro_f1"] > current["macro_f1"]
    scores = f"candidate macro-F1 {candidate['macro_f1']}, current {current['macro_f1']}"
    if promoted:
        reason = f"{scores}: the candidate is better"
    elif candidate["macro_f1"] == current["macro_f1"]:
        reason = f"{scores}: a tie; kept the current model"
    else:
        reason = f"{scores}: the candidate is worse; kept the current model"
    if promoted:
        promote(candidate_dir, models_dir / "spam")
    return RetrainReport(site, counts, current, candidate, promoted, reason, candidate_dir=str(candidate_dir))


def promote(candidate: Path, live: Path) -> None:
    """Swap the candidate in; the replaced model is kept beside it as ``<name>.previous``."""
    staged = live.with_name(live.name + ".new")
    previous = live.with_name(live.name + ".previous")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(candidate, staged)
    shutil.rmtree(previous, ignore_errors=True)
    # Two renames: a reload that falls between them fails and keeps the loaded model.
    if live.exists():
        live.replace(previous)
    staged.replace(live)
