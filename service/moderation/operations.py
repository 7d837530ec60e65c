"""Domain operations behind the HTTP handlers: submit, check, read, queue, claim, decide."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec

from moderation.core.errors import (
    Conflict,
    FieldError,
    FieldErrors,
    Gone,
    IdempotencyMismatch,
    NotFound,
    RevisionConflict,
    ValidationFailed,
)
from moderation.core.metrics import Metrics
from moderation.core.schemas import DECISIONS, CommentIn, DecisionIn
from moderation.moderation.policy import Decision, decide
from moderation.moderation.reputation import NONE, Evidence, Reputation, vote
from moderation.moderation.rules import Prepared, Rules, refusal_error
from moderation.moderation.sitesettings import decode, retention_ms
from moderation.moderation.webhooks import build_event
from moderation.scoring import submission
from moderation.scoring.batcher import Batcher
from moderation.scoring.scorer import TOXICITY_LABELS, Feature, Score, ScoreInput
from moderation.scoring.text import CommentText
from moderation.store import keys, stats
from moderation.store.auth import Moderator, SiteCaller
from moderation.store.comments import CLAIM_LIMIT, Guards, Refusal, Store, new_comment_id
from moderation.store.labels import label_fields

MAX_PAGE = 200
# A comment id: 11 hex digits of creation ms, 10 random hex digits (store.new_comment_id).
_COMMENT_ID = re.compile(r"^[0-9a-f]{21}$")


# What /openapi.json says about the reply, which is generated from these Structs (the
# schema keywords are documentation only: msgspec does not enforce extra_json_schema).
_STATUS = msgspec.Meta(extra_json_schema={"enum": list(keys.STATUSES)})


class ReasonOut(msgspec.Struct, frozen=True):
    """Why: a stable reason code (README lists them) and a message for people."""

    code: str
    # English, for API clients; the moderator's page builds its own from code and params.
    message: Annotated[str, msgspec.Meta(description="English; built from code and params")]
    params: Annotated[
        dict[str, str | int | float],
        msgspec.Meta(
            description="What the message was built from (e.g. score, threshold), "
            "so a client can word the reason in its own language"
        ),
    ] = {}


class FeatureOut(msgspec.Struct, frozen=True):
    """A word, character n-gram or signal of the comment and its push on the score."""

    feature: str
    weight: float


class ToxicityOut(msgspec.Struct, frozen=True):
    label: Annotated[str, msgspec.Meta(extra_json_schema={"enum": list(TOXICITY_LABELS)})]
    probabilities: dict[str, float]


class Explanation(msgspec.Struct, frozen=True):
    """What pushed each model's answer most: for spam, the whole-submission signals and
    reputation that applied (README "Whole-submission signals"), then at most five of the
    text model's; for toxicity at most five."""

    spam: list[FeatureOut]
    toxicity: list[FeatureOut]


class Verdict(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The reply to a submission or a check; also stored with the comment."""

    id: Annotated[str | None, msgspec.Meta(description="The stored comment's id; null for a check.")]
    status: Annotated[str, _STATUS]
    spam_score: Annotated[float, msgspec.Meta(extra_json_schema={"minimum": 0, "maximum": 1})]
    reasons: list[ReasonOut]
    toxicity: ToxicityOut
    explanation: Explanation
    model_version: str
    # The text model's own P(spam) when whole-submission signals or reputation moved it
    # (spam_score is then the moved one); absent otherwise.
    text_spam_score: Annotated[
        float | None,
        msgspec.Meta(
            description="The text model's own spam probability, present when whole-submission signals or "
            "reputation moved spam_score (log-odds added; README \"Whole-submission signals\").",
            extra_json_schema={"minimum": 0, "maximum": 1},
        ),
    ] = None
    # "vi", "en" or "other"; empty only in documents stored before it was reported.
    language: Annotated[
        str,
        msgspec.Meta(
            description="Language the comment is written in: vi, en or other; "
            "en comments get their toxicity from the English model."
        ),
    ] = ""
    # Shadow mode only: the status the rules decided (the reply's status is pending).
    shadow_status: Annotated[
        str | None,
        msgspec.Meta(
            description="Shadow mode only: what the rules decided; status is then always pending.",
            extra_json_schema={"enum": [*keys.STATUSES, None]},
        ),
    ] = None
    # Empty (and so omitted) in the stored document: the comment hash's `created` field
    # holds the time, and 40 bytes a comment matter at a million pending items. Last, so
    # the reply is the stored verdict's JSON with this field appended (see encode_verdict).
    created_at: Annotated[str, msgspec.Meta(extra_json_schema={"format": "date-time"})] = ""


class StoredComment(msgspec.Struct, frozen=True, kw_only=True):
    comment: CommentIn
    verdict: Verdict


_verdict_encoder = msgspec.json.Encoder()
_stored_decoder = msgspec.json.Decoder(StoredComment)
_verdict_decoder = msgspec.json.Decoder(Verdict)


def encode_verdict(verdict: Verdict, comment: CommentIn) -> tuple[bytes, bytes]:
    """The reply to the client and the stored document, from one encoding of the verdict.

    Byte for byte what encoding the verdict, and ``StoredComment(comment, verdict without
    created_at)``, separately would give (tests/test_api.py checks this).
    """
    stored = _verdict_encoder.encode(msgspec.structs.replace(verdict, created_at=""))
    reply = stored
    if verdict.created_at:
        reply = b"".join((stored[:-1], b',"created_at":', _verdict_encoder.encode(verdict.created_at), b"}"))
    doc = b"".join((b'{"comment":', _verdict_encoder.encode(comment), b',"verdict":', stored, b"}"))
    return reply, doc


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _round(x: float) -> float:
    return round(float(x), 4)


def build_verdict(
    comment_id: str | None,
    decision: Decision,
    score: Score,
    model_version: str,
    created_ms: int,
    text_spam_score: float | None = None,
) -> Verdict:
    return Verdict(
        id=comment_id,
        status=decision.status,
        spam_score=_round(score.spam),
        reasons=[ReasonOut(r.code, r.message, dict(r.params)) for r in decision.reasons],
        toxicity=ToxicityOut(
            score.toxicity.label, {k: _round(v) for k, v in score.toxicity.probabilities.items()}
        ),
        explanation=Explanation(
            spam=[FeatureOut(f.name, _round(f.weight)) for f in score.spam_features],
            toxicity=[FeatureOut(f.name, _round(f.weight)) for f in score.toxicity_features],
        ),
        model_version=model_version,
        text_spam_score=_round(text_spam_score) if text_spam_score is not None else None,
        language=score.language,
        created_at=iso(created_ms),
        shadow_status=decision.shadow_status,
    )


@dataclass(frozen=True, slots=True)
class SubmitResult:
    body: bytes
    replayed: bool


# Comments longer than this are decided in a worker thread (see Moderation._evaluate);
# below it, deciding takes well under a millisecond and a thread hop would cost more.
THREADED_DECIDE_CHARS = 4_000


class Moderation:
    def __init__(
        self,
        store: Store,
        batcher: Batcher,
        *,
        lease_seconds: int,
        clock: Callable[[], int] = now_ms,
        claim_limit: int = CLAIM_LIMIT,
        metrics: Metrics | None = None,
        reputation: Reputation | None = None,
    ) -> None:
        self.store = store
        self.batcher = batcher
        self.lease_ms = lease_seconds * 1000
        self.claim_limit = claim_limit
        self.metrics = metrics
        # Milliseconds for the rules' time windows (flood, campaign) and comment ids;
        # tests move it forward instead of sleeping.
        self.clock = clock
        # Moderators' earlier decisions (None: not consulted, not recorded: the CLI's recheck).
        self.reputation = reputation
        self.rules = Rules(store, reputation)

    async def evaluate(self, site: str, comment: CommentIn) -> tuple[Score, Decision, str]:
        """Score and decide without storing (integrations and recheck): score, decision, model version."""
        score, decision, version, _, _ = await self._evaluate(site, comment, self.clock())
        return score, decision, version

    async def record_decision(self, site: str, comment: CommentIn, before: int, after: int) -> None:
        """Tell reputation that a decision on *comment* moved its vote from *before* to *after*
        (reputation.vote of the previous and the new status; NONE before a first decision)."""
        if self.reputation is not None:
            await self.reputation.record(site, comment, before, after)

    async def _evaluate(
        self, site: str, comment: CommentIn, now: int, *, refuse_early: bool = False, caller: SiteCaller | None = None
    ) -> tuple[Score, Decision, str, Guards, float | None]:
        # One normalization of the text, shared by the rules, the word lists and the model.
        text = CommentText(comment)
        # The rules' Redis reads come first: a refused flood costs no model time.
        prepared = await self.rules.prepare(site, text, now, refuse_early=refuse_early, caller=caller)
        scorer = self.batcher.scorer
        score = await self.batcher.score(
            ScoreInput(
                content=comment.content,
                author_name=comment.author_name,
                author_email=comment.author_email,
                author_url=comment.author_url or "",
                text=text,
            )
        )
        score, text_spam = whole_submission(score, text, prepared)
        if len(comment.content) > THREADED_DECIDE_CHARS:
            # Normalizing and matching a long comment against the site's word lists costs
            # tens of ms at the limits (bench/wordlists.py): done in a worker thread, the
            # event loop keeps serving every other site meanwhile (the automatons release
            # the GIL while they scan; the Python parts yield it every few ms).
            decision = await asyncio.to_thread(decide, comment, score, prepared.active, prepared.facts, text)
        else:
            decision = decide(comment, score, prepared.active, prepared.facts, text)
        return score, decision, scorer.version, prepared.guards, text_spam

    async def check(self, caller: SiteCaller, comment: CommentIn) -> bytes:
        # Like Akismet's comment-check: the decision rules, but no flood/duplicate refusal
        # (those are about stored submissions, and a check stores nothing).
        now = self.clock()
        score, decision, version, _, text_spam = await self._evaluate(caller.site, comment, now, caller=caller)
        return _verdict_encoder.encode(build_verdict(None, decision, score, version, now, text_spam))

    async def submit(
        self, caller: SiteCaller, comment: CommentIn, idempotency_key: str | None
    ) -> SubmitResult:
        fingerprint = comment.fingerprint() if idempotency_key else ""
        created = self.clock()
        score, decision, version, guards, text_spam = await self._evaluate(
            caller.site, comment, created, refuse_early=idempotency_key is None, caller=caller
        )
        comment_id = new_comment_id(created)
        verdict = build_verdict(comment_id, decision, score, version, created, text_spam)
        reply, doc = encode_verdict(verdict, comment)
        event_id, event_body = build_event(
            caller.site,
            comment_id,
            decision.status,
            created_at=verdict.created_at,
            comment=event_comment(comment),
            by="auto",
            reason=decision.reasons[0].code if decision.reasons else None,
            spam_score=verdict.spam_score,
            model_version=version,
            revision=0,
        )
        earlier = await self.store.submit(
            caller.site,
            comment_id,
            decision.status,
            created,
            doc,
            idempotency_key,
            fingerprint.encode("ascii") + b"\n" + reply if idempotency_key else None,
            event_id,
            event_body,
            guards,
            reason_codes=[r.code for r in decision.reasons],
        )
        if isinstance(earlier, Refusal):
            raise refusal_error(earlier)
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise IdempotencyMismatch(
                    "this Idempotency-Key was used with a different body",
                    errors=[FieldError("Idempotency-Key", "reused", "the key was used for another submission")],
                )
            return SubmitResult(earlier.reply, replayed=True)
        if self.metrics is not None:
            self.metrics.decided(decision.status)
        return SubmitResult(reply, replayed=False)

    async def get_for_site(self, caller: SiteCaller, comment_id: str) -> dict[str, Any]:
        row = await self.store.get(caller.site, comment_id)
        if row is None:
            if await self.past_retention(caller.site, comment_id):
                raise Gone(
                    f"comment {comment_id!r} is older than this site's retention: decided comments "
                    "leave the service after retention_days (or were erased on request)"
                )
            raise NotFound(f"no comment {comment_id!r} for this site")
        return comment_view(row, for_moderator=False)

    async def past_retention(self, site: str, comment_id: str) -> bool:
        """Whether a missing comment's id was created before the site's retention began: it
        may have existed and expired, which a client should hear as 410, not 404."""
        if not _COMMENT_ID.match(comment_id):
            return False
        _version, doc = await self.store.load_settings(site)
        return int(comment_id[:11], 16) < self.clock() - retention_ms(decode(doc))

    async def queue(
        self,
        moderator: Moderator,
        site: str,
        status: str,
        limit: int,
        cursor: str | None,
        newest_first: bool,
    ) -> dict[str, Any]:
        moderator.require_site(site)
        ids = await self.store.page(site, status, limit, cursor, newest_first)
        rows = await self.store.get_many(site, ids)
        items = [comment_view(r, for_moderator=True) for r in rows if r is not None]
        next_cursor = ids[-1] if len(ids) == limit else None
        return {
            "site": site,
            "status": status,
            "items": items,
            "next_cursor": next_cursor,
            "counts": await self.store.counts(site),
        }

    async def stats(self, moderator: Moderator, site: str, days: int) -> dict[str, Any]:
        """The site's dashboard figures for the last ``days`` days (service/store/stats.py)."""
        moderator.require_site(site)
        if not await self.store.site_exists(site):
            raise NotFound(f"no site {site!r}")
        return await stats.site_stats(self.store.redis, site, days, self.clock(), self.store.stats_offset)

    async def claim(self, moderator: Moderator, site: str, count: int) -> dict[str, Any]:
        moderator.require_site(site)
        now = now_ms()
        rows = await self.store.claim(site, moderator.name, count, self.lease_ms, now, self.claim_limit)
        return {
            "site": site,
            "lease_seconds": self.lease_ms // 1000,
            "lease_expires_at": iso(now + self.lease_ms),
            "items": [comment_view(r, for_moderator=True) for r in rows],
        }

    async def find_comment(
        self, moderator: Moderator, comment_id: str, site: str | None
    ) -> tuple[str, dict[str, str]]:
        """The site (among the moderator's) holding ``comment_id``, and the comment's hash."""
        if site is not None:
            moderator.require_site(site)
            candidates = [site]
        else:
            candidates = sorted(moderator.sites)
        for candidate in candidates:
            row = await self.store.get(candidate, comment_id)
            if row is not None:
                return candidate, row
        raise NotFound(f"no comment {comment_id!r} in this moderator's sites")

    async def decide(
        self, moderator: Moderator, comment_id: str, body: DecisionIn, site: str | None = None, *, via: str = "api"
    ) -> dict[str, Any]:
        """Record a decision; a decided comment may be decided again (README, "Review queue").

        The rule for decisions that race: the store's script runs them one at a time and each
        gets the comment's next revision, so the last one run is the comment's status (last
        writer wins, in the order the site's Redis applied them). A caller that sends
        ``expected_revision`` gets a 409 with the current state instead when the comment has
        moved on since the revision it saw. ``via``: where it came from (api, page, akismet).
        """
        site, row = await self.find_comment(moderator, comment_id, site)
        stored = _stored_decoder.decode(row["doc"])
        status = DECISIONS[body.decision]
        check_block_flags(body, status, stored.comment)
        decided_ms = self.clock()
        event_id, event_body = build_event(
            site,
            comment_id,
            status,
            created_at=iso(decided_ms),
            comment=event_comment(stored.comment),
            by=moderator.name,
            reason=body.reason,
            note=body.note,
            spam_score=stored.verdict.spam_score,
            model_version=stored.verdict.model_version,
        )
        outcome = await self.store.decide(
            site,
            comment_id,
            status,
            moderator.name,
            decided_ms,
            body.note or "",
            body.reason or "",
            stored.comment.author_email.lower(),
            event_id,
            event_body,
            wait_ms=decided_ms - int(row.get("created", "0") or 0),
            label=label_fields(
                site, comment_id, stored.comment, stored.verdict.model_version, stored.verdict.spam_score,
                label=status, reason=body.reason or "", by=moderator.name, at=decided_ms,
            ),
            expected_revision=body.expected_revision,
            via=via,
        )
        if outcome.result == "missing":
            raise NotFound(f"no comment {comment_id!r}")
        if outcome.result == "stale":
            fresh_row = await self.store.get(site, comment_id)
            # The whole comment as the review queue lists it (history and claim included), so
            # a caller such as the moderator's page can show what it did not see.
            current = comment_view(fresh_row, for_moderator=True) if fresh_row else None
            raise RevisionConflict(
                f"comment {comment_id} is at revision {outcome.revision} ({outcome.previous}), "
                f"not {body.expected_revision}: decided since; the current state is in this reply",
                extra={
                    "current_status": outcome.previous,
                    "revision": outcome.revision,
                    "decision": current.get("decision") if current else None,
                    "current": current,
                },
            )
        if outcome.result == "claimed":
            raise Conflict(
                f"comment {comment_id} is claimed by {outcome.previous!r} until the lease ends",
                extra={"claimed_by": outcome.previous},
            )
        if outcome.result == "ok":
            if self.metrics is not None:
                self.metrics.decided(status)
            # Reputation counts moderators' decisions: a revision moves the comment's vote from
            # the decision it replaces (none when it replaces the automatic verdict or a recheck).
            before = vote(outcome.previous, outcome.previous_reason) if outcome.previously_decided else NONE
            await self.record_decision(site, stored.comment, before, vote(status, body.reason))
        blocked = None
        if body.block_email or body.block_ip:
            # Only on the moderator's explicit request: a spam decision alone adds nothing.
            blocked = await self.rules.block(
                site,
                stored.comment.author_email if body.block_email else None,
                stored.comment.user_ip if body.block_ip else None,
            )
        fresh = await self.store.get(site, comment_id)
        if fresh is None:  # pragma: no cover - deleted between two reads
            raise NotFound(f"no comment {comment_id!r}")
        view = comment_view(fresh, for_moderator=True)
        if blocked is not None:
            view["blocked"] = blocked
        return view


# The explanation's name for the reputation shift (i18n.js "signals" has it in Vietnamese).
REPUTATION_SIGNAL = "moderators' decisions on its links and contacts"


def whole_submission(score: Score, text: CommentText, prepared: Prepared) -> tuple[Score, float | None]:
    """The text model's score moved by the whole-submission signals and by reputation, in
    log-odds (scoring/submission.adjust); the signals lead the explanation. Returns the new
    score and the model's own P(spam) (None when nothing moved it)."""
    allowed = prepared.active.settings.reputation_allow
    found = submission.signals(text, allowed)
    evidence: Evidence = prepared.facts.reputation
    shifts = [submission.signal_shift(found)] if found else []
    named = [Feature(s.name, s.weight) for s in found]
    if evidence.total:
        shifts.append(evidence.shift)
        named.append(Feature(REPUTATION_SIGNAL, round(evidence.shift, 4)))
    if not shifts:
        return score, None
    moved = submission.adjust(score.spam, shifts)
    return replace(score, spam=moved, spam_features=(*named, *score.spam_features)), score.spam


def check_block_flags(body: DecisionIn, status: str, comment: CommentIn) -> None:
    errors = FieldErrors()
    for flag in ("block_email", "block_ip"):
        if getattr(body, flag) and status == "approved":
            errors.add(flag, "invalid", f"{flag} goes with a spam or reject decision, not approve")
    if body.block_ip and status != "approved" and not comment.user_ip:
        errors.add("block_ip", "invalid", "the comment has no user_ip to block")
    errors.raise_if_any()


def event_comment(comment: CommentIn) -> dict[str, Any]:
    """What a webhook event says about the comment: enough for the site to find it."""
    return {
        "post_id": comment.post_id,
        "post_url": comment.post_url,
        "post_title": comment.post_title,
        "parent_id": comment.parent_id,
        "author_name": comment.author_name,
    }


def comment_view(row: dict[str, str], *, for_moderator: bool) -> dict[str, Any]:
    stored = _stored_decoder.decode(row["doc"])
    verdict = msgspec.to_builtins(stored.verdict)
    if not verdict.get("created_at"):
        verdict["created_at"] = iso(int(row.get("created", "0") or 0))
    view: dict[str, Any] = {
        **verdict,
        "status": row.get("status", stored.verdict.status),
        "auto_status": stored.verdict.status,
        "post_id": stored.comment.post_id,
        "decision": None,
    }
    if row.get("decided_by"):
        view["decision"] = {
            "status": row.get("status"),
            "by": row.get("decided_by"),
            "at": iso(int(row.get("decided_at", "0"))),
            "note": row.get("note") or None,
            "reason": row.get("reason") or None,
        }
    view["revision"] = int(row.get("rev", "0") or 0)
    view["history"] = history(row, stored.verdict.status)
    if for_moderator:
        # Stored without its empty optional fields; the API still shows every field.
        view["comment"] = {f: getattr(stored.comment, f) for f in CommentIn.__struct_fields__}
        claimed_until = int(row.get("claimed_until", "0") or 0)
        if row.get("claimed_by") and claimed_until > now_ms():
            view["claim"] = {"by": row["claimed_by"], "until": iso(claimed_until)}
        else:
            view["claim"] = None
    return view


def history(row: dict[str, str], auto_status: str) -> list[dict[str, Any]]:
    """Every status the comment had, oldest first: the automatic verdict (revision 0), then
    each decision or recheck with who, when, from where and the status it replaced."""
    created = iso(int(row.get("created", "0") or 0))
    out: list[dict[str, Any]] = [
        {"revision": 0, "status": auto_status, "previous": None, "by": "auto", "at": created, "via": "submit",
         "note": None, "reason": None}
    ]  # fmt: skip
    for line in (row.get("history") or "").split("\n"):
        if not line:
            continue
        try:
            entry = msgspec.json.decode(line)
        except msgspec.DecodeError:
            continue  # one damaged line does not hide the others
        if not isinstance(entry, dict):
            continue
        out.append({
            "revision": int(entry.get("rev", 0)),
            "status": str(entry.get("status", "")),
            "previous": str(entry.get("previous", "")) or None,
            "by": str(entry.get("by", "")),
            "at": iso(int(entry.get("at", 0))),
            "via": str(entry.get("via", "")) or None,
            "note": str(entry.get("note", "")) or None,
            "reason": str(entry.get("reason", "")) or None,
        })  # fmt: skip
    if len(out) == 1 and (row.get("decided_by") or row.get("rechecked_at")):
        # Decided before histories were kept: the one decision the hash still describes.
        recheck = not row.get("decided_by")
        out.append({
            "revision": int(row.get("rev", "1") or 1), "status": row.get("status", ""), "previous": "pending" if recheck
            else row.get("auto_status") or auto_status, "by": "recheck" if recheck else row.get("decided_by", ""),
            "at": iso(int(row.get("rechecked_at" if recheck else "decided_at", "0") or 0)),
            "via": "recheck" if recheck else None, "note": row.get("note") or None, "reason": row.get("reason") or None,
        })  # fmt: skip
    return out


def parse_status(value: str | None) -> str:
    status = value or "pending"
    if status not in keys.STATUSES:
        raise ValidationFailed(
            "invalid status",
            errors=[FieldError("status", "invalid", "status must be one of " + ", ".join(keys.STATUSES))],
        )
    return status
