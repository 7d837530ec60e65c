"""The in-process submission path, N times, for instruction counts under callgrind.

Runs ``Moderation.submit`` (key check, rules pre-check, scoring in batches, decision, verdict,
submission script; Redis in its own process, no HTTP) on bench corpus bodies: first
``--warmup`` unmeasured, then ``--count`` more. Instructions per submission are the difference
of two callgrind totals divided by ``--count``, which no load on a shared machine changes:

    valgrind --tool=callgrind --callgrind-out-file=/tmp/a.out .venv/bin/python -m bench.inprocess --count 0
    valgrind --tool=callgrind --callgrind-out-file=/tmp/b.out .venv/bin/python -m bench.inprocess --count 256
    # (Ir of b - Ir of a) / 256, from the "summary:" lines

Needs a redis-server on ``--port`` (started by the caller) with nothing else on it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from redis.asyncio import Redis

from bench import corpus
from service.core.schemas import parse_comment
from service.core.settings import DEFAULT_MODELS_DIR, Settings
from service.moderation.operations import Moderation
from service.scoring.batcher import Batcher
from service.scoring.scorer import Scorer
from service.store import auth
from service.store.auth import SiteCaller
from service.store.comments import Store

BATCH = 32


async def main(args: argparse.Namespace) -> None:
    redis = Redis(port=args.port, decode_responses=True)
    store = Store(redis, idempotency_ttl=60)
    batcher = Batcher(Scorer.load(DEFAULT_MODELS_DIR), max_size=BATCH, max_wait_ms=1.0)
    kwargs = {}
    try:
        from service.moderation.reputation import Reputation

        kwargs["reputation"] = Reputation.from_settings(store, Settings(reputation_secret="bench"))
    except ImportError:  # a tree without reputation, measured the same way
        pass
    moderation = Moderation(store, batcher, lease_seconds=300, **kwargs)  # type: ignore[arg-type]
    site = f"inproc-{time.time_ns()}"
    key = await auth.create_site(redis, site, site, int(time.time() * 1000))
    caller = await auth.resolve_site_key(redis, key)
    bodies = corpus.build(args.corpus, args.warmup + args.count, 1)
    comments = [
        parse_comment({**b, "author_email": f"r{i}@example.vn", "user_ip": f"14.1.{i % 250}.{i % 200 + 1}"})
        for i, (b, _) in enumerate(bodies)
    ]

    async def run(items: list[object]) -> None:
        for start in range(0, len(items), BATCH):
            await asyncio.gather(*(moderation.submit(caller, c, None) for c in items[start : start + BATCH]))  # type: ignore[arg-type]

    await run(comments[: args.warmup])  # type: ignore[arg-type]
    await run(comments[args.warmup :])  # type: ignore[arg-type]
    batcher.close()
    await redis.aclose()
    assert isinstance(caller, SiteCaller)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--warmup", type=int, default=256)
    parser.add_argument("--count", type=int, default=256)
    # The committed comments (bench/data/README.md); any CSV with the same columns will do.
    parser.add_argument("--corpus", type=Path, default=corpus.CORPUS)
    asyncio.run(main(parser.parse_args()))
