"""Reputation across the sites of one service: moderators' decisions on a comment's domains,
phones, handles, email and IP network count for new comments (service/moderation/reputation.py).

Against the session's real Redis, and again on the local cluster (tests/test_cluster.py collects
this module): every decision below is recorded before its reply, so the submission sent right
after the reply (no wait) already sees it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from moderation.core.settings import Settings
from moderation.moderation.reputation import Reputation
from moderation.scoring.submission import EMAIL, NETWORK, PHONE, Entry
from moderation.store import keys
from moderation.web import appkeys
from tests.conftest import Api, Site, comment

MakeSite = Callable[..., Awaitable[Site]]


def unique_domain() -> str:
    return f"may-in-gia-re-{uuid.uuid4().hex[:10]}.com"


_counter = 0
# Different texts, so that the campaign rule (the same text 3 times in 10 minutes) stays out of it.
_ORDINARY = (
    "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ vấn đề giao thông.",
    "Mong thành phố sớm có thêm xe buýt điện cho tuyến ngoại thành.",
    "Ở quê tôi đường sá cũng xuống cấp như vậy, mùa mưa đi lại rất khó khăn.",
    "Giá vé tàu điện nên giảm cho sinh viên và người cao tuổi.",
    "Theo tôi vấn đề nằm ở khâu quy hoạch từ mười năm trước.",
    "Chuyện này năm nào cũng lặp lại, mong lần này được giải quyết dứt điểm.",
    "Tôi là giáo viên, thấy học sinh đi học rất vất vả vì kẹt xe.",
)


def body(site: Site, domain: str | None = None, **overrides: Any) -> dict[str, Any]:
    """An ordinary reader's comment (its own author and network each time), linking *domain*."""
    global _counter
    _counter += 1
    n = _counter
    text = _ORDINARY[n % len(_ORDINARY)]
    if domain:
        text += f" Số liệu tương tự có trong báo cáo https://{domain}/bao-cao"
    fields: dict[str, Any] = {
        "content": text,
        "author_name": f"Người đọc {n}",
        "author_email": f"reader{n}-{uuid.uuid4().hex[:6]}@example.vn",
        "user_ip": f"14.{n % 200}.{(n // 200) % 250}.{n % 250 + 1}",
        "post_url": f"https://{site.site_id}-news.vn/bai-{n}",
        **overrides,
    }
    return comment(**fields)


async def submit(api: Api, site: Site, data: dict[str, Any]) -> dict[str, Any]:
    resp = await api.request("POST", "/v1/comments", site.api_key, json=data)
    assert resp.status == 202, await resp.text()
    reply: dict[str, Any] = await resp.json()
    return reply


async def decide(api: Api, site: Site, comment_id: str, decision: str, **extra: Any) -> None:
    resp = await api.request(
        "POST", f"/v1/review/{comment_id}/decision", site.moderator_token,
        json={"decision": decision, "site": site.site_id, **extra},
    )  # fmt: skip
    assert resp.status == 200, await resp.text()


async def mark(api: Api, site: Site, data: dict[str, Any], decision: str = "spam") -> str:
    """Submit *data* on *site* and have its moderator decide it; the comment's id."""
    reply = await submit(api, site, data)
    await decide(api, site, reply["id"], decision)
    return str(reply["id"])


def reputation_reason(reply: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in reply["reasons"] if r["code"] == "reputation"), None)


def untouched(reply: dict[str, Any]) -> bool:
    """Reputation did not move the comment: no reason, no shift of its score."""
    moved = any(f["feature"].startswith("moderators' decisions") for f in reply["explanation"]["spam"])
    return reputation_reason(reply) is None and not moved


async def set_settings(api: Api, site: Site, **values: Any) -> None:
    path = f"/v1/sites/{site.site_id}/settings"
    current = await (await api.request("GET", path, site.moderator_token)).json()
    resp = await api.request("PUT", path, site.moderator_token, json={"version": current["version"], **values})
    assert resp.status == 200, await resp.text()


async def test_a_domain_marked_spam_on_two_sites_holds_it_on_a_third_and_not_spam_lowers_it(
    api: Api, make_site: MakeSite
) -> None:
    a, b, c = await make_site(), await make_site(), await make_site()
    domain = unique_domain()
    before = await submit(api, c, body(c, domain))
    assert untouched(before), before

    await mark(api, a, body(a, domain))
    await mark(api, b, body(b, domain))
    # Sent right after the second decision's reply: the decisions are in C's keys already.
    held = await submit(api, c, body(c, domain))
    assert held["status"] in {"pending", "spam"}, held
    reason = reputation_reason(held)
    assert reason is not None, held
    assert reason["params"]["domain"] == domain
    assert reason["params"]["sites"] == 2 and reason["params"]["count"] == 2
    assert reason["message"] == f"domain {domain} marked spam 2\u00d7 on 2 sites"
    assert held["text_spam_score"] < held["spam_score"]
    assert any(f["feature"].startswith("moderators' decisions") for f in held["explanation"]["spam"])

    # C's moderator says "not spam": C's own decision outweighs the others' on C.
    await decide(api, c, held["id"], "approve")
    lowered = await submit(api, c, body(c, domain))
    assert lowered["status"] != "spam" and lowered["spam_score"] < lowered["text_spam_score"], lowered
    not_spam = reputation_reason(lowered)
    assert not_spam is not None and not_spam["params"]["direction"] == "not_spam", lowered


async def test_a_site_added_after_the_decisions_takes_them_from_its_first_comment(
    api: Api, make_site: MakeSite, redis: Redis, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from moderation.cli import main as cli

    a, b = await make_site(), await make_site()
    domain = unique_domain()
    await mark(api, a, body(a, domain))
    await mark(api, b, body(b, domain))

    # The operator adds a site afterwards, as the README says (`moderation sites add`).
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("REDIS_CLUSTER", "1" if settings.redis_cluster else "")
    new_site = f"{a.site_id}-late"
    try:
        assert await asyncio.to_thread(cli.main, ["sites", "add", new_site, "--moderator", "mod-c"]) == 0
        printed = json.loads(capsys.readouterr().out)
        c = Site(new_site, printed["api_key"], printed["moderator_token"])
        held = await submit(api, c, body(c, domain))
        reason = reputation_reason(held)
        assert reason is not None and reason["params"]["sites"] == 2, held
    finally:
        doomed = [k async for k in redis.scan_iter(match=f"site:{{{new_site}}}:*")]
        if doomed:
            await redis.delete(*doomed)
        await redis.srem(keys.SITES, new_site)


async def test_a_not_spam_on_one_of_the_two_sites_lowers_it_on_the_others(api: Api, make_site: MakeSite) -> None:
    a, b, c = await make_site(), await make_site(), await make_site()
    domain = unique_domain()
    await mark(api, a, body(a, domain))
    await mark(api, b, body(b, domain))
    assert reputation_reason(await submit(api, c, body(c, domain))) is not None
    # A's moderator approves another comment with the domain: A no longer leans spam, one
    # site is left, and one site is not enough for C.
    await mark(api, a, body(a, domain), "approve")
    again = await submit(api, c, body(c, domain))
    assert untouched(again), again


async def test_one_sites_decisions_never_flip_another_sites_ordinary_comment(api: Api, make_site: MakeSite) -> None:
    a, b = await make_site(), await make_site()
    domain = unique_domain()
    for _ in range(5):
        await mark(api, a, body(a, domain))
    on_b = await submit(api, b, body(b, domain))
    assert untouched(on_b), on_b
    # On A itself its own moderators' five marks count: spam.
    on_a = await submit(api, a, body(a, domain))
    assert on_a["status"] == "spam", on_a
    reason = reputation_reason(on_a)
    assert reason is not None and reason["message"] == f"domain {domain} marked spam 5\u00d7 on this site"


async def test_an_opted_out_site_neither_gives_nor_takes(api: Api, make_site: MakeSite) -> None:
    out, b, c, d = await make_site(), await make_site(), await make_site(), await make_site()
    await set_settings(api, out, reputation_sharing=False)
    gives = unique_domain()
    await mark(api, out, body(out, gives))
    await mark(api, b, body(b, gives))
    # Only B's decision is shared: one site, not enough for C.
    assert untouched(await submit(api, c, body(c, gives)))

    takes = unique_domain()
    await mark(api, b, body(b, takes))
    await mark(api, c, body(c, takes))
    assert reputation_reason(await submit(api, d, body(d, takes))) is not None
    not_taken = await submit(api, out, body(out, takes))
    assert untouched(not_taken), not_taken

    # Sharing again: its earlier decision is given (with B's, two sites for C), and it takes.
    await set_settings(api, out, reputation_sharing=True)
    assert reputation_reason(await submit(api, c, body(c, gives))) is not None
    assert reputation_reason(await submit(api, out, body(out, takes))) is not None
    # And out again: what it gave is taken back at once.
    await set_settings(api, out, reputation_sharing=False)
    assert untouched(await submit(api, c, body(c, gives)))


async def test_the_allow_list_and_the_sites_own_domain_always_win(api: Api, make_site: MakeSite) -> None:
    a, b, c = await make_site(), await make_site(), await make_site()
    partner = unique_domain()
    for site in (a, b):
        await mark(api, site, body(site, partner))
        await mark(api, site, body(site, partner))
    assert reputation_reason(await submit(api, b, body(b, partner))) is not None
    await set_settings(api, c, reputation_allow=[f"www.{partner}"])
    allowed = await submit(api, c, body(c, partner))
    assert untouched(allowed), allowed
    # The domain of the comment's own article is never counted either.
    own = body(a, partner, post_url=f"https://tin.{partner}/bai-1")
    assert untouched(await submit(api, a, own))


async def test_one_decision_on_a_spammers_comment_holds_their_next_one_on_the_site(
    api: Api, site: Site
) -> None:
    await set_settings(api, site, flood_seconds=0)
    spammer = body(site, None, content="Nhận làm bằng đại học, liên hệ zalo 0912 345 678 nhé.",
                   author_email="lamb@example.com", user_ip="171.224.9.9")  # fmt: skip
    first = await submit(api, site, spammer)
    await decide(api, site, first["id"], "spam")
    again = await submit(api, site, {**spammer, "content": "Bạn nào cần gọi 0912345678 ạ", "post_id": "bai-2"})
    assert again["status"] in {"pending", "spam"}, again
    assert reputation_reason(again) is not None


async def test_akismet_submit_spam_and_ham_count_as_decisions(api: Api, make_site: MakeSite) -> None:
    a, b, c = await make_site(), await make_site(), await make_site()
    domain = unique_domain()

    async def report(site: Site, kind: str) -> None:
        form = {
            "blog": f"https://{site.site_id}.example.vn", "key": site.api_key, "comment_author": "Khách",
            "comment_author_email": f"k{uuid.uuid4().hex[:6]}@example.vn",
            "comment_content": f"Xem thêm tại https://{domain}/khuyen-mai", "user_ip": "203.113.1.1",
        }  # fmt: skip
        resp = await api.session.post(api.url(f"/1.1/submit-{kind}"), data=form)
        assert resp.status == 200, await resp.text()

    await report(a, "spam")
    await report(b, "spam")
    assert reputation_reason(await submit(api, c, body(c, domain))) is not None
    await report(b, "ham")
    assert untouched(await submit(api, c, body(c, domain)))


async def _ids(api: Api, *entries: Entry) -> list[str]:
    reputation: Reputation | None = api.app[appkeys.MODERATION].reputation
    assert reputation is not None
    await reputation.ready()
    return [reputation.entry_id(e) for e in entries]


async def test_erasure_removes_the_authors_entries(api: Api, make_site: MakeSite, redis: Redis) -> None:
    a, b = await make_site(), await make_site()
    email, phone, ip = f"lan-{uuid.uuid4().hex[:6]}@example.vn", "0987654321", "42.112.7.8"
    data = body(a, None, content="Cần bán xe, gọi 0987 654 321 gặp Lan.", author_email=email, user_ip=ip)
    await mark(api, a, data)
    # B's moderator marks a comment with the same phone: the phone is shared with A's view.
    await mark(api, b, body(b, None, content="Gọi 0987654321 để được tư vấn."))
    await mark(api, b, body(b, None, content="Liên hệ 0987.654.321."))
    ids = await _ids(api, Entry(EMAIL, email), Entry(PHONE, phone), Entry(NETWORK, "42.112.7.0/24"))
    assert await redis.hexists(keys.reputation(a.site_id), ids[0])
    assert await redis.hexists(keys.reputation_shared(b.site_id), ids[1])  # A's mark, seen by B

    resp = await api.request("POST", "/v1/authors/forget", a.api_key, json={"author_email": email})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["removed"]["reputation"] >= 3

    # Nothing of the author is left in any key of A: scan them all.
    for key in [k async for k in redis.scan_iter(match=f"site:{{{a.site_id}}}:*")]:
        kind = await redis.type(key)
        dump = ""
        if kind == "hash":
            dump = " ".join(f"{f} {v}" for f, v in (await redis.hgetall(key)).items())
        elif kind == "string":
            dump = str(await redis.get(key))
        for entry_id in ids:
            assert entry_id not in dump, (key, entry_id)
        assert email not in dump and phone not in dump
    # B's view of the phone no longer counts A's mark: B's own two marks only.
    shared = await redis.hget(keys.reputation_shared(b.site_id), ids[1])
    assert shared is None or shared.split()[0] == "0", shared


async def test_entries_are_keyed_hashes_and_the_secret_stays_out_of_repr(api: Api, site: Site, redis: Redis) -> None:
    from moderation.core.settings import Settings

    settings = Settings(reputation_secret="do-not-print-me")
    assert "do-not-print-me" not in repr(settings)
    data = body(site, None, content="Gọi 0912000111 nhé", author_email="keyed@example.vn")
    await mark(api, site, data)
    stored = await redis.hgetall(keys.reputation(site.site_id))
    assert stored
    text = " ".join(stored)
    assert "0912000111" not in text and "keyed@example.vn" not in text
    # Not a plain digest anyone could recompute: the ids depend on the secret.
    store = api.app[appkeys.STORE]
    other = Reputation(store, secret="another secret")
    await other.ready()
    assert other.entry_id(Entry(PHONE, "0912000111")) not in stored
    [mine] = await _ids(api, Entry(PHONE, "0912000111"))
    assert mine in stored


async def test_weights_decay_with_the_half_life(api: Api, site: Site) -> None:
    store = api.app[appkeys.STORE]
    clock = {"now": 1_900_000_000.0}
    reputation = Reputation(store, secret="decay", half_life_days=1.0, clock=lambda: clock["now"])
    from moderation.core.schemas import parse_comment
    from moderation.moderation.reputation import NONE, SPAM
    from moderation.moderation.sitesettings import DEFAULTS
    from moderation.scoring.text import CommentText

    data = parse_comment(body(site, None, content="Gọi 0912777888", author_email="decay@example.vn"))
    await reputation.record(site.site_id, data, NONE, SPAM)
    lookup = await reputation.lookup(CommentText(data))
    own = await store.redis.hmget(keys.reputation(site.site_id), list(lookup.ids))
    shared = [None] * len(lookup.ids)
    fresh = reputation.evidence(lookup, own, shared, DEFAULTS)
    clock["now"] += 86_400
    later = reputation.evidence(lookup, own, shared, DEFAULTS)
    assert abs(later.total - fresh.total / 2) < 1e-6
    # A later decision takes the earlier vote back: nothing is left.
    await reputation.record(site.site_id, data, SPAM, NONE)
    clock["now"] -= 86_400
    own = await store.redis.hmget(keys.reputation(site.site_id), list(lookup.ids))
    assert reputation.evidence(lookup, own, shared, DEFAULTS).total == 0


def test_entry_ids_are_the_first_64_bits_of_hmac_sha256_of_kind_and_value() -> None:
    # Stored entries are found by these ids: a change of how they are computed would forget
    # every decision already recorded.
    import hashlib
    import hmac

    from moderation.store.comments import Store

    reputation = Reputation(Store(Redis(), idempotency_ttl=60), secret="s3cret")
    expected = hmac.new(b"s3cret", b"email:lan@example.vn", hashlib.sha256).hexdigest()[:16]
    assert reputation.entry_id(Entry(EMAIL, "lan@example.vn")) == "e" + expected
    expected = hmac.new(b"s3cret", b"author:lan@example.vn", hashlib.sha256).hexdigest()[:16]
    assert reputation.author_id(" Lan@Example.vn ") == "a" + expected
