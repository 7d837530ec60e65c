"""Issue 23: Redis errors as 503 problems, background loops that survive them and say so in
/readyz, and logs an operator can use (one access line per request, nothing personal).

This module starts its own redis-server: it fills Redis's memory limit on purpose
(``CONFIG SET maxmemory``), which must not touch the session's server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from moderation.core.logs import JsonFormatter
from moderation.core.settings import Settings
from moderation.moderation import webhooks
from moderation.store import auth, keys
from moderation.store.comments import Store
from tests.conftest import Api, AppFactory, RedisServer, Site, comment, start_redis

# Polls an observable condition (readyz, a receiver) until this deadline; never a fixed sleep.
DEADLINE = 30.0


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="moderation-oom-") as tmp:
        server = start_redis(Path(tmp))
        yield server
        server.process.terminate()
        server.process.wait(timeout=10)


@pytest.fixture
async def oom_redis(own_redis: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(own_redis.url, decode_responses=True)
    yield client
    await client.config_set("maxmemory", 0)
    await client.flushall()
    await client.aclose()


async def out_of_memory(redis: Redis) -> None:
    # noeviction (the default): every command that may grow memory is refused with "OOM".
    await redis.config_set("maxmemory-policy", "noeviction")
    await redis.config_set("maxmemory", 1)


async def new_site(redis: Redis, site_id: str) -> Site:
    api_key = await auth.create_site(redis, site_id, site_id, int(time.time() * 1000))
    await Store(redis, idempotency_ttl=60).ensure_group(site_id)
    token = await auth.add_moderator(redis, [site_id], "mod-a")
    return Site(site_id, api_key, token)


async def until(condition: Callable[[], Awaitable[object]], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if await condition():
            return
        await asyncio.sleep(0.05)  # polling an observable state (readyz), not ordering steps
    raise AssertionError(f"timed out waiting for {what}")


async def test_redis_out_of_memory_is_a_503_problem_logged_in_one_line(
    make_api: AppFactory, own_redis: RedisServer, oom_redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 23 (LOW): Redis out of memory answered a plain-text 500 with a traceback."""
    site = await new_site(oom_redis, "oom-http")
    api = await make_api(redis_url=own_redis.url, webhook_poll_seconds=0, retention_sweep_seconds=0)
    await out_of_memory(oom_redis)
    with caplog.at_level(logging.INFO):
        resp = await api.request("POST", "/v1/comments", site.api_key, json=comment())
        assert resp.status == 503, await resp.text()
        assert resp.content_type == "application/problem+json"
        assert int(resp.headers["Retry-After"]) >= 1
        assert (await resp.json())["code"] == "unavailable"
    errors = [r for r in caplog.records if r.name == "moderation.http"]
    assert len(errors) == 1 and errors[0].exc_info is None and "\n" not in errors[0].getMessage()
    assert "OutOfMemoryError: command not allowed when used memory" in errors[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info is not None]
    await oom_redis.config_set("maxmemory", 0)
    assert (await api.request("POST", "/v1/comments", site.api_key, json=comment())).status == 202


async def test_a_key_of_the_wrong_type_is_a_503_for_that_site_only(
    api: Api, site: Site, make_site: Any, redis: Redis
) -> None:
    """A site record overwritten by a string: that site's requests are 503 problems, the others'
    go on (it used to be a plain-text 500)."""
    other = await make_site()
    meta = await redis.hgetall(keys.site_meta(other.site_id))
    await redis.delete(keys.site_meta(other.site_id))
    await redis.set(keys.site_meta(other.site_id), "oops")
    try:
        broken = await api.request("POST", "/v1/comments", other.api_key, json=comment())
        assert broken.status == 503 and broken.content_type == "application/problem+json"
        assert (await api.request("POST", "/v1/comments", site.api_key, json=comment())).status == 202
    finally:
        await redis.delete(keys.site_meta(other.site_id))
        await redis.hset(keys.site_meta(other.site_id), mapping=meta)


async def test_background_loops_survive_redis_out_of_memory_and_readyz_shows_it(
    make_api: AppFactory, own_redis: RedisServer, oom_redis: Redis
) -> None:
    """Issue 23 (HIGH): 12 s of Redis out of memory stopped webhook delivery until a restart.
    Now the loops record each failing site, /readyz says "degraded" while they fail, and the
    event queued before is delivered once Redis has memory again."""
    got = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        got.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        site = await new_site(oom_redis, "oom-loops")
        await webhooks.configure(oom_redis, site.site_id, str(server.make_url("/hook")), allow_private=True)
        quiet = await make_api(redis_url=own_redis.url, webhook_poll_seconds=0, retention_sweep_seconds=0)
        assert (await quiet.request("POST", "/v1/comments", site.api_key, json=comment())).status == 202
        assert await oom_redis.zcard(keys.webhook_due(site.site_id)) == 1
        await out_of_memory(oom_redis)
        api = await make_api(redis_url=own_redis.url, webhook_poll_seconds=0.05, retention_sweep_seconds=0.05,
                             webhook_allow_private=True, loop_backoff_max_seconds=0.2)

        async def readyz() -> dict[str, Any]:
            resp = await api.request("GET", "/readyz")
            assert resp.status == 200
            return dict(await resp.json())

        async def degraded() -> bool:
            body = await readyz()
            loops = body["loops"]
            return bool(body["status"] == "degraded" and loops["webhooks"]["stale_sites"] >= 1
                        and loops["retention"]["stale_sites"] >= 1)

        await until(degraded, "readyz to report the failing loops")
        assert not got.is_set()
        body = await readyz()
        assert site.site_id not in json.dumps(body)  # readyz answers anyone: counts only
        metrics = await (await api.request("GET", "/metrics")).text()
        assert f'moderation_loop_site_failing{{loop="webhooks",site="{site.site_id}"}} 1.0' in metrics

        await oom_redis.config_set("maxmemory", 0)
        async with asyncio.timeout(DEADLINE):
            await got.wait()

        async def ready() -> bool:
            return (await readyz())["status"] == "ready"

        await until(ready, "readyz to report the loops running again")
        metrics = await (await api.request("GET", "/metrics")).text()
        assert f'moderation_loop_site_failing{{loop="webhooks",site="{site.site_id}"}} 0.0' in metrics
        assert 'moderation_loop_failures_total{loop="webhooks"}' in metrics
    finally:
        await server.close()


# ---------------------------------------------------------------- logs


async def test_one_access_line_per_request_with_the_route_and_nothing_personal(
    api: Api, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 23: an operator found no request log. One line per request: method, route
    pattern (no ids), status, time, site; never a key, token, email, name, IP or text."""
    body = comment(author_email="lan.access@example.vn", author_name="Phạm Lan", user_ip="198.51.100.23",
                   content="Một bình luận riêng tư về chuyện nhà.")
    with caplog.at_level(logging.INFO, logger="moderation.access"):
        reply = await (await api.request("POST", "/v1/comments", site.api_key, json=body)).json()
        await api.request("GET", f"/v1/comments/{reply['id']}", site.api_key)
        await api.request("GET", f"/v1/review/queue?site={site.site_id}", site.moderator_token)
        await api.request("POST", "/v1/comments", site.api_key + "x", json=body)
        await api.request("GET", "/no/such/path")
    lines = [r for r in caplog.records if r.name == "moderation.access"]
    assert [r.getMessage().split(" ")[:3] for r in lines] == [
        ["POST", "/v1/comments", "202"],
        ["GET", "/v1/comments/{comment_id}", "200"],
        ["GET", "/v1/review/queue", "200"],
        ["POST", "/v1/comments", "401"],
        ["GET", "unmatched", "404"],
    ]
    assert all(r.getMessage().endswith(f"site={site.site_id}") for r in lines[:4])
    assert lines[4].getMessage().endswith("site=-")
    secrets = [site.api_key, site.moderator_token, reply["id"], "lan.access", "Phạm Lan", "198.51.100.23",
               "riêng tư", "127.0.0.1"]
    for record in lines:
        text = record.getMessage() + json.dumps(record.fields, ensure_ascii=False)  # type: ignore[attr-defined]
        assert not [s for s in secrets if s in text], text


def test_json_log_lines_carry_the_fields() -> None:
    record = logging.LogRecord("moderation.access", logging.INFO, __file__, 1, "GET %s %d", ("/readyz", 200), None)
    record.fields = {"method": "GET", "route": "/readyz", "status": 200}
    doc = json.loads(JsonFormatter().format(record))
    assert doc["message"] == "GET /readyz 200" and doc["route"] == "/readyz" and doc["status"] == 200
    assert doc["level"] == "INFO" and doc["logger"] == "moderation.access"
    assert Settings.from_env({"MODERATION_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(SystemExit, match="MODERATION_LOG_FORMAT"):
        Settings.from_env({"MODERATION_LOG_FORMAT": "xml"})


async def test_every_delivery_attempt_is_one_log_line(
    make_api: AppFactory, site: Site, redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0

    async def flaky(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        return web.Response(status=503 if calls == 1 else 204)

    app = web.Application()
    app.router.add_post("/hook", flaky)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await webhooks.configure(redis, site.site_id, str(server.make_url("/hook")), allow_private=True)
        api = await make_api(webhook_poll_seconds=0)
        assert (await api.request("POST", "/v1/comments", site.api_key, json=comment())).status == 202
        now = [1_800_000_000.0]
        async with aiohttp.ClientSession() as session:
            d = webhooks.Deliverer(redis, session, max_attempts=3, backoff_seconds=1, backoff_max_seconds=1,
                                   timeout_seconds=5, clock=lambda: now[0], allow_private=True)
            with caplog.at_level(logging.INFO, logger="moderation.webhooks"):
                await d.run_once()
                now[0] += 2
                await d.run_once()
    finally:
        await server.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "moderation.webhooks"]
    assert len(lines) == 2
    assert f"site={site.site_id} " in lines[0] and "type=comment.approved attempt=1 status=503 failed" in lines[0]
    assert "attempt=2 status=204 delivered" in lines[1]
