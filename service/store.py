"""Comments and the review queue in Redis.

Each comment is one hash; its id sits in a per-status index (a sorted set ordered
by id, and ids start with the creation time, so lexicographic order is time order);
pending items also sit in a per-site review stream whose consumer group hands out
leases. Every write that touches more than one key runs as one Lua script, so no
reader ever sees a comment without its index and queue entries or the reverse, and
all keys carry the site's hash tag so the scripts are legal on Redis Cluster.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from service import keys

# Moderator decisions become labelled examples; keep the newest this many per site.
LABELS_MAXLEN = 1_000_000
# Guard for scans that filter the queue server-side (by post or reason).
MAX_FILTER_SCAN = 2_000

_SUBMIT_LUA = """
-- KEYS: comment, status index, review stream, idempotency, counters,
--       site meta, webhook event, webhook due
-- ARGV: id, status, created_ms, doc, idem_value ('' = none), idem_ttl,
--       webhook event id ('' = not a final decision), webhook event body
if ARGV[5] ~= '' then
  local prev = redis.call('GET', KEYS[4])
  if prev then return {0, prev} end
end
redis.call('HSET', KEYS[1], 'doc', ARGV[4], 'status', ARGV[2], 'created', ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[2] == 'pending' then
  local sid = redis.call('XADD', KEYS[3], '*', 'id', ARGV[1])
  redis.call('HSET', KEYS[1], 'sid', sid)
end
redis.call('HINCRBY', KEYS[5], ARGV[2], 1)
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
end
-- The webhook event is queued in the same step as the decision (transactional outbox),
-- and only for sites that have a webhook; score 0 = due now.
if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[6], 'webhook_url') == 1 then
  redis.call('HSET', KEYS[7], 'body', ARGV[8], 'attempts', 0)
  redis.call('ZADD', KEYS[8], 0, ARGV[7])
end
return {1, ''}
"""

_DECIDE_LUA = """
-- KEYS: comment, review stream, idx pending, idx approved, idx spam, idx rejected,
--       approved authors, counters, labels, site meta, webhook event, webhook due
-- ARGV: id, new_status, moderator, now_ms, note, reason, group, label_maxlen, author_key,
--       webhook event id, webhook event body
local h = KEYS[1]
local cur = redis.call('HMGET', h, 'status', 'decided_by', 'claimed_by', 'claimed_until', 'sid', 'doc')
if not cur[1] then return {'missing'} end
if cur[2] then
  if cur[1] == ARGV[2] then return {'same', cur[1]} end
  return {'conflict', cur[1]}
end
if cur[3] and cur[3] ~= ARGV[3] and tonumber(cur[4]) > tonumber(ARGV[4]) then
  return {'claimed', cur[3]}
end
local idx = {pending = KEYS[3], approved = KEYS[4], spam = KEYS[5], rejected = KEYS[6]}
redis.call('HSET', h, 'status', ARGV[2], 'decided_by', ARGV[3], 'decided_at', ARGV[4],
  'note', ARGV[5], 'reason', ARGV[6], 'auto_status', cur[1])
redis.call('HDEL', h, 'claimed_by', 'claimed_until', 'sid')
if cur[1] ~= ARGV[2] then
  redis.call('ZREM', idx[cur[1]], ARGV[1])
  redis.call('ZADD', idx[ARGV[2]], 0, ARGV[1])
  redis.call('HINCRBY', KEYS[8], cur[1], -1)
  redis.call('HINCRBY', KEYS[8], ARGV[2], 1)
end
if cur[5] then
  redis.call('XACK', KEYS[2], ARGV[7], cur[5])
  redis.call('XDEL', KEYS[2], cur[5])
end
if ARGV[2] == 'approved' and ARGV[9] ~= '' then
  redis.call('SADD', KEYS[7], ARGV[9])
end
redis.call('XADD', KEYS[9], 'MAXLEN', '~', ARGV[8], '*', 'id', ARGV[1], 'label', ARGV[2],
  'by', ARGV[3], 'at', ARGV[4], 'reason', ARGV[6], 'doc', cur[6])
if ARGV[10] ~= '' and redis.call('HEXISTS', KEYS[10], 'webhook_url') == 1 then
  redis.call('HSET', KEYS[11], 'body', ARGV[11], 'attempts', 0)
  redis.call('ZADD', KEYS[12], 0, ARGV[10])
end
return {'ok', cur[1]}
"""

_RECHECK_LUA = """
-- A pending comment re-scored by a newer model: an automatic decision, so it is not
-- recorded as decided_by (a moderator can still overrule it) and not kept as a label
-- (the model must not learn from its own output).
-- KEYS: comment, review stream, idx pending, idx new status, counters, site meta,
--       webhook event, webhook due
-- ARGV: id, new_status, now_ms, group, model_version, spam_score, webhook event id, body
local cur = redis.call('HMGET', KEYS[1], 'status', 'decided_by', 'claimed_by', 'claimed_until', 'sid')
if cur[1] ~= 'pending' or cur[2] then return 'skipped' end
if cur[3] and tonumber(cur[4]) > tonumber(ARGV[3]) then return 'claimed' end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'rechecked_at', ARGV[3], 'recheck_model', ARGV[5],
  'recheck_score', ARGV[6])
redis.call('HDEL', KEYS[1], 'claimed_by', 'claimed_until', 'sid')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('HINCRBY', KEYS[5], 'pending', -1)
redis.call('HINCRBY', KEYS[5], ARGV[2], 1)
if cur[5] then
  redis.call('XACK', KEYS[2], ARGV[4], cur[5])
  redis.call('XDEL', KEYS[2], cur[5])
end
if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[6], 'webhook_url') == 1 then
  redis.call('HSET', KEYS[7], 'body', ARGV[8], 'attempts', 0)
  redis.call('ZADD', KEYS[8], 0, ARGV[7])
end
return 'ok'
"""


def new_comment_id(created_ms: int) -> str:
    # 11 hex digits of milliseconds last until the year 2527; 40 random bits make
    # collisions within one millisecond negligible. Lexicographic order = time order.
    return f"{created_ms:011x}{secrets.token_hex(5)}"


@dataclass(frozen=True, slots=True)
class StoredReply:
    """What an earlier submission with the same Idempotency-Key answered."""

    fingerprint: str
    reply: bytes


@dataclass(frozen=True, slots=True)
class StreamItem:
    stream_id: str
    comment_id: str


class DecideOutcome(msgspec.Struct, frozen=True):
    result: str  # ok | same | conflict | claimed | missing
    previous: str


def parse_stream_entries(entries: Any) -> list[StreamItem]:
    """The one place that reads XREADGROUP/XAUTOCLAIM entry lists into typed records.

    Entries whose payload was deleted arrive as ``(id, None)`` in RESP2 and are skipped.
    """
    items: list[StreamItem] = []
    for entry in entries or ():
        stream_id, fields = entry[0], entry[1]
        if not fields:
            continue
        comment_id = fields.get("id") if isinstance(fields, dict) else None
        if comment_id:
            items.append(StreamItem(str(stream_id), str(comment_id)))
    return items


class Store:
    def __init__(self, redis: Redis, *, idempotency_ttl: int) -> None:
        self.redis = redis
        self.idempotency_ttl = idempotency_ttl
        self._submit = redis.register_script(_SUBMIT_LUA)
        self._decide = redis.register_script(_DECIDE_LUA)
        self._recheck = redis.register_script(_RECHECK_LUA)

    async def ensure_group(self, site: str) -> None:
        try:
            await self.redis.xgroup_create(keys.review_stream(site), keys.REVIEW_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def submit(
        self,
        site: str,
        comment_id: str,
        status: str,
        created_ms: int,
        doc: bytes,
        idempotency_key: str | None,
        idempotency_value: bytes | None,
        event_id: str = "",
        event_body: bytes = b"",
    ) -> StoredReply | None:
        """Store one comment atomically; return the earlier reply if the key was used.

        ``event_id``/``event_body``: the webhook event of a final decision, queued in the
        same script when the site has a webhook.
        """
        idem_key = keys.idempotency(site, idempotency_key or "-")
        result = await self._submit(
            keys=[
                keys.comment(site, comment_id),
                keys.status_index(site, status),
                keys.review_stream(site),
                idem_key,
                keys.counters(site),
                keys.site_meta(site),
                keys.webhook_event(site, event_id or "-"),
                keys.webhook_due(site),
            ],
            args=[
                comment_id,
                status,
                created_ms,
                doc,
                idempotency_value if idempotency_key and idempotency_value else b"",
                self.idempotency_ttl,
                event_id,
                event_body,
            ],
        )
        if int(result[0]) == 1:
            return None
        raw = result[1]
        raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        fingerprint, _, reply = raw_bytes.partition(b"\n")
        return StoredReply(fingerprint.decode("ascii"), reply)

    async def get(self, site: str, comment_id: str) -> dict[str, str] | None:
        data = await self.redis.hgetall(keys.comment(site, comment_id))
        return dict(data) if data else None

    async def get_many(self, site: str, ids: Sequence[str]) -> list[dict[str, str] | None]:
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for comment_id in ids:
            pipe.hgetall(keys.comment(site, comment_id))
        rows = await pipe.execute()
        return [dict(r) if r else None for r in rows]

    async def page(
        self, site: str, status: str, limit: int, cursor: str | None, newest_first: bool
    ) -> list[str]:
        """One page of ids of a status, after ``cursor`` (exclusive). O(log N + limit)."""
        index = keys.status_index(site, status)
        if newest_first:
            top = f"({cursor}" if cursor else "+"
            ids = await self.redis.zrevrangebylex(index, top, "-", start=0, num=limit)
        else:
            bottom = f"({cursor}" if cursor else "-"
            ids = await self.redis.zrangebylex(index, bottom, "+", start=0, num=limit)
        return [str(i) for i in ids]

    async def count(self, site: str, status: str) -> int:
        return int(await self.redis.zcard(keys.status_index(site, status)))

    async def counts(self, site: str) -> dict[str, int]:
        pipe = self.redis.pipeline(transaction=False)
        for status in keys.STATUSES:
            pipe.zcard(keys.status_index(site, status))
        values = await pipe.execute()
        return {status: int(v) for status, v in zip(keys.STATUSES, values, strict=True)}

    async def claim(
        self, site: str, moderator: str, count: int, lease_ms: int, now_ms: int
    ) -> list[str]:
        """Lease up to ``count`` pending items no other moderator holds.

        Items whose lease expired are taken back first (XAUTOCLAIM), then new ones
        are read (XREADGROUP ``>``); the consumer group guarantees that a stream
        entry is delivered to one consumer at a time.
        """
        stream = keys.review_stream(site)
        claimed: list[StreamItem] = []
        try:
            reply = await self.redis.xautoclaim(
                stream, keys.REVIEW_GROUP, moderator, min_idle_time=lease_ms, start_id="0-0", count=count
            )
            claimed.extend(parse_stream_entries(reply[1]))
            if len(claimed) < count:
                read = await self.redis.xreadgroup(
                    keys.REVIEW_GROUP, moderator, {stream: ">"}, count=count - len(claimed)
                )
                for _stream, entries in _stream_replies(read):
                    claimed.extend(parse_stream_entries(entries))
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group(site)
            return await self.claim(site, moderator, count, lease_ms, now_ms)
        if not claimed:
            return []
        # Record the holder on the comment so listings show it and other moderators'
        # decisions are refused until the lease ends. Items decided meanwhile are acked.
        statuses = await self.get_many(site, [c.comment_id for c in claimed])
        pipe = self.redis.pipeline(transaction=False)
        ids: list[str] = []
        stale: list[str] = []
        for item, row in zip(claimed, statuses, strict=True):
            if row is None or row.get("status") != "pending" or row.get("sid") != item.stream_id:
                stale.append(item.stream_id)
                continue
            ids.append(item.comment_id)
            pipe.hset(
                keys.comment(site, item.comment_id),
                mapping={"claimed_by": moderator, "claimed_until": now_ms + lease_ms},
            )
        if stale:
            pipe.xack(stream, keys.REVIEW_GROUP, *stale)
        await pipe.execute()
        return ids

    async def decide(
        self,
        site: str,
        comment_id: str,
        status: str,
        moderator: str,
        now_ms: int,
        note: str,
        reason: str,
        author_key: str,
        event_id: str = "",
        event_body: bytes = b"",
    ) -> DecideOutcome:
        result = await self._decide(
            keys=[
                keys.comment(site, comment_id),
                keys.review_stream(site),
                keys.status_index(site, "pending"),
                keys.status_index(site, "approved"),
                keys.status_index(site, "spam"),
                keys.status_index(site, "rejected"),
                keys.approved_authors(site),
                keys.counters(site),
                keys.labels(site),
                keys.site_meta(site),
                keys.webhook_event(site, event_id or "-"),
                keys.webhook_due(site),
            ],
            args=[
                comment_id,
                status,
                moderator,
                now_ms,
                note,
                reason,
                keys.REVIEW_GROUP,
                LABELS_MAXLEN,
                author_key,
                event_id,
                event_body,
            ],
        )
        outcome = str(result[0])
        previous = str(result[1]) if len(result) > 1 else ""
        return DecideOutcome(outcome, previous)

    async def recheck(
        self,
        site: str,
        comment_id: str,
        status: str,
        now_ms: int,
        model_version: str,
        spam_score: float,
        event_id: str = "",
        event_body: bytes = b"",
    ) -> str:
        """Move a still-pending, unleased comment to ``status``: ok | skipped | claimed."""
        result = await self._recheck(
            keys=[
                keys.comment(site, comment_id),
                keys.review_stream(site),
                keys.status_index(site, "pending"),
                keys.status_index(site, status),
                keys.counters(site),
                keys.site_meta(site),
                keys.webhook_event(site, event_id or "-"),
                keys.webhook_due(site),
            ],
            args=[comment_id, status, now_ms, keys.REVIEW_GROUP, model_version, spam_score, event_id, event_body],
        )
        return str(result)

    async def add_label(self, site: str, fields: dict[str, str | bytes]) -> None:
        """Append one labelled example that did not come from a queue decision."""
        await self.redis.xadd(keys.labels(site), fields, maxlen=LABELS_MAXLEN, approximate=True)  # type: ignore[arg-type]

    async def site_exists(self, site: str) -> bool:
        return bool(await self.redis.exists(keys.site_meta(site)))


def _stream_replies(read: Any) -> list[tuple[str, Any]]:
    # RESP2 gives [[stream, entries], ...]; RESP3 gives {stream: [entries]}.
    if not read:
        return []
    if isinstance(read, dict):
        return [(str(k), v) for k, v in read.items()]
    return [(str(s), entries) for s, entries in read]
