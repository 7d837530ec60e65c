"""The moderator page's server side: sessions in Redis, cookie flags, CSRF, security headers."""

from __future__ import annotations

import os
from http.cookies import SimpleCookie

import aiohttp
from redis.asyncio import Redis

from moderation.store import auth, keys
from moderation.web import appkeys
from moderation.web.ui import CSRF_HEADER, SESSION_COOKIE
from tests.conftest import Api, AppFactory, Site
from tests.test_api import force_pending


async def sign_in(api: Api, token: str) -> tuple[aiohttp.ClientSession, str, aiohttp.ClientResponse]:
    """A fresh client (own cookie jar) signed in with ``token``; returns it, the CSRF token and the reply."""
    client = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    resp = await client.post(api.url("/moderate/session"), json={"token": token})
    body = await resp.json(content_type=None)
    return client, body.get("csrf_token", ""), resp


def session_id(resp: aiohttp.ClientResponse) -> str:
    cookie = SimpleCookie()
    cookie.load(resp.headers["Set-Cookie"])
    return cookie[SESSION_COOKIE].value


async def test_sign_in_sets_a_strict_httponly_cookie_and_a_redis_session(api: Api, site: Site, redis: Redis) -> None:
    client, csrf, resp = await sign_in(api, site.moderator_token)
    async with client:
        assert resp.status == 201
        raw = resp.headers["Set-Cookie"]
        assert "HttpOnly" in raw and "SameSite=Strict" in raw and "Path=/" in raw
        assert site.moderator_token not in raw
        sid = session_id(resp)
        # Redis keeps the session under the id's digest, pointing at the token's digest, with a TTL.
        stored = await redis.get(keys.session(auth.digest(sid)))
        assert stored is not None and auth.digest(site.moderator_token) in stored
        assert site.moderator_token not in stored and sid not in stored
        ttl = await redis.ttl(keys.session(auth.digest(sid)))
        assert 0 < ttl <= api.app[appkeys.SETTINGS].session_seconds
        me = await (await client.get(api.url("/moderate/session"))).json()
        assert me["moderator"] == "mod-a" and me["sites"] == [site.site_id] and me["csrf_token"] == csrf
        # The cookie alone reads the queue.
        queue = await client.get(api.url(f"/v1/review/queue?site={site.site_id}"))
        assert queue.status == 200


async def test_wrong_token_is_refused_and_sets_no_cookie(api: Api, site: Site) -> None:
    client, _, resp = await sign_in(api, "mt-not-a-real-token")
    async with client:
        assert resp.status == 401
        assert "Set-Cookie" not in resp.headers
        # No session: the page's question on load, answered without an error.
        assert (await client.get(api.url("/moderate/session"))).status == 204
    # A site key is not a moderator token either.
    client, _, resp = await sign_in(api, site.api_key)
    async with client:
        assert resp.status == 401


async def test_state_changes_need_the_csrf_header(api: Api, site: Site, redis: Redis) -> None:
    [cid] = await force_pending(redis, site, 1, api)
    client, csrf, _ = await sign_in(api, site.moderator_token)
    async with client:
        path = api.url(f"/v1/review/{cid}/decision")
        missing = await client.post(path, json={"decision": "approve"})
        assert missing.status == 403 and (await missing.json())["code"] == "csrf_failed"
        wrong = await client.post(path, json={"decision": "approve"}, headers={CSRF_HEADER: csrf + "x"})
        assert wrong.status == 403
        claim = await client.post(api.url("/v1/review/claim"), json={"site": site.site_id, "count": 1})
        assert claim.status == 403
        # Right token, but sent from another origin: refused too.
        cross = await client.post(
            path, json={"decision": "approve"}, headers={CSRF_HEADER: csrf, "Origin": "https://evil.example"}
        )
        assert cross.status == 403
        fetch_site = await client.post(
            path, json={"decision": "approve"}, headers={CSRF_HEADER: csrf, "Sec-Fetch-Site": "cross-site"}
        )
        assert fetch_site.status == 403
        assert (await redis.hget(keys.comment(site.site_id, cid), "status")) == "pending"
        same_origin = {CSRF_HEADER: csrf, "Origin": api.url("/").rstrip("/")}
        ok = await client.post(path, json={"decision": "approve"}, headers=same_origin)
        assert ok.status == 200, await ok.text()
        assert (await ok.json())["decision"]["by"] == "mod-a"


async def test_cross_site_sign_in_is_refused(api: Api, site: Site) -> None:
    async with aiohttp.ClientSession() as client:
        resp = await client.post(
            api.url("/moderate/session"), json={"token": site.moderator_token}, headers={"Origin": "https://evil.example"}
        )
        assert resp.status == 403 and "Set-Cookie" not in resp.headers
        form = await client.post(api.url("/moderate/session"), data={"token": site.moderator_token})
        assert form.status == 415


async def test_sign_out_deletes_the_session(api: Api, site: Site, redis: Redis) -> None:
    client, csrf, resp = await sign_in(api, site.moderator_token)
    sid = session_id(resp)
    async with client:
        assert (await client.delete(api.url("/moderate/session"))).status == 403  # CSRF header missing
        out = await client.delete(api.url("/moderate/session"), headers={CSRF_HEADER: csrf})
        assert out.status == 204
        assert await redis.get(keys.session(auth.digest(sid))) is None
    # Replaying the old cookie after sign-out gets nothing.
    async with aiohttp.ClientSession(cookies={SESSION_COOKIE: sid}) as replay:
        assert (await replay.get(api.url(f"/v1/review/queue?site={site.site_id}"))).status == 401
        assert (await replay.get(api.url("/moderate/session"))).status == 204


async def test_revoking_the_token_ends_its_sessions(api: Api, site: Site, redis: Redis) -> None:
    client, _, resp = await sign_in(api, site.moderator_token)
    sid = session_id(resp)
    async with client:
        assert await auth.revoke_moderator(redis, site.site_id, "mod-a")
        assert (await client.get(api.url(f"/v1/review/queue?site={site.site_id}"))).status == 401
        assert await redis.get(keys.session(auth.digest(sid))) is None


async def test_bearer_still_wins_over_a_cookie(api: Api, make_site, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    a = await make_site()
    b = await make_site(moderator="mod-b")
    client, _, _ = await sign_in(api, a.moderator_token)
    async with client:
        # An explicit Authorization header is used as before, whatever cookie rides along.
        resp = await client.get(
            api.url(f"/v1/review/queue?site={b.site_id}"), headers={"Authorization": f"Bearer {b.moderator_token}"}
        )
        assert resp.status == 200


async def test_page_and_static_files_carry_security_headers(api: Api) -> None:
    page = await api.request("GET", "/moderate")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    html = await page.text()
    # No inline script: every <script> has a src.
    assert "<script>" not in html and "<script " in html and "onclick" not in html
    for path in ("/static/js/app.js", "/static/js/api.js", "/static/js/i18n.js", "/static/moderate.css"):
        resp = await api.request("GET", path)
        assert resp.status == 200, path
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    js = await api.request("GET", "/static/js/app.js")
    assert "javascript" in js.headers["Content-Type"]
    assert "innerHTML" not in await js.text()
    api_reply = await api.request("GET", "/healthz")
    assert api_reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in api_reply.headers["Content-Security-Policy"]
    assert (await api.request("GET", "/static/../ui.py")).status == 404


async def test_cookie_is_secure_behind_a_trusted_https_proxy(make_api: AppFactory, site: Site) -> None:
    plain = await make_api()
    proxied = await make_api(trust_forwarded_for=True)
    https = {"X-Forwarded-Proto": "https"}
    body = {"token": site.moderator_token}
    async with aiohttp.ClientSession() as client:
        direct = await client.post(plain.url("/moderate/session"), json=body, headers=https)
        assert direct.status == 201 and "Secure" not in direct.headers["Set-Cookie"]  # header not trusted
        behind = await client.post(proxied.url("/moderate/session"), json=body, headers=https)
        assert behind.status == 201 and "Secure" in behind.headers["Set-Cookie"]


async def test_sign_in_spends_the_ip_budget(make_api: AppFactory, site: Site) -> None:
    api = await make_api(rate_limit_per_ip=2, trust_forwarded_for=True)
    # A client address of its own, so no other test's requests share this budget.
    me = {"X-Forwarded-For": f"198.51.100.{os.getpid() % 250 + 1}"}
    async with aiohttp.ClientSession() as client:
        statuses = [
            (await client.post(api.url("/moderate/session"), json={"token": f"mt-guess-{i}"}, headers=me)).status
            for i in range(3)
        ]
    assert statuses == [401, 401, 429]
