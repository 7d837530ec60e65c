"""The Akismet REST API (1.1), answered by this service: a drop-in for Akismet clients.

Same paths, form-encoded bodies and plain-text answers as rest.akismet.com, so WordPress's
Akismet plugin and the Akismet client libraries work unchanged once their host points here.
The Akismet key is the site's API key.

comment-check is where WordPress sends every new comment, so (unless ``is_test`` is set or
it is a ``recheck_reason`` re-check) the comment is *stored* like ``POST /v1/comments``:
held comments land in the review queue and decisions reach the site by webhook. Akismet has
no "hold" answer: pending comments are answered ``false`` with ``X-Moderation-Status:
pending`` (the must-use plugin in integrations/ turns that into WordPress's own hold).
submit-spam / submit-ham become labelled examples; when the comment was stored by an
earlier comment-check they are recorded as a decision on it (by ``akismet-api``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from service.core.errors import Conflict, Duplicate, FieldError, NotFound, ValidationFailed
from service.core.schemas import MAX_POST_ID_CHARS, CommentIn, DecisionIn, parse_comment
from service.moderation.operations import Moderation, build_verdict, now_ms
from service.store import keys
from service.store.auth import Moderator, SiteCaller
from service.store.labels import label_fields

THANKS = "Thanks for making the web a better place."
INVALID_KEY_HELP = "We were unable to verify your API key."
# Akismet's documented test triggers.
SPAM_TEST_AUTHOR = "viagra-test-123"
SPAM_TEST_EMAIL = "akismet-guaranteed-spam@example.com"
# Spam this sure is "blatant": Akismet's pro-tip says the site may discard it unseen.
DISCARD_AT = 0.99
# Who submit-spam / submit-ham decisions are recorded as.
SUBMITTER = "akismet-api"
# Anonymous comments carry no (valid) email; the domain model needs one.
ANONYMOUS_EMAIL = "anonymous@akismet.invalid"
ANONYMOUS_NAME = "anonymous"
# Optional fields dropped (not refused) when their value is malformed: Akismet accepts anything.
_OPTIONAL = ("author_url", "post_url", "user_ip", "user_agent", "lang")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class Answer:
    """A plain-text Akismet answer."""

    text: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


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
    name = form.get("honeypot_field_name", "").strip()
    return bool(name) and bool(form.get(name, "").strip())


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
        return Answer("true", {**_status_headers("spam", None), "X-akismet-pro-tip": "discard"})
    try:
        comment = to_comment(form)
    except ValidationFailed as exc:
        return bad_request(exc.errors)
    if is_true(form.get("is_test")) or form.get("recheck_reason"):
        score, decision, _version = await moderation.evaluate(caller.site, comment)
        status, spam_score, comment_id = decision.status, score.spam, None
    else:
        try:
            result = await moderation.submit(caller, comment, idempotency_key(comment))
        except Duplicate:
            # The site's duplicate rule refused it (nothing stored): WordPress files it as spam.
            return Answer("true", _status_headers("duplicate", None))
        verdict = msgspec.json.decode(result.body)
        status, spam_score, comment_id = verdict["status"], float(verdict["spam_score"]), verdict.get("id")
    headers = _status_headers(status, comment_id)
    if status in {"spam", "rejected"}:
        if status == "spam" and spam_score >= DISCARD_AT:
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
    comment_id = await _stored_comment_id(moderation, caller.site, comment)
    if comment_id is not None:
        submitter = Moderator(name=SUBMITTER, sites=frozenset({caller.site}), key_digest=caller.key_digest)
        decision = DecisionIn(decision="spam" if spam else "approve", note="reported through the Akismet API")
        try:
            await moderation.decide(submitter, comment_id, decision, caller.site)
            return Answer(THANKS)
        except (Conflict, NotFound):
            # Decided otherwise already (or gone): the report is still a labelled example.
            pass
    score, decision_made, version = await moderation.evaluate(caller.site, comment)
    at = now_ms()
    verdict = build_verdict(None, decision_made, score, version, at)
    fields = label_fields(
        caller.site, comment_id or "", comment, version, verdict.spam_score, label="spam" if spam else "approved",
        reason="", by=SUBMITTER, at=at, source="submit-spam" if spam else "submit-ham",
    )
    await moderation.store.add_label(caller.site, dict(zip(fields[::2], fields[1::2], strict=True)))
    return Answer(THANKS)
