"""/metrics with several workers: every scrape shows the whole service, whichever worker answers.

The service runs as its own process (`python -m moderation serve --workers 2`) with its own
redis-server. Which worker serves what is not left to the kernel: the test waits until both
workers listen, holds one keep-alive connection to each (told apart by which process owns
the server's end of it, read from /proc), and sends requests to one worker while scraping
the other, then the other way round.
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
ROUNDS = 20  # each: requests to one worker, then a scrape from each
# New connections opened to find one served by each worker. The kernel picks a listening
# socket by a hash of the connection's addresses, so with both workers listening, 40 all
# going to one worker would take odds of 2**-39: a failure here means a worker is not taking
# connections on the shared port.
MAX_CONNECTIONS = 40
# Longer than any pause of this test, so neither side closes a worker's connection as idle.
KEEPALIVE_SECONDS = 600
# name{labels} value — the Prometheus text format's sample lines.
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")
HEALTHZ = 'moderation_http_requests_total{method="GET",route="/healthz",status="200"}'


@dataclass
class TwoWorkers:
    base: str
    port: int
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
            [sys.executable, "-m", "moderation", "sites", "add", "metrics-site"],
            env=env, cwd=ROOT, capture_output=True, check=True, timeout=120,
        )
        port = free_port()
        # Set here rather than left to `serve` (which makes a temporary one) to see each worker's files.
        multiproc = tmp_path / "prometheus"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "moderation", "serve", "--workers", "2", "--port", str(port)],
                env={**env, "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
                     "MODERATION_CLIENT_TIMEOUT_SECONDS": str(KEEPALIVE_SECONDS)},
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )
        yield TwoWorkers(
            f"http://127.0.0.1:{port}", port, json.loads(added.stdout)["api_key"], multiproc, process, log
        )
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


# ---- which worker is which, from /proc (Linux)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _socket_owners(pids: list[int]) -> dict[str, int]:
    """Socket inode -> the process holding it."""
    owners: dict[str, int] = {}
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:["):
                owners[link[8:-1]] = pid
    return owners


def _tcp(state: str) -> list[tuple[int, int, str]]:
    """(local port, remote port, inode) of this machine's IPv4 TCP sockets in one state."""
    out = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == state:
            out.append((int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16), fields[9]))
    return out


LISTEN, ESTABLISHED = "0A", "01"


def listening_workers(service: TwoWorkers) -> set[int]:
    owners = _socket_owners(_children(service.process.pid))
    return {owners[inode] for port, _, inode in _tcp(LISTEN) if port == service.port and inode in owners}


def worker_serving(service: TwoWorkers, client_port: int) -> int | None:
    """The worker that accepted the connection from *client_port*."""
    owners = _socket_owners(_children(service.process.pid))
    for port, remote, inode in _tcp(ESTABLISHED):
        if port == service.port and remote == client_port and inode in owners:
            return owners[inode]
    return None


@dataclass
class Worker:
    """One keep-alive HTTP/1.1 connection, accepted by the worker *pid*; requests go over it in turn."""

    pid: int
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def request(self, method: str, path: str, body: object = None, token: str = "") -> tuple[int, str]:
        return await http(self.reader, self.writer, method, path, body, token)

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def http(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, path: str,
    body: object = None, token: str = "",
) -> tuple[int, str]:
    """One request on a kept-alive connection (aiohttp's client hides which connection it used)."""
    data = b"" if body is None else json.dumps(body).encode()
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(data)}"]
    if body is not None:
        head.append("Content-Type: application/json")
    if token:
        head.append(f"Authorization: Bearer {token}")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    await writer.drain()
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    assert headers.get("connection", "").lower() != "close", headers
    # The service answers with a length (web.Response), never chunked.
    payload = await reader.readexactly(int(headers["content-length"]))
    return int(lines[0].split()[1]), payload.decode()


async def one_connection_per_worker(service: TwoWorkers, pids: set[int]) -> tuple[list[Worker], int]:
    """A connection to each worker, and how many /healthz requests it took to find them."""
    found: dict[int, Worker] = {}
    tried = 0
    try:
        while len(found) < len(pids):
            assert tried < MAX_CONNECTIONS, f"{tried} connections, all accepted by {sorted(found)} of {sorted(pids)}"
            tried += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
            assert (await http(reader, writer, "GET", "/healthz"))[0] == 200
            # Answered, so accepted: the worker holding the server's end serves every request on it.
            pid = worker_serving(service, writer.get_extra_info("sockname")[1])
            worker = Worker(pid or 0, reader, writer)
            if pid is None or pid in found:
                await worker.close()
            else:
                found[pid] = worker
    except BaseException:
        for worker in found.values():
            await worker.close()
        raise
    return sorted(found.values(), key=lambda w: w.pid), tried


async def test_two_workers_report_the_same_monotonic_counters(two_workers: TwoWorkers) -> None:
    service, process = two_workers, two_workers.process
    workers: list[Worker] = []
    probe = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    try:
        # Ready means both workers listen: /readyz answers as soon as the first one does, and
        # the second may still be loading its models (at load 18 it was not up when the
        # scrapes ended, so only one worker had written metrics files).
        end = time.monotonic() + DEADLINE
        pids: set[int] = set()
        while True:
            assert time.monotonic() < end, f"not ready; listening: {sorted(pids)}"
            assert process.poll() is None, two_workers.log.read_text()
            pids = listening_workers(service)
            if len(pids) == 2:
                try:
                    async with probe.get(service.base + "/readyz") as reply:
                        if reply.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
            await asyncio.sleep(0.1)  # polling another process to come up
        await probe.close()

        workers, healthz = await one_connection_per_worker(service, pids)
        previous: dict[str, float] = {}
        submitted = 0
        for i in range(ROUNDS):
            served, other = workers[i % 2], workers[(i + 1) % 2]
            for _ in range(3):
                assert (await served.request("GET", "/healthz"))[0] == 200
                healthz += 1
            if i % 5 == 0:
                body = comment(author_email=f"metrics{i}@example.vn", user_ip=f"113.160.9.{i}")
                status, text = await served.request("POST", "/v1/comments", body, service.api_key)
                assert status in (200, 202), text
                submitted += 1
            # The worker that did not serve them first: it counts them from the other's files.
            for scraper in (other, served):
                status, text = await scraper.request("GET", "/metrics")
                assert status == 200
                current = counters(text)
                assert current[HEALTHZ] == healthz, (i, scraper.pid, current[HEALTHZ], healthz)
                for series, value in previous.items():
                    assert current.get(series, 0.0) >= value, f"{series} went down: {value} -> {current.get(series)}"
                previous = current
        assert previous['moderation_decisions_total{status="approved"}'] >= 1
        assert previous["moderation_scored_documents_total"] >= submitted
        # Each worker keeps its counters in its own files.
        writers = {int(p.stem.rsplit("_", 1)[1]) for p in service.multiproc.glob("counter_*.db")}
        assert writers == pids, sorted(p.name for p in service.multiproc.iterdir())
    finally:
        await probe.close()
        for worker in workers:
            await worker.close()
