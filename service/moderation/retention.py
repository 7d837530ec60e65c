"""Retention and erasure: decided comments leave Redis after the site's retention, and one
author's data leaves on request.

* :meth:`Retention.sweep_site` removes the site's comments decided more than
  ``retention_days`` ago, oldest first, at most ``SWEEP_BATCH * SWEEP_MAX_BATCHES`` per call
  (bounded work: a range read of the decided-at index, never a scan). Every worker runs
  it every ``retention_sweep_seconds`` (web/tasks.py); a per-site lock lets one sweep at a
  time archive and remove, and the removal script re-checks each comment, so overlapping
  sweeps, an erasure in between or a cluster failover never remove a pending comment or
  archive one twice in the ordinary case.
* :meth:`Retention.forget` erases one author (by email) from one site: comments in every
  status (the queue included), the flood and trusted-author records, the block-list entry,
  the personal fields of the author's labels, the archive's records and the author's
  reputation entries (:meth:`Retention.forget_reputation`); audited without the email.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import msgspec
from redis.asyncio import Redis

from service.core.errors import ServiceUnavailable, VersionConflict
from service.moderation.archive import Archive
from service.moderation.operations import StoredComment, iso, now_ms
from service.moderation.reputation import Reputation
from service.moderation.rules import duplicate_entry
from service.moderation.sitesettings import SiteSettings, decode, encode, retention_ms
from service.store import keys
from service.store.comments import LABELS_MAXLEN, Store
from service.store.labels import compact_legacy_label
from service.store.retention import Removal, RetentionStore, author_digest, author_prefix

log = logging.getLogger("moderation.retention")

# Comments removed per script call and calls per site per sweep: a sweep's work is bounded
# whatever the backlog (a site switching from 365 to 30 days catches up over a few sweeps).
SWEEP_BATCH = 200
SWEEP_MAX_BATCHES = 25
# A sweep or an erasure holds the site's lock at most this long (a dead worker's lock
# lapses by then, inside the "retention + 1 minute" promise with a 10 s sweep interval).
LOCK_MS = 30_000
# Erasure waits this long for a running sweep of the site to finish.
FORGET_LOCK_WAIT_S = 30.0
FORGET_BATCH = 200
_LABEL_CHUNK = 1000
# The label fields that name or identify the author; erasure removes them from labels.
_LABEL_PERSONAL = ("name", "a")


def archive_record(site: str, comment_id: str, row: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    """A comment hash as one archive line: (decided ms, record)."""
    doc = msgspec.json.decode(row["doc"]) if row.get("doc") else {}
    created = int(row.get("created", "0") or 0)
    decided = int(row.get("decided_at") or row.get("rechecked_at") or created)
    record: dict[str, Any] = {
        "id": comment_id,
        "site": site,
        "status": row.get("status"),
        "created_at": iso(created),
        "decided_at": iso(decided),
        "decided_by": row.get("decided_by") or ("recheck" if row.get("rechecked_at") else "auto"),
        "reason": row.get("reason") or None,
        "note": row.get("note") or None,
        "comment": doc.get("comment"),
        "verdict": doc.get("verdict"),
    }
    return decided, record


@dataclass(slots=True)
class SweepReport:
    removed: int = 0
    archived: int = 0
    dead_letters: int = 0
    skipped_locked: bool = False


@dataclass(slots=True)
class ForgetReport:
    comments: int = 0
    pending: int = 0
    labels: int = 0
    archived: int = 0
    flood: int = 0
    trusted: int = 0
    blocked_emails: int = 0
    reputation: int = 0

    def total(self) -> int:
        return (
            self.comments + self.labels + self.archived + self.flood + self.trusted + self.blocked_emails
            + self.reputation
        )


class Retention:
    def __init__(
        self,
        store: Store,
        archive: Archive | None = None,
        *,
        clock: Callable[[], int] = now_ms,
        reputation: Reputation | None = None,
    ) -> None:
        self.store = store
        self.reputation = reputation
        self.redis: Redis = store.redis
        self.rstore = RetentionStore(store.redis)
        self.archive = archive
        self.clock = clock

    async def site_settings(self, site: str) -> SiteSettings:
        _version, doc = await self.store.load_settings(site)
        return decode(doc)

    async def sweep_all(self, now: int | None = None) -> dict[str, int]:
        """One sweep of every site: removed comments per site (sites with none omitted)."""
        now = self.clock() if now is None else now
        out: dict[str, int] = {}
        for site in sorted(str(s) for s in await self.redis.smembers(keys.SITES)):
            report = await self.sweep_site(site, now)
            if report.removed:
                out[site] = report.removed
        return out

    async def sweep_site(self, site: str, now: int | None = None) -> SweepReport:
        now = self.clock() if now is None else now
        report = SweepReport()
        cutoff = now - retention_ms(await self.site_settings(site))
        token = await self.rstore.lock(site, LOCK_MS)
        if token is None:
            report.skipped_locked = True  # another worker is sweeping (or erasing) this site
            return report
        try:
            for _ in range(SWEEP_MAX_BATCHES):
                due = await self.rstore.due(site, cutoff, SWEEP_BATCH)
                if not due:
                    break
                ids = [cid for cid, _ in due]
                rows = await self.store.get_many(site, ids)
                if self.archive is not None:
                    records = [
                        archive_record(site, cid, row)
                        for cid, row in zip(ids, rows, strict=True)
                        if row is not None and row.get("status") != "pending"
                    ]
                    # Written (and fsynced) before the comments leave Redis.
                    report.archived += await asyncio.to_thread(self.archive.append, site, records)
                # Deriving the duplicate entry normalizes the text: off the event loop.
                removals = await asyncio.to_thread(_removals, ids, rows)
                removed, _ = await self.rstore.remove(site, removals, expire_cutoff_ms=cutoff)
                report.removed += removed
                if len(due) < SWEEP_BATCH:
                    break
            # A dead letter was given up on after its decision: dropping it at the same cutoff
            # keeps it at least as long as its comment.
            report.dead_letters = await self.rstore.expire_dead_letters(site, cutoff, SWEEP_BATCH)
        finally:
            await self.rstore.unlock(site, token)
        return report

    async def backfill(self, site: str, *, labels: bool = True) -> dict[str, int]:
        """Index the comments stored before retention existed (decided-at and author indexes,
        author digest) and rewrite labels of the old format (which held email and IP) in the
        compact one. Safe to run again; pages through the status indexes."""
        out = {"comments": 0, "decided": 0, "labels": 0}
        for status in keys.STATUSES:
            cursor: str | None = None
            while True:
                ids = await self.store.page(site, status, SWEEP_BATCH, cursor, False)
                if not ids:
                    break
                cursor = ids[-1]
                for cid, row in zip(ids, await self.store.get_many(site, ids), strict=True):
                    if row is None:
                        continue
                    email = _doc_email(row.get("doc", ""))
                    decided: int | None = None
                    if row.get("status") != "pending":
                        decided = int(row.get("decided_at") or row.get("rechecked_at") or row.get("created") or 0)
                    if await self.rstore.backfill(site, cid, email, decided):
                        out["comments"] += 1
                        out["decided"] += decided is not None
                if len(ids) < SWEEP_BATCH:
                    break
        if labels:
            legacy = await self._scan_labels(site, lambda fields: "doc" in fields)
            for entry_id, fields in legacy:
                await self.rstore.replace_label(site, entry_id, compact_legacy_label(site, fields), LABELS_MAXLEN)
            out["labels"] = len(legacy)
        return out

    async def _scan_labels(
        self, site: str, match: Callable[[dict[str, str]], bool]
    ) -> list[tuple[str, dict[str, str]]]:
        stream = keys.labels(site)
        matched: list[tuple[str, dict[str, str]]] = []
        start = "-"
        while True:
            entries = list(await self.redis.xrange(stream, min=start, max="+", count=_LABEL_CHUNK) or [])
            for entry_id, raw in entries:
                fields = {str(k): str(v) for k, v in (raw or {}).items()}
                if match(fields):
                    matched.append((str(entry_id), fields))
            if len(entries) < _LABEL_CHUNK:
                return matched
            start = "(" + str(entries[-1][0])

    async def forget(self, site: str, email: str, *, by: str) -> dict[str, Any]:
        """Erase one author of one site; idempotent; the reply lists what was removed."""
        email = email.strip()
        target = email.casefold()
        digest = author_digest(email)
        prefix = author_prefix(email)
        report = ForgetReport()
        token = await self._wait_lock(site)
        try:
            after = ""
            while True:
                ids = await self.rstore.author_ids(site, prefix, after, FORGET_BATCH)
                if not ids:
                    break
                after = ids[-1]
                rows = await self.store.get_many(site, ids)
                # The index holds a digest prefix: another author can share it, the email decides.
                mine = [(cid, row) for cid, row in zip(ids, rows, strict=True)
                        if row is None or _doc_email(row.get("doc", "")) == target]
                removals = await asyncio.to_thread(_removals, [c for c, _ in mine], [r for _, r in mine])
                removed, pending = await self.rstore.remove(
                    site, [r if r.author_prefix else replace(r, author_prefix=prefix) for r in removals],
                    expire_cutoff_ms=None,
                )
                report.comments += removed
                report.pending += pending
            report.flood, report.trusted = await self.rstore.forget_author_records(site, email)
            report.labels = await self._forget_labels(site, target, digest)
            report.blocked_emails = await self._forget_blocked(site, email)
            report.reputation = await self.forget_reputation(site, email)
            if self.archive is not None:
                report.archived = await asyncio.to_thread(self.archive.forget, site, email)
        finally:
            await self.rstore.unlock(site, token)
        at = self.clock()
        counts = asdict(report)
        # Who asked, when, how many: never the email (the audit must not undo the erasure).
        await self.rstore.audit(site, {
            "event": "forget", "by": by, "at": str(at), "records": str(report.total()),
            "removed": msgspec.json.encode(counts).decode(),
        })
        log.info("erasure on site %s by %s: %d records", site, by, report.total())
        return {"site": site, "at": iso(at), "removed": counts}

    async def forget_reputation(self, site: str, email: str) -> int:
        """Erasure's reputation step: the author's email, phone, handle and network entries
        leave the site (moderation/reputation.Reputation.forget_author)."""
        if self.reputation is None:
            return 0
        return await self.reputation.forget_author(site, email)

    async def _wait_lock(self, site: str) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FORGET_LOCK_WAIT_S
        while True:
            token = await self.rstore.lock(site, LOCK_MS)
            if token is not None:
                return token
            if loop.time() > deadline:
                raise ServiceUnavailable("a retention sweep of this site is running; try again", retry_after=5)
            await asyncio.sleep(0.1)  # a sweep holds the lock for one bounded batch run

    async def _forget_labels(self, site: str, target: str, digest: str) -> int:
        """Strip the author's name and digest from their labels (text and label stay for training)."""
        matched = await self._scan_labels(
            site, lambda fields: fields.get("a") == digest or _doc_email(fields.get("doc", "")) == target
        )
        for entry_id, fields in matched:
            stripped = {k: v for k, v in compact_legacy_label(site, fields).items() if k not in _LABEL_PERSONAL}
            await self.rstore.replace_label(site, entry_id, stripped, LABELS_MAXLEN)
        return len(matched)

    async def _forget_blocked(self, site: str, email: str) -> int:
        target = email.casefold()
        for _ in range(8):
            version, doc = await self.store.load_settings(site)
            current = decode(doc)
            kept = tuple(e for e in current.blocked_emails if e.casefold() != target)
            if len(kept) == len(current.blocked_emails):
                return 0
            ok, _ = await self.store.save_settings(site, version, encode(replace(current, blocked_emails=kept)))
            if ok:
                return len(current.blocked_emails) - len(kept)
        raise VersionConflict("the settings kept changing; the block list entry was not removed")


_stored_decoder = msgspec.json.Decoder(StoredComment)


def _removals(ids: Sequence[str], rows: Sequence[Mapping[str, str] | None]) -> list[Removal]:
    out: list[Removal] = []
    for comment_id, row in zip(ids, rows, strict=True):
        if row is None or not row.get("doc"):
            out.append(Removal(comment_id))
            continue
        try:
            comment = _stored_decoder.decode(row["doc"]).comment
        except (msgspec.DecodeError, msgspec.ValidationError):
            # A document this version cannot read must not stall the site's sweep for ever:
            # the comment still goes; only its duplicate entry is left to its own TTL.
            email = _doc_email(row["doc"])
            out.append(Removal(comment_id, author_prefix(email) if email else ""))
            continue
        post, field = duplicate_entry(comment)
        out.append(Removal(comment_id, author_prefix(comment.author_email), post, field))
    return out


def _doc_email(raw: str) -> str:
    """The author email (casefolded) of a stored comment document; labels written before the
    compact format carried one too."""
    if not raw:
        return ""
    try:
        doc = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return ""
    comment = doc.get("comment") if isinstance(doc, dict) else None
    if not isinstance(comment, dict):
        return ""
    return str(comment.get("author_email") or "").casefold()
