"""Coral Talk's external moderation phase: signed requests built as Coral builds them."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import aiohttp
import pytest
from redis.asyncio import Redis

from moderation.web import coral
from tests.conftest import Api, RedisServer, Site

SPAM_TEXT = "Kiếm tiền online 5 triệu/ngày, liên hệ zalo 0912345678 ngay, inbox nhận quà miễn phí http://kiemtien.vn"
HAM_TEXT = "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ vấn đề giao thông ở Hà Nội."
HELD_TEXT = "Nguồn: https://a.example.vn/1 https://b.example.vn/2 https://c.example.vn/3"


def coral_request(text: str) -> bytes:
    """The body of Coral's external moderation request (action, comment, author, story, site)."""
    return json.dumps({
        "action": "NEW",
        "comment": {"id": "7d6a3b2e-comment", "body": text, "parentID": None},
        "author": {"id": "b1c2d3e4-user", "role": "COMMENTER", "username": "lan_hn"},
        "story": {"id": "story-42", "url": "https://baotinh.example.vn/giao-thong/bai-viet-1"},
        "site": {"id": "site-1"},
        "tenantID": "tenant-1",
        "tenantDomain": "binhluan.baotinh.example.vn",
    }, ensure_ascii=False).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post(api: Api, site: Site, body: bytes, signature: str | None) -> aiohttp.ClientResponse:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Coral-Signature"] = signature
    return await api.session.post(api.url(f"/v1/integrations/coral/{site.site_id}"), data=body, headers=headers)


@pytest.fixture
async def secret(site: Site, redis: Redis) -> str:
    return await coral.configure(redis, site.site_id)


async def test_spam_is_rejected_with_flag(api: Api, site: Site, secret: str, redis: Redis) -> None:
    body = coral_request(SPAM_TEXT)
    resp = await post(api, site, body, sign(secret, body))
    assert resp.status == 200
    answer = await resp.json()
    assert answer["moderationAction"] == {"status": "REJECTED", "rejectionReason": {"code": "SPAM"}}
    assert {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"} in answer["actions"]
    # Coral keeps its own queue: nothing is stored here.
    assert [k async for k in redis.scan_iter(match=f"site:{{{site.site_id}}}:c:*")] == []


async def test_clean_comment_is_no_opinion(api: Api, site: Site, secret: str) -> None:
    body = coral_request(HAM_TEXT)
    resp = await post(api, site, body, sign(secret, body))
    assert resp.status == 204


async def test_uncertain_comment_is_withheld(api: Api, site: Site, secret: str) -> None:
    body = coral_request(HELD_TEXT)
    resp = await post(api, site, body, sign(secret, body))
    assert resp.status == 200
    assert (await resp.json())["moderationAction"]["status"] == "SYSTEM_WITHHELD"


async def test_rotated_secrets_any_signature_may_match(api: Api, site: Site, secret: str) -> None:
    body = coral_request(HAM_TEXT)
    resp = await post(api, site, body, f"{sign('old-secret', body)},{sign(secret, body)}")
    assert resp.status == 204


async def test_bad_signature_is_401(api: Api, site: Site, secret: str) -> None:
    body = coral_request(SPAM_TEXT)
    resp = await post(api, site, body, sign(secret, body + b" "))
    assert resp.status == 401


async def test_missing_signature_is_401(api: Api, site: Site, secret: str) -> None:
    resp = await post(api, site, coral_request(SPAM_TEXT), None)
    assert resp.status == 401


async def test_site_without_coral_secret_is_401(api: Api, site: Site) -> None:
    body = coral_request(SPAM_TEXT)
    resp = await post(api, site, body, sign("anything", body))
    assert resp.status == 401


async def test_malformed_json_is_400(api: Api, site: Site, secret: str) -> None:
    body = b'{"comment": '
    resp = await post(api, site, body, sign(secret, body))
    assert resp.status == 400


async def test_missing_comment_body_is_422(api: Api, site: Site, secret: str) -> None:
    body = json.dumps({"action": "NEW", "comment": {"id": "x"}}).encode()
    resp = await post(api, site, body, sign(secret, body))
    assert resp.status == 422


async def test_no_answer_within_budget_is_204(
    api: Api, site: Site, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Coral must never wait on us past its phase timeout: out of budget means no opinion.
    monkeypatch.setattr(coral, "BUDGET_SECONDS", 0)
    body = coral_request(SPAM_TEXT)
    resp = await post(api, site, body, sign(secret, body))
    assert resp.status == 204


async def test_cli_stores_coral_secret(
    site: Site, redis: Redis, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from moderation.cli import main as cli
    from moderation.store import keys

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    assert await asyncio.to_thread(cli.main, ["sites", "coral", site.site_id]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["coral_secret"] == await redis.hget(keys.site_meta(site.site_id), "coral_secret")
    assert printed["phase_url"] == f"/v1/integrations/coral/{site.site_id}"


async def test_oversized_body_is_413(api: Api, site: Site, secret: str) -> None:
    from moderation.core.schemas import MAX_BODY_BYTES

    body = coral_request("x" * (MAX_BODY_BYTES + 1))
    resp = await post(api, site, body, sign(secret, body))
    assert resp.status == 413
