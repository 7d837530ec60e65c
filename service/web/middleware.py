"""Error mapping, metrics and response headers for every request."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from redis.exceptions import ClusterDownError, RedisClusterException, SlotNotCoveredError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.core.errors import (
    PROBLEM_CONTENT_TYPE,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
)
from service.web import appkeys

log = logging.getLogger("moderation.http")

# Redis Cluster's ways of saying "not now": a failover in progress (CLUSTERDOWN,
# MASTERDOWN), a slot being migrated (TRYAGAIN), a slot without a reachable owner.
CLUSTER_UNAVAILABLE = (ClusterDownError, TryAgainError, SlotNotCoveredError)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem_response(error: ProblemError) -> web.Response:
    import msgspec

    return web.Response(
        status=error.status,
        body=msgspec.json.encode(error.body()),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=error.headers,
    )


def _route_name(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "unmatched"


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
    except (RedisConnectionError, RedisTimeoutError, *CLUSTER_UNAVAILABLE) as exc:
        log.warning("redis unavailable: %s", type(exc).__name__)
        response = problem_response(ServiceUnavailable("storage is unavailable; retry shortly", 1))
    except RedisClusterException as exc:
        # The cluster client wraps "no node reachable" in its generic exception; anything
        # else of that type is a bug and stays a 500.
        if not isinstance(exc.__cause__, (RedisConnectionError, RedisTimeoutError, OSError)):
            raise
        log.warning("redis cluster unreachable: %s", type(exc.__cause__).__name__)
        response = problem_response(ServiceUnavailable("storage is unavailable; retry shortly", 1))
    metrics = request.app.get(appkeys.METRICS)
    if metrics is not None:
        metrics.observe(request.method, _route_name(request), response.status, time.perf_counter() - started)
    return response
