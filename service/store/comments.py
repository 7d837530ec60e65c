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
from redis.asyncio import Redis, RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import (
    AskError,
    ClusterDownError,
    MovedError,
    NoScriptError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from moderation.core.errors import ServiceUnavailable
from moderation.store import keys, stats
from moderation.store.autopipeline import AutoPipeline

# "Redis cannot answer right now", from one server or a cluster: background loops wait
# and try again. (The cluster client raises its generic RedisClusterException when no
# node is reachable at all; the HTTP middleware maps only that case to 503.)
REDIS_UNAVAILABLE: tuple[type[Exception], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ClusterDownError,
    TryAgainError,
    SlotNotCoveredError,
    RedisClusterException,
)

# Moderator decisions become labelled examples; keep the newest this many per site.
LABELS_MAXLEN = 1_000_000
# Decisions kept in a comment's history (the newest); a comment decided back and forth more
# often than this is a quarrel, not information, and the hash must stay small.
HISTORY_MAX = 50
# Characters of the author's email digest (rules._digest, 24 hex) that prefix a comment's
# entry in keys.authors: 48 bits keep another author's entries in the same range rare, and
# erasure checks each comment's email anyway.
AUTHOR_PREFIX_CHARS = 12
# Guard for scans that filter the queue server-side (by post or reason).
MAX_FILTER_SCAN = 2_000

# Appending to a site's label log, shared by every script that does: the entry is indexed by
# its author digest (field ``a``) in keys.label_authors, so erasure finds an author's labels
# without reading the log, and the oldest entries past the cap leave with their index
# entries (exact, at most 16 per append, instead of XADD's approximate MAXLEN that would
# drop entries the index still names).
LABEL_APPEND_LUA = """
local function append_label(stream, index, maxlen, fields)
  local id = redis.call('XADD', stream, '*', unpack(fields))
  for i = 1, #fields - 1, 2 do
    if fields[i] == 'a' and fields[i + 1] ~= '' then redis.call('ZADD', index, 0, fields[i + 1] .. id) end
  end
  local over = redis.call('XLEN', stream) - tonumber(maxlen)
  if over > 0 then
    for _, e in ipairs(redis.call('XRANGE', stream, '-', '+', 'COUNT', math.min(over, 16))) do
      local f = e[2]
      for i = 1, #f - 1, 2 do
        if f[i] == 'a' then redis.call('ZREM', index, f[i + 1] .. e[1]) end
      end
      redis.call('XDEL', stream, e[1])
    end
  end
  return id
end
"""

_SUBMIT_LUA = """
-- KEYS: comment, status index, review stream, idempotency, site meta, webhook event,
--       webhook due, stats day, decided index, authors index, webhook authors index
-- ARGV: id, status, created_ms, doc, idem_value ('' = none), idem_ttl,
--       webhook event id ('' = not a final decision), webhook event body
if ARGV[5] ~= '' then
  local prev = redis.call('GET', KEYS[4])
  if prev then return {0, prev} end
end
-- Rule guards (service/policy.py). KEYS[G..]: flood email, flood ip, post duplicates, then
-- the campaign band keys, which must stay LAST (their number varies). ARGV[A..]: now_ms,
-- flood window ms (0 = off), ip limit per minute (0 = off), duplicate field ('' = off),
-- duplicate ttl s, campaign window ms, enforce ('1'; '0' in shadow mode: record, never refuse),
-- then the stats day's ttl, the comment's reason codes (space-separated), the author prefix
-- (store/retention.author_prefix), the author digest (for the webhook authors index) and the
-- Idempotency-Key ('' = none; kept on the comment so erasure can remove its stored reply).
-- The pre-check read these before scoring; they are checked again here because two
-- concurrent submissions can both pass a read, and only a script makes check+write atomic.
local G, A = 12, 9
local now = tonumber(ARGV[A])
local flood_ms = tonumber(ARGV[A + 1])
local ip_limit = tonumber(ARGV[A + 2])
local dup_field = ARGV[A + 3]
if ARGV[A + 6] == '1' then
  -- Duplicate first, as WordPress checks (409 for a repeated comment, not a 429 flood).
  if dup_field ~= '' then
    local first = redis.call('HGET', KEYS[G + 2], dup_field)
    if first then return {3, first} end
  end
  if flood_ms > 0 then
    local last = redis.call('GET', KEYS[G])
    if last and now - tonumber(last) < flood_ms then
      return {2, 'email', tonumber(last) + flood_ms - now}
    end
  end
  if ip_limit > 0 then
    local since = '(' .. (now - 60000)
    local n = redis.call('ZCOUNT', KEYS[G + 1], since, '+inf')
    if n >= ip_limit then
      -- The window drops below the limit when the (n - limit + 1)-th oldest entry leaves it.
      local e = redis.call('ZRANGEBYSCORE', KEYS[G + 1], since, '+inf', 'WITHSCORES', 'LIMIT', n - ip_limit, 1)
      return {2, 'ip', tonumber(e[2]) + 60000 - now}
    end
  end
end
if flood_ms > 0 then redis.call('SET', KEYS[G], now, 'PX', flood_ms) end
if ip_limit > 0 then
  redis.call('ZADD', KEYS[G + 1], now, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[G + 1], '-inf', now - 60000)
  redis.call('ZREMRANGEBYRANK', KEYS[G + 1], 0, -(ip_limit + 1))
  redis.call('PEXPIRE', KEYS[G + 1], 60000)
end
if dup_field ~= '' then
  redis.call('HSETNX', KEYS[G + 2], dup_field, ARGV[1])
  redis.call('EXPIRE', KEYS[G + 2], ARGV[A + 4])
end
local window = tonumber(ARGV[A + 5])
for i = G + 3, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  redis.call('PEXPIRE', KEYS[i], window)
end
redis.call('HSET', KEYS[1], 'doc', ARGV[4], 'status', ARGV[2], 'created', ARGV[3])
if ARGV[A + 11] ~= '' then redis.call('HSET', KEYS[1], 'idem', ARGV[A + 11]) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
-- Retention and erasure (moderation/retention.py): the decided-at index for the sweep, the
-- authors index for erasure.
redis.call('ZADD', KEYS[10], 0, ARGV[A + 9] .. ARGV[1])
if ARGV[2] ~= 'pending' then redis.call('ZADD', KEYS[9], ARGV[3], ARGV[1]) end
if ARGV[2] == 'pending' then
  local sid = redis.call('XADD', KEYS[3], '*', 'id', ARGV[1])
  redis.call('HSET', KEYS[1], 'sid', sid)
end
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
end
-- The webhook event is queued in the same step as the decision (transactional outbox),
-- and only for sites that have a webhook; score 0 = due now.
if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[5], 'webhook_url') == 1 then
  redis.call('HSET', KEYS[6], 'body', ARGV[8], 'attempts', 0, 'a', ARGV[A + 10])
  redis.call('ZADD', KEYS[7], 0, ARGV[7])
  if ARGV[A + 10] ~= '' then redis.call('ZADD', KEYS[11], 0, ARGV[A + 10] .. ARGV[7]) end
end
-- The dashboard's counters (service/store/stats.py) change in the same step as the comment. The
-- day's first write sets its expiry (NX: later writes of the same day skip the rewrite).
redis.call('HINCRBY', KEYS[8], 'auto:' .. ARGV[2], 1)
for code in string.gmatch(ARGV[A + 8], '%S+') do
  redis.call('HINCRBY', KEYS[8], 'reason:' .. code, 1)
end
redis.call('EXPIRE', KEYS[8], ARGV[A + 7], 'NX')
return {1, ''}
"""

_DECIDE_LUA = LABEL_APPEND_LUA + """
-- A decision on a comment, pending or already decided: decisions are revisable. Each one that
-- changes something gets the comment's next revision number, in the order Redis runs this
-- script (one at a time per site slot), and the latest revision is the comment's status.
-- KEYS: comment, review stream, idx pending, idx approved, idx spam, idx rejected,
--       approved authors, labels, site meta, webhook event, webhook due, stats day,
--       decided index, label authors index, webhook authors index
-- ARGV: id, new_status, moderator, now_ms, note, reason, group, label_maxlen, author_key,
--       webhook event id, webhook event body, stats ttl, wait field, wait ms,
--       expected revision ('' = any), via, history max, then the label's field/value pairs
local h = KEYS[1]
local cur = redis.call('HMGET', h, 'status', 'decided_by', 'claimed_by', 'claimed_until', 'sid', 'rev', 'reason')
if not cur[1] then return {'missing'} end
local rev = tonumber(cur[6] or '0')
-- Compare-and-set, for callers that send the revision they saw: a decision based on an older
-- state is refused, with the current one, instead of silently replacing a decision it never saw.
if ARGV[15] ~= '' and tonumber(ARGV[15]) ~= rev then
  return {'stale', cur[1], rev}
end
if cur[2] and cur[1] == ARGV[2] then return {'same', cur[1], rev} end
if cur[3] and cur[3] ~= ARGV[3] and tonumber(cur[4]) > tonumber(ARGV[4]) then
  return {'claimed', cur[3], rev}
end
rev = rev + 1
local idx = {pending = KEYS[3], approved = KEYS[4], spam = KEYS[5], rejected = KEYS[6]}
redis.call('HSET', h, 'status', ARGV[2], 'decided_by', ARGV[3], 'decided_at', ARGV[4],
  'note', ARGV[5], 'reason', ARGV[6], 'rev', rev)
if not cur[2] then redis.call('HSET', h, 'auto_status', cur[1]) end
-- The history (who, when, from where, the status before), one JSON object a line, oldest
-- first, the newest ARGV[17] kept; in the comment's hash, so it leaves with the comment.
local entry = cjson.encode({rev = rev, status = ARGV[2], previous = cur[1], by = ARGV[3],
  at = tonumber(ARGV[4]), via = ARGV[16], note = ARGV[5], reason = ARGV[6]})
local lines = {}
for line in string.gmatch(redis.call('HGET', h, 'history') or '', '[^\\n]+') do lines[#lines + 1] = line end
lines[#lines + 1] = entry
local first = math.max(1, #lines - tonumber(ARGV[17]) + 1)
redis.call('HSET', h, 'history', table.concat(lines, '\\n', first))
redis.call('HDEL', h, 'claimed_by', 'claimed_until', 'sid')
if cur[1] ~= ARGV[2] then
  redis.call('ZREM', idx[cur[1]], ARGV[1])
  redis.call('ZADD', idx[ARGV[2]], 0, ARGV[1])
end
if cur[5] then
  redis.call('XACK', KEYS[2], ARGV[7], cur[5])
  redis.call('XDEL', KEYS[2], cur[5])
end
if ARGV[2] == 'approved' and ARGV[9] ~= '' then
  redis.call('SADD', KEYS[7], ARGV[9])
end
-- One label per decision; a later label of the same comment (its `ref`) replaces an earlier
-- one when labels are read (moderation/feedback.label_rows), so the latest decision trains.
local label = {unpack(ARGV, 18)}
append_label(KEYS[8], KEYS[14], ARGV[8], label)
redis.call('ZADD', KEYS[13], ARGV[4], ARGV[1])
if ARGV[10] ~= '' and redis.call('HEXISTS', KEYS[9], 'webhook_url') == 1 then
  -- The revision and the status before are known only here (webhooks.REVISION_SLOT).
  local body = string.gsub(ARGV[11], '"__REVISION__"', tostring(rev), 1)
  body = string.gsub(body, '"__PREVIOUS__"', '"' .. cur[1] .. '"', 1)
  -- The event is indexed by the author digest the label carries (field a), for erasure.
  local author = ''
  for i = 1, #label - 1, 2 do if label[i] == 'a' then author = label[i + 1] end end
  redis.call('HSET', KEYS[10], 'body', body, 'attempts', 0, 'a', author)
  redis.call('ZADD', KEYS[11], 0, ARGV[10])
  if author ~= '' then redis.call('ZADD', KEYS[15], 0, author .. ARGV[10]) end
end
-- Dashboard counters (service/store/stats.py); the waiting time counts only for held comments.
redis.call('HINCRBY', KEYS[12], 'dec:' .. ARGV[2], 1)
if cur[2] then redis.call('HINCRBY', KEYS[12], 'revised', 1) end
if ARGV[6] ~= '' then redis.call('HINCRBY', KEYS[12], 'dec_reason:' .. ARGV[6], 1) end
if cur[1] == 'pending' then
  redis.call('HINCRBY', KEYS[12], ARGV[13], 1)
  redis.call('HINCRBY', KEYS[12], 'wait_n', 1)
  redis.call('HINCRBY', KEYS[12], 'wait_ms', ARGV[14])
end
redis.call('EXPIRE', KEYS[12], ARGV[12], 'NX')
-- The state replaced, for what counts decisions (reputation): decided by a moderator before
-- ('1') and with what reason.
return {'ok', cur[1], rev, cur[2] and '1' or '', cur[7] or ''}
"""

_RECHECK_LUA = """
-- A pending comment re-scored by a newer model: an automatic decision, so it is not
-- recorded as decided_by (a moderator can still overrule it) and not kept as a label
-- (the model must not learn from its own output).
-- KEYS: comment, review stream, idx pending, idx new status, site meta, webhook event,
--       webhook due, stats day, decided index, webhook authors index
-- ARGV: id, new_status, now_ms, group, model_version, spam_score, webhook event id, body,
--       stats ttl, author digest
local cur = redis.call('HMGET', KEYS[1], 'status', 'decided_by', 'claimed_by', 'claimed_until', 'sid', 'rev')
if cur[1] ~= 'pending' or cur[2] then return 'skipped' end
if cur[3] and tonumber(cur[4]) > tonumber(ARGV[3]) then return 'claimed' end
-- A change of status like a decision's: the next revision, and a line in the history.
local rev = tonumber(cur[6] or '0') + 1
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'rechecked_at', ARGV[3], 'recheck_model', ARGV[5],
  'recheck_score', ARGV[6], 'rev', rev)
local entry = cjson.encode({rev = rev, status = ARGV[2], previous = 'pending', by = 'recheck',
  at = tonumber(ARGV[3]), via = 'recheck', note = '', reason = ''})
local history = redis.call('HGET', KEYS[1], 'history')
redis.call('HSET', KEYS[1], 'history', history and (history .. '\\n' .. entry) or entry)
redis.call('HDEL', KEYS[1], 'claimed_by', 'claimed_until', 'sid')
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('ZADD', KEYS[9], ARGV[3], ARGV[1])
if cur[5] then
  redis.call('XACK', KEYS[2], ARGV[4], cur[5])
  redis.call('XDEL', KEYS[2], cur[5])
end
if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[5], 'webhook_url') == 1 then
  local body = string.gsub(ARGV[8], '"__REVISION__"', tostring(rev), 1)
  body = string.gsub(body, '"__PREVIOUS__"', '"pending"', 1)
  redis.call('HSET', KEYS[6], 'body', body, 'attempts', 0, 'a', ARGV[10])
  redis.call('ZADD', KEYS[7], 0, ARGV[7])
  if ARGV[10] ~= '' then redis.call('ZADD', KEYS[10], 0, ARGV[10] .. ARGV[7]) end
end
redis.call('HINCRBY', KEYS[8], 'recheck:' .. ARGV[2], 1)
redis.call('EXPIRE', KEYS[8], ARGV[9], 'NX')
return 'ok'
"""


_PRECHECK_LUA = """#!lua flags=no-writes
-- Every read the site's rules need before a decision, in one round trip. Declared
-- read-only so it also runs while writes are paused (CLIENT PAUSE WRITE) or on a replica.
-- KEYS: settings, approved authors, site meta, reputation (own), reputation (shared),
--       flood email, flood ip, post duplicates, campaign bands...
-- ARGV: settings stamp this worker has cached ('-' = none), author email (lowercased),
--       now_ms, duplicate field ('' = skip), '1' if the comment has an IP, campaign window ms,
--       '1' to return the site's API key digest (the caller's key is checked in Python),
--       then the reputation entry ids of the submission (moderation/reputation.py)
-- The stamp is random per save, unlike the version it cannot repeat if the hash is deleted.
local cur = redis.call('HMGET', KEYS[1], 'version', 'stamp')
local version, stamp = cur[1] or '0', cur[2] or ''
local doc = ''
if stamp ~= ARGV[1] then doc = redis.call('HGET', KEYS[1], 'doc') or '' end
local approved = redis.call('SISMEMBER', KEYS[2], ARGV[2])
local key_hash = ''
if ARGV[7] == '1' then key_hash = redis.call('HGET', KEYS[3], 'key_hash') or '' end
local last = redis.call('GET', KEYS[6]) or ''
local now = tonumber(ARGV[3])
local ip_times = {}
if ARGV[5] == '1' then
  local rows = redis.call('ZRANGEBYSCORE', KEYS[7], '(' .. (now - 60000), '+inf', 'WITHSCORES')
  for i = 2, #rows, 2 do ip_times[#ip_times + 1] = rows[i] end
end
local dup = ''
if ARGV[4] ~= '' then dup = redis.call('HGET', KEYS[8], ARGV[4]) or '' end
local campaign = 0
local since = '(' .. (now - tonumber(ARGV[6]))
for i = 9, #KEYS do
  local n = redis.call('ZCOUNT', KEYS[i], since, '+inf')
  if n > campaign then campaign = n end
end
local own, shared = {}, {}
if #ARGV >= 8 then
  local ids = {unpack(ARGV, 8)}
  own = redis.call('HMGET', KEYS[4], unpack(ids))
  shared = redis.call('HMGET', KEYS[5], unpack(ids))
end
return {version, doc, approved, last, ip_times, dup, campaign, stamp, key_hash, own, shared}
"""

_CLAIM_LUA = """
-- KEYS: review stream; ARGV: group, moderator, count, limit, lease_ms, scan
-- One script, so a moderator's concurrent claims cannot together pass the limit.
local held = 0
local start = '-'
local scanned = 0
while scanned < tonumber(ARGV[6]) do
  local page = redis.call('XPENDING', KEYS[1], ARGV[1], start, '+', 100, ARGV[2])
  for _, p in ipairs(page) do
    if tonumber(p[3]) < tonumber(ARGV[5]) then held = held + 1 end
  end
  scanned = scanned + #page
  if #page < 100 then break end
  start = '(' .. page[#page][1]
end
local n = math.min(tonumber(ARGV[3]), tonumber(ARGV[4]) - held)
if n <= 0 then return {held, {}} end
local out = {}
local reclaimed = redis.call('XAUTOCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[5], '0-0', 'COUNT', n)
for _, e in ipairs(reclaimed[2]) do
  if e[2] then table.insert(out, e) end
end
if #out < n then
  local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', n - #out, 'STREAMS', KEYS[1], '>')
  if read then
    for _, e in ipairs(read[1][2]) do table.insert(out, e) end
  end
end
return {held, out}
"""

_SAVE_SETTINGS_LUA = """
-- Compare-and-set of a site's settings: the write names the version it was based on.
-- KEYS: settings; ARGV: expected version, settings JSON, new stamp (random)
local cur = redis.call('HGET', KEYS[1], 'version') or '0'
if cur ~= ARGV[1] then return {0, cur} end
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'stamp', ARGV[3])
return {1, tostring(v)}
"""


_ADD_LABEL_LUA = "#!lua\n" + LABEL_APPEND_LUA + """
-- KEYS: labels, label authors index; ARGV: maxlen, then the label's field/value pairs
return append_label(KEYS[1], KEYS[2], ARGV[1], {unpack(ARGV, 2)})
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
    result: str  # ok | same | stale | claimed | missing
    # ok: the status before this decision; same/stale: the current status; claimed: who holds it.
    previous: str
    # The comment's revision after the script: the new one (ok), else the current one.
    revision: int = 0
    # ok: whether the status replaced was a moderator's decision (not the automatic verdict or
    # a recheck), and that decision's reason.
    previously_decided: bool = False
    previous_reason: str = ""


@dataclass(frozen=True, slots=True)
class Guards:
    """Per-submission bookkeeping of the flood, duplicate and campaign rules.

    Digests, not raw emails or post ids, go into key names. Zero/empty values turn a
    guard off; ``enforce=False`` (shadow mode) records without refusing.
    """

    now_ms: int
    email_digest: str = ""
    ip: str | None = None
    flood_ms: int = 0
    ip_limit: int = 0
    post_digest: str = ""
    duplicate_field: str = ""
    duplicate_ttl: int = 1
    band_ids: tuple[str, ...] = ()
    campaign_window_ms: int = 1
    enforce: bool = True

    def keys(self, site: str) -> list[str]:
        return [
            keys.flood_email(site, self.email_digest or "-"),
            keys.flood_ip(site, self.ip or "-"),
            keys.post_duplicates(site, self.post_digest or "-"),
            *(keys.campaign_band(site, b) for b in self.band_ids),
        ]

    def args(self) -> list[str | int]:
        return [
            self.now_ms,
            self.flood_ms if self.email_digest else 0,
            self.ip_limit if self.ip else 0,
            self.duplicate_field,
            self.duplicate_ttl,
            self.campaign_window_ms,
            "1" if self.enforce else "0",
        ]


@dataclass(frozen=True, slots=True)
class Refusal:
    """The submit script refused and stored nothing: flood_email | flood_ip | duplicate."""

    kind: str
    retry_ms: int = 0
    existing_id: str = ""


@dataclass(frozen=True, slots=True)
class Precheck:
    """What the pre-check script read for one submission."""

    version: int
    # Random per settings save; what workers key their cached settings by.
    stamp: str
    # The settings JSON when the caller's cached stamp is stale, else None.
    settings_doc: str | None
    approved_author: bool
    last_email_ms: int | None
    ip_times_ms: tuple[int, ...]
    duplicate_of: str | None
    campaign_count: int
    # The site's stored API key digest when asked for ('' = no such site).
    key_hash: str | None = None
    # keys.reputation / keys.reputation_shared values of the submission's entries, in order.
    reputation_own: tuple[str | None, ...] = ()
    reputation_shared: tuple[str | None, ...] = ()


def parse_stream_entries(entries: Any) -> list[StreamItem]:
    """The one place that reads XREADGROUP/XAUTOCLAIM entry lists into typed records.

    Entries whose payload was deleted arrive as ``(id, None)`` in RESP2 and are skipped.
    """
    items: list[StreamItem] = []
    for entry in entries or ():
        stream_id, fields = entry[0], entry[1]
        if not fields:
            continue
        if isinstance(fields, list):  # a script's reply: the flat field/value list
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        comment_id = fields.get("id") if isinstance(fields, dict) else None
        if comment_id:
            items.append(StreamItem(str(stream_id), str(comment_id)))
    return items


# Leases one moderator may hold on one site (Settings.claim_limit), and how many of their
# pending entries the claim script looks at to count them (bounds the script's work).
CLAIM_LIMIT = 100
CLAIM_SCAN = 1_000


class Store:
    def __init__(
        self,
        redis: Redis,
        *,
        idempotency_ttl: int,
        stats_utc_offset_minutes: int = stats.DEFAULT_UTC_OFFSET_MINUTES,
        replica_acks: int = 0,
        replica_timeout_ms: int = 500,
    ) -> None:
        self.redis = redis
        self.idempotency_ttl = idempotency_ttl
        # Which calendar day a submission or decision is counted on (service/store/stats.py).
        self.stats_offset = stats_utc_offset_minutes
        # Settings.redis_replica_acks / _timeout_ms: see _durable.
        self.replica_acks = replica_acks
        self.replica_timeout_ms = replica_timeout_ms
        self._submit = redis.register_script(_SUBMIT_LUA)
        self._decide = redis.register_script(_DECIDE_LUA)
        self._recheck = redis.register_script(_RECHECK_LUA)
        self._precheck = redis.register_script(_PRECHECK_LUA)
        # Submissions' scripts from one event-loop turn go out as one pipeline.
        self.batched = AutoPipeline(redis)
        self._save_settings = redis.register_script(_SAVE_SETTINGS_LUA)
        self._claim = redis.register_script(_CLAIM_LUA)
        self._add_label = redis.register_script(_ADD_LABEL_LUA)

    async def _write(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """Run a write script: through the auto-pipeline, or, when replicas must confirm
        it (replica_acks > 0), followed by WAIT on the same connection."""
        if self.replica_acks <= 0:
            return await self.batched.script(script, keys=keys, args=args)
        return await self._durable(script, keys, args)

    async def _durable(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> Any:
        """EVALSHA then ``WAIT replica_acks replica_timeout_ms`` in one pipeline to the node
        that owns the keys: WAIT counts the replicas that have every write this connection
        made, so a reply means the script is on a replica too, and survives that replica's
        promotion. Not confirmed in time (no replica attached, a failover under way, the slot
        moved) is a 503: the write may exist on the master, and the client's retry with its
        Idempotency-Key gets the stored reply, confirmed this time."""
        for attempt in range(2):
            pipe = self.redis.pipeline(transaction=False)
            pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
            if isinstance(self.redis, RedisCluster):
                node = self.redis.get_node_from_key(keys[0])
                pipe.execute_command("WAIT", self.replica_acks, self.replica_timeout_ms, target_nodes=node)
                # No redirection: a command re-sent to another node would not be covered by this WAIT.
                replies = await pipe.execute(raise_on_error=False, allow_redirections=False)
            else:
                pipe.execute_command("WAIT", self.replica_acks, self.replica_timeout_ms)
                replies = await pipe.execute(raise_on_error=False)
            result, acked = replies
            if isinstance(result, NoScriptError) and attempt == 0:
                await self.redis.script_load(script.script)  # all masters, on a cluster
                continue
            if isinstance(result, (*REDIS_UNAVAILABLE, MovedError, AskError)):
                raise ServiceUnavailable("storage is changing masters; retry with the same Idempotency-Key")
            if isinstance(result, Exception):
                raise result
            if isinstance(acked, Exception) or int(acked) < self.replica_acks:
                raise ServiceUnavailable(
                    f"the write was not confirmed by {self.replica_acks} Redis replica(s) within "
                    f"{self.replica_timeout_ms} ms; retry with the same Idempotency-Key"
                )
            return result
        raise ServiceUnavailable("the script could not be loaded; retry")

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
        guards: Guards | None = None,
        reason_codes: Sequence[str] = (),
    ) -> StoredReply | Refusal | None:
        """Store one comment atomically; return the earlier reply if the key was used.

        ``event_id``/``event_body``: the webhook event of a final decision, queued in the
        same script when the site has a webhook. ``guards``: the flood, duplicate and
        campaign bookkeeping of the site's rules; a :class:`Refusal` means nothing was stored.
        ``reason_codes``: counted on the day's dashboard counters with the comment.
        """
        g = guards or Guards(now_ms=created_ms)
        idem_key = keys.idempotency(site, idempotency_key or "-")
        result = await self._write(
            self._submit,
            keys=[
                keys.comment(site, comment_id),
                keys.status_index(site, status),
                keys.review_stream(site),
                idem_key,
                keys.site_meta(site),
                keys.webhook_event(site, event_id or "-"),
                keys.webhook_due(site),
                keys.stats_day(site, stats.day_of(created_ms, self.stats_offset)),
                keys.decided(site),
                keys.authors(site),
                keys.webhook_authors(site),
                *g.keys(site),
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
                *g.args(),
                stats.TTL_SECONDS,
                " ".join(dict.fromkeys(reason_codes)),
                g.email_digest[:AUTHOR_PREFIX_CHARS],
                g.email_digest,
                idempotency_key or "",
            ],
        )
        if int(result[0]) == 1:
            return None
        if int(result[0]) == 2:
            return Refusal("flood_" + str(result[1]), retry_ms=int(result[2]))
        if int(result[0]) == 3:
            return Refusal("duplicate", existing_id=str(result[1]))
        raw = result[1]
        raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        fingerprint, _, reply = raw_bytes.partition(b"\n")
        return StoredReply(fingerprint.decode("ascii"), reply)

    async def get(self, site: str, comment_id: str) -> dict[str, str] | None:
        data = await self.redis.hgetall(keys.comment(site, comment_id))
        # decode_responses=True: keys and values are str.
        return {str(k): str(v) for k, v in data.items()} if data else None

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
        self, site: str, moderator: str, count: int, lease_ms: int, now_ms: int, limit: int = CLAIM_LIMIT
    ) -> list[dict[str, str]]:
        """Lease up to ``count`` pending items no other moderator holds; their comment hashes.

        Items whose lease expired are taken back first (XAUTOCLAIM), then new ones
        are read (XREADGROUP ``>``); the consumer group guarantees that a stream
        entry is delivered to one consumer at a time. A moderator holding ``limit``
        unexpired leases on the site gets nothing more until they decide or the leases end.
        """
        stream = keys.review_stream(site)
        try:
            _held, entries = await self._claim(
                keys=[stream],
                args=[keys.REVIEW_GROUP, moderator, count, limit, lease_ms, CLAIM_SCAN],
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group(site)
            return await self.claim(site, moderator, count, lease_ms, now_ms, limit)
        claimed = parse_stream_entries(entries)
        if not claimed:
            return []
        # Record the holder on the comment so listings show it and other moderators'
        # decisions are refused until the lease ends. Items decided meanwhile are acked.
        statuses = await self.get_many(site, [c.comment_id for c in claimed])
        pipe = self.redis.pipeline(transaction=False)
        rows: list[dict[str, str]] = []
        stale: list[str] = []
        until = str(now_ms + lease_ms)
        for item, row in zip(claimed, statuses, strict=True):
            if row is None or row.get("status") != "pending" or row.get("sid") != item.stream_id:
                stale.append(item.stream_id)
                continue
            pipe.hset(keys.comment(site, item.comment_id), mapping={"claimed_by": moderator, "claimed_until": until})
            rows.append({**row, "claimed_by": moderator, "claimed_until": until})
        if stale:
            pipe.xack(stream, keys.REVIEW_GROUP, *stale)
        await pipe.execute()
        return rows

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
        wait_ms: int = 0,
        label: Sequence[str] = (),
        expected_revision: int | None = None,
        via: str = "api",
    ) -> DecideOutcome:
        """Record a moderator's decision, on a pending or an already decided comment.

        ``wait_ms`` (since submission) feeds the dashboard, ``label`` is the labelled example's
        field/value pairs (store/labels.label_fields), ``expected_revision`` makes it a
        compare-and-set (``stale`` when the comment has another revision), ``via`` says where
        the decision came from (kept in the comment's history).
        """
        result = await self._write(
            self._decide,
            keys=[
                keys.comment(site, comment_id),
                keys.review_stream(site),
                keys.status_index(site, "pending"),
                keys.status_index(site, "approved"),
                keys.status_index(site, "spam"),
                keys.status_index(site, "rejected"),
                keys.approved_authors(site),
                keys.labels(site),
                keys.site_meta(site),
                keys.webhook_event(site, event_id or "-"),
                keys.webhook_due(site),
                keys.stats_day(site, stats.day_of(now_ms, self.stats_offset)),
                keys.decided(site),
                keys.label_authors(site),
                keys.webhook_authors(site),
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
                stats.TTL_SECONDS,
                stats.wait_field(wait_ms),
                max(0, wait_ms),
                "" if expected_revision is None else expected_revision,
                via,
                HISTORY_MAX,
                *(label or ("label", status, "by", moderator, "at", str(now_ms))),
            ],
        )
        outcome = str(result[0])
        previous = str(result[1]) if len(result) > 1 else ""
        revision = int(result[2]) if len(result) > 2 else 0
        decided_before = len(result) > 3 and str(result[3]) == "1"
        previous_reason = str(result[4]) if len(result) > 4 else ""
        return DecideOutcome(outcome, previous, revision, decided_before, previous_reason)

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
        author_digest: str = "",
    ) -> str:
        """Move a still-pending, unleased comment to ``status``: ok | skipped | claimed.
        ``author_digest`` indexes its webhook event for erasure (store/retention.author_digest)."""
        result = await self._recheck(
            keys=[
                keys.comment(site, comment_id),
                keys.review_stream(site),
                keys.status_index(site, "pending"),
                keys.status_index(site, status),
                keys.site_meta(site),
                keys.webhook_event(site, event_id or "-"),
                keys.webhook_due(site),
                keys.stats_day(site, stats.day_of(now_ms, self.stats_offset)),
                keys.decided(site),
                keys.webhook_authors(site),
            ],
            args=[
                comment_id,
                status,
                now_ms,
                keys.REVIEW_GROUP,
                model_version,
                spam_score,
                event_id,
                event_body,
                stats.TTL_SECONDS,
                author_digest,
            ],
        )
        return str(result)

    async def add_label(self, site: str, fields: dict[str, str | bytes]) -> None:
        """Append one labelled example that did not come from a queue decision."""
        flat = [x for pair in fields.items() for x in pair]
        await self._add_label(keys=[keys.labels(site), keys.label_authors(site)], args=[LABELS_MAXLEN, *flat])

    async def site_exists(self, site: str) -> bool:
        return bool(await self.redis.exists(keys.site_meta(site)))

    async def precheck(
        self,
        site: str,
        known_stamp: str,
        author_key: str,
        guards: Guards,
        *,
        key_hash: bool = False,
        reputation_ids: Sequence[str] = (),
    ) -> Precheck:
        """One round trip: settings (if changed), trusted author, flood, duplicate, campaign,
        the reputation of *reputation_ids* and, with *key_hash*, the site's API key digest."""
        g = guards
        result = await self.batched.script(
            self._precheck,
            keys=[
                keys.settings(site),
                keys.approved_authors(site),
                keys.site_meta(site),
                keys.reputation(site),
                keys.reputation_shared(site),
                *g.keys(site),
            ],
            args=[
                known_stamp,
                author_key,
                g.now_ms,
                g.duplicate_field,
                "1" if g.ip else "0",
                g.campaign_window_ms,
                "1" if key_hash else "0",
                *reputation_ids,
            ],
        )
        version, doc, approved, last, ip_times, dup, campaign, stamp, stored_hash, own, shared = result
        return Precheck(
            version=int(version),
            stamp=str(stamp),
            settings_doc=str(doc) if doc else None,
            approved_author=int(approved) == 1,
            last_email_ms=int(last) if last else None,
            ip_times_ms=tuple(int(float(t)) for t in ip_times or ()),
            duplicate_of=str(dup) if dup else None,
            campaign_count=int(campaign),
            key_hash=(str(stored_hash) or None) if key_hash else None,
            reputation_own=tuple(str(v) if v else None for v in own or ()),
            reputation_shared=tuple(str(v) if v else None for v in shared or ()),
        )

    async def load_settings(self, site: str) -> tuple[int, str | None]:
        version, doc = await self.redis.hmget(keys.settings(site), ["version", "doc"])
        return int(version or 0), (str(doc) if doc else None)

    async def save_settings(self, site: str, expected_version: int, doc: bytes) -> tuple[bool, int]:
        """Compare-and-set: (True, new version), or (False, current version) when stale."""
        stamp = secrets.token_hex(8)
        ok, version = await self._save_settings(keys=[keys.settings(site)], args=[expected_version, doc, stamp])
        return int(ok) == 1, int(version)


def _stream_replies(read: Any) -> list[tuple[str, Any]]:
    # RESP2 gives [[stream, entries], ...]; RESP3 gives {stream: [entries]}.
    if not read:
        return []
    if isinstance(read, dict):
        return [(str(k), v) for k, v in read.items()]
    return [(str(s), entries) for s, entries in read]
