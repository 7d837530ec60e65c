"""Background tasks of the web app, each an aiohttp cleanup context (aiohttp's
background-task pattern: create the task, yield, stop it, await it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from service.core.egress import GuardedResolver
from service.moderation.webhooks import Deliverer, stop_task, wait_or_stop
from service.store.comments import REDIS_UNAVAILABLE
from service.web import appkeys

log = logging.getLogger("moderation.webhooks")
retention_log = logging.getLogger("moderation.retention")


async def webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    """The background delivery task (aiohttp's background-task pattern)."""
    settings = app[appkeys.SETTINGS]
    if settings.webhook_poll_seconds <= 0:
        yield
        return
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
        except REDIS_UNAVAILABLE as exc:
            # Redis down: events are safe in Redis; try again after a pause.
            log.warning("webhook delivery paused, redis unavailable: %s", type(exc).__name__)
            await wait_or_stop(stop, max(poll_seconds, 1.0))


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """Every worker sweeps every site each retention_sweep_seconds; the per-site lock makes
    one of them do a site's work at a time (service/moderation/retention.py)."""
    settings = app[appkeys.SETTINGS]
    if settings.retention_sweep_seconds <= 0:
        yield
        return
    retention = app[appkeys.RETENTION]

    async def sweep() -> None:
        while not stop.is_set():
            try:
                await retention.sweep_all()
            except REDIS_UNAVAILABLE as exc:
                retention_log.warning("retention sweep paused, redis unavailable: %s", type(exc).__name__)
            except OSError as exc:  # the archive's disk: nothing was removed without being written
                retention_log.error("retention sweep stopped for this round, archive not writable: %s", exc)
            await wait_or_stop(stop, settings.retention_sweep_seconds)

    stop = asyncio.Event()
    task = asyncio.create_task(sweep())
    yield
    await stop_task(task, stop, settings.redis_timeout_seconds + 1)
