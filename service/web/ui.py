"""The moderator's page: sign-in sessions, CSRF checks, the page and its security headers.

A session is a random id in an HttpOnly, SameSite=Strict cookie; Redis holds only the
id's SHA-256 digest, mapped to the moderator token's digest and a per-session CSRF token,
with a TTL. The moderator token itself is never stored and never travels again after
sign-in. Every request re-resolves the token digest, so revoking a moderator ends their
sessions on the next request. State-changing requests made with the cookie must carry
the session's CSRF token in ``X-CSRF-Token`` and must not come from another origin.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from aiohttp import web

from moderation.core.errors import CsrfFailed, FieldErrors, Unauthorized
from moderation.core.schemas import decode_object, require_json
from moderation.store import keys
from moderation.store.auth import Moderator, digest, moderator_by_digest, resolve_moderator
from moderation.web import appkeys
from moderation.web.bodies import read_body, refuse_declared
from moderation.web.client import client_ip
from moderation.web.hardening import SERVER_NAME

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_FILE = STATIC_DIR / "moderate.html"
SESSION_COOKIE = "mod_session"
CSRF_HEADER = "X-CSRF-Token"
# A sign-in body holds one ~46-character token; anything bigger is not a sign-in.
MAX_LOGIN_BODY_BYTES = 4096
# Moderator tokens are "mt-" + 43 characters; allow headroom but refuse junk early.
MAX_TOKEN_CHARS = 200
SESSION_ID_BYTES = 32
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# No inline script or style anywhere: every script and stylesheet is a file under /static.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# JSON and problem replies are never meant to be rendered or framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'"


class SessionRecord(msgspec.Struct, frozen=True):
    token_digest: str
    name: str
    csrf: str


def _same_origin(request: web.Request) -> None:
    """Refuse requests a browser marks as coming from another site (defence beside SameSite)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in {"same-origin", "none"}:
        raise CsrfFailed("cross-site requests are refused")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise CsrfFailed("the Origin header does not match this service")


def _check_csrf(request: web.Request, record: SessionRecord) -> None:
    _same_origin(request)
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), record.csrf.encode()):
        raise CsrfFailed(f"send the session's CSRF token in the {CSRF_HEADER} header")


async def _session(request: web.Request) -> tuple[str, SessionRecord] | None:
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid or len(sid) > 128:
        return None
    key = keys.session(digest(sid))
    raw = await request.app[appkeys.REDIS].get(key)
    if raw is None:
        return None
    return key, msgspec.json.decode(raw, type=SessionRecord)


async def session_moderator(request: web.Request) -> Moderator:
    """The moderator behind the session cookie; CSRF-checked for state-changing methods."""
    found = await _session(request)
    if found is None:
        raise Unauthorized("no session: sign in at /moderate or send Authorization: Bearer <token>")
    key, record = found
    if request.method not in SAFE_METHODS:
        _check_csrf(request, record)
    redis = request.app[appkeys.REDIS]
    try:
        return await moderator_by_digest(redis, record.token_digest)
    except Unauthorized:
        await redis.delete(key)  # the token was revoked: the session dies with it
        raise Unauthorized("the moderator token behind this session was revoked") from None


def _session_view(request: web.Request, mod: Moderator, csrf: str) -> dict[str, Any]:
    settings = request.app[appkeys.SETTINGS]
    return {
        "moderator": mod.name,
        "sites": sorted(mod.sites),
        "csrf_token": csrf,
        "undo_seconds": settings.ui_undo_seconds,
        "poll_seconds": settings.ui_poll_seconds,
        "lease_seconds": settings.lease_seconds,
    }


def _json(data: object, status: int = 200) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(data),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def favicon(request: web.Request) -> web.FileResponse:
    # Browsers ask for /favicon.ico on any page of the host, API replies included.
    return web.FileResponse(
        STATIC_DIR / "favicon.ico", headers={"Cache-Control": "max-age=86400", "Content-Type": "image/x-icon"}
    )


async def page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE_FILE, headers={"Cache-Control": "no-cache"})


async def session_info(request: web.Request) -> web.Response:
    """The signed-in moderator; 204 when there is no session.

    The page asks this on every load, before anyone has signed in: "no session" is its
    ordinary answer there, not an error (a 401 would be logged in the browser's console as a
    failed request on every visit). A session whose token was revoked is still a 401.
    """
    found = await _session(request)
    if found is None:
        return web.Response(status=204, headers={"Cache-Control": "no-store"})
    key, record = found
    redis = request.app[appkeys.REDIS]
    try:
        mod = await moderator_by_digest(redis, record.token_digest)
    except Unauthorized:
        await redis.delete(key)
        raise
    return _json(_session_view(request, mod, record.csrf))


async def login(request: web.Request) -> web.Response:
    """Exchange a moderator token for a session cookie. JSON only, so a cross-site form cannot post it."""

    _same_origin(request)
    # Sign-in attempts spend the same per-IP budget as API calls, so guessing tokens here costs too.
    await request.app[appkeys.RATE_LIMITER].check_ip(client_ip(request))
    refuse_declared(request, MAX_LOGIN_BODY_BYTES)
    require_json(request.headers.get("Content-Type"))
    # To its end: a body split over several TCP segments is still one sign-in.
    body = await read_body(request, MAX_LOGIN_BODY_BYTES)
    token = decode_object(body).get("token")
    if not isinstance(token, str) or not token.strip() or len(token) > MAX_TOKEN_CHARS:
        errors = FieldErrors()
        errors.add("token", "required", "token must be a moderator token (mt-...)")
        errors.raise_if_any()
    assert isinstance(token, str)
    redis = request.app[appkeys.REDIS]
    mod = await resolve_moderator(redis, token.strip())
    old = await _session(request)
    if old is not None:  # a new sign-in never reuses a session id (no fixation)
        await redis.delete(old[0])
    sid = secrets.token_urlsafe(SESSION_ID_BYTES)
    csrf = secrets.token_urlsafe(SESSION_ID_BYTES)
    ttl = request.app[appkeys.SETTINGS].session_seconds
    record = SessionRecord(token_digest=mod.key_digest, name=mod.name, csrf=csrf)
    await redis.set(keys.session(digest(sid)), msgspec.json.encode(record), ex=ttl)
    response = _json(_session_view(request, mod, csrf), status=201)
    response.set_cookie(
        SESSION_COOKIE, sid, max_age=ttl, path="/", httponly=True, samesite="Strict", secure=_https(request)
    )
    return response


def _https(request: web.Request) -> bool:
    # Behind our own TLS-terminating proxy (trusted as for X-Forwarded-For) the hop to us is plain HTTP.
    if request.secure:
        return True
    trusted = request.app[appkeys.SETTINGS].trust_forwarded_for
    return trusted and request.headers.get("X-Forwarded-Proto", "").lower() == "https"


async def logout(request: web.Request) -> web.Response:
    found = await _session(request)
    if found is not None:
        key, record = found
        _check_csrf(request, record)
        await request.app[appkeys.REDIS].delete(key)
    response = web.Response(status=204, headers={"Cache-Control": "no-store"})
    response.del_cookie(SESSION_COOKIE, path="/", samesite="Strict", secure=_https(request), httponly=True)
    return response


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: nosniff everywhere; the page and its files get the strict CSP;
    no versions in ``Server``; nothing but the page and its files may be stored by a cache."""
    headers = response.headers
    headers["Server"] = SERVER_NAME
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if not (request.path == "/moderate" or request.path.startswith("/static/")):
        # API replies carry authors' emails and IPs, tokens' sessions, per-site settings:
        # no shared or browser cache may keep them (problem replies included).
        headers.setdefault("Cache-Control", "no-store")
    if request.path == "/moderate" or request.path.startswith(("/moderate/", "/static/")):
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    else:
        headers.setdefault("Content-Security-Policy", API_CSP)
