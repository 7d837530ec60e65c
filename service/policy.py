"""The moderation decision: model scores plus the site's rules, with reasons.

Every rule yields a reason code and a short message; the decision is the strictest
outcome any rule asked for. This is the one place decisions are made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.schemas import CommentIn
from service.scoring import DEFAULT_APPROVE_THRESHOLD, DEFAULT_SPAM_THRESHOLD, Score

# Strictness of outcomes: a rule can only make a decision stricter.
SEVERITY = {"approved": 0, "pending": 1, "spam": 2, "rejected": 3}

_LINK_RE = re.compile(r"https?://|www\.", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class SiteSettings:
    approve_below: float = DEFAULT_APPROVE_THRESHOLD
    spam_at: float = DEFAULT_SPAM_THRESHOLD
    # WordPress holds comments with more than two links by default (comment_max_links).
    max_links: int = 2


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Decision:
    status: str
    reasons: tuple[Reason, ...]


def count_links(text: str) -> int:
    return len(_LINK_RE.findall(text))


def decide(comment: CommentIn, score: Score, settings: SiteSettings) -> Decision:
    outcomes: list[tuple[str, Reason]] = []
    spam = score.spam
    if spam >= settings.spam_at:
        outcomes.append(
            ("spam", Reason("spam_score", f"spam score {spam:.2f} is at or above {settings.spam_at:.2f}"))
        )
    elif spam >= settings.approve_below:
        outcomes.append(
            (
                "pending",
                Reason(
                    "spam_score_uncertain",
                    f"spam score {spam:.2f} is between {settings.approve_below:.2f} and {settings.spam_at:.2f}",
                ),
            )
        )
    links = count_links(comment.content)
    if links > settings.max_links:
        outcomes.append(
            (
                "pending",
                Reason("too_many_links", f"{links} links; more than {settings.max_links} are held for review"),
            )
        )
    if not outcomes:
        return Decision(
            "approved",
            (Reason("low_spam_score", f"spam score {spam:.2f} is below {settings.approve_below:.2f}"),),
        )
    status = max((o for o, _ in outcomes), key=SEVERITY.__getitem__)
    return Decision(status, tuple(r for _, r in outcomes))
