"""``make bench`` (second step): what waiting for a replica costs a submission.

``MODERATION_REDIS_REPLICA_ACKS=1`` makes every submission wait (``WAIT 1``) until a replica
has it, so a 202 survives the master's loss (README "Guarantees"). This starts a Redis master
and one replica on loopback, serves the app in this process twice — without and with the
wait — and sends the same submissions through HTTP at a fixed concurrency: throughput and
latency percentiles for each. Prints two lines and the difference.

    .venv/bin/python -m bench.replica_wait
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from moderation.core.settings import Settings
from moderation.scoring.scorer import Scorer
from moderation.store import auth
from moderation.store.comments import Store
from moderation.web.app import create_app

SUBMISSIONS = int(os.environ.get("BENCH_REPLICA_SUBMISSIONS", "2000"))
CONCURRENCY = int(os.environ.get("BENCH_REPLICA_CONCURRENCY", "16"))
ROUNDS = int(os.environ.get("BENCH_REPLICA_ROUNDS", "2"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(directory: Path, port: int, *extra: str) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (make bench installs Debian's package)")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", "",
         "--appendonly", "no", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            time.sleep(0.02)  # polling a child process to come up
    proc.kill()
    raise SystemExit("redis-server did not start")


async def wait_for_replica(url: str) -> None:
    redis = Redis.from_url(url, decode_responses=True)
    try:
        for _ in range(500):
            info = await redis.info("replication")
            if info.get("connected_slaves") == 1 and info.get("slave0", {}).get("state") == "online":
                return
            await asyncio.sleep(0.02)  # polling the replica's sync
        raise SystemExit("the replica did not attach")
    finally:
        await redis.aclose()


async def run(settings: Settings, scorer: Scorer, api_key: str, label: str) -> tuple[float, list[float]]:
    app = create_app(settings, scorer=scorer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    latencies: list[float] = []
    queue = iter(range(SUBMISSIONS))
    try:
        async with aiohttp.ClientSession() as session:

            async def client() -> None:
                for n in queue:
                    body = {
                        "post_id": "bai-viet-1",
                        "author_name": "Bạn đọc",
                        "content": f"Bài viết hay, cảm ơn tác giả ({label} {n}).",
                        "author_email": f"r{n}-{label}@example.vn",
                    }
                    started = time.perf_counter()
                    async with session.post(
                        f"http://127.0.0.1:{port}/v1/comments", json=body,
                        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": f"{label}-{n}"},
                    ) as resp:
                        await resp.read()
                        if resp.status != 202:
                            raise SystemExit(f"{label}: HTTP {resp.status}")
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
            elapsed = time.perf_counter() - started
    finally:
        await runner.cleanup()
    return SUBMISSIONS / elapsed, sorted(latencies)


def pct(values: list[float], q: float) -> float:
    return 1000 * values[min(len(values) - 1, int(q * len(values)))]


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-replica-") as tmp:
        master_port, replica_port = free_port(), free_port()
        (Path(tmp) / "m").mkdir()
        (Path(tmp) / "r").mkdir()
        master = start_redis(Path(tmp) / "m", master_port)
        replica = start_redis(Path(tmp) / "r", replica_port, "--replicaof", "127.0.0.1", str(master_port))
        try:
            url = f"redis://127.0.0.1:{master_port}/0"
            await wait_for_replica(url)
            redis = Redis.from_url(url, decode_responses=True)
            api_key = await auth.create_site(redis, "bench", "bench", int(time.time() * 1000))
            await Store(redis, idempotency_ttl=600).ensure_group("bench")
            await redis.aclose()
            base = Settings(redis_url=url, webhook_poll_seconds=0)
            # Floods and duplicates are per author; every submission has its own author.
            scorer = Scorer.load(base.models_dir)
            print(f"replica wait: {SUBMISSIONS} submissions, {CONCURRENCY} concurrent clients, "
                  "master + 1 replica on loopback")
            results: dict[str, list[float]] = {"no-wait": [], "wait-1": []}
            # Alternated, so a change in the machine's load during the run hits both alike.
            for round_ in range(ROUNDS):
                for label, acks in (("no-wait", 0), ("wait-1", 1)):
                    settings = replace(base, redis_replica_acks=acks)
                    rate, lat = await run(settings, scorer, api_key, f"{label}-{round_}")
                    results[label].append(rate)
                    print(f"  round {round_ + 1} {label:8s} (MODERATION_REDIS_REPLICA_ACKS={acks}): {rate:7.0f} "
                          f"submissions/s, p50 {pct(lat, 0.5):.1f} ms, p99 {pct(lat, 0.99):.1f} ms")
            ratio = sum(results["wait-1"]) / sum(results["no-wait"])
            print(f"  throughput with the wait: {100 * ratio:.0f} % of without (all rounds)")
        finally:
            for proc in (replica, master):
                proc.terminate()
                proc.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main())
