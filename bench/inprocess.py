"""The in-process submission path, for instruction counts under callgrind.

Runs ``Moderation.submit`` (key check, rules pre-check, scoring in batches, decision, verdict,
submission script; Redis in its own process, no HTTP) on bench corpus bodies, in phases. Each
phase gets a new site, ``--warmup`` unmeasured submissions on it, then ``--count`` measured
ones: the same bodies in every phase (own author emails), so phases differ only in what they
switch. ``--phases with,without,...``: ``without`` switches reputation and the
whole-submission signals off (bench/switch.py); interleaving them in one process gives both the
same warm caches.

Each measured phase runs inside one call of the ``exec`` builtin (CPython's ``builtin_exec``),
so callgrind can count exactly the phases, with one dump after each ``exec``:
``bench/instructions.py`` starts a Redis and runs this under

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=builtin_exec \\
        --dump-after=builtin_exec .venv/bin/python -c 'from bench.inprocess import cli; cli()' ...

(imports also run module code through ``exec``, so there are many small dumps besides the
phases' large ones; launched with ``-c``, not ``-m``, whose runpy would run the whole script
inside an ``exec``). Without valgrind it prints each phase's CPU seconds per submission (process
time: less load-dependent than wall time, but not load-independent). Needs a redis-server on
``--port`` with nothing else on it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench import corpus, switch
from moderation.core.schemas import CommentIn, parse_comment
from moderation.core.settings import DEFAULT_MODELS_DIR, Settings
from moderation.moderation.operations import Moderation
from moderation.moderation.reputation import Reputation
from moderation.scoring.batcher import Batcher
from moderation.scoring.scorer import Scorer
from moderation.store import auth
from moderation.store.auth import SiteCaller
from moderation.store.comments import Store

BATCH = 32
PHASES = ("with", "without")


def measured(fn: Callable[[], None]) -> None:
    """Run *fn* inside one call of the exec builtin (what callgrind toggles and dumps on)."""
    exec("fn()", {"fn": fn})


def comments_for(bodies: list[dict[str, Any]], tag: str) -> list[CommentIn]:
    return [
        parse_comment({**b, "author_email": f"{tag}-{i}@example.vn", "user_ip": f"14.1.{i % 250}.{i % 200 + 1}"})
        for i, b in enumerate(bodies)
    ]


def main(args: argparse.Namespace) -> None:
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := set(phases) - set(PHASES):
        raise SystemExit(f"unknown phase {sorted(unknown)}; phases are {', '.join(PHASES)}")
    loop = asyncio.new_event_loop()
    redis = Redis(port=args.port, decode_responses=True)
    store = Store(redis, idempotency_ttl=60)
    batcher = Batcher(Scorer.load(DEFAULT_MODELS_DIR), max_size=BATCH, max_wait_ms=1.0)
    reputation = Reputation.from_settings(store, Settings(reputation_secret="bench"))

    async def build() -> Moderation:
        return Moderation(store, batcher, lease_seconds=300, reputation=reputation)

    moderation = loop.run_until_complete(build())
    built = corpus.build(args.corpus, args.warmup + args.count, args.seed)
    warm_bodies = [b for b, _ in built[: args.warmup]]
    bodies = [b for b, _ in built[args.warmup :]]

    async def new_site(n: int) -> SiteCaller:
        site = f"inproc-{time.time_ns()}-{n}"
        key = await auth.create_site(redis, site, site, int(time.time() * 1000))
        caller = await auth.resolve_site_key(redis, key)
        assert isinstance(caller, SiteCaller)
        return caller

    async def run(caller: SiteCaller, items: list[CommentIn]) -> None:
        for start in range(0, len(items), BATCH):
            await asyncio.gather(*(moderation.submit(caller, c, None) for c in items[start : start + BATCH]))

    for n, phase in enumerate(phases):
        caller = loop.run_until_complete(new_site(n))
        warm = comments_for(warm_bodies, f"w{n}")
        items = comments_for(bodies, f"m{n}")
        if phase == "without":
            switch.switch_off()
        try:
            loop.run_until_complete(run(caller, warm))
            started = time.process_time()
            measured(functools.partial(loop.run_until_complete, run(caller, items)))
            cpu = time.process_time() - started
        finally:
            switch.switch_on()
        per = cpu / max(1, args.count) * 1e6
        print(f"phase {n} {phase}: {args.count} submissions, {per:.0f} µs CPU each", flush=True)
    batcher.close()
    loop.run_until_complete(redis.aclose())
    loop.close()


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--warmup", type=int, default=64)
    parser.add_argument("--count", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default="with", help="comma-separated: with, without")
    # The committed comments (bench/data/README.md); any CSV with the same columns will do.
    parser.add_argument("--corpus", type=Path, default=corpus.CORPUS)
    main(parser.parse_args(argv))


if __name__ == "__main__":
    cli()
