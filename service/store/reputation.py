"""Redis side of reputation: each site's own counts, its copy of the shared view, erasure.

Every script here touches the keys of one site only (one hash slot on a cluster). The shared
view is not read across sites at submission time, which a cluster would refuse (CROSSSLOT):
the worker that records a decision reads the deciding entries' counts from every sharing site
(:meth:`ReputationStore.own_values`, a pipeline, one command per site) and writes the result
into each sharing site's own ``keys.reputation_shared`` (fan-out on write). Decisions are
rare and submissions many, so the submission's pre-check (store/comments.py) reads two hashes
of its own site in the round trip it makes anyway.

Ordering: a fan-out takes a number from ``keys.REPUTATION_SEQ`` after its own write and before
its reads, and a site keeps the view with the highest number. The highest-numbered view read
after every write that took a lower number, so once the fan-outs of concurrent decisions are
written, every site holds a view that saw all of them, in whatever order the writes landed.

Values are decayed with the half-life on every write and read (both weights of an entry decay
alike, so whether a site's decisions lean spam or not spam never changes with time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from moderation.store import keys

# Fields sampled per eviction step, as Redis samples keys for maxmemory eviction: the weakest
# of the sample goes. Cheap whatever the hash's size (HRANDFIELD), approximate by design.
EVICTION_SAMPLE = 16
# Personal entry ids remembered per author for erasure (a comment carries at most 8).
AUTHOR_MAX_IDS = 32

_EVICT = """
local function weight(v, now, hl, spam_at, ham_at, t_at)
  local parts = {}
  for p in string.gmatch(v, '%S+') do parts[#parts + 1] = tonumber(p) end
  if t_at == 0 then return 0 end
  return (parts[spam_at] + parts[ham_at]) * 2 ^ (-(now - parts[t_at]) / hl)
end
-- Sampled eviction down to cap fields: at most as many as this call wrote (plus a few), so
-- the work of a call stays proportional to what it adds.
local function evict(key, cap, now, hl, spam_at, ham_at, t_at, written)
  local n = redis.call('HLEN', key) - cap
  if n > written + 8 then n = written + 8 end
  for _ = 1, n do
    local sample = redis.call('HRANDFIELD', key, SAMPLE, 'WITHVALUES')
    local worst, worst_w = nil, nil
    for i = 1, #sample, 2 do
      local w = weight(sample[i + 1], now, hl, spam_at, ham_at, t_at)
      if worst == nil or w < worst_w then worst, worst_w = sample[i], w end
    end
    if worst then redis.call('HDEL', key, worst) end
  end
end
""".replace("SAMPLE", str(EVICTION_SAMPLE))

_OWN_LUA = (
    _EVICT
    + """
-- A site's own decisions on some entries: add the deltas to the decayed weights.
-- KEYS: own counts (keys.reputation), authors index (keys.reputation_authors)
-- ARGV: now s, half-life s, cap, author id ('' = none), the author's personal entry ids
--       (space-separated), then per entry: id, spam delta, ham delta
local now, hl, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 6, #ARGV, 3 do
  local id = ARGV[i]
  local s, h = 0, 0
  local cur = redis.call('HGET', KEYS[1], id)
  if cur then
    local cs, ch, ct = string.match(cur, '(%S+) (%S+) (%S+)')
    local f = 2 ^ (-(now - tonumber(ct)) / hl)
    s, h = tonumber(cs) * f, tonumber(ch) * f
  end
  s = math.max(0, s + tonumber(ARGV[i + 1]))
  h = math.max(0, h + tonumber(ARGV[i + 2]))
  if s < 0.001 and h < 0.001 then
    redis.call('HDEL', KEYS[1], id)
  else
    redis.call('HSET', KEYS[1], id, string.format('%.5g %.5g %d', s, h, now))
  end
end
evict(KEYS[1], cap, now, hl, 1, 2, 3, (#ARGV - 5) / 3)
if ARGV[4] ~= '' and ARGV[5] ~= '' then
  local ids, seen = {}, {}
  local listed = redis.call('HGET', KEYS[2], ARGV[4]) or ''
  for id in string.gmatch(listed .. ' ' .. ARGV[5], '%S+') do
    if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
  end
  while #ids > """
    + str(AUTHOR_MAX_IDS)
    + """ do table.remove(ids, 1) end
  redis.call('HSET', KEYS[2], ARGV[4], table.concat(ids, ' '))
  evict(KEYS[2], cap, now, hl, 0, 0, 0, 1)
end
return 1
"""
)

_SHARE_LUA = (
    _EVICT
    + """
-- The shared view of some entries, as one fan-out computed it for this site.
-- KEYS: shared view (keys.reputation_shared)
-- ARGV: seq, now s, half-life s, cap, then per entry: id, value ('' = no longer counts here)
-- A view older than the one held (lower seq) is ignored. An entry that stops counting keeps a
-- zero-weight marker with its seq, so an older view arriving late cannot bring it back.
local seq, now, hl, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 5, #ARGV, 2 do
  local id, value = ARGV[i], ARGV[i + 1]
  local cur = redis.call('HGET', KEYS[1], id)
  if not cur or tonumber(string.match(cur, '(%S+)$')) < seq then
    if value ~= '' then
      redis.call('HSET', KEYS[1], id, value .. ' ' .. ARGV[1])
    elseif cur then
      redis.call('HSET', KEYS[1], id, '0 0 0 0 ' .. ARGV[2] .. ' ' .. ARGV[1])
    end
  end
end
evict(KEYS[1], cap, now, hl, 1, 2, 5, (#ARGV - 4) / 2)
return 1
"""
)

_FORGET_LUA = """
-- Erase one author's personal entries from a site: its own counts and its shared view.
-- KEYS: own counts, shared view, authors index
-- ARGV: author id, then ids known without the index (the email's)
local ids, seen = {}, {}
local listed = redis.call('HGET', KEYS[3], ARGV[1]) or ''
for i = 2, #ARGV do listed = listed .. ' ' .. ARGV[i] end
for id in string.gmatch(listed, '%S+') do
  if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
end
local removed = 0
for _, id in ipairs(ids) do
  removed = removed + redis.call('HDEL', KEYS[1], id) + redis.call('HDEL', KEYS[2], id)
end
redis.call('HDEL', KEYS[3], ARGV[1])
return {removed, ids}
"""


@dataclass(frozen=True, slots=True)
class Delta:
    """What one decision changes for one entry (weights, +1 / -1 / 0)."""

    entry_id: str
    spam: float
    ham: float


class ReputationStore:
    def __init__(self, redis: Redis, *, half_life_s: float, cap: int) -> None:
        self.redis = redis
        self.half_life_s = half_life_s
        self.cap = cap
        self._own = redis.register_script(_OWN_LUA)
        self._share = redis.register_script(_SHARE_LUA)
        self._forget = redis.register_script(_FORGET_LUA)

    async def add_own(
        self, site: str, deltas: Sequence[Delta], now_s: int, author_id: str = "", personal: Sequence[str] = ()
    ) -> None:
        """Add one decision's deltas to the site's own counts (and the author's entry ids)."""
        if not deltas:
            return
        args: list[Any] = [now_s, self.half_life_s, self.cap, author_id, " ".join(personal)]
        for d in deltas:
            args += [d.entry_id, d.spam, d.ham]
        await self._own(keys=[keys.reputation(site), keys.reputation_authors(site)], args=args)

    async def next_seq(self) -> int:
        return int(await self.redis.incr(keys.REPUTATION_SEQ))

    async def participants(self) -> list[str]:
        """Every site that shares (all sites but the opted-out ones), sorted."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.smembers(keys.SITES)
        pipe.smembers(keys.REPUTATION_OPTOUT)
        sites, optout = await pipe.execute()
        return sorted({str(s) for s in sites} - {str(s) for s in optout})

    async def set_sharing(self, site: str, sharing: bool) -> bool:
        """Record the site's choice; True when it changed."""
        if sharing:
            return bool(await self.redis.srem(keys.REPUTATION_OPTOUT, site))
        return bool(await self.redis.sadd(keys.REPUTATION_OPTOUT, site))

    async def own_values(
        self, sites: Sequence[str], ids: Sequence[str], probe: str | None
    ) -> tuple[dict[str, list[str | None]], list[str | None]]:
        """Each site's own value of each entry (None: no decision there) and *probe*'s shared
        value of each (which entries are shared now: every sharing site holds the same ones),
        in one pipeline."""
        if not sites or not ids or probe is None:
            return {s: [None] * len(ids) for s in sites}, [None] * len(ids)
        pipe = self.redis.pipeline(transaction=False)
        for site in sites:
            pipe.hmget(keys.reputation(site), list(ids))
        pipe.hmget(keys.reputation_shared(probe), list(ids))
        *replies, probe = await pipe.execute()
        own = {site: [_text(v) for v in reply] for site, reply in zip(sites, replies, strict=True)}
        return own, [_text(v) for v in probe]

    async def write_shared(self, views: Mapping[str, Sequence[tuple[str, str]]], seq: int, now_s: int) -> None:
        """Write each site's share of one fan-out: ``{site: [(entry id, value or ''), ...]}``."""
        calls = []
        for site, pairs in views.items():
            if not pairs:
                continue
            args: list[Any] = [seq, now_s, self.half_life_s, self.cap]
            for entry_id, value in pairs:
                args += [entry_id, value]
            calls.append(self._share(keys=[keys.reputation_shared(site)], args=args))
        # Concurrently, one script per site (each goes to the node that owns the site); one
        # site's failure does not keep the others from their view.
        results = await asyncio.gather(*calls, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def shared_ids(self, site: str, count: int = 1000) -> list[str]:
        """Every entry id of the site's shared view (a full HSCAN; used when sharing changes)."""
        out: list[str] = []
        async for field, _value in self.redis.hscan_iter(keys.reputation_shared(site), count=count):
            out.append(str(field))
        return out

    async def own_ids(self, site: str, count: int = 1000) -> list[str]:
        out: list[str] = []
        async for field, _value in self.redis.hscan_iter(keys.reputation(site), count=count):
            out.append(str(field))
        return out

    async def drop_shared(self, site: str) -> None:
        await self.redis.delete(keys.reputation_shared(site))

    async def forget(self, site: str, author_id: str, extra_ids: Sequence[str]) -> tuple[int, list[str]]:
        """Remove the author's personal entries from the site: (fields removed, entry ids)."""
        removed, ids = await self._forget(
            keys=[keys.reputation(site), keys.reputation_shared(site), keys.reputation_authors(site)],
            args=[author_id, *extra_ids],
        )
        return int(removed), [str(i) for i in ids or ()]

    async def fallback_secret(self, candidate: str) -> str:
        """The secret kept in Redis (set once by the first worker; *candidate* if it was this one)."""
        await self.redis.set(keys.REPUTATION_FALLBACK_SECRET, candidate, nx=True)
        stored = await self.redis.get(keys.REPUTATION_FALLBACK_SECRET)
        return str(stored) if stored else candidate


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None
