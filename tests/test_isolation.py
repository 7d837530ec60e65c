"""Per-site isolation on every route: site A's credentials never read or change site B.

To extend: a new route needs an entry in PROBES (how a caller of site A would aim it at
site B, and what must come back) or in NOT_SITE_SCOPED with the reason it cannot touch
a site's data. test_every_route_is_covered fails until one of the two is done.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
import pytest
from redis.asyncio import Redis

from moderation.store import keys
from moderation.web import coral
from tests.conftest import Api, Site, comment
from tests.test_api import force_pending


@dataclass
class World:
    api: Api
    redis: Redis
    a: Site  # the caller
    b: Site  # the victim
    b_comment: str  # a pending comment of site B
    b_body: dict[str, object]  # what B's comment was submitted with

    def forged_key(self) -> str:
        """A's secret under B's name: the key format names the site, the secret must still match."""
        return f"sk-{self.b.site_id}.{self.a.api_key.rsplit('.', 1)[1]}"


Probe = Callable[[World], Awaitable[None]]
PROBES: dict[tuple[str, str], list[Probe]] = {}


def probe(method: str, path: str) -> Callable[[Probe], Probe]:
    def register(fn: Probe) -> Probe:
        PROBES.setdefault((method, path), []).append(fn)
        return fn

    return register


async def expect(resp: aiohttp.ClientResponse, *statuses: int) -> None:
    assert resp.status in statuses, (resp.method, str(resp.url), resp.status, await resp.text())


# Routes that hold no site's data, with the reason.
NOT_SITE_SCOPED = {
    ("GET", "/"): "an index of links and the documented operations",
    ("GET", "/healthz"): "process liveness only",
    ("GET", "/readyz"): "Redis and model readiness only",
    ("GET", "/metrics"): "the operator's scraper; MODERATION_METRICS_TOKEN guards it (test_access)",
    ("GET", "/openapi.json"): "the API description",
    ("GET", "/moderate"): "the static page shell; its data comes from the /v1/review API",
    ("GET", "/static"): "page assets",
    ("GET", "/favicon.ico"): "the page's icon, a static file",
    ("GET", "/1.1/test"): "Akismet's connectivity test: a fixed `connected`, no key, reads nothing",
}


@probe("POST", "/v1/comments")
async def submit_as_b(w: World) -> None:
    await expect(await w.api.request("POST", "/v1/comments", w.forged_key(), json=comment()), 401)
    # A's own key stores under A, whatever the body says.
    resp = await w.api.request("POST", "/v1/comments", w.a.api_key, json={**comment(), "site": w.b.site_id})
    await expect(resp, 202)
    assert await w.redis.exists(keys.comment(w.a.site_id, (await resp.json())["id"]))


@probe("POST", "/v1/check")
async def check_as_b(w: World) -> None:
    await expect(await w.api.request("POST", "/v1/check", w.forged_key(), json=comment()), 401)


@probe("GET", "/v1/comments/{comment_id}")
async def read_b_comment(w: World) -> None:
    await expect(await w.api.request("GET", f"/v1/comments/{w.b_comment}", w.a.api_key), 404)
    await expect(await w.api.request("GET", f"/v1/comments/{w.b_comment}", w.forged_key()), 401)


@probe("POST", "/v1/authors/forget")
async def forget_b_author(w: World) -> None:
    body = {"author_email": w.b_body["author_email"]}
    await expect(await w.api.request("POST", "/v1/authors/forget", w.forged_key(), json=body), 401)
    # A's key erases the address on A only: B's comment by that author stays.
    resp = await w.api.request("POST", "/v1/authors/forget", w.a.api_key, json=body)
    await expect(resp, 200)
    assert (await resp.json())["site"] == w.a.site_id


@probe("POST", "/v1/webhooks/test")
async def webhook_test_as_b(w: World) -> None:
    await expect(await w.api.request("POST", "/v1/webhooks/test", w.forged_key(), json={}), 401)
    # A's key tests A's webhook, and A has none: nothing is sent anywhere in B's name.
    resp = await w.api.request("POST", "/v1/webhooks/test", w.a.api_key, json={"site": w.b.site_id})
    await expect(resp, 422)
    await expect(await w.api.request("POST", "/v1/webhooks/test", w.a.api_key, json={}), 409)


@probe("GET", "/v1/review/queue")
async def read_b_queue(w: World) -> None:
    for status in keys.STATUSES:
        q = f"/v1/review/queue?site={w.b.site_id}&status={status}"
        await expect(await w.api.request("GET", q, w.a.moderator_token), 403)


@probe("POST", "/v1/review/claim")
async def claim_b(w: World) -> None:
    body = {"site": w.b.site_id, "count": 10}
    await expect(await w.api.request("POST", "/v1/review/claim", w.a.moderator_token, json=body), 403)


@probe("POST", "/v1/review/{comment_id}/decision")
async def decide_b(w: World) -> None:
    path = f"/v1/review/{w.b_comment}/decision"
    await expect(await w.api.request("POST", path, w.a.moderator_token, json={"decision": "spam"}), 404)
    body = {"decision": "approve", "site": w.b.site_id}
    await expect(await w.api.request("POST", path, w.a.moderator_token, json=body), 403)


@probe("GET", "/v1/sites/{site}/settings")
async def read_b_settings(w: World) -> None:
    await expect(await w.api.request("GET", f"/v1/sites/{w.b.site_id}/settings", w.a.moderator_token), 403, 404)


@probe("GET", "/v1/sites/{site}/stats")
async def read_b_stats(w: World) -> None:
    # B has a comment, so B's counters exist: A's token, bearer or page session, reads none of them.
    await expect(await w.api.request("GET", f"/v1/sites/{w.b.site_id}/stats", w.a.moderator_token), 403)
    await expect(await w.api.request("GET", f"/v1/sites/{w.b.site_id}/stats", w.forged_key()), 401)
    cookies, _ = await _signed_in(w)
    headers = {"Cookie": f"mod_session={cookies['mod_session']}"}
    await expect(await w.api.request("GET", f"/v1/sites/{w.b.site_id}/stats", headers=headers), 403)
    # A's own figures count A's comments only.
    own = await w.api.request("GET", f"/v1/sites/{w.a.site_id}/stats?days=1", w.a.moderator_token)
    await expect(own, 200)
    assert (await own.json())["totals"]["submitted"] == 0


@probe("PUT", "/v1/sites/{site}/settings")
async def change_b_settings(w: World) -> None:
    resp = await w.api.request("PUT", f"/v1/sites/{w.b.site_id}/settings", w.a.moderator_token,
                               json={"mode": "pre"})
    await expect(resp, 403, 404)


def _akismet_form(w: World, key: str) -> dict[str, str]:
    return {"api_key": key, "blog": "https://b.example.vn", "comment_content": str(w.b_body["content"]),
            "comment_author": str(w.b_body["author_name"]),
            "comment_author_email": str(w.b_body["author_email"]), "user_ip": "113.160.1.2",
            "permalink": str(w.b_body.get("post_url", ""))}


@probe("POST", "/1.1/verify-key")
async def akismet_verify_as_b(w: World) -> None:
    resp = await w.api.request("POST", "/1.1/verify-key", data={"key": w.forged_key(), "blog": "https://b.example.vn"})
    assert (await resp.text()).strip() == "invalid"


@probe("POST", "/1.1/comment-check")
async def akismet_check_as_b(w: World) -> None:
    resp = await w.api.request("POST", "/1.1/comment-check", data=_akismet_form(w, w.forged_key()))
    assert (await resp.text()).strip() == "invalid"


@probe("POST", "/1.1/submit-spam")
async def akismet_spam_b_comment(w: World) -> None:
    # B's comment, reported by A (with A's key or a forged one): B's comment must not move.
    resp = await w.api.request("POST", "/1.1/submit-spam", data=_akismet_form(w, w.forged_key()))
    assert (await resp.text()).strip() == "invalid"
    await w.api.request("POST", "/1.1/submit-spam", data=_akismet_form(w, w.a.api_key))


@probe("POST", "/1.1/submit-ham")
async def akismet_ham_b_comment(w: World) -> None:
    resp = await w.api.request("POST", "/1.1/submit-ham", data=_akismet_form(w, w.forged_key()))
    assert (await resp.text()).strip() == "invalid"
    await w.api.request("POST", "/1.1/submit-ham", data=_akismet_form(w, w.a.api_key))


async def _akismet_account_probe(w: World, path: str) -> None:
    # A forged key in the form, and a key-shaped host label that is not B's key: both
    # invalid. A's own key answers about A only (the snapshot checks B is untouched).
    form = {"key": w.forged_key(), "blog": "https://b.example.vn", "from": "all"}
    resp = await w.api.request("POST", path, data=form)
    assert (await resp.text()).strip() == "invalid"
    resp = await w.api.request("POST", path, data={"blog": "https://b.example.vn"},
                               headers={"Host": f"{'b' * 48}.rest.akismet.com"})
    assert (await resp.text()).strip() == "invalid"
    resp = await w.api.request("POST", path, data={**form, "key": w.a.api_key})
    await expect(resp, 200)


@probe("POST", "/1.1/get-subscription")
async def akismet_subscription_as_b(w: World) -> None:
    await _akismet_account_probe(w, "/1.1/get-subscription")


@probe("POST", "/1.1/get-stats")
async def akismet_stats_as_b(w: World) -> None:
    await _akismet_account_probe(w, "/1.1/get-stats")


@probe("POST", "/1.2/usage-limit")
async def akismet_usage_as_b(w: World) -> None:
    await _akismet_account_probe(w, "/1.2/usage-limit")


@probe("POST", "/v1/integrations/coral/{site}")
async def coral_as_b(w: World) -> None:
    # Signed with A's Coral secret, sent to B's phase URL.
    secret = await coral.configure(w.redis, w.a.site_id)
    body = b'{"comment": {"body": "xin chao"}, "author": {"id": "u1"}}'
    headers = {coral.SIGNATURE_HEADER: coral.signature(secret, body), "Content-Type": "application/json"}
    resp = await w.api.request("POST", f"/v1/integrations/coral/{w.b.site_id}", data=body, headers=headers)
    await expect(resp, 401, 403, 404)


async def _signed_in(w: World) -> tuple[dict[str, str], str]:
    resp = await w.api.request("POST", "/moderate/session", json={"token": w.a.moderator_token})
    await expect(resp, 200, 201)
    return {"mod_session": resp.cookies["mod_session"].value}, (await resp.json())["csrf_token"]


@probe("POST", "/moderate/session")
async def session_reaches_only_a(w: World) -> None:
    # A's page session is A's token under another form: B stays out of reach.
    cookies, csrf = await _signed_in(w)
    headers = {"X-CSRF-Token": csrf, "Cookie": f"mod_session={cookies['mod_session']}"}
    q = await w.api.request("GET", f"/v1/review/queue?site={w.b.site_id}", headers=headers)
    await expect(q, 403)
    claim = await w.api.request("POST", "/v1/review/claim", json={"site": w.b.site_id, "count": 5}, headers=headers)
    await expect(claim, 403)
    decide = await w.api.request("POST", f"/v1/review/{w.b_comment}/decision", json={"decision": "spam"},
                                 headers=headers)
    await expect(decide, 404)


@probe("GET", "/moderate/session")
async def session_info_lists_only_a(w: World) -> None:
    cookies, _ = await _signed_in(w)
    resp = await w.api.request("GET", "/moderate/session", headers={"Cookie": f"mod_session={cookies['mod_session']}"})
    await expect(resp, 200)
    assert w.b.site_id not in (await resp.json())["sites"]


@probe("DELETE", "/moderate/session")
async def sign_out_touches_only_own_session(w: World) -> None:
    cookies, csrf = await _signed_in(w)
    headers = {"Cookie": f"mod_session={cookies['mod_session']}", "X-CSRF-Token": csrf}
    await expect(await w.api.request("DELETE", "/moderate/session", headers=headers), 200, 204)


async def snapshot(redis: Redis, site: str) -> dict[str, bytes | None]:
    """Every key of a site with its serialised value (labels included)."""
    out: dict[str, bytes | None] = {}
    async for key in redis.scan_iter(match=f"site:{{{site}}}:*"):
        out[key] = await redis.dump(key)
    return out


@pytest.fixture
async def world(api: Api, redis: Redis, make_site) -> World:  # type: ignore[no-untyped-def]
    a = await make_site("mod-a")
    b = await make_site("mod-b")
    [b_comment] = await force_pending(redis, b, 1, api)
    row = await redis.hget(keys.comment(b.site_id, b_comment), "doc")
    import msgspec

    b_body = msgspec.json.decode(row)["comment"]
    return World(api, redis, a, b, b_comment, b_body)


def served_routes(api: Api) -> set[tuple[str, str]]:
    routes = set()
    for route in api.app.router.routes():
        if route.method == "HEAD" or route.resource is None:
            continue
        routes.add((route.method, route.resource.canonical))
    return routes


async def test_every_route_is_covered(api: Api) -> None:
    missing = served_routes(api) - set(PROBES) - set(NOT_SITE_SCOPED)
    assert not missing, f"add a cross-site probe (or a reason in NOT_SITE_SCOPED) for: {sorted(missing)}"


@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_site_a_cannot_touch_site_b(world: World, route: tuple[str, str]) -> None:
    if route not in served_routes(world.api):
        pytest.fail(f"{route} is probed but no longer served; drop its probe")
    before = await snapshot(world.redis, world.b.site_id)
    for fn in PROBES[route]:
        await fn(world)
    after = await snapshot(world.redis, world.b.site_id)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"site B's data changed: {changed}"
