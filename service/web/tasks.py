"""Background tasks of the web app, each an aiohttp cleanup context (aiohttp's
background-task pattern: create the task, yield, stop it, await it).

Each loop is supervised the way arq supervises jobs (service/core/health.py): a site's
failure is that site's, logged once, counted and retried with backoff while the other
sites go on; a failure of the loop itself (Redis down or out of memory) is retried with
backoff too. Nothing here ends before the app stops, so nothing needs a restart; the
loops' health is in /readyz and /metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from moderation.core.egress import GuardedResolver
from moderation.core.health import LoopHealth
from moderation.moderation.webhooks import Deliverer, stop_task, wait_or_stop
from moderation.web import appkeys

log = logging.getLogger("moderation.webhooks")
retention_log = logging.getLogger("moderation.retention")


def loop_health(app: web.Application, name: str, period: float, logger: logging.Logger) -> LoopHealth:
    settings = app[appkeys.SETTINGS]
    health = LoopHealth(
        name, period, metrics=app[appkeys.METRICS], backoff_max_seconds=settings.loop_backoff_max_seconds,
        logger=logger,
    )
    app[appkeys.LOOPS][name] = health
    return health


async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    """The background delivery task (aiohttp's background-task pattern)."""
    settings = app[appkeys.SETTINGS]
    if settings.webhook_poll_seconds <= 0:
        yield
        return
    health = loop_health(app, "webhooks", settings.webhook_poll_seconds, log)
    # The resolver refuses names that resolve to private addresses at connect time, so the
    # connection only goes where check_target looked (no DNS-rebinding window). No
    # connection cap: each site is bounded by DELIVERY_BATCH, and a shared cap would let
    # slow receivers hold every slot.
    connector = aiohttp.TCPConnector(limit=0, resolver=GuardedResolver(allow_private=settings.webhook_allow_private))
    session = aiohttp.ClientSession(connector=connector)
    deliverer = Deliverer(
        app[appkeys.REDIS],
        session,
        max_attempts=settings.webhook_max_attempts,
        backoff_seconds=settings.webhook_backoff_seconds,
        backoff_max_seconds=settings.webhook_backoff_max_seconds,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_allow_private,
        health=health,
        metrics=app[appkeys.METRICS],
    )
    stop = asyncio.Event()
    task = asyncio.create_task(_supervised(deliverer, settings.webhook_poll_seconds, stop))
    yield
    # A delivery in flight may finish (bounded by the receiver timeout), so it is not resent.
    await stop_task(task, stop, settings.webhook_timeout_seconds + 1)
    await session.close()


async def _supervised(deliverer: Deliverer, poll_seconds: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await deliverer.run(poll_seconds, stop)
        except Exception as exc:  # run() records and survives everything; this is the last guard
            await wait_or_stop(stop, deliverer.health.loop_failed(exc))


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every worker sweeps every site each retention_sweep_seconds; the per-site lock makes
    one of them do a site's work at a time (service/moderation/retention.py)."""
    settings = app[appkeys.SETTINGS]
    if settings.retention_sweep_seconds <= 0:
        yield
        return
    retention = app[appkeys.RETENTION]
    health = loop_health(app, "retention", settings.retention_sweep_seconds, retention_log)

    async def sweep() -> None:
        while not stop.is_set():
            try:
                # Each site on its own: its failures are recorded in health and retried
                # with backoff, the other sites are swept meanwhile.
                await retention.sweep_all(health=health)
            except Exception as exc:  # the site list could not be read (Redis down, ...): try again
                await wait_or_stop(stop, health.loop_failed(exc))
                continue
            health.loop_ok()
            await wait_or_stop(stop, settings.retention_sweep_seconds)

    stop = asyncio.Event()
    task = asyncio.create_task(sweep())
    yield
    await stop_task(task, stop, settings.redis_timeout_seconds + 1)
