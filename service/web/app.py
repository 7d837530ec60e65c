"""The application factory and the lifetimes of its resources."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from aiohttp import web
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from moderation.core.health import LoopHealth
from moderation.core.metrics import Metrics
from moderation.core.schemas import MAX_BODY_BYTES
from moderation.core.settings import Settings
from moderation.moderation.archive import Archive
from moderation.moderation.operations import Moderation
from moderation.moderation.reputation import Reputation
from moderation.moderation.retention import Retention
from moderation.moderation.webhooks import stop_task, wait_or_stop
from moderation.scoring.batcher import Batcher
from moderation.scoring.scorer import Scorer
from moderation.scoring.submission import public_suffix_list
from moderation.store import keys
from moderation.store.auth import KeyDigests
from moderation.store.comments import REDIS_UNAVAILABLE, Store
from moderation.store.ratelimit import RateLimiter
from moderation.web import appkeys
from moderation.web.hardening import quiet_server
from moderation.web.middleware import problems_middleware
from moderation.web.routes import setup_routes
from moderation.web.tasks import retention_ctx, webhooks_ctx
from moderation.web.ui import security_headers

log = logging.getLogger("moderation")
# Redis unreachable, or answering with an error (out of memory): start-up goes on without it.
_REDIS_ERRORS: tuple[type[Exception], ...] = (*REDIS_UNAVAILABLE, RedisError)


def make_redis(settings: Settings) -> Redis:
    # Fail fast: a request waits at most redis_timeout_seconds for storage, then gets a
    # 503 with Retry-After instead of hanging; the pool reconnects on the next request.
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": settings.redis_timeout_seconds,
        "socket_connect_timeout": settings.redis_timeout_seconds,
        "retry": Retry(NoBackoff(), 0),
    }
    if settings.redis_cluster:
        return RedisCluster.from_url(settings.redis_url, **common)  # type: ignore[return-value]
    return Redis.from_url(settings.redis_url, health_check_interval=30, **common)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    client = make_redis(app[appkeys.SETTINGS])
    app[appkeys.REDIS] = client
    yield
    await client.aclose()


async def model_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    scorer = app.get(_PRELOADED) or Scorer.load(settings.models_dir)
    batcher = Batcher(
        scorer, max_size=settings.batch_max_size, max_wait_ms=settings.batch_max_wait_ms, metrics=app[appkeys.METRICS]
    )
    app[appkeys.BATCHER] = batcher
    loop = asyncio.get_running_loop()
    reloads: set[asyncio.Task[None]] = set()

    async def reload() -> None:
        # Load off the event loop; in-flight batches finish on the old model.
        try:
            fresh = await loop.run_in_executor(None, Scorer.load, settings.models_dir)
        except Exception as exc:  # a bad artifact must not take the worker down
            log.error("model reload failed, keeping %s: %s", batcher.scorer.version, exc)
            return
        batcher.swap(fresh)
        log.info("model reloaded: %s", fresh.version)

    def on_hup() -> None:
        task = loop.create_task(reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    try:
        loop.add_signal_handler(signal.SIGHUP, on_hup)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):
        installed = False
    app[_RELOAD] = reload
    yield
    if installed:
        loop.remove_signal_handler(signal.SIGHUP)
    for task in list(reloads):
        task.cancel()
    batcher.close()


async def domain_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[appkeys.SETTINGS]
    store = Store(
        app[appkeys.REDIS],
        idempotency_ttl=settings.idempotency_ttl_seconds,
        stats_utc_offset_minutes=settings.stats_utc_offset_minutes,
        replica_acks=settings.redis_replica_acks,
        replica_timeout_ms=settings.redis_replica_timeout_ms,
    )
    app[appkeys.STORE] = store
    reputation = Reputation.from_settings(store, settings)
    # The Public Suffix List is parsed once per process, off the event loop, before any request.
    await asyncio.to_thread(public_suffix_list)
    try:
        # The HMAC key before the first request (a fallback key is read from Redis); with Redis
        # down, or refusing writes (out of memory), at start-up, the first submission reads it
        # instead: a worker must start whatever state Redis is in.
        await reputation.ready()
    except _REDIS_ERRORS as exc:
        log.warning("reputation key not read at start-up (%s); the first submission reads it", type(exc).__name__)
    app[appkeys.MODERATION] = Moderation(
        store,
        app[appkeys.BATCHER],
        lease_seconds=settings.lease_seconds,
        claim_limit=settings.claim_limit,
        metrics=app[appkeys.METRICS],
        reputation=reputation,
    )
    app[appkeys.AKISMET_DIGESTS] = KeyDigests()
    app[appkeys.RATE_LIMITER] = RateLimiter(
        app[appkeys.REDIS], per_key=settings.rate_limit_per_key, per_ip=settings.rate_limit_per_ip,
        key_guesses_per_hour=settings.akismet_key_guesses_per_hour,
    )
    archive = Archive(settings.archive_dir) if settings.archive_dir is not None else None
    app[appkeys.RETENTION] = Retention(store, archive, reputation=reputation)
    yield


# How often each worker looks for a model generation bump (see keys.models_generation).
MODEL_WATCH_SECONDS = 2.0


async def model_watch_ctx(app: web.Application) -> AsyncIterator[None]:
    """Reload the models when `moderation retrain` (or anyone) bumps this models dir's
    generation counter in Redis; unlike SIGHUP it reaches every worker on every host."""

    settings = app[appkeys.SETTINGS]
    redis = app[appkeys.REDIS]
    reload = cast(Callable[[], Awaitable[None]], app[_RELOAD])
    key = keys.models_generation(str(settings.models_dir.resolve()))
    health = LoopHealth(
        "models", MODEL_WATCH_SECONDS, metrics=app[appkeys.METRICS],
        backoff_max_seconds=settings.loop_backoff_max_seconds, logger=log,
    )
    app[appkeys.LOOPS]["models"] = health

    async def watch() -> None:
        seen: object = None
        baseline = False
        while not stop.is_set():
            try:
                value = await redis.get(key)
            except Exception as exc:  # Redis down, a key of another type: keep serving the loaded model
                await wait_or_stop(stop, health.loop_failed(exc))
                continue
            health.loop_ok()
            if baseline and value != seen:
                await reload()
            seen, baseline = value, True
            await wait_or_stop(stop, MODEL_WATCH_SECONDS)

    stop = asyncio.Event()
    task = asyncio.create_task(watch())
    yield
    await stop_task(task, stop, settings.redis_timeout_seconds + 1)


_PRELOADED = web.AppKey("preloaded_scorer", Scorer)
_RELOAD = web.AppKey("reload_model", object)


def create_app(settings: Settings, *, scorer: Scorer | None = None) -> web.Application:
    """Build the service. ``scorer`` lets tests share one loaded model across apps."""
    quiet_server()
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[problems_middleware()])
    app[appkeys.SETTINGS] = settings
    app[appkeys.METRICS] = Metrics(keys.STATUSES)
    app[appkeys.LOOPS] = {}
    if scorer is not None:
        app[_PRELOADED] = scorer
    app.cleanup_ctx.append(redis_ctx)
    app.cleanup_ctx.append(model_ctx)
    app.cleanup_ctx.append(domain_ctx)
    app.cleanup_ctx.append(model_watch_ctx)
    app.cleanup_ctx.append(webhooks_ctx)
    app.cleanup_ctx.append(retention_ctx)
    setup_routes(app)
    app.on_response_prepare.append(security_headers)
    return app
