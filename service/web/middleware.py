"""Error mapping, metrics, the access log and response headers for every request.

Every error is a problem document (RFC 9457). Redis answering an error — unreachable, out
of memory (``OOM command not allowed``), a key of the wrong type — is a 503 with
``Retry-After``, logged as one line without a traceback; anything else unexpected is a 500
problem, whose traceback is logged once per route and exception type (then one line each).

The access log (logger ``moderation.access``) has one line per request: method, the route
pattern (``/v1/review/{comment_id}/decision``, never the path with its ids), status,
duration and the site when the request names one. Never a key, a token, an email, a name,
an IP address or comment text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web
from aiohttp.typedefs import Middleware
from redis.exceptions import ClusterDownError, RedisClusterException, RedisError, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from moderation.core.errors import (
    PROBLEM_CONTENT_TYPE,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
)
from moderation.core.health import describe
from moderation.store.auth import SITE_ID_RE
from moderation.web import appkeys

log = logging.getLogger("moderation.http")
access_log = logging.getLogger("moderation.access")

# Redis Cluster's ways of saying "not now": a failover in progress (CLUSTERDOWN,
# MASTERDOWN), a slot being migrated (TRYAGAIN), a slot without a reachable owner.
CLUSTER_UNAVAILABLE = (ClusterDownError, TryAgainError, SlotNotCoveredError)
# Redis refused a command (out of memory, a key of the wrong type): retry after this long.
REDIS_ERROR_RETRY_SECONDS = 2
# Distinct (route, exception type) pairs whose traceback was logged; beyond this, one line each.
MAX_TRACEBACKS = 256

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(error: ProblemError) -> web.Response:
    return web.Response(
        status=error.status,
        body=msgspec.json.encode(error.body()),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=error.headers,
    )


def _route_name(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


def _site(request: web.Request) -> str:
    """The site the request is about, when it names one (a verified caller, the path, the query)."""
    site = request.get(appkeys.REQUEST_SITE) or request.match_info.get("site") or request.query.get("site") or ""
    return site if SITE_ID_RE.match(site) else "-"


def _unavailable(request: web.Request, what: str, exc: BaseException) -> web.Response:
    log.warning("%s on %s %s: %s", what, request.method, _route_name(request), describe(exc))
    return problem_response(ServiceUnavailable("storage is unavailable; retry shortly", 1))


def problems_middleware() -> Middleware:
    traced: set[tuple[str, str]] = set()

    def internal(request: web.Request, exc: Exception) -> web.Response:
        route = _route_name(request)
        key = (route, type(exc).__name__)
        if key not in traced and len(traced) < MAX_TRACEBACKS:
            traced.add(key)
            log.error("unexpected error on %s %s: %s", request.method, route, describe(exc), exc_info=exc)
        else:
            log.error("unexpected error on %s %s: %s (traceback logged before)", request.method, route, describe(exc))
        return problem_response(InternalError("an unexpected error happened; it was logged"))

    @web.middleware
    async def problems(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except ProblemError as exc:
            response = problem_response(exc)
        except web.HTTPRequestEntityTooLarge:
            response = problem_response(PayloadTooLarge("the request body is too large"))
        except web.HTTPNotFound:
            response = problem_response(NotFound(f"no route for {request.path}"))
        except web.HTTPMethodNotAllowed as exc:
            response = problem_response(MethodNotAllowed(f"{request.method} is not allowed here"))
            response.headers["Allow"] = ",".join(sorted(exc.allowed_methods))
        except web.HTTPException as exc:
            _finish(request, exc.status, started)
            raise
        except (RedisConnectionError, RedisTimeoutError, *CLUSTER_UNAVAILABLE) as exc:
            response = _unavailable(request, "redis unavailable", exc)
        except RedisClusterException as exc:
            # The cluster client wraps "no node reachable" in its generic exception; anything
            # else of that type is a bug.
            if isinstance(exc.__cause__, (RedisConnectionError, RedisTimeoutError, OSError)):
                response = _unavailable(request, "redis cluster unreachable", exc.__cause__)
            else:
                response = internal(request, exc)
        except RedisError as exc:
            # Redis answered with an error: out of memory, a key of the wrong type, a script
            # error. The request did not happen; a retry may succeed once it is fixed.
            log.warning("redis refused on %s %s: %s", request.method, _route_name(request), describe(exc))
            response = problem_response(
                ServiceUnavailable("storage refused the operation; retry shortly", REDIS_ERROR_RETRY_SECONDS)
            )
        except Exception as exc:  # the last guard: a problem document, not a plain-text 500
            response = internal(request, exc)
        _finish(request, response.status, started)
        return response

    return problems


def _finish(request: web.Request, status: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    route = _route_name(request)
    metrics = request.app.get(appkeys.METRICS)
    if metrics is not None:
        metrics.observe(request.method, route, status, elapsed)
    if access_log.isEnabledFor(logging.INFO):
        site = _site(request)
        ms = round(elapsed * 1000, 1)
        access_log.info(
            "%s %s %d %.1fms site=%s", request.method, route, status, ms, site,
            extra={"fields": {"method": request.method, "route": route, "status": status, "ms": ms, "site": site}},
        )
