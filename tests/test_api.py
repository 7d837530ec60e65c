"""The service end to end: real HTTP server, real Redis."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from moderation.store import keys
from moderation.store.retention import comment_ref
from tests.conftest import Api, AppFactory, Site, comment


async def submit(api: Api, site: Site, body: dict[str, object], **headers: str) -> tuple[int, dict]:
    resp = await api.request("POST", "/v1/comments", site.api_key, json=body, headers=headers)
    return resp.status, await resp.json(content_type=None)


async def force_pending(redis: Redis, site: Site, n: int = 1, api: Api | None = None) -> list[str]:
    """Submit comments that the rules hold (more than two links) and return their ids."""
    assert api is not None
    ids = []
    for i in range(n):
        body = comment(
            content=f"Tổng hợp nguồn {i}: https://a.vn/1 https://b.vn/2 https://c.vn/3",
            author_email=f"reader{i}@example.vn",
        )
        status, reply = await submit(api, site, body)
        assert status == 202, reply
        assert reply["status"] == "pending", reply
        ids.append(reply["id"])
    return ids


async def test_happy_path_submit_claim_decide_status(api: Api, site: Site, redis: Redis) -> None:
    [comment_id] = await force_pending(redis, site, 1, api)
    assert any(r["code"] == "too_many_links" for r in (await (await api.request(
        "GET", f"/v1/comments/{comment_id}", site.api_key)).json())["reasons"])

    queue = await (await api.request(
        "GET", f"/v1/review/queue?site={site.site_id}&status=pending", site.moderator_token)).json()
    assert [i["id"] for i in queue["items"]] == [comment_id]
    assert queue["counts"]["pending"] == 1

    claim = await api.request("POST", "/v1/review/claim", site.moderator_token,
                              json={"site": site.site_id, "count": 5})
    assert claim.status == 200
    claimed = await claim.json()
    assert [i["id"] for i in claimed["items"]] == [comment_id]
    assert claimed["items"][0]["claim"]["by"] == "mod-a"

    resp = await api.request("POST", f"/v1/review/{comment_id}/decision", site.moderator_token,
                             json={"decision": "approve", "note": "nguồn hợp lệ"})
    assert resp.status == 200, await resp.text()
    decided = await resp.json()
    assert decided["status"] == "approved"
    assert decided["decision"]["by"] == "mod-a"

    seen = await (await api.request("GET", f"/v1/comments/{comment_id}", site.api_key)).json()
    assert seen["status"] == "approved"
    assert seen["decision"]["note"] == "nguồn hợp lệ"
    # Out of the pending queue and the stream, into the approved index.
    assert await redis.zcard(keys.status_index(site.site_id, "pending")) == 0
    assert await redis.zscore(keys.status_index(site.site_id, "approved"), comment_id) is not None
    assert await redis.xlen(keys.review_stream(site.site_id)) == 0
    # Recorded as a labelled example.
    labels = await redis.xrange(keys.labels(site.site_id))
    assert labels[-1][1]["ref"] == comment_ref(site.site_id, comment_id) and labels[-1][1]["label"] == "approved"


async def test_reply_shape(api: Api, site: Site) -> None:
    status, reply = await submit(api, site, comment())
    assert status == 202
    assert set(reply) >= {"id", "status", "spam_score", "reasons", "model_version", "created_at", "toxicity"}
    assert reply["status"] in {"approved", "pending", "spam"}
    assert 0.0 <= reply["spam_score"] <= 1.0
    assert all(set(r) == {"code", "message", "params"} for r in reply["reasons"])
    assert reply["toxicity"]["label"] in {"CLEAN", "OFFENSIVE", "HATE"}
    assert reply["model_version"] == api.app[__import__("moderation.web.appkeys").web.appkeys.BATCHER].scorer.version
    assert reply["created_at"].endswith("Z")


async def test_same_decision_is_idempotent_and_different_is_a_revision(api: Api, site: Site, redis: Redis) -> None:
    [cid] = await force_pending(redis, site, 1, api)
    path = f"/v1/review/{cid}/decision"
    first = await api.request("POST", path, site.moderator_token, json={"decision": "reject", "reason": "spam"})
    again = await api.request("POST", path, site.moderator_token, json={"decision": "reject", "reason": "spam"})
    # The repeat recorded nothing: one label.
    assert await redis.xlen(keys.labels(site.site_id)) == 1
    other = await api.request("POST", path, site.moderator_token, json={"decision": "approve"})
    assert (first.status, again.status, other.status) == (200, 200, 200)
    assert ((await other.json())["status"], (await other.json())["revision"]) == ("approved", 2)
    assert await redis.xlen(keys.labels(site.site_id)) == 2


async def test_check_stores_nothing(api: Api, site: Site, redis: Redis) -> None:
    resp = await api.request("POST", "/v1/check", site.api_key, json=comment())
    assert resp.status == 200
    reply = await resp.json()
    assert reply["id"] is None and reply["status"] in {"approved", "pending", "spam"}
    assert [k async for k in redis.scan_iter(match=f"site:{{{site.site_id}}}:c:*")] == []


async def test_idempotent_retry_returns_same_reply(api: Api, site: Site, redis: Redis) -> None:
    s1, r1 = await submit(api, site, comment(), **{"Idempotency-Key": "retry-1"})
    s2, r2 = await submit(api, site, comment(), **{"Idempotency-Key": "retry-1"})
    assert (s1, s2) == (202, 202) and r1 == r2
    total = sum([await redis.zcard(keys.status_index(site.site_id, s)) for s in keys.STATUSES])
    assert total == 1


async def test_concurrent_idempotent_retries_store_one(api: Api, site: Site, redis: Redis) -> None:
    results = await asyncio.gather(
        *[submit(api, site, comment(), **{"Idempotency-Key": "burst"}) for _ in range(50)]
    )
    assert {s for s, _ in results} == {202}
    assert len({r["id"] for _, r in results}) == 1
    total = sum([await redis.zcard(keys.status_index(site.site_id, s)) for s in keys.STATUSES])
    assert total == 1


async def test_idempotency_key_with_other_body_is_422(api: Api, site: Site) -> None:
    await submit(api, site, comment(), **{"Idempotency-Key": "k-2"})
    status, reply = await submit(api, site, comment(content="Một bình luận khác"), **{"Idempotency-Key": "k-2"})
    assert status == 422
    assert reply["errors"][0]["field"] == "Idempotency-Key"


async def test_two_moderators_never_claim_the_same_item(
    api: Api, site: Site, redis: Redis
) -> None:
    from moderation.store import auth

    other = await auth.add_moderator(redis, [site.site_id], "mod-b")
    ids = await force_pending(redis, site, 6, api)

    async def claim(token: str) -> list[str]:
        resp = await api.request("POST", "/v1/review/claim", token, json={"site": site.site_id, "count": 4})
        return [i["id"] for i in (await resp.json())["items"]]

    a, b = await asyncio.gather(claim(site.moderator_token), claim(other))
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(ids)
    # mod-b cannot decide an item mod-a holds while the lease lasts.
    resp = await api.request("POST", f"/v1/review/{a[0]}/decision", other, json={"decision": "approve"})
    assert resp.status == 409
    assert (await resp.json())["claimed_by"] == "mod-a"


async def test_expired_lease_returns_item_to_pool(make_api: AppFactory, site: Site, redis: Redis) -> None:
    from moderation.store import auth

    api = await make_api(lease_seconds=0)
    [cid] = await force_pending(redis, site, 1, api)
    other = await auth.add_moderator(redis, [site.site_id], "mod-b")
    first = await api.request("POST", "/v1/review/claim", site.moderator_token, json={"site": site.site_id, "count": 1})
    assert [i["id"] for i in (await first.json())["items"]] == [cid]
    # A zero-second lease has expired by the next request: the item goes to mod-b.
    second = await api.request("POST", "/v1/review/claim", other, json={"site": site.site_id, "count": 1})
    items = (await second.json())["items"]
    assert [i["id"] for i in items] == [cid]
    assert items[0]["claim"] is None or items[0]["claim"]["by"] == "mod-b"
    pending = await redis.xpending(keys.review_stream(site.site_id), keys.REVIEW_GROUP)
    assert pending["pending"] == 1 and pending["consumers"][0]["name"] == "mod-b"


async def test_unclaimed_lease_not_expired_is_not_handed_out_twice(api: Api, site: Site, redis: Redis) -> None:
    from moderation.store import auth

    await force_pending(redis, site, 1, api)
    other = await auth.add_moderator(redis, [site.site_id], "mod-b")
    await api.request("POST", "/v1/review/claim", site.moderator_token, json={"site": site.site_id, "count": 1})
    second = await api.request("POST", "/v1/review/claim", other, json={"site": site.site_id, "count": 1})
    assert (await second.json())["items"] == []


async def test_cross_site_reads_are_refused(api: Api, make_site, redis: Redis) -> None:  # type: ignore[no-untyped-def]
    a = await make_site()
    b = await make_site()
    [cid] = await force_pending(redis, a, 1, api)
    assert (await api.request("GET", f"/v1/comments/{cid}", b.api_key)).status == 404
    assert (await api.request("GET", f"/v1/review/queue?site={a.site_id}", b.moderator_token)).status == 403
    claim = await api.request("POST", "/v1/review/claim", b.moderator_token, json={"site": a.site_id, "count": 1})
    assert claim.status == 403
    decide = await api.request("POST", f"/v1/review/{cid}/decision", b.moderator_token, json={"decision": "spam"})
    assert decide.status == 404
    # A site key is not a moderator token and the reverse.
    assert (await api.request("GET", f"/v1/review/queue?site={a.site_id}", a.api_key)).status == 401
    assert (await api.request("POST", "/v1/comments", a.moderator_token, json=comment())).status == 401


async def test_queue_pages_with_cursor(api: Api, site: Site, redis: Redis) -> None:
    ids = await force_pending(redis, site, 5, api)
    seen: list[str] = []
    cursor = ""
    while True:
        q = f"/v1/review/queue?site={site.site_id}&status=pending&limit=2&order=asc"
        if cursor:
            q += f"&cursor={cursor}"
        page = await (await api.request("GET", q, site.moderator_token)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


async def test_health_ready_metrics(api: Api, site: Site) -> None:
    await submit(api, site, comment())
    assert (await api.request("GET", "/healthz")).status == 200
    ready = await api.request("GET", "/readyz")
    assert ready.status == 200 and (await ready.json())["redis"] == "ok"
    text = await (await api.request("GET", "/metrics")).text()
    assert "moderation_http_requests_total{" in text
    assert f'moderation_queue_depth{{site="{site.site_id}"' in text
    assert 'route="/v1/comments"' in text


async def test_readyz_503_when_redis_is_gone(make_api: AppFactory) -> None:
    from tests.conftest import free_port

    api = await make_api(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout_seconds=0.5)
    resp = await api.request("GET", "/readyz")
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "1"
    assert resp.headers["Content-Type"].startswith("application/problem+json")


async def test_submission_503_when_redis_is_gone(make_api: AppFactory, site: Site) -> None:
    from tests.conftest import free_port

    api = await make_api(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout_seconds=0.5)
    resp = await api.request("POST", "/v1/comments", site.api_key, json=comment())
    assert resp.status == 503 and "Retry-After" in resp.headers


async def test_openapi_is_valid_31(api: Api) -> None:
    from openapi_spec_validator import validate

    resp = await api.request("GET", "/openapi.json")
    spec = await resp.json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    # Every route the app serves is documented.
    served = {r.resource.canonical for r in api.app.router.routes() if r.resource is not None}
    pages = {"/", "/moderate", "/static"}
    assert served <= set(spec["paths"]) | pages | {p for p in served if p.startswith("/static")}


async def test_root_is_an_index_of_the_page_the_schema_and_the_operations(api: Api) -> None:
    resp = await api.request("GET", "/")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    for link in ('href="/moderate"', 'href="/openapi.json"', 'href="/healthz"', 'href="/metrics"'):
        assert link in page
    # Every documented operation is listed, read from the same spec /openapi.json serves.
    spec = await (await api.request("GET", "/openapi.json")).json()
    for path, item in spec["paths"].items():
        for method in item:
            assert f"<code>{method.upper()} {path}</code>" in page, (method, path)
    # Plain HTML under the API's strict policy: nothing to load, nothing to frame.
    assert "<script" not in page and "<style" not in page
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_openapi_bodies_are_the_structs() -> None:
    # Generated from the Structs that decode and encode the bodies: a field added to a Struct
    # is in the document without anyone editing openapi.py.
    from moderation.core.schemas import ClaimIn, CommentIn, DecisionIn
    from moderation.moderation.operations import Verdict
    from moderation.web.openapi import build_spec

    schemas = build_spec()["components"]["schemas"]
    for struct in (CommentIn, DecisionIn, ClaimIn, Verdict):
        assert set(schemas[struct.__name__]["properties"]) == set(struct.__struct_fields__), struct
    assert set(schemas["CommentView"]["properties"]) >= set(Verdict.__struct_fields__)
    assert "created_at" in schemas["Verdict"]["required"]


async def test_status_view_repeats_the_submission_reply(api: Api, site: Site) -> None:
    # The stored document omits created_at (the hash's `created` field holds it): the
    # site must still see the same time and verdict it was answered with.
    status, reply = await submit(api, site, comment(author_email="view@example.vn"))
    assert status == 202
    view = await (await api.request("GET", f"/v1/comments/{reply['id']}", site.api_key)).json()
    for field in ("id", "created_at", "spam_score", "reasons", "model_version", "toxicity"):
        assert view[field] == reply[field], field
