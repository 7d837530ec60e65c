"""Chaos (issue 23): a 2-worker service on a real Redis, one site broken in each way the
security review found, while two other sites submit and decide.

Broken sites: an outbox event whose body is ``[]`` (C), a webhook URL typo stored directly in
Redis (D), a site record overwritten by a string (E), settings that are not JSON (F); then
Redis out of memory for every site for a while. The healthy sites' webhooks keep arriving
within their usual delay and their retention keeps sweeping; the broken items are parked
with their reason; /metrics and /readyz show the broken loops while they are broken; once
the data is fixed every site resumes with no restart. Every wait is on something observable
(a receiver's receipt, a Redis key, /metrics, /readyz); nothing sleeps to synchronise.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from moderation.moderation import webhooks
from moderation.store import keys
from tests.conftest import RedisServer, comment, start_redis
from tests.test_faults import Service, add_site, held_comment, start_service, stop

pytestmark = pytest.mark.faults

# Waits poll an observable condition until this deadline.
DEADLINE = 60.0
# A healthy site's webhook arrives within this of the decision. The poll is 0.2 s; the bound
# leaves room for a loaded 2-core machine, and is far below "never" (what a stopped loop gives).
NORMAL_DELAY = 15.0
SERVICE_ENV = {
    "MODERATION_WEBHOOK_POLL_SECONDS": "0.2",
    "MODERATION_WEBHOOK_ALLOW_PRIVATE": "1",  # the receivers listen on 127.0.0.1
    "MODERATION_WEBHOOK_BACKOFF_SECONDS": "0.2",
    "MODERATION_WEBHOOK_BACKOFF_MAX_SECONDS": "0.5",
    "MODERATION_WEBHOOK_MAX_ATTEMPTS": "3",
    "MODERATION_RETENTION_SWEEP_SECONDS": "0.5",
    "MODERATION_LOOP_BACKOFF_MAX_SECONDS": "1",
    "MODERATION_LOG_FORMAT": "json",
    "MODERATION_LOG_LEVEL": "INFO",
}
SITES = ("a", "b", "c", "d", "e", "f")  # a, b healthy; c..f broken one way each


@dataclass
class Receipts:
    """Every site's receiver: which comments' events arrived, and when."""

    arrived: dict[str, dict[str, float]] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        event = json.loads(await request.read())
        async with self.changed:
            self.arrived.setdefault(request.match_info["site"], {})[event["comment"]["id"]] = time.monotonic()
            self.changed.notify_all()
        return web.Response(status=204)

    async def wait(self, site: str, comment_id: str) -> float:
        """When the event of ``comment_id`` arrived (monotonic)."""
        async with self.changed:
            await asyncio.wait_for(
                self.changed.wait_for(lambda: comment_id in self.arrived.get(site, {})), DEADLINE
            )
            return self.arrived[site][comment_id]


@pytest.fixture
def chaos_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path)
    yield server
    server.process.kill()
    server.process.wait(timeout=10)


@pytest.fixture
async def receipts() -> AsyncIterator[tuple[Receipts, str]]:
    r = Receipts()
    app = web.Application()
    app.router.add_post("/hook/{site}", r.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield r, str(server.make_url("/hook"))
    await server.close()


async def until(condition: Callable[[], Awaitable[object]], what: str) -> Any:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        result = await condition()
        if result:
            return result
        await asyncio.sleep(0.1)  # polling another process's observable state
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Chaos:
    service: Service
    redis: Redis
    http: aiohttp.ClientSession
    sites: dict[str, dict[str, str]]
    hook_base: str

    def sid(self, name: str) -> str:
        return self.sites[name]["site_id"]

    async def submit(self, name: str, body: dict[str, object]) -> tuple[int, dict[str, Any]]:
        async with self.http.post(f"{self.service.base}/v1/comments", json=body,
                                  headers={"Authorization": f"Bearer {self.sites[name]['api_key']}"}) as resp:
            return resp.status, await resp.json(content_type=None)

    async def final(self, name: str, n: int, *, held: bool = False) -> tuple[str, float]:
        """A comment with a final decision (auto, or a moderator's for a held one): (id, when decided)."""
        body = held_comment(f"{name}{n}") if held else comment(
            author_email=f"{name}{n}@example.vn", user_ip=f"198.51.100.{n}",
            content=f"Cảm ơn tác giả, bài viết số {n} về giao thông công cộng rất hữu ích cho người dân.",
        )
        status, reply = await self.submit(name, body)
        assert status == 202, reply
        if reply["status"] == "pending":
            async with self.http.post(
                f"{self.service.base}/v1/review/{reply['id']}/decision", json={"decision": "approve"},
                headers={"Authorization": f"Bearer {self.sites[name]['moderator_token']}"},
            ) as resp:
                assert resp.status == 200, await resp.text()
        return str(reply["id"]), time.monotonic()

    async def metrics(self) -> str:
        async with self.http.get(f"{self.service.base}/metrics") as resp:
            return await resp.text()

    async def failing(self, loop: str, name: str) -> bool:
        line = f'moderation_loop_site_failing{{loop="{loop}",site="{self.sid(name)}"}} 1.0'
        return line in await self.metrics()

    async def readyz(self) -> dict[str, Any]:
        async with self.http.get(f"{self.service.base}/readyz") as resp:
            assert resp.status == 200
            return dict(await resp.json())

    async def old(self, name: str, comment_id: str) -> None:
        """Make a decided comment look decided long ago: the next sweep of its site removes it."""
        assert await self.redis.zadd(keys.decided(self.sid(name)), {comment_id: 0}, xx=True, ch=True) == 1

    async def with_sweep_lock(self, name: str, change: Awaitable[None]) -> None:
        """Run *change* while holding the site's sweep lock (taken once the running sweep is done)."""
        lock = keys.sweep_lock(self.sid(name))
        await until(lambda: self.redis.set(lock, "test", nx=True, px=60_000), f"{name}'s sweep lock")
        try:
            await change
        finally:
            await self.redis.delete(lock)

    async def break_settings_and_age(self, name: str, comment_id: str) -> None:
        await self.redis.hset(keys.settings(self.sid(name)), "doc", "{not json")
        await self.old(name, comment_id)

    async def gone(self, name: str, comment_id: str) -> bool:
        return not await self.redis.exists(keys.comment(self.sid(name), comment_id))


@pytest.mark.timeout(600)
async def test_one_site_broken_every_way_while_two_others_keep_working(
    chaos_redis: RedisServer, tmp_path: Path, receipts: tuple[Receipts, str],
) -> None:
    got, hook_base = receipts
    redis = Redis.from_url(chaos_redis.url, decode_responses=True)
    sites = {name: add_site(chaos_redis.url, f"chaos-{name}") for name in SITES}
    for name, site in sites.items():
        await webhooks.configure(redis, site["site_id"], f"{hook_base}/{name}", allow_private=True)
    service = start_service(chaos_redis.url, tmp_path, workers=2, **SERVICE_ENV)
    connector = aiohttp.TCPConnector(force_close=True)  # new connections: both workers answer
    http = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))
    chaos = Chaos(service, redis, http, sites, hook_base)
    try:
        await run_chaos(chaos, got)
    finally:
        await http.close()
        await redis.aclose()
        stop(service.process)
    check_logs(service.log.read_text(), sites)


async def run_chaos(chaos: Chaos, got: Receipts) -> None:
    redis, sid = chaos.redis, chaos.sid
    # Everyone works to begin with.
    first: dict[str, str] = {}
    for name in SITES:
        first[name], _ = await chaos.final(name, 0)
        await got.wait(name, first[name])

    # ---- break one site in each way
    # c: a corrupt event in its outbox (its other events must still go).
    await redis.hset(keys.webhook_event(sid("c"), "evt_corrupt"), mapping={"body": "[]", "attempts": 0})
    await redis.zadd(keys.webhook_due(sid("c")), {"evt_corrupt": 0})
    # d: an operator's typo, stored directly (the CLI now refuses it).
    await redis.hset(keys.site_meta(sid("d")), "webhook_url", "https://news..example.vn/hook")
    # e: its site record overwritten by a string, with an event waiting in its outbox.
    meta_e = await redis.hgetall(keys.site_meta(sid("e")))
    await redis.delete(keys.site_meta(sid("e")))
    await redis.set(keys.site_meta(sid("e")), "oops")
    waiting_e = await queue_event(redis, sid("e"), "e-waiting")
    # f: settings that are not JSON, with a comment due for retention. Done while holding
    # f's sweep lock: no sweep that read f's settings before they broke can remove it (a
    # sweep that had read them just before, then found the comment old, once did).
    await chaos.with_sweep_lock("f", chaos.break_settings_and_age("f", first["f"]))

    # ---- the healthy sites submit and decide meanwhile: webhooks in their usual delay,
    # retention sweeping (their first comments made old after the breakage).
    await chaos.old("a", first["a"])
    await chaos.old("b", first["b"])
    d_events = []
    for n in range(1, 4):
        for name in ("a", "b"):
            cid, decided = await chaos.final(name, n, held=name == "b")
            assert await got.wait(name, cid) - decided < NORMAL_DELAY
        cid_c, decided = await chaos.final("c", n)
        assert await got.wait("c", cid_c) - decided < NORMAL_DELAY  # c's good events still go
        d_events.append((await chaos.final("d", n))[0])
    await until(lambda: chaos.gone("a", first["a"]), "a's retention")
    await until(lambda: chaos.gone("b", first["b"]), "b's retention")

    # ---- the broken ones, while broken: parked with a reason, shown in /metrics and /readyz
    async def corrupt_parked() -> bool:
        return await redis.zscore(keys.webhook_dead(sid("c")), "evt_corrupt") is not None

    await until(corrupt_parked, "c's corrupt event to be parked")
    reason = await redis.hget(keys.webhook_event(sid("c"), "evt_corrupt"), "last_error")
    assert "JSON list, not an object" in reason

    async def d_dead() -> bool:
        return await redis.zcard(keys.webhook_dead(sid("d"))) == len(d_events)

    await until(d_dead, "d's events to become dead letters")
    for e in await webhooks.Outbox(redis).dead_letters(sid("d")):
        assert "not a valid domain name" in e.last_error
    for loop, name in (("webhooks", "d"), ("webhooks", "e"), ("retention", "f")):
        await until(lambda loop=loop, name=name: chaos.failing(loop, name), f"the metric of {loop} for {name}")
    metrics = await chaos.metrics()
    for loop, name in (("webhooks", "a"), ("webhooks", "b"), ("retention", "a"), ("retention", "b")):
        assert f'moderation_loop_site_failing{{loop="{loop}",site="{sid(name)}"}} 1.0' not in metrics
    assert re.search(r'moderation_loop_parked_items_total\{loop="webhooks"\} [1-9]', metrics)
    status, refused = await chaos.submit("e", comment())
    assert status == 503 and refused["code"] == "unavailable"
    assert not await chaos.gone("f", first["f"])

    async def degraded() -> bool:
        body = await chaos.readyz()
        loops = body["loops"]
        return bool(body["status"] == "degraded" and loops["webhooks"]["stale_sites"] >= 2
                    and loops["retention"]["stale_sites"] >= 1)

    await until(degraded, "readyz to show the broken loops")

    # ---- Redis out of memory, for everyone, for a while: the loops fail, then recover alone.
    # An event of a falls due while Redis refuses writes (leasing it is a write).
    due_in_oom = await queue_event(redis, sid("a"), "a-during-oom", due_in_ms=3_000)
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", 1)
    try:
        await until(lambda: chaos.failing("webhooks", "a"), "a's delivery loop to fail while Redis is out of memory")
        await until(lambda: chaos.failing("retention", "b"), "b's retention to fail while Redis is out of memory")
        status, _ = await chaos.submit("a", comment(author_email="oom@example.vn"))
        assert status == 503
    finally:
        await redis.config_set("maxmemory", 0)
    await got.wait("a", due_in_oom)
    cid, decided = await chaos.final("a", 10)
    assert await got.wait("a", cid) - decided < NORMAL_DELAY

    # ---- fix the data: every site resumes, with no restart
    await redis.hset(keys.site_meta(sid("d")), "webhook_url", f"{chaos.hook_base}/d")
    assert await webhooks.Outbox(redis).redeliver(sid("d")) == len(d_events)
    for cid in d_events:
        await got.wait("d", cid)
    await redis.delete(keys.site_meta(sid("e")))
    await redis.hset(keys.site_meta(sid("e")), mapping=meta_e)
    await got.wait("e", waiting_e)
    cid, _ = await chaos.final("e", 1)
    await got.wait("e", cid)
    await redis.hset(keys.settings(sid("f")), "doc", "{}")
    await until(lambda: chaos.gone("f", first["f"]), "f's retention once its settings are fixed")
    await redis.hset(keys.webhook_event(sid("c"), "evt_corrupt"), "body",
                     json.dumps({"id": "evt_corrupt", "type": "comment.approved", "created_at": "",
                                 "site": sid("c"), "comment": {"id": "c-fixed"}, "decision": {}}))
    assert await webhooks.Outbox(redis).redeliver(sid("c"), ["evt_corrupt"]) == 1
    await got.wait("c", "c-fixed")

    async def all_clear() -> bool:
        if (await chaos.readyz())["status"] != "ready":
            return False
        metrics = await chaos.metrics()
        return not re.search(r"moderation_loop_site_failing\{[^}]*\} 1\.0", metrics)

    await until(all_clear, "every loop to be healthy again")
    assert chaos.service.process.poll() is None, "nothing needed a restart"


async def queue_event(redis: Redis, site: str, comment_id: str, due_in_ms: int = 0) -> str:
    """An event as the decide script writes it (for a site whose record is broken, so nothing
    else can queue one), due now or ``due_in_ms`` from now."""
    event_id = webhooks.new_event_id()
    body = json.dumps({"id": event_id, "type": "comment.approved", "created_at": "", "site": site,
                       "comment": {"id": comment_id}, "decision": {}})
    await redis.hset(keys.webhook_event(site, event_id), mapping={"body": body, "attempts": 0})
    await redis.zadd(keys.webhook_due(site), {event_id: int(time.time() * 1000) + due_in_ms if due_in_ms else 0})
    return comment_id


def check_logs(text: str, sites: dict[str, dict[str, str]]) -> None:
    """JSON lines; one access line per request and one line per delivery attempt; no traceback
    flood (a traceback at most once per worker, route and error); no key in any line."""
    records = []
    for line in text.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    access = [r for r in records if r["logger"] == "moderation.access"]
    attempts = [r for r in records if r["logger"] == "moderation.webhooks" and "attempt=" in r["message"]]
    assert access and all({"method", "route", "status", "ms", "site"} <= set(r) for r in access)
    assert attempts and all("site=" in r["message"] and "status=" in r["message"] for r in attempts)
    assert len([r for r in records if "exception" in r]) <= 2 * 2, "a traceback flood"
    for site in sites.values():
        for secret in (site["api_key"], site["moderator_token"]):
            assert secret not in text
