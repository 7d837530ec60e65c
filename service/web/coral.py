"""Coral Talk's external moderation phase, answered by this service.

Coral POSTs each new or edited comment as JSON to the phase URL, signed with the phase's
signing secret (``X-Coral-Signature: sha256=<hex HMAC-SHA256(secret, body)>``; during a
secret rotation Coral sends several comma-separated signatures, any one may match).
Coral's signature carries no timestamp and its request no signed time, so freshness
cannot be checked; instead each signed request is accepted once: a replay within
``REPLAY_WINDOW_SECONDS`` is a 401 (Coral sends every comment revision once, with a new
revision id, so its own requests never repeat). We answer
a moderation action (reject spam, withhold uncertain comments) and/or flags, or ``204`` for
"no opinion" — also when scoring does not finish within ``BUDGET_SECONDS``, so Coral's
pipeline is never held up by us. Coral keeps its own queue, so nothing is stored here.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from moderation.core.errors import FieldError, Unauthorized, ValidationFailed
from moderation.core.schemas import CommentIn, parse_comment
from moderation.moderation.operations import Moderation
from moderation.store import keys

SIGNATURE_HEADER = "X-Coral-Signature"
# Answer within this or not at all (204): Coral's phase timeout should be set above it.
BUDGET_SECONDS = 0.8
# How long an answered request is remembered (and refused if sent again).
REPLAY_WINDOW_SECONDS = 24 * 3600
# Coral's author ids are opaque; the domain model wants an email, so one is derived.
_EMAIL_DOMAIN = "coral.invalid"
# Coral's flag reasons (GQLCOMMENT_FLAG_REASON) and rejection codes (GQLREJECTION_REASON_CODE).
FLAG_SPAM = "COMMENT_DETECTED_SPAM"
FLAG_TOXIC = "COMMENT_DETECTED_TOXIC"
REJECTION_CODES = {
    "spam": "SPAM",
    "advertising": "AD",
    "offensive": "OFFENSIVE",
    "hate_speech": "HATE_SPEECH",
    "harassment": "HARASSMENT_BULLYING",
    "off_topic": "IRRELEVANT_CONTENT",
}


@dataclass(frozen=True, slots=True)
class CoralAnswer:
    """The phase's reply: ``body=None`` means 204 (no opinion)."""

    body: dict[str, Any] | None


async def configure(redis: Redis, site: str, secret: str | None = None) -> str:
    """Store the phase's signing secret (Coral shows it when the phase is created); one is
    generated if none is given. Kept as is, not hashed: verifying an HMAC needs the secret."""
    if not await redis.exists(keys.site_meta(site)):
        raise LookupError(f"no site {site!r}")
    secret = secret or "coral_" + secrets.token_urlsafe(32)
    await redis.hset(keys.site_meta(site), "coral_secret", secret)
    return secret


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, header: str | None, body: bytes) -> bool:
    if not header:
        return False
    expected = signature(secret, body)
    return any(hmac.compare_digest(part.strip(), expected) for part in header.split(","))


async def authenticate(redis: Redis, site: str, header: str | None, body: bytes) -> None:
    secret = await redis.hget(keys.site_meta(site), "coral_secret")
    # Same answer for an unknown site, no secret and a bad signature: nothing to probe.
    if secret is None or not verify(str(secret), header, body):
        raise Unauthorized("missing or invalid X-Coral-Signature")
    seen = keys.coral_seen(site, hashlib.sha256(body).hexdigest()[:32])
    if not await redis.set(seen, 1, nx=True, ex=REPLAY_WINDOW_SECONDS):
        raise Unauthorized("this signed request was already answered (replay)")


def _str(doc: Any, *path: str) -> str:
    for name in path:
        doc = doc.get(name) if isinstance(doc, dict) else None
    return doc if isinstance(doc, str) else ""


def to_comment(doc: dict[str, Any]) -> CommentIn:
    body = _str(doc, "comment", "body")
    if not body.strip():
        raise ValidationFailed(
            "comment.body is required",
            errors=[FieldError("comment.body", "required", "comment.body is required")],
        )
    author_id = _str(doc, "author", "id") or "anonymous"
    digest = hashlib.sha256(author_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    story_url = _str(doc, "story", "url")
    candidate: dict[str, Any] = {
        "post_id": (_str(doc, "story", "id") or "coral")[:200],
        "author_name": _str(doc, "author", "username") or author_id,
        "author_email": _str(doc, "author", "email") or f"{digest}@{_EMAIL_DOMAIN}",
        "content": body,
        "post_url": story_url or None,
        "parent_id": _str(doc, "comment", "parentID") or None,
    }
    try:
        return parse_comment(candidate)
    except ValidationFailed as exc:
        if {e.field for e in exc.errors} - {"author_email", "author_name", "post_url"}:
            raise
        candidate.update(author_email=f"{digest}@{_EMAIL_DOMAIN}", author_name=digest, post_url=None)
        return parse_comment(candidate)


def answer_for(status: str, reasons: list[str], toxicity: str) -> CoralAnswer:
    """Map our decision to Coral's vocabulary."""
    toxic = toxicity != "CLEAN"
    flags = []
    if status in {"spam", "pending"} and any(r.startswith("spam") for r in reasons):
        flags.append({"actionType": "FLAG", "reason": FLAG_SPAM})
    if toxic:
        flags.append({"actionType": "FLAG", "reason": FLAG_TOXIC})
    if status in {"spam", "rejected"}:
        code = "SPAM" if status == "spam" else next(
            (REJECTION_CODES[r] for r in reasons if r in REJECTION_CODES), "OTHER"
        )
        return CoralAnswer(
            {"moderationAction": {"status": "REJECTED", "rejectionReason": {"code": code}}, "actions": flags}
        )
    if status == "pending":
        return CoralAnswer({"moderationAction": {"status": "SYSTEM_WITHHELD"}, "actions": flags})
    if flags:
        return CoralAnswer({"actions": flags})
    return CoralAnswer(None)


async def moderate(moderation: Moderation, site: str, doc: dict[str, Any]) -> CoralAnswer:
    comment = to_comment(doc)
    try:
        async with asyncio.timeout(BUDGET_SECONDS):
            score, decision, _version = await moderation.evaluate(site, comment)
    except TimeoutError:
        return CoralAnswer(None)
    return answer_for(decision.status, [r.code for r in decision.reasons], score.toxicity.label)
