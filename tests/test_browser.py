"""The moderator's page in a real headless Chromium (Debian's), driven by Playwright.

Every wait is one of Playwright's auto-waiting expectations; the page marks
``<body data-outbox>`` with the number of decisions not yet answered by the
server, so a test knows when a decision has landed and checks it through the API.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from redis.asyncio import Redis

from moderation.store import auth, stats
from moderation.web import appkeys
from tests.conftest import Api, AppFactory, Site, comment, screenshot_dir
from tests.test_api import submit

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Long enough for a slow CI machine, short enough that a broken page fails fast.
EXPECT_TIMEOUT_MS = 15_000


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("Debian's chromium is not installed; `make test` installs it")
    return path


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


PageFactory = Callable[..., Awaitable[Page]]


@pytest.fixture
async def make_page(browser: Browser) -> AsyncIterator[PageFactory]:
    contexts = []

    async def factory(locale: str = "vi-VN", width: int = 1200, height: int = 900) -> Page:
        context = await browser.new_context(locale=locale, viewport={"width": width, "height": height})
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(EXPECT_TIMEOUT_MS)
        return page

    yield factory
    for context in contexts:
        await context.close()


async def sign_in(page: Page, api: Api, token: str) -> None:
    await page.goto(api.url("/moderate"))
    await page.get_by_label(re.compile("Mã kiểm duyệt viên|Moderator token")).fill(token)
    await page.get_by_role("button", name=re.compile("^(Đăng nhập|Sign in)$")).click()
    await expect(page.locator("#workspace")).to_be_visible()


async def landed(page: Page) -> None:
    """Wait until every decision the page held or sent has been answered by the server."""
    await expect(page.locator("body")).to_have_attribute("data-outbox", "0")
    await expect(page.locator("#toast")).to_have_attribute("data-state", re.compile("saved|undone"))


async def status_of(api: Api, site: Site, cid: str) -> dict:
    resp = await api.request("GET", f"/v1/comments/{cid}", site.api_key)
    return await resp.json()


# Real-sounding reader comments with three links each: the link rule holds them for review.
_HELD_TEXTS = (
    "Mình thấy bài về giá xăng còn thiếu số liệu, mời mọi người đọc thêm ở {links} để so sánh.",
    "Chuyện kẹt xe ở Cầu Giấy đã có nhiều báo phân tích, ví dụ {links}, tác giả nên tham khảo.",
    "Học phí đại học tăng mỗi năm, các bạn xem bảng so sánh tại {links} nhé.",
    "Mưa lớn miền Trung năm nay kéo dài, thông tin cứu trợ có ở {links}.",
    "Giá vàng hôm nay biến động mạnh, số liệu chính thức nằm ở {links}.",
    "Đội tuyển đá hay nhưng hàng thủ còn yếu, xem lại diễn biến trận đấu ở {links}.",
    "Dự án metro chậm tiến độ đã lâu, các mốc thời gian được ghi lại tại {links}.",
    "Giá nhà chung cư vượt xa thu nhập, mọi người đọc thêm các phân tích ở {links}.",
)
_held_counter = 0
BODIES: dict[str, dict[str, object]] = {}


async def held(api: Api, site: Site, n: int = 1, **overrides: object) -> list[str]:
    """Submit ``n`` different comments that end up pending (held for review); return their ids.

    Each has its own author, email and IP, so no flood rule trips. Whether a text is held
    or filed as spam depends on the model of the day, so each candidate is first tried with
    /v1/check (which stores nothing) and only a held one is submitted.
    """
    global _held_counter
    ids = []
    for _ in range(n):
        for _attempt in range(3 * len(_HELD_TEXTS)):
            _held_counter += 1
            k = _held_counter
            links = f"https://vnexpress.net/{k} https://tuoitre.vn/{k} https://thanhnien.vn/{k}"
            body = comment(
                content=_HELD_TEXTS[k % len(_HELD_TEXTS)].format(links=links),
                author_name=f"Độc giả {k}",
                author_email=f"doc.gia{k}@example.vn",
                user_ip=f"113.160.{k // 250}.{k % 250 + 1}",
            )
            body.update(overrides)
            check = await api.request("POST", "/v1/check", site.api_key, json=body)
            if (await check.json())["status"] == "pending":
                break
        status, reply = await submit(api, site, body)
        assert status == 202 and reply["status"] == "pending", reply
        ids.append(reply["id"])
        BODIES[reply["id"]] = body
    return ids


def item(page: Page, cid: str):  # type: ignore[no-untyped-def]
    return page.locator(f'li.item[data-id="{cid}"]')


async def test_work_the_queue_with_keyboard_bulk_and_rescue(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.5, ui_poll_seconds=1.0)
    ids = await held(api, site, 4)
    status, spam = await submit(
        api,
        site,
        comment(
            content="Liên hệ zalo 0912345678 để nhận ưu đãi vay tiền nhanh, lãi suất thấp!!!",
            author_name="Dịch vụ tài chính",
            author_email="vay.nhanh@example.vn",
            post_id="bai-viet-2",
        ),
    )
    assert status == 202 and spam["status"] == "spam", spam

    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    # Vietnamese by default for a Vietnamese browser; the queue shows the held comments.
    await expect(page.locator("html")).to_have_attribute("lang", "vi")
    await expect(page.get_by_role("tab", name=re.compile("Chờ duyệt"))).to_have_attribute("aria-selected", "true")
    await expect(page.locator("[data-count=pending]")).to_have_text("4")
    await expect(page.locator("li.item")).to_have_count(4)
    newest = item(page, ids[-1])
    body = BODIES[ids[-1]]
    await expect(newest.locator(".text")).to_have_text(str(body["content"]))
    await expect(newest.locator(".author")).to_have_text(str(body["author_name"]))
    await expect(newest).to_contain_text(str(body["author_email"]))
    await expect(newest).to_contain_text(str(body["user_ip"]))
    await expect(newest.locator(".reason[data-code=too_many_links]")).to_contain_text("Quá nhiều liên kết")
    await expect(newest.get_by_role("link", name="bai-viet-1")).to_have_attribute(
        "href", "https://baotinh.example.vn/giao-thong/bai-viet-1"
    )
    # Claimed through the claim API: this moderator holds them.
    await expect(newest.locator(".badge.mine")).to_be_visible()
    await page.screenshot(path=str(screenshot_dir() / "queue.png"), full_page=True)

    # Approve the first (newest) with the keyboard.
    await expect(newest).to_be_focused()
    await page.keyboard.press("a")
    await expect(newest).to_have_count(0)
    await landed(page)
    assert (await status_of(api, site, ids[-1]))["status"] == "approved"

    # Bulk-reject two: select with x, move with j, then reject with a reason.
    await page.keyboard.press("x")
    await page.keyboard.press("j")
    await page.keyboard.press("x")
    await expect(page.locator("#selected-count")).to_have_text("Đã chọn 2")
    await page.get_by_role("button", name="Từ chối mục đã chọn").click()
    dialog = page.get_by_role("dialog", name="Từ chối bình luận")
    await expect(dialog).to_be_visible()
    await dialog.get_by_label("Quảng cáo").check()
    await dialog.get_by_role("button", name="Xác nhận").click()
    await expect(page.locator("li.item")).to_have_count(1)
    await landed(page)
    for cid in (ids[2], ids[1]):
        view = await status_of(api, site, cid)
        assert view["status"] == "rejected" and view["decision"]["reason"] == "advertising", view
    assert (await status_of(api, site, ids[0]))["status"] == "pending"
    await expect(page.locator("[data-count=rejected]")).to_have_text("2")

    # Rescue a false positive from the spam queue.
    await page.get_by_role("tab", name=re.compile("Spam")).click()
    rescued = item(page, spam["id"])
    await expect(rescued).to_contain_text("zalo")
    await expect(rescued.locator("mark").first).to_be_visible()
    await rescued.get_by_role("button", name="Duyệt").click()
    await expect(rescued).to_have_count(0)
    await landed(page)
    view = await status_of(api, site, spam["id"])
    assert view["status"] == "approved" and view["decision"]["by"] == "mod-a"


async def test_reject_with_keyboard_reason_and_block_flags(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.2)
    [cid] = await held(api, site, 1)
    page = await make_page(locale="en-US")
    await sign_in(page, api, site.moderator_token)
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(item(page, cid)).to_be_focused()
    await page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Reject comment")
    await expect(dialog).to_be_visible()
    await page.keyboard.press("5")  # harassment
    await expect(dialog.get_by_label("Harassment")).to_be_checked()
    await dialog.get_by_label("Block this email").check()
    await page.keyboard.press("Enter")
    await expect(item(page, cid)).to_have_count(0)
    await landed(page)
    view = await status_of(api, site, cid)
    assert view["status"] == "rejected" and view["decision"]["reason"] == "harassment"
    # The block went along with the decision: the site's block list now has the author's email.
    rules = await api.request("GET", f"/v1/sites/{site.site_id}/settings", site.moderator_token)
    assert rules.status == 200
    assert str(BODIES[cid]["author_email"]).casefold() in json.dumps(await rules.json())
    # ? opens the shortcut help.
    await page.keyboard.press("?")
    await expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_contain_text("Next / previous comment")


async def test_undo_keeps_the_comment_pending(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=5.0)
    [cid] = await held(api, site, 1)
    page = await make_page()
    await sign_in(page, api, site.moderator_token)
    await expect(item(page, cid)).to_be_focused()
    await page.keyboard.press("s")
    await expect(item(page, cid)).to_have_count(0)
    await expect(page.get_by_role("button", name="Hoàn tác (u)")).to_be_visible()
    await page.keyboard.press("u")
    await expect(item(page, cid)).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-outbox", "0")
    await expect(page.locator("#toast")).to_have_attribute("data-state", "undone")
    assert (await status_of(api, site, cid))["status"] == "pending"


async def test_xss_in_a_comment_is_shown_as_text(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    payload = (
        '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
        '<a href="javascript:window.__xss=3">bấm</a> https://a.example.vn https://b.example.vn https://c.example.vn'
    )
    status, reply = await submit(
        api, site, comment(content=payload, author_name='<b onmouseover="window.__xss=4">Kẻ xấu</b>')
    )
    assert status == 202, reply
    page = await make_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await sign_in(page, api, site.moderator_token)
    if reply["status"] != "pending":  # whichever queue the model put it in
        await page.locator(f"[role=tab][data-status={reply['status']}]").click()
    shown = item(page, reply["id"])
    await expect(shown.locator(".text")).to_have_text(payload)
    await expect(shown.locator(".author")).to_have_text('<b onmouseover="window.__xss=4">Kẻ xấu</b>')
    await shown.locator(".author").hover()
    assert await shown.locator("img, script, b, a[href^=javascript]").count() == 0
    assert await page.evaluate("window.__xss") is None
    assert dialogs == []


async def test_the_articles_title_names_the_post_as_text(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    title = 'Hà Nội ngập sau mưa <img src=x onerror="window.__xss=5">'
    [cid] = await held(api, site, 1, post_id="5", post_title=title,
                       post_url="https://baotinh.example.vn/?p=5")
    page = await make_page()
    await sign_in(page, api, site.moderator_token)
    post = item(page, cid).locator("a.post")
    await expect(post).to_have_text(title)
    await expect(post).to_have_attribute("href", "https://baotinh.example.vn/?p=5")
    assert await item(page, cid).locator("img").count() == 0
    assert await page.evaluate("window.__xss") is None


async def test_wrong_token_is_refused(api: Api, site: Site, make_page: PageFactory) -> None:
    page = await make_page()
    await page.goto(api.url("/moderate"))
    await page.get_by_label("Mã kiểm duyệt viên").fill("mt-wrong-token")
    await page.get_by_role("button", name="Đăng nhập").click()
    await expect(page.get_by_role("alert")).to_have_text("Mã không hợp lệ hoặc đã bị thu hồi.")
    await expect(page.locator("#workspace")).to_be_hidden()
    assert "mt-" not in page.url
    cookies = await page.context.cookies()
    assert [c for c in cookies if c["name"] == "mod_session"] == []


async def test_sign_out_language_switch_and_counts_update(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_poll_seconds=1.0)
    await held(api, site, 1)
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    cookie = next(c for c in await page.context.cookies() if c["name"] == "mod_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert await page.evaluate("document.cookie") == ""
    await expect(page.locator("[data-count=pending]")).to_have_text("1")
    # Counts update on their own.
    await held(api, site, 1)
    await expect(page.locator("[data-count=pending]")).to_have_text("2")
    # Switch to English and back; the choice is remembered on reload.
    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("tab", name=re.compile("Pending"))).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Moderator token")).to_be_visible()
    assert [c for c in await page.context.cookies() if c["name"] == "mod_session"] == []
    replay = {"Cookie": f"mod_session={cookie['value']}"}
    resp = await api.request("GET", f"/v1/review/queue?site={site.site_id}", headers=replay)
    assert resp.status == 401


async def test_an_item_claimed_by_another_moderator_shows_its_holder(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    other = await auth.add_moderator(redis, [site.site_id], "hoa")
    [cid] = await held(api, site, 1)
    claim = await api.request("POST", "/v1/review/claim", other, json={"site": site.site_id, "count": 1})
    assert [i["id"] for i in (await claim.json())["items"]] == [cid]
    page = await make_page()
    await sign_in(page, api, site.moderator_token)
    row = item(page, cid)
    await expect(row.locator(".badge.held")).to_have_text("Đang được hoa xử lý")
    await expect(row.get_by_role("button", name="Duyệt")).to_be_disabled()
    await page.keyboard.press("a")
    await expect(page.locator("#toast")).to_contain_text("hoa")
    assert (await status_of(api, site, cid))["status"] == "pending"


async def test_filters_and_narrow_screen(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    [first] = await held(api, site, 1)
    [other] = await held(
        api, site, 1, post_id="bai-khac", post_url="https://baotinh.example.vn/the-thao/bai-khac"
    )
    page = await make_page(width=360, height=780)
    await sign_in(page, api, site.moderator_token)
    await expect(page.locator("li.item")).to_have_count(2)
    # On a phone the filters are folded behind their toggle.
    await expect(page.get_by_label("Bài viết (mã hoặc URL)")).to_be_hidden()
    await page.get_by_role("button", name="Bộ lọc").click()
    await page.get_by_label("Bài viết (mã hoặc URL)").fill("the-thao")
    await expect(page.get_by_role("button", name="Bộ lọc")).to_contain_text("1")  # one filter in use
    await expect(page.locator("li.item")).to_have_count(1)
    await expect(item(page, other)).to_be_visible()
    await page.get_by_label("Bài viết (mã hoặc URL)").fill("")
    await page.get_by_label("Lý do", exact=True).select_option("too_many_links")
    await expect(page.locator("li.item")).to_have_count(2)
    # Nothing wider than the screen at 360 px.
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    await expect(item(page, first)).to_be_visible()
    await page.screenshot(path=str(screenshot_dir() / "queue-360.png"), full_page=True)


# English words of the rules' messages (service/moderation/policy.py) that have no place on
# the Vietnamese page; "email" and "IP" are used in Vietnamese too.
_ENGLISH = re.compile(
    r"\b(score|between|above|below|links?|held|review|contains|word|author|comment|site|"
    r"probability|shadow|blocked|range|because|the|is|are|of)\b",
    re.IGNORECASE,
)


async def test_vietnamese_page_words_every_reason_and_signal_in_vietnamese(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    from moderation.scoring.features import SIGNAL_NAMES
    from moderation.scoring.scorer import OTHER_WORDING

    api = await make_api()
    settings = {
        "version": 0,
        "mode": "first",
        "moderation_words": ["giá xăng"],
        "blocked_email_domains": ["rac.example"],
        "blocked_ips": ["203.0.113.0/24"],
        "spam_at": 1.0,  # whatever the model says, the first comment waits and the second is spam by the block list
    }
    resp = await api.request("PUT", f"/v1/sites/{site.site_id}/settings", site.moderator_token, json=settings)
    assert resp.status == 200, await resp.text()
    links = "https://vnexpress.net/x https://tuoitre.vn/y https://thanhnien.vn/z"
    [held_id] = await held(api, site, 1, content=f"Giá xăng tăng mãi, mời mọi người đọc thêm ở {links}.")
    status, spam = await submit(
        api,
        site,
        comment(
            content="Vay tiền nhanh trong ngày, liên hệ zalo 0912345678, giải ngân ngay!!!",
            author_email="vay@rac.example",
            user_ip="203.0.113.7",
        ),
    )
    assert status == 202 and spam["status"] == "spam", spam
    queue = await api.request("GET", f"/v1/review/queue?site={site.site_id}&status=pending", site.moderator_token)
    [pending] = (await queue.json())["items"]
    codes = {r["code"] for r in pending["reasons"]}
    assert {"moderation_word", "too_many_links", "first_comment"} <= codes, codes
    assert {"blocked_email_domain", "blocked_ip"} <= {r["code"] for r in spam["reasons"]}
    english_messages = [r["message"] for r in pending["reasons"] + spam["reasons"]]

    page = await make_page(locale="vi-VN")
    responses: list[tuple[int, str]] = []
    page.on("response", lambda r: responses.append((r.status, r.url)))
    await sign_in(page, api, site.moderator_token)
    for tab, cid, heading in (("pending", held_id, "Lý do giữ lại"), ("spam", spam["id"], "Lý do đánh dấu spam")):
        await page.locator(f"[role=tab][data-status={tab}]").click()
        row = item(page, cid)
        await expect(row.locator(".reason").first).to_be_visible()
        await expect(row.locator("p.label").first).to_have_text(heading)
        texts = await row.locator(".reason").all_inner_texts()
        titles = [await r.get_attribute("title") or "" for r in await row.locator(".reason").all()]
        features = await row.locator(".feature .name").all_inner_texts()
        for text in texts + titles:
            assert not _ENGLISH.search(text), text
            assert not any(m in text for m in english_messages), text
        for name in features:
            assert name not in (*SIGNAL_NAMES, OTHER_WORDING), name
        if tab == "pending":
            await expect(row.locator(".reason[data-code=moderation_word]")).to_contain_text(
                "Nội dung có từ cần duyệt “giá xăng”"
            )
            await expect(row.locator(".reason[data-code=too_many_links]")).to_contain_text("3 liên kết")
            score = next((r for r in pending["reasons"] if r["code"] == "spam_score_uncertain"), None)
            if score is not None:  # Vietnamese numbers have a decimal comma
                assert f"{score['params']['score']:.2f}".replace(".", ",") in " ".join(texts)
        else:
            await expect(row.locator(".reason[data-code=blocked_ip]")).to_contain_text("dải bị chặn 203.0.113.0/24")
    # The same reasons in English on the English page.
    await page.get_by_role("button", name="English").click()
    await expect(item(page, spam["id"]).locator("p.label").first).to_have_text("Filed as spam because")
    await expect(item(page, spam["id"]).locator(".reason[data-code=blocked_ip]")).to_contain_text(
        "the IP address is in the blocked range 203.0.113.0/24"
    )
    # Nothing the page asked for was missing (the favicon included) or refused.
    assert any(url.endswith(("/favicon.ico", "/favicon.svg")) for _, url in responses)
    assert [r for r in responses if r[0] >= 400] == []
    icon = await api.request("GET", "/favicon.ico")
    assert icon.status == 200 and icon.headers["Content-Type"] == "image/x-icon"


async def test_counts_move_during_the_undo_window(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=30.0, ui_poll_seconds=1.0)
    ids = await held(api, site, 2)
    page = await make_page()
    await sign_in(page, api, site.moderator_token)
    await expect(page.locator("[data-count=pending]")).to_have_text("2")
    await expect(item(page, ids[-1])).to_be_focused()
    await page.keyboard.press("a")
    # Held for the undo window, not yet sent: the counts already show it, and keep showing
    # it across the page's count polls (which cannot include it yet).
    await expect(page.locator("body")).to_have_attribute("data-outbox", "1")
    await expect(page.locator("[data-count=pending]")).to_have_text("1")
    await expect(page.locator("[data-count=approved]")).to_have_text("1")
    async with page.expect_response(lambda r: "/v1/review/queue" in r.url and "limit=1" in r.url):
        pass  # one count poll answered while the decision is still held
    await expect(page.locator("[data-count=pending]")).to_have_text("1")
    await page.keyboard.press("u")
    await expect(page.locator("[data-count=pending]")).to_have_text("2")
    await expect(page.locator("[data-count=approved]")).to_have_text("0")
    # Decided for real: the server's counts take over, with no double count.
    await page.keyboard.press("s")
    await expect(page.locator("[data-count=spam]")).to_have_text("1")
    await page.locator("[role=tab][data-status=approved]").click()  # switching tabs sends it
    await expect(page.locator("body")).to_have_attribute("data-outbox", "0")
    async with page.expect_response(lambda r: "/v1/review/queue" in r.url and "limit=1" in r.url):
        pass  # one count poll answered while the decision is still held
    await expect(page.locator("[data-count=pending]")).to_have_text("1")
    await expect(page.locator("[data-count=spam]")).to_have_text("1")
    assert (await status_of(api, site, ids[-1]))["status"] == "spam"


_READER_TEXTS = (
    "Cảm ơn tác giả, bài viết về giá điện rất dễ hiểu.",
    "Mong thành phố sớm sửa con đường này, mưa xuống là ngập.",
    "Đội tuyển chơi tốt, hàng tiền vệ phối hợp nhịp nhàng hơn trận trước.",
    "Tôi đồng ý, học sinh cần được nghỉ ngơi nhiều hơn.",
    "Thông tin hữu ích, gia đình tôi sẽ tiêm phòng đầy đủ.",
    "Giá rau tuần này ở chợ gần nhà tôi cũng tăng gần gấp đôi.",
    "Bài phân tích hay nhưng nên có thêm ý kiến của chuyên gia.",
    "Mình ở Đà Nẵng, sáng nay trời đã tạnh mưa rồi.",
    "Cần xử lý nghiêm các trường hợp lấn chiếm vỉa hè.",
)


@dataclass
class History:
    statuses: list[str]
    per_day: list[int]
    decided: int


async def past_days(api: Api, site: Site) -> History:
    """Comments on the three days before today (the service's clock moved back), every held one
    approved by a moderator one to two and a half hours later, so the charts have a few days."""
    moderation = api.app[appkeys.MODERATION]
    real = moderation.clock
    today = stats.day_of(real(), api.app[appkeys.SETTINGS].stats_utc_offset_minutes)
    noon = int(datetime.fromisoformat(today).replace(tzinfo=UTC).timestamp() * 1000) + 5 * 3600_000
    out = History([], [], 0)
    n = 0
    try:
        for back, count in ((3, 4), (2, 6), (1, 3)):
            at = noon - back * 86_400_000
            moderation.clock = lambda at=at: at  # type: ignore[misc]
            held_ids = []
            for i in range(count):
                n += 1
                # The day's first comment has three links, so the link rule holds it.
                links = f" Nguồn: https://vnexpress.net/h{n} https://tuoitre.vn/h{n} https://thanhnien.vn/h{n}"
                body = comment(
                    content=_READER_TEXTS[n % len(_READER_TEXTS)] + (links if i == 0 else ""),
                    author_name=f"Bạn đọc {n}",
                    author_email=f"ban.doc{n}@example.vn",
                    user_ip=f"14.160.3.{n}",
                )
                status, reply = await submit(api, site, body)
                assert status == 202, reply
                out.statuses.append(reply["status"])
                if reply["status"] == "pending":
                    held_ids.append(reply["id"])
            out.per_day.append(count)
            for k, cid in enumerate(held_ids):
                wait_ms = (20 + 40 * back + 25 * k) * 60_000
                moderation.clock = lambda at=at, wait_ms=wait_ms: at + wait_ms  # type: ignore[misc]
                resp = await api.request(
                    "POST", f"/v1/review/{cid}/decision", site.moderator_token, json={"decision": "approve"}
                )
                assert resp.status == 200, await resp.text()
                out.decided += 1
    finally:
        moderation.clock = real
    return out


async def test_stats_view_shows_the_days_counts_and_charts(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.2)
    history = await past_days(api, site)
    ids = await held(api, site, 5)
    status, spam = await submit(
        api,
        site,
        comment(
            content="Liên hệ zalo 0912345678 để nhận ưu đãi vay tiền nhanh, lãi suất thấp!!!",
            author_name="Dịch vụ tài chính",
            author_email="vay.nhanh@example.vn",
            user_ip="198.51.100.9",
        ),
    )
    assert status == 202 and spam["status"] == "spam", spam
    received = len(history.statuses) + 6
    spam_share = round((history.statuses.count("spam") + 1) / received * 100, 1)
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    # Three decisions through the page: approve, spam, reject with a reason.
    await expect(item(page, ids[-1])).to_be_focused()
    await page.keyboard.press("a")
    await landed(page)
    await expect(item(page, ids[-2])).to_have_class(re.compile(r"\bcurrent\b"))
    await page.keyboard.press("s")
    await landed(page)
    await expect(item(page, ids[-3])).to_have_class(re.compile(r"\bcurrent\b"))
    await page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Từ chối bình luận")
    await dialog.get_by_label("Lạc đề").check()
    await dialog.get_by_role("button", name="Xác nhận").click()
    await landed(page)

    await page.get_by_role("tab", name="Thống kê").click()
    view = page.locator("#stats-view")
    await expect(view).to_have_attribute("data-ready", "1")
    await expect(view.locator("[data-stat=submitted] dd")).to_have_text(str(received))
    await expect(view.locator("[data-stat=decided] dd")).to_have_text(str(3 + history.decided))
    await expect(view.locator("[data-stat=pending] dd")).to_have_text("2")
    shown = f"{spam_share:g}".replace(".", ",")
    await expect(view.locator("[data-stat=spamShare] dd")).to_have_text(re.compile(rf"^{shown}\s?%$"))
    # Today's row: 6 received, 5 held, 1 spam, 3 decided; the chart columns match.
    today = view.locator("table.daily tbody tr").last
    await expect(today.locator("td")).to_have_text(["6", "0", "5", "1", "0", "3"])
    await expect(view.locator("table.reasons")).to_contain_text("Quá nhiều liên kết")
    links_row = view.locator("table.reasons tbody tr", has_text="Quá nhiều liên kết")
    await expect(links_row.locator("td")).to_have_text(str(5 + 3))  # and one a day before today
    # Three decisions on held comments, all within the first 30 seconds.
    await expect(view.locator("table.wait tbody tr", has_text="≤ 30 giây").locator("td")).to_have_text("3")
    # Two charts are uPlot canvases, served by this service (no CDN); the reasons are HTML bars.
    await expect(view.locator(".chart .uplot canvas")).to_have_count(2)
    reasons = await reasons_of(api, site)
    await expect(view.locator("[data-chart=reasons] li")).to_have_count(len(reasons))
    await expect(view.locator("[data-chart=daily] .u-legend")).to_contain_text("Chờ duyệt")
    # Legends name what the colours mean and nothing else: no "Số lượng:" or "Ngày:" waiting
    # for a value that only appears under the pointer.
    await expect(view.locator(".u-legend.u-live")).to_have_count(0)
    await expect(view.locator("[data-chart=wait] .u-legend")).to_have_count(0)
    assert "Ngày" not in await view.locator("[data-chart=daily] .u-legend").inner_text()
    await assert_reason_labels_whole(page, len(reasons))
    figures = await (await api.request("GET", f"/v1/sites/{site.site_id}/stats?days=14", site.moderator_token)).json()
    assert [d["submitted"] for d in figures["daily"][-4:-1]] == history.per_day
    assert figures["totals"]["decided"] == {"approved": 1 + history.decided, "spam": 1, "rejected": 1}
    assert figures["totals"]["decision_reasons"] == {"off_topic": 1, "spam": 1}
    await page.screenshot(path=str(screenshot_dir() / "stats.png"), full_page=True)
    # English on the same data.
    await page.get_by_role("button", name="English").click()
    await expect(view.locator("[data-stat=submitted] dt")).to_have_text("Comments received")
    await expect(view.locator("table.reasons")).to_contain_text("Too many links")
    # A phone's width: the charts are drawn again to fit, nothing wider than the screen.
    await page.set_viewport_size({"width": 360, "height": 780})
    await page.wait_for_function(
        "[...document.querySelectorAll('.chart .uplot')].every("
        "u => u.offsetWidth > 0 && u.offsetWidth <= u.parentElement.clientWidth && u.parentElement.clientWidth < 360)"
    )
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    await assert_reason_labels_whole(page, len(reasons))


async def reasons_of(api: Api, site: Site) -> dict[str, int]:
    figures = await (await api.request("GET", f"/v1/sites/{site.site_id}/stats?days=14", site.moderator_token)).json()
    return dict(figures["totals"]["reasons"])


async def assert_reason_labels_whole(page: Page, count: int) -> None:
    """Every reason label of the stats view lies inside its card, from its first letter to
    its last, and shows all of its text (a slanted canvas axis cut the first one off)."""
    boxes = await page.evaluate(
        """() => [...document.querySelectorAll("[data-chart=reasons] .hbar-label")].map((label) => {
            const card = label.closest(".chart-card").getBoundingClientRect();
            const box = label.getBoundingClientRect();
            return {text: label.textContent, left: box.left, right: box.right, top: box.top, bottom: box.bottom,
                    width: box.width, card: [card.left, card.right, card.top, card.bottom],
                    overflow: label.scrollWidth - label.clientWidth};
        })"""
    )
    assert len(boxes) == count >= 2, boxes
    for box in boxes:
        left, right, top, bottom = box["card"]
        assert box["width"] > 0 and box["overflow"] <= 0, box
        assert left < box["left"] and box["right"] < right and top < box["top"] and box["bottom"] < bottom, box


async def test_highlights_cover_whole_words_only(api: Api, make_page: PageFactory) -> None:
    page = await make_page()
    await page.goto(api.url("/moderate"))
    marks = await page.evaluate(
        """async () => {
            const { renderHighlighted } = await import("/static/js/highlight.js");
            const el = document.createElement("p");
            const text = "Phiên NGHỊ TÒA hôm nay, gọi 0912 345 678 hoặc hill";
            renderHighlighted(el, text, [
                { feature: "'hi'", weight: 0.9 },
                { feature: "'nghị tòa'", weight: 0.8 },
                { feature: "'hôm'", weight: 0.5 },
                { feature: "phone number", weight: 0.4 },
                { feature: "'hoặc'", weight: -0.2 },
            ]);
            return { marks: [...el.querySelectorAll("mark")].map((m) => m.textContent), text: el.textContent };
        }"""
    )
    # 'hi' is inside "nghị" and "hill": no mark; a phrase and a signal are marked whole;
    # a feature pulling toward ham (negative weight) is not marked.
    assert marks["marks"] == ["NGHỊ TÒA", "hôm", "0912 345 678"], marks
    assert marks["text"] == "Phiên NGHỊ TÒA hôm nay, gọi 0912 345 678 hoặc hill"


# ---------------------------------------------------------------- issue 25: a moderator never misled

# The example: a reader's political comment the toxicity model scores P(HATE) ≈ 0.99.
HATEFUL = "Bọn quan tham này ngu như bò, đáng bị đuổi hết"
LOAN_SPAM = "Liên hệ zalo 0912345678 để nhận ưu đãi vay tiền nhanh, lãi suất thấp!!!"


async def console_problems(page: Page) -> list[str]:
    """Console errors and warnings, uncaught errors and failed responses, collected from now on."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in {"error", "warning"} else None)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return problems


async def test_no_console_errors_from_load_to_stats(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    await held(api, site, 1)
    page = await make_page()
    problems = await console_problems(page)
    await page.goto(api.url("/moderate"))
    # Before sign-in the page asks whether a session exists: "no" is not an error (it was a
    # 401, logged as a failed request on every visit).
    await expect(page.locator("#login")).to_be_visible()
    await expect(page.get_by_label("Mã kiểm duyệt viên")).to_be_focused()
    assert problems == []
    await sign_in(page, api, site.moderator_token)
    await expect(page.locator("li.item")).to_have_count(1)
    await page.get_by_role("tab", name="Thống kê").click()
    await expect(page.locator("#stats-view")).to_have_attribute("data-ready", "1")
    await page.reload()  # signed in: the session answers 200
    await expect(page.locator("#workspace")).to_be_visible()
    assert problems == []


async def test_numbers_follow_the_page_language(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    [cid] = await held(api, site, 1)
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    row = item(page, cid)
    await expect(row.locator("[data-score=spam]")).to_have_text(re.compile(r"^Điểm spam: \d,\d\d$"))
    await expect(row.locator("[data-score=toxicity]")).to_have_text(re.compile(r"^Độc hại: .+ \(\d,\d\d\)$"))
    # Scores, reasons and signals: no decimal point anywhere beside the decimal commas.
    shown = " ".join(await row.locator(".scores, .reason, .signals").all_inner_texts())
    assert re.search(r"\d,\d\d", shown) and not re.search(r"\d\.\d", shown), shown
    for text in await row.locator(".feature .weight").all_inner_texts():
        assert re.fullmatch(r"[+\-\u2212]\d+,\d\d", text), text  # U+2212: Intl's minus sign
    grouped = await page.evaluate('import("/static/js/i18n.js").then((m) => m.formatNumber(1234.5))')
    assert grouped == "1.234,5"
    # The same figures with decimal points on the English page.
    await page.get_by_role("button", name="English").click()
    await expect(row.locator("[data-score=spam]")).to_have_text(re.compile(r"^Spam score: \d\.\d\d$"))
    shown = " ".join(await row.locator(".scores, .reason, .signals").all_inner_texts())
    assert not re.search(r"\d,\d\d", shown), shown
    assert await page.evaluate('import("/static/js/i18n.js").then((m) => m.formatNumber(1234.5))') == "1,234.5"


async def test_a_comment_held_for_hate_speech_shows_the_toxicity_reason_and_signals(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    status, reply = await submit(api, site, comment(content=HATEFUL, author_email="ban.doc@example.vn"))
    # No model rejects a comment unseen by default: it waits for a moderator.
    assert status == 202 and reply["status"] == "pending", reply
    [reason] = [r for r in reply["reasons"] if r["code"] == "hate_speech"]
    toxic = [f["feature"] for f in reply["explanation"]["toxicity"] if f["weight"] > 0]
    assert toxic, reply["explanation"]
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    row = item(page, reply["id"])
    await expect(row.locator("p.label").first).to_have_text("Lý do giữ lại")
    probability = f"{reason['params']['probability']:.2f}".replace(".", ",")
    chip = row.locator(".reason[data-code=hate_speech]")
    await expect(chip).to_contain_text("Ngôn từ thù ghét")
    await expect(chip.locator(".detail")).to_contain_text(f"xác suất thù ghét {probability}")
    # Beside the reason: the toxicity model's own signals, not the spam model's.
    beside = row.locator(".reason-row").filter(has=page.locator(".reason[data-code=hate_speech]"))
    await expect(beside.locator(".signals-label")).to_have_text("Dấu hiệu độc hại")
    await expect(beside.locator(".feature")).to_have_count(len(toxic[:6]))
    assert [await f.get_attribute("data-feature") for f in await beside.locator(".feature").all()] == toxic[:6]
    await expect(beside.locator(".feature[data-model=spam]")).to_have_count(0)
    # The words the toxicity model pushed on are marked in the text as its own.
    await expect(row.locator(".text mark.toxicity").first).to_be_visible()
    await page.get_by_role("button", name="English").click()
    await expect(beside.locator(".signals-label")).to_have_text("Toxicity signals")
    await expect(chip).to_contain_text("Hate speech")


async def test_actions_follow_the_items_state(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.2)
    settings = {"version": 0, "hate_auto_reject_at": 0.9}
    resp = await api.request("PUT", f"/v1/sites/{site.site_id}/settings", site.moderator_token, json=settings)
    assert resp.status == 200, await resp.text()
    [pending, decided] = await held(api, site, 2)
    rejection = {"decision": "reject", "reason": "offensive"}
    resp = await api.request("POST", f"/v1/review/{decided}/decision", site.moderator_token, json=rejection)
    assert resp.status == 200, await resp.text()
    outcomes = {}
    for content, email in ((LOAN_SPAM, "vay@example.vn"), (HATEFUL, "ban.doc@example.vn"), (None, "an@example.vn")):
        body = comment(author_email=email, user_ip=f"14.160.9.{len(outcomes) + 1}")
        if content:
            body["content"] = content
        status, reply = await submit(api, site, body)
        assert status == 202, reply
        outcomes[reply["status"]] = reply["id"]
    assert set(outcomes) == {"spam", "rejected", "approved"}, outcomes

    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    bulk = {"approved": "#bulk-approve", "rejected": "#bulk-reject", "spam": "#bulk-spam"}

    async def offered(cid: str) -> list[str]:
        # all_inner_texts does not wait: the queue may not be drawn yet right after sign-in.
        await expect(item(page, cid)).to_be_visible()
        return await item(page, cid).locator(".actions button").all_inner_texts()

    # Every action but the one that leaves the comment where it is; "Chặn…" adds the block.
    assert await offered(pending) == ["Duyệt", "Từ chối", "Spam", "Chặn…"]
    for tab, cid, buttons in (
        ("spam", outcomes["spam"], ["Duyệt", "Từ chối", "Chặn…"]),
        ("approved", outcomes["approved"], ["Từ chối", "Spam", "Chặn…"]),
        ("rejected", outcomes["rejected"], ["Duyệt", "Spam", "Chặn…"]),
    ):
        await page.locator(f"[role=tab][data-status={tab}]").click()
        await expect(item(page, cid)).to_be_visible()
        assert await offered(cid) == buttons, tab
        await expect(page.locator(bulk[tab])).to_be_hidden()  # no "Từ chối mục đã chọn" among rejected ones
        for other, selector in bulk.items():
            if other != tab:
                await expect(page.locator(selector)).to_be_visible()
    # In the rejected tab: a moderator's decision is revisable, so it offers what an automatic
    # rejection offers (never "Từ chối" again) and can be selected.
    row = item(page, decided)
    await expect(row.locator(".badge.decided")).to_have_text("Đã từ chối bởi mod-a · Xúc phạm")
    assert await offered(decided) == ["Duyệt", "Spam", "Chặn…"]
    await page.locator("#select-all").check()
    await expect(page.locator("#selected-count")).to_have_text("Đã chọn 2")
    await page.locator("#select-all").uncheck()
    # The keyboard cannot do what the buttons do not offer: "r" on a rejected comment opens nothing.
    await item(page, outcomes["rejected"]).locator(".text").click()
    await page.keyboard.press("r")
    await expect(page.locator("#toast")).to_contain_text("Không áp dụng")
    await expect(page.locator("#reject-dialog")).not_to_be_visible()
    # A false positive of automatic rejection is rescued with the button it offers.
    await item(page, outcomes["rejected"]).get_by_role("button", name="Duyệt").click()
    await landed(page)
    assert (await status_of(api, site, outcomes["rejected"]))["status"] == "approved"


async def test_the_reject_dialog_starts_with_no_reason_and_refuses_to_send_none(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.2)
    [first, second] = await held(api, site, 2)
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    await expect(item(page, second)).to_be_focused()
    await page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Từ chối bình luận")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("legend").first).to_have_text("Lý do (phím 1\u20137)")
    await expect(dialog.locator("input[name=reason]")).to_have_count(7)
    # Nothing chosen for the moderator: a preselected "Spam" became a spam training label.
    await expect(dialog.locator("input[name=reason]:checked")).to_have_count(0)
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("alert")).to_have_text("Hãy chọn một lý do.")
    await dialog.get_by_role("button", name="Xác nhận").click()
    await expect(dialog).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-outbox", "0")
    assert (await status_of(api, site, second))["status"] == "pending"
    await page.keyboard.press("3")
    await expect(dialog.get_by_label("Xúc phạm")).to_be_checked()
    await expect(dialog.get_by_role("alert")).to_have_text("")
    await page.keyboard.press("Enter")
    await expect(dialog).to_be_hidden()
    await landed(page)
    view = await status_of(api, site, second)
    assert view["status"] == "rejected" and view["decision"]["reason"] == "offensive", view
    # "Spam and block" files as spam whatever the reason: it offers only spam's reasons.
    await expect(item(page, first)).to_be_focused()
    await page.keyboard.press("b")
    block = page.get_by_role("dialog", name="Spam và chặn tác giả")
    await expect(block.locator("legend").first).to_have_text("Lý do (phím 1\u20132)")
    await expect(block.locator("input[name=reason]")).to_have_count(2)
    await expect(block.locator("input[name=reason]:checked")).to_have_attribute("value", "spam")
    await block.get_by_role("button", name="Hủy").click()
    await expect(block).to_be_hidden()
    assert (await status_of(api, site, first))["status"] == "pending"


async def test_a_phone_shows_a_whole_comment_on_the_first_screen(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api()
    ids = await held(api, site, 3)
    page = await make_page(locale="vi-VN", width=390, height=844)
    await sign_in(page, api, site.moderator_token)
    first = item(page, ids[-1])
    await expect(first).to_be_focused()
    await expect(first.locator(".actions button")).to_have_count(4)
    # Nothing scrolled: header, tabs and the folded controls leave the newest comment whole,
    # from its author to its buttons (they took 570 px, and only its top showed).
    view = await page.evaluate(
        """(id) => {
            const card = document.querySelector(`li.item[data-id="${id}"]`).getBoundingClientRect();
            return {scroll: window.scrollY, top: card.top, bottom: card.bottom, height: window.innerHeight,
                    controls: document.querySelector(".controls").getBoundingClientRect().bottom};
        }""",
        ids[-1],
    )
    assert view["scroll"] == 0 and 0 <= view["top"] and view["bottom"] <= view["height"] == 844, view
    await page.screenshot(path=str(screenshot_dir() / "queue-phone.png"))
    # The filters and the bulk actions are one tap away.
    for toggle, control in (("Bộ lọc", "Bài viết (mã hoặc URL)"), ("Chọn nhiều", "Chọn tất cả")):
        await expect(page.get_by_label(control)).to_be_hidden()
        await page.get_by_role("button", name=toggle).click()
        await expect(page.get_by_role("button", name=toggle)).to_have_attribute("aria-expanded", "true")
        await expect(page.get_by_label(control)).to_be_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    # A desktop width shows both without toggles.
    await page.set_viewport_size({"width": 1200, "height": 900})
    await expect(page.get_by_role("button", name="Bộ lọc")).to_be_hidden()
    await expect(page.get_by_label("Bài viết (mã hoặc URL)")).to_be_visible()


# ---------------------------------------------------------------- revisable decisions on the page


async def decide_via_api(api: Api, token: str, cid: str, **body: object) -> dict:
    resp = await api.request("POST", f"/v1/review/{cid}/decision", token, json=body)
    assert resp.status == 200, await resp.text()
    return await resp.json()


def sent_decision(page: Page, cid: str):  # type: ignore[no-untyped-def]
    """The next decision request the page sends for *cid* (use with ``async with``)."""
    return page.expect_request(lambda r: r.method == "POST" and r.url.endswith(f"/v1/review/{cid}/decision"))


async def test_a_rejected_comment_is_revised_to_approved_and_shows_its_history(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.2)
    [cid] = await held(api, site, 1)
    note = '<img src=x onerror="window.__xss=7">quảng cáo trá hình'
    await decide_via_api(api, site.moderator_token, cid, decision="reject", reason="advertising", note=note)
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    await page.locator("[role=tab][data-status=rejected]").click()
    row = item(page, cid)
    await expect(row.locator(".badge.decided")).to_have_text("Đã từ chối bởi mod-a · Quảng cáo")
    # The history, folded to one line; open, each change with who, from where, when, why.
    history = row.locator("details.history")
    await expect(history.locator("summary")).to_have_text("Lịch sử quyết định (1)")
    await expect(history.locator("li").first).to_be_hidden()
    await history.locator("summary").click()
    latest = history.locator("li[data-revision='1']")
    await expect(latest.locator(".change")).to_have_text("Chờ duyệt → Đã từ chối")
    await expect(latest.locator(".by")).to_have_text("mod-a")
    await expect(latest.locator(".via")).to_have_text("API")
    await expect(latest.locator(".reason-given")).to_have_text("Quảng cáo")
    await expect(latest.locator(".note")).to_have_text(note)  # text, never markup
    await expect(history.locator("li[data-revision='0']")).to_contain_text("Chờ duyệt · Tự động · khi gửi")
    assert await row.locator("img").count() == 0 and await page.evaluate("window.__xss") is None
    shown = await history.inner_text()
    assert not _ENGLISH.search(shown.replace(note, "")), shown
    # Selecting the item draws the list again: the history the moderator opened stays open.
    await row.locator("input[type=checkbox]").check()
    await expect(page.locator("#selected-count")).to_have_text("Đã chọn 1")
    await expect(history).to_have_attribute("open", "")
    await row.locator("input[type=checkbox]").uncheck()
    await expect(page.locator("#selected-count")).to_have_text("")

    # Revise it: "Duyệt" is offered and goes with the revision the page saw.
    async with sent_decision(page, cid) as request:
        await row.get_by_role("button", name="Duyệt").click()
    assert (await request.value).post_data_json == {"site": site.site_id, "decision": "approve", "expected_revision": 1}
    await expect(row).to_have_count(0)
    await landed(page)
    view = await status_of(api, site, cid)
    assert (view["status"], view["revision"], view["decision"]["by"]) == ("approved", 2, "mod-a")
    assert (view["history"][-1]["previous"], view["history"][-1]["via"]) == ("rejected", "page")
    await expect(page.locator("[data-count=rejected]")).to_have_text("0")
    await expect(page.locator("[data-count=approved]")).to_have_text("1")
    # In the approved tab: the new state, its history newest first, and no "Duyệt" any more.
    await page.locator("[role=tab][data-status=approved]").click()
    row = item(page, cid)
    await expect(row.locator(".badge.decided")).to_have_text("Đã duyệt bởi mod-a")
    assert await row.locator(".actions button").all_inner_texts() == ["Từ chối", "Spam", "Chặn…"]
    # Opened once, the history stays open when the list is drawn again.
    await expect(row.locator("details.history")).to_have_attribute("open", "")
    await expect(row.locator("details.history summary")).to_have_text("Lịch sử quyết định (2)")
    await expect(row.locator(".history-list li").first).to_contain_text(
        "Đã từ chối → Đã duyệt · mod-a · trang kiểm duyệt"
    )
    await page.get_by_role("button", name="English").click()
    await expect(row.locator(".history-list li").first).to_contain_text("Rejected → Approved · mod-a · moderator page")
    await expect(row.locator("details.history summary")).to_have_text("Decision history (2)")


async def test_a_stale_revision_shows_the_conflict_and_the_current_state(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.2)
    hoa = await auth.add_moderator(redis, [site.site_id], "hoa")
    [cid] = await held(api, site, 1)
    await decide_via_api(api, site.moderator_token, cid, decision="reject", reason="off_topic")
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    await page.locator("[role=tab][data-status=rejected]").click()
    row = item(page, cid)
    await expect(row.locator(".badge.decided")).to_have_text("Đã từ chối bởi mod-a · Lạc đề")
    # Meanwhile another moderator approves it through the API; the page still shows revision 1.
    await decide_via_api(api, hoa, cid, decision="approve", expected_revision=1)
    async with sent_decision(page, cid) as request:
        await row.get_by_role("button", name="Spam").click()
    assert (await request.value).post_data_json["expected_revision"] == 1
    await expect(page.locator("body")).to_have_attribute("data-outbox", "0")
    # Refused, not applied: the page says so and shows the comment as it is now.
    toast = page.locator("#toast")
    await expect(toast).to_have_attribute("data-state", "conflict")
    await expect(page.locator("#toast-text")).to_have_text(
        "Không lưu: bình luận đã được quyết định trước. Trang đang hiện trạng thái mới nhất của nó."
    )
    await expect(row.locator(".conflict")).to_have_text(
        "hoa vừa quyết định bình luận này: Đã duyệt. Hãy xem lại trước khi quyết định."
    )
    await expect(row.locator(".badge.decided")).to_have_text("Đã duyệt bởi hoa")
    assert await row.locator(".actions button").all_inner_texts() == ["Từ chối", "Spam", "Chặn…"]
    await expect(row.locator("details.history")).to_have_attribute("open", "")
    await expect(row.locator(".history-list li").first).to_contain_text("Đã từ chối → Đã duyệt · hoa · API")
    view = await status_of(api, site, cid)
    assert (view["status"], view["revision"], view["decision"]["by"]) == ("approved", 2, "hoa")
    await page.get_by_role("button", name="English").click()
    await expect(row.locator(".conflict")).to_have_text(
        "hoa has just decided this comment: Approved. Check it again before deciding."
    )
    # Seen now: the same button decides on the current revision.
    async with sent_decision(page, cid) as request:
        await row.get_by_role("button", name="Spam").click()
    assert (await request.value).post_data_json["expected_revision"] == 2
    await landed(page)
    view = await status_of(api, site, cid)
    assert (view["status"], view["revision"], view["history"][-1]["previous"]) == ("spam", 3, "approved")


async def test_undo_after_sending_restores_the_previous_decision(
    make_api: AppFactory, site: Site, redis: Redis, make_page: PageFactory
) -> None:
    api = await make_api(ui_undo_seconds=0.2)
    hoa = await auth.add_moderator(redis, [site.site_id], "hoa")
    [cid, pending] = await held(api, site, 2)
    await decide_via_api(api, site.moderator_token, cid, decision="reject", reason="off_topic")
    page = await make_page(locale="vi-VN")
    await sign_in(page, api, site.moderator_token)
    await page.locator("[role=tab][data-status=rejected]").click()
    row = item(page, cid)
    await row.get_by_role("button", name="Duyệt").click()
    await landed(page)
    assert (await status_of(api, site, cid))["status"] == "approved"
    # Sent, and still undoable: the toast offers it, and undo is the previous status as a new
    # decision (with its reason), based on the revision the approval got.
    await expect(page.get_by_role("button", name="Hoàn tác (u)")).to_be_visible()
    async with sent_decision(page, cid) as request:
        await page.keyboard.press("u")
    assert (await request.value).post_data_json == {
        "site": site.site_id, "decision": "reject", "expected_revision": 2, "reason": "off_topic"
    }
    await landed(page)
    await expect(page.locator("#toast")).to_have_attribute("data-state", "undone")
    view = await status_of(api, site, cid)
    assert (view["status"], view["revision"], view["decision"]["reason"]) == ("rejected", 3, "off_topic")
    assert (view["history"][-1]["previous"], view["history"][-1]["via"]) == ("approved", "page")
    await expect(row).to_be_visible()  # back in the rejected tab
    await expect(page.locator("[data-count=rejected]")).to_have_text("1")
    await expect(page.locator("[data-count=approved]")).to_have_text("0")

    # An undo that comes after someone else's decision is refused like any stale decision.
    await row.get_by_role("button", name="Duyệt").click()
    await landed(page)
    await decide_via_api(api, hoa, cid, decision="spam")
    await page.keyboard.press("u")
    await expect(page.locator("#toast")).to_have_attribute("data-state", "conflict")
    await expect(row.locator(".badge.decided")).to_have_text("Spam bởi hoa")
    assert (await status_of(api, site, cid))["status"] == "spam"

    # A pending comment cannot be decided back to pending: once sent, its undo is not offered.
    await page.locator("[role=tab][data-status=pending]").click()
    await item(page, pending).get_by_role("button", name="Duyệt").click()
    await landed(page)
    await expect(page.get_by_role("button", name="Hoàn tác (u)")).to_be_hidden()
    await page.keyboard.press("u")
    await expect(page.locator("#toast")).to_have_attribute("data-state", "saved")
    assert (await status_of(api, site, pending))["status"] == "approved"
