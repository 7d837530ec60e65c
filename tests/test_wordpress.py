"""The WordPress round trip against a real WordPress: Debian's package under `php -S`, a real
MariaDB, the plugin in integrations/wordpress/ activated and configured through wp-admin,
comments posted by visitors through wp-comments-post.php, and the service running for real
(Redis, models, webhook delivery to WordPress's REST route).

Both directions: WordPress → service (ham published, spam in Spam, WordPress's own refusals
never reach the service) and service → WordPress (a moderator's decision in the service changes
the comment in WordPress), and wp-admin → service (spam, not spam, trash become decisions).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, Response, async_playwright, expect
from redis.asyncio import Redis

from moderation.core.settings import Settings
from moderation.moderation import webhooks
from moderation.scoring.scorer import Scorer
from moderation.store import auth, keys
from moderation.store.comments import Store
from moderation.web.app import create_app
from tests import wordpress as wpmod
from tests.conftest import RedisServer
from tests.test_browser import CHROMIUM_ARGS, chromium_path
from tests.wordpress import PLUGIN_FILE, WordPress, action_link

pytestmark = [pytest.mark.wordpress, pytest.mark.timeout(300)]

HAM_TEXT = "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ vấn đề giao thông ở Hà Nội."
SPAM_TEXT = "Kiếm tiền online 5 triệu/ngày, liên hệ zalo 0912345678 ngay, inbox nhận quà miễn phí http://kiemtien.vn"
# Three links hold a comment for review; each held comment says something else (near-copies
# from several authors are a campaign, which the service files as spam).
HELD_TEXTS = {
    "approve": "Nguồn: https://a.example.vn/1 https://b.example.vn/2 https://c.example.vn/3",
    "spam": "Số liệu tai nạn tháng trước ở đây https://tk.example.vn/x và https://bc.example.vn/y, https://z.example.vn",
    "trash": "Mình đọc thêm ở https://dantri.example.vn/a, https://vnexpress.example.vn/b, https://tuoitre.example.vn/c",
    "wp-approve": "Tôi đối chiếu với https://sxd.example.vn/quy-hoach, https://ubnd.example.vn/thong-bao và https://chinhphu.example.vn/tin",
    "webhook": "Ai cần xem lại clip thì https://yt.example.vn/v1 https://fb.example.vn/v2 https://tt.example.vn/v3",
}
# How long a change may take to cross over (webhook poll + delivery + PHP); polled, not slept.
SYNC_DEADLINE = 60.0
SITE = "wp-test"
# Playwright's waits in wp-admin (its pages are heavy for a loaded machine).
BROWSER_TIMEOUT_MS = 30_000


@dataclass
class Env:
    wp: WordPress
    service_url: str
    # What WordPress's plugin calls: the service, or an outage of it (wpmod.ServiceProxy).
    proxy: wpmod.ServiceProxy
    redis: Redis
    service: aiohttp.ClientSession
    visitor: aiohttp.ClientSession
    admin: aiohttp.ClientSession
    api_key: str = field(repr=False)
    moderator_token: str = field(repr=False)
    webhook_secret: str = field(repr=False)
    hoa_token: str = field(default="", repr=False)
    settings_page: str = ""
    ips: int = 0

    def next_ip(self) -> str:
        self.ips += 1
        return f"203.0.113.{self.ips}"

    async def post_comment(self, content: str, author: str = "Lan", *, ip: str | None = None,
                           email: str | None = None) -> tuple[int, int | None, str]:
        """A visitor posts the comment form: (HTTP status, WordPress comment id, body)."""
        ip = ip or self.next_ip()
        form = {
            "comment": content,
            "author": author,
            "email": email or f"reader{self.ips}@example.vn",
            "url": "",
            "comment_post_ID": "1",
            "comment_parent": "0",
        }
        async with self.visitor.post(
            f"{self.wp.url}/wp-comments-post.php", data=form, allow_redirects=False,
            headers={"X-Test-Visitor-IP": ip},
        ) as resp:
            body = await resp.text()
            match = re.search(r"#comment-(\d+)", resp.headers.get("Location", ""))
            return resp.status, int(match.group(1)) if match else None, body

    async def service_comment(self, service_id: str) -> dict[str, Any]:
        async with self.service.get(
            f"{self.service_url}/v1/comments/{service_id}", headers={"Authorization": f"Bearer {self.api_key}"}
        ) as resp:
            assert resp.status == 200, await resp.text()
            doc: dict[str, Any] = await resp.json()
            return doc

    async def service_decide(self, service_id: str, decision: str, token: str) -> dict[str, Any]:
        async with self.service.post(
            f"{self.service_url}/v1/review/{service_id}/decision",
            json={"decision": decision, "site": SITE},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 200, await resp.text()
            doc: dict[str, Any] = await resp.json()
            return doc

    async def admin_get(self, path: str) -> str:
        async with self.admin.get(f"{self.wp.url}/wp-admin/{path}") as resp:
            assert resp.status == 200, (path, resp.status)
            return await resp.text()

    async def admin_action(self, comment_id: int, action: str, listing: str = "all") -> None:
        """Click a comment's row action in wp-admin's Comments screen (the no-JS link)."""
        html = await self.admin_get(f"edit-comments.php?comment_status={listing}")
        link = action_link(html, action, comment_id)
        async with self.admin.get(f"{self.wp.url}/wp-admin/{link}", allow_redirects=False) as resp:
            assert resp.status == 302, (action, resp.status, await resp.text())


async def until(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``check`` until it holds or the deadline passes (cross-process state, no events)."""
    deadline = time.monotonic() + SYNC_DEADLINE
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _form_fields(html: str, form_marker: str) -> dict[str, str]:
    return wpmod.hidden_fields(html, form_marker)


@pytest.fixture(scope="module")
async def env(redis_server: RedisServer, scorer: Scorer) -> AsyncIterator[Env]:
    with tempfile.TemporaryDirectory(prefix="moderation-wp-") as tmp, wpmod.wordpress(
        # One setting as a constant in Debian's per-host config file, the others in wp-admin.
        Path(tmp), extra_config=f"define('MODERATION_SERVICE_SITE', '{SITE}');\n"
    ) as wp:
        redis = Redis.from_url(redis_server.url, decode_responses=True)
        settings = Settings(
            redis_url=redis_server.url,
            batch_max_wait_ms=1.0,
            webhook_poll_seconds=0.1,
            webhook_backoff_seconds=0.2,
            webhook_backoff_max_seconds=1.0,
            webhook_timeout_seconds=10.0,
            # Events WordPress defers while a wp-admin decision waits in its outbox are retried
            # every second here; they must not become dead letters during an outage test.
            webhook_max_attempts=100,
            # The webhook SSRF guard refuses loopback targets unless the operator allows private
            # ones (MODERATION_WEBHOOK_ALLOW_PRIVATE=1); this WordPress listens on 127.x.y.z.
            webhook_allow_private=True,
        )
        app = create_app(settings, scorer=scorer)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        assert server.port is not None
        proxy = wpmod.ServiceProxy("127.0.0.1", server.port)
        await proxy.start()
        service = aiohttp.ClientSession()
        visitor = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        admin = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        try:
            api_key = await auth.create_site(redis, SITE, "WordPress test site", int(time.time() * 1000))
            await Store(redis, idempotency_ttl=60).ensure_group(SITE)
            wp_token = await auth.add_moderator(redis, [SITE], "wordpress")
            secret = await webhooks.configure(redis, SITE, wp.events_url, allow_private=True)
            e = Env(wp, str(server.make_url("")).rstrip("/"), proxy, redis, service, visitor, admin, api_key,
                    wp_token, secret)
            # A moderator working in the service's own queue.
            e.hoa_token = await auth.add_moderator(redis, [SITE], "hoa")
            await install(e)
            yield e
        finally:
            await admin.close()
            await visitor.close()
            await service.close()
            await proxy.close()
            await server.close()
            keys = [k async for k in redis.scan_iter(match=f"site:{{{SITE}}}:*")]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()


async def install(e: Env) -> None:
    """WordPress's own installer, an admin login, the plugin activated and set up in wp-admin."""
    wp = e.wp
    await wpmod.install(wp, e.admin)
    await wpmod.activate(wp, e.admin, PLUGIN_FILE)
    # The settings screen, filled in as an admin would.
    page = await e.admin_get("options-general.php?page=moderation-service")
    hidden = await _form_fields(page, 'action="options.php"')
    form = {
        **hidden,
        "moderation_service[url]": e.proxy.url,
        "moderation_service[api_key]": e.api_key,
        "moderation_service[moderator_token]": e.moderator_token,
        "moderation_service[webhook_secret]": e.webhook_secret,
    }
    async with e.admin.post(f"{wp.url}/wp-admin/options.php", data=form) as resp:
        assert resp.status == 200
    page = await e.admin_get("options-general.php?page=moderation-service")
    assert e.api_key not in page and e.moderator_token not in page and e.webhook_secret not in page
    test_form = await _form_fields(page, 'action="' + f"{wp.url}/wp-admin/admin-post.php")
    async with e.admin.post(f"{wp.url}/wp-admin/admin-post.php", data=test_form) as resp:
        e.settings_page = await resp.text()
    # WordPress's default "comment author must have a previously approved comment" would hold
    # every first-time reader whatever the service says; the service has its own trust rule.
    wp.set_option("comment_previously_approved", "")


async def service_id_of(e: Env, comment_id: int) -> str:
    service_id = e.wp.comment_meta(comment_id, "_moderation_id")
    assert service_id, f"comment {comment_id} has no moderation id"
    return service_id


async def test_settings_screen_test_button_checks_key_and_token(env: Env) -> None:
    assert 'id="moderation-test-key"' in env.settings_page and "Site API key: accepted." in env.settings_page
    assert "Moderator token: accepted for this site." in env.settings_page
    assert "<code>MODERATION_SERVICE_SITE</code> is set in the configuration file." in env.settings_page
    # rest_url(): the installer turned pretty permalinks on (php -S serves every path through
    # index.php), so /wp-json/…; index.php?rest_route=… (what the service is given) works as well.
    shown = re.search(r'<code id="moderation-webhook-url">([^<]*)</code>', env.settings_page)
    assert shown and shown.group(1) in {env.wp.events_url, f"{env.wp.url}/wp-json/moderation/v1/events"}


async def test_ham_is_published_and_stored_approved(env: Env) -> None:
    status, comment_id, body = await env.post_comment(HAM_TEXT)
    assert status == 302 and comment_id is not None, body[-500:]
    assert env.wp.comment_status(comment_id) == "1"
    stored = await env.service_comment(await service_id_of(env, comment_id))
    assert stored["status"] == "approved"


async def test_spam_goes_to_wordpress_spam_folder(env: Env) -> None:
    status, comment_id, body = await env.post_comment(SPAM_TEXT, author="Kiếm tiền")
    assert status == 302 and comment_id is not None, body[-500:]
    assert env.wp.comment_status(comment_id) == "spam"
    assert (await env.service_comment(await service_id_of(env, comment_id)))["status"] == "spam"


async def test_held_comment_approved_in_service_is_published_in_wordpress(env: Env) -> None:
    _, comment_id, body = await env.post_comment(HELD_TEXTS["approve"], author="Minh")
    assert comment_id is not None, body[-500:]
    assert env.wp.comment_status(comment_id) == "0"
    service_id = await service_id_of(env, comment_id)
    assert (await env.service_comment(service_id))["status"] == "pending"
    await env.service_decide(service_id, "approve", env.hoa_token)

    async def published() -> bool:
        return env.wp.comment_status(comment_id) == "1"

    await until("the approval to reach WordPress", published)


async def test_held_comment_spammed_in_service_is_spam_in_wordpress(env: Env) -> None:
    _, comment_id, _ = await env.post_comment(HELD_TEXTS["spam"], author="Tú")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "0"
    await env.service_decide(await service_id_of(env, comment_id), "spam", env.hoa_token)

    async def spammed() -> bool:
        return env.wp.comment_status(comment_id) == "spam"

    await until("the spam decision to reach WordPress", spammed)


async def test_spam_marked_in_wp_admin_is_spam_in_service_and_a_second_thought_too(env: Env) -> None:
    _, comment_id, _ = await env.post_comment(HAM_TEXT + " Mong có thêm bài như vậy.", author="Hùng")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "1"
    service_id = await service_id_of(env, comment_id)
    await env.admin_action(comment_id, "spamcomment")
    assert env.wp.comment_status(comment_id) == "spam"
    stored = await env.service_comment(service_id)
    assert stored["status"] == "spam"
    assert stored["decision"]["by"] == "wordpress"
    assert stored["decision"]["note"] == f"wp-admin: {wpmod.ADMIN_USER}"
    # Changing it again in wp-admin is a second decision, recorded as such.
    await env.admin_action(comment_id, "unspamcomment", listing="spam")
    stored = await env.service_comment(service_id)
    assert (stored["status"], stored["revision"]) == ("approved", 2)
    assert [(h["previous"], h["status"], h["by"]) for h in stored["history"][1:]] == [
        ("approved", "spam", "wordpress"), ("spam", "approved", "wordpress")]
    # Both decisions' webhooks come back to WordPress and change nothing (the first is stale).
    await events_delivered(env)
    assert env.wp.comment_status(comment_id) == "1"
    assert env.wp.comment_meta(comment_id, "_moderation_rev") == "2"
    assert env.wp.comment_meta(comment_id, "_moderation_sync") is None


async def events_delivered(env: Env) -> None:
    """Every webhook event the service queued has been answered 2xx by WordPress."""

    async def empty() -> bool:
        return int(await env.redis.zcard(keys.webhook_due(SITE))) == 0

    await until("the service's webhook events to be delivered", empty)


async def test_spam_then_undo_in_the_comments_screen_stays_undone_after_a_reload(env: Env) -> None:
    """The comment list's own Spam link and its Undo, clicked in Chromium (wp-admin's JavaScript)."""
    text = "Đề nghị thành phố công khai lộ trình thu phí vào nội đô để người dân chuẩn bị."
    _, comment_id, _ = await env.post_comment(text, author="Ngọc")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "1"
    service_id = await service_id_of(env, comment_id)
    async with wp_browser(env) as page:
        await page.goto(f"{env.wp.url}/wp-admin/edit-comments.php?comment_status=all")
        row = page.locator(f"#comment-{comment_id}")
        await row.hover()
        async with page.expect_response(lambda r: _comment_ajax(r, "spam=1")) as spammed:
            await row.locator("span.spam a").click()
        assert (await spammed.value).ok
        undo = page.locator(f"#undo-{comment_id} span.undo a")
        async with page.expect_response(lambda r: _comment_ajax(r, "unspam=1")) as undone:
            await undo.click()
        assert (await undone.value).ok
        assert env.wp.comment_status(comment_id) == "1"
        # Every event the two decisions sent has reached WordPress (the spam one is stale there).
        await events_delivered(env)
        await page.reload()
        row = page.locator(f"#comment-{comment_id}")
        await expect(row).to_be_visible(timeout=BROWSER_TIMEOUT_MS)
        await expect(row).to_have_class(re.compile(r"\bapproved\b"), timeout=BROWSER_TIMEOUT_MS)
    assert env.wp.comment_status(comment_id) == "1"
    stored = await env.service_comment(service_id)
    assert (stored["status"], stored["revision"]) == ("approved", 2)
    assert [h["status"] for h in stored["history"]] == ["approved", "spam", "approved"]


def _comment_ajax(response: Response, flag: str) -> bool:
    """wp-admin's request for a row action (admin-ajax.php, action=delete-comment, the flag)."""
    data = response.request.post_data or ""
    return "admin-ajax.php" in response.url and "action=delete-comment" in data and flag in data.split("&")


@contextlib.asynccontextmanager
async def wp_browser(env: Env) -> AsyncIterator[Page]:
    """Debian's Chromium, signed in to wp-admin with the test's admin session."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context()
            cookies = [
                {"name": c.key, "value": c.value, "url": env.wp.url}
                for c in env.admin.cookie_jar
            ]
            await context.add_cookies(cookies)  # type: ignore[arg-type]
            page = await context.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            yield page
        finally:
            await browser.close()


async def test_not_spam_in_wp_admin_approves_on_both_sides(env: Env) -> None:
    _, comment_id, _ = await env.post_comment(SPAM_TEXT + " Giảm giá 50%", author="Khuyến mãi")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "spam"
    service_id = await service_id_of(env, comment_id)
    await env.admin_action(comment_id, "unspamcomment", listing="spam")
    assert (await env.service_comment(service_id))["status"] == "approved"
    # WordPress's own "Not spam" would leave it pending; the plugin publishes it, as the service did.
    assert env.wp.comment_status(comment_id) == "1"


async def test_trash_in_wp_admin_is_rejected_in_service(env: Env) -> None:
    _, comment_id, _ = await env.post_comment(HELD_TEXTS["trash"], author="Bình")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "0"
    service_id = await service_id_of(env, comment_id)
    await env.admin_action(comment_id, "trashcomment")
    assert env.wp.comment_status(comment_id) == "trash"
    stored = await env.service_comment(service_id)
    assert stored["status"] == "rejected" and stored["decision"]["by"] == "wordpress"


async def test_approve_in_wp_admin_is_approved_in_service(env: Env) -> None:
    _, comment_id, _ = await env.post_comment(HELD_TEXTS["wp-approve"], author="Quang")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "0"
    service_id = await service_id_of(env, comment_id)
    await env.admin_action(comment_id, "approvecomment", listing="moderated")
    assert env.wp.comment_status(comment_id) == "1"
    assert (await env.service_comment(service_id))["status"] == "approved"


async def _service_texts(env: Env, status: str) -> list[str]:
    async with env.service.get(
        f"{env.service_url}/v1/review/queue",
        params={"site": SITE, "status": status, "limit": "200"},
        headers={"Authorization": f"Bearer {env.hoa_token}"},
    ) as resp:
        assert resp.status == 200
        page = await resp.json()
    return [item["comment"]["content"] for item in page["items"]]


async def test_duplicate_refused_by_wordpress_never_reaches_the_service(env: Env) -> None:
    text = "Cảm ơn phóng viên, thông tin rất hữu ích cho người dân ở quận Hai Bà Trưng."
    first_status, first_id, _ = await env.post_comment(text, author="Hoa", email="hoa.dup@example.vn")
    assert first_status == 302 and first_id is not None
    status, second_id, body = await env.post_comment(text, author="Hoa", email="hoa.dup@example.vn")
    assert status == 409 and second_id is None and "Duplicate comment detected" in body
    assert (await _service_texts(env, "approved")).count(text) == 1


async def test_flood_refused_by_wordpress_never_reaches_the_service(env: Env) -> None:
    ip = env.next_ip()
    first = "Đường Giải Phóng sáng nay lại ngập, mong thành phố sớm có giải pháp thoát nước."
    second = "Bổ sung: đoạn gần bến xe Giáp Bát ngập sâu nhất, xe máy chết máy hàng loạt."
    status, comment_id, _ = await env.post_comment(first, author="Nam", ip=ip)
    assert status == 302 and comment_id is not None
    status, _, body = await env.post_comment(second, author="Nam", ip=ip)
    assert status == 429 and "too quickly" in body
    assert second not in await _service_texts(env, "approved")
    assert second not in await _service_texts(env, "pending")


async def test_comment_refused_after_the_check_is_rejected_in_service(env: Env) -> None:
    text = "REFUSE-AFTER-CHECK Ý kiến của tôi về quy hoạch khu đô thị mới phía tây thành phố."
    status, comment_id, _ = await env.post_comment(text, author="Thảo")
    assert status == 403 and comment_id is None and env.wp.comments_with("REFUSE-AFTER-CHECK") == []
    async with env.service.get(
        f"{env.service_url}/v1/review/queue",
        params={"site": SITE, "status": "rejected", "limit": "200"},
        headers={"Authorization": f"Bearer {env.hoa_token}"},
    ) as resp:
        items = (await resp.json())["items"]
    refused = [i for i in items if i["comment"]["content"] == text]
    assert len(refused) == 1 and refused[0]["decision"]["by"] == "wordpress"
    assert text not in await _service_texts(env, "approved")


def _signed(secret: str, body: bytes, at: int) -> dict[str, str]:
    mac = hmac.new(secret.encode(), str(at).encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Moderation-Signature": f"t={at},v1={mac}"}


async def test_webhook_receiver_refuses_bad_and_replayed_signatures(env: Env) -> None:
    _, comment_id, _ = await env.post_comment(HELD_TEXTS["webhook"], author="Vy")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "0"
    service_id = await service_id_of(env, comment_id)
    event = {"id": "evt_test", "type": "comment.spam", "created_at": "2026-01-01T00:00:00.000Z", "site": SITE,
             "revision": 1, "comment": {"id": service_id, "status": "spam"}, "decision": {"by": "mallory"}}
    body = json.dumps(event).encode()
    now = int(time.time())
    attempts = {
        "unsigned": {"Content-Type": "application/json"},
        "wrong secret": _signed("whsec_wrong", body, now),
        "replayed (10 minutes old)": _signed(env.webhook_secret, body, now - 600),
        "from the future": _signed(env.webhook_secret, body, now + 600),
    }
    for what, headers in attempts.items():
        async with env.service.post(env.wp.events_url, data=body, headers=headers) as resp:
            assert resp.status == 401, what
    # The body is signed, not just the timestamp: the same signature on another body fails.
    headers = _signed(env.webhook_secret, body, now)
    async with env.service.post(env.wp.events_url, data=body.replace(b"comment.spam", b"comment.approved"),
                                headers=headers) as resp:
        assert resp.status == 401
    assert env.wp.comment_status(comment_id) == "0"
    # A correctly signed event applies once; sending it again changes nothing.
    for expected in ("applied", "stale"):
        async with env.service.post(env.wp.events_url, data=body, headers=_signed(env.webhook_secret, body, now)) as r:
            assert r.status == 200 and (await r.json())["result"] == expected
    assert env.wp.comment_status(comment_id) == "spam"
    # "Not spam" in wp-admin afterwards: the service approves, and a late retry of the older
    # spam event no longer undoes that decision.
    await env.admin_action(comment_id, "unspamcomment", listing="spam")
    assert (await env.service_comment(service_id))["status"] == "approved"
    assert env.wp.comment_status(comment_id) == "1"
    async with env.service.post(env.wp.events_url, data=body, headers=_signed(env.webhook_secret, body, now)) as r:
        assert r.status == 200 and (await r.json())["result"] == "stale"
    assert env.wp.comment_status(comment_id) == "1"


async def test_required_fields_refused_by_wordpress_never_reach_the_service(env: Env) -> None:
    text = "Tôi không muốn để lại email nhưng vẫn muốn góp ý về dự án cầu Tứ Liên."
    async with env.visitor.post(
        f"{env.wp.url}/wp-comments-post.php", allow_redirects=False,
        data={"comment": text, "author": "Ẩn danh", "email": "", "comment_post_ID": "1", "comment_parent": "0"},
    ) as resp:
        assert "fill the required fields" in await resp.text()
    assert env.wp.comments_with("cầu Tứ Liên") == []
    for status in ("approved", "pending", "spam", "rejected"):
        assert text not in await _service_texts(env, status)


async def _save_settings(env: Env, **values: str) -> None:
    """Save the settings screen with ``values`` (the service URL as set up unless given; blank
    secret fields, which keep the stored secrets)."""
    page = await env.admin_get("options-general.php?page=moderation-service")
    form = {**await _form_fields(page, 'action="options.php"'),
            **{f"moderation_service[{k}]": v for k, v in {"url": env.proxy.url, **values}.items()}}
    async with env.admin.post(f"{env.wp.url}/wp-admin/options.php", data=form) as resp:
        assert resp.status == 200


async def _run_wp_cron(env: Env) -> None:
    async with env.visitor.get(f"{env.wp.url}/wp-cron.php") as resp:
        assert resp.status == 200


async def test_service_unreachable_holds_the_comment_and_wp_cron_sends_it_later(env: Env) -> None:
    env.proxy.down()
    try:
        text = "Xin hỏi khi nào tuyến buýt số 18 chạy lại lộ trình cũ qua phố Kim Mã?"
        status, comment_id, _ = await env.post_comment(text, author="Hải")
        assert status == 302 and comment_id is not None
        assert env.wp.comment_status(comment_id) == "0"
        assert env.wp.comment_meta(comment_id, "_moderation_id") is None
        await _run_wp_cron(env)  # still down: stays unsent
        assert env.wp.comment_meta(comment_id, "_moderation_unsent") == "1"
        assert "1 comment(s) not sent yet" in await env.admin_get("edit-comments.php")
    finally:
        env.proxy.up()
    # Back up: the next WP-Cron run sends it, and it gets the status it would have had.
    await _run_wp_cron(env)
    service_id = await service_id_of(env, comment_id)
    assert env.wp.comment_meta(comment_id, "_moderation_unsent") is None
    assert (await env.service_comment(service_id))["status"] == "approved"
    assert env.wp.comment_status(comment_id) == "1"


async def test_saving_the_settings_keeps_the_secrets(env: Env) -> None:
    await _save_settings(env)  # blank secret fields keep the stored ones
    _, comment_id, _ = await env.post_comment("Cảm ơn tòa soạn đã cập nhật thông tin kịp thời.", author="Hải")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "1"
    assert env.wp.comment_meta(comment_id, "_moderation_id")


async def test_wordpress_discussion_settings_still_apply(env: Env) -> None:
    # "Comment author must have a previously approved comment": WordPress holds a new author's
    # comment the service approved; approving it in wp-admin records the approval there.
    env.wp.set_option("comment_previously_approved", "1")
    try:
        status, comment_id, _ = await env.post_comment(
            "Chúc mừng đội tuyển, trận đấu tối qua thật sự rất hấp dẫn.", author="Phong")
    finally:
        env.wp.set_option("comment_previously_approved", "")
    assert status == 302 and comment_id is not None
    assert env.wp.comment_status(comment_id) == "0"
    service_id = await service_id_of(env, comment_id)
    assert (await env.service_comment(service_id))["status"] == "approved"
    await env.admin_action(comment_id, "approvecomment", listing="moderated")
    stored = await env.service_comment(service_id)
    assert stored["status"] == "approved" and stored["decision"]["by"] == "wordpress"
    # "Disallowed comment keys": WordPress files the comment as spam itself; it is not sent.
    env.wp.set_option("disallowed_keys", "casino")
    try:
        status, comment_id, _ = await env.post_comment("Vào casino online nhận thưởng lớn mỗi ngày.", author="X")
    finally:
        env.wp.set_option("disallowed_keys", "")
    assert status == 302 and comment_id is not None
    assert env.wp.comment_status(comment_id) in {"spam", "trash"}
    assert env.wp.comment_meta(comment_id, "_moderation_id") is None


async def test_comment_decided_in_wp_admin_before_it_was_sent_carries_that_decision(env: Env) -> None:
    env.proxy.down()
    try:
        _, comment_id, _ = await env.post_comment("Bình luận này lạc đề, nói về chuyện bóng đá.", author="Lạc")
        assert comment_id is not None and env.wp.comment_status(comment_id) == "0"
        await env.admin_action(comment_id, "trashcomment")
    finally:
        env.proxy.up()
    await _run_wp_cron(env)
    stored = await env.service_comment(await service_id_of(env, comment_id))
    assert stored["status"] == "rejected" and stored["decision"]["by"] == "wordpress"
    assert env.wp.comment_status(comment_id) == "trash"


async def test_approve_in_wp_admin_while_the_service_is_down_is_sent_when_it_is_back(env: Env) -> None:
    text = "Ý kiến của tôi: nên mở thêm tuyến buýt nhanh https://a.example.vn/1 https://b.example.vn/2 https://c.example.vn/3"
    _, comment_id, _ = await env.post_comment(text, author="Thắng")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "0"
    service_id = await service_id_of(env, comment_id)
    assert (await env.service_comment(service_id))["status"] == "pending"
    env.proxy.down()
    try:
        await env.admin_action(comment_id, "approvecomment", listing="moderated")
        assert env.wp.comment_status(comment_id) == "1"
        # Kept in WordPress's outbox, and said so in the comment list.
        assert env.wp.comment_meta(comment_id, "_moderation_outbox") is not None
        listing = await env.admin_get("edit-comments.php?comment_status=all")
        assert "1 decision(s) waiting to be sent" in _row(listing, comment_id)
        assert "1 comment(s) with decisions waiting to be sent" in listing
        await _run_wp_cron(env)  # still down: still queued
        assert env.wp.comment_meta(comment_id, "_moderation_outbox") is not None
        assert (await env.service_comment(service_id))["status"] == "pending"
    finally:
        env.proxy.up()
    await _run_wp_cron(env)
    stored = await env.service_comment(service_id)
    assert (stored["status"], stored["decision"]["by"]) == ("approved", "wordpress")
    assert stored["decision"]["note"].startswith(f"wp-admin: {wpmod.ADMIN_USER}")
    assert env.wp.comment_meta(comment_id, "_moderation_outbox") is None
    listing = await env.admin_get("edit-comments.php?comment_status=all")
    assert "synced " in _row(listing, comment_id)
    assert "waiting to be sent" not in listing
    await events_delivered(env)
    assert env.wp.comment_status(comment_id) == "1"


async def test_a_service_answering_after_the_plugins_timeout_leaves_no_409(env: Env) -> None:
    """The service stores the comment but its answer comes after WordPress gave up (2 s in
    this test): WordPress holds the comment, and WP-Cron's retry, with the same
    Idempotency-Key, gets the service's answer to the first attempt."""
    text = "Cầu vượt ở ngã tư Vọng sắp thông xe chưa ạ? Mình đi qua hằng ngày."
    env.proxy.slow()
    try:
        status, comment_id, _ = await env.post_comment(text, author="Trung")
        # WordPress waited for the service until its timeout; the service did answer, too late.
        assert env.proxy.gave_up.is_set() and env.proxy.answered.is_set()
    finally:
        env.proxy.up()
    assert status == 302 and comment_id is not None
    assert env.wp.comment_status(comment_id) == "0"
    assert env.wp.comment_meta(comment_id, "_moderation_unsent") == "1"
    key = env.wp.comment_meta(comment_id, "_moderation_key")
    assert key and key.startswith("wp-")
    await _run_wp_cron(env)
    service_id = await service_id_of(env, comment_id)
    stored = await env.service_comment(service_id)
    assert stored["status"] == "approved"
    assert env.wp.comment_status(comment_id) == "1"
    assert env.wp.comment_meta(comment_id, "_moderation_sync") is None
    assert env.wp.comment_meta(comment_id, "_moderation_unsent") is None
    # One record in the service, not two.
    assert (await _service_texts(env, "approved")).count(text) == 1


async def test_a_409_duplicate_links_the_comment_to_the_service_record(env: Env) -> None:
    """The service has the comment already (here: WordPress lost its copy): the new WordPress
    comment is linked to that record and takes its status."""
    text = "Mong thành phố sớm lắp thêm đèn chiếu sáng trên đường Lạc Long Quân."
    email = "an.duplicate@example.vn"
    _, first_id, _ = await env.post_comment(text, author="An", email=email)
    assert first_id is not None and env.wp.comment_status(first_id) == "1"
    first_service_id = await service_id_of(env, first_id)
    env.wp.db.sql(f"DELETE FROM wp_comments WHERE comment_ID = {first_id}")
    env.wp.db.sql(f"DELETE FROM wp_commentmeta WHERE comment_id = {first_id}")
    status, second_id, body = await env.post_comment(text, author="An", email=email)
    assert status == 302 and second_id is not None, body[-500:]
    assert env.wp.comment_meta(second_id, "_moderation_id") == first_service_id
    assert env.wp.comment_status(second_id) == "1"
    assert (await _service_texts(env, "approved")).count(text) == 1


def _row(listing: str, comment_id: int) -> str:
    """The comment list's row of one comment (its <tr> … </tr>)."""
    start = listing.index(f"<tr id='comment-{comment_id}'")
    return listing[start : listing.index("</tr>", start)]


async def test_the_comment_list_shows_the_services_status_score_and_reasons(env: Env) -> None:
    text = "Số liệu ô nhiễm không khí: https://aqi.example.vn/hn, https://moitruong.example.vn/bao-cao, https://who.example.vn/vn"
    _, comment_id, _ = await env.post_comment(text, author="Khoa")
    assert comment_id is not None and env.wp.comment_status(comment_id) == "0"
    stored = await env.service_comment(await service_id_of(env, comment_id))
    row = _row(await env.admin_get("edit-comments.php?comment_status=all"), comment_id)
    assert f"pending · spam {stored['spam_score']:.2f}" in row
    reason = next(r for r in stored["reasons"] if r["code"] == "too_many_links")
    assert f'<li data-code="too_many_links">{reason["message"]}</li>' in row


async def test_test_the_connection_reports_the_signed_test_webhook(env: Env) -> None:
    assert "Webhook: a signed test event from the service arrived here" in env.settings_page
    # With a webhook secret that is not the service's, the event arrives and is refused.
    await _save_settings(env, webhook_secret="whsec_not-the-services")
    try:
        page = await env.admin_get("options-general.php?page=moderation-service")
        form = await _form_fields(page, 'action="' + f"{env.wp.url}/wp-admin/admin-post.php")
        async with env.admin.post(f"{env.wp.url}/wp-admin/admin-post.php", data=form) as resp:
            result = await resp.text()
    finally:
        await _save_settings(env, webhook_secret=env.webhook_secret)
    assert 'id="moderation-test-webhook"' in result
    assert "its signature did not match" in result


async def test_language_and_post_title_are_sent(env: Env) -> None:
    env.wp.db.sql("UPDATE wp_posts SET post_title = 'Giá xăng tăng <em>lần thứ ba</em> &amp; hơn thế' WHERE ID = 1")
    _, comment_id, _ = await env.post_comment("Giá xăng tăng mãi thế này thì dân chịu sao nổi.", author="Bảo")
    assert comment_id is not None
    view = await _moderator_view(env, await service_id_of(env, comment_id))
    # Debian's WordPress installs in en_US: sent as "en", not "en-us".
    assert view["comment"]["lang"] == "en"
    assert view["comment"]["post_title"] == "Giá xăng tăng lần thứ ba & hơn thế"
    assert view["comment"]["post_url"].startswith(f"{env.wp.url}/") and "hello-world" in view["comment"]["post_url"]
    # A Vietnamese site ("vi", the locale WordPress's language setting stores).
    env.wp.db.sql("INSERT INTO wp_options (option_name, option_value) VALUES ('WPLANG', 'vi') "
                  "ON DUPLICATE KEY UPDATE option_value = 'vi'")
    try:
        _, comment_id, _ = await env.post_comment("Bài viết đúng trọng tâm, cảm ơn phóng viên.", author="Bảo Anh")
    finally:
        env.wp.db.sql("UPDATE wp_options SET option_value = '' WHERE option_name = 'WPLANG'")
    assert comment_id is not None
    assert (await _moderator_view(env, await service_id_of(env, comment_id)))["comment"]["lang"] == "vi"


async def _moderator_view(env: Env, service_id: str) -> dict[str, Any]:
    for status in ("approved", "pending", "spam", "rejected"):
        async with env.service.get(
            f"{env.service_url}/v1/review/queue", params={"site": SITE, "status": status, "limit": "200"},
            headers={"Authorization": f"Bearer {env.hoa_token}"},
        ) as resp:
            for item in (await resp.json())["items"]:
                if item["id"] == service_id:
                    return dict(item)
    raise AssertionError(f"{service_id} is in no queue")
