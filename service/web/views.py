"""HTTP handlers: parse, call one domain operation, serialise."""

from __future__ import annotations

import asyncio
import hmac

import aiohttp
import msgspec
from aiohttp import web
from redis.exceptions import RedisError

from moderation.core.egress import GuardedResolver
from moderation.core.errors import (
    Conflict,
    FieldError,
    ProblemError,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from moderation.core.schemas import (
    MAX_BODY_BYTES,
    CommentIn,
    decode_object,
    parse_claim,
    parse_comment,
    parse_decision,
    parse_forget,
    parse_idempotency_key,
    parse_webhook_test,
    require_json,
)
from moderation.moderation.operations import MAX_PAGE, parse_status
from moderation.moderation.webhooks import send_test
from moderation.store import keys, stats
from moderation.store.auth import (
    Moderator,
    SiteCaller,
    bearer,
    is_akismet_shaped,
    presented_site_key,
    resolve_akismet_key,
    resolve_moderator,
    resolve_site_key,
)
from moderation.web import akismet, appkeys, coral, ui
from moderation.web.bodies import body_deadline, read_body, refuse_declared
from moderation.web.client import client_ip

JSON = "application/json"


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(data), status=status, content_type=JSON)


async def site_caller(request: web.Request, *, deferred: bool = False) -> SiteCaller:
    """The calling site. *deferred*: the key may be left for the submission's rules pre-check to
    verify (one Redis read less per submission); the handler must then see it verified."""
    # The IP budget is spent before the key is looked up, so guessing keys costs budget too.
    limiter = request.app[appkeys.RATE_LIMITER]
    await limiter.check_ip(client_ip(request))
    token = bearer(request.headers.get("Authorization"))
    if deferred and not limiter.per_key:
        # A per-key budget needs a verified key first (an unknown key must not create
        # counters), so only without one is the check deferred.
        presented = presented_site_key(token)
        request[appkeys.REQUEST_SITE] = presented.site
        return presented
    # Through the store's auto-pipeline: the key checks of concurrent submissions share a round trip.
    caller = await resolve_site_key(request.app[appkeys.STORE].batched, token)
    request[appkeys.REQUEST_SITE] = caller.site
    await limiter.check_credential(caller.key_digest)
    return caller


async def _verify(request: web.Request, caller: SiteCaller) -> None:
    """Check a deferred key now: an unknown key is a 401 before any complaint about the request."""
    if not caller.verified:
        token = bearer(request.headers.get("Authorization"))
        await resolve_site_key(request.app[appkeys.STORE].batched, token)


async def comment_body(request: web.Request, caller: SiteCaller) -> CommentIn:
    try:
        return parse_comment(await read_json(request))
    except ProblemError:
        await _verify(request, caller)
        raise


async def moderator(request: web.Request) -> Moderator:
    limiter = request.app[appkeys.RATE_LIMITER]
    await limiter.check_ip(client_ip(request))
    header = request.headers.get("Authorization")
    if header is None and ui.SESSION_COOKIE in request.cookies:
        # The moderator's page: session cookie + CSRF header instead of a bearer token.
        mod = await ui.session_moderator(request)
    else:
        mod = await resolve_moderator(request.app[appkeys.REDIS], bearer(header))
    await limiter.check_credential(mod.key_digest)
    return mod


async def read_json(request: web.Request) -> dict[str, object]:
    refuse_declared(request, MAX_BODY_BYTES)
    require_json(request.headers.get("Content-Type"))
    return decode_object(await read_body(request, MAX_BODY_BYTES))


async def submit_comment(request: web.Request) -> web.Response:
    caller = await site_caller(request, deferred=True)
    try:
        idem = parse_idempotency_key(request.headers.get("Idempotency-Key"))
    except ProblemError:
        await _verify(request, caller)
        raise
    comment = await comment_body(request, caller)
    result = await request.app[appkeys.MODERATION].submit(caller, comment, idem)
    response = web.Response(body=result.body, status=202, content_type=JSON)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


async def check_comment(request: web.Request) -> web.Response:
    caller = await site_caller(request, deferred=True)
    comment = await comment_body(request, caller)
    body = await request.app[appkeys.MODERATION].check(caller, comment)
    return web.Response(body=body, status=200, content_type=JSON)


async def get_comment(request: web.Request) -> web.Response:
    caller = await site_caller(request)
    view = await request.app[appkeys.MODERATION].get_for_site(caller, request.match_info["comment_id"])
    return _json(view)


async def forget_author(request: web.Request) -> web.Response:
    caller = await site_caller(request)
    email = parse_forget(await read_json(request))
    # The audit names the credential by a short digest prefix, never the key.
    by = "api-key:" + caller.key_digest[:12]
    return _json(await request.app[appkeys.RETENTION].forget(caller.site, email, by=by))


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return 50
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_PAGE:
        raise ValidationFailed(
            "invalid limit",
            errors=[FieldError("limit", "range", f"limit must be an integer from 1 to {MAX_PAGE}")],
        )
    return value


async def review_queue(request: web.Request) -> web.Response:
    mod = await moderator(request)
    query = request.query
    site = query.get("site")
    if not site:
        raise ValidationFailed("site is required", errors=[FieldError("site", "required", "site is required")])
    status = parse_status(query.get("status"))
    limit = _limit(query.get("limit"))
    order = query.get("order", "desc")
    if order not in {"asc", "desc"}:
        raise ValidationFailed(
            "invalid order", errors=[FieldError("order", "invalid", "order must be asc or desc")]
        )
    cursor = query.get("cursor") or None
    if cursor is not None and (len(cursor) > 64 or not cursor.isalnum()):
        raise ValidationFailed("invalid cursor", errors=[FieldError("cursor", "invalid", "cursor is malformed")])
    page = await request.app[appkeys.MODERATION].queue(mod, site, status, limit, cursor, order == "desc")
    return _json(page)


async def claim(request: web.Request) -> web.Response:
    mod = await moderator(request)
    body = parse_claim(await read_json(request))
    return _json(await request.app[appkeys.MODERATION].claim(mod, body.site, body.count))


async def decision(request: web.Request) -> web.Response:
    mod = await moderator(request)
    body = parse_decision(await read_json(request))
    # Kept in the comment's history: the moderator's page signs in with a session cookie.
    via = "page" if request.headers.get("Authorization") is None else "api"
    view = await request.app[appkeys.MODERATION].decide(
        mod, request.match_info["comment_id"], body, body.site, via=via
    )
    return _json(view)


async def webhook_test(request: web.Request) -> web.Response:
    """Send the calling site's webhook one signed test event now and report what happened."""
    caller = await site_caller(request)
    nonce = parse_webhook_test(await read_json(request))
    settings = request.app[appkeys.SETTINGS]
    # Its own short-lived session: the delivery task's may not exist (MODERATION_WEBHOOK_POLL_SECONDS=0),
    # and a test is one request. The resolver refuses private addresses like every delivery's.
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(allow_private=settings.webhook_allow_private))
    async with aiohttp.ClientSession(connector=connector) as session:
        report = await send_test(
            request.app[appkeys.REDIS], session, caller.site, nonce=nonce,
            timeout_seconds=settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private,
        )
    if report is None:
        raise Conflict(
            f"site {caller.site!r} has no webhook: set one with `moderation sites webhook {caller.site} --url …`",
            extra={"delivered": False},
        )
    return _json(report)


async def get_site_settings(request: web.Request) -> web.Response:
    mod = await moderator(request)
    return _json(await request.app[appkeys.MODERATION].rules.get(mod, request.match_info["site"]))


async def put_site_settings(request: web.Request) -> web.Response:
    mod = await moderator(request)
    body = await read_json(request)
    return _json(await request.app[appkeys.MODERATION].rules.put(mod, request.match_info["site"], body))


def _days(raw: str | None) -> int:
    if raw is None or raw == "":
        return stats.DEFAULT_DAYS
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 1 <= value <= stats.KEEP_DAYS:
        raise ValidationFailed(
            "invalid days",
            errors=[FieldError("days", "range", f"days must be an integer from 1 to {stats.KEEP_DAYS}")],
        )
    return value


async def site_stats(request: web.Request) -> web.Response:
    mod = await moderator(request)
    days = _days(request.query.get("days"))
    return _json(await request.app[appkeys.MODERATION].stats(mod, request.match_info["site"], days))


async def healthz(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready: Redis answers and a model is loaded (else 503). The body also says how this
    worker's background loops are doing: ``degraded`` when a loop, or a site in it, has not
    succeeded for STALE_PERIODS of its periods (health.py). That stays a 200: the worker
    serves requests, and taking it out of a load balancer would not fix a site's bad data.
    Which sites fail, and why, is in /metrics and the log (this answers without credentials)."""
    redis = request.app[appkeys.REDIS]
    try:
        async with asyncio.timeout(1.0):
            await redis.ping()
    except (TimeoutError, OSError, RedisError) as exc:
        raise ServiceUnavailable("redis is not reachable") from exc
    version = request.app[appkeys.BATCHER].scorer.version
    loops = {name: health.snapshot() for name, health in sorted(request.app[appkeys.LOOPS].items())}
    status = "degraded" if any(loop["status"] != "ok" for loop in loops.values()) else "ready"
    return _json({"status": status, "redis": "ok", "model_version": version, "loops": loops})


async def metrics(request: web.Request) -> web.Response:
    app = request.app
    expected = app[appkeys.SETTINGS].metrics_token
    if expected:
        presented = bearer(request.headers.get("Authorization"))
        if not hmac.compare_digest(presented.encode("utf-8", "surrogatepass"), expected.encode()):
            raise Unauthorized("unknown metrics token")
    redis = app[appkeys.REDIS]
    depth: dict[tuple[str, str], int] = {}
    sites = sorted(str(s) for s in await redis.smembers(keys.SITES))
    if sites:
        pipe = redis.pipeline(transaction=False)
        for site in sites:
            for status in keys.STATUSES:
                pipe.zcard(keys.status_index(site, status))
        values = iter(await pipe.execute())
        for site in sites:
            for status in keys.STATUSES:
                depth[(site, status)] = int(next(values))
    text = app[appkeys.METRICS].render(depth, app[appkeys.BATCHER].scorer.version)
    return web.Response(text=text, content_type="text/plain", charset="utf-8", headers={"X-Format": "0.0.4"})


async def openapi(request: web.Request) -> web.Response:
    from moderation.web.openapi import build_spec

    return _json(build_spec())


# ---------------------------------------------------------------- integrations


def _plain(answer: akismet.Answer) -> web.Response:
    return web.Response(
        text=answer.text, status=answer.status, headers=answer.headers, content_type=answer.content_type,
        charset="utf-8",
    )


async def _akismet_form(request: web.Request) -> dict[str, str]:
    refuse_declared(request, MAX_BODY_BYTES)
    # Read before any key is checked (the key is in the form): the deadline is all that
    # stops a trickled body from holding the connection.
    async with body_deadline(request):
        form = await request.post()
    return {name: value for name, value in form.items() if isinstance(value, str)}


def _akismet_key(request: web.Request, form: dict[str, str]) -> str:
    # ``key`` first: WordPress's settings screen sends the key being tried as ``key`` and the
    # stored one as ``api_key``. Clients that send neither name the key in the host name.
    return form.get("key") or form.get("api_key") or akismet.key_from_host(request.host)


async def _akismet_caller(request: web.Request, form: dict[str, str]) -> SiteCaller | None:
    limiter = request.app[appkeys.RATE_LIMITER]
    ip = client_ip(request)
    await limiter.check_ip(ip)
    presented = _akismet_key(request, form)
    # A 12-digit key has 48 bits: an address that failed too often this hour learns nothing more.
    guess = is_akismet_shaped(presented)
    if guess:
        await limiter.check_key_guesses(ip)
    try:
        caller = await resolve_akismet_key(request.app[appkeys.REDIS], presented, request.app[appkeys.AKISMET_DIGESTS])
    except Unauthorized:
        if guess:
            await limiter.failed_key_check(ip)
        return None
    request[appkeys.REQUEST_SITE] = caller.site
    await limiter.check_credential(caller.key_digest)
    return caller


async def akismet_verify_key(request: web.Request) -> web.Response:
    caller = await _akismet_caller(request, await _akismet_form(request))
    return _plain(akismet.Answer("valid") if caller else akismet.invalid_key())


async def akismet_comment_check(request: web.Request) -> web.Response:
    form = await _akismet_form(request)
    caller = await _akismet_caller(request, form)
    if caller is None:
        return _plain(akismet.invalid_key())
    return _plain(await akismet.comment_check(request.app[appkeys.MODERATION], caller, form))


async def _akismet_submit(request: web.Request, spam: bool) -> web.Response:
    form = await _akismet_form(request)
    caller = await _akismet_caller(request, form)
    if caller is None:
        return _plain(akismet.invalid_key())
    return _plain(await akismet.submit(request.app[appkeys.MODERATION], caller, form, spam=spam))


async def akismet_submit_spam(request: web.Request) -> web.Response:
    return await _akismet_submit(request, spam=True)


async def akismet_submit_ham(request: web.Request) -> web.Response:
    return await _akismet_submit(request, spam=False)


async def akismet_test(request: web.Request) -> web.Response:
    """The connectivity check of Akismet's settings screen (no key involved)."""
    await request.app[appkeys.RATE_LIMITER].check_ip(client_ip(request))
    return _plain(akismet.connectivity())


async def akismet_get_subscription(request: web.Request) -> web.Response:
    caller = await _akismet_caller(request, await _akismet_form(request))
    if caller is None:
        return _plain(akismet.invalid_key())
    return _plain(await akismet.subscription(request.app[appkeys.MODERATION], caller))


async def akismet_get_stats(request: web.Request) -> web.Response:
    form = await _akismet_form(request)
    caller = await _akismet_caller(request, form)
    if caller is None:
        return _plain(akismet.invalid_key())
    return _plain(await akismet.stats(request.app[appkeys.MODERATION], caller, form))


async def akismet_usage_limit(request: web.Request) -> web.Response:
    caller = await _akismet_caller(request, await _akismet_form(request))
    if caller is None:
        return _plain(akismet.invalid_key())
    return _plain(await akismet.usage_limit(request.app[appkeys.MODERATION], caller))


async def coral_moderate(request: web.Request) -> web.Response:
    refuse_declared(request, MAX_BODY_BYTES)
    await request.app[appkeys.RATE_LIMITER].check_ip(client_ip(request))
    # The signature covers the body, so it is read before anything is authenticated.
    body = await read_body(request, MAX_BODY_BYTES)
    site = request.match_info["site"]
    await coral.authenticate(request.app[appkeys.REDIS], site, request.headers.get(coral.SIGNATURE_HEADER), body)
    answer = await coral.moderate(request.app[appkeys.MODERATION], site, decode_object(body))
    if answer.body is None:
        return web.Response(status=204)
    return _json(answer.body)
