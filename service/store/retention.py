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

from service.store import keys
from service.store.comments import AUTHOR_PREFIX_CHARS

# Audit entries kept per site (who asked to forget whom-not, when, how many records).
AUDIT_MAXLEN = 10_000

_REMOVE_LUA = """
-- KEYS: decided index, idx pending, idx approved, idx spam, idx rejected, review stream,
--       authors index, then per comment: comment hash, post duplicates hash
-- ARGV: mode ('expire' | 'forget'), cutoff ms, consumer group,
--       then per comment: id, authors index member, duplicate field ('' = none)
-- 'expire' removes a comment only if it is still in the decided index at or before the
-- cutoff (another worker or an erasure may have removed it since it was read), and never
-- a pending one; 'forget' removes whatever it is given.
local removed, pending = 0, 0
local n = (#KEYS - 7) / 2
for i = 0, n - 1 do
  local h, dup = KEYS[8 + 2 * i], KEYS[9 + 2 * i]
  local id, member, field = ARGV[4 + 3 * i], ARGV[5 + 3 * i], ARGV[6 + 3 * i]
  local cur = redis.call('HMGET', h, 'status', 'sid')
  local go = true
  if ARGV[1] == 'expire' then
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
    if field ~= '' and redis.call('HGET', dup, field) == id then redis.call('HDEL', dup, field) end
  end
end
return {removed, pending}
"""

_FORGET_AUTHOR_LUA = """
-- The records keyed by one author that are not comments.
-- KEYS: flood email key, approved authors
-- ARGV: email as the decide script stored it (lower), email casefolded (the pre-check's form)
local flood = redis.call('DEL', KEYS[1])
local trusted = redis.call('SREM', KEYS[2], ARGV[1])
if ARGV[2] ~= ARGV[1] then trusted = trusted + redis.call('SREM', KEYS[2], ARGV[2]) end
return {flood, trusted}
"""

_RELABEL_LUA = """
-- Replace one label entry by a copy (appended: stream ids only grow).
-- KEYS: labels stream; ARGV: entry id, maxlen, field, value, ...
redis.call('XDEL', KEYS[1], ARGV[1])
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', unpack(ARGV, 3))
"""

_EXPIRE_DEAD_LUA = """
-- Webhook dead letters name their comment; they go with the comments' retention.
-- KEYS: dead letters, then one event hash per id; ARGV: cutoff ms, ids...
local n = 0
for i = 2, #ARGV do
  local at = redis.call('ZSCORE', KEYS[1], ARGV[i])
  -- Redelivered since it was read: no longer a dead letter, not ours to drop.
  if at and tonumber(at) <= tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
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
    ) -> tuple[int, int]:
        """Remove comments: (removed, of which pending).

        With ``expire_cutoff_ms`` only those still due by then and not pending go (the sweep);
        without it, all of them (erasure).
        """
        if not rows:
            return 0, 0
        key_list = [
            keys.decided(site),
            *(keys.status_index(site, s) for s in keys.STATUSES),
            keys.review_stream(site),
            keys.authors(site),
        ]
        args: list[str | int] = [
            "expire" if expire_cutoff_ms is not None else "forget",
            expire_cutoff_ms or 0,
            keys.REVIEW_GROUP,
        ]
        for r in rows:
            key_list += [keys.comment(site, r.comment_id), keys.post_duplicates(site, r.post_digest or "-")]
            args += [r.comment_id, r.member, r.duplicate_field]
        removed, pending = await self._remove(keys=key_list, args=args)
        return int(removed), int(pending)

    async def expire_dead_letters(self, site: str, cutoff_ms: int, count: int) -> int:
        """Drop webhook dead letters given up on at or before ``cutoff_ms`` (at most ``count``)."""
        ids = [str(i) for i in await self.redis.zrangebyscore(
            keys.webhook_dead(site), "-inf", cutoff_ms, start=0, num=count)]
        if not ids:
            return 0
        return int(await self._expire_dead(
            keys=[keys.webhook_dead(site), *(keys.webhook_event(site, i) for i in ids)], args=[cutoff_ms, *ids]
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

    async def forget_author_records(self, site: str, email: str) -> tuple[int, int]:
        """Drop the author's flood record and trusted-author entry: (flood, trusted) removed."""
        digest = author_digest(email)
        flood, trusted = await self._forget_author(
            keys=[keys.flood_email(site, digest), keys.approved_authors(site)],
            args=[email.lower(), email.casefold()],
        )
        return int(flood), int(trusted)

    async def replace_label(self, site: str, entry_id: str, fields: Mapping[str, str], maxlen: int) -> None:
        flat = [x for pair in fields.items() for x in pair]
        await self._relabel(keys=[keys.labels(site)], args=[entry_id, maxlen, *flat])

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
