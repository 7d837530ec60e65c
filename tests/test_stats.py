"""The dashboard's counters (GET /v1/sites/{site}/stats) against a real Redis.

Time is the service's injected clock (Moderation.clock), moved forward instead of slept:
the counters' days, the comment ids (queue age) and the decision times all come from it.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from moderation.store import keys, stats
from moderation.web import appkeys
from tests.conftest import Api, AppFactory, Site, comment
from tests.test_api import submit

# 2026-11-30 16:59:59.000 UTC = 23:59:59 in Vietnam (UTC+7): one second before a new day there.
BEFORE_MIDNIGHT_VN = int(datetime(2026, 11, 30, 16, 59, 59, tzinfo=UTC).timestamp() * 1000)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 1000)


async def with_clock(make_api: AppFactory, now: int) -> tuple[Api, Clock]:
    api = await make_api()
    clock = Clock(now)
    api.app[appkeys.MODERATION].clock = clock
    return api, clock


_TEXTS = (
    "Mình thấy bài về giá xăng còn thiếu số liệu, mời mọi người đọc thêm ở {links} để so sánh.",
    "Chuyện kẹt xe ở Cầu Giấy đã có nhiều báo phân tích, ví dụ {links}, tác giả nên tham khảo.",
    "Học phí đại học tăng mỗi năm, các bạn xem bảng so sánh tại {links} nhé.",
    "Mưa lớn miền Trung năm nay kéo dài, thông tin cứu trợ có ở {links}.",
)


def held_body(n: int) -> dict[str, object]:
    # Three links: the link rule holds a reader's comment (tests/test_browser.py uses the same texts).
    links = f"https://vnexpress.net/{n} https://tuoitre.vn/{n} https://thanhnien.vn/{n}"
    return comment(
        content=_TEXTS[n % len(_TEXTS)].format(links=links),
        author_name=f"Độc giả {n}",
        author_email=f"doc.gia{n}@example.vn",
        user_ip=f"113.160.7.{n + 1}",
    )


async def hold_everything(api: Api, site: Site, mode: str = "pre") -> None:
    """No automatic spam (and no automatic reject, which is off by default); with
    pre-moderation every comment waits, whatever the model says."""
    body = {"version": 0, "mode": mode, "spam_at": 1.0}
    resp = await api.request("PUT", f"/v1/sites/{site.site_id}/settings", site.moderator_token, json=body)
    assert resp.status == 200, await resp.text()


async def get_stats(api: Api, site: Site, days: int | str | None = None) -> dict:
    query = "" if days is None else f"?days={days}"
    resp = await api.request("GET", f"/v1/sites/{site.site_id}/stats{query}", site.moderator_token)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def decide(api: Api, site: Site, cid: str, decision: str, **extra: object) -> None:
    resp = await api.request(
        "POST", f"/v1/review/{cid}/decision", site.moderator_token, json={"decision": decision, **extra}
    )
    assert resp.status == 200, await resp.text()


async def test_counts_follow_submissions_decisions_and_waits(make_api: AppFactory, site: Site) -> None:
    api, clock = await with_clock(make_api, BEFORE_MIDNIGHT_VN + 2_000)  # 00:00:01 in Vietnam
    await hold_everything(api, site, mode="post")  # the link rule holds the first four
    replies = []
    for n in range(4):
        status, reply = await submit(api, site, held_body(n))
        assert status == 202, reply
        replies.append(reply)
    status, reply = await submit(api, site, comment(author_email="ban.doc@example.vn"))
    assert status == 202
    replies.append(reply)
    held = [r["id"] for r in replies if r["status"] == "pending"]
    assert len(held) >= 4, replies
    clock.advance(90)
    await decide(api, site, held[0], "reject", reason="advertising")
    clock.advance(2 * 3600)
    await decide(api, site, held[1], "approve")

    figures = await get_stats(api, site, 3)
    assert figures["days"] == 3 and figures["utc_offset_minutes"] == 420
    assert [d["day"] for d in figures["daily"]] == ["2026-11-29", "2026-11-30", "2026-12-01"]
    today = figures["daily"][-1]
    assert today["submitted"] == 5
    assert today["auto"] == {s: Counter(r["status"] for r in replies)[s] for s in keys.STATUSES}
    codes = Counter(c for r in replies for c in {x["code"] for x in r["reasons"]})
    assert today["reasons"] == dict(sorted(codes.items()))
    assert today["reasons"]["too_many_links"] == 4
    assert today["decided"] == {"approved": 1, "spam": 0, "rejected": 1}
    assert today["decision_reasons"] == {"advertising": 1}
    assert today["spam_share"] == round(today["auto"]["spam"] / 5, 4)
    # Waits of 90 s, in (60 s, 120 s], and 2 h 1.5 min, in (2 h, 4 h].
    ttd = figures["totals"]["time_to_decision"]
    assert ttd["count"] == 2 and ttd["mean_seconds"] == round((90 + 7290) / 2, 1)
    by_bound = {b["le_seconds"]: b["count"] for b in ttd["buckets"]}
    assert by_bound[120] == 1 and by_bound[14_400] == 1 and sum(by_bound.values()) == 2
    # Prometheus-style estimate: the median is the top of the first decision's bucket.
    assert ttd["p50_seconds"] == 120.0
    assert figures["daily"][0]["submitted"] == 0 and figures["daily"][0]["time_to_decision"]["p50_seconds"] is None
    assert figures["totals"]["submitted"] == 5
    assert figures["queue"]["pending"] == len(held) - 2


async def test_one_quick_decision_is_its_own_median(make_api: AppFactory, site: Site) -> None:
    # One held comment decided 0.1 s after it arrived: the page showed a median of 15 s and a
    # p90 of 27 s (the middle and 90 % of the (0, 30 s] bucket) for it.
    api, clock = await with_clock(make_api, BEFORE_MIDNIGHT_VN + 2_000)
    await hold_everything(api, site)
    status, reply = await submit(api, site, held_body(0))
    assert status == 202 and reply["status"] == "pending", reply
    clock.advance(0.1)
    await decide(api, site, reply["id"], "approve")
    figures = await get_stats(api, site, 1)
    for ttd in (figures["totals"]["time_to_decision"], figures["daily"][-1]["time_to_decision"]):
        assert ttd["count"] == 1 and ttd["mean_seconds"] == 0.1
        assert (ttd["p50_seconds"], ttd["p90_seconds"], ttd["p99_seconds"]) == (0.1, 0.1, 0.1)


def test_quantiles_stay_within_what_the_sum_of_waits_allows() -> None:
    n = len(stats.WAIT_BUCKETS) + 1
    one = [1] + [0] * (n - 1)
    assert stats._quantile(0.5, one, total_ms=100) == 0.1
    assert stats._quantile(0.9, one, total_ms=29_000) == 29.0
    two = [2] + [0] * (n - 1)  # 1 s and 2 s: no value above 3 s is possible
    assert stats._quantile(0.5, two, total_ms=3_000) == 1.5
    assert stats._quantile(0.99, two, total_ms=3_000) <= 3.0
    # 90 s and 2 h 1.5 min: the sum does not narrow (60, 120], the estimate is as before.
    spread = [0] * n
    spread[2], spread[10] = 1, 1
    assert stats._quantile(0.5, spread, total_ms=7_380_000) == 120.0
    # Counters that disagree with their sum fall back to the bucket's bounds.
    assert stats._quantile(0.5, one, total_ms=90_000) == 15.0


async def test_days_follow_the_configured_offset(make_api: AppFactory, site: Site) -> None:
    api, clock = await with_clock(make_api, BEFORE_MIDNIGHT_VN)
    await submit(api, site, comment(author_email="a@example.vn"))
    clock.advance(2)  # 00:00:01 the next day in Vietnam, still 30 November in UTC
    await submit(api, site, comment(author_email="b@example.vn", content="Một bình luận khác về giá xăng."))
    daily = (await get_stats(api, site, 2))["daily"]
    assert [(d["day"], d["submitted"]) for d in daily] == [("2026-11-30", 1), ("2026-12-01", 1)]


async def test_refused_and_replayed_submissions_are_not_counted(make_api: AppFactory, site: Site) -> None:
    api, _ = await with_clock(make_api, BEFORE_MIDNIGHT_VN + 2_000)
    body = comment()
    first = await api.request("POST", "/v1/comments", site.api_key, json=body, headers={"Idempotency-Key": "k1"})
    replay = await api.request("POST", "/v1/comments", site.api_key, json=body, headers={"Idempotency-Key": "k1"})
    assert first.status == replay.status == 202 and replay.headers.get("Idempotent-Replayed") == "true"
    status, _ = await submit(api, site, body)  # the same author and text again: refused
    assert status in {409, 429}
    assert (await get_stats(api, site, 1))["totals"]["submitted"] == 1


async def test_counters_are_per_day_keys_that_expire(make_api: AppFactory, site: Site, redis: Redis) -> None:
    api, _ = await with_clock(make_api, BEFORE_MIDNIGHT_VN + 2_000)
    await hold_everything(api, site)
    [cid] = [(await submit(api, site, held_body(1)))[1]["id"]]
    await decide(api, site, cid, "spam", reason="spam")
    key = keys.stats_day(site.site_id, "2026-12-01")
    assert f"{{{site.site_id}}}" in key  # the site's hash tag: same cluster slot as its comments
    ttl = await redis.ttl(key)
    assert stats.KEEP_DAYS * 86_400 < ttl <= stats.TTL_SECONDS
    fields = await redis.hgetall(key)
    assert fields["auto:pending"] == "1" and fields["dec:spam"] == "1" and fields["dec_reason:spam"] == "1"
    assert [k async for k in redis.scan_iter(match=f"site:{{{site.site_id}}}:stats:*")] == [key]


async def test_recheck_is_counted(make_api: AppFactory, site: Site) -> None:
    api, clock = await with_clock(make_api, BEFORE_MIDNIGHT_VN + 2_000)
    await hold_everything(api, site)
    _, reply = await submit(api, site, held_body(2))
    assert reply["status"] == "pending"
    store = api.app[appkeys.STORE]
    assert await store.recheck(site.site_id, reply["id"], "approved", clock(), "v-test", 0.1) == "ok"
    assert (await get_stats(api, site, 1))["totals"]["rechecked"] == {"approved": 1, "spam": 0, "rejected": 0}


async def test_queue_age_comes_from_the_pending_index(make_api: AppFactory, site: Site) -> None:
    api, clock = await with_clock(make_api, BEFORE_MIDNIGHT_VN + 2_000)
    await hold_everything(api, site)
    for n, wait in ((1, 600), (2, 60), (3, 30)):
        _, reply = await submit(api, site, held_body(n))
        assert reply["status"] == "pending"
        clock.advance(wait)
    queue = (await get_stats(api, site, 1))["queue"]
    # Created 690 s, 90 s and 30 s ago.
    assert queue == {"pending": 3, "oldest_seconds": 690.0, "p50_seconds": 90.0, "p90_seconds": 690.0}


async def test_empty_site_and_defaults(api: Api, site: Site) -> None:
    figures = await get_stats(api, site)
    assert figures["days"] == stats.DEFAULT_DAYS and len(figures["daily"]) == stats.DEFAULT_DAYS
    assert figures["totals"]["spam_share"] is None
    assert figures["queue"] == {"pending": 0, "oldest_seconds": None, "p50_seconds": None, "p90_seconds": None}


@pytest.mark.parametrize("days", ["0", "91", "-1", "abc", "1.5"])
async def test_days_out_of_range_is_422(api: Api, site: Site, days: str) -> None:
    resp = await api.request("GET", f"/v1/sites/{site.site_id}/stats?days={days}", site.moderator_token)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["errors"][0]["field"] == "days"


async def test_stats_need_a_moderator_of_the_site(api: Api, site: Site, make_site) -> None:  # type: ignore[no-untyped-def]
    other = await make_site("mod-b")
    assert (await api.request("GET", f"/v1/sites/{site.site_id}/stats")).status == 401
    assert (await api.request("GET", f"/v1/sites/{site.site_id}/stats", site.api_key)).status == 401
    assert (await api.request("GET", f"/v1/sites/{site.site_id}/stats", other.moderator_token)).status == 403


def test_wait_buckets_and_quantiles() -> None:
    assert stats.wait_field(0) == "wait:30"
    assert stats.wait_field(30_000) == "wait:30"
    assert stats.wait_field(30_001) == "wait:60"
    assert stats.wait_field(10 * 86_400_000) == "wait:inf"
    n = len(stats.WAIT_BUCKETS) + 1
    counts = [0] * n
    counts[1] = 2  # two decisions in (30 s, 60 s]
    assert stats._quantile(0.5, counts) == 45.0
    counts[-1] = 2  # and two beyond the last bound: reported as that bound
    assert stats._quantile(0.99, counts) == float(stats.WAIT_BUCKETS[-1])
    assert stats._quantile(0.5, [0] * n) is None
