"""``make bench`` (erasure phase): what an erasure costs with a full label log, and what the
label authors index costs in memory.

Issue 23 measured 2.4 s per ``forget`` at 100,000 labels: erasure read the whole label log
to find the author's labels. It now reads the author's entries through keys.label_authors.
This bench fills a site's label log with ``--labels`` labels of other authors (plus a few of
the author's, written the way decisions write them), then times, on its own redis-server:

* ``scan``: reading the whole log and matching the author (what erasure did before; the
  same function ``moderation retention backfill`` still uses once after an upgrade);
* ``forget``: the whole erasure of that author now (every step);
* the Redis memory of one label with and without its index entry.

    .venv/bin/python -m bench.erasure                 # 100,000 labels
    BENCH_ERASURE_LABELS=20000 .venv/bin/python -m bench.erasure
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from redis.asyncio import Redis

from bench.run import run_on_scratch_redis
from moderation.moderation.retention import Retention
from moderation.store import auth, keys
from moderation.store.comments import Store
from moderation.store.retention import author_digest

SITE = "erasure-bench"
EMAIL = "forget.me@example.vn"
AUTHOR_LABELS = 5
MEMORY_SAMPLE = 20_000
PIPELINE = 1_000
# add_label calls in flight at once (each holds a connection).
CONCURRENT = 50
REPEATS = 5


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--labels", type=int, default=int(os.environ.get("BENCH_ERASURE_LABELS", "100000")))
    return p.parse_args(argv)


def label(i: int, email: str) -> dict[str, str]:
    # The fields label_fields writes for a moderator decision (text of a typical length).
    return {"label": "spam" if i % 3 else "approved", "reason": "", "by": "mod", "at": str(1_700_000_000_000 + i),
            "text": f"Bình luận số {i} về giao thông, giá điện và học phí ở thành phố, cảm ơn tác giả.",
            "name": f"Người đọc {i}", "lang": "vi", "post": f"bai-{i % 500}", "mv": "m1", "score": "0.42",
            "src": "moderator", "ref": f"{i:016x}", "a": author_digest(email)}


async def fill(store: Store, n: int, *, indexed: bool, site: str = SITE) -> None:
    for start in range(0, n, PIPELINE):
        if indexed:
            for low in range(start, min(n, start + PIPELINE), CONCURRENT):
                await asyncio.gather(*(store.add_label(site, label(i, f"r{i}@example.vn"))  # type: ignore[arg-type]
                                       for i in range(low, min(n, low + CONCURRENT))))
        else:
            pipe = store.redis.pipeline(transaction=False)
            for i in range(start, min(n, start + PIPELINE)):
                pipe.xadd(keys.labels(site), label(i, f"r{i}@example.vn"))  # type: ignore[arg-type]
            await pipe.execute()


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def run(args: argparse.Namespace, redis: Redis) -> dict[str, Any]:
    await auth.create_site(redis, SITE, "Erasure bench", int(time.time() * 1000))
    store = Store(redis, idempotency_ttl=60)
    retention = Retention(store)
    await fill(store, args.labels, indexed=True)
    digest = author_digest(EMAIL)
    scans: list[float] = []
    forgets: list[float] = []
    for _ in range(REPEATS):
        for i in range(AUTHOR_LABELS):
            await store.add_label(SITE, label(args.labels + i, EMAIL))  # type: ignore[arg-type]
        started = time.perf_counter()
        found = await retention._scan_labels(SITE, lambda f: f.get("a") == digest)
        scans.append(time.perf_counter() - started)
        assert len(found) == AUTHOR_LABELS
        started = time.perf_counter()
        reply = await retention.forget(SITE, EMAIL, by="bench")
        forgets.append(time.perf_counter() - started)
        assert reply["removed"]["labels"] == AUTHOR_LABELS, reply
    # Memory of a label with and without its index entry, on fresh sites.
    before = await used_memory(redis)
    await fill(store, MEMORY_SAMPLE, indexed=False, site="mem-plain")
    plain = (await used_memory(redis) - before) / MEMORY_SAMPLE
    before = await used_memory(redis)
    await fill(store, MEMORY_SAMPLE, indexed=True, site="mem-indexed")
    indexed = (await used_memory(redis) - before) / MEMORY_SAMPLE
    return {
        "labels": args.labels,
        "author_labels": AUTHOR_LABELS,
        "scan_seconds_median": round(statistics.median(scans), 4),
        "forget_seconds_median": round(statistics.median(forgets), 4),
        "scan_seconds": [round(s, 4) for s in scans],
        "forget_seconds": [round(s, 4) for s in forgets],
        "redis_bytes_per_label": round(plain, 1),
        "redis_bytes_per_label_with_index": round(indexed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run_on_scratch_redis("moderation-erasure-bench-", lambda redis: run(args, redis), "erasure.json")
    print(f"erasure: {result['labels']:,} labels of other authors, {AUTHOR_LABELS} of the erased one "
          f"(median of {REPEATS})")
    print(f"  reading the whole log (before): {result['scan_seconds_median'] * 1000:.1f} ms")
    print(f"  forget through the index (now, every step): {result['forget_seconds_median'] * 1000:.1f} ms")
    print(f"  Redis per label: {result['redis_bytes_per_label']:.0f} B, "
          f"with its index entry {result['redis_bytes_per_label_with_index']:.0f} B")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
