"""``make bench`` (reputation phase): Redis memory per 100,000 distinct reputation entries,
the cost of a decision's fan-out, and of the pre-check's reputation read.

On its own redis-server, with the service's own code (service/store/reputation.py,
service/moderation/reputation.py):

* memory: ``used_memory`` before and after 100,000 distinct entries in one site's own marks
  (keys.reputation, written by the decision script in batches), in one site's copy of the
  shared view (keys.reputation_shared) and 100,000 authors in the erasure index
  (keys.reputation_authors); and what the cap does (110,000 written with a cap of 100,000);
* a decision: ``Reputation.record`` of real comments (a domain, a phone, the email, the /24)
  with 3 and with 50 sharing sites: milliseconds per decision (one site's marks, the
  fan-out's reads of every sharing site and its writes);
* a submission: the pre-check round trip with and without the reputation read of 8 entries.

    .venv/bin/python -m bench.reputation
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.run import RESULTS, start_redis
from moderation.core.schemas import parse_comment
from moderation.moderation.reputation import NONE, SPAM, Reputation
from moderation.store import auth, keys
from moderation.store.comments import Guards, Store
from moderation.store.reputation import Delta

ENTRIES = 100_000
BATCH = 500
DECISIONS = 300


async def used(redis: Redis) -> int:
    info = await redis.info("memory")
    return int(info["used_memory"])


def _id(prefix: str, i: int) -> str:
    # The shape of a real id: a kind letter and 16 hex digits.
    return f"{prefix}{i:016x}"


async def memory(redis: Redis, rep: Reputation) -> dict[str, Any]:
    out: dict[str, Any] = {}
    now = int(time.time())
    rstore = rep.rstore
    before = await used(redis)
    for start in range(0, ENTRIES, BATCH):
        await rstore.add_own("mem-own", [Delta(_id("d", i), 1.0, 0.0) for i in range(start, start + BATCH)], now)
    out["own_bytes_per_100k"] = await used(redis) - before
    out["own_fields"] = int(await redis.hlen(keys.reputation("mem-own")))

    before = await used(redis)
    for start in range(0, ENTRIES, BATCH):
        pairs = [(_id("p", i), f"2 0 2 0 {now}") for i in range(start, start + BATCH)]
        await rstore.write_shared({"mem-shared": pairs}, start + 1, now)
    out["shared_bytes_per_100k"] = await used(redis) - before
    out["shared_fields"] = int(await redis.hlen(keys.reputation_shared("mem-shared")))

    before = await used(redis)
    for start in range(0, ENTRIES, BATCH):
        for i in range(start, start + BATCH):
            await rstore.add_own("mem-authors", [Delta(_id("e", i), 1.0, 0.0)], now, _id("a", i),
                                 [_id("e", i), _id("n", i % 1000)])  # fmt: skip
    after = await used(redis)
    own_part = out["own_bytes_per_100k"]
    out["authors_bytes_per_100k"] = after - before - own_part  # the own marks written alongside
    out["authors_fields"] = int(await redis.hlen(keys.reputation_authors("mem-authors")))

    # The cap: 10 % more entries than it allows.
    capped = Reputation(rep.store, secret="bench", max_entries=ENTRIES)
    t0 = time.perf_counter()
    for start in range(0, ENTRIES + ENTRIES // 10, BATCH):
        await capped.rstore.add_own("mem-cap", [Delta(_id("d", i), 1.0, 0.0) for i in range(start, start + BATCH)], now)
    out["capped_fields_after_110k"] = int(await redis.hlen(keys.reputation("mem-cap")))
    out["capped_write_seconds"] = round(time.perf_counter() - t0, 2)
    return out


async def decisions(redis: Redis, store: Store, sharing_sites: int) -> dict[str, Any]:
    prefix = f"dec{sharing_sites}-"
    sites = [f"{prefix}{i}" for i in range(sharing_sites)]
    for site in sites:
        await auth.create_site(redis, site, site, int(time.time() * 1000))
    rep = Reputation(store, secret="bench")
    timings: list[float] = []
    for i in range(DECISIONS):
        comment = parse_comment({
            "post_id": "bai-1", "author_name": "Người đọc", "author_email": f"reader{i}@example.vn",
            "content": f"Xem thêm tại https://site-{i % 50}.example.com/x hoặc gọi 09{i:08d}",
            "user_ip": f"14.{i % 250}.{i // 250}.9",
        })  # fmt: skip
        t0 = time.perf_counter()
        await rep.record(sites[i % len(sites)], comment, NONE, SPAM)
        timings.append(time.perf_counter() - t0)
    for site in sites:
        await redis.srem(keys.SITES, site)
    timings.sort()
    return {
        "sharing_sites": sharing_sites,
        "decisions": DECISIONS,
        "ms_median": round(1000 * statistics.median(timings), 2),
        "ms_p90": round(1000 * timings[int(0.9 * len(timings))], 2),
    }


async def precheck(redis: Redis, store: Store) -> dict[str, Any]:
    site = "pre"
    await auth.create_site(redis, site, site, int(time.time() * 1000))
    ids = [_id("d", i) for i in range(8)]
    await Reputation(store, secret="bench").rstore.add_own(site, [Delta(i, 1.0, 0.0) for i in ids], int(time.time()))
    samples: dict[str, list[float]] = {"without": [], "with_8_entries": []}
    # Interleaved, after a warm-up, so that both see the same machine (it is shared and loaded).
    for n in range(4_400):
        label = "without" if n % 2 else "with_8_entries"
        g = Guards(now_ms=int(time.time() * 1000), email_digest=f"{n:024x}", ip="14.1.1.1", flood_ms=15_000,
                   ip_limit=10)  # fmt: skip
        t0 = time.perf_counter()
        await store.precheck(site, "-", f"r{n}@example.vn", g, reputation_ids=ids if label != "without" else ())
        if n >= 400:
            samples[label].append(time.perf_counter() - t0)
    return {f"us_median_{label}": round(1e6 * statistics.median(s), 1) for label, s in samples.items()}


async def main() -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-reputation-"))
    proc, port = start_redis(tmp)
    redis = Redis(port=port, decode_responses=True)
    try:
        store = Store(redis, idempotency_ttl=60)
        rep = Reputation(store, secret="bench", max_entries=10 * ENTRIES)
        result = {
            "memory": await memory(redis, rep),
            "decision": [await decisions(redis, store, n) for n in (3, 50)],
            "precheck": await precheck(redis, store),
        }
    finally:
        await redis.aclose()
        proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def run(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "reputation.json")
    args = parser.parse_args(argv)
    result = asyncio.run(main())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    mem = result["memory"]
    print("reputation memory per 100,000 distinct entries:")
    own = mem["own_bytes_per_100k"] / 1e6
    print(f"  own marks (keys.reputation)          {own:6.1f} MB ({mem['own_fields']} fields)")
    print(f"  shared view (keys.reputation_shared) {mem['shared_bytes_per_100k'] / 1e6:6.1f} MB")
    print(f"  authors index (100,000 authors)      {mem['authors_bytes_per_100k'] / 1e6:6.1f} MB")
    capped, seconds = mem["capped_fields_after_110k"], mem["capped_write_seconds"]
    print(f"  cap 100,000, 110,000 written: {capped} fields ({seconds} s)")
    for d in result["decision"]:
        print(f"decision with {d['sharing_sites']} sharing sites: {d['ms_median']} ms median, {d['ms_p90']} ms p90")
    pre = result["precheck"]
    without, with_entries = pre["us_median_without"], pre["us_median_with_8_entries"]
    print(f"pre-check round trip: {without} µs without, {with_entries} µs with 8 entries")
    print(f"written to {args.out}")


if __name__ == "__main__":
    run()
