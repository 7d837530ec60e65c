"""Running the app: one process, or N processes sharing the port (SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
from typing import Any

from aiohttp import web

from service.settings import Settings

log = logging.getLogger("moderation")


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def server_options(settings: Settings) -> dict[str, Any]:
    """Connection-level limits, shared by run_app and the tests' servers."""
    # aiohttp closes a connection that has not sent a complete request head within the
    # keep-alive timeout (it arms it at connection start), which bounds slow-header clients.
    # After an early answer (413, 408) it keeps reading and discarding the unread body for
    # the lingering time before it closes; the same bound applies there.
    return {
        "keepalive_timeout": settings.client_timeout_seconds,
        "lingering_time": settings.client_timeout_seconds,
    }


def run_worker(settings: Settings, reuse_port: bool) -> None:
    from service.app import create_app

    _install_uvloop()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
    )
    app = create_app(settings)
    # run_app handles SIGTERM/SIGINT: it stops accepting, lets in-flight requests
    # finish within shutdown_timeout, runs cleanup contexts, and returns.
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        reuse_port=reuse_port,
        access_log=None,
        print=None,
        shutdown_timeout=10.0,
        handle_signals=True,
        **server_options(settings),
    )


def serve(settings: Settings) -> int:
    workers = max(1, settings.workers)
    print(f"moderation: serving on http://{settings.host}:{settings.port} with {workers} worker(s)", flush=True)
    if workers == 1:
        run_worker(settings, reuse_port=False)
        return 0
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=run_worker, args=(settings, True), daemon=False) for _ in range(workers)]
    for proc in procs:
        proc.start()

    def forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)
    code = 0
    for proc in procs:
        proc.join()
        if proc.exitcode not in (0, -signal.SIGTERM, -signal.SIGINT):
            code = 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(serve(Settings.from_env()))
