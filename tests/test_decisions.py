"""Revisable decisions: a decided comment can be decided again, and every decision is kept.

The rule for decisions that race (README, "Review queue"): the decide script runs them one at a
time per site, each gets the comment's next revision, and the last one run is the comment's
status. A caller that sends ``expected_revision`` gets ``409 revision_conflict`` with the current
state instead, when the comment moved on since the revision it saw. Both halves are tested
here with concurrent requests through two separate service instances (each with its own Redis
connections) against one real Redis; tests/test_faults.py races two worker processes.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import msgspec
from redis.asyncio import Redis

from moderation.moderation import feedback, webhooks
from moderation.store import keys
from moderation.store.retention import comment_ref
from moderation.web.ui import CSRF_HEADER
from tests import test_reputation as rep
from tests.conftest import Api, AppFactory, Site
from tests.test_api import force_pending
from tests.test_reputation import MakeSite


async def decide(api: Api, site: Site, cid: str, decision: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    resp = await api.request(
        "POST", f"/v1/review/{cid}/decision", site.moderator_token, json={"decision": decision, **extra}
    )
    return resp.status, await resp.json(content_type=None)


async def events(redis: Redis, site: Site) -> list[dict[str, Any]]:
    """The queued webhook events of the site, in the order their revisions say."""
    out = []
    async for key in redis.scan_iter(match=f"site:{{{site.site_id}}}:wh:evt_*"):
        out.append(msgspec.json.decode(await redis.hget(key, "body")))
    return sorted(out, key=lambda e: int(e["revision"]))


async def test_a_decided_comment_can_be_decided_again_and_keeps_its_history(
    api: Api, site: Site, redis: Redis
) -> None:
    await webhooks.configure(redis, site.site_id, "https://news.example.vn/hook")
    [cid] = await force_pending(redis, site, 1, api)
    status, first = await decide(api, site, cid, "spam", note="quảng cáo")
    assert (status, first["status"], first["revision"]) == (200, "spam", 1)
    status, second = await decide(api, site, cid, "approve", note="nhầm, hoàn tác")
    assert (status, second["status"], second["revision"]) == (200, "approved", 2)

    view = await (await api.request("GET", f"/v1/comments/{cid}", site.api_key)).json()
    assert view["status"] == "approved" and view["revision"] == 2
    assert view["decision"]["note"] == "nhầm, hoàn tác"
    trail = [(h["revision"], h["previous"], h["status"], h["by"], h["via"]) for h in view["history"]]
    assert trail == [(0, None, "pending", "auto", "submit"), (1, "pending", "spam", "mod-a", "api"),
                     (2, "spam", "approved", "mod-a", "api")]
    assert view["history"][1]["note"] == "quảng cáo" and view["history"][2]["at"] >= view["history"][1]["at"]
    # One index, the current status's.
    assert await redis.zscore(keys.status_index(site.site_id, "approved"), cid) is not None
    for other in ("pending", "spam", "rejected"):
        assert await redis.zscore(keys.status_index(site.site_id, other), cid) is None
    # Two labels; the export (what retrain reads) keeps the latest only.
    assert await redis.xlen(keys.labels(site.site_id)) == 2
    rows = [r for r in await feedback.label_rows(redis, site.site_id) if r.comment_id == comment_ref(site.site_id, cid)]
    assert [(r.decision, r.label) for r in rows] == [("approved", "ham")]
    # Each decision has its event, numbered, with the status it replaced.
    queued = [(e["revision"], e["previous_status"], e["comment"]["status"]) for e in await events(redis, site)]
    assert queued == [(1, "pending", "spam"), (2, "spam", "approved")]


async def test_the_same_decision_again_changes_nothing(api: Api, site: Site, redis: Redis) -> None:
    [cid] = await force_pending(redis, site, 1, api)
    first = await decide(api, site, cid, "reject", reason="spam")
    again = await decide(api, site, cid, "reject", reason="spam")
    assert (first[0], again[0]) == (200, 200)
    assert again[1]["revision"] == 1 and len(again[1]["history"]) == 2
    assert await redis.xlen(keys.labels(site.site_id)) == 1


async def test_a_stale_expected_revision_is_409_with_the_current_state(api: Api, site: Site, redis: Redis) -> None:
    [cid] = await force_pending(redis, site, 1, api)
    assert (await decide(api, site, cid, "approve", expected_revision=0))[0] == 200
    status, problem = await decide(api, site, cid, "spam", expected_revision=0)
    assert status == 409 and problem["code"] == "revision_conflict"
    assert (problem["current_status"], problem["revision"], problem["decision"]["by"]) == ("approved", 1, "mod-a")
    # The whole comment as the queue lists it, so a page can show what it had not seen.
    current = problem["current"]
    assert (current["id"], current["status"], current["revision"]) == (cid, "approved", 1)
    assert [(h["previous"], h["status"], h["by"]) for h in current["history"]] == [
        (None, "pending", "auto"), ("pending", "approved", "mod-a")
    ]
    assert current["comment"]["content"] and current["claim"] is None
    # Nothing was written for the refused decision.
    assert await redis.xlen(keys.labels(site.site_id)) == 1
    status, view = await decide(api, site, cid, "spam", expected_revision=1)
    assert (status, view["status"], view["revision"]) == (200, "spam", 2)


async def test_expected_revision_is_validated(api: Api, site: Site, redis: Redis) -> None:
    [cid] = await force_pending(redis, site, 1, api)
    for bad in (-1, "1", 1.5, True, 2**31):
        status, problem = await decide(api, site, cid, "approve", expected_revision=bad)
        assert status == 422 and problem["errors"][0]["field"] == "expected_revision", bad
    assert await redis.xlen(keys.labels(site.site_id)) == 0


async def test_concurrent_decisions_with_one_expected_revision_have_exactly_one_winner(
    make_api: AppFactory, site: Site, redis: Redis
) -> None:
    # Two service instances, each with its own Redis connection pool: the decisions reach Redis
    # over separate connections, interleaved as they come.
    apis = [await make_api(), await make_api()]
    ids = await force_pending(redis, site, 5, apis[0])
    choices = ("approve", "reject", "spam")
    for cid in ids:
        racers = [decide(apis[i % 2], site, cid, choices[i % 3], expected_revision=0) for i in range(12)]
        results = await asyncio.gather(*racers)
        winners = [view for status, view in results if status == 200]
        losers = [problem for status, problem in results if status == 409]
        assert len(winners) == 1 and len(losers) == 11, [s for s, _ in results]
        # Every loser was told the winner's state.
        assert {(p["current_status"], p["revision"]) for p in losers} == {(winners[0]["status"], 1)}
        assert len(winners[0]["history"]) == 2
    assert await redis.xlen(keys.labels(site.site_id)) == len(ids)


async def test_concurrent_decisions_without_a_revision_all_apply_in_one_order(
    make_api: AppFactory, site: Site, redis: Redis
) -> None:
    apis = [await make_api(), await make_api()]
    [cid] = await force_pending(redis, site, 1, apis[0])
    choices = ("approve", "reject", "spam")
    results = await asyncio.gather(*[decide(apis[i % 2], site, cid, choices[i % 3]) for i in range(30)])
    assert {status for status, _ in results} == {200}
    view = await (await apis[0].request("GET", f"/v1/comments/{cid}", site.api_key)).json()
    history = view["history"]
    # A chain: revisions 0..n without a gap, each entry replacing the one before it, and the
    # comment's status is the last entry's.
    assert [h["revision"] for h in history] == list(range(len(history)))
    assert all(h["previous"] == before["status"] for before, h in itertools.pairwise(history))
    assert view["status"] == history[-1]["status"] and view["revision"] == history[-1]["revision"]
    # Repeats of the status just set are no-ops, so every entry changes the status.
    assert all(h["status"] != h["previous"] for h in history[1:])
    assert await redis.xlen(keys.labels(site.site_id)) == len(history) - 1
    # Each reply was the state right after its own decision (or the unchanged one).
    assert {v["revision"] for _, v in results} <= {h["revision"] for h in history}
    assert await redis.zscore(keys.status_index(site.site_id, view["status"]), cid) is not None
    assert sum([await redis.zscore(keys.status_index(site.site_id, s), cid) is not None for s in keys.STATUSES]) == 1


async def test_the_history_says_where_a_decision_came_from(api: Api, site: Site, redis: Redis) -> None:
    [cid] = await force_pending(redis, site, 1, api)
    assert (await decide(api, site, cid, "approve"))[0] == 200
    # The moderator's page: a session cookie and its CSRF token instead of the bearer token.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as page:
        login = await page.post(api.url("/moderate/session"), json={"token": site.moderator_token})
        csrf = (await login.json())["csrf_token"]
        resp = await page.post(api.url(f"/v1/review/{cid}/decision"), json={"decision": "reject", "reason": "spam"},
                               headers={CSRF_HEADER: csrf})
        assert resp.status == 200, await resp.text()
    view = await (await api.request("GET", f"/v1/comments/{cid}", site.api_key)).json()
    assert [(h["via"], h["status"], h["reason"]) for h in view["history"][1:]] == [
        ("api", "approved", None), ("page", "rejected", "spam")]


async def test_a_revised_decision_moves_the_comments_reputation_vote(api: Api, make_site: MakeSite) -> None:
    """Reputation counts moderators' decisions: spam then not spam on one comment is one
    not-spam vote on its domain, not a spam vote and a not-spam vote that cancel out."""
    site = await make_site()
    domain = rep.unique_domain()
    first = await rep.mark(api, site, rep.body(site, domain), "spam")
    held = await rep.submit(api, site, rep.body(site, domain))
    assert (reason := rep.reputation_reason(held)) is not None and reason["params"]["direction"] == "spam", held
    # A second thought on the first comment.
    await rep.decide(api, site, first, "approve")
    after = await rep.submit(api, site, rep.body(site, domain))
    reason = rep.reputation_reason(after)
    assert reason is not None and reason["params"]["direction"] == "not_spam", after
