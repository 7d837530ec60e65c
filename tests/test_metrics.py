"""/metrics with several workers: every scrape shows the whole service, whichever worker answers.

The service runs as its own process (`python -m service serve --workers 2`) with its own
redis-server. Each request goes on a new connection, so the kernel's SO_REUSEPORT hashing
spreads them, and the scrapes, over both workers.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import comment, free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60.0
SCRAPES = 30
# name{labels} value — the Prometheus text format's sample lines.
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")
HEALTHZ = 'moderation_http_requests_total{method="GET",route="/healthz",status="200"}'


@dataclass
class TwoWorkers:
    base: str
    api_key: str
    multiproc: Path
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[TwoWorkers]:
    redis = start_redis(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    env["REDIS_URL"] = redis.url
    log = tmp_path / "serve.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        added = subprocess.run(
            [sys.executable, "-m", "service", "sites", "add", "metrics-site"],
            env=env, cwd=ROOT, capture_output=True, check=True, timeout=120,
        )
        port = free_port()
        # Set here rather than left to `serve` (which makes a temporary one) to see each worker's files.
        multiproc = tmp_path / "prometheus"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "service", "serve", "--workers", "2", "--port", str(port)],
                env={**env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}, cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT,
            )
        yield TwoWorkers(f"http://127.0.0.1:{port}", json.loads(added.stdout)["api_key"], multiproc, process, log)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        redis.process.terminate()
        redis.process.wait(timeout=10)


def counters(text: str) -> dict[str, float]:
    """Every sample of a counter or histogram (the series that must never go down)."""
    kinds: dict[str, str] = {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            kinds[name] = kind
            continue
        match = SAMPLE.match(line)
        if not match:
            continue
        series = match.group(1)
        name = series.split("{", 1)[0]
        base = re.sub(r"(_total|_bucket|_sum|_count|_created)$", "", name)
        if kinds.get(name) == "counter" or kinds.get(base) in ("counter", "histogram"):
            if not name.endswith("_created"):
                out[series] = float(match.group(2))
    return out


async def test_two_workers_report_the_same_monotonic_counters(two_workers: TwoWorkers) -> None:
    base, process = two_workers.base, two_workers.process
    # A new connection per request, so SO_REUSEPORT picks a worker each time.
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    try:
        end = time.monotonic() + DEADLINE
        while True:
            assert time.monotonic() < end, "the service did not become ready"
            assert process.poll() is None, two_workers.log.read_text()
            try:
                async with session.get(base + "/readyz") as reply:
                    if reply.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)  # polling another process to come up

        healthz = 0
        previous: dict[str, float] = {}
        for i in range(SCRAPES):
            for _ in range(3):
                async with session.get(base + "/healthz") as reply:
                    assert reply.status == 200
                healthz += 1
            if i % 5 == 0:
                body = comment(author_email=f"metrics{i}@example.vn", user_ip=f"113.160.9.{i}")
                async with session.post(
                    base + "/v1/comments", json=body, headers={"Authorization": f"Bearer {two_workers.api_key}"}
                ) as reply:
                    assert reply.status in (200, 202), await reply.text()
            async with session.get(base + "/metrics") as reply:
                assert reply.status == 200
                text = await reply.text()
            current = counters(text)
            # Whichever worker answered, it counts every worker's requests.
            assert current[HEALTHZ] == healthz, (i, current[HEALTHZ], healthz)
            for series, value in previous.items():
                assert current.get(series, 0.0) >= value, f"{series} went down: {value} -> {current.get(series)}"
            previous = current
        assert previous['moderation_decisions_total{status="approved"}'] >= 1
        assert previous["moderation_scored_documents_total"] >= SCRAPES // 5
        # Both workers served requests: each keeps its counters in its own file.
        pids = {p.stem.rsplit("_", 1)[1] for p in two_workers.multiproc.glob("counter_*.db")}
        assert len(pids) == 2, sorted(p.name for p in two_workers.multiproc.iterdir())
    finally:
        await session.close()
