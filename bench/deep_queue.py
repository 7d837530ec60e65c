"""A review queue one million items deep: bulk fill, then list/claim/decide through HTTP.

The fill writes the same keys (service/store/keys.py) and the same hash/index/stream shape as the
submission script in service/store/comments.py, with real stored documents taken from the load test
(only the id inside each document is rewritten), so Redis memory per pending comment and
the queue operations are measured on what the service itself would have written. It runs
as a Lua loop in chunks because a million submissions through the API would take longer
than the rest of the benchmark together.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from redis.asyncio import Redis

from moderation.store import keys
from moderation.store.comments import Store

# Mirrors store._SUBMIT_LUA for a pending comment without an Idempotency-Key, each from its
# own author: hash {doc, status, created, sid} + pending index + review stream entry + the
# authors index entry (author prefix + id).
# The comment keys are built from ARGV (same {site} tag); fine for the standalone bench Redis.
_FILL_LUA = """
-- KEYS: pending index, review stream, authors index
-- ARGV: comment key prefix, doc before id, doc after id, created_ms, ids...
local prefix, before, after, created = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
for i = 5, #ARGV do
  local id = ARGV[i]
  local sid = redis.call('XADD', KEYS[2], '*', 'id', id)
  redis.call('HSET', prefix .. id, 'doc', before .. id .. after, 'status', 'pending', 'created', created, 'sid', sid)
  redis.call('ZADD', KEYS[1], 0, id)
  redis.call('ZADD', KEYS[3], 0, redis.sha1hex(id):sub(1, 12) .. id)
end
return #ARGV - 4
"""

FILL_CHUNK = 5000
_ID_IN_DOC = re.compile(rb'"id":"([0-9a-f]{21})"')


@dataclass(frozen=True, slots=True)
class Template:
    before: bytes
    after: bytes
    content_bytes: int


def templates_from(docs: list[bytes], content_bytes: list[int]) -> list[Template]:
    out: list[Template] = []
    for doc, size in zip(docs, content_bytes, strict=True):
        match = _ID_IN_DOC.search(doc)
        if match is None:
            continue
        out.append(Template(doc[: match.start(1)], doc[match.end(1) :], size))
    if not out:
        raise RuntimeError("no stored documents with an id to use as fill templates")
    return out


async def used_memory(redis: Redis) -> int:
    info = await redis.info("memory")
    return int(info["used_memory"])


async def fill(redis: Redis, site: str, depth: int, templates: list[Template]) -> dict[str, Any]:
    """Put ``depth`` pending comments on ``site``'s queue; returns timing and memory figures."""
    await Store(redis, idempotency_ttl=60).ensure_group(site)
    script = redis.register_script(_FILL_LUA)
    before = await used_memory(redis)
    started = time.perf_counter()
    base_ms = time.time_ns() // 1_000_000 - 86_400_000
    prefix = keys.comment(site, "")
    done = 0
    content = 0
    chunk_no = 0
    while done < depth:
        n = min(FILL_CHUNK, depth - done)
        template = templates[chunk_no % len(templates)]
        # Time-ordered ids like store.new_comment_id: 11 hex digits of ms, 10 of sequence.
        ids = [f"{base_ms + (done + i) // 1000:011x}{done + i:010x}" for i in range(n)]
        await script(
            keys=[keys.status_index(site, "pending"), keys.review_stream(site), keys.authors(site)],
            args=[prefix, template.before, template.after, base_ms, *ids],
        )
        done += n
        content += n * template.content_bytes
        chunk_no += 1
    seconds = time.perf_counter() - started
    after = await used_memory(redis)
    per_item = (after - before) / depth
    mean_content = content / depth
    return {
        "depth": depth,
        "fill_seconds": round(seconds, 2),
        "redis_bytes_per_pending_comment": round(per_item, 1),
        "mean_content_utf8_bytes": round(mean_content, 1),
        "redis_bytes_per_pending_beyond_text": round(per_item - mean_content, 1),
        "mean_doc_bytes": round(statistics.fmean(len(t.before) + 21 + len(t.after) for t in templates), 1),
    }


def _pcts(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2)

    top = round(ordered[-1] * 1000, 2)
    return {"n": len(ordered), "p50_ms": at(50), "p95_ms": at(95), "p99_ms": at(99), "max_ms": top}


async def measure_ops(base_url: str, site: str, tokens: list[str], ops: int) -> dict[str, Any]:
    """List, claim and decide ``ops`` times each, sequentially, through the HTTP API."""
    lists: list[float] = []
    claims: list[float] = []
    decides: list[float] = []
    errors: dict[str, int] = {}
    decisions = ("approve", "reject", "spam")

    def bad(what: str, status: int) -> None:
        errors[f"{what}:{status}"] = errors.get(f"{what}:{status}", 0) + 1

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(base_url, timeout=timeout) as http:
        cursor: str | None = None
        for i in range(ops):
            token = tokens[i % len(tokens)]
            params = {"site": site, "status": "pending", "limit": "50"}
            # Alternate first pages and deeper pages reached by cursor, both directions.
            if i % 4 == 3:
                params["order"] = "asc"
            elif cursor and i % 2:
                params["cursor"] = cursor
            t0 = time.perf_counter()
            async with http.get("/v1/review/queue", params=params, headers={"Authorization": f"Bearer {token}"}) as r:
                body = await r.read()
            lists.append(time.perf_counter() - t0)
            if r.status != 200:
                bad("list", r.status)
            elif "order" not in params:
                cursor = msgspec.json.decode(body).get("next_cursor")
        claimed: list[tuple[str, str]] = []
        for i in range(ops):
            token = tokens[i % len(tokens)]
            t0 = time.perf_counter()
            async with http.post(
                "/v1/review/claim", json={"site": site, "count": 10}, headers={"Authorization": f"Bearer {token}"}
            ) as r:
                body = await r.read()
            claims.append(time.perf_counter() - t0)
            if r.status != 200:
                bad("claim", r.status)
                continue
            for item in msgspec.json.decode(body)["items"]:
                claimed.append((token, item["id"]))
        for i, (token, comment_id) in enumerate(claimed[:ops]):
            t0 = time.perf_counter()
            async with http.post(
                f"/v1/review/{comment_id}/decision",
                json={"decision": decisions[i % 3], "site": site, "reason": "spam" if i % 3 == 2 else None},
                headers={"Authorization": f"Bearer {token}"},
            ) as r:
                await r.read()
            decides.append(time.perf_counter() - t0)
            if r.status != 200:
                bad("decide", r.status)
    return {
        "list": _pcts(lists),
        "claim": _pcts(claims),
        "decide": _pcts(decides) if decides else {"n": 0},
        "errors": errors,
    }


def run_ops(base_url: str, site: str, tokens: list[str], ops: int) -> dict[str, Any]:
    return asyncio.run(measure_ops(base_url, site, tokens, ops))
