"""Redis side of retention and erasure: removing comments with everything that names them.

The submit, decide and recheck scripts (store.py) keep two indexes for this module: the
decided-at index (``keys.decided``: id -> ms of the final decision; a pending comment is
never in it) and the authors index (``keys.authors``: author prefix + id). The other keys
that name a comment (its post's duplicate entry) are derived from the comment by the
caller. Removal runs as one script per batch, so a comment never half-disappears, and only
touches keys of one site (one hash slot on a cluster).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from moderation.store import keys
from moderation.store.comments import AUTHOR_PREFIX_CHARS, LABEL_APPEND_LUA

# Audit entries kept per site (who asked to forget whom-not, when, how many records).
AUDIT_MAXLEN = 10_000

_REMOVE_LUA = """
-- KEYS: decided index, idx pending, idx approved, idx spam, idx rejected, review stream,
--       authors index, parked (retention), parked reasons,
--       then per comment: comment hash, post duplicates hash, idempotency reply
-- ARGV: mode ('expire' | 'forget'), cutoff ms, consumer group,
--       then per comment: id, authors index member, duplicate field ('' = none)
-- 'expire' removes a comment only if it is still in the decided index at or before the
-- cutoff (another worker or an erasure may have removed it since it was read), and never
-- a pending one; 'forget' removes whatever it is given, and the Idempotency-Key reply that
-- names it (an expired comment's reply is left to its TTL: a client may still retry).
local F = 9
local removed, pending, replies = 0, 0, 0
local n = (#KEYS - F) / 3
for i = 0, n - 1 do
  local h, dup, idem = KEYS[F + 1 + 3 * i], KEYS[F + 2 + 3 * i], KEYS[F + 3 + 3 * i]
  local id, member, field = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  local go = true
  local cur = {false, false}
  local kind = redis.call('TYPE', h)['ok']
  if kind == 'hash' then
    cur = redis.call('HMGET', h, 'status', 'sid')
  elseif kind ~= 'none' and ARGV[1] == 'expire' then
    go = false  -- not a comment record: the sweep parks it instead (moderation/retention.py)
  end
  if ARGV[1] == 'expire' and go then
    local at = redis.call('ZSCORE', KEYS[1], id)
    if not at or tonumber(at) > tonumber(ARGV[2]) then
      go = false
    elseif cur[1] == 'pending' then
      redis.call('ZREM', KEYS[1], id)
      go = false
    end
  end
  if go then
    if redis.call('DEL', h) == 1 then
      removed = removed + 1
      if cur[1] == 'pending' then pending = pending + 1 end
    end
    for j = 1, 5 do redis.call('ZREM', KEYS[j], id) end
    if cur[2] then
      redis.call('XACK', KEYS[6], ARGV[3], cur[2])
      redis.call('XDEL', KEYS[6], cur[2])
    end
    if member ~= '' then redis.call('ZREM', KEYS[7], member) end
    redis.call('ZREM', KEYS[8], id)
    redis.call('HDEL', KEYS[9], id)
    if field ~= '' and redis.call('TYPE', dup)['ok'] == 'hash' and redis.call('HGET', dup, field) == id then
      redis.call('HDEL', dup, field)
    end
    if ARGV[1] == 'forget' and redis.call('TYPE', idem)['ok'] == 'string' then
      local reply = redis.call('GET', idem)
      if string.find(reply, '"id":"' .. id .. '"', 1, true) then replies = replies + redis.call('DEL', idem) end
    end
  end
end
return {removed, pending, replies}
"""

# Scripts that move an entry from one key to another start with "#!lua": Redis then refuses
# the whole script up front when it is out of memory, instead of running it until the first
# command that needs memory (the entry would already have left one key and not reached the
# other). Scripts that only delete stay unflagged: they run, and free memory, under OOM.
_PARK_LUA = """#!lua
-- Set due comments the sweep cannot handle aside, with their reasons, until their next try.
-- KEYS: decided index, parked, parked reasons; ARGV: retry at ms, then id, reason pairs
for i = 2, #ARGV, 2 do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
return (#ARGV - 1) / 2
"""

_REQUEUE_LUA = """#!lua
-- Parked comments whose next try is due go back into the decided index, due at once.
-- KEYS: decided index, parked, parked reasons; ARGV: now ms, due score, count
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('ZADD', KEYS[1], ARGV[2], id)
end
return #ids
"""

_FORGET_AUTHOR_LUA = """
-- The records keyed by one author that are not comments.
-- KEYS: flood email key, approved authors, then the flood key of each IP the author used
-- ARGV: email as the decide script stored it (lower), email casefolded (the pre-check's form)
local flood = redis.call('DEL', KEYS[1])
local trusted = redis.call('SREM', KEYS[2], ARGV[1])
if ARGV[2] ~= ARGV[1] then trusted = trusted + redis.call('SREM', KEYS[2], ARGV[2]) end
-- The per-IP flood windows name the address in their key (and expire within a minute).
for i = 3, #KEYS do flood = flood + redis.call('DEL', KEYS[i]) end
return {flood, trusted}
"""

_RELABEL_LUA = "#!lua\n" + LABEL_APPEND_LUA + """
-- Replace one label entry by a copy (appended: stream ids only grow).
-- KEYS: labels stream, label authors index; ARGV: entry id, its index member ('' = none),
--       maxlen, field, value, ...
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  if ARGV[2] ~= '' then redis.call('ZREM', KEYS[2], ARGV[2]) end
  return false  -- trimmed or replaced meanwhile: nothing to copy
end
if ARGV[2] ~= '' then redis.call('ZREM', KEYS[2], ARGV[2]) end
return append_label(KEYS[1], KEYS[2], ARGV[3], {unpack(ARGV, 4)})
"""

_EXPIRE_DEAD_LUA = """
-- Webhook dead letters name their comment; they go with the comments' retention.
-- KEYS: dead letters, webhook authors index, then one event hash per id; ARGV: cutoff ms, ids...
local n = 0
for i = 2, #ARGV do
  local at = redis.call('ZSCORE', KEYS[1], ARGV[i])
  -- Redelivered since it was read: no longer a dead letter, not ours to drop.
  if at and tonumber(at) <= tonumber(ARGV[1]) then
    local h = KEYS[i + 1]
    if redis.call('TYPE', h)['ok'] == 'hash' then
      local a = redis.call('HGET', h, 'a')
      if a then redis.call('ZREM', KEYS[2], a .. ARGV[i]) end
    end
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('DEL', h)
    n = n + 1
  end
end
return n
"""

_FORGET_EVENTS_LUA = """
-- Remove the author's queued webhook events and dead letters.
-- KEYS: due, dead, webhook authors index, then one event hash per id
-- ARGV: author digest, then ids
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], ARGV[1] .. id)
  n = n + redis.call('DEL', KEYS[i + 2])
end
return n
"""

_BACKFILL_LUA = """
-- Index one comment stored before retention existed, as the submit/decide scripts would have.
-- KEYS: comment, decided index, authors index; ARGV: id, authors member, decided ms ('' = pending)
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local added = redis.call('ZADD', KEYS[3], 0, ARGV[2])
if ARGV[3] ~= '' then added = added + redis.call('ZADD', KEYS[2], 'NX', ARGV[3], ARGV[1]) end
return added
"""

_UNLOCK_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def author_digest(email: str) -> str:
    """The digest that names an author in keys: the same as the flood key's (rules._digest)."""
    return hashlib.sha256(email.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:24]


def author_prefix(email: str) -> str:
    return author_digest(email)[:AUTHOR_PREFIX_CHARS]


@dataclass(frozen=True, slots=True)
class Removal:
    """One comment to remove and the entries outside its hash that name it."""

    comment_id: str
    author_prefix: str = ""  # '' when unknown (the hash was already gone)
    post_digest: str = ""
    duplicate_field: str = ""
    # The Idempotency-Key its reply is stored under ('' = none known); erasure removes the
    # reply if it names this comment.
    idempotency_key: str = ""

    @property
    def member(self) -> str:
        return self.author_prefix + self.comment_id if self.author_prefix else ""


def comment_ref(site: str, comment_id: str) -> str:
    """What a label keeps instead of the comment id, so a label of an expired comment names
    nothing in Redis yet two labels of one comment (a decision and an Akismet report) still
    pair up in the export."""
    return hashlib.sha256(f"{site}\x00{comment_id}".encode()).hexdigest()[:16]


class RetentionStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._remove = redis.register_script(_REMOVE_LUA)
        self._forget_author = redis.register_script(_FORGET_AUTHOR_LUA)
        self._unlock = redis.register_script(_UNLOCK_LUA)
        self._relabel = redis.register_script(_RELABEL_LUA)
        self._expire_dead = redis.register_script(_EXPIRE_DEAD_LUA)
        self._backfill = redis.register_script(_BACKFILL_LUA)
        self._park = redis.register_script(_PARK_LUA)
        self._forget_events = redis.register_script(_FORGET_EVENTS_LUA)
        self._requeue = redis.register_script(_REQUEUE_LUA)

    async def due(self, site: str, cutoff_ms: int, count: int) -> list[tuple[str, int]]:
        """The oldest ``count`` decided comments decided at or before ``cutoff_ms``: (id, ms)."""
        rows = await self.redis.zrangebyscore(
            keys.decided(site), "-inf", cutoff_ms, start=0, num=count, withscores=True
        )
        return [(str(row[0]), int(row[1])) for row in rows]

    async def remove(
        self,
        site: str,
        rows: Sequence[Removal],
        *,
        expire_cutoff_ms: int | None,
    ) -> tuple[int, int, int]:
        """Remove comments: (removed, of which pending, stored replies removed).

        With ``expire_cutoff_ms`` only those still due by then and not pending go (the sweep);
        without it, all of them and the Idempotency-Key replies that name them (erasure).
        """
        if not rows:
            return 0, 0, 0
        key_list = [
            keys.decided(site),
            *(keys.status_index(site, s) for s in keys.STATUSES),
            keys.review_stream(site),
            keys.authors(site),
            keys.retention_parked(site),
            keys.retention_parked_reasons(site),
        ]
        args: list[str | int] = [
            "expire" if expire_cutoff_ms is not None else "forget",
            expire_cutoff_ms or 0,
            keys.REVIEW_GROUP,
        ]
        for r in rows:
            key_list += [
                keys.comment(site, r.comment_id),
                keys.post_duplicates(site, r.post_digest or "-"),
                keys.idempotency(site, r.idempotency_key or "-"),
            ]
            args += [r.comment_id, r.member, r.duplicate_field]
        removed, pending, replies = await self._remove(keys=key_list, args=args)
        return int(removed), int(pending), int(replies)

    async def rows(self, site: str, ids: Sequence[str]) -> list[dict[str, str] | str | None]:
        """The comment hashes of ``ids``: a dict, None (gone), or, for a record that cannot be
        read as a hash (overwritten by another type), why — so one bad record fails alone."""
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for comment_id in ids:
            pipe.hgetall(keys.comment(site, comment_id))
        out: list[dict[str, str] | str | None] = []
        for row in await pipe.execute(raise_on_error=False):
            if isinstance(row, ResponseError):
                out.append(f"the comment record cannot be read ({row})")
            elif isinstance(row, Exception):
                raise row  # Redis itself failed: the whole batch waits
            else:
                out.append({str(k): str(v) for k, v in row.items()} if row else None)
        return out

    async def park(self, site: str, items: Sequence[tuple[str, str]], retry_at_ms: int) -> int:
        """Set ``(id, reason)`` aside from the decided index until ``retry_at_ms``."""
        if not items:
            return 0
        flat = [x for pair in items for x in pair]
        return int(await self._park(
            keys=[keys.decided(site), keys.retention_parked(site), keys.retention_parked_reasons(site)],
            args=[retry_at_ms, *flat],
        ))

    async def requeue_parked(self, site: str, now_ms: int, due_score: int, count: int) -> int:
        """Put parked comments whose next try is due back into the decided index."""
        return int(await self._requeue(
            keys=[keys.decided(site), keys.retention_parked(site), keys.retention_parked_reasons(site)],
            args=[now_ms, due_score, count],
        ))

    async def parked(self, site: str, count: int = 100) -> list[dict[str, str]]:
        """Parked comments (oldest next try first): id, reason, next try (ms)."""
        rows: list[tuple[str, float]] = [
            (str(row[0]), float(row[1]))
            for row in await self.redis.zrange(keys.retention_parked(site), 0, count - 1, withscores=True)
        ]
        ids = [i for i, _ in rows]
        reasons = await self.redis.hmget(keys.retention_parked_reasons(site), ids) if ids else []
        return [{"id": i, "reason": str(r or ""), "retry_at_ms": str(int(score))}
                for (i, score), r in zip(rows, reasons, strict=True)]

    async def archived(self, site: str) -> bool:
        """Whether any of the site's comments were ever written to the archive."""
        return bool(await self.redis.exists(keys.archive_marker(site)))

    async def mark_archived(self, site: str, now_ms: int) -> None:
        await self.redis.set(keys.archive_marker(site), now_ms, nx=True)

    async def detach_archive(self, site: str) -> bool:
        return bool(await self.redis.delete(keys.archive_marker(site)))

    async def expire_dead_letters(self, site: str, cutoff_ms: int, count: int) -> int:
        """Drop webhook dead letters given up on at or before ``cutoff_ms`` (at most ``count``)."""
        ids = [str(i) for i in await self.redis.zrangebyscore(
            keys.webhook_dead(site), "-inf", cutoff_ms, start=0, num=count)]
        if not ids:
            return 0
        return int(await self._expire_dead(
            keys=[keys.webhook_dead(site), keys.webhook_authors(site), *(keys.webhook_event(site, i) for i in ids)],
            args=[cutoff_ms, *ids],
        ))

    async def backfill(self, site: str, comment_id: str, email: str, decided_ms: int | None) -> bool:
        """Index one comment stored before retention existed; False if it already was."""
        return bool(await self._backfill(
            keys=[keys.comment(site, comment_id), keys.decided(site), keys.authors(site)],
            args=[comment_id, author_prefix(email) + comment_id, "" if decided_ms is None else decided_ms],
        ))

    async def author_ids(self, site: str, prefix: str, after: str, count: int) -> list[str]:
        """Ids of comments whose authors share ``prefix``, after the id ``after`` ('' = first)."""
        low = f"({prefix}{after}" if after else f"[{prefix}"
        members = await self.redis.zrangebylex(keys.authors(site), low, f"({prefix}g", start=0, num=count)
        return [str(m)[len(prefix):] for m in members]

    async def forget_author_records(self, site: str, email: str, ips: Sequence[str] = ()) -> tuple[int, int]:
        """Drop the author's flood records (by email, and by each IP in ``ips``) and
        trusted-author entry: (flood, trusted) removed."""
        digest = author_digest(email)
        key_list = [keys.flood_email(site, digest), keys.approved_authors(site)]
        key_list += [keys.flood_ip(site, ip) for ip in ips]
        flood, trusted = await self._forget_author(keys=key_list, args=[email.lower(), email.casefold()])
        return int(flood), int(trusted)

    async def author_events(self, site: str, digest: str, count: int) -> list[str]:
        """Ids of queued webhook events and dead letters of the author ``digest`` (the first ``count``)."""
        return await self._by_digest(keys.webhook_authors(site), digest, count)

    async def forget_events(self, site: str, digest: str, ids: Sequence[str]) -> int:
        """Remove events (queued or dead letters) and their index entries; events removed."""
        if not ids:
            return 0
        return int(await self._forget_events(
            keys=[keys.webhook_due(site), keys.webhook_dead(site), keys.webhook_authors(site),
                  *(keys.webhook_event(site, i) for i in ids)],
            args=[digest, *ids],
        ))

    async def author_labels(self, site: str, digest: str, count: int) -> list[str]:
        """Entry ids of the label log entries of the author ``digest`` (the first ``count``), from the index."""
        return await self._by_digest(keys.label_authors(site), digest, count)

    async def _by_digest(self, index: str, digest: str, count: int) -> list[str]:
        # Members are <24 hex digest><id>; ids hold no letter past 'f', so "g" ends the range.
        members = await self.redis.zrangebylex(index, f"[{digest}", f"({digest}g", start=0, num=count)
        return [str(m)[len(digest):] for m in members]

    async def label_entries(self, site: str, entry_ids: Sequence[str]) -> list[dict[str, str] | None]:
        """The fields of each label entry (None where the log no longer has it)."""
        if not entry_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for entry_id in entry_ids:
            pipe.xrange(keys.labels(site), min=entry_id, max=entry_id)
        out: list[dict[str, str] | None] = []
        for rows in await pipe.execute():
            out.append({str(k): str(v) for k, v in (rows[0][1] or {}).items()} if rows else None)
        return out

    async def index_label(self, site: str, entry_id: str, digest: str) -> int:
        """Index a label written before the label authors index existed (backfill); 1 if it was not."""
        added = await self.redis.zadd(keys.label_authors(site), {digest + entry_id: 0})
        return int(added or 0)

    async def replace_label(
        self, site: str, entry_id: str, fields: Mapping[str, str], maxlen: int, *, member: str = ""
    ) -> None:
        """Replace one label by ``fields`` (re-indexed by their ``a``); ``member`` is the old
        entry's index member, removed with it."""
        flat = [x for pair in fields.items() for x in pair]
        await self._relabel(keys=[keys.labels(site), keys.label_authors(site)], args=[entry_id, member, maxlen, *flat])

    async def lock(self, site: str, ttl_ms: int) -> str | None:
        """The site's sweep lock (one sweep or erasure per site at a time); its token or None."""
        token = secrets.token_hex(8)
        ok = await self.redis.set(keys.sweep_lock(site), token, nx=True, px=ttl_ms)
        return token if ok else None

    async def unlock(self, site: str, token: str) -> None:
        await self._unlock(keys=[keys.sweep_lock(site)], args=[token])

    async def audit(self, site: str, fields: Mapping[str, str]) -> None:
        await self.redis.xadd(keys.audit(site), dict(fields), maxlen=AUDIT_MAXLEN, approximate=True)  # type: ignore[arg-type]

    async def audit_entries(self, site: str, count: int = 100) -> list[dict[str, str]]:
        rows = await self.redis.xrevrange(keys.audit(site), count=count) or []
        return [{"id": str(i), **{str(k): str(v) for k, v in (f or {}).items()}} for i, f in rows]
