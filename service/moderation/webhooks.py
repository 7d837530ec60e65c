"""Webhooks to the news site: a Redis outbox, signed deliveries, backoff and dead letters.

Every final decision (approved, rejected, spam — automatic at submission or a moderator's)
is written to the site's outbox by the same Lua script that records the decision, so an
event exists if and only if the decision does. A background task (``webhooks_ctx`` in
``moderation.web.tasks``) takes due events, POSTs them signed, and deletes them once the
receiver answered 2xx. Delivery is at least once: an event is leased (its due time pushed
past the request timeout) while it is being sent, so a worker that dies mid-delivery leaves
it to be sent again. Receivers deduplicate on the event id (``X-Moderation-Delivery``).
After ``max_attempts`` failures an event becomes a dead letter until ``moderation webhooks
redeliver`` puts it back.

Signature: ``X-Moderation-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``
— the timestamp is signed with the body so a captured request cannot be replayed later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import msgspec
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from moderation.core.egress import TargetRefused, check_target, url_problem
from moderation.core.errors import FieldError, ValidationFailed
from moderation.core.health import LoopHealth, describe
from moderation.core.logfields import escape
from moderation.core.metrics import Metrics
from moderation.store import keys

log = logging.getLogger("moderation.webhooks")

EVENT_TYPES = {"approved": "comment.approved", "rejected": "comment.rejected", "spam": "comment.spam"}
SIGNATURE_HEADER = "X-Moderation-Signature"
# Events taken per site per round; bounds the concurrent requests to one receiver.
DELIVERY_BATCH = 20
# Receivers should refuse signatures older than this (replays); also used by verify().
SIGNATURE_TOLERANCE_SECONDS = 300
# A receiver's error body is kept for the dead-letter listing, truncated to this; no more
# than MAX_ERROR_BYTES of it is ever read (a receiver can answer a 400 MiB error page).
MAX_ERROR_CHARS = 300
MAX_ERROR_BYTES = 4 * MAX_ERROR_CHARS
_URL_RE = re.compile(r"\Ahttps?://[^\s/?#]+(?:[/?#]\S*)?\Z", re.IGNORECASE)

_CLAIM_LUA = """
-- KEYS: due; ARGV: now_ms, limit, lease_until_ms
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return ids
"""


# Placeholders for what only the decide and recheck scripts know (store/comments.py): the
# comment's new revision and its status before. They come before any text from outside in the
# body, and a JSON string cannot contain an unescaped quote, so the script's first match of
# each is always the placeholder itself.
REVISION_SLOT = "__REVISION__"
PREVIOUS_SLOT = "__PREVIOUS__"


class Event(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    created_at: str
    site: str
    # The comment's revision this event announces (0: the automatic verdict at submission,
    # then one more per decision): receivers apply an event only if it is newer than the last
    # one they applied, so late retries never undo a later decision.
    revision: int | str
    previous_status: str | None
    comment: dict[str, Any]
    decision: dict[str, Any]


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(12)


def build_event(
    site: str,
    comment_id: str,
    status: str,
    *,
    created_at: str,
    comment: dict[str, Any],
    by: str,
    reason: str | None = None,
    note: str | None = None,
    spam_score: float | None = None,
    model_version: str | None = None,
    revision: int | None = None,
) -> tuple[str, bytes]:
    """The (event id, JSON body) of a final decision; ('', b'') for a non-final status.

    ``revision``: the comment's revision (0 at submission); ``None`` leaves the revision and
    the previous status to the decide or recheck script that queues the event.
    """
    event_type = EVENT_TYPES.get(status)
    if event_type is None:
        return "", b""
    event_id = new_event_id()
    event = Event(
        id=event_id,
        type=event_type,
        created_at=created_at,
        site=site,
        revision=REVISION_SLOT if revision is None else revision,
        previous_status=PREVIOUS_SLOT if revision is None else None,
        comment={"id": comment_id, "status": status, **comment},
        decision={
            "by": by,
            "reason": reason,
            "note": note,
            "spam_score": spam_score,
            "model_version": model_version,
        },
    )
    return event_id, msgspec.json.encode(event)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = SIGNATURE_TOLERANCE_SECONDS) -> bool:
    """What a receiver does: check the timestamp is recent and one v1 signature matches."""
    parts = [p.strip().partition("=") for p in header.split(",")]
    stamps = [v for k, _, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance:
        return False
    expected = sign(secret, int(stamps[0]), body).rpartition("v1=")[2]
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, _, v in parts)


# ---------------------------------------------------------------- configuration


def valid_url(url: str) -> bool:
    return bool(_URL_RE.match(url)) and len(url) <= 2048


async def configure(redis: Redis, site: str, url: str, *, allow_private: bool = False) -> str:
    """Set the site's webhook URL and a new signing secret; returns the secret (shown once).

    The secret is stored as is, not as a digest: signing needs the secret itself. A URL that
    cannot be used is refused with a 422 naming ``webhook_url``: not http(s), a host name the
    socket layer cannot encode (IDNA), credentials in it, or — unless ``allow_private`` —
    a host that is or resolves to a loopback, private or other non-public address
    (egress.py). A name that does not resolve yet is accepted (its DNS may come later); names
    are resolved and checked again at every delivery.
    """
    if not await redis.exists(keys.site_meta(site)):
        raise LookupError(f"no site {site!r}")
    problem = "must be an http or https URL" if not valid_url(url) else url_problem(url, allow_private=allow_private)
    if problem is None:
        try:
            await check_target(url, allow_private=allow_private)
        except TargetRefused as exc:
            text = str(exc)
            own = text.startswith("the webhook URL ")
            problem = text.removeprefix("the webhook URL ") if own else f"points at a non-public address ({text})"
        except ValueError as exc:  # UnicodeError from the resolver: the name cannot be looked up
            problem = f"has a host name that cannot be looked up ({describe(exc)})"
        except OSError:
            pass  # does not resolve (yet): refused or not at each delivery
    if problem is not None:
        hint = "" if allow_private else " (MODERATION_WEBHOOK_ALLOW_PRIVATE=1 allows private targets)"
        message = f"the webhook URL {problem}{hint}"
        raise ValidationFailed(message, errors=[FieldError("webhook_url", "invalid", message)])
    secret = "whsec_" + secrets.token_urlsafe(32)
    await redis.hset(keys.site_meta(site), mapping={"webhook_url": url, "webhook_secret": secret})
    await redis.sadd(keys.WEBHOOK_SITES, site)
    return secret


async def disable(redis: Redis, site: str) -> bool:
    """Stop queuing events; already queued ones stay until the webhook is configured again."""
    removed = await redis.hdel(keys.site_meta(site), "webhook_url", "webhook_secret")
    await redis.srem(keys.WEBHOOK_SITES, site)
    return bool(removed)


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    secret: str = field(repr=False)


async def target(redis: Redis, site: str) -> Target | None:
    url, secret = await redis.hmget(keys.site_meta(site), ["webhook_url", "webhook_secret"])
    if not url or not secret:
        return None
    return Target(str(url), str(secret))


# ---------------------------------------------------------------- outbox


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    event_id: str
    body: bytes
    attempts: int
    last_error: str = ""
    # The author's digest (store/retention.author_digest), for the erasure index; '' for
    # events written before that index existed.
    author: str = ""
    # Why the event cannot be sent ('' when it can): its record is not a hash, its body is
    # not an event. Such an event is parked as a dead letter, never retried on its own.
    problem: str = ""


def event_problem(body: bytes) -> str:
    """Why ``body`` is not an event this service wrote ('' when it is one)."""
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        return f"the event body is not JSON ({exc})"
    if not isinstance(doc, dict):
        return f"the event body is a JSON {type(doc).__name__}, not an object"
    if not isinstance(doc.get("id"), str) or doc.get("type") not in EVENT_TYPES.values():
        return "the event body has no id or no known type"
    return ""


# "#!lua": refused as a whole when Redis is out of memory, rather than stopping between the
# ZREM and the ZADD (an event in neither set would never be sent nor listed).
_PARK_LUA = """#!lua
-- Set one event aside as a dead letter with its reason, whatever its record holds.
-- KEYS: due, dead, event; ARGV: id, now_ms, reason
redis.call('ZREM', KEYS[1], ARGV[1])
local kind = redis.call('TYPE', KEYS[3])['ok']
if kind == 'none' then return kind end  -- erased or delivered meanwhile: nothing to park
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if kind == 'hash' then
  redis.call('HSET', KEYS[3], 'last_error', ARGV[3], 'last_at', ARGV[2])
end
return kind
"""

_FAILED_LUA = """#!lua
-- Record a failed attempt, unless the event was erased (or delivered) while it was being sent:
-- writing to it then would leave a record without a body, never sent nor listed.
-- KEYS: event, due, dead; ARGV: id, attempts, error, now ms, next attempt ms ('' = dead letter)
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], 'attempts', ARGV[2], 'last_error', ARGV[3], 'last_at', ARGV[4])
if ARGV[5] == '' then
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], 'XX', ARGV[5], ARGV[1])
end
return 1
"""


class Outbox:
    """The Redis side of delivery: lease due events, record outcomes, dead letters."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._claim = redis.register_script(_CLAIM_LUA)
        self._park = redis.register_script(_PARK_LUA)
        self._failed = redis.register_script(_FAILED_LUA)

    async def claim_due(self, site: str, now_ms: int, limit: int, lease_ms: int) -> list[OutboxEvent]:
        raw = await self._claim(keys=[keys.webhook_due(site)], args=[now_ms, limit, now_ms + lease_ms])
        ids = [str(i) for i in raw]
        loaded = await self.load(site, ids)
        orphans = [i for i, e in zip(ids, loaded, strict=True) if e is None]
        if orphans:
            # A due entry without its event (the script writes both, delivery and erasure
            # remove both): nothing to send, and leasing it again every round helps nobody.
            await self.redis.zrem(keys.webhook_due(site), *orphans)
        return [e for e in loaded if e is not None]

    async def load(self, site: str, ids: Sequence[str]) -> list[OutboxEvent | None]:
        """The events of ``ids`` (None where there is none); one whose record cannot be read
        comes back with its ``problem`` instead of failing the others."""
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for event_id in ids:
            pipe.hgetall(keys.webhook_event(site, event_id))
        out: list[OutboxEvent | None] = []
        for event_id, row in zip(ids, await pipe.execute(raise_on_error=False), strict=True):
            if isinstance(row, ResponseError):  # e.g. WRONGTYPE: the record was overwritten
                out.append(OutboxEvent(event_id, b"", 0, problem=f"the event record cannot be read ({row})"))
                continue
            if isinstance(row, Exception):
                raise row  # Redis itself failed: the whole round waits, nothing is parked
            if not row or "body" not in row:
                out.append(None)
                continue
            body = row["body"]
            try:
                attempts = int(row.get("attempts", 0))
            except ValueError:
                attempts = 0
            out.append(
                OutboxEvent(
                    event_id,
                    body.encode("utf-8") if isinstance(body, str) else bytes(body),
                    attempts,
                    str(row.get("last_error", "")),
                    str(row.get("a", "")),
                )
            )
        return out

    async def delivered(self, site: str, event: OutboxEvent) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(keys.webhook_due(site), event.event_id)
        pipe.delete(keys.webhook_event(site, event.event_id))
        if event.author:
            pipe.zrem(keys.webhook_authors(site), event.author + event.event_id)
        await pipe.execute()

    async def failed(
        self, site: str, event: OutboxEvent, error: str, now_ms: int, next_at_ms: int | None
    ) -> None:
        """Record a failed attempt; ``next_at_ms=None`` makes it a dead letter."""
        await self._failed(
            keys=[keys.webhook_event(site, event.event_id), keys.webhook_due(site), keys.webhook_dead(site)],
            args=[event.event_id, event.attempts + 1, error[:MAX_ERROR_CHARS], now_ms,
                  "" if next_at_ms is None else next_at_ms],
        )

    async def park(self, site: str, event_id: str, reason: str, now_ms: int) -> None:
        """Make an event that cannot be sent a dead letter at once, with the reason."""
        await self._park(
            keys=[keys.webhook_due(site), keys.webhook_dead(site), keys.webhook_event(site, event_id)],
            args=[event_id, now_ms, reason[:MAX_ERROR_CHARS]],
        )

    async def pending_count(self, site: str) -> int:
        return int(await self.redis.zcard(keys.webhook_due(site)))

    async def dead_letters(self, site: str, limit: int = 100) -> list[OutboxEvent]:
        ids = [str(i) for i in await self.redis.zrange(keys.webhook_dead(site), 0, limit - 1)]
        out = []
        for e in await self.load(site, ids):
            if e is not None:
                out.append(replace(e, last_error=e.problem) if e.problem else e)
        return out

    async def redeliver(self, site: str, event_ids: Sequence[str] | None = None) -> int:
        """Put dead letters (all, or the given ids) back in the outbox with a fresh budget."""
        dead = keys.webhook_dead(site)
        ids = list(event_ids) if event_ids is not None else [str(i) for i in await self.redis.zrange(dead, 0, -1)]
        moved = 0
        for event_id in ids:
            if await self.redis.zscore(dead, event_id) is None:
                continue
            pipe = self.redis.pipeline(transaction=True)
            pipe.zrem(dead, event_id)
            pipe.hset(keys.webhook_event(site, event_id), "attempts", 0)
            pipe.zadd(keys.webhook_due(site), {event_id: 0})
            await pipe.execute()
            moved += 1
        return moved


# ---------------------------------------------------------------- delivery


@dataclass(slots=True)
class RoundReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    parked: int = 0
    # Sites whose round failed as a whole (run_once only): site -> the error.
    site_errors: dict[str, str] = field(default_factory=dict)

    def busy(self) -> bool:
        return bool(self.delivered or self.failed or self.dead or self.parked)


class SiteProblem(Exception):
    """A site's round could not deliver for a reason of the site's own (its webhook URL
    cannot be used): the attempts are recorded, and the site is reported failing."""


@dataclass(frozen=True, slots=True)
class Sent:
    """The outcome of one POST: the receiver's status (None without an answer) and, unless
    it was a 2xx, what went wrong."""

    status: int | None
    error: str | None


class Deliverer:
    """Sends due events, each site on its own (a loop per site, supervised: see ``run``).
    ``run_once`` is one round over every site; tests drive it with an injected clock
    instead of waiting for real backoff delays."""

    def __init__(
        self,
        redis: Redis,
        session: aiohttp.ClientSession,
        *,
        max_attempts: int,
        backoff_seconds: float,
        backoff_max_seconds: float,
        timeout_seconds: float,
        clock: Callable[[], float] = time.time,
        allow_private: bool = False,
        health: LoopHealth | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.redis = redis
        self.outbox = Outbox(redis)
        self.session = session
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff_seconds
        self.backoff_max = backoff_max_seconds
        self.timeout = timeout_seconds
        self.clock = clock
        self.allow_private = allow_private
        self.metrics = metrics
        self.health = health or LoopHealth("webhooks", 1.0, metrics=metrics, logger=log)

    def delay_after(self, failures: int) -> float:
        """Exponential backoff: base, 2*base, 4*base ... capped."""
        return float(min(self.backoff_max, self.backoff * 2 ** max(0, failures - 1)))

    async def run_once(self) -> RoundReport:
        """One round over every site, the sites side by side (tests drive this); a site whose
        round fails is recorded (``site_errors``, the health record) and the others go on."""
        report = RoundReport()
        sites = sorted(str(s) for s in await self.redis.smembers(keys.WEBHOOK_SITES))
        outcomes = await asyncio.gather(*(self.site_round(site, report) for site in sites), return_exceptions=True)
        for site, outcome in zip(sites, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, Exception):
                self.health.site_failed(site, outcome)
                report.site_errors[site] = describe(outcome)
            else:
                self.health.site_ok(site)
        return report

    async def site_round(self, site: str, report: RoundReport) -> None:
        """One round of one site: lease its due events, send them, record each outcome.

        An event that cannot be sent (unreadable record, a body that is not an event, an
        unexpected error while sending it) is parked as a dead letter with its reason and the
        others go on. Redis errors end the round (the site is retried after a backoff; the
        leased events are sent again when their lease ends)."""
        dest = await target(self.redis, site)
        if dest is None:
            return
        now_ms = int(self.clock() * 1000)
        # The lease outlives the request, so nobody else sends it meanwhile.
        lease_ms = int((self.timeout * 2 + 5) * 1000)
        ready: list[OutboxEvent] = []
        for event in await self.outbox.claim_due(site, now_ms, DELIVERY_BATCH, lease_ms):
            problem = event.problem or event_problem(event.body)
            if problem:
                await self._park(site, event, problem, report)
            else:
                ready.append(event)
        if not ready:
            # Nothing to send, but a URL that can never work (a typo stored before validation,
            # a private target) keeps the site reported as failing until it is fixed.
            unusable = url_problem(dest.url, allow_private=self.allow_private)
            if unusable is not None:
                raise SiteProblem(f"refused: the webhook URL {unusable}")
            return
        site_problem = ""
        outcomes: list[Sent | BaseException]
        try:
            # Checked at every round, not only when saved: where a name points can change.
            await check_target(dest.url, allow_private=self.allow_private)
        except TargetRefused as exc:
            site_problem = f"refused: {exc}"
            outcomes = [Sent(None, site_problem)] * len(ready)
        except OSError as exc:  # the name does not resolve: a failed attempt, like a refused connection
            outcomes = [Sent(None, f"{type(exc).__name__}: {exc}")] * len(ready)
        except ValueError as exc:
            # A URL stored before it was validated (UnicodeError for an empty IDNA label,
            # news..example.vn): every attempt fails until the operator fixes it.
            site_problem = f"the webhook URL cannot be used: {describe(exc)}"
            outcomes = [Sent(None, site_problem)] * len(ready)
        else:
            outcomes = list(await asyncio.gather(*(self._send(dest, e) for e in ready), return_exceptions=True))
        for event, outcome in zip(ready, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            if isinstance(outcome, BaseException):
                await self._park(site, event, f"unexpected error while sending: {describe(outcome)}", report)
                continue
            await self._record(site, event, outcome, report)
        if site_problem:
            raise SiteProblem(site_problem)

    async def _record(self, site: str, event: OutboxEvent, sent: Sent, report: RoundReport) -> None:
        attempt = event.attempts + 1
        status = "-" if sent.status is None else str(sent.status)
        kind = _event_type(event.body)
        if sent.error is None:
            await self.outbox.delivered(site, event)
            report.delivered += 1
            self._attempt("delivered")
            log.info("webhook site=%s event=%s type=%s attempt=%d status=%s delivered",
                     site, event.event_id, kind, attempt, status)
            return
        now_ms = int(self.clock() * 1000)
        # The receiver's own error text is kept with the event (``webhooks dead``), not logged:
        # it is the receiver's to word, and could quote the comment or its author.
        error = f"HTTP {sent.status}" if sent.status is not None else escape(sent.error)
        if attempt >= self.max_attempts:
            await self.outbox.failed(site, event, sent.error, now_ms, None)
            report.dead += 1
            self._attempt("dead")
            log.warning("webhook site=%s event=%s type=%s attempt=%d status=%s dead letter after %d attempts: %s",
                        site, event.event_id, kind, attempt, status, attempt, error)
            return
        delay = self.delay_after(attempt)
        await self.outbox.failed(site, event, sent.error, now_ms, now_ms + int(delay * 1000))
        report.failed += 1
        self._attempt("failed")
        log.info("webhook site=%s event=%s type=%s attempt=%d status=%s failed, next attempt in %g s: %s",
                 site, event.event_id, kind, attempt, status, delay, error)

    async def _park(self, site: str, event: OutboxEvent, reason: str, report: RoundReport) -> None:
        await self.outbox.park(site, event.event_id, reason, int(self.clock() * 1000))
        report.parked += 1
        self._attempt("parked")
        self.health.item_parked(site, f"event {event.event_id}", reason)

    def _attempt(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.webhook_attempt(result)

    async def _send(self, dest: Target, event: OutboxEvent) -> Sent:
        """POST one event."""
        status, error = await post_event(
            self.session, dest, event.event_id, event.body, event.attempts + 1, self.timeout, int(self.clock())
        )
        return Sent(status, error)

    async def run(self, poll_seconds: float, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set: one loop per site, so a slow, hanging or failing
        site delays only its own events. The site list is re-read every ``poll_seconds``.

        Nothing a site does ends this loop or another site's: each site's loop records its
        failures in ``health`` and backs off (``_site_loop``); a failure to list the sites
        (Redis down or out of memory) is recorded and retried with backoff while the
        running site loops go on. This loop never raises (except when cancelled)."""
        loops: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        try:
            while not stop.is_set():
                try:
                    sites = {str(s) for s in await self.redis.smembers(keys.WEBHOOK_SITES)}
                except Exception as exc:  # the supervisor's boundary: anything is recorded, retried
                    await wait_or_stop(stop, self.health.loop_failed(exc))
                    continue
                self.health.loop_ok()
                for site, (task, retire) in list(loops.items()):
                    if task.done():
                        del loops[site]
                    elif site not in sites:
                        retire.set()  # the webhook was disabled: that loop ends after its round
                for site in sites - loops.keys():
                    retire = asyncio.Event()
                    task = asyncio.create_task(self._site_loop(site, poll_seconds, stop, retire))
                    loops[site] = (task, retire)
                await wait_or_stop(stop, poll_seconds)
        finally:
            # stop is set (or we are cancelled): each loop ends after its current round.
            tasks = [task for task, _ in loops.values()]
            for task in tasks:
                if not task.done() and not stop.is_set():
                    task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _site_loop(self, site: str, poll_seconds: float, stop: asyncio.Event, retire: asyncio.Event) -> None:
        """Rounds of one site while it has work; ends when idle (the next poll starts it again)."""
        while not stop.is_set() and not retire.is_set():
            report = RoundReport()
            try:
                await self.site_round(site, report)
            except Exception as exc:  # the unit of isolation (arq's job): this site only, retried with backoff
                await wait_or_stop(stop, self.health.site_failed(site, exc))
                continue
            self.health.site_ok(site)
            if not report.busy():
                return
        if retire.is_set():
            self.health.site_removed(site)


def _event_type(body: bytes) -> str:
    try:
        doc = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return ""
    return str(doc.get("type", "")) if isinstance(doc, dict) else ""


async def post_event(
    session: aiohttp.ClientSession,
    dest: Target,
    event_id: str,
    body: bytes,
    attempt: int,
    timeout_seconds: float,
    timestamp: int,
) -> tuple[int | None, str | None]:
    """POST one signed event: (the receiver's HTTP status or None, None on 2xx else why not)."""
    try:
        event_type = msgspec.json.decode(body).get("type", "")
    except msgspec.DecodeError:
        event_type = ""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "moderation-webhooks/1",
        "X-Moderation-Event": str(event_type),
        "X-Moderation-Delivery": event_id,
        "X-Moderation-Attempt": str(attempt),
        SIGNATURE_HEADER: sign(dest.secret, timestamp, body),
    }
    try:
        async with session.post(
            dest.url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as resp:
            if 200 <= resp.status < 300:
                return resp.status, None
            # Only the start of an error body is read; the connection is then closed
            # with the rest unread (aiohttp does not reuse a half-read connection).
            head = await _read_at_most(resp.content, MAX_ERROR_BYTES)
            text = head.decode("utf-8", errors="replace")
            return resp.status, f"HTTP {resp.status}: {text[:MAX_ERROR_CHARS]}"
    except TimeoutError:
        return None, f"no answer within {timeout_seconds:g} s"
    except (aiohttp.ClientError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- test event

TEST_EVENT_TYPE = "webhook.test"


async def send_test(
    redis: Redis,
    session: aiohttp.ClientSession,
    site: str,
    *,
    nonce: str | None,
    timeout_seconds: float,
    allow_private: bool,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any] | None:
    """Send one signed ``webhook.test`` event to the site's webhook now, outside the outbox
    (nothing is stored or retried), and say what happened; None when the site has no webhook."""
    dest = await target(redis, site)
    if dest is None:
        return None
    now = clock()
    event_id = new_event_id()
    created = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
    body = msgspec.json.encode(
        {"id": event_id, "type": TEST_EVENT_TYPE, "created_at": created, "site": site, "nonce": nonce}
    )
    report: dict[str, Any] = {"event_id": event_id, "url": dest.url, "delivered": False, "status": None, "error": None}
    try:
        await check_target(dest.url, allow_private=allow_private)
    except TargetRefused as exc:
        report["error"] = f"refused: {exc}"
        return report
    except OSError as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
        return report
    status, error = await post_event(session, dest, event_id, body, 1, timeout_seconds, int(now))
    report.update(delivered=error is None, status=status, error=error)
    return report


async def _read_at_most(stream: aiohttp.StreamReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def stop_task(task: asyncio.Task[None], stop: asyncio.Event, grace_seconds: float) -> None:
    """Ask a background loop to finish between two Redis calls; cancel it only after the
    grace period (a command cancelled mid-flight can leave the shared client unusable)."""
    stop.set()
    try:
        await asyncio.wait_for(task, grace_seconds)
    except TimeoutError:
        log.warning("background task did not stop within %g s; cancelled", grace_seconds)
