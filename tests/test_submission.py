"""The whole submission beyond its text (service/scoring/submission.py): entries that
reputation remembers, the named signals and how they move the score; the referrer field;
the reputation secret's file."""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from moderation.core.errors import ValidationFailed
from moderation.core.schemas import parse_comment
from moderation.core.settings import Settings, secret_from_file
from moderation.scoring import submission as sub
from moderation.scoring.text import CommentText
from tests.conftest import Api, Site, comment


def text(**overrides: Any) -> CommentText:
    return CommentText(parse_comment(comment(**overrides)))


def kinds(t: CommentText) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for entry in sub.entries(t):
        out.setdefault(entry.kind, set()).add(entry.value)
    return out


def test_entries_are_registrable_domains_normalised_phones_handles_email_and_network() -> None:
    t = text(
        content="Mua ngay tại https://shop.may-in.com.vn/khuyen-mai hoặc www.abc.co.uk, gọi 09O8 123 456, "
        "zalo.me/0912345678, t.me/BanHangGiaRe, telegram @kho_sim_dep, bit.ly/3xYz",
        author_url="https://blog.spam-seo.net/about",
        author_email="Lan@Thu-Ban-Doc.vn",
        user_ip="113.160.12.34",
    )
    found = kinds(t)
    assert found["domain"] == {"may-in.com.vn", "abc.co.uk", "spam-seo.net", "bit.ly/3xYz"}
    assert found["phone"] == {"0908123456", "0912345678"}  # the Zalo number is a phone too
    assert found["handle"] == {"zalo:0912345678", "telegram:banhanggiare", "at:kho_sim_dep"}
    assert found["email"] == {"lan@thu-ban-doc.vn"}
    assert found["network"] == {"113.160.12.0/24"}
    assert sub.network_of("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"


def test_a_reply_to_a_reader_is_no_handle_and_the_articles_own_domain_is_no_entry() -> None:
    t = text(content="@Lan bạn nói đúng, xem bài https://baotinh.example.vn/bai-2 nhé",
             post_url="https://www.baotinh.example.vn/bai-1")  # fmt: skip
    found = kinds(t)
    assert "handle" not in found and "domain" not in found
    # An allow-listed domain is left out too, and so is an address at it.
    t = text(content="Xem https://doitac.vn/x", author_email="ban-doc@doitac.vn")
    assert {e.kind for e in sub.entries(t)} == {"domain", "email", "network"}
    assert {e.kind for e in sub.entries(t, ["doitac.vn"])} == {"network"}


@pytest.mark.parametrize(
    ("name", "seo"),
    [
        ("Best Printer Support", True),
        ("Dịch vụ SEO giá rẻ", True),
        ("Cho thuê xe du lịch", True),
        ("Casino Online VN", True),
        ("Nguyễn Văn An", False),
        ("Trần Thị Bản", False),
        ("Lan Chuyên", False),
        ("Best", False),
        ("Mary Best", False),
    ],
)
def test_seo_style_author_names(name: str, seo: bool) -> None:
    assert sub.seo_name(name) is seo


def test_signals_fire_on_what_they_name_and_not_on_an_ordinary_reader() -> None:
    ordinary = text(user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120",
                    referrer="https://baotinh.example.vn/giao-thong/bai-viet-1")  # fmt: skip
    assert sub.signals(ordinary) == ()
    spammy = text(
        author_name="Best Printer Support",
        author_email="info@printer-help.com",
        author_url="https://printer-help.com",
        content="Great post! Call us at https://www.printer-help.com/support",
        user_agent="python-requests/2.31",
        referrer="https://seo-tools.example.org/post",
    )
    names = [s.name for s in sub.signals(spammy)]
    assert names == [sub.AUTHOR_URL, sub.OTHER_SITE_LINK, sub.EMAIL_IS_LINKED_SITE, sub.SEO_NAME, sub.BOT_AGENT,
                     sub.FOREIGN_REFERRER]  # fmt: skip
    # A free-mail address is no linked site; a partner on the allow-list is no other site.
    mail = text(author_email="lan@gmail.com", content="Xem https://gmail.com/x")
    assert sub.EMAIL_IS_LINKED_SITE not in [s.name for s in sub.signals(mail)]
    partner = text(content="Xem https://doitac.vn/x")
    assert sub.signals(partner, ["doitac.vn"]) == ()


def test_adjust_adds_log_odds() -> None:
    assert sub.adjust(0.5, []) == 0.5
    assert sub.adjust(0.5, [1.0]) == pytest.approx(0.7310586, abs=1e-6)
    assert sub.adjust(0.2, [1.0, -1.0]) == pytest.approx(0.2)
    assert 0.0 < sub.adjust(0.0, [-50.0]) < 1e-6 and sub.adjust(1.0, [50.0]) <= 1.0


def test_the_hand_set_signals_never_make_spam_of_an_ordinary_comment_alone() -> None:
    every = text(
        author_name="Best Printer Support", author_email="info@printer-help.com",
        author_url="https://printer-help.com", content="Xem https://www.printer-help.com/a",
        user_agent="python-requests/2.31", referrer="https://seo-tools.example.org/post",
    )  # fmt: skip
    found = sub.signals(every)
    assert math.fsum(s.weight for s in found) > sub.MAX_SIGNAL_SHIFT
    assert sub.signal_shift(found) == sub.MAX_SIGNAL_SHIFT
    # An ordinary text score stays below the hold line of the default rules (0.3) …
    assert sub.adjust(0.10, [sub.signal_shift(found)]) < 0.34
    # … and spam (0.9) still needs the text itself to be suspect.
    assert sub.adjust(0.66, [sub.signal_shift(found)]) < 0.9 <= sub.adjust(0.68, [sub.signal_shift(found)])


def test_referrer_must_be_a_url() -> None:
    assert parse_comment(comment(referrer="https://baotinh.vn/a")).referrer == "https://baotinh.vn/a"
    with pytest.raises(ValidationFailed) as exc:
        parse_comment(comment(referrer="javascript:alert(1)"))
    assert [e.field for e in exc.value.errors] == ["referrer"]


async def test_the_reply_shows_the_signals_and_the_text_models_own_score(api: Api, site: Site) -> None:
    resp = await api.request("POST", "/v1/check", site.api_key, json=comment(
        author_name="Dịch vụ SEO giá rẻ", user_agent="curl/8.5.0",
        content="Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ vấn đề giao thông.",
    ))  # fmt: skip
    assert resp.status == 200, await resp.text()
    reply = await resp.json()
    shown = [f["feature"] for f in reply["explanation"]["spam"]]
    assert shown[:2] == [sub.SEO_NAME, sub.BOT_AGENT]
    # SEO name 1.2 + non-browser agent 0.7, capped at MAX_SIGNAL_SHIFT (1.5).
    assert reply["spam_score"] == pytest.approx(sub.adjust(reply["text_spam_score"], [1.5]), abs=1e-3)
    plain = await (await api.request("POST", "/v1/check", site.api_key, json=comment())).json()
    assert "text_spam_score" not in plain


def test_the_secret_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "reputation.secret"
    first = secret_from_file(str(path))
    assert len(first) == 64 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_from_file(str(path)) == first
    settings = Settings.from_env({"MODERATION_REPUTATION_SECRET_FILE": str(path)})
    assert settings.reputation_secret == first and first not in repr(settings)
    assert Settings.from_env({"MODERATION_REPUTATION_SECRET": "given"}).reputation_secret == "given"
