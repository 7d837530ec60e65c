"""``make bench`` (retention phase): Redis memory under a steady submission stream with a
short retention reaches a plateau instead of growing for ever.

A simulated clock drives the service's own code (moderation.Moderation with the real models,
the retention sweep of every worker) on its own redis-server: ``--per-day`` comments a
simulated day from the benchmark corpus (distinct authors, 500 posts), a retention of
``--retention-days``, a sweep every simulated ``--sweep-minutes``. Redis's ``used_memory``
is sampled every simulated hour. The first day (nothing old enough to remove) gives the
bytes each stored comment costs; afterwards the curve must stay flat.

The flood and campaign rules are off for the bench site: their keys expire in real time
(seconds to minutes) while this clock runs thousands of times faster, so they would pile up
as an artifact of the simulation; in production they are bounded by their windows.

    .venv/bin/python -m bench.retention                  # 10,000/day, 1-day retention, 3 days
    BENCH_RETENTION_PER_DAY=5000 .venv/bin/python -m bench.retention
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec
from redis.asyncio import Redis

from bench import corpus
from bench.run import run_on_scratch_redis
from moderation.core.schemas import CommentIn
from moderation.core.settings import DEFAULT_MODELS_DIR
from moderation.moderation.operations import Moderation
from moderation.moderation.retention import Retention
from moderation.moderation.sitesettings import DAY_MS, DEFAULTS, encode
from moderation.scoring.batcher import Batcher
from moderation.scoring.scorer import Scorer
from moderation.store import auth, keys, labels
from moderation.store.auth import SiteCaller
from moderation.store.comments import Store

SITE = "retention-bench"
HOUR_MS = 3_600_000
# Submissions in flight at once: the batcher scores them together, as under real load.
CONCURRENCY = 64
LABEL_SAMPLE = 2_000


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_RETENTION_{name}", default)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--per-day", type=int, default=int(_env("PER_DAY", "10000")))
    p.add_argument("--retention-days", type=float, default=float(_env("DAYS", "1")))
    p.add_argument("--sim-days", type=float, default=float(_env("SIM_DAYS", "3")))
    p.add_argument("--sweep-minutes", type=float, default=float(_env("SWEEP_MINUTES", "5")))
    # The committed comments (bench/data/README.md); any CSV with the same columns will do.
    p.add_argument("--corpus", type=Path, default=Path(os.environ.get("BENCH_CORPUS") or corpus.CORPUS))
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args(argv)


def comment_in(body: dict[str, object], email: str, ip: str) -> CommentIn:
    fields = {**body, "author_email": email, "user_ip": ip}
    return msgspec.convert(fields, CommentIn)


async def used_memory(redis: Redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def run(args: argparse.Namespace, redis: Redis) -> dict[str, Any]:
    samples = [body for body, _ in corpus.build(args.corpus, 5_000, args.seed)]
    await auth.create_site(redis, SITE, "Retention bench", int(time.time() * 1000))
    store = Store(redis, idempotency_ttl=60)
    await store.ensure_group(SITE)
    settings = encode(replace(DEFAULTS, retention_days=args.retention_days, flood_seconds=0,
                              flood_ip_per_minute=0, campaign_check=False))
    ok, _ = await store.save_settings(SITE, 0, settings)
    assert ok
    scorer = Scorer.load(Path(os.environ.get("MODERATION_MODELS_DIR", DEFAULT_MODELS_DIR)))
    batcher = Batcher(scorer, max_size=64, max_wait_ms=2.0)
    sim = {"now": 1_700_000_000_000}
    moderation = Moderation(store, batcher, lease_seconds=300, clock=lambda: sim["now"])
    retention = Retention(store, clock=lambda: sim["now"])
    caller = SiteCaller(SITE, key_digest="")
    step_ms = DAY_MS / args.per_day
    total = int(args.per_day * args.sim_days)
    start_ms = sim["now"]
    sweep_every = int(args.sweep_minutes * 60_000)
    next_sweep = start_ms + sweep_every
    next_sample = start_ms
    base_memory = await used_memory(redis)
    curve: list[dict[str, Any]] = []
    content_bytes: list[int] = []
    removed = 0
    started = time.perf_counter()
    i = 0
    while i < total:
        batch = []
        for _ in range(min(CONCURRENCY, total - i)):
            body = samples[i % len(samples)]
            content_bytes.append(len(str(body["content"]).encode("utf-8")))
            batch.append(comment_in(body, f"r{i}@example.vn", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"))
            i += 1
        sim["now"] = start_ms + int(i * step_ms)
        await asyncio.gather(*(moderation.submit(caller, c, None) for c in batch))
        if sim["now"] >= next_sweep:
            removed += (await retention.sweep_site(SITE, sim["now"])).removed
            next_sweep += sweep_every
        if sim["now"] >= next_sample:
            stored = int(await redis.zcard(keys.decided(SITE)))
            pending = int(await redis.zcard(keys.status_index(SITE, "pending")))
            grown = (await used_memory(redis) - base_memory) / 2**20
            curve.append({"sim_hour": round((sim["now"] - start_ms) / HOUR_MS, 1), "submitted": i,
                          "stored": stored + pending, "pending": pending, "used_memory_mb": round(grown, 2)})
            next_sample += HOUR_MS
    seconds = time.perf_counter() - started
    batcher.close()
    # Bytes per stored comment: least-squares slope of memory over stored comments while
    # nothing is old enough to go (the first hours are left out: Redis's own start-up
    # allocations, script cache and client buffers, settle there).
    day_rows = [c for c in curve if 4 <= c["sim_hour"] <= 24 * args.retention_days]
    last_day = day_rows[-1]
    xs = [float(c["stored"]) for c in day_rows]
    ys = [c["used_memory_mb"] * 2**20 for c in day_rows]
    per_comment = statistics.linear_regression(xs, ys).slope
    later = [c["used_memory_mb"] for c in curve if c["sim_hour"] > 24 * args.retention_days + 1]
    # Labels: what one moderator decision keeps after its comment is gone.
    before = await used_memory(redis)
    pipe = redis.pipeline(transaction=False)
    for k in range(LABEL_SAMPLE):
        c = comment_in(samples[k % len(samples)], f"l{k}@example.vn", "10.0.0.1")
        fields = labels.label_fields(SITE, f"{k:021x}", c, "m1", 0.5, label="spam", reason="", by="mod",
                                       at=sim["now"], source="moderator")
        pipe.xadd(keys.labels(SITE), dict(zip(fields[::2], fields[1::2], strict=True)))
    await pipe.execute()
    per_label = (await used_memory(redis) - before) / LABEL_SAMPLE
    return {
        "per_day": args.per_day,
        "retention_days": args.retention_days,
        "sim_days": args.sim_days,
        "sweep_minutes": args.sweep_minutes,
        "wall_seconds": round(seconds, 1),
        "submitted": total,
        "removed_by_sweeps": removed,
        "mean_content_utf8_bytes": round(statistics.fmean(content_bytes), 1),
        "redis_bytes_per_stored_comment": round(per_comment, 1),
        "redis_bytes_per_label": round(per_label, 1),
        "plateau_mb": {"min": min(later), "max": max(later)} if later else None,
        "first_day_end_mb": last_day["used_memory_mb"],
        "curve": curve,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = run_on_scratch_redis("moderation-retention-bench-", lambda redis: run(args, redis), "retention.json")
    print(f"retention: {result['submitted']:,} comments over {args.sim_days} simulated days "
          f"({args.per_day:,}/day, retention {args.retention_days} d) in {result['wall_seconds']} s")
    print(f"  {result['redis_bytes_per_stored_comment']:.0f} B of Redis per stored comment "
          f"(mean text {result['mean_content_utf8_bytes']:.0f} B), {result['redis_bytes_per_label']:.0f} B per label")
    for c in result["curve"][:: max(1, len(result["curve"]) // 16)]:
        print(f"  hour {c['sim_hour']:6.1f}  stored {c['stored']:7,} (pending {c['pending']:5,})  "
              f"used_memory +{c['used_memory_mb']:7.2f} MB")
    print(f"  after the first {args.retention_days} d: {result['plateau_mb']} MB (plateau), "
          f"end of the first day {result['first_day_end_mb']} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
