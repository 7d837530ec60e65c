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
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import msgspec
from redis.asyncio import Redis

from moderation.core.errors import ServiceUnavailable, VersionConflict
from moderation.core.health import LoopHealth, describe
from moderation.core.logfields import escape
from moderation.core.schemas import CommentIn
from moderation.moderation.archive import Archive
from moderation.moderation.operations import StoredComment, iso, now_ms
from moderation.moderation.reputation import Reputation
from moderation.moderation.rules import duplicate_entry
from moderation.moderation.sitesettings import SiteSettings, decode, encode, retention_ms
from moderation.store import keys
from moderation.store.comments import LABELS_MAXLEN, Store
from moderation.store.labels import compact_legacy_label
from moderation.store.retention import Removal, RetentionStore, author_digest, author_prefix

log = logging.getLogger("moderation.retention")

# Comments removed per script call and calls per site per sweep: a sweep's work is bounded
# whatever the backlog (a site switching from 365 to 30 days catches up over a few sweeps).
SWEEP_BATCH = 200
SWEEP_MAX_BATCHES = 25
# A sweep or an erasure holds the site's lock at most this long (a dead worker's lock
# lapses by then, inside the "retention + 1 minute" promise with a 10 s sweep interval).
LOCK_MS = 30_000
# A due comment the sweep could not read or archive is tried again this much later.
PARK_RETRY_MS = 3_600_000
# Erasure waits this long for a running sweep of the site to finish.
FORGET_LOCK_WAIT_S = 30.0
FORGET_BATCH = 200
_LABEL_CHUNK = 1000
# The label fields that name or identify the author; erasure removes them from labels.
_LABEL_PERSONAL = ("name", "a")


def _ms(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def archive_record(site: str, comment_id: str, row: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    """A comment hash as one archive line: (decided ms, record). A document this version
    cannot read is archived as it is stored (``stored_doc``) rather than lost or skipped."""
    raw = row.get("doc") or ""
    try:
        doc = msgspec.json.decode(raw) if raw else {}
    except msgspec.DecodeError:
        doc = None
    created = _ms(row.get("created"))
    decided = _ms(row.get("decided_at") or row.get("rechecked_at")) or created
    record: dict[str, Any] = {
        "id": comment_id,
        "site": site,
        "status": row.get("status"),
        "created_at": iso(created),
        "decided_at": iso(decided),
        "decided_by": row.get("decided_by") or ("recheck" if row.get("rechecked_at") else "auto"),
        "reason": row.get("reason") or None,
        "note": row.get("note") or None,
        "comment": doc.get("comment") if isinstance(doc, dict) else None,
        "verdict": doc.get("verdict") if isinstance(doc, dict) else None,
    }
    if not isinstance(doc, dict):
        record["stored_doc"] = raw
    return decided, record


@dataclass(slots=True)
class SweepReport:
    removed: int = 0
    archived: int = 0
    dead_letters: int = 0
    parked: int = 0
    skipped_locked: bool = False


class ArchiveRequired(ServiceUnavailable):
    """The site's comments were archived, but this process has no archive folder: removing
    (or erasing) now would skip the archive's copy, so nothing is done."""

    def __init__(self, site: str) -> None:
        super().__init__(
            f"site {site} keeps an archive of its comments, and this process has no archive folder: "
            "set MODERATION_ARCHIVE_DIR (or pass --archive-dir) to the folder the workers use; "
            "nothing was removed",
            retry_after=60,
        )


@dataclass(slots=True)
class ForgetReport:
    """What an erasure removed, by kind (the reply's ``removed`` and the audit's counts)."""

    comments: int = 0
    pending: int = 0
    replies: int = 0
    events: int = 0
    labels: int = 0
    archived: int = 0
    flood: int = 0
    trusted: int = 0
    blocked_emails: int = 0
    blocked_ips: int = 0
    reputation: int = 0

    def total(self) -> int:
        # pending is a part of comments, not records of its own.
        return sum(v for k, v in asdict(self).items() if k != "pending")


@dataclass(slots=True)
class Erasure:
    """One erasure in progress: who is erased, what has been found and removed so far.

    Steps read what earlier steps found (``ips``: the addresses on the author's comments and
    archived records, for the flood windows and the block list) and add to ``report`` and
    ``notices`` (what the operator should know and do: a block-list range kept)."""

    site: str
    email: str
    report: ForgetReport = field(default_factory=ForgetReport)
    ips: set[str] = field(default_factory=set)
    notices: list[str] = field(default_factory=list)

    @property
    def target(self) -> str:
        return self.email.casefold()

    @property
    def digest(self) -> str:
        return author_digest(self.email)

    @property
    def prefix(self) -> str:
        return author_prefix(self.email)


ErasureStep = Callable[[Erasure], Awaitable[None]]


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

    async def sweep_all(
        self, now: int | None = None, *, health: LoopHealth | None = None, errors: dict[str, str] | None = None
    ) -> dict[str, int]:
        """One sweep of every site: removed comments per site (sites with none omitted).

        Each site on its own: a site whose sweep fails (its settings cannot be read, Redis
        refuses a write, the archive folder is missing...) is recorded in ``health`` (retried
        after its backoff) and in ``errors``, and the other sites are swept. Without either,
        the first failure is raised."""
        now = self.clock() if now is None else now
        out: dict[str, int] = {}
        for site in sorted(str(s) for s in await self.redis.smembers(keys.SITES)):
            if health is not None and not health.site_due(site):
                continue
            try:
                report = await self.sweep_site(site, now, health=health)
            except Exception as exc:  # the unit of isolation (arq's job): this site only
                if health is None and errors is None:
                    raise
                if health is not None:
                    health.site_failed(site, exc)
                if errors is not None:
                    errors[site] = describe(exc)
                continue
            if health is not None:
                health.site_ok(site)
            if report.removed:
                out[site] = report.removed
        return out

    async def sweep_site(self, site: str, now: int | None = None, *, health: LoopHealth | None = None) -> SweepReport:
        now = self.clock() if now is None else now
        report = SweepReport()
        token = await self.rstore.lock(site, LOCK_MS)
        if token is None:
            report.skipped_locked = True  # another worker is sweeping (or erasing) this site
            return report
        try:
            # Read under the lock: a sweep never acts on settings read before another sweep,
            # an erasure or an operator's change finished with the site.
            cutoff = now - retention_ms(await self.site_settings(site))
            if self.archive is None and await self.rstore.archived(site):
                raise ArchiveRequired(site)
            await self.rstore.requeue_parked(site, now, cutoff, SWEEP_BATCH)
            for _ in range(SWEEP_MAX_BATCHES):
                due = await self.rstore.due(site, cutoff, SWEEP_BATCH)
                if not due:
                    break
                ids: list[str] = []
                rows: list[Mapping[str, str] | None] = []
                records: list[tuple[int, dict[str, Any]]] = []
                problems: list[tuple[str, str]] = []
                for (cid, _), row in zip(due, await self.rstore.rows(site, [c for c, _ in due]), strict=True):
                    if isinstance(row, str):
                        problems.append((cid, row))
                        continue
                    if self.archive is not None and row is not None and row.get("status") != "pending":
                        try:
                            records.append(archive_record(site, cid, row))
                        except Exception as exc:  # one record that cannot be archived is parked, not the batch
                            problems.append((cid, f"cannot be archived: {describe(exc)}"))
                            continue
                    ids.append(cid)
                    rows.append(row)
                if problems:
                    report.parked += await self.rstore.park(site, problems, now + PARK_RETRY_MS)
                    for cid, reason in problems:
                        if health is not None:
                            health.item_parked(site, f"comment {cid}", reason)
                        else:
                            log.warning("retention: site %s: comment %s parked: %s", site, cid, escape(reason))
                if self.archive is not None and records:
                    # Written (and fsynced) before the comments leave Redis.
                    report.archived += await asyncio.to_thread(self.archive.append, site, records)
                    await self.rstore.mark_archived(site, now)
                # Deriving the duplicate entry normalizes the text: off the event loop.
                removals = await asyncio.to_thread(_removals, ids, rows)
                removed, _, _ = await self.rstore.remove(site, removals, expire_cutoff_ms=cutoff)
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
        author digest), rewrite labels of the old format (which held email and IP) in the
        compact one, and index labels written before the label authors index (erasure finds
        labels only through it). Safe to run again; pages through the status indexes and
        reads the label log once (an operator's one-off command, unlike erasure)."""
        out = {"comments": 0, "decided": 0, "labels": 0, "labels_indexed": 0}
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
            found = await self._scan_labels(site, lambda fields: "doc" in fields or bool(fields.get("a")))
            for entry_id, fields in found:
                if "doc" in fields:  # the compact copy is indexed as it is appended
                    await self.rstore.replace_label(site, entry_id, compact_legacy_label(site, fields), LABELS_MAXLEN)
                    out["labels"] += 1
                else:
                    out["labels_indexed"] += await self.rstore.index_label(site, entry_id, fields["a"])
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
        """Erase one author of one site; idempotent; the reply lists what was removed.

        The steps (:meth:`erasure_steps`) run in order under the site's sweep lock, so no
        sweep archives the author's comments while they are being erased. Nothing starts
        when the site keeps an archive this process cannot reach (:class:`ArchiveRequired`).
        """
        erasure = Erasure(site, email.strip())
        if self.archive is None and await self.rstore.archived(site):
            raise ArchiveRequired(site)
        token = await self._wait_lock(site)
        try:
            for _name, step in self.erasure_steps():
                await step(erasure)
        finally:
            await self.rstore.unlock(site, token)
        report = erasure.report
        at = self.clock()
        counts = asdict(report)
        # Who asked, when, how many: never the email (the audit must not undo the erasure).
        await self.rstore.audit(site, {
            "event": "forget", "by": by, "at": str(at), "records": str(report.total()),
            "removed": msgspec.json.encode(counts).decode(),
        })
        log.info("erasure on site %s by %s: %d records", site, by, report.total())
        reply: dict[str, Any] = {"site": site, "at": iso(at), "removed": counts}
        if erasure.notices:
            reply["notices"] = erasure.notices
        return reply

    def erasure_steps(self) -> list[tuple[str, ErasureStep]]:
        """The erasure, step by step, in order. A new kind of record that names an author
        gets its own step here (and a count in ForgetReport). Every step finds the author's
        records through an index or a key derived from the author, never by reading a
        whole log or scanning keys."""
        return [
            # Comments in every status and the Idempotency-Key replies naming them; collects the IPs.
            ("comments", self._forget_comments),
            # Queued webhook events and dead letters (they carry the author's name).
            ("webhook_events", self._forget_events),
            # The archive's records; collects the IPs they held.
            ("archive", self._forget_archive),
            # Flood windows (by email and by each IP) and the trusted-author entry.
            ("author_records", self._forget_author_records),
            # The label log: name and author digest stripped (text and decision stay for training).
            ("labels", self._forget_labels),
            # The block list: the author's email, and single addresses the author used.
            ("block_list", self._forget_blocked),
            # Reputation entries keyed by the author's email, phones, handles and IP network.
            ("reputation", self._forget_reputation),
        ]

    async def _forget_comments(self, erasure: Erasure) -> None:
        site, prefix, report = erasure.site, erasure.prefix, erasure.report
        after = ""
        while True:
            ids = await self.rstore.author_ids(site, prefix, after, FORGET_BATCH)
            if not ids:
                break
            after = ids[-1]
            read = await self.rstore.rows(site, ids)
            mine: list[tuple[str, Mapping[str, str] | None]] = []
            for cid, row in zip(ids, read, strict=True):
                if isinstance(row, str):
                    continue  # not a comment record: nothing of the author can be read in it
                # The index holds a digest prefix: another author can share it, the email decides.
                if row is None or _doc_email(row.get("doc", "")) == erasure.target:
                    mine.append((cid, row))
                    if row is not None and (ip := _doc_ip(row.get("doc", ""))):
                        erasure.ips.add(ip)
            removals = await asyncio.to_thread(_removals, [c for c, _ in mine], [r for _, r in mine])
            removed, pending, replies = await self.rstore.remove(
                site, [r if r.author_prefix else replace(r, author_prefix=prefix) for r in removals],
                expire_cutoff_ms=None,
            )
            report.comments += removed
            report.pending += pending
            report.replies += replies

    async def _forget_events(self, erasure: Erasure) -> None:
        while ids := await self.rstore.author_events(erasure.site, erasure.digest, FORGET_BATCH):
            erasure.report.events += await self.rstore.forget_events(erasure.site, erasure.digest, ids)

    async def _forget_archive(self, erasure: Erasure) -> None:
        if self.archive is None:
            return
        forgotten = await asyncio.to_thread(self.archive.forget, erasure.site, erasure.email)
        erasure.report.archived = forgotten.records
        erasure.ips |= forgotten.ips

    async def _forget_author_records(self, erasure: Erasure) -> None:
        report = erasure.report
        report.flood, report.trusted = await self.rstore.forget_author_records(
            erasure.site, erasure.email, sorted(erasure.ips)
        )

    async def _forget_reputation(self, erasure: Erasure) -> None:
        erasure.report.reputation = await self.forget_reputation(erasure.site, erasure.email)

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

    async def _forget_labels(self, erasure: Erasure) -> None:
        """Strip the author's name and digest from their labels (text and label stay for
        training), found through the label authors index (keys.label_authors)."""
        site, digest = erasure.site, erasure.digest
        while entry_ids := await self.rstore.author_labels(site, digest, FORGET_BATCH):
            for entry_id, fields in zip(entry_ids, await self.rstore.label_entries(site, entry_ids), strict=True):
                stripped = {} if fields is None else {
                    k: v for k, v in compact_legacy_label(site, fields).items() if k not in _LABEL_PERSONAL
                }
                await self.rstore.replace_label(site, entry_id, stripped, LABELS_MAXLEN, member=digest + entry_id)
                erasure.report.labels += fields is not None

    async def _forget_blocked(self, erasure: Erasure) -> None:
        """The author's email leaves the block list, and so does every entry that is one of the
        addresses the author used (``1.2.3.4``, ``1.2.3.4/32``). A wider range that holds one
        of them stays: it blocks a network, which other people share, so it is the operator's
        call; the reply's notices name it so they can remove it in the site's settings."""
        target = erasure.target
        addresses = {ipaddress.ip_address(ip) for ip in erasure.ips if _is_ip(ip)}
        for _ in range(8):
            version, doc = await self.store.load_settings(erasure.site)
            current = decode(doc)
            emails = tuple(e for e in current.blocked_emails if e.casefold() != target)
            ips: list[str] = []
            ranges: list[str] = []
            for entry in current.blocked_ips:
                network = ipaddress.ip_network(entry, strict=False)
                if network.num_addresses == 1 and network.network_address in addresses:
                    continue
                if any(a.version == network.version and a in network for a in addresses):
                    ranges.append(entry)
                ips.append(entry)
            removed_emails = len(current.blocked_emails) - len(emails)
            removed_ips = len(current.blocked_ips) - len(ips)
            if removed_emails or removed_ips:
                updated = replace(current, blocked_emails=emails, blocked_ips=tuple(ips))
                ok, _ = await self.store.save_settings(erasure.site, version, encode(updated))
                if not ok:
                    continue
            erasure.report.blocked_emails, erasure.report.blocked_ips = removed_emails, removed_ips
            if ranges:
                erasure.notices.append(
                    f"blocked_ips keeps {len(ranges)} range(s) holding an address this author used "
                    f"({', '.join(ranges)}): a range blocks a network that others share, so it was "
                    "not removed; remove it in the site's settings if it was added for this author"
                )
            return
        raise VersionConflict("the settings kept changing; the block list entries were not removed")


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
        post, dup_field = duplicate_entry(comment)
        idem = row.get("idem") or akismet_reply_key(comment)
        out.append(Removal(comment_id, author_prefix(comment.author_email), post, dup_field, idem))
    return out


def akismet_reply_key(comment: CommentIn) -> str:
    """The Idempotency-Key web/akismet.py stores a comment-check reply under (comments stored
    before the key was kept on the comment); tests check the two agree."""
    return "akismet-" + comment.fingerprint()


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _doc_ip(raw: str) -> str:
    """The author's IP address of a stored comment document ('' if none)."""
    try:
        doc = msgspec.json.decode(raw) if raw else None
    except msgspec.DecodeError:
        return ""
    comment = doc.get("comment") if isinstance(doc, dict) else None
    ip = comment.get("user_ip") if isinstance(comment, dict) else None
    return ip if isinstance(ip, str) else ""


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
