"""The moderation decision: model scores plus the site's rules, with reasons.

Every rule yields a reason code and a short message; the decision is the strictest
outcome any rule asked for (approved < pending < spam < rejected), and the reply lists
every reason that applied. This is the one place decisions are made. The flood and
duplicate rules are refusals (429/409, nothing stored) enforced atomically by the submit
script; here they only appear as reasons in shadow mode. Reason codes are stable API:
README.md, "Moderation rules and settings", lists them all.

A model never rejects on its own unless the site turned that on (hate_auto_reject_at):
toxic comments are held. Spam marking stays automatic (the spam folder is reviewable), and
the word and block lists are the operator's own rules, so they act as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from moderation.core.schemas import CommentIn
from moderation.moderation.campaign import CAMPAIGN_MIN_POSTINGS, CAMPAIGN_WINDOW_SECONDS
from moderation.moderation.personal_data import personal_data
from moderation.moderation.reputation import HOLD_AT, NO_EVIDENCE, SPAM_AT, Evidence, Match
from moderation.moderation.sitesettings import ActiveSettings
from moderation.moderation.wordlists import PreparedFields
from moderation.scoring.normalize import count_links
from moderation.scoring.scorer import Score
from moderation.scoring.text import CommentText

# Strictness of outcomes: a rule can only make a decision stricter.
SEVERITY = {"approved": 0, "pending": 1, "spam": 2, "rejected": 3}

# normalize.count_links (bare domains, shorteners, "abc chấm com") was quadratic on dotted
# runs until its pattern was anchored (5873cfc); it is linear now but still ~25 ms per 64 KB
# of "a.a.a…". So it sees the first LINK_SCAN_CHARS characters, with runs of host characters
# longer than any realistic host name broken up first (kept from before the anchoring: it
# also stops a 65+ character run from counting as one host); the rest of the comment is
# searched for explicit http(s):// and www. links only.
LINK_SCAN_CHARS = 4_000
MAX_HOST_RUN = 64
_HOST_RUN_RE = re.compile(rf"[A-Za-z0-9.\-]{{{MAX_HOST_RUN + 1},}}")
_EXPLICIT_LINK_RE = re.compile(r"https?://|www\.", re.IGNORECASE)


def _break_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return " ".join(run[i : i + MAX_HOST_RUN] for i in range(0, len(run), MAX_HOST_RUN))


def links_in(text: str) -> int:
    """Links in *text*, as normalize.count_links counts them, in bounded time."""
    head = _HOST_RUN_RE.sub(_break_run, text[:LINK_SCAN_CHARS])
    return count_links(head) + len(_EXPLICIT_LINK_RE.findall(text, LINK_SCAN_CHARS))


def comment_links(text: CommentText) -> int:
    """:func:`links_in` of the content, reusing the link scan of the shared forms when it is the same."""
    content = text.comment.content
    if len(content) <= LINK_SCAN_CHARS and _HOST_RUN_RE.search(content) is None:
        # Nothing to cut or break up: links_in would scan exactly the content.
        return len(text.content.urls)
    return links_in(content)


# A reason's parameters: what its message was built from, so that a page can say it in
# another language (service/web/static/js/i18n.js, reasonDetails).
Params = dict[str, str | int | float]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str
    params: Params = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "params": dict(self.params)}


@dataclass(frozen=True, slots=True)
class Decision:
    status: str
    reasons: tuple[Reason, ...]
    # In shadow mode the status is always pending; this is what would have been decided.
    shadow_status: str | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What Redis knew about this submission (read by the pre-check script)."""

    # The author's email has a moderator-approved comment on this site.
    approved_author: bool = False
    # Earlier postings of the same or a near-identical text on this site in the window.
    campaign_count: int = 0
    # Refusals the submit script would make (flood, duplicate); reported in shadow mode.
    refusals: tuple[Reason, ...] = ()
    # What moderators decided about the comment's domains, phones, handles, email and
    # network, here and on the sites that share (moderation/reputation.py).
    reputation: Evidence = NO_EVIDENCE


def _blocked(comment: CommentIn, active: ActiveSettings) -> list[Reason]:
    out: list[Reason] = []
    email = comment.author_email.casefold()
    if email in active.blocked_emails:
        out.append(Reason("blocked_email", "the author's email is on the site's block list"))
    domain = active.blocked_domain(email)
    if domain is not None:
        out.append(
            Reason("blocked_email_domain", f"the email domain {domain} is on the site's block list", {"domain": domain})
        )
    network = active.blocked_network(comment.user_ip)
    if network is not None:
        out.append(
            Reason("blocked_ip", f"the IP address is in the blocked range {network}", {"network": str(network)})
        )
    return out


def _spam_band(score: Score, active: ActiveSettings, facts: Facts) -> tuple[str, Reason]:
    s = active.settings
    spam = score.spam
    # Parameters rounded as the messages show them.
    shown = round(spam, 2)
    if spam >= s.spam_at:
        return "spam", Reason(
            "spam_score",
            f"spam score {spam:.2f} is at or above {s.spam_at:.2f}",
            {"score": shown, "threshold": round(s.spam_at, 2)},
        )
    if spam < s.approve_below:
        return "approved", Reason(
            "low_spam_score",
            f"spam score {spam:.2f} is below {s.approve_below:.2f}",
            {"score": shown, "threshold": round(s.approve_below, 2)},
        )
    if s.trusted_authors and facts.approved_author:
        return "approved", Reason(
            "trusted_author",
            f"spam score {spam:.2f} would be held, but the author has an approved comment on this site",
            {"score": shown},
        )
    return "pending", Reason(
        "spam_score_uncertain",
        f"spam score {spam:.2f} is between {s.approve_below:.2f} and {s.spam_at:.2f}",
        {"score": shown, "low": round(s.approve_below, 2), "high": round(s.spam_at, 2)},
    )


def _hold(code: str, message: str, params: Params | None = None) -> tuple[str, Reason]:
    return "pending", Reason(code, message, params or {})


# The toxicity model's signals named in a toxicity reason's message (the reply's
# explanation.toxicity has them all, with weights).
TOXICITY_SIGNALS_NAMED = 3


def _toxicity_signals(score: Score, label: str) -> str:
    """The toxicity model's strongest signals, when its explanation is the one toward *label*.

    The scorer explains toward the class it decided; a threshold can be crossed by a class
    it did not decide (CLEAN decided, P(HATE) at a lowered threshold), and then its signals
    say nothing about this reason.
    """
    if score.toxicity.label != label:
        return ""
    names = [f.name for f in score.toxicity_features if f.weight > 0][:TOXICITY_SIGNALS_NAMED]
    return f"; signals: {', '.join(names)}" if names else ""


def _toxicity(score: Score, active: ActiveSettings) -> list[tuple[str, Reason]]:
    """Toxic comments are held for a moderator; rejected only where the site turned that on."""
    s = active.settings
    probabilities = score.toxicity.probabilities
    hate = probabilities.get("HATE", 0.0)
    offensive = probabilities.get("OFFENSIVE", 0.0)
    out: list[tuple[str, Reason]] = []
    reject_at = s.hate_auto_reject_at
    if reject_at is not None and hate >= reject_at:
        message = (
            f"hate speech probability {hate:.2f} is at or above {reject_at:.2f}, where the site rejects "
            f"automatically{_toxicity_signals(score, 'HATE')}"
        )
        params: Params = {"probability": round(hate, 2), "threshold": round(reject_at, 2)}
        out.append(("rejected", Reason("hate_speech", message, params)))
    elif hate >= s.hate_hold_at:
        message = f"hate speech probability {hate:.2f} is at or above {s.hate_hold_at:.2f}"
        message += _toxicity_signals(score, "HATE")
        params = {"probability": round(hate, 2), "threshold": round(s.hate_hold_at, 2)}
        out.append(_hold("hate_speech", message, params))
    if offensive >= s.offensive_hold_at:
        message = f"offensive probability {offensive:.2f} is at or above {s.offensive_hold_at:.2f}"
        message += _toxicity_signals(score, "OFFENSIVE")
        params = {"probability": round(offensive, 2), "threshold": round(s.offensive_hold_at, 2)}
        out.append(_hold("offensive", message, params))
    return out


_KIND_NAMES = {"domain": "domain", "phone": "phone number", "handle": "messenger handle", "email": "email address",
               "network": "IP network"}  # fmt: skip


_TIMES = "\u00d7"  # the multiplication sign of "marked spam 7 times" as the reason writes it


def _times(value: float) -> str:
    # Marks decay, so counts are fractional: the rounded count reads better and is what was decided.
    return f"{max(1, round(value))}{_TIMES}"


def reputation_reason(evidence: Evidence) -> tuple[str, Reason] | None:
    """``reputation``: held (or spam) when moderators marked what the comment carries as spam;
    an approving reason when they marked it not spam. None when it weighs too little."""
    match: Match | None = evidence.strongest()
    if match is None or abs(evidence.total) < HOLD_AT:
        return None
    spam = evidence.total > 0
    what = _KIND_NAMES[match.kind] + (f" {match.shown}" if match.shown else "")
    marks = match.spam if spam else match.ham
    where = f"on {match.sites} sites" if match.sites > 1 else "on this site"
    verdict = "spam" if spam else "not spam"
    message = f"{what} marked {verdict} {_times(marks)} {where}"
    params: Params = {
        "kind": match.kind, "direction": "spam" if spam else "not_spam", "count": max(1, round(marks)),
        "sites": max(1, match.sites), "weight": round(evidence.total, 2),
    }  # fmt: skip
    if match.shown:
        params["domain"] = match.shown
    if not spam:
        return "approved", Reason("reputation", message, params)
    return ("spam" if evidence.total >= SPAM_AT else "pending"), Reason("reputation", message, params)


def decide(
    comment: CommentIn,
    score: Score,
    active: ActiveSettings,
    facts: Facts | None = None,
    text: CommentText | None = None,
) -> Decision:
    """*text*: the submission's shared text forms (built here when not given)."""
    facts = facts or Facts()
    text = text if text is not None else CommentText(comment)
    s = active.settings
    outcomes: list[tuple[str, Reason]] = [("spam", r) for r in _blocked(comment, active)]

    if active.disallowed_words or active.moderation_words:
        fields = PreparedFields(text)
        hit = fields.find(active.disallowed_words)
        if hit is not None:
            message = f"{hit.field} contains the disallowed word {hit.entry!r}"
            outcomes.append(("spam", Reason("disallowed_word", message, {"field": hit.field, "word": hit.entry})))
        hit = fields.find(active.moderation_words)
        if hit is not None:
            message = f"{hit.field} contains the moderation word {hit.entry!r}"
            outcomes.append(_hold("moderation_word", message, {"field": hit.field, "word": hit.entry}))

    postings = facts.campaign_count + 1
    if s.campaign_check and postings >= CAMPAIGN_MIN_POSTINGS:
        outcomes.append(
            (
                "spam",
                Reason(
                    "campaign",
                    f"the same text was posted {postings} times on this site within "
                    f"{CAMPAIGN_WINDOW_SECONDS // 60} minutes",
                    {"count": postings, "minutes": CAMPAIGN_WINDOW_SECONDS // 60},
                ),
            )
        )

    outcomes.extend(_toxicity(score, active))

    rep = reputation_reason(facts.reputation)
    if rep is not None:
        outcomes.append(rep)

    band = _spam_band(score, active, facts)
    exposed = personal_data(comment.content) if s.personal_data_check else ()
    if exposed:
        # A reader exposing their own (or a relative's) ID, account or contact is no
        # spammer; the phone or number is what drives P(spam) up. Held, never marked spam.
        message = f"the comment exposes personal data ({', '.join(exposed)})"
        kinds = ",".join(k.replace(" ", "_") for k in exposed)  # for the page's wording
        outcomes.append(_hold("personal_data", message, {"kinds": kinds}))
        if band[0] == "spam":
            band = ("pending", band[1])
    outcomes.append(band)

    links = comment_links(text)
    if links > s.max_links:
        message = f"{links} links; more than {s.max_links} are held for review"
        outcomes.append(_hold("too_many_links", message, {"links": links, "max": s.max_links}))

    if s.mode == "pre":
        outcomes.append(_hold("pre_moderation", "the site holds every comment for review"))
    elif s.mode == "first" and not facts.approved_author:
        outcomes.append(_hold("first_comment", "the author has no approved comment on this site yet"))

    status = max((o for o, _ in outcomes), key=SEVERITY.__getitem__)
    # An approving reason is only news when it decided the outcome (or lifted a hold).
    reasons = [
        r for o, r in outcomes if o != "approved" or status == "approved" or r.code in {"trusted_author", "reputation"}
    ]
    reasons.extend(facts.refusals)
    if s.shadow_mode:
        message = f"shadow mode: the rules decided {status}; answering pending"
        reasons.append(Reason("shadow_mode", message, {"status": status}))
        return Decision("pending", tuple(reasons), shadow_status=status)
    return Decision(status, tuple(reasons))
