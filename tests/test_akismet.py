"""The Akismet-compatible API, driven by the real PyPI ``akismet`` client over real HTTP.

The client's base URL is fixed (https://rest.akismet.com), so an httpx transport rewrites
every request's scheme/host/port to the test server — the request itself is unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator, Callable

import akismet
import httpx
import pytest
from redis.asyncio import Redis

from moderation.store import auth, keys
from moderation.store.retention import comment_ref
from moderation.web.akismet import key_from_host
from tests.conftest import Api, AppFactory, RedisServer, Site

BLOG = "https://baotinh.example.vn"
HAM_TEXT = "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ vấn đề giao thông ở Hà Nội."
SPAM_TEXT = "Kiếm tiền online 5 triệu/ngày, liên hệ zalo 0912345678 ngay, inbox nhận quà miễn phí http://kiemtien.vn"
HELD_TEXT = "Nguồn: https://a.example.vn/1 https://b.example.vn/2 https://c.example.vn/3"


class ToService(httpx.AsyncBaseTransport):
    """Send Akismet's requests to the service under test instead of rest.akismet.com."""

    def __init__(self, base: str) -> None:
        self.base = httpx.URL(base)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme=self.base.scheme, host=self.base.host, port=self.base.port)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


ClientFactory = Callable[[str], akismet.AsyncClient]


@pytest.fixture
async def client_for(api: Api) -> AsyncIterator[ClientFactory]:
    made: list[httpx.AsyncClient] = []

    def factory(key: str) -> akismet.AsyncClient:
        http = httpx.AsyncClient(transport=ToService(api.url("/")), headers={"User-Agent": akismet.USER_AGENT})
        made.append(http)
        return akismet.AsyncClient(config=akismet.Config(key=key, url=BLOG), http_client=http)

    yield factory
    for http in made:
        await http.aclose()


def fields(**overrides: str) -> dict[str, str]:
    doc = {
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        "referrer": "https://www.google.com/",
        "permalink": f"{BLOG}/giao-thong/bai-viet-1",
        "comment_type": "comment",
        "comment_author": "Nguyễn Văn An",
        "comment_author_email": "an.nguyen@example.vn",
        "comment_content": HAM_TEXT,
        "blog_lang": "vi_VN",
        "blog_charset": "UTF-8",
    }
    doc.update(overrides)
    return doc


async def stored_ids(redis: Redis, site: Site) -> list[str]:
    return [k.rsplit(":", 1)[1] async for k in redis.scan_iter(match=f"site:{{{site.site_id}}}:c:*")]


async def test_verify_key_with_real_client(client_for: ClientFactory, site: Site) -> None:
    client = client_for(site.api_key)
    assert await client.verify_key(site.api_key, BLOG) is True
    assert await client.verify_key(site.api_key + "x", BLOG) is False
    assert await client.verify_key("not-a-site-key", BLOG) is False


async def test_validated_client_refuses_a_bad_key(api: Api, site: Site) -> None:
    async with httpx.AsyncClient(transport=ToService(api.url("/"))) as http:
        ok = await akismet.AsyncClient.validated_client(config=akismet.Config(key=site.api_key, url=BLOG),
                                                        http_client=http)
        assert ok is not None
        with pytest.raises(akismet.APIKeyError):
            await akismet.AsyncClient.validated_client(config=akismet.Config(key="sk-nope.abc", url=BLOG),
                                                       http_client=http)


async def test_ham_is_false_and_stored_as_approved(client_for: ClientFactory, site: Site, redis: Redis) -> None:
    result = await client_for(site.api_key).comment_check(user_ip="113.160.12.34", **fields())
    assert result == akismet.CheckResponse.HAM
    [cid] = await stored_ids(redis, site)
    assert await redis.zscore(keys.status_index(site.site_id, "approved"), cid) is not None


async def allow_discard(api: Api, site: Site) -> None:
    resp = await api.request("GET", f"/v1/sites/{site.site_id}/settings", site.moderator_token)
    version = (await resp.json())["version"]
    resp = await api.request("PUT", f"/v1/sites/{site.site_id}/settings", site.moderator_token,
                             json={"version": version, "akismet_discard": True})
    assert resp.status == 200, await resp.text()


async def test_blatant_spam_is_spam_not_discard_by_default(client_for: ClientFactory, site: Site, redis: Redis) -> None:
    # Without the site's say-so, WordPress files it in Spam (where a moderator sees it)
    # instead of dropping it unseen.
    result = await client_for(site.api_key).comment_check(
        user_ip="42.118.1.1", **fields(comment_content=SPAM_TEXT, comment_author_email="kiemtien@example.vn")
    )
    assert result == akismet.CheckResponse.SPAM
    [cid] = await stored_ids(redis, site)
    assert await redis.zscore(keys.status_index(site.site_id, "spam"), cid) is not None


async def test_blatant_spam_is_discard_where_the_site_allows_it(
    api: Api, client_for: ClientFactory, site: Site, redis: Redis
) -> None:
    await allow_discard(api, site)
    result = await client_for(site.api_key).comment_check(
        user_ip="42.118.1.1", **fields(comment_content=SPAM_TEXT, comment_author_email="kiemtien@example.vn")
    )
    assert result == akismet.CheckResponse.DISCARD
    [cid] = await stored_ids(redis, site)
    assert await redis.zscore(keys.status_index(site.site_id, "spam"), cid) is not None


async def test_documented_spam_triggers_are_spam(client_for: ClientFactory, site: Site, redis: Redis) -> None:
    client = client_for(site.api_key)
    by_author = await client.comment_check(user_ip="1.2.3.4", **fields(comment_author="viagra-test-123"))
    by_email = await client.comment_check(
        user_ip="1.2.3.4", **fields(comment_author_email="akismet-guaranteed-spam@example.com")
    )
    assert by_author == by_email == akismet.CheckResponse.SPAM
    assert await stored_ids(redis, site) == []


async def test_administrator_is_never_spam(client_for: ClientFactory, site: Site) -> None:
    result = await client_for(site.api_key).comment_check(
        user_ip="1.2.3.4", **fields(comment_content=SPAM_TEXT, user_role="administrator")
    )
    assert result == akismet.CheckResponse.HAM


async def test_is_test_stores_nothing(client_for: ClientFactory, site: Site, redis: Redis) -> None:
    client = client_for(site.api_key)
    assert await client.comment_check(user_ip="1.2.3.4", is_test=True, **fields()) == akismet.CheckResponse.HAM
    spam = fields(comment_content=SPAM_TEXT, comment_author_email="kiemtien@example.vn")
    assert await client.comment_check(user_ip="1.2.3.4", is_test=True, **spam) == akismet.CheckResponse.SPAM
    assert await stored_ids(redis, site) == []


async def test_same_comment_checked_twice_is_stored_once(client_for: ClientFactory, site: Site, redis: Redis) -> None:
    client = client_for(site.api_key)
    for _ in range(2):
        assert await client.comment_check(user_ip="1.2.3.4", **fields()) == akismet.CheckResponse.HAM
    assert len(await stored_ids(redis, site)) == 1


async def test_pending_answers_false_with_status_header_and_queues(api: Api, site: Site, redis: Redis) -> None:
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(comment_content=HELD_TEXT),
    })
    assert (resp.status, await resp.text()) == (200, "false")
    assert resp.headers["X-Moderation-Status"] == "pending"
    cid = resp.headers["X-Moderation-Id"]
    assert await redis.zscore(keys.status_index(site.site_id, "pending"), cid) is not None


async def test_honeypot_is_spam(api: Api, site: Site, redis: Redis) -> None:
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(),
        "honeypot_field_name": "hidden_email", "hidden_email": "bot@spam.example",
    })
    assert await resp.text() == "true"
    assert "X-akismet-pro-tip" not in resp.headers
    assert await stored_ids(redis, site) == []


async def test_wordpress_honeypot_field_is_honoured(api: Api, site: Site, redis: Redis) -> None:
    """WordPress's Akismet plugin forwards its hidden textarea as POST_ak_hp_textarea."""
    form = {"api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(), "POST_ak_js": "1733000000000"}
    filled = await api.session.post(api.url("/1.1/comment-check"), data={**form, "POST_ak_hp_textarea": "buy now"})
    assert (await filled.text(), filled.headers["X-Moderation-Status"]) == ("true", "spam")
    assert await stored_ids(redis, site) == []
    # Empty (a person never sees the field): an ordinary check, stored as approved.
    empty = await api.session.post(api.url("/1.1/comment-check"), data={**form, "POST_ak_hp_textarea": ""})
    assert (await empty.text(), empty.headers["X-Moderation-Status"]) == ("false", "approved")


async def test_honeypot_is_discard_where_the_site_allows_it(api: Api, site: Site) -> None:
    await allow_discard(api, site)
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(), "POST_ak_hp_textarea": "x",
    })
    assert await resp.text() == "true"
    assert resp.headers["X-akismet-pro-tip"] == "discard"


async def test_invalid_key_answers_invalid_with_debug_help(api: Api) -> None:
    for path in ("/1.1/comment-check", "/1.1/submit-spam", "/1.1/submit-ham"):
        resp = await api.session.post(api.url(path), data={"api_key": "sk-nosuch.key", "blog": BLOG, **fields()})
        assert (resp.status, await resp.text()) == (200, "invalid"), path
        assert "API key" in resp.headers["X-akismet-debug-help"]


async def test_missing_content_is_400_with_debug_help(api: Api, site: Site) -> None:
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": site.api_key, "blog": BLOG, **fields(comment_content=""),
    })
    assert resp.status == 400
    assert "content" in resp.headers["X-akismet-debug-help"]


async def test_missing_blog_is_400_with_debug_help(api: Api, site: Site) -> None:
    for path in ("/1.1/comment-check", "/1.1/submit-spam", "/1.1/submit-ham"):
        resp = await api.session.post(api.url(path), data={"api_key": site.api_key, **fields()})
        assert resp.status == 400, path
        assert resp.headers["X-akismet-debug-help"] == "Missing required field: blog."


async def test_submit_spam_decides_the_stored_comment_and_labels_it(
    client_for: ClientFactory, site: Site, redis: Redis
) -> None:
    client = client_for(site.api_key)
    sneaky = fields(comment_content="Ghé shop em xem mẫu mới nha các bác, giá tốt lắm ạ")
    assert await client.comment_check(user_ip="1.2.3.4", **sneaky) == akismet.CheckResponse.HAM
    [cid] = await stored_ids(redis, site)
    assert await client.submit_spam(user_ip="1.2.3.4", **sneaky) is True
    row = await redis.hgetall(keys.comment(site.site_id, cid))
    assert (row["status"], row["decided_by"]) == ("spam", "akismet-api")
    [(_, label)] = await redis.xrange(keys.labels(site.site_id))
    assert (label["ref"], label["label"], label["by"]) == (comment_ref(site.site_id, cid), "spam", "akismet-api")
    assert label["text"] == sneaky["comment_content"]
    assert label["mv"]


async def test_submit_ham_of_an_unknown_comment_is_a_label(client_for: ClientFactory, site: Site, redis: Redis) -> None:
    client = client_for(site.api_key)
    text = "Cho mình hỏi số hotline của phường để phản ánh đèn đường hỏng ạ?"
    assert await client.submit_ham(user_ip="1.2.3.4", **fields(comment_content=text)) is True
    [(_, label)] = await redis.xrange(keys.labels(site.site_id))
    assert (label["ref"], label["label"], label["src"]) == ("", "approved", "submit-ham")
    assert label["text"] == text
    assert await stored_ids(redis, site) == []


async def test_a_recheck_of_a_comment_never_stored_stores_it(api: Api, site: Site, redis: Redis) -> None:
    """WordPress's automatic retry of a comment held while the service was unreachable."""
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", "recheck_reason": "retry",
        **fields(comment_content=SPAM_TEXT, comment_author_email="kiemtien@example.vn"),
    })
    assert (await resp.text(), resp.headers["X-Moderation-Status"]) == ("true", "spam")
    assert await stored_ids(redis, site) == [resp.headers["X-Moderation-Id"]]


async def test_a_recheck_of_a_stored_comment_answers_its_status_now(
    api: Api, client_for: ClientFactory, site: Site, redis: Redis
) -> None:
    """"Check for Spam" on a comment the service already has: no second copy, and a
    moderator's decision since then is the answer."""
    form = {"api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(comment_content=HELD_TEXT)}
    first = await api.session.post(api.url("/1.1/comment-check"), data=form)
    cid = first.headers["X-Moderation-Id"]
    assert (await first.text(), first.headers["X-Moderation-Status"]) == ("false", "pending")
    resp = await api.request("POST", f"/v1/review/{cid}/decision", site.moderator_token, json={"decision": "spam"})
    assert resp.status == 200
    again = await api.session.post(api.url("/1.1/comment-check"), data={**form, "recheck_reason": "recheck_queue"})
    assert (await again.text(), again.headers["X-Moderation-Status"], again.headers["X-Moderation-Id"]) == (
        "true", "spam", cid)
    assert await stored_ids(redis, site) == [cid]


async def test_a_recheck_found_by_the_duplicate_rule_answers_the_stored_comment(
    api: Api, site: Site, redis: Redis
) -> None:
    """After the Idempotency-Key expired, the site's duplicate rule finds the comment again."""
    form = {"api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(comment_content=HELD_TEXT)}
    first = await api.session.post(api.url("/1.1/comment-check"), data=form)
    cid = first.headers["X-Moderation-Id"]
    async for key in redis.scan_iter(match=f"site:{{{site.site_id}}}:idem:*"):
        await redis.delete(key)
    again = await api.session.post(api.url("/1.1/comment-check"), data={**form, "recheck_reason": "retry"})
    assert (await again.text(), again.headers["X-Moderation-Status"], again.headers["X-Moderation-Id"]) == (
        "false", "pending", cid)
    assert await stored_ids(redis, site) == [cid]


# ------------------------------------------------------------- Akismet-style keys


@pytest.fixture
async def akismet_key(site: Site, redis: Redis) -> str:
    return await auth.rotate_akismet_key(redis, site.site_id)


async def test_akismet_key_is_12_hex_digits_stored_as_a_slow_digest(
    site: Site, akismet_key: str, redis: Redis
) -> None:
    # What WordPress's Akismet plugin accepts (its verify_key refuses any other length without
    # asking), and a host-name label too.
    assert len(akismet_key) == 12 and set(akismet_key) <= set("0123456789abcdef")
    meta = await redis.hgetall(keys.site_meta(site.site_id))
    stored = hashlib.pbkdf2_hmac("sha256", akismet_key.encode(), b"moderation/akismet-key/v1", 100_000).hex()
    assert meta["akismet_key_hash"] == stored != auth.digest(akismet_key)
    assert await redis.get(keys.akismet_key(stored)) == site.site_id
    values = [await redis.get(k) async for k in redis.scan_iter(match="akismetkey:*")] + list(meta.values())
    assert all(akismet_key not in str(value) for value in values)


async def test_a_48_digit_key_minted_before_still_works(api: Api, site: Site, redis: Redis) -> None:
    legacy = "0123456789abcdef" * 3
    await redis.set(keys.akismet_key(auth.digest(legacy)), site.site_id)
    await redis.hset(keys.site_meta(site.site_id), "akismet_key_hash", auth.digest(legacy))
    try:
        resp = await api.session.post(api.url("/1.1/verify-key"), data={"key": legacy, "blog": BLOG})
        assert await resp.text() == "valid"
    finally:
        await redis.delete(keys.akismet_key(auth.digest(legacy)))


async def test_the_key_is_accepted_in_capitals(api: Api, akismet_key: str) -> None:
    # WordPress's key form keeps A-F as typed (it strips only what is not hex).
    resp = await api.session.post(api.url("/1.1/verify-key"), data={"key": akismet_key.upper(), "blog": BLOG})
    assert await resp.text() == "valid"


async def test_failed_key_checks_are_limited_per_address(
    make_api: AppFactory, site: Site, akismet_key: str, redis: Redis
) -> None:
    api = await make_api(akismet_key_guesses_per_hour=3, trust_forwarded_for=True)
    me, other = f"198.51.100.{os.getpid() % 200 + 20}", f"198.51.100.{os.getpid() % 200 + 21}"

    async def verify(key: str, ip: str) -> tuple[int, str]:
        resp = await api.session.post(api.url("/1.1/verify-key"), data={"key": key, "blog": BLOG},
                                      headers={"X-Forwarded-For": ip})
        return resp.status, await resp.text()

    # Keys that cannot be a 48-bit guess (a site key, junk) do not count.
    for junk in ("sk-nosuch.key", "not-hex-at-all", "abc"):
        assert await verify(junk, me) == (200, "invalid")
    for guess in ("000000000001", "000000000002", "000000000003"):
        assert await verify(guess, me) == (200, "invalid")
    # The budget is spent: no more answers for this address this hour, not even for the right key.
    status, _ = await verify("000000000004", me)
    assert status == 429
    assert (await verify(akismet_key, me))[0] == 429
    # Another address still gets its answers.
    assert await verify(akismet_key, other) == (200, "valid")
    # IPv6 addresses share one budget per /48.
    for i in range(3):
        assert await verify(f"00000000001{i}", f"2001:db8:{os.getpid() % 9000:x}:{i}::1") == (200, "invalid")
    assert (await verify(akismet_key, f"2001:db8:{os.getpid() % 9000:x}:ffff::2"))[0] == 429


async def test_cli_mints_and_rotates_the_akismet_key(
    api: Api, site: Site, redis: Redis, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from moderation.cli import main as cli

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    new_site = f"{site.site_id}-cli"
    try:
        assert await asyncio.to_thread(cli.main, ["sites", "add", new_site]) == 0
        first = json.loads(capsys.readouterr().out)["akismet_key"]
        assert await asyncio.to_thread(cli.main, ["sites", "rotate-key", new_site, "--akismet"]) == 0
        printed = json.loads(capsys.readouterr().out)
        assert set(printed) == {"site_id", "akismet_key"}  # the site key is left alone
        for key, expected in ((first, "invalid"), (printed["akismet_key"], "valid")):
            resp = await api.session.post(api.url("/1.1/verify-key"), data={"key": key, "blog": BLOG})
            assert await resp.text() == expected
    finally:
        doomed = [k async for k in redis.scan_iter(match=f"site:{{{new_site}}}:*")]
        await redis.delete(*doomed)
        await redis.srem(keys.SITES, new_site)


async def test_akismet_key_works_in_the_api_key_field(api: Api, site: Site, akismet_key: str, redis: Redis) -> None:
    verify = await api.session.post(api.url("/1.1/verify-key"), data={"key": akismet_key, "blog": BLOG})
    assert await verify.text() == "valid"
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": akismet_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(),
    })
    assert (await resp.text(), resp.headers["X-Moderation-Status"]) == ("false", "approved")
    assert len(await stored_ids(redis, site)) == 1


async def test_akismet_key_works_in_the_host_name(api: Api, site: Site, akismet_key: str, redis: Redis) -> None:
    host = f"{akismet_key}.rest.akismet.com"
    resp = await api.session.post(api.url("/1.1/comment-check"), headers={"Host": host}, data={
        "blog": BLOG, "user_ip": "1.2.3.4", **fields(),
    })
    assert (await resp.text(), resp.headers["X-Moderation-Status"]) == ("false", "approved")
    assert len(await stored_ids(redis, site)) == 1
    # The old site key keeps working alongside it, also in the host name? No: it has a dot
    # and capitals, so it cannot be a label; it works in the field as before.
    other = await api.session.post(api.url("/1.1/verify-key"), data={"key": site.api_key, "blog": BLOG})
    assert await other.text() == "valid"


async def test_a_key_field_wins_over_the_host_name(api: Api, site: Site, akismet_key: str) -> None:
    resp = await api.session.post(api.url("/1.1/verify-key"), headers={"Host": f"{akismet_key}.rest.akismet.com"},
                                  data={"key": "0" * 48, "blog": BLOG})
    assert await resp.text() == "invalid"


async def test_rotated_akismet_key_stops_working(api: Api, site: Site, akismet_key: str, redis: Redis) -> None:
    fresh = await auth.rotate_akismet_key(redis, site.site_id)
    assert fresh != akismet_key
    for key, expected in ((akismet_key, "invalid"), (fresh, "valid")):
        resp = await api.session.post(api.url("/1.1/verify-key"), headers={"Host": f"{key}.rest.akismet.com"},
                                      data={"blog": BLOG})
        assert await resp.text() == expected
    assert await redis.get(keys.akismet_key(auth.digest(akismet_key))) is None


async def test_a_stale_index_entry_is_not_a_key(api: Api, site: Site, akismet_key: str, redis: Redis) -> None:
    """A rotation interrupted after writing the index: the site's record still decides."""
    orphan = "ab" * 24
    await redis.set(keys.akismet_key(auth.digest(orphan)), site.site_id)
    resp = await api.session.post(api.url("/1.1/verify-key"), data={"key": orphan, "blog": BLOG})
    assert await resp.text() == "invalid"
    await redis.delete(keys.akismet_key(auth.digest(orphan)))


async def test_unknown_key_in_the_host_name_is_invalid(api: Api, site: Site, redis: Redis) -> None:
    resp = await api.session.post(api.url("/1.1/comment-check"), headers={"Host": f"{'c' * 48}.rest.akismet.com"},
                                  data={"blog": BLOG, "user_ip": "1.2.3.4", **fields()})
    assert await resp.text() == "invalid"
    assert resp.headers["X-akismet-debug-help"] == "We were unable to verify your API key."
    assert await stored_ids(redis, site) == []


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("abc123.rest.akismet.com", "abc123"),
        ("abc123.akismet.test:8080", "abc123"),
        # Any first label of three or more may be a key; an unknown one answers "invalid".
        ("rest.akismet.com", "rest"),
        ("akismet.test:8080", ""),
        ("127.0.0.1:8080", ""),
        ("[::1]:8080", ""),
        ("ABC.rest.akismet.com", "abc"),
        ("sk-site.rest.akismet.com", ""),
        ("", ""),
    ],
)
def test_key_from_host(host: str, key: str) -> None:
    assert key_from_host(host) == key


# ------------------------------------------------ the calls of Akismet's settings screen


async def test_connectivity_test_answers_connected(api: Api) -> None:
    resp = await api.session.get(api.url("/1.1/test"))
    assert (resp.status, await resp.text()) == (200, "connected")


async def test_get_subscription_is_active(api: Api, site: Site, akismet_key: str) -> None:
    resp = await api.session.post(api.url("/1.1/get-subscription"), data={"key": akismet_key, "blog": BLOG})
    assert resp.content_type == "application/json"
    doc = await resp.json()
    # What WordPress reads: status decides whether the key is saved; the rest is shown.
    assert doc["status"] == "active"
    assert doc["account_name"] == site.site_id
    assert doc["next_billing_date"] is None and doc["limit_reached"] is False
    bad = await api.session.post(api.url("/1.1/get-subscription"), data={"key": "f" * 48, "blog": BLOG})
    assert await bad.text() == "invalid"


async def test_get_stats_counts_spam_ham_and_reports(api: Api, client_for: ClientFactory, site: Site) -> None:
    client = client_for(site.api_key)
    assert await client.comment_check(user_ip="1.2.3.4", **fields()) == akismet.CheckResponse.HAM
    spam = fields(comment_content=SPAM_TEXT, comment_author_email="kiemtien@example.vn")
    assert await client.comment_check(user_ip="42.118.1.1", **spam) == akismet.CheckResponse.SPAM
    text = "Cho mình hỏi số hotline của phường để phản ánh đèn đường hỏng ạ?"
    assert await client.submit_ham(user_ip="1.2.3.4", **fields(comment_content=text)) is True
    for window in ("6-months", "all"):
        resp = await api.session.post(api.url("/1.1/get-stats"),
                                      data={"key": site.api_key, "blog": BLOG, "from": window})
        doc = await resp.json()
        assert (doc["spam"], doc["ham"], doc["missed_spam"], doc["false_positives"]) == (1, 1, 0, 1), window
        assert doc["accuracy"] == 50.0
    old = await api.session.post(api.url("/1.1/get-stats"),
                                 data={"key": site.api_key, "blog": BLOG, "from": "2001-01-01", "to": "2001-12-31"})
    assert (await old.json())["spam"] == 0


async def test_get_stats_refuses_a_bad_window(api: Api, site: Site) -> None:
    resp = await api.session.post(api.url("/1.1/get-stats"), data={"key": site.api_key, "blog": BLOG, "from": "soon"})
    assert resp.status == 400
    assert "from" in resp.headers["X-akismet-debug-help"]


async def test_usage_limit_has_no_limit(api: Api, client_for: ClientFactory, site: Site, akismet_key: str) -> None:
    assert await client_for(site.api_key).comment_check(user_ip="1.2.3.4", **fields()) == akismet.CheckResponse.HAM
    resp = await api.session.post(api.url("/1.2/usage-limit"), data={"api_key": akismet_key})
    assert await resp.json() == {"limit": "none", "usage": 1, "percentage": None, "throttled": False}
    bad = await api.session.post(api.url("/1.2/usage-limit"), data={"api_key": "e" * 48})
    assert await bad.text() == "invalid"
