"""The Akismet REST API (1.1), answered by this service: a drop-in for Akismet clients.

Same paths, form-encoded bodies and plain-text answers as rest.akismet.com, so WordPress's
Akismet plugin and the Akismet client libraries work unchanged once their host points here.
The Akismet key is the site's Akismet-style key (12 hex digits; store/auth.py), or its API key.

comment-check is where WordPress sends every new comment, so (unless ``is_test`` is set)
the comment is *stored* like ``POST /v1/comments``, re-checks (``recheck_reason``) included:
held comments land in the review queue and decisions reach the site by webhook. Akismet has
no "hold" answer: pending comments are answered ``false`` with ``X-Moderation-Status:
pending`` (the must-use plugin in integrations/ turns that into WordPress's own hold).
submit-spam / submit-ham become labelled examples; when the comment was stored by an
earlier comment-check they are recorded as a decision on it (by ``akismet-api``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import msgspec

from moderation.core.errors import Conflict, Duplicate, FieldError, NotFound, ValidationFailed
from moderation.core.schemas import MAX_POST_ID_CHARS, CommentIn, DecisionIn, parse_comment
from moderation.moderation.operations import Moderation, build_verdict, now_ms
from moderation.moderation.reputation import HAM, NONE, SPAM
from moderation.store import keys
from moderation.store.auth import AKISMET_KEY_RE, Moderator, SiteCaller
from moderation.store.labels import label_fields

THANKS = "Thanks for making the web a better place."
INVALID_KEY_HELP = "We were unable to verify your API key."
# Akismet's documented test triggers.
SPAM_TEST_AUTHOR = "viagra-test-123"
SPAM_TEST_EMAIL = "akismet-guaranteed-spam@example.com"
# Spam this sure is "blatant": Akismet's pro-tip says the site may discard it unseen, but
# only for sites whose settings say so (akismet_discard): by default WordPress then files it
# in Spam, where a moderator can still see it, instead of dropping it with nobody told.
DISCARD_AT = 0.99
# The honeypot WordPress's Akismet plugin adds to comment forms (a hidden textarea named
# ak_hp_textarea), forwarded like every form field with a POST_ prefix.
WORDPRESS_HONEYPOT = "POST_ak_hp_textarea"
# The connectivity test of Akismet's settings screen (GET /1.1/test) expects this body.
CONNECTED = "connected"
# get-stats: Akismet's named windows; anything else must be a YYYY-MM-DD date.
STATS_WINDOWS: Final = {"6-months": 183 * 86_400_000, "all": None}
# Who submit-spam / submit-ham decisions are recorded as.
SUBMITTER = "akismet-api"
# Anonymous comments carry no (valid) email; the domain model needs one.
ANONYMOUS_EMAIL = "anonymous@akismet.invalid"
ANONYMOUS_NAME = "anonymous"
# Optional fields dropped (not refused) when their value is malformed: Akismet accepts anything.
_OPTIONAL = ("author_url", "post_url", "user_ip", "user_agent", "lang", "referrer")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Answer:
    """An Akismet answer: plain text, or JSON for the account calls of the settings screen."""

    text: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    content_type: str = "text/plain"


def json_answer(doc: dict[str, Any]) -> Answer:
    return Answer(msgspec.json.encode(doc).decode(), content_type="application/json")


def key_from_host(host: str | None) -> str:
    """The key of ``<key>.<host>[:port]``, as Akismet's protocol allows; ``""`` if none.

    Only a first label that could be a key, of a name with at least two more labels, counts:
    ``rest.akismet.com`` or an IP address carries no key.
    """
    if not host:
        return ""
    name = host.strip().lower()
    if name.startswith("["):
        return ""  # an IPv6 literal
    name = name.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(name)
        return ""
    except ValueError:
        pass
    labels = name.split(".")
    if len(labels) < 3 or not AKISMET_KEY_RE.match(labels[0]):
        return ""
    return labels[0]


def invalid_key() -> Answer:
    return Answer("invalid", {"X-akismet-debug-help": INVALID_KEY_HELP})


def bad_request(errors: list[FieldError] | tuple[FieldError, ...]) -> Answer:
    message = "; ".join(f"{e.field}: {e.message}" for e in errors) or "bad request"
    return Answer(f"Missing or invalid fields: {message}", {"X-akismet-debug-help": message[:500]}, 400)


def missing_blog(form: Mapping[str, str]) -> Answer | None:
    """Akismet requires ``blog`` (the site's front page) on every call."""
    if form.get("blog", "").strip():
        return None
    return Answer("Missing required field: blog.", {"X-akismet-debug-help": "Missing required field: blog."}, 400)


def is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _first_lang(blog_lang: str) -> str | None:
    # blog_lang is a comma-separated list of locales like "vi_VN, en_US".
    first = blog_lang.split(",")[0].strip()
    return first or None


def _post_id(permalink: str) -> str:
    if not permalink:
        return "akismet"
    if len(permalink) <= MAX_POST_ID_CHARS:
        return permalink
    return "akismet-" + hashlib.sha256(permalink.encode("utf-8", "surrogatepass")).hexdigest()


def to_comment(form: Mapping[str, str]) -> CommentIn:
    """Akismet's parameters as our comment; malformed optional fields are dropped."""
    permalink = form.get("permalink", "").strip()
    doc: dict[str, Any] = {
        "post_id": _post_id(permalink),
        "author_name": form.get("comment_author", "").strip() or ANONYMOUS_NAME,
        "author_email": form.get("comment_author_email", "").strip() or ANONYMOUS_EMAIL,
        "content": form.get("comment_content", ""),
        "author_url": form.get("comment_author_url") or None,
        "post_url": permalink or None,
        "user_ip": form.get("user_ip") or None,
        "user_agent": form.get("user_agent") or None,
        "lang": _first_lang(form.get("blog_lang", "")),
        "referrer": form.get("referrer") or None,
    }
    try:
        return parse_comment(doc)
    except ValidationFailed as exc:
        fixable = {e.field for e in exc.errors}
        if not fixable <= {*_OPTIONAL, "author_email", "author_name"}:
            raise
        for name in fixable:
            doc[name] = ANONYMOUS_EMAIL if name == "author_email" else (
                ANONYMOUS_NAME if name == "author_name" else None
            )
        return parse_comment(doc)


def idempotency_key(comment: CommentIn) -> str:
    """The same comment checked twice is stored once; submit-* finds it again by this key."""
    return "akismet-" + comment.fingerprint()


def _honeypot_hit(form: Mapping[str, str]) -> bool:
    if form.get(WORDPRESS_HONEYPOT, "").strip():
        return True
    name = form.get("honeypot_field_name", "").strip()
    return bool(name) and bool(form.get(name, "").strip())


async def _discard_allowed(moderation: Moderation, site: str) -> bool:
    _version, settings = await moderation.rules.current(site)
    return settings.akismet_discard


def _status_headers(status: str, comment_id: str | None) -> dict[str, str]:
    headers = {"X-Moderation-Status": status}
    if comment_id:
        headers["X-Moderation-Id"] = comment_id
    return headers


async def comment_check(moderation: Moderation, caller: SiteCaller, form: Mapping[str, str]) -> Answer:
    """Akismet comment-check: 'true' for spam (and rejected), 'false' otherwise."""
    if (refused := missing_blog(form)) is not None:
        return refused
    # Documented test triggers and honeypots decide without the model and store nothing.
    if form.get("user_role", "").strip().lower() == "administrator":
        return Answer("false", _status_headers("approved", None))
    if form.get("comment_author", "") == SPAM_TEST_AUTHOR or (
        form.get("comment_author_email", "").strip().lower() == SPAM_TEST_EMAIL
    ):
        return Answer("true", _status_headers("spam", None))
    if _honeypot_hit(form):
        headers = _status_headers("spam", None)
        if await _discard_allowed(moderation, caller.site):
            headers["X-akismet-pro-tip"] = "discard"
        return Answer("true", headers)
    try:
        comment = to_comment(form)
    except ValidationFailed as exc:
        return bad_request(exc.errors)
    if is_true(form.get("is_test")):
        score, decision, _version = await moderation.evaluate(caller.site, comment)
        status, spam_score, comment_id = decision.status, score.spam, None
    else:
        # A re-check (recheck_reason: WordPress's "Check for Spam", or its automatic retry of
        # comments held while the service was unreachable) is stored like a first check: the
        # comment may never have reached the service. One it has already is found again by
        # its fields (the Idempotency-Key) or by the duplicate rule, and answered as it is now.
        recheck = bool(form.get("recheck_reason"))
        try:
            result = await moderation.submit(caller, comment, idempotency_key(comment))
        except Duplicate as exc:
            existing = str(exc.extra.get("duplicate_of") or "")
            row = await moderation.store.get(caller.site, existing) if recheck and existing else None
            if row is None:
                # The site's duplicate rule refused it (nothing stored): WordPress files it as spam.
                return Answer("true", _status_headers("duplicate", None))
            verdict = msgspec.json.decode(row["doc"])["verdict"]
            result = None
            status, spam_score, comment_id = row["status"], float(verdict["spam_score"]), existing
        if result is not None:
            verdict = msgspec.json.decode(result.body)
            status, spam_score, comment_id = verdict["status"], float(verdict["spam_score"]), verdict.get("id")
            if result.replayed and comment_id:
                # Stored by an earlier check: what it is now, a moderator's decision included.
                row = await moderation.store.get(caller.site, str(comment_id))
                status = row["status"] if row else status
    headers = _status_headers(status, comment_id)
    if status in {"spam", "rejected"}:
        if status == "spam" and spam_score >= DISCARD_AT and await _discard_allowed(moderation, caller.site):
            headers["X-akismet-pro-tip"] = "discard"
        return Answer("true", headers)
    return Answer("false", headers)


async def _stored_comment_id(moderation: Moderation, site: str, comment: CommentIn) -> str | None:
    raw = await moderation.store.redis.get(keys.idempotency(site, idempotency_key(comment)))
    if raw is None:
        return None
    raw_bytes = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    _fingerprint, _, reply = raw_bytes.partition(b"\n")
    comment_id = msgspec.json.decode(reply).get("id")
    return str(comment_id) if comment_id else None


async def submit(moderation: Moderation, caller: SiteCaller, form: Mapping[str, str], spam: bool) -> Answer:
    """submit-spam / submit-ham: the site's own moderator corrected (or confirmed) a verdict."""
    if (refused := missing_blog(form)) is not None:
        return refused
    try:
        comment = to_comment(form)
    except ValidationFailed as exc:
        return bad_request(exc.errors)
    await _count_report(moderation, caller.site, spam)
    comment_id = await _stored_comment_id(moderation, caller.site, comment)
    decided_before = False
    if comment_id is not None:
        submitter = Moderator(name=SUBMITTER, sites=frozenset({caller.site}), key_digest=caller.key_digest)
        decision = DecisionIn(decision="spam" if spam else "approve", note="reported through the Akismet API")
        try:
            await moderation.decide(submitter, comment_id, decision, caller.site, via="akismet")
            return Answer(THANKS)
        except Conflict:
            # Decided otherwise already: the report is still a labelled example. (Its reputation
            # waits for revisable decisions, which take the earlier vote back first.)
            decided_before = True
        except NotFound:
            pass  # gone (retention, erasure): the report is a labelled example and a decision
    if not decided_before:
        # A report on a comment the service does not hold is the site moderator's decision too.
        await moderation.record_decision(caller.site, comment, NONE, SPAM if spam else HAM)
    score, decision_made, version = await moderation.evaluate(caller.site, comment)
    at = now_ms()
    verdict = build_verdict(None, decision_made, score, version, at)
    fields = label_fields(
        caller.site, comment_id or "", comment, version, verdict.spam_score, label="spam" if spam else "approved",
        reason="", by=SUBMITTER, at=at, source="submit-spam" if spam else "submit-ham",
    )
    await moderation.store.add_label(caller.site, dict(zip(fields[::2], fields[1::2], strict=True)))
    return Answer(THANKS)


# ---------------------------------------------------- the calls of Akismet's settings screen


def _month(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m")


async def _count_report(moderation: Moderation, site: str, spam: bool) -> None:
    # Akismet's get-stats counts these reports as its own misses and false positives.
    field_name = f"{'missed_spam' if spam else 'false_positives'}:{_month(now_ms())}"
    await moderation.store.redis.hincrby(keys.akismet_reports(site), field_name, 1)


def connectivity() -> Answer:
    return Answer(CONNECTED)


async def subscription(moderation: Moderation, caller: SiteCaller) -> Answer:
    """get-subscription: the shape WordPress reads; a self-hosted service has no billing."""
    name = await moderation.store.redis.hget(keys.site_meta(caller.site), "name")
    return json_answer({
        "account_id": caller.site,
        "account_name": str(name or caller.site),
        "account_type": "self-hosted",
        "status": "active",
        "next_billing_date": None,
        "limit_reached": False,
    })


def _stats_window(form: Mapping[str, str], now: int) -> tuple[int, int] | Answer:
    def day(name: str, raw: str) -> int | Answer:
        try:
            return int(datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)
        except ValueError:
            message = f"{name} must be 6-months, all or a YYYY-MM-DD date"
            return Answer(message, {"X-akismet-debug-help": message}, 400)

    raw_from = form.get("from", "").strip() or "all"
    if raw_from in STATS_WINDOWS:
        span = STATS_WINDOWS[raw_from]
        start: int | Answer = 0 if span is None else now - span
    else:
        start = day("from", raw_from)
    raw_to = form.get("to", "").strip()
    end: int | Answer = day("to", raw_to) if raw_to else now
    if isinstance(start, Answer):
        return start
    if isinstance(end, Answer):
        return end
    return start, end


async def _count_status(moderation: Moderation, site: str, statuses: tuple[str, ...], start: int, end: int) -> int:
    # Comment ids start with 11 hex digits of their creation time and the status indexes are
    # ordered by id, so a time window is a lexicographic range: O(log N) per status.
    low, high = f"[{max(start, 0):011x}", f"({end + 1:011x}"
    total = 0
    for status in statuses:
        total += int(await moderation.store.redis.zlexcount(keys.status_index(site, status), low, high))
    return total


async def stats(moderation: Moderation, caller: SiteCaller, form: Mapping[str, str]) -> Answer:
    """get-stats over ``from`` (6-months, all, or a date) to ``to``: the figures WordPress shows.

    spam and ham are the stored comments by their current status (a moderator's correction
    counts where it ended up); missed_spam / false_positives are the submit-spam / submit-ham
    reports, counted by calendar month (UTC).
    """
    window = _stats_window(form, now_ms())
    if isinstance(window, Answer):
        return window
    start, end = window
    spam = await _count_status(moderation, caller.site, ("spam", "rejected"), start, end)
    ham = await _count_status(moderation, caller.site, ("approved",), start, end)
    reports = await moderation.store.redis.hgetall(keys.akismet_reports(caller.site))
    first, last = _month(start), _month(end)
    counts = {"missed_spam": 0, "false_positives": 0}
    for name, value in reports.items():
        kind, _, month = str(name).partition(":")
        if kind in counts and first <= month <= last:
            counts[kind] += int(value)
    total = spam + ham
    wrong = counts["missed_spam"] + counts["false_positives"]
    accuracy = round(100.0 * max(total - wrong, 0) / total, 3) if total else 100.0
    return json_answer({"spam": spam, "ham": ham, **counts, "accuracy": accuracy})


async def usage_limit(moderation: Moderation, caller: SiteCaller) -> Answer:
    """usage-limit (API 1.2): this service sets no monthly quota; usage is this month's comments."""
    now = now_ms()
    month_start = datetime.fromtimestamp(now / 1000, UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    usage = await _count_status(moderation, caller.site, keys.STATUSES, int(month_start.timestamp() * 1000), now)
    return json_answer({"limit": "none", "usage": usage, "percentage": None, "throttled": False})
