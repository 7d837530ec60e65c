"""Faults: the service as a real separate process, killed and restarted with its Redis.

Each test starts its own redis-server (AOF on, ``appendfsync always``) and its own
``python -m moderation serve`` so that killing one never disturbs another test.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis

from moderation.store import keys
from moderation.store.retention import comment_ref
from tests.conftest import RedisServer, comment, free_port, start_redis

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parent.parent
# Every wait in this module polls a condition until this deadline.
DEADLINE = 30.0
# During a Redis outage a request must be answered within this; a hang fails the test.
REQUEST_BOUND = 8.0
# Any request on a loaded 2-core CI machine (100 concurrent ones included).
CLIENT_TIMEOUT = 30.0
# "pending" by rule (more than two links), whatever the model says.
HELD = "Nguồn: https://a.example.vn/{0} https://b.example.vn/{0} https://c.example.vn/{0}"


WORDS = (
    "giao thông xe buýt đường sắt cầu vượt thành phố người dân tàu điện ngầm vỉa hè bãi đỗ học sinh "
    "trường học bệnh viện giá điện mùa mưa ngập lụt cây xanh công viên chợ đêm du lịch bảo tàng nhà hát "
    "thư viện bóng đá sân vận động nông nghiệp lúa gạo cà phê hồ tiêu thủy sản xuất khẩu ngân hàng"
).split()


def held_comment(key: str) -> dict[str, object]:
    """A distinct comment per key, held by rule (more than two links).

    Each text is its own random draw of words so the site's flood, duplicate and
    campaign rules see unrelated comments from unrelated authors.
    """
    rng = random.Random(key)
    text = " ".join(rng.choice(WORDS) for _ in range(14))
    body = comment(author_email=f"{key}@example.vn", content=f"{text.capitalize()}. {HELD.format(key)}")
    body.pop("user_ip")
    return body


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)  # polling another process's state, not ordering test steps
    raise AssertionError(f"timed out waiting for {what}")


async def await_for(condition: Callable[[], object], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)  # polling another process's state
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Service:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        """Pids of the worker processes (the resource tracker is not one)."""
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        out = []
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:
                continue
            if b"spawn_main" in cmdline:
                out.append(int(child))
        return out


def service_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_"))}
    env.update({"REDIS_URL": redis_url, "MODERATION_REDIS_TIMEOUT_SECONDS": "0.5", "MODERATION_LOG_LEVEL": "DEBUG"})
    env.update(extra)
    return env


def add_site(redis_url: str, site_id: str) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-m", "moderation", "sites", "add", site_id],
        env=service_env(redis_url), cwd=ROOT, capture_output=True, check=True, timeout=60,
    )
    doc: dict[str, str] = json.loads(out.stdout)
    return doc


def start_service(redis_url: str, directory: Path, workers: int = 2, **env: str) -> Service:
    port = free_port()
    log = directory / f"service-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moderation", "serve", "--port", str(port), "--workers", str(workers)],
            env=service_env(redis_url, **env), cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
        )
    service = Service(port, proc, log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"service exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            import urllib.request

            with urllib.request.urlopen(f"{service.base}/healthz", timeout=1) as resp:
                # One worker runs in the serving process itself; more are its children.
                return bool(resp.status == 200) and len(service.workers()) == (workers if workers > 1 else 0)
        except OSError:
            return False

    wait_for(ready, "the service to come up", deadline=60)
    # Every worker must be listening before the test starts killing things.
    return service


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="moderation-faults-") as tmp:
        yield Path(tmp)


@pytest.fixture
def durable_redis(workdir: Path) -> Iterator[RedisServer]:
    """A Redis that fsyncs every write before replying: the README's no-loss mode."""
    data = workdir / "redis"
    data.mkdir()
    server = start_redis(data, "--appendonly", "yes", "--appendfsync", "always")
    holder = [server]
    yield server
    for s in holder:
        s.process.kill()
        s.process.wait(timeout=10)


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        for pid in service.workers() if service.process.poll() is None else []:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stop(service.process)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # A new connection per request: SO_REUSEPORT spreads connections, not requests, over
    # the workers, and a dead worker's connections must not be reused.
    connector = aiohttp.TCPConnector(force_close=True, limit=200)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
    ) as session:
        yield session


async def post_comment(
    http: aiohttp.ClientSession, service: Service, api_key: str, body: dict[str, object], idem: str
) -> tuple[int, dict[str, object], dict[str, str]]:
    async with http.post(
        f"{service.base}/v1/comments", json=body,
        headers={"Authorization": f"Bearer {api_key}", "Idempotency-Key": idem},
    ) as resp:
        return resp.status, await resp.json(content_type=None), dict(resp.headers)


async def comment_ids(redis: Redis, site: str) -> set[str]:
    ids: set[str] = set()
    for status in keys.STATUSES:
        ids |= set(await redis.zrange(keys.status_index(site, status), 0, -1))
    return ids


# ---------------------------------------------------------------------------------------


async def test_redis_killed_under_load_loses_no_acknowledged_comment(
    durable_redis: RedisServer, workdir: Path, services: list[Service], http: aiohttp.ClientSession
) -> None:
    site = add_site(durable_redis.url, "durable")
    service = start_service(durable_redis.url, workdir)
    services.append(service)
    acked: dict[str, str] = {}  # idempotency key -> comment id answered with 202
    refused: set[str] = set()  # keys answered 503 (maybe applied, never acknowledged)
    outage_replies: list[tuple[int, float, str | None]] = []
    state = {"down": False, "stop": False}
    counter = iter(range(1_000_000))

    async def client(n: int) -> None:
        while not state["stop"]:
            key = f"load-{n}-{next(counter)}"
            started = time.monotonic()
            try:
                status, reply, headers = await post_comment(
                    http, service, site["api_key"], held_comment(key), key,
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise AssertionError(f"request failed instead of answering: {exc!r}") from exc
            elapsed = time.monotonic() - started
            assert status in {202, 503}, (status, reply)
            if status == 202:
                acked[key] = str(reply["id"])
            else:
                refused.add(key)
                assert "Retry-After" in headers
            if state["down"]:
                outage_replies.append((status, elapsed, headers.get("Retry-After")))
            if status == 503:
                await asyncio.sleep(0.05)  # a client honouring Retry-After, shortened

    clients = [asyncio.create_task(client(n)) for n in range(8)]
    try:
        await await_for(lambda: len(acked) >= 40 or any(c.done() for c in clients), "40 acknowledged comments")
        durable_redis.process.kill()  # SIGKILL: no shutdown, no final fsync
        durable_redis.process.wait(timeout=10)
        state["down"] = True
        await await_for(
            lambda: sum(1 for s, _, _ in outage_replies if s == 503) >= 20 or any(c.done() for c in clients),
            "503s during the outage",
        )
        # Same port, same directory, same AOF.
        restarted = start_redis(durable_redis.directory, "--appendonly", "yes", "--appendfsync", "always",
                                port=durable_redis.port)
        durable_redis.process = restarted.process
        before = len(acked)
        state["down"] = False
        await await_for(lambda: len(acked) >= before + 40 or any(c.done() for c in clients),
                        "the service to recover by itself")
    finally:
        state["stop"] = True
        await asyncio.gather(*clients)

    assert service.process.poll() is None, "the service must survive the outage without a restart"
    outage_503 = [(e, r) for s, e, r in outage_replies if s == 503]
    assert len(outage_503) >= 20
    assert all(r is not None and int(r) >= 1 for _, r in outage_503)
    assert max(e for e, _ in outage_503) < REQUEST_BOUND

    redis = Redis.from_url(durable_redis.url, decode_responses=True)
    try:
        stored = await comment_ids(redis, "durable")
        lost = {k: cid for k, cid in acked.items() if cid not in stored}
        assert not lost, f"{len(lost)} acknowledged comments are missing"
        for cid in acked.values():
            assert await redis.hget(keys.comment("durable", cid), "status") in keys.STATUSES
        # Clients retry what was refused with the same key: each becomes exactly one comment.
        for key in sorted(refused):
            status, reply, _ = await post_comment(http, service, site["api_key"], held_comment(key), key)
            assert status == 202, reply
            acked[key] = str(reply["id"])
        stored = await comment_ids(redis, "durable")
        assert stored == set(acked.values())
        assert len(stored) == len(acked)
    finally:
        await redis.aclose()


async def test_killed_worker_loses_no_submission_and_leases_return(
    redis_server: RedisServer, workdir: Path, services: list[Service], http: aiohttp.ClientSession
) -> None:
    site_id = f"wk{os.getpid()}"
    site = add_site(redis_server.url, site_id)
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await run_worker_kill(redis, redis_server, site_id, site, workdir, services, http)
    finally:
        found = [k async for k in redis.scan_iter(match=f"site:{{{site_id}}}:*")]
        if found:
            await redis.delete(*found)
        await redis.aclose()


async def run_worker_kill(
    redis: Redis, redis_server: RedisServer, site_id: str, site: dict[str, str], workdir: Path,
    services: list[Service], http: aiohttp.ClientSession,
) -> None:
    from moderation.store import auth

    service = start_service(redis_server.url, workdir, MODERATION_LEASE_SECONDS="1")
    services.append(service)
    mod_a = site["moderator_token"]
    mod_b = await auth.add_moderator(redis, [site_id], "mod-b")

    # Items to claim before the kill.
    pending: set[str] = set()
    for i in range(6):
        status, reply, _ = await post_comment(http, service, site["api_key"],
                                              held_comment(f"pre-{i}"), f"pre-{i}")
        assert status == 202
        if reply["status"] == "pending":  # held by rule, unless the model calls it spam outright
            pending.add(str(reply["id"]))
    assert pending
    async with http.post(f"{service.base}/v1/review/claim", json={"site": site_id, "count": 6},
                         headers={"Authorization": f"Bearer {mod_a}"}) as resp:
        held = [i["id"] for i in (await resp.json())["items"]]
    assert set(held) == pending

    # A burst of submissions; one worker is SIGKILLed while they are in flight. Clients
    # retry failed requests with the same Idempotency-Key, as the README tells them to: a
    # broken connection, and a 503 (this service's Redis timeout is 0.5 s, which a loaded
    # machine's Redis exceeds now and then during the burst: "storage is unavailable").
    answers: dict[str, str] = {}
    failures = 0
    started = asyncio.Event()

    async def submit(i: int) -> None:
        nonlocal failures
        key = f"burst-{i}"
        for _attempt in range(20):
            try:
                status, reply, _ = await post_comment(
                    http, service, site["api_key"], held_comment(key), key
                )
            except (aiohttp.ClientError, TimeoutError):
                failures += 1
                continue
            started.set()
            if status == 503:
                failures += 1
                continue
            assert status == 202, reply
            answers[key] = str(reply["id"])
            return
        raise AssertionError(f"{key} never got an answer")

    victim = service.workers()[0]
    burst = [asyncio.create_task(submit(i)) for i in range(300)]
    await asyncio.wait_for(started.wait(), DEADLINE)
    os.kill(victim, signal.SIGKILL)
    await asyncio.gather(*burst)
    assert len(answers) == 300
    # The serving process replaces the dead worker.
    wait_for(lambda: len(service.workers()) == 2 and victim not in service.workers(), "a replacement worker")
    burst_ids = {cid for k, cid in answers.items()}
    assert len(burst_ids) == 300, "a retried submission was stored twice"
    stored = await comment_ids(redis, site_id)
    assert burst_ids <= stored and len(stored) == 300 + 6

    # The claimed items are not lost with the worker: after the lease they go to mod-b.
    regained: set[str] = set()

    async def claim_again() -> bool:
        async with http.post(f"{service.base}/v1/review/claim", json={"site": site_id, "count": 6},
                             headers={"Authorization": f"Bearer {mod_b}"}) as resp:
            assert resp.status == 200
            regained.update(i["id"] for i in (await resp.json())["items"])
        return set(held) <= regained

    await await_for(claim_again, "expired leases to return to the pool")

    # Both moderators decide every item at once, each based on the revision it saw (0, the
    # automatic verdict): exactly one decision each, whichever worker process runs it.
    async def decide(token: str, cid: str, decision: str) -> int:
        async with http.post(f"{service.base}/v1/review/{cid}/decision",
                             json={"decision": decision, "expected_revision": 0},
                             headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status

    for cid in held:
        a, b = await asyncio.gather(decide(mod_a, cid, "approve"), decide(mod_b, cid, "reject"))
        assert sorted([a, b]) == [200, 409], (cid, a, b)
    labels = await redis.xrange(keys.labels(site_id))
    decided = [fields["ref"] for _, fields in labels]
    assert sorted(decided) == sorted(comment_ref(site_id, cid) for cid in held)
    assert service.process.poll() is None


async def test_100_concurrent_retries_of_one_submission_store_one_comment(
    redis_server: RedisServer, workdir: Path, services: list[Service], http: aiohttp.ClientSession
) -> None:
    site_id = f"idem{os.getpid()}"
    site = add_site(redis_server.url, site_id)
    service = start_service(redis_server.url, workdir)
    services.append(service)
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        body = held_comment("once")
        # 100 connections, spread over both worker processes, race on one key.
        results = await asyncio.gather(
            *[post_comment(http, service, site["api_key"], body, "once") for _ in range(100)]
        )
        assert {s for s, _, _ in results} == {202}
        assert len({str(r["id"]) for _, r, _ in results}) == 1
        replayed = [h.get("Idempotent-Replayed") for _, _, h in results]
        assert replayed.count(None) == 1 and replayed.count("true") == 99
        assert len(await comment_ids(redis, site_id)) == 1
        status, reply, _ = await post_comment(http, service, site["api_key"], comment(content="Khác"), "once")
        assert status == 422 and reply["code"] == "idempotency_key_reused"
        assert len(await comment_ids(redis, site_id)) == 1
    finally:
        found = [k async for k in redis.scan_iter(match=f"site:{{{site_id}}}:*")]
        if found:
            await redis.delete(*found)
        await redis.aclose()


async def test_sigterm_finishes_in_flight_requests_and_exits_0(
    durable_redis: RedisServer, workdir: Path, services: list[Service], http: aiohttp.ClientSession
) -> None:
    site = add_site(durable_redis.url, "term")
    # Redis calls may wait long here: the test holds writes back to keep a request in flight.
    # No background writers (retention sweep lock, webhook claims): a blocked client must be
    # the submission, not a sweep that happened to start during the pause.
    service = start_service(durable_redis.url, workdir, MODERATION_REDIS_TIMEOUT_SECONDS="30",
                            MODERATION_RETENTION_SWEEP_SECONDS="0", MODERATION_WEBHOOK_POLL_SECONDS="0")
    services.append(service)
    redis = Redis.from_url(durable_redis.url, decode_responses=True)
    try:
        await redis.client_pause(int(DEADLINE * 1000), all=False)  # writes wait, reads go on
        in_flight = asyncio.create_task(post_comment(http, service, site["api_key"], held_comment("term"), "term"))

        async def blocked() -> bool:
            return int((await redis.info("clients"))["blocked_clients"]) >= 1

        # The request is inside its handler once its submission is waiting on Redis.
        await await_for(blocked, "the submission to be in flight")
        service.process.send_signal(signal.SIGTERM)

        def refused() -> bool:
            try:
                socket.create_connection(("127.0.0.1", service.port), timeout=0.5).close()
            except OSError:
                return True
            return False

        wait_for(refused, "the service to stop accepting connections")
        assert service.process.poll() is None, "exited before the in-flight request finished"
        await redis.client_unpause()
        status, reply, _ = await asyncio.wait_for(in_flight, DEADLINE)
        assert status == 202, reply
        assert service.process.wait(timeout=DEADLINE) == 0
        assert await comment_ids(redis, "term") == {reply["id"]}
    finally:
        await redis.client_unpause()
        await redis.aclose()


async def test_keys_never_appear_in_logs(
    redis_server: RedisServer, workdir: Path, services: list[Service], http: aiohttp.ClientSession
) -> None:
    site_id = f"logs{os.getpid()}"
    site = add_site(redis_server.url, site_id)
    service = start_service(redis_server.url, workdir, workers=1)
    services.append(service)
    secrets_ = [site["api_key"], site["moderator_token"], site["api_key"].rsplit(".", 1)[1]]
    status, _, _ = await post_comment(http, service, site["api_key"], comment(), "log-1")
    assert status == 202
    async with http.post(f"{service.base}/v1/comments", json=comment(),
                         headers={"Authorization": f"Bearer {site['api_key']}x"}) as resp:
        assert resp.status == 401
    async with http.get(f"{service.base}/v1/review/queue?site={site_id}",
                        headers={"Authorization": f"Bearer {site['moderator_token']}"}) as resp:
        assert resp.status == 200
    stop(service.process)  # flush everything to the log
    text = service.log.read_text()
    assert "DEBUG" in text or "INFO" in text or "serving" in text
    for secret in secrets_:
        assert secret not in text
