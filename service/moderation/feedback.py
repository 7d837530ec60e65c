"""The feedback loop's serving half: labelled examples out, the backlog re-scored.

* ``label_rows`` / ``write_csv``: the site's labelled examples (moderator decisions and
  Akismet submit-spam/submit-ham) as the CSV that ``moderation train`` reads
  (``--text-column text --label-column label --positive-label spam``).
* ``publish_reload``: tell every worker serving a models folder to reload it.
* ``recheck``: re-score the pending backlog with the current model, at a bounded rate, and
  file what is now clearly approved or spam.

Training a candidate and promoting it is ``models/retrain.py``'s (training code lives beside
the models it builds and is never imported by the serving app).
"""

from __future__ import annotations

import asyncio
import csv
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from redis.asyncio import Redis

from moderation.store import keys
from moderation.store.retention import author_digest

if TYPE_CHECKING:
    from moderation.moderation.operations import Moderation

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
        if "text" not in fields:
            return None
        decision, reason = str(fields.get("label", "")), str(fields.get("reason", ""))
        return LabelRow(
            text=str(fields["text"]),
            label=spam_label(decision, reason),
            author=str(fields.get("name", "")),
            decision=decision,
            reason=reason,
            by=str(fields.get("by", "")),
            at=str(fields.get("at", "")),
            comment_id=str(fields.get("ref", "")),
            post_id=str(fields.get("post", "")),
            lang=str(fields.get("lang", "")),
            model_version=str(fields.get("mv", "")),
            spam_score_then=str(fields.get("score", "")),
            source=str(fields.get("src", "") or "moderator"),
        )
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


# ---------------------------------------------------------------- reload and recheck


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
    from moderation.moderation.operations import StoredComment, event_comment, iso, now_ms
    from moderation.moderation.webhooks import build_event

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
                                          event_id, body, author_digest(stored.comment.author_email))
            if outcome != "ok":
                report.skipped += 1
                continue
            setattr(report, decision.status, getattr(report, decision.status) + 1)
        if len(ids) < _RECHECK_PAGE:
            break
    return report
