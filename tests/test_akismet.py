"""The Akismet-compatible API, driven by the real PyPI ``akismet`` client over real HTTP.

The client's base URL is fixed (https://rest.akismet.com), so an httpx transport rewrites
every request's scheme/host/port to the test server — the request itself is unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import akismet
import httpx
import pytest
from redis.asyncio import Redis

from service.store import keys
from service.store.retention import comment_ref
from tests.conftest import Api, Site

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


async def test_blatant_spam_is_discard_and_stored_as_spam(client_for: ClientFactory, site: Site, redis: Redis) -> None:
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
    assert await client.comment_check(user_ip="1.2.3.4", is_test=True, **spam) == akismet.CheckResponse.DISCARD
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


async def test_honeypot_is_discarded(api: Api, site: Site) -> None:
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", **fields(),
        "honeypot_field_name": "hidden_email", "hidden_email": "bot@spam.example",
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


async def test_recheck_reason_rescores_without_storing(api: Api, site: Site, redis: Redis) -> None:
    resp = await api.session.post(api.url("/1.1/comment-check"), data={
        "api_key": site.api_key, "blog": BLOG, "user_ip": "1.2.3.4", "recheck_reason": "recheck_queue",
        **fields(comment_content=SPAM_TEXT, comment_author_email="kiemtien@example.vn"),
    })
    assert await resp.text() == "true"
    assert "X-Moderation-Id" not in resp.headers
    assert await stored_ids(redis, site) == []
