"""The spam real spammers write, through the running service with its default rules (issue 21).

Each comment is submitted as a new reader would submit it (its own email and IP address, so
no flood or duplicate rule is involved): the model's score and the default site settings
alone decide. The ordinary comments are the 20 of tests/data/spam_kinds_eval.csv, written
before any model scored them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import Api, Site, comment

KINDS_FILE = Path(__file__).resolve().parent / "data" / "spam_kinds_eval.csv"

SPAM = [
    # English tech-support number spam, the kind every WordPress site receives.
    "Having trouble with your HP printer driver? Call HP printer support phone number +1-855-407-3321, "
    "toll free 24/7, our certified technicians fix any error in minutes.",
    # English work-from-home (issue 21: held at 0.86 before).
    "Earn $500 per day working from home!!! Click bit.ly/xyz now",
    # Vietnamese job scam without any phone number, link or handle.
    "Cần tuyển gấp 4 bạn làm việc tại nhà, chỉ cần điện thoại, mỗi ngày 2 tiếng, lương 300-450k/ngày, "
    "không cần kinh nghiệm, ai muốn làm thì nhắn tin cho mình",
    # Vietnamese task scam: pay in, "tasks", commission back.
    "Nhận nhiệm vụ thả tim, đánh giá sản phẩm trên sàn, nạp đơn nhận hoàn tiền gốc kèm hoa hồng 15-25%, "
    "rút tiền về tài khoản trong 5 phút, tham gia nhóm để nhận nhiệm vụ mỗi ngày",
]


def _ordinary() -> list[str]:
    with KINDS_FILE.open(newline="", encoding="utf-8") as fh:
        return [r["text"] for r in csv.DictReader(fh) if r["label"] == "0"]


ORDINARY = _ordinary()


async def _status(api: Api, site: Site, text: str, n: int) -> tuple[str, float, list[str]]:
    body = comment(content=text, author_email=f"reader{n}@example.org", user_ip=f"198.51.100.{n + 1}",
                   author_name=f"Reader {n}", post_id=f"bai-{n}")  # fmt: skip
    resp = await api.request("POST", "/v1/comments", site.api_key, json=body)
    reply = await resp.json()
    assert resp.status == 202, reply
    return reply["status"], reply["spam_score"], [r["code"] for r in reply["reasons"]]


@pytest.mark.parametrize("n", range(len(SPAM)))
async def test_real_kinds_of_spam_are_marked_spam(api: Api, site: Site, n: int) -> None:
    status, score, reasons = await _status(api, site, SPAM[n], n)
    assert status == "spam", (SPAM[n], score, reasons)


def test_twenty_ordinary_comments_about_jobs_money_and_phones() -> None:
    assert len(ORDINARY) == 20
    assert sum(any(ch in "ăâđêôơư" for ch in t.casefold()) for t in ORDINARY) == 10  # ten Vietnamese


@pytest.mark.parametrize("n", range(len(ORDINARY)))
async def test_ordinary_comments_about_jobs_money_and_phones_are_approved(api: Api, site: Site, n: int) -> None:
    status, score, reasons = await _status(api, site, ORDINARY[n], 100 + n)
    assert status == "approved", (ORDINARY[n], score, reasons)
