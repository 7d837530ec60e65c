"""The Akismet route against a real WordPress: Debian's package and its Akismet plugin (5.0.2),
with the must-use plugin integrations/wordpress/moderation-akismet.php sending Akismet's calls
to the service (through a proxy that can play an outage), on a real MariaDB.

What an operator does and sees: the site's Akismet-style key typed into Akismet's own key form,
comments checked and stored, a comment held while the service was unreachable resolved by
Akismet's automatic re-check, "Check for Spam" re-checking the queue, and Akismet's settings page
rendered in Chromium without one request carrying the key anywhere but to the service.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from playwright.async_api import Request, Route, async_playwright
from redis.asyncio import Redis

from moderation.core.settings import Settings
from moderation.scoring.scorer import Scorer
from moderation.store import auth
from moderation.store.comments import Store
from moderation.web.app import create_app
from tests import wordpress as wpmod
from tests.conftest import RedisServer
from tests.test_browser import CHROMIUM_ARGS, chromium_path
from tests.test_wordpress import HAM_TEXT, SPAM_TEXT, until
from tests.wordpress import WordPress

pytestmark = [pytest.mark.wordpress, pytest.mark.timeout(300)]

SITE = "wp-akismet"
AKISMET_PLUGIN = "akismet/akismet.php"
BROWSER_TIMEOUT_MS = 30_000

# Test-only: an admin can make WordPress send the Akismet key to some other address, to see
# that the must-use plugin refuses it (what a plugin or theme leaking the key would do).
_LEAK_PROBE = r"""<?php
add_action( 'admin_init', function () {
	if ( empty( $_GET['moderation_leak_probe'] ) || ! current_user_can( 'manage_options' ) ) {
		return;
	}
	$target   = esc_url_raw( wp_unslash( $_GET['moderation_leak_probe'] ) );
	$response = wp_remote_post( add_query_arg( 'k', Akismet::get_api_key(), $target ), array( 'body' => 'x=1' ) );
	wp_send_json( array( 'error' => is_wp_error( $response ) ? $response->get_error_code() : null ) );
} );
"""


@dataclass
class Env:
    wp: WordPress
    proxy: wpmod.ServiceProxy
    redis: Redis
    service_url: str
    service: aiohttp.ClientSession
    visitor: aiohttp.ClientSession
    admin: aiohttp.ClientSession
    akismet_key: str = field(repr=False)
    api_key: str = field(repr=False)
    moderator_token: str = field(repr=False)
    ips: int = 0

    def next_ip(self) -> str:
        self.ips += 1
        return f"198.51.100.{self.ips}"

    async def post_comment(self, content: str, author: str) -> int:
        form = {"comment": content, "author": author, "email": f"doc.gia{self.ips + 1}@example.vn", "url": "",
                "comment_post_ID": "1", "comment_parent": "0"}
        async with self.visitor.post(f"{self.wp.url}/wp-comments-post.php", data=form, allow_redirects=False,
                                     headers={"X-Test-Visitor-IP": self.next_ip()}) as resp:
            match = re.search(r"#comment-(\d+)", resp.headers.get("Location", ""))
            assert resp.status == 302 and match, (resp.status, (await resp.text())[-500:])
            return int(match.group(1))

    async def admin_get(self, path: str) -> str:
        async with self.admin.get(f"{self.wp.url}/wp-admin/{path}") as resp:
            assert resp.status == 200, (path, resp.status)
            return await resp.text()

    async def service_items(self, status: str) -> list[dict[str, Any]]:
        async with self.service.get(
            f"{self.service_url}/v1/review/queue", params={"site": SITE, "status": status, "limit": "200"},
            headers={"Authorization": f"Bearer {self.moderator_token}"},
        ) as resp:
            assert resp.status == 200
            return list((await resp.json())["items"])

    async def stored(self, text: str) -> list[tuple[str, str]]:
        """(status, id) of every comment the service stored with this text."""
        found = []
        for status in ("approved", "pending", "spam", "rejected"):
            found += [(status, i["id"]) for i in await self.service_items(status) if i["comment"]["content"] == text]
        return found


@pytest.fixture(scope="module")
async def env(redis_server: RedisServer, scorer: Scorer) -> AsyncIterator[Env]:
    redis = Redis.from_url(redis_server.url, decode_responses=True)
    app = create_app(Settings(redis_url=redis_server.url, batch_max_wait_ms=1.0), scorer=scorer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    proxy = wpmod.ServiceProxy("127.0.0.1", server.port)
    await proxy.start()
    service, visitor = aiohttp.ClientSession(), aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
    admin = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        api_key = await auth.create_site(redis, SITE, "Báo Tỉnh (Akismet)", int(time.time() * 1000))
        await Store(redis, idempotency_ttl=60).ensure_group(SITE)
        token = await auth.add_moderator(redis, [SITE], "hoa")
        akismet_key = await auth.rotate_akismet_key(redis, SITE)
        config = f"define('MODERATION_AKISMET_URL', '{proxy.url}');\n"
        with tempfile.TemporaryDirectory(prefix="moderation-wp-akismet-") as tmp, \
                wpmod.wordpress(Path(tmp), extra_config=config, akismet=True) as wp:
            (wp.content / "mu-plugins" / "test-leak-probe.php").write_text(_LEAK_PROBE)
            e = Env(wp, proxy, redis, str(server.make_url("")).rstrip("/"), service, visitor, admin, akismet_key,
                    api_key, token)
            await wpmod.install(wp, admin)
            await wpmod.activate(wp, admin, AKISMET_PLUGIN)
            wp.set_option("comment_previously_approved", "")
            yield e
    finally:
        for session in (admin, visitor, service):
            await session.close()
        await proxy.close()
        await server.close()
        keys = [k async for k in redis.scan_iter(match=f"site:{{{SITE}}}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _enter_key(env: Env, typed: str) -> str:
    """Akismet's own key form (Settings → Akismet Anti-spam → Manually enter an API key)."""
    page = await env.admin_get("options-general.php?page=akismet-key-config")
    form = wpmod.hidden_fields(page, "enter-api-key")
    form["key"] = typed
    async with env.admin.post(f"{env.wp.url}/wp-admin/options-general.php?page=akismet-key-config",
                              data=form) as resp:
        assert resp.status == 200
        return await resp.text()


async def test_akismets_own_key_form_accepts_the_key(env: Env) -> None:
    # Typed with a stray space and in capitals: the form keeps a-f0-9 as typed, and the
    # 12 digits are what Akismet's verify_key sends instead of refusing unasked.
    page = await _enter_key(env, f" {env.akismet_key.upper()} ")
    assert env.wp.db.sql("SELECT option_value FROM wp_options WHERE option_name = 'wordpress_api_key'") == [
        [env.akismet_key.upper()]]
    assert "akismet-key-config" in page and "Your API key is no longer valid" not in page
    # Every call from here on uses the key: a first comment is checked and stored.
    comment_id = await env.post_comment(HAM_TEXT, author="Lan")
    assert env.wp.comment_status(comment_id) == "1"
    assert env.wp.comment_meta(comment_id, "akismet_result") == "false"
    assert [s for s, _ in await env.stored(HAM_TEXT)] == ["approved"]


async def test_spam_is_spam_and_the_settings_page_keeps_the_key_at_home(env: Env) -> None:
    comment_id = await env.post_comment(SPAM_TEXT, author="Kiếm tiền")
    assert env.wp.comment_status(comment_id) == "spam"
    # With spam counted, Akismet's settings page embeds its statistics frame from
    # tools.akismet.com, with the key in the frame's address. Rendered in Chromium:
    requests: list[Request] = []
    html = await _render(env, "options-general.php?page=akismet-key-config", requests)
    served = await env.admin_get("options-general.php?page=akismet-key-config")
    assert "moderation-akismet-stats" in served  # the frame was there, and was replaced
    for page in (served, html):  # as sent, and as the browser has it after its scripts ran
        leaks = _key_urls(page, env.akismet_key)
        assert leaks == [], leaks
    for request in requests:
        carried = " ".join([request.url, request.post_data or "", *request.headers.values()])
        if _carries(carried, env.akismet_key):
            assert urlsplit(request.url).netloc == urlsplit(env.proxy.url).netloc, request.url
    # The page really was Akismet's, with its figures from the service.
    assert "Spam blocked" in html and "Accuracy" in html
    hosts = {urlsplit(r.url).netloc for r in requests}
    assert urlsplit(env.wp.url).netloc in hosts


async def test_the_key_is_not_sent_to_any_other_host(env: Env) -> None:
    got: list[str] = []

    async def record(request: web.Request) -> web.Response:
        got.append(str(request.url) + (await request.text()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    elsewhere = TestServer(app, host="127.0.0.1")
    await elsewhere.start_server()
    try:
        probe = f"options-general.php?moderation_leak_probe={elsewhere.make_url('/collect')}"
        async with env.admin.get(f"{env.wp.url}/wp-admin/{probe}") as resp:
            answer = await resp.json(content_type=None)
    finally:
        await elsewhere.close()
    assert answer == {"error": "moderation_akismet_key_withheld"}
    assert got == []


async def test_a_comment_held_during_an_outage_is_resolved_by_akismets_automatic_recheck(env: Env) -> None:
    ham = "Cảm ơn bài viết, mình đã đăng ký tiêm phòng cho con theo hướng dẫn của phường."
    # Held by the site's own word list in the service; nothing WordPress itself would hold.
    held = "Khu này dính quy hoạch treo mười năm rồi, ai chịu trách nhiệm cho người dân?"
    await _set_site(env, moderation_words=["quy hoạch treo"])
    env.proxy.down()
    try:
        ham_id = await env.post_comment(ham, author="Mai")
        held_id = await env.post_comment(held, author="Tâm")
    finally:
        env.proxy.up()
    # Akismet could not ask: both held, to be checked again.
    for comment_id in (ham_id, held_id):
        assert env.wp.comment_status(comment_id) == "0"
        assert env.wp.comment_meta(comment_id, "akismet_error") is not None
    assert await env.stored(ham) == [] and await env.stored(held) == []
    # Akismet scheduled its re-check (20 minutes on; due now in this test): WP-Cron runs it.
    async with env.visitor.get(f"{env.wp.url}/wp-cron.php") as resp:
        assert resp.status == 200

    async def rechecked() -> bool:
        return all(env.wp.comment_meta(c, "akismet_error") is None for c in (ham_id, held_id))

    await until("Akismet's re-check to resolve both comments", rechecked)
    # Re-checks are stored like first checks: published / held, as the service decided.
    assert [s for s, _ in await env.stored(ham)] == ["approved"]
    assert env.wp.comment_status(ham_id) == "1"
    assert [s for s, _ in await env.stored(held)] == ["pending"]
    assert env.wp.comment_status(held_id) == "0"


async def test_check_for_spam_asks_the_service_again_without_storing_twice(env: Env) -> None:
    text = "Thông tin thêm: https://a1.example.vn/x https://b1.example.vn/y https://c1.example.vn/z"
    comment_id = await env.post_comment(text, author="Dũng")
    assert env.wp.comment_status(comment_id) == "0"
    [(status, service_id)] = await env.stored(text)
    assert status == "pending"
    # The service's moderator files it as spam; "Check for Spam" in wp-admin asks again.
    async with env.service.post(f"{env.service_url}/v1/review/{service_id}/decision", json={"decision": "spam"},
                                headers={"Authorization": f"Bearer {env.moderator_token}"}) as resp:
        assert resp.status == 200
    listing = await env.admin_get("edit-comments.php?comment_status=moderated")
    nonce = re.search(r'class="[^"]*checkforspam[^"]*"[^>]*data-nonce="([0-9a-f]+)"', listing) or re.search(
        r'data-nonce="([0-9a-f]+)"[^>]*class="[^"]*checkforspam', listing)
    assert nonce, "no Check for Spam button"
    async with env.admin.post(f"{env.wp.url}/wp-admin/admin-ajax.php", data={
        "action": "akismet_recheck_queue", "nonce": nonce.group(1), "offset": "0", "limit": "100",
    }) as resp:
        counts = (await resp.json())["counts"]
    assert counts["spam"] >= 1
    assert env.wp.comment_status(comment_id) == "spam"
    assert await env.stored(text) == [("spam", service_id)]


# ------------------------------------------------------------------ helpers


async def _set_site(env: Env, **settings: object) -> None:
    url = f"{env.service_url}/v1/sites/{SITE}/settings"
    headers = {"Authorization": f"Bearer {env.moderator_token}"}
    async with env.service.get(url, headers=headers) as resp:
        version = (await resp.json())["version"]
    async with env.service.put(url, headers=headers, json={"version": version, **settings}) as resp:
        assert resp.status == 200, await resp.text()


def _carries(text: str, key: str) -> bool:
    return key.lower() in unquote(text).lower()


def _key_urls(html: str, key: str) -> list[str]:
    """Every URL in the page (attributes, scripts, styles) that carries the key."""
    urls = re.findall(r"""(?:src|href|action|data|poster|srcset|formaction|background)\s*=\s*["']([^"']*)["']""",
                      html, flags=re.IGNORECASE)
    urls += re.findall(r"""(?:https?:)?(?:\\?/){2}[^\s"'<>()]+""", html)
    urls += re.findall(r"""url\(([^)]*)\)""", html)
    return [u for u in urls if _carries(u.replace("&amp;", "&").replace("&#038;", "&"), key)]


async def _render(env: Env, path: str, requests: list[Request]) -> str:
    """The wp-admin page as Chromium loads it (scripts run, frames load), every request
    recorded; requests to hosts other than WordPress and the service are recorded and
    aborted (nothing leaves the machine either way)."""
    allowed = {urlsplit(env.wp.url).netloc, urlsplit(env.proxy.url).netloc}

    async def guard(route: Route) -> None:
        if urlsplit(route.request.url).netloc in allowed:
            await route.continue_()
        else:
            await route.abort()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context()
            await context.add_cookies(
                [{"name": c.key, "value": c.value, "url": env.wp.url} for c in env.admin.cookie_jar]  # type: ignore[misc]
            )
            await context.route("**/*", guard)
            page = await context.new_page()
            page.set_default_timeout(BROWSER_TIMEOUT_MS)
            context.on("request", lambda request: requests.append(request))
            await page.goto(f"{env.wp.url}/wp-admin/{path}", wait_until="load")
            await page.wait_for_load_state("networkidle")
            # Frames' own documents too: what a frame loads is a request of the page.
            html = await page.content()
            await asyncio.gather(*(f.wait_for_load_state() for f in page.frames))
            return html
        finally:
            await browser.close()
