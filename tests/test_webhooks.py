"""Webhooks to the news site: outbox written with the decision, signed delivery, backoff,
dead letters and redelivery — against a real local receiver over HTTP and a real Redis."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from moderation.moderation import webhooks
from moderation.store import keys
from tests.conftest import Api, AppFactory, RedisServer, Site, comment

MakeSite = Callable[..., Awaitable[Site]]

SPAM_TEXT = "Kiếm tiền online 5 triệu/ngày, liên hệ zalo 0912345678 ngay, inbox nhận quà miễn phí http://kiemtien.vn"
HELD_TEXT = "Nguồn: https://a.example.vn/1 https://b.example.vn/2 https://c.example.vn/3"


@dataclass
class Receiver:
    """A news site's webhook endpoint that fails on purpose ``fail_first`` times."""

    server: TestServer
    fail_first: int = 0
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    delivered: list[bytes] = field(default_factory=list)
    got: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hooks/moderation"))


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    state: dict[str, Receiver] = {}

    async def handle(request: web.Request) -> web.Response:
        rec = state["r"]
        body = await request.read()
        rec.calls.append((dict(request.headers), body))
        if len(rec.calls) <= rec.fail_first:
            return web.Response(status=503, text="database is down")
        rec.delivered.append(body)
        rec.got.set()
        return web.Response(status=204)

    app.router.add_post("/hooks/moderation", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state["r"] = Receiver(server)
    yield state["r"]
    await server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def deliverer(redis: Redis, session: aiohttp.ClientSession, clock: Clock, **kw: float) -> webhooks.Deliverer:
    params: dict[str, float] = {
        "max_attempts": 5, "backoff_seconds": 10, "backoff_max_seconds": 3600, "timeout_seconds": 5,
    }
    params.update(kw)
    return webhooks.Deliverer(
        redis,
        session,
        max_attempts=int(params["max_attempts"]),
        backoff_seconds=params["backoff_seconds"],
        backoff_max_seconds=params["backoff_max_seconds"],
        timeout_seconds=params["timeout_seconds"],
        clock=clock,
        allow_private=True,  # the receiver is on 127.0.0.1 (MODERATION_WEBHOOK_ALLOW_PRIVATE)
    )


async def submit(api: Api, site: Site, **overrides: object) -> dict:
    resp = await api.request("POST", "/v1/comments", site.api_key, json=comment(**overrides))
    assert resp.status == 202, await resp.text()
    return await resp.json()


async def test_auto_approval_is_delivered_after_failures_with_backoff(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver
) -> None:
    secret = await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    api = await make_api(webhook_poll_seconds=0)  # the test drives delivery itself
    reply = await submit(api, site)
    assert reply["status"] == "approved"
    assert await redis.zcard(keys.webhook_due(site.site_id)) == 1

    receiver.fail_first = 2
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        d = await deliverer(redis, session, clock)
        first = await d.run_once()
        assert (first.failed, len(receiver.calls)) == (1, 1)
        # Not due again until the backoff (10 s) has passed.
        clock.now += 9
        assert (await d.run_once()).failed == 0 and len(receiver.calls) == 1
        clock.now += 1
        assert (await d.run_once()).failed == 1 and len(receiver.calls) == 2
        # Second backoff is twice as long: 20 s.
        clock.now += 19
        await d.run_once()
        assert len(receiver.calls) == 2
        clock.now += 1
        assert (await d.run_once()).delivered == 1
    assert len(receiver.calls) == 3

    headers, body = receiver.calls[-1]
    event = json.loads(body)
    assert event["type"] == "comment.approved"
    assert event["comment"]["id"] == reply["id"] and event["site"] == site.site_id
    assert event["decision"]["by"] == "auto"
    assert headers["X-Moderation-Event"] == "comment.approved"
    assert headers["X-Moderation-Attempt"] == "3"
    # The same event id on every attempt, so the receiver can deduplicate.
    assert {h["X-Moderation-Delivery"] for h, _ in receiver.calls} == {event["id"]}
    assert all(b == body for _, b in receiver.calls)
    assert webhooks.verify(secret, headers[webhooks.SIGNATURE_HEADER], body, now=clock.now)
    assert not webhooks.verify("whsec_other", headers[webhooks.SIGNATURE_HEADER], body, now=clock.now)
    assert not webhooks.verify(secret, headers[webhooks.SIGNATURE_HEADER], body + b" ", now=clock.now)
    # Old signatures are refused (replays).
    assert not webhooks.verify(secret, headers[webhooks.SIGNATURE_HEADER], body, now=clock.now + 3600)
    # Delivered events leave nothing behind.
    assert await redis.zcard(keys.webhook_due(site.site_id)) == 0
    assert not await redis.exists(keys.webhook_event(site.site_id, event["id"]))


async def test_dead_letter_after_max_attempts_then_cli_redelivery(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver, redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    from moderation.cli import main as cli

    await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    api = await make_api(webhook_poll_seconds=0)
    await submit(api, site)
    receiver.fail_first = 3
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        d = await deliverer(redis, session, clock, max_attempts=3, backoff_seconds=1)
        reports = []
        for _ in range(3):
            reports.append(await d.run_once())
            clock.now += 60
        assert [(r.failed, r.dead) for r in reports] == [(1, 0), (1, 0), (0, 1)]
        assert await redis.zcard(keys.webhook_due(site.site_id)) == 0
        assert await redis.zcard(keys.webhook_dead(site.site_id)) == 1
        # Nothing more is attempted for a dead letter.
        await d.run_once()
        assert len(receiver.calls) == 3

        monkeypatch.setenv("REDIS_URL", redis_server.url)
        assert await asyncio.to_thread(cli.main, ["webhooks", "dead", "--site", site.site_id]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert listed[0]["attempts"] == 3 and "HTTP 503" in listed[0]["last_error"]
        assert await asyncio.to_thread(cli.main, ["webhooks", "redeliver", "--site", site.site_id]) == 0
        assert json.loads(capsys.readouterr().out)["requeued"] == 1
        assert await redis.zcard(keys.webhook_dead(site.site_id)) == 0

        assert (await d.run_once()).delivered == 1
    assert json.loads(receiver.delivered[0])["type"] == "comment.approved"
    assert await redis.zcard(keys.webhook_due(site.site_id)) == 0


async def test_moderator_decisions_and_auto_spam_queue_events_pending_does_not(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver
) -> None:
    await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    api = await make_api(webhook_poll_seconds=0)
    spam = await submit(api, site, content=SPAM_TEXT, author_email="kiemtien@example.vn")
    assert spam["status"] == "spam"
    held = await submit(api, site, content=HELD_TEXT, author_email="nguon@example.vn")
    assert held["status"] == "pending"
    assert await redis.zcard(keys.webhook_due(site.site_id)) == 1  # the spam one only
    resp = await api.request("POST", f"/v1/review/{held['id']}/decision", site.moderator_token,
                             json={"decision": "reject", "reason": "off_topic", "note": "lạc đề"})
    assert resp.status == 200
    # Deciding again the same way is idempotent: no second event.
    await api.request("POST", f"/v1/review/{held['id']}/decision", site.moderator_token,
                      json={"decision": "reject", "reason": "off_topic"})
    async with aiohttp.ClientSession() as session:
        report = await (await deliverer(redis, session, Clock())).run_once()
    assert report.delivered == 2
    events = {json.loads(b)["type"]: json.loads(b) for b in receiver.delivered}
    assert set(events) == {"comment.spam", "comment.rejected"}
    decision = events["comment.rejected"]["decision"]
    assert (decision["by"], decision["reason"], decision["note"]) == ("mod-a", "off_topic", "lạc đề")
    assert events["comment.spam"]["comment"]["id"] == spam["id"]


async def test_no_events_for_a_site_without_webhook(api: Api, site: Site, redis: Redis) -> None:
    await submit(api, site)
    await submit(api, site, content=SPAM_TEXT, author_email="kiemtien@example.vn")
    assert await redis.zcard(keys.webhook_due(site.site_id)) == 0
    assert [k async for k in redis.scan_iter(match=f"site:{{{site.site_id}}}:wh:*")] == []


async def test_background_task_delivers(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver
) -> None:
    await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    api = await make_api(webhook_poll_seconds=0.05, webhook_allow_private=True)
    reply = await submit(api, site)
    async with asyncio.timeout(10):
        await receiver.got.wait()
    assert json.loads(receiver.delivered[0])["comment"]["id"] == reply["id"]


async def test_cli_configures_and_disables_webhook(
    site: Site, redis: Redis, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from moderation.cli import main as cli

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    url = "https://baotinh.example.vn/wp-json/moderation/v1/events"
    assert await asyncio.to_thread(cli.main, ["sites", "webhook", site.site_id, "--url", url]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["webhook_secret"].startswith("whsec_")
    assert await redis.hget(keys.site_meta(site.site_id), "webhook_url") == url
    assert await redis.sismember(keys.WEBHOOK_SITES, site.site_id)
    assert await asyncio.to_thread(cli.main, ["sites", "webhook", site.site_id, "--url", "ftp://x"]) == 1
    assert await asyncio.to_thread(cli.main, ["sites", "webhook", site.site_id, "--disable"]) == 0
    assert not await redis.hexists(keys.site_meta(site.site_id), "webhook_url")
    assert not await redis.sismember(keys.WEBHOOK_SITES, site.site_id)


def test_target_repr_hides_the_secret() -> None:
    assert "s3cret" not in repr(webhooks.Target("https://x.example", "s3cret"))


async def test_event_of_a_worker_that_died_mid_delivery_is_sent_again_after_the_lease(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver
) -> None:
    await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    api = await make_api(webhook_poll_seconds=0)
    await submit(api, site)
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        d = await deliverer(redis, session, clock, timeout_seconds=5)
        # Another worker leased the event and died before recording anything.
        [leased] = await d.outbox.claim_due(site.site_id, int(clock.now * 1000), 10, 15_000)
        assert (await d.run_once()).delivered == 0  # still leased: nobody sends it twice
        clock.now += 16
        assert (await d.run_once()).delivered == 1
    assert [json.loads(b)["id"] for b in receiver.delivered] == [leased.event_id]


async def test_the_test_endpoint_sends_one_signed_event_and_reports(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver
) -> None:
    api = await make_api(webhook_allow_private=True)
    secret = await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    resp = await api.request("POST", "/v1/webhooks/test", site.api_key, json={"nonce": "n-42"})
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert (report["delivered"], report["status"], report["error"], report["url"]) == (True, 204, None, receiver.url)
    [(headers, body)] = receiver.calls
    event = json.loads(body)
    assert (event["type"], event["nonce"], event["site"], event["id"]) == (
        "webhook.test", "n-42", site.site_id, report["event_id"])
    assert headers["X-Moderation-Event"] == "webhook.test"
    assert webhooks.verify(secret, headers["X-Moderation-Signature"], body, time.time())
    # Outside the outbox: nothing queued, nothing retried.
    assert await redis.zcard(keys.webhook_due(site.site_id)) == 0
    # A receiver that refuses (a wrong secret on its side, say) is reported, not retried.
    receiver.fail_first = 10
    report = await (await api.request("POST", "/v1/webhooks/test", site.api_key, json={})).json()
    assert (report["delivered"], report["status"]) == (False, 503)
    assert report["error"].startswith("HTTP 503")
    assert len(receiver.calls) == 2


async def test_the_test_endpoint_refuses_what_delivery_refuses(
    api: Api, site: Site, redis: Redis, receiver: Receiver
) -> None:
    for bad in ({"nonce": "a b"}, {"nonce": 7}, {"nonce": "x" * 65}, {"other": 1}):
        resp = await api.request("POST", "/v1/webhooks/test", site.api_key, json=bad)
        assert resp.status == 422, bad
    # No webhook: 409, nothing sent.
    resp = await api.request("POST", "/v1/webhooks/test", site.api_key, json={})
    assert resp.status == 409 and (await resp.json())["delivered"] is False
    # A loopback receiver, with private targets not allowed (this app's setting): refused at send time.
    await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    report = await (await api.request("POST", "/v1/webhooks/test", site.api_key, json={})).json()
    assert report["delivered"] is False and report["error"].startswith("refused")
    assert receiver.calls == []


# ---------------------------------------------------------------- supervision (issue 23)


async def _held_events(redis: Redis, site: Site) -> list[str]:
    return [str(i) for i in await redis.zrange(keys.webhook_due(site.site_id), 0, -1)]


async def test_a_broken_site_never_stops_another_sites_deliveries_and_resumes_once_fixed(
    make_api: AppFactory, make_site: MakeSite, redis: Redis, receiver: Receiver
) -> None:
    """Issue 23 (HIGH): a site whose record was overwritten by a string made its loop raise;
    Deliverer.run re-raised it, cancelled every other site's loop, and the supervisor let the
    task die: no webhooks for any site until a restart. Now the broken site is recorded as
    failing, retried with backoff, and resumes by itself once its record is fixed."""
    broken, healthy = await make_site(), await make_site()
    other = await _second_receiver()
    try:
        await webhooks.configure(redis, broken.site_id, other.url, allow_private=True)
        await webhooks.configure(redis, healthy.site_id, receiver.url, allow_private=True)
        api = await make_api(webhook_poll_seconds=0)
        await submit(api, broken)
        meta = await redis.hgetall(keys.site_meta(broken.site_id))
        await redis.delete(keys.site_meta(broken.site_id))
        await redis.set(keys.site_meta(broken.site_id), "oops")  # an operator's mistake
        async with aiohttp.ClientSession() as session:
            d = await deliverer(redis, session, Clock())
            d.clock = time.time
            d.health.backoff_max = 0.2  # a quick retry once fixed (the test waits on the receiver)
            stop = asyncio.Event()
            task = asyncio.create_task(d.run(0.05, stop))
            try:
                await submit(api, healthy)
                async with asyncio.timeout(20):  # bound for a broken build only
                    await receiver.got.wait()
                assert broken.site_id in d.health.sites and "WRONGTYPE" in d.health.sites[broken.site_id].error
                assert not task.done()
                await redis.delete(keys.site_meta(broken.site_id))
                await redis.hset(keys.site_meta(broken.site_id), mapping=meta)
                async with asyncio.timeout(20):
                    await other.got.wait()
            finally:
                stop.set()
                await task
        assert broken.site_id not in d.health.sites
        assert json.loads(other.delivered[0])["site"] == broken.site_id
    finally:
        await other.server.close()


async def _second_receiver() -> Receiver:
    app = web.Application()
    holder: dict[str, Receiver] = {}

    async def handle(request: web.Request) -> web.Response:
        rec = holder["r"]
        body = await request.read()
        rec.calls.append((dict(request.headers), body))
        rec.delivered.append(body)
        rec.got.set()
        return web.Response(status=204)

    app.router.add_post("/hooks/moderation", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    holder["r"] = Receiver(server)
    return holder["r"]


async def test_a_corrupt_event_is_parked_with_its_reason_and_the_rest_are_delivered(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver, caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 23 (HIGH): an event whose body was [] raised AttributeError in the delivery loop.
    Now it is a dead letter with the reason, logged once with the site and the event."""
    await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    api = await make_api(webhook_poll_seconds=0)
    await submit(api, site)
    await submit(api, site, author_email="khac@example.vn", content="Một ý kiến khác về bài viết này, cảm ơn.")
    corrupt, unreadable = (await _held_events(redis, site))[0], "evt_unreadable"
    await redis.hset(keys.webhook_event(site.site_id, corrupt), "body", "[]")
    # An event whose record is not even a hash.
    await redis.set(keys.webhook_event(site.site_id, unreadable), "garbage")
    await redis.zadd(keys.webhook_due(site.site_id), {unreadable: 0})
    async with aiohttp.ClientSession() as session:
        with caplog.at_level(logging.INFO, logger="moderation.webhooks"):
            report = await (await deliverer(redis, session, Clock())).run_once()
    assert (report.delivered, report.parked, report.site_errors) == (1, 2, {})
    assert len(receiver.delivered) == 1
    dead = {e.event_id: e.last_error for e in await webhooks.Outbox(redis).dead_letters(site.site_id)}
    assert "JSON list, not an object" in dead[corrupt]
    assert "cannot be read" in dead[unreadable] and "WRONGTYPE" in dead[unreadable]
    parked = [r.getMessage() for r in caplog.records if "parked" in r.getMessage()]
    assert len(parked) == 2 and all(site.site_id in line for line in parked)
    assert any(corrupt in line for line in parked)
    assert await _held_events(redis, site) == []


async def test_a_typo_in_a_stored_url_fails_that_site_only_until_it_is_fixed(
    make_api: AppFactory, make_site: MakeSite, redis: Redis, receiver: Receiver
) -> None:
    """Issue 23 (HIGH): https://news..example.vn/ (saved before it was validated) raised
    UnicodeError at the first delivery. Now each attempt fails with the reason, the site is
    reported failing, and the others are delivered; fixing the URL brings it back."""
    typo, healthy = await make_site(), await make_site()
    await webhooks.configure(redis, typo.site_id, receiver.url, allow_private=True)
    await webhooks.configure(redis, healthy.site_id, receiver.url, allow_private=True)
    # Stored directly, bypassing validation, as an older version (or redis-cli) would have.
    await redis.hset(keys.site_meta(typo.site_id), "webhook_url", "https://news..example.vn/hook")
    api = await make_api(webhook_poll_seconds=0)
    await submit(api, typo)
    await submit(api, healthy)
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        d = await deliverer(redis, session, clock, max_attempts=2, backoff_seconds=1)
        first = await d.run_once()
        assert first.delivered == 1 and json.loads(receiver.delivered[0])["site"] == healthy.site_id
        assert "not a valid domain name (label empty or too long)" in first.site_errors[typo.site_id]
        assert typo.site_id in d.health.sites
        clock.now += 5
        second = await d.run_once()
        assert second.dead == 1  # parked with the reason after max_attempts
        [dead] = await d.outbox.dead_letters(typo.site_id)
        assert "label empty or too long" in dead.last_error
        await redis.hset(keys.site_meta(typo.site_id), "webhook_url", receiver.url)
        assert await d.outbox.redeliver(typo.site_id) == 1
        assert (await d.run_once()).delivered == 1
    assert typo.site_id not in d.health.sites


async def test_an_event_erased_while_it_was_being_sent_leaves_no_record_behind(
    make_api: AppFactory, site: Site, redis: Redis, receiver: Receiver
) -> None:
    """Erasure removes the author's events; a delivery already in flight that then fails must
    not write the event back (a record with no body, never sent nor listed)."""
    await webhooks.configure(redis, site.site_id, receiver.url, allow_private=True)
    api = await make_api(webhook_poll_seconds=0, retention_sweep_seconds=0)
    await submit(api, site, author_email="erased@example.vn")
    clock = Clock()
    async with aiohttp.ClientSession() as session:
        d = await deliverer(redis, session, clock)
        [leased] = await d.outbox.claim_due(site.site_id, int(clock.now * 1000), 10, 15_000)
        resp = await api.request("POST", "/v1/authors/forget", site.api_key, json={"author_email": "erased@example.vn"})
        assert (await resp.json())["removed"]["events"] == 1
        await d.outbox.failed(site.site_id, leased, "HTTP 500: down", int(clock.now * 1000), None)
        await d.outbox.park(site.site_id, leased.event_id, "whatever", int(clock.now * 1000))
    assert [k async for k in redis.scan_iter(match=f"site:{{{site.site_id}}}:wh:*")] == []
