"""Access: keys at rest, rate limits, and per-site isolation on every route."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

import aiohttp
from redis.asyncio import Redis

from moderation.store import keys
from moderation.store.auth import digest
from tests.conftest import Api, AppFactory, Site, comment
from tests.test_api import force_pending

# ---------------------------------------------------------------------------------------
# Rate limits


def _test_ip() -> str:
    # A fresh documentation-range address per test, so budgets never carry over.
    return f"2001:db8::{secrets.token_hex(2)}:{secrets.token_hex(2)}"


Send = Callable[[], Awaitable[aiohttp.ClientResponse]]


async def _spend_until_429(send: Send, budget: int) -> aiohttp.ClientResponse:
    """The first ``budget`` requests pass; a 429 comes by request 2*budget+1 at the latest.

    A fixed window may restart once between two requests, which allows up to twice the
    budget; asserting that bound keeps the test exact without waiting for a boundary.
    """
    for n in range(1, 2 * budget + 2):
        resp = await send()
        if n <= budget:
            assert resp.status == 200, (n, await resp.text())
        elif resp.status == 429:
            return resp
    raise AssertionError(f"no 429 within {2 * budget + 1} requests")


async def test_rate_limit_per_key_429_with_retry_after(make_api: AppFactory, make_site) -> None:  # type: ignore[no-untyped-def]
    api = await make_api(rate_limit_per_key=3)
    a, b = await make_site(), await make_site()
    limited = await _spend_until_429(lambda: api.request("POST", "/v1/check", a.api_key, json=comment()), 3)
    assert limited.headers["Content-Type"].startswith("application/problem+json")
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert (await limited.json())["code"] == "rate_limited_key"
    # Another key has its own budget; so does a moderator token.
    assert (await api.request("POST", "/v1/check", b.api_key, json=comment())).status == 200
    queue = await api.request("GET", f"/v1/review/queue?site={a.site_id}", a.moderator_token)
    assert queue.status == 200


async def test_rate_limit_per_moderator_token(make_api: AppFactory, site: Site) -> None:
    api = await make_api(rate_limit_per_key=2)
    limited = await _spend_until_429(
        lambda: api.request("GET", f"/v1/review/queue?site={site.site_id}", site.moderator_token), 2
    )
    assert "Retry-After" in limited.headers


async def test_rate_limit_per_client_ip_counts_every_key_and_failed_auth(make_api: AppFactory, make_site) -> None:  # type: ignore[no-untyped-def]
    api = await make_api(rate_limit_per_ip=4, trust_forwarded_for=True)
    ip = _test_ip()
    sites = [await make_site() for _ in range(3)]
    turn = iter(range(100))

    async def send() -> aiohttp.ClientResponse:
        # Different keys from one address all spend the address's budget.
        key = sites[next(turn) % 3].api_key
        return await api.request("POST", "/v1/check", key, json=comment(), headers={"X-Forwarded-For": ip})

    limited = await _spend_until_429(send, 4)
    assert (await limited.json())["code"] == "rate_limited_client_ip"
    assert int(limited.headers["Retry-After"]) >= 1
    # Requests without a valid key are refused with 429 as well: guessing keys costs budget.
    guess = await api.request("POST", "/v1/check", "sk-x.guess", json=comment(), headers={"X-Forwarded-For": ip})
    assert guess.status == 429
    # Another client address is unaffected.
    other = await api.request("POST", "/v1/check", sites[0].api_key, json=comment(),
                              headers={"X-Forwarded-For": _test_ip()})
    assert other.status == 200


async def test_forwarded_for_is_ignored_unless_trusted(make_api: AppFactory, site: Site, redis: Redis) -> None:
    api = await make_api(rate_limit_per_ip=1000)
    spoofed = _test_ip()
    resp = await api.request("POST", "/v1/check", site.api_key, json=comment(), headers={"X-Forwarded-For": spoofed})
    assert resp.status == 200
    assert [k async for k in redis.scan_iter(match=f"rl:ip:{spoofed}:*")] == []


async def test_rate_limits_off_by_default(api: Api, site: Site, redis: Redis) -> None:
    for _ in range(5):
        assert (await api.request("POST", "/v1/check", site.api_key, json=comment())).status == 200
    assert [k async for k in redis.scan_iter(match=f"rl:key:{digest(site.api_key)}:*")] == []


# ---------------------------------------------------------------------------------------
# Keys at rest


async def test_keys_are_stored_only_as_digests(api: Api, site: Site, redis: Redis) -> None:
    secret_parts = {site.api_key, site.moderator_token, site.api_key.rsplit(".", 1)[1], site.moderator_token[3:]}
    await force_pending(redis, site, 1, api)
    await api.request("POST", "/v1/review/claim", site.moderator_token, json={"site": site.site_id, "count": 1})
    async for key in redis.scan_iter(match=f"*{site.site_id}*"):
        dumped = await redis.dump(key)
        assert dumped is not None
        assert not any(part.encode() in dumped for part in secret_parts), key
        assert not any(part in key for part in secret_parts), key
    assert await redis.hget(keys.site_meta(site.site_id), "key_hash") == digest(site.api_key)
    assert await redis.exists(keys.mod_token(digest(site.moderator_token)))


# ---------------------------------------------------------------------------------------
# The moderator's page (service/web/ui.py): browser-facing security headers, cookie and CSRF


def _csp(header: str) -> dict[str, str]:
    directives = (d.strip().split(None, 1) for d in header.split(";") if d.strip())
    return {d[0]: (d[1] if len(d) > 1 else "") for d in directives}


async def test_moderator_page_headers(api: Api) -> None:
    page = await api.request("GET", "/moderate")
    assert page.status == 200
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    csp = _csp(page.headers["Content-Security-Policy"])
    assert csp["frame-ancestors"] == "'none'"
    script = csp.get("script-src", csp.get("default-src", ""))
    assert script and "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "<script>" not in (await page.text())  # no inline script for a nonce to excuse
    for path in ("/v1/review/queue", "/openapi.json"):
        assert (await api.request("GET", path)).headers["X-Content-Type-Options"] == "nosniff"


async def test_moderator_session_cookie_and_csrf(api: Api, site: Site) -> None:
    login = await api.request("POST", "/moderate/session", json={"token": site.moderator_token})
    assert login.status in {200, 201}
    cookie_header = login.headers["Set-Cookie"].lower()
    assert "httponly" in cookie_header and "samesite=strict" in cookie_header
    csrf = (await login.json())["csrf_token"]
    cookie = {"Cookie": f"mod_session={login.cookies['mod_session'].value}"}
    claim = {"site": site.site_id, "count": 1}
    # State-changing calls with the cookie alone (what a forged cross-site form sends) fail.
    refused = await api.request("POST", "/v1/review/claim", json=claim, headers=cookie)
    assert refused.status == 403
    wrong = await api.request("POST", "/v1/review/claim", json=claim, headers={**cookie, "X-CSRF-Token": "x" + csrf})
    assert wrong.status == 403
    cross = await api.request("POST", "/v1/review/claim", json=claim,
                              headers={**cookie, "X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert cross.status == 403
    ok = await api.request("POST", "/v1/review/claim", json=claim, headers={**cookie, "X-CSRF-Token": csrf})
    assert ok.status == 200


async def test_metrics_token_guards_the_site_list(make_api, site) -> None:  # type: ignore[no-untyped-def]
    # /metrics names every site; an operator can require a scraper token for it.
    api = await make_api(metrics_token="scrape-secret-1")
    assert (await api.request("GET", "/metrics")).status == 401
    assert (await api.request("GET", "/metrics", "wrong")).status == 401
    assert (await api.request("GET", "/metrics", site.api_key)).status == 401
    ok = await api.request("GET", "/metrics", "scrape-secret-1")
    assert ok.status == 200
    assert f'site="{site.site_id}"' in await ok.text()
    assert "scrape-secret-1" not in repr(api.app[__import__("moderation.web.appkeys").web.appkeys.SETTINGS])
