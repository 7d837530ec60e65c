"""The feedback loop: labelled examples out, a retrained model in, the backlog re-scored.

* ``moderation export-labels --site S`` writes the site's labelled examples (moderator
  decisions and Akismet submit-spam/submit-ham) as a CSV that ``moderation train`` reads
  (``--text-column text --label-column label --positive-label spam``).
* ``moderation retrain --site S`` trains a candidate spam model on the base data plus the
  site's labels, evaluates it against the current model on a held-out slice of the site's
  labels, promotes it only if it is not worse, and tells every worker to reload.
* ``moderation recheck --site S`` re-scores the pending backlog with the current model,
  at a bounded rate, and files what is now clearly approved or spam.

Training itself is service/training.py's (the models engineer's public functions); this
module only assembles data, compares and promotes.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from redis.asyncio import Redis

from service import keys
from service.settings import Settings

if TYPE_CHECKING:
    from service.moderation import Moderation

# Columns of the exported CSV; `text`/`label`/`AUTHOR` are what training.read_csv uses.
CSV_COLUMNS = (
    "text",
    "label",
    "AUTHOR",
    "decision",
    "reason",
    "by",
    "at",
    "comment_id",
    "post_id",
    "lang",
    "model_version",
    "spam_score_then",
    "source",
)
SPAM, HAM = "spam", "ham"
# Moderators reject advertising and spam for the same reason the spam model exists.
_SPAM_REJECTIONS = {"spam", "advertising"}
# Entries read per XRANGE call while exporting.
_EXPORT_CHUNK = 1000
# Fraction of the site's labels kept out of training to judge candidate against current.
DEFAULT_HOLDOUT = 0.3
# A site's own labels are few but are exactly its traffic: each counts this many base rows.
DEFAULT_SITE_WEIGHT = 5.0
# Recheck speed: comments per second (scoring in the CLI process, writes to live Redis).
DEFAULT_RECHECK_RATE = 20.0
_RECHECK_PAGE = 64


# ---------------------------------------------------------------- export


@dataclass(frozen=True, slots=True)
class LabelRow:
    text: str
    label: str  # spam | ham
    author: str
    decision: str
    reason: str
    by: str
    at: str
    comment_id: str
    post_id: str
    lang: str
    model_version: str
    spam_score_then: str
    source: str

    def as_csv(self) -> list[str]:
        return [
            self.text, self.label, self.author, self.decision, self.reason, self.by, self.at,
            self.comment_id, self.post_id, self.lang, self.model_version, self.spam_score_then, self.source,
        ]


def spam_label(decision: str, reason: str) -> str:
    if decision == "spam" or (decision == "rejected" and reason in _SPAM_REJECTIONS):
        return SPAM
    return HAM


def _row(entry_id: str, fields: dict[str, Any]) -> LabelRow | None:
    raw = fields.get("doc")
    if not raw:
        return None
    doc = msgspec.json.decode(raw.encode("utf-8") if isinstance(raw, str) else raw)
    comment, verdict = doc.get("comment") or {}, doc.get("verdict") or {}
    decision, reason = str(fields.get("label", "")), str(fields.get("reason", ""))
    return LabelRow(
        text=str(comment.get("content", "")),
        label=spam_label(decision, reason),
        author=str(comment.get("author_name", "")),
        decision=decision,
        reason=reason,
        by=str(fields.get("by", "")),
        at=str(fields.get("at", "")),
        comment_id=str(fields.get("id", "")),
        post_id=str(comment.get("post_id", "")),
        lang=str(comment.get("lang") or ""),
        model_version=str(verdict.get("model_version", "")),
        spam_score_then=str(verdict.get("spam_score", "")),
        source=str(fields.get("source", "") or "moderator"),
    )


async def label_rows(redis: Redis, site: str) -> list[LabelRow]:
    """The site's labelled examples, oldest first; a later label of the same comment wins."""
    by_comment: dict[str, int] = {}
    rows: list[LabelRow] = []
    start = "-"
    while True:
        entries = list(await redis.xrange(keys.labels(site), min=start, max="+", count=_EXPORT_CHUNK) or [])
        for entry_id, fields in entries:
            row = _row(str(entry_id), {str(k): v for k, v in (fields or {}).items()})
            if row is None:
                continue
            if row.comment_id and row.comment_id in by_comment:
                rows[by_comment[row.comment_id]] = row
                continue
            if row.comment_id:
                by_comment[row.comment_id] = len(rows)
            rows.append(row)
        if len(entries) < _EXPORT_CHUNK:
            return rows
        start = "(" + str(entries[-1][0])


def write_csv(rows: Sequence[LabelRow], out: Path | None) -> None:
    """Write to ``out`` (atomically) or to stdout when ``out`` is None."""
    if out is None:
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(r.as_csv() for r in rows)
        return
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(r.as_csv() for r in rows)
    tmp.replace(out)


# ---------------------------------------------------------------- retrain


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
    """Train, compare on held-out site labels, promote if not worse. CPU-bound; no Redis."""
    import numpy as np

    from service import training

    seed = training.DEFAULT_SEED if seed is None else seed
    train_rows, held_rows = split_holdout(rows, holdout, seed)
    counts = {"site_labels": len(rows), "site_train": len(train_rows), "site_holdout": len(held_rows)}
    if not held_rows or len({r.label for r in rows}) < 2:
        return RetrainReport(site, counts, {}, {}, False, "need labelled spam and ham examples of this site")
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
    # "Not worse": macro-F1 on the site's held-out labels, ties going to the candidate
    # (it has seen the site's newer labels).
    promoted = candidate["macro_f1"] >= current["macro_f1"]
    reason = (
        f"candidate macro-F1 {candidate['macro_f1']} >= current {current['macro_f1']}"
        if promoted
        else f"candidate macro-F1 {candidate['macro_f1']} < current {current['macro_f1']}; kept the current model"
    )
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


async def publish_reload(redis: Redis, models_dir: str) -> int:
    """Bump the generation of ``models_dir`` (a resolved path): every worker serving it
    reloads within a few seconds. Returns the new generation."""
    return int(await redis.incr(keys.models_generation(models_dir)))


# ---------------------------------------------------------------- recheck


@dataclass(slots=True)
class RecheckReport:
    seen: int = 0
    approved: int = 0
    spam: int = 0
    rejected: int = 0
    still_pending: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "seen": self.seen,
            "approved": self.approved,
            "spam": self.spam,
            "rejected": self.rejected,
            "still_pending": self.still_pending,
            "skipped": self.skipped,
        }


async def recheck(
    moderation: Moderation,
    site: str,
    *,
    rate: float = DEFAULT_RECHECK_RATE,
    limit: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> RecheckReport:
    """Re-score pending comments (oldest first) and file the ones now clearly decided.

    At most ``rate`` comments per second, so a backlog of thousands after a spam wave does
    not compete with live traffic for Redis. Items a moderator holds a lease on are left alone.
    """
    from service.moderation import StoredComment, event_comment, iso, now_ms
    from service.webhooks import build_event

    decoder = msgspec.json.Decoder(StoredComment)
    report = RecheckReport()
    store = moderation.store
    started = clock()
    cursor: str | None = None
    while limit is None or report.seen < limit:
        ids = await store.page(site, "pending", _RECHECK_PAGE, cursor, False)
        if not ids:
            break
        cursor = ids[-1]
        for comment_id, row in zip(ids, await store.get_many(site, ids), strict=True):
            if limit is not None and report.seen >= limit:
                break
            delay = started + report.seen / rate - clock()
            if delay > 0:
                await sleep(delay)
            report.seen += 1
            if row is None or row.get("status") != "pending":
                report.skipped += 1
                continue
            stored = decoder.decode(row["doc"])
            score, decision, version = await moderation.evaluate(site, stored.comment)
            if decision.status == "pending":
                report.still_pending += 1
                continue
            at = now_ms()
            event_id, body = build_event(
                site, comment_id, decision.status, created_at=iso(at), comment=event_comment(stored.comment),
                by="recheck", reason=decision.reasons[0].code if decision.reasons else None,
                spam_score=round(score.spam, 4), model_version=version,
            )
            outcome = await store.recheck(site, comment_id, decision.status, at, version, round(score.spam, 4),
                                          event_id, body)
            if outcome != "ok":
                report.skipped += 1
                continue
            setattr(report, decision.status, getattr(report, decision.status) + 1)
        if len(ids) < _RECHECK_PAGE:
            break
    return report


# ---------------------------------------------------------------- CLI


def _redis_run(settings: Settings, fn: Callable[[Redis], Awaitable[int]]) -> int:
    from service.app import make_redis

    async def main() -> int:
        redis = make_redis(settings)
        try:
            return await fn(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def cmd_export_labels(args: argparse.Namespace, settings: Settings) -> int:
    async def go(redis: Redis) -> int:
        rows = await label_rows(redis, args.site)
        write_csv(rows, None if args.out == "-" else Path(args.out))
        spam = sum(r.label == SPAM for r in rows)
        print(json.dumps({"site": args.site, "rows": len(rows), "spam": spam, "ham": len(rows) - spam,
                          "out": args.out}), file=sys.stderr)
        return 0

    return _redis_run(settings, go)


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    async def fetch(redis: Redis) -> int:
        rows.extend(await label_rows(redis, args.site))
        return 0

    rows: list[LabelRow] = []
    _redis_run(settings, fetch)
    base = BaseData(tuple(args.base), args.base_text_column, args.base_label_column, args.base_positive_label)
    with tempfile.TemporaryDirectory(prefix="moderation-retrain-") as tmp:
        work = Path(args.work_dir) if args.work_dir else Path(tmp)
        report = retrain(site=args.site, rows=rows, base=base, models_dir=settings.models_dir, work_dir=work,
                         holdout=args.holdout, site_weight=args.site_weight, seed=args.seed)
    if report.promoted and not args.no_reload:
        models_dir = str(settings.models_dir.resolve())

        async def reload(redis: Redis) -> int:
            report.reload_generation = await publish_reload(redis, models_dir)
            return 0

        _redis_run(settings, reload)
    print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    return 0 if report.promoted else 3


def cmd_recheck(args: argparse.Namespace, settings: Settings) -> int:
    from service.batcher import Batcher
    from service.moderation import Moderation
    from service.scoring import Scorer
    from service.store import Store

    scorer = Scorer.load(settings.models_dir)

    async def go(redis: Redis) -> int:
        store = Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds)
        batcher = Batcher(scorer, max_size=settings.batch_max_size, max_wait_ms=settings.batch_max_wait_ms)
        moderation = Moderation(store, batcher, lease_seconds=settings.lease_seconds)
        report = await recheck(moderation, args.site, rate=args.rate, limit=args.limit)
        print(json.dumps({"site": args.site, "model_version": scorer.version, **report.as_dict()}))
        return 0

    return _redis_run(settings, go)


def _paths(value: str) -> list[Path]:
    return [Path(p) for p in value.split(",") if p]


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser("export-labels", help="write a site's labelled examples as CSV (train reads it)")
    export.add_argument("--site", required=True)
    export.add_argument("--out", default="-", help="file to write; '-' for stdout")
    export.set_defaults(func=cmd_export_labels)

    re = sub.add_parser("retrain", help="train on base data + a site's labels; promote if not worse; reload")
    re.add_argument("--site", required=True)
    re.add_argument("--base", type=_paths, required=True, help="base training CSV[,CSV...]")
    re.add_argument("--base-text-column", default="text")
    re.add_argument("--base-label-column", default="label")
    re.add_argument("--base-positive-label", default="1", help="the base CSVs' label value meaning spam")
    re.add_argument("--holdout", type=float, default=DEFAULT_HOLDOUT, help="share of site labels held out")
    re.add_argument("--site-weight", type=float, default=DEFAULT_SITE_WEIGHT)
    re.add_argument("--seed", type=int, default=None)
    re.add_argument("--work-dir", default=None, help="keep the candidate and the split here")
    re.add_argument("--no-reload", action="store_true", help="promote without telling the workers")
    re.set_defaults(func=cmd_retrain)

    rc = sub.add_parser("recheck", help="re-score a site's pending backlog with the current model")
    rc.add_argument("--site", required=True)
    rc.add_argument("--rate", type=float, default=DEFAULT_RECHECK_RATE, help="comments per second")
    rc.add_argument("--limit", type=int, default=None)
    rc.set_defaults(func=cmd_recheck)
