"""Per-site moderation rules through the HTTP API, against real Redis.

The model is replaced by a stub whose scores each test sets, so every rule's threshold
can be crossed on purpose; everything else (HTTP, validation, Lua scripts, Redis) is real.
Time windows are crossed by moving the service's injected clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from moderation.core.settings import Settings
from moderation.moderation import sitesettings
from moderation.scoring.scorer import Feature, Score, ScoreInput, Toxicity
from moderation.store import keys
from moderation.web import appkeys
from moderation.web.app import create_app
from tests.conftest import Api, Site, comment

T0 = 1_800_000_000_000  # a fixed "now" in ms; tests move it forward


@dataclass
class StubScorer:
    """Scores chosen per test: the first rule whose marker is in the content wins."""

    version: str = "stub-1"
    rules: list[tuple[str, float, float, float]] = field(default_factory=list)

    def set(self, marker: str, *, spam: float = 0.05, offensive: float = 0.0, hate: float = 0.0) -> None:
        self.rules.insert(0, (marker, spam, offensive, hate))

    def score(self, batch: Sequence[ScoreInput]) -> list[Score]:
        out = []
        for item in batch:
            spam, offensive, hate = 0.05, 0.02, 0.01
            for marker, s, o, h in self.rules:
                if marker in item.content:
                    spam, offensive, hate = s, o, h
                    break
            probs = {"CLEAN": max(0.0, 1 - offensive - hate), "OFFENSIVE": offensive, "HATE": hate}
            label = max(probs, key=probs.__getitem__)
            # As the scorer explains toward the class it decided: words for a toxic label.
            toxic = (Feature("'ngu'", 0.46), Feature("'bò'", 0.31), Feature("comment length", -0.2))
            out.append(Score(spam, (Feature("stub", 0.1),), Toxicity(label, probs), toxic if label != "CLEAN" else ()))
        return out


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


@dataclass
class Env:
    api: Api
    stub: StubScorer
    clock: Clock
    site: Site
    redis: Redis
    n: int = 0

    def body(self, **overrides: object) -> dict[str, object]:
        """A clean comment from a fresh author and IP unless the test says otherwise."""
        self.n += 1
        base: dict[str, object] = {
            "author_email": f"doc.gia{self.n}@example.vn",
            "user_ip": f"113.160.{self.n // 250}.{self.n % 250 + 1}",
            "post_id": f"bai-{self.n}",
            "content": f"Ý kiến số {self.n}: tôi đồng ý với tác giả.",
        }
        base.update(overrides)
        return comment(**base)

    async def submit(self, body: dict[str, object], **headers: str) -> tuple[int, dict, aiohttp.ClientResponse]:
        resp = await self.api.request("POST", "/v1/comments", self.site.api_key, json=body, headers=headers)
        return resp.status, await resp.json(content_type=None), resp

    async def post(self, **overrides: object) -> dict:
        status, reply, _ = await self.submit(self.body(**overrides))
        assert status == 202, reply
        return reply

    async def settings(self) -> dict:
        resp = await self.api.request("GET", f"/v1/sites/{self.site.site_id}/settings", self.site.moderator_token)
        assert resp.status == 200, await resp.text()
        return dict(await resp.json())

    async def put(self, **changes: object) -> tuple[int, dict]:
        version = (await self.settings())["version"]
        resp = await self.api.request(
            "PUT",
            f"/v1/sites/{self.site.site_id}/settings",
            self.site.moderator_token,
            json={"version": version, **changes},
        )
        return resp.status, await resp.json(content_type=None)

    async def configure(self, **changes: object) -> None:
        status, reply = await self.put(**changes)
        assert status == 200, reply

    async def decide(self, comment_id: str, decision: str, **extra: object) -> tuple[int, dict]:
        resp = await self.api.request(
            "POST",
            f"/v1/review/{comment_id}/decision",
            self.site.moderator_token,
            json={"decision": decision, **extra},
        )
        return resp.status, await resp.json(content_type=None)


def codes(reply: dict) -> list[str]:
    return [r["code"] for r in reply["reasons"]]


@pytest.fixture
async def env(settings: Settings, site: Site, redis: Redis) -> AsyncIterator[Env]:
    stub = StubScorer()
    app = create_app(settings, scorer=stub)  # type: ignore[arg-type]
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    clock = Clock()
    app[appkeys.MODERATION].clock = clock
    session = aiohttp.ClientSession()
    yield Env(Api(server, session, app), stub, clock, site, redis)
    await session.close()
    await server.close()


# ---------------------------------------------------------------- settings API


async def test_get_settings_returns_effective_defaults(env: Env) -> None:
    doc = await env.settings()
    assert doc["site"] == env.site.site_id and doc["version"] == 0
    s = doc["settings"]
    assert (s["mode"], s["approve_below"], s["spam_at"]) == ("post", 0.3, 0.9)
    assert (s["offensive_hold_at"], s["hate_hold_at"], s["max_links"]) == (0.7, 0.8, 2)
    assert s["hate_auto_reject_at"] is None  # no model rejects a comment unseen by default
    assert (s["flood_seconds"], s["flood_ip_per_minute"]) == (15, 10)
    assert s["trusted_authors"] and s["duplicate_check"] and s["campaign_check"] and not s["shadow_mode"]
    assert s["moderation_words"] == s["disallowed_words"] == s["blocked_ips"] == []


async def test_put_merges_and_bumps_version(env: Env) -> None:
    status, reply = await env.put(mode="first", moderation_words=["nhà cái", "  ", "nhà cái"])
    assert status == 200, reply
    assert reply["version"] == 1
    assert reply["settings"]["mode"] == "first"
    assert reply["settings"]["moderation_words"] == ["nhà cái"]  # blanks and repeats dropped
    status, reply = await env.put(max_links=5)
    assert status == 200 and reply["version"] == 2
    doc = await env.settings()
    assert doc["version"] == 2
    assert (doc["settings"]["mode"], doc["settings"]["max_links"]) == ("first", 5)  # kept + changed
    status, reply = await env.put(mode=None)  # null resets one setting
    assert reply["settings"]["mode"] == "post" and reply["settings"]["max_links"] == 5


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"colour": "blue"}, "colour", "unknown"),
        ({"mode": "sometimes"}, "mode", "invalid"),
        ({"spam_at": 1.5}, "spam_at", "range"),
        ({"spam_at": "0.9"}, "spam_at", "range"),
        ({"approve_below": 0.95}, "approve_below", "range"),  # above spam_at
        ({"max_links": -1}, "max_links", "range"),
        ({"max_links": 2.5}, "max_links", "range"),
        ({"flood_seconds": 99_999}, "flood_seconds", "range"),
        ({"shadow_mode": "yes"}, "shadow_mode", "type"),
        ({"disallowed_words": "casino"}, "disallowed_words", "type"),
        ({"disallowed_words": ["!!!"]}, "disallowed_words", "invalid"),
        ({"moderation_words": ["x" * 201]}, "moderation_words", "too_long"),
        ({"blocked_ips": ["10.0.0.0/33"]}, "blocked_ips", "invalid"),
        ({"blocked_emails": ["not an email"]}, "blocked_emails", "invalid"),
        ({"blocked_email_domains": ["nodot"]}, "blocked_email_domains", "invalid"),
        ({"hate_auto_reject_at": 1.5}, "hate_auto_reject_at", "range"),
        ({"hate_auto_reject_at": 0}, "hate_auto_reject_at", "range"),
        ({"hate_auto_reject_at": "0.9"}, "hate_auto_reject_at", "range"),
        ({"hate_auto_reject_at": True}, "hate_auto_reject_at", "range"),
        ({"hate_auto_reject_at": 0.5}, "hate_auto_reject_at", "range"),  # below hate_hold_at (0.8)
        ({"hate_hold_at": 0.95, "hate_auto_reject_at": 0.9}, "hate_auto_reject_at", "range"),
        ({"hate_reject_at": 0.9}, "hate_reject_at", "unknown"),  # replaced; the message says by what
    ],
)
async def test_malformed_put_is_422_naming_the_key(env: Env, changes: dict, field: str, code: str) -> None:
    status, reply = await env.put(**changes)
    assert status == 422, reply
    assert [(e["field"], e["code"]) for e in reply["errors"]] == [(field, code)]
    assert (await env.settings())["version"] == 0  # nothing saved


async def test_put_without_version_is_422(env: Env) -> None:
    resp = await env.api.request(
        "PUT", f"/v1/sites/{env.site.site_id}/settings", env.site.moderator_token, json={"mode": "pre"}
    )
    assert resp.status == 422
    assert [e["field"] for e in (await resp.json())["errors"]] == ["version"]


async def test_put_with_stale_version_is_409(env: Env) -> None:
    await env.configure(mode="pre")
    resp = await env.api.request(
        "PUT", f"/v1/sites/{env.site.site_id}/settings", env.site.moderator_token, json={"version": 0, "mode": "first"}
    )
    assert resp.status == 409
    reply = await resp.json()
    assert reply["code"] == "version_conflict" and reply["current_version"] == 1
    assert (await env.settings())["settings"]["mode"] == "pre"


async def test_concurrent_puts_with_same_version_one_wins(env: Env) -> None:
    path = f"/v1/sites/{env.site.site_id}/settings"

    async def put(mode: str) -> tuple[int, dict]:
        resp = await env.api.request("PUT", path, env.site.moderator_token, json={"version": 0, "mode": mode})
        return resp.status, await resp.json(content_type=None)

    results = await asyncio.gather(*(put(m) for m in ("pre", "first") * 5))
    statuses = sorted(s for s, _ in results)
    assert statuses == [200] + [409] * 9
    [winner] = [r for s, r in results if s == 200]
    assert all(r["code"] == "version_conflict" for s, r in results if s == 409)
    doc = await env.settings()
    assert doc["version"] == 1 and doc["settings"]["mode"] == winner["settings"]["mode"]


async def test_settings_need_a_moderator_of_the_site(env: Env, make_site) -> None:  # type: ignore[no-untyped-def]
    other = await make_site()
    path = f"/v1/sites/{env.site.site_id}/settings"
    assert (await env.api.request("GET", path, other.moderator_token)).status == 403
    assert (await env.api.request("PUT", path, other.moderator_token, json={"version": 0})).status == 403
    assert (await env.api.request("GET", path, env.site.api_key)).status == 401  # a site key is not enough
    assert (await env.api.request("GET", path)).status == 401


# ---------------------------------------------------------------- mode, thresholds, trust


async def test_spam_thresholds(env: Env) -> None:
    env.stub.set("[mid]", spam=0.5)
    env.stub.set("[high]", spam=0.95)
    low = await env.post()
    mid = await env.post(content="Ý kiến [mid] về giao thông")
    high = await env.post(content="Ý kiến [high] về giao thông")
    assert (low["status"], codes(low)) == ("approved", ["low_spam_score"])
    assert (mid["status"], codes(mid)) == ("pending", ["spam_score_uncertain"])
    assert (high["status"], codes(high)) == ("spam", ["spam_score"])
    await env.configure(approve_below=0.6, spam_at=0.99)
    assert (await env.post(content="Ý kiến [mid] lần hai"))["status"] == "approved"
    assert (await env.post(content="Ý kiến [high] lần hai"))["status"] == "pending"


async def test_toxicity_holds_offensive_and_hate_for_a_moderator(env: Env) -> None:
    env.stub.set("[rude]", offensive=0.75)
    env.stub.set("[hate]", hate=0.99)
    env.stub.set("[spam-hate]", hate=0.85, spam=0.95)
    rude = await env.post(content="Bình luận [rude]")
    assert (rude["status"], codes(rude)) == ("pending", ["offensive"])
    # By default no model rejects a comment: hate speech at 0.99 waits for a moderator, with
    # the toxicity reason and the toxicity model's own signals (not only the spam model's).
    hate = await env.post(content="Bình luận [hate]")
    assert (hate["status"], codes(hate)) == ("pending", ["hate_speech"])
    [reason] = hate["reasons"]
    assert reason["params"] == {"probability": 0.99, "threshold": 0.8}
    assert reason["message"] == "hate speech probability 0.99 is at or above 0.80; signals: 'ngu', 'bò'"
    assert [f["feature"] for f in hate["explanation"]["toxicity"]] == ["'ngu'", "'bò'", "comment length"]
    # Spam marking stays automatic: the strictest outcome wins, every reason is listed.
    both = await env.post(content="Bình luận [spam-hate]")
    assert both["status"] == "spam" and set(codes(both)) == {"hate_speech", "spam_score"}
    await env.configure(offensive_hold_at=0.8, hate_hold_at=0.995)
    assert (await env.post(content="Bình luận [rude] nữa"))["status"] == "approved"
    assert (await env.post(content="Bình luận [hate] nữa"))["status"] == "approved"


async def test_a_site_can_turn_on_automatic_rejection_of_hate_speech(env: Env) -> None:
    env.stub.set("[hate]", hate=0.99)
    env.stub.set("[maybe]", hate=0.85)
    await env.configure(hate_auto_reject_at=0.95)
    hate = await env.post(content="Bình luận [hate]")
    assert (hate["status"], codes(hate)) == ("rejected", ["hate_speech"])
    assert hate["reasons"][0]["params"] == {"probability": 0.99, "threshold": 0.95}
    assert "rejects automatically" in hate["reasons"][0]["message"]
    # Between the hold and the reject thresholds: held, as without the setting.
    maybe = await env.post(content="Bình luận [maybe]")
    assert (maybe["status"], maybe["reasons"][0]["params"]) == ("pending", {"probability": 0.85, "threshold": 0.8})
    # null turns it off again (its default).
    await env.configure(hate_auto_reject_at=None)
    assert (await env.settings())["settings"]["hate_auto_reject_at"] is None
    assert (await env.post(content="Bình luận [hate] nữa"))["status"] == "pending"


async def test_replaced_hate_reject_at_is_refused_with_its_successors(env: Env) -> None:
    status, reply = await env.put(hate_reject_at=0.9)
    assert status == 422
    [error] = reply["errors"]
    assert "hate_hold_at" in error["message"] and "hate_auto_reject_at" in error["message"]


async def test_settings_stored_with_hate_reject_at_hold_at_that_threshold(env: Env, redis: Redis) -> None:
    # A document saved by the version that rejected at hate_reject_at (every saved document
    # holds every setting, so whether an operator chose 0.9 cannot be told): it now holds there.
    old = {**sitesettings.to_dict(sitesettings.DEFAULTS), "hate_reject_at": 0.9}
    del old["hate_hold_at"], old["hate_auto_reject_at"]
    stored = {"doc": json.dumps(old), "version": 3, "stamp": "saved-by-an-older-version"}
    await redis.hset(keys.settings(env.site.site_id), mapping=stored)
    s = (await env.settings())["settings"]
    assert (s["hate_hold_at"], s["hate_auto_reject_at"]) == (0.9, None) and "hate_reject_at" not in s
    env.stub.set("[hate]", hate=0.95)
    assert (await env.post(content="Bình luận [hate]"))["status"] == "pending"


async def test_pre_moderation_holds_everything(env: Env) -> None:
    await env.configure(mode="pre")
    reply = await env.post()
    assert (reply["status"], codes(reply)) == ("pending", ["pre_moderation"])


async def test_first_mode_holds_until_a_moderator_approves_the_author(env: Env) -> None:
    await env.configure(mode="first")
    email = "lan.tran@example.vn"
    first = await env.post(author_email=email)
    assert (first["status"], codes(first)) == ("pending", ["first_comment"])
    status, _ = await env.decide(first["id"], "approve")
    assert status == 200
    env.clock.advance(20)
    # Known author (any case of the address): published; an unknown one is still held.
    again = await env.post(author_email="Lan.Tran@Example.vn")
    assert again["status"] == "approved"
    assert (await env.post())["status"] == "pending"


async def test_trusted_author_skips_the_pending_band_only(env: Env) -> None:
    env.stub.set("[mid]", spam=0.5)
    env.stub.set("[high]", spam=0.95)
    email = "quen@example.vn"
    held = await env.post(author_email=email, content="Lần đầu [mid]")
    assert held["status"] == "pending"
    env.clock.advance(20)
    # An auto-approved comment does not make an author trusted; a moderator's approval does.
    auto = await env.post(author_email=email, content="Bình thường thôi")
    assert auto["status"] == "approved"
    env.clock.advance(20)
    assert (await env.post(author_email=email, content="Vẫn [mid] thôi"))["status"] == "pending"
    await env.decide(held["id"], "approve")
    env.clock.advance(20)
    trusted = await env.post(author_email=email, content="Lần sau [mid]")
    assert (trusted["status"], codes(trusted)) == ("approved", ["trusted_author"])
    env.clock.advance(20)
    # Never past the spam band or the disallowed list.
    assert (await env.post(author_email=email, content="Lần nữa [high]"))["status"] == "spam"
    await env.configure(disallowed_words=["casino"])
    env.clock.advance(20)
    assert (await env.post(author_email=email, content="Chơi casino [mid]"))["status"] == "spam"
    await env.configure(trusted_authors=False, disallowed_words=[])
    env.clock.advance(20)
    assert (await env.post(author_email=email, content="Tắt tin cậy [mid]"))["status"] == "pending"


# ---------------------------------------------------------------- links


@pytest.mark.parametrize(
    "content",
    [
        "Xem https://a.vn/1 và https://b.vn/2 và https://c.vn/3",
        "Xem www.abc.com, www.def.net và www.ghi.org",
        "Xem abc.com, dep.com.vn và khuyenmai.shop",
        "Xem bit.ly/abc, tinyurl.com/xyz và t.me/kenh",
        "Xem https://a.vn, www.b.com, c.net và bit.ly/d",
    ],
)
async def test_more_than_max_links_is_held(env: Env, content: str) -> None:
    reply = await env.post(content=content)
    assert reply["status"] == "pending" and "too_many_links" in codes(reply), reply


async def test_max_links_setting(env: Env) -> None:
    assert (await env.post(content="Nguồn: https://a.vn/1 và bit.ly/x"))["status"] == "approved"
    await env.configure(max_links=0)
    reply = await env.post(content="Chi tiết ở bit.ly/x")
    assert reply["status"] == "pending" and codes(reply) == ["too_many_links"]


# ---------------------------------------------------------------- word lists


NFD_COMMENT = unicodedata.normalize("NFD", "Mọi người vào nhà cái này chơi thử đi, uy tín lắm")


@pytest.mark.parametrize(
    "content",
    [
        "Vào nhà cái uy tín",
        "Vao nha cai uy tin",
        NFD_COMMENT,
        "Vào nh\u200bà c\u200cái nhé",
        "Vào n.h.a c.a.i nhé",
        "Vào n h a c a i nhé",
        "Vào NHÀ CÁI nhé",
    ],
)
async def test_moderation_words_hold_every_spelling(env: Env, content: str) -> None:
    await env.configure(moderation_words=["nhà cái"])
    reply = await env.post(content=content)
    assert reply["status"] == "pending", reply
    assert codes(reply) == ["moderation_word"]
    assert "nhà cái" in reply["reasons"][0]["message"]


@pytest.mark.parametrize(
    "content",
    [
        "Chơi cas1n0 online",  # 1 -> i, 0 -> o
        "Chơi ca$ino online",  # $ -> s
        "Chơi CASlNO online",  # l -> i
        "Chơi c\u0430sin\u043e online",  # Cyrillic
        "Chơi C\u0391SINO online",  # Greek
    ],
)
async def test_disallowed_words_catch_look_alikes(env: Env, content: str) -> None:
    await env.configure(disallowed_words=["casino"])
    reply = await env.post(content=content)
    assert (reply["status"], codes(reply)) == ("spam", ["disallowed_word"])


@pytest.mark.parametrize("content", ["Gọi 09O8 123 456 nhé", "Gọi 0 9 0 8 . 1 2 3 . 4 5 6 nhé", "Gọi 0908.123.456"])
async def test_phone_numbers_in_word_lists(env: Env, content: str) -> None:
    await env.configure(disallowed_words=["0908123456"])
    reply = await env.post(content=content)
    assert (reply["status"], codes(reply)) == ("spam", ["disallowed_word"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("author_name", "Nhà Cái Số 1"),
        ("author_email", "nhacai@example.vn"),
        ("author_url", "https://nhacai.example.vn"),
        ("user_agent", "NhaCaiBot/1.0"),
    ],
)
async def test_word_lists_check_every_field(env: Env, field: str, value: str) -> None:
    await env.configure(moderation_words=["nhà cái"])
    reply = await env.post(**{field: value})
    assert reply["status"] == "pending" and codes(reply) == ["moderation_word"], reply
    assert reply["reasons"][0]["message"].startswith(field)


async def test_ip_in_word_list(env: Env) -> None:
    await env.configure(disallowed_words=["203.0.113.77"])
    reply = await env.post(user_ip="203.0.113.77")
    assert (reply["status"], codes(reply)) == ("spam", ["disallowed_word"])


async def test_both_lists_strictest_wins_and_clean_text_passes(env: Env) -> None:
    await env.configure(moderation_words=["khuyến mãi"], disallowed_words=["casino"])
    both = await env.post(content="Khuyen mai casino hôm nay")
    assert both["status"] == "spam" and set(codes(both)) == {"disallowed_word", "moderation_word"}
    clean = await env.post(content=unicodedata.normalize("NFD", "Bài viết rất hay, cảm ơn tác giả"))
    assert clean["status"] == "approved"


# ---------------------------------------------------------------- block lists


async def test_blocked_emails_domains_ips_and_ranges(env: Env) -> None:
    await env.configure(
        blocked_emails=["Spammer@Example.vn"],
        blocked_email_domains=["rac.vn"],
        blocked_ips=["198.51.100.7", "203.0.113.0/24", "2001:db8::/32"],
    )
    cases = [
        ({"author_email": "spammer@example.vn"}, "blocked_email"),
        ({"author_email": "a@mail.rac.vn"}, "blocked_email_domain"),
        ({"user_ip": "198.51.100.7"}, "blocked_ip"),
        ({"user_ip": "203.0.113.200"}, "blocked_ip"),
        ({"user_ip": "2001:db8::5"}, "blocked_ip"),
    ]
    for overrides, code in cases:
        reply = await env.post(**overrides)
        assert (reply["status"], codes(reply)) == ("spam", [code]), (overrides, reply)
    assert (await env.post(author_email="a@notrac.vn", user_ip="203.0.114.1"))["status"] == "approved"


async def test_spam_decision_can_block_author_email_and_ip(env: Env) -> None:
    env.stub.set("[mid]", spam=0.5)
    held = await env.post(content="Quảng cáo [mid]", author_email="ads@example.vn", user_ip="198.51.100.9")
    other = await env.post(content="Cũng [mid]", author_email="ads2@example.vn", user_ip="198.51.100.10")
    # A spam decision alone adds nothing to any list.
    status, _ = await env.decide(other["id"], "spam")
    assert status == 200
    s = (await env.settings())["settings"]
    assert s["blocked_emails"] == [] and s["blocked_ips"] == []
    # With the flags, the author's email and IP are blocked in the same call.
    status, view = await env.decide(held["id"], "spam", block_email=True, block_ip=True)
    assert status == 200, view
    assert view["status"] == "spam"
    assert view["blocked"] == {"email": "ads@example.vn", "ip": "198.51.100.9"}
    s = (await env.settings())["settings"]
    assert s["blocked_emails"] == ["ads@example.vn"] and s["blocked_ips"] == ["198.51.100.9"]
    env.clock.advance(20)
    assert codes(await env.post(author_email="ADS@example.vn")) == ["blocked_email"]
    assert codes(await env.post(user_ip="198.51.100.9")) == ["blocked_ip"]


async def test_block_flags_are_validated(env: Env) -> None:
    env.stub.set("[mid]", spam=0.5)
    a = await env.post(content="Một [mid]")
    status, reply = await env.decide(a["id"], "approve", block_email=True)
    assert status == 422 and reply["errors"][0]["field"] == "block_email"
    body = env.body(content="Hai [mid]")
    del body["user_ip"]
    status, b, _ = await env.submit(body)
    status, reply = await env.decide(b["id"], "spam", block_ip=True)
    assert status == 422 and reply["errors"][0]["field"] == "block_ip"
    # Nothing was decided by the refused calls.
    assert (await env.decide(a["id"], "approve"))[0] == 200


# ---------------------------------------------------------------- flood, duplicate, campaign


async def test_flood_same_email_is_429_until_the_window_passes(env: Env, redis: Redis) -> None:
    email = "nhanh.tay@example.vn"
    await env.post(author_email=email)
    env.clock.advance(5)
    status, reply, resp = await env.submit(env.body(author_email=email))
    assert status == 429
    assert reply["code"] == "flood" and reply["reasons"][0]["code"] == "flood"
    assert resp.headers["Retry-After"] == "10"
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    # Refused means nothing stored.
    assert await redis.zcard(keys.status_index(env.site.site_id, "approved")) == 1
    env.clock.advance(10)
    assert (await env.submit(env.body(author_email=email)))[0] == 202
    await env.configure(flood_seconds=0)
    assert (await env.submit(env.body(author_email=email)))[0] == 202


async def test_flood_per_ip_is_a_rate(env: Env) -> None:
    ip = "14.160.1.1"  # a mobile carrier's shared address: many readers, one IP
    for _ in range(10):
        await env.post(user_ip=ip)
        env.clock.advance(1)
    status, reply, resp = await env.submit(env.body(user_ip=ip))
    assert status == 429 and reply["code"] == "flood"
    # The first of the ten leaves the one-minute window 60 s after it was posted.
    assert resp.headers["Retry-After"] == "50"
    env.clock.advance(50)
    assert (await env.submit(env.body(user_ip=ip)))[0] == 202
    assert (await env.submit(env.body(user_ip=ip)))[0] == 429
    await env.configure(flood_ip_per_minute=100)
    assert (await env.submit(env.body(user_ip=ip)))[0] == 202


async def test_concurrent_flood_stores_one(env: Env, redis: Redis) -> None:
    email = "dong.thoi@example.vn"
    topics = ("giao thông", "giá điện", "học phí", "bóng đá", "thời tiết", "xe buýt", "cây xanh", "chợ đêm",
              "ngập lụt", "vỉa hè")  # fmt: skip
    # Ten different comments at once (the same one ten times would be duplicates, checked first).
    bodies = [env.body(author_email=email, content=f"Bài viết về {topic} rất hay.") for topic in topics]
    results = await asyncio.gather(*(env.submit(body) for body in bodies))
    assert sorted(s for s, _, _ in results) == [202] + [429] * 9
    assert await redis.zcard(keys.status_index(env.site.site_id, "approved")) == 1


async def test_the_same_comment_again_is_a_duplicate_before_a_flood(env: Env, redis: Redis) -> None:
    # WordPress checks for a duplicate before the flood interval: resending the same comment
    # within the flood window is a 409 duplicate, not a 429 flood.
    body = env.body(author_email="gui.lai@example.vn", content="Cảm ơn tác giả, bài viết rất hữu ích.")
    first = await env.submit(body)
    assert first[0] == 202
    env.clock.advance(2)
    status, reply, _ = await env.submit(body)
    assert (status, reply["code"], reply["duplicate_of"]) == (409, "duplicate", first[1]["id"])
    # With another Idempotency-Key the refusal is made by the submit script: the same order.
    status, reply, _ = await env.submit(body, **{"Idempotency-Key": "wp-resend-2"})
    assert (status, reply["code"]) == (409, "duplicate")
    # A different comment within the window is still a flood.
    status, reply, _ = await env.submit(dict(body, content="Một ý kiến khác hẳn về chủ đề này."))
    assert (status, reply["code"]) == (429, "flood")
    assert await redis.zcard(keys.status_index(env.site.site_id, "approved")) == 1


async def test_duplicate_is_409(env: Env, redis: Redis) -> None:
    body = env.body(content="Tôi hoàn toàn đồng ý với ý kiến của bạn.")
    first = await env.submit(body)
    assert first[0] == 202
    env.clock.advance(60)
    same = dict(body, content="  TOI HOAN TOAN DONG Y voi y kien cua ban ")
    status, reply, _ = await env.submit(same)
    assert status == 409
    assert reply["code"] == "duplicate" and reply["duplicate_of"] == first[1]["id"]
    assert reply["reasons"][0]["code"] == "duplicate"
    assert await redis.zcard(keys.status_index(env.site.site_id, "approved")) == 1
    # Another post, another author or other words: not a duplicate.
    assert (await env.submit(dict(body, post_id="bai-khac")))[0] == 202
    assert (await env.submit(dict(body, author_email="nguoi.khac@example.vn")))[0] == 202
    env.clock.advance(60)
    assert (await env.submit(dict(body, content="Tôi không đồng ý.")))[0] == 202
    await env.configure(duplicate_check=False)
    env.clock.advance(60)
    assert (await env.submit(body))[0] == 202


async def test_idempotent_retry_is_not_a_duplicate_or_flood(env: Env) -> None:
    body = env.body()
    first = await env.submit(body, **{"Idempotency-Key": "wp-1"})
    again = await env.submit(body, **{"Idempotency-Key": "wp-1"})
    assert (first[0], again[0]) == (202, 202) and first[1] == again[1]
    assert again[2].headers["Idempotent-Replayed"] == "true"


CAMPAIGN = "Nhận ngay quà tặng 500k khi đăng ký tài khoản mới tại trang web của chúng tôi hôm nay, số lượng có hạn"


async def test_campaign_across_posts_is_spam(env: Env) -> None:
    variants = [CAMPAIGN, CAMPAIGN.upper() + " !!!", CAMPAIGN.replace("500k", "500 k") + " 😊 mã 7731"]
    replies = [await env.post(content=v) for v in variants]
    assert [r["status"] for r in replies] == ["approved", "approved", "spam"]
    assert codes(replies[2]) == ["campaign"]
    # Outside the 10-minute window the count starts again.
    env.clock.advance(11 * 60)
    assert (await env.post(content=CAMPAIGN))["status"] == "approved"


async def test_campaign_ignores_short_and_different_texts(env: Env) -> None:
    for _ in range(4):
        assert (await env.post(content="Bài viết rất hay, cảm ơn tác giả!"))["status"] == "approved"
    others = [
        "Giá xăng hôm nay tăng mạnh, người dân đổ xô đi đổ xăng trước giờ điều chỉnh, rất đông đúc",
        "Đội tuyển thi đấu quá hay trong hiệp hai, hàng thủ chơi chắc chắn và tiền đạo rất xông xáo",
        "Thành phố nên mở thêm nhiều công viên cho trẻ em vui chơi vào cuối tuần, nhất là ở khu đông dân",
    ]
    assert [(await env.post(content=t))["status"] for t in others] == ["approved"] * 3
    await env.configure(campaign_check=False)
    for _ in range(3):
        assert (await env.post(content=CAMPAIGN))["status"] == "approved"


async def test_rule_keys_expire(env: Env, redis: Redis) -> None:
    await env.post(content=CAMPAIGN, user_ip="14.161.2.2")
    site = env.site.site_id
    found = {k: await redis.pttl(k) async for k in redis.scan_iter(match=f"site:{{{site}}}:*")}
    rule_keys = {k: t for k, t in found.items() if any(f":{p}:" in k for p in ("flood", "dup", "camp"))}
    kinds = {k.split(":")[2] for k in rule_keys}
    assert kinds == {"flood", "dup", "camp"}, found
    assert all(ttl > 0 for ttl in rule_keys.values()), rule_keys


# ---------------------------------------------------------------- personal data

# Each carries the stub's "[high]" marker: P(spam) 0.99, as the real model gives a comment
# with a phone or a long number in it.
PERSONAL = [
    "Mẹ tôi bị lừa, số CCCD của bà là 079123456789, ai biết cách lấy lại tiền không [high]",
    "Số điện thoại của tôi là 0912 345 678, ai chứng kiến vụ tai nạn xin gọi giúp [high]",
    "Tôi chuyển nhầm 5 triệu vào STK 0123456789 Vietcombank, làm sao lấy lại? [high]",
    "My number is 555-123-4567 if anyone saw the accident on Main Street [high]",
    "Email của tôi là nguyenvana@gmail.com, mong toà soạn phản hồi [high]",
]
PROMOTIONAL = [
    "Vay tiền nhanh không thế chấp, liên hệ số của tôi 0912345678 [high]",
    "Em gái xinh nhận đi chơi qua đêm, số của em 0987654321 nha [high]",
    "Cho thuê nhà giá rẻ, sđt của em 0912345678 [high]",
    "Tuyển CTV làm tại nhà, stk nhận lương 0123456789 Vietcombank, ib zalo [high]",
]


@pytest.mark.parametrize("text", PERSONAL)
async def test_personal_data_is_held_not_spam(env: Env, text: str) -> None:
    env.stub.set("[high]", spam=0.99)
    reply = await env.post(content=text)
    assert reply["status"] == "pending" and "personal_data" in codes(reply), reply


@pytest.mark.parametrize("text", PROMOTIONAL)
async def test_promotional_contact_details_stay_spam(env: Env, text: str) -> None:
    env.stub.set("[high]", spam=0.99)
    reply = await env.post(content=text)
    assert reply["status"] == "spam" and "personal_data" not in codes(reply), reply


async def test_personal_data_check_can_be_switched_off(env: Env) -> None:
    env.stub.set("[high]", spam=0.99)
    await env.configure(personal_data_check=False)
    reply = await env.post(content=PERSONAL[0])
    assert reply["status"] == "spam" and "personal_data" not in codes(reply), reply


async def test_personal_data_does_not_soften_other_rules(env: Env) -> None:
    env.stub.set("[high]", spam=0.99)
    await env.configure(disallowed_words=["lừa"])
    reply = await env.post(content=PERSONAL[0])
    assert reply["status"] == "spam" and {"personal_data", "disallowed_word"} <= set(codes(reply)), reply


# ---------------------------------------------------------------- shadow mode


async def test_shadow_mode_reports_but_answers_pending(env: Env, redis: Redis) -> None:
    env.stub.set("[high]", spam=0.95)
    await env.configure(shadow_mode=True, disallowed_words=["casino"])
    reply = await env.post(content="Chơi casino [high]")
    assert reply["status"] == "pending" and reply["shadow_status"] == "spam"
    assert set(codes(reply)) == {"disallowed_word", "spam_score", "shadow_mode"}
    clean = await env.post()
    assert clean["status"] == "pending" and clean["shadow_status"] == "approved"
    # Refusals are reported, not enforced.
    email = "shadow@example.vn"
    await env.post(author_email=email)
    flood = await env.post(author_email=email)
    assert flood["status"] == "pending" and "flood" in codes(flood)
    assert await redis.zcard(keys.status_index(env.site.site_id, "pending")) == 4
    # Off again: enforced, and no shadow_status in the reply.
    await env.configure(shadow_mode=False)
    enforced = await env.post(content="Chơi casino [high] nữa")
    assert enforced["status"] == "spam" and "shadow_status" not in enforced


# ---------------------------------------------------------------- check endpoint and CLI


async def test_check_applies_rules_without_refusing(env: Env) -> None:
    await env.configure(moderation_words=["nhà cái"])
    body = env.body(content="Vào n.h.a c.a.i đi")
    await env.post(**{k: body[k] for k in ("author_email",)})
    resp = await env.api.request("POST", "/v1/check", env.site.api_key, json=body)
    assert resp.status == 200
    reply = await resp.json()
    assert reply["status"] == "pending" and codes(reply) == ["moderation_word"]


def test_cli_sites_set(redis_server, site: Site) -> None:  # type: ignore[no-untyped-def]
    env = dict(os.environ, REDIS_URL=redis_server.url)
    root = Path(__file__).resolve().parent.parent

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "moderation", "sites", "set", site.site_id, *args],
            env=env, cwd=root, capture_output=True, text=True, timeout=60, check=False,
        )

    ok = run("mode=first", "max_links=4", "disallowed_words=nhà cái,casino", "shadow_mode=on")
    assert ok.returncode == 0, ok.stderr

    doc = json.loads(ok.stdout)
    assert doc["version"] == 1
    s = doc["settings"]
    assert (s["mode"], s["max_links"], s["disallowed_words"], s["shadow_mode"]) == (
        "first", 4, ["nhà cái", "casino"], True
    )
    bad = run("max_links=many")
    assert bad.returncode == 1 and "max_links" in bad.stderr
    on = json.loads(run("hate_auto_reject_at=0.97").stdout)
    assert on["settings"]["hate_auto_reject_at"] == 0.97
    off = json.loads(run("hate_auto_reject_at=off").stdout)
    assert off["settings"]["hate_auto_reject_at"] is None
    assert run("mode=default").returncode == 0
    shown = json.loads(run().stdout)
    assert shown["version"] == 4 and shown["settings"]["mode"] == "post"


async def test_rule_reads_run_while_redis_writes_are_paused(env: Env, redis: Redis) -> None:
    # The pre-check script is declared read-only, so a paused primary (failover, CLIENT PAUSE
    # WRITE) does not stall /v1/check, which only reads. (SCRIPT LOAD counts as a write,
    # so the first check, before the pause, loads the script as any earlier request would.)
    assert (await env.api.request("POST", "/v1/check", env.site.api_key, json=env.body())).status == 200
    await redis.client_pause(10_000, all=False)
    try:
        async with asyncio.timeout(5):
            resp = await env.api.request("POST", "/v1/check", env.site.api_key, json=env.body())
        assert resp.status == 200, await resp.text()
    finally:
        await redis.client_unpause()


async def test_settings_cache_follows_every_save_even_a_repeated_version(env: Env, redis: Redis) -> None:
    await env.configure(disallowed_words=["casino"])
    assert (await env.post(content="Chơi casino"))["status"] == "spam"  # cached by this worker
    # An operator deletes the settings; the next save is version 1 again, with other rules.
    await redis.delete(keys.settings(env.site.site_id))
    status, reply = await env.put(moderation_words=["casino"])
    assert status == 200 and reply["version"] == 1
    reply = await env.post(content="Chơi casino")
    assert (reply["status"], codes(reply)) == ("pending", ["moderation_word"])


async def test_hostile_64kb_dotted_comment_is_decided_quickly(env: Env) -> None:
    # normalize's URL pattern backtracks on long "a.a.a…" runs (minutes for 64 KB); the rules
    # bound that work and still count explicit links anywhere in the comment.
    body = env.body(content="a." * 32_000 + " https://x.vn/1 https://y.vn/2 https://z.vn/3")
    async with asyncio.timeout(10):
        status, reply, _ = await env.submit(body)
    assert status == 202 and "too_many_links" in codes(reply), reply


@pytest.mark.parametrize(
    "text",
    [
        "Xem https://a.vn/1 và www.b.com, c.net và bit.ly/d",
        "Liên hệ abc chấm com hoặc dep.com.vn",
        "Không có liên kết nào, chỉ là một bình luận bình thường.",
        "https://example.vn/" + "x" * 200 + " và t.me/kenh",
    ],
)
def test_bounded_link_count_matches_normalize_on_ordinary_text(text: str) -> None:
    from moderation.moderation.policy import links_in
    from moderation.scoring.normalize import count_links

    assert links_in(text) == count_links(text)
