"""Running the app: one process, or N processes sharing the port (SO_REUSEPORT)."""

from __future__ import annotations

import asyncio
import collections
import errno
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from aiohttp import web

from moderation.core.logs import setup_logging
from moderation.core.metrics import MULTIPROC_ENV
from moderation.core.settings import Settings, redis_db_message, redis_where

log = logging.getLogger("moderation")


# Replacements of dead workers allowed per this window (as many as there are workers).
RESPAWN_WINDOW_SECONDS = 60.0
# A worker that cannot start with this configuration (no usable model folder) exits with
# sysexits' EX_CONFIG: a replacement would fail the same way, so the service stops instead.
EXIT_CONFIG = 78


class CannotServe(Exception):
    """A listen or Redis setting that keeps the service from starting; one line for the operator."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def check_port(host: str, port: int) -> None:
    """Refuse a port out of range or already listened on, before anything says "serving on".

    A worker would otherwise fail to bind after the announcement (one traceback per worker),
    or, for port 0, listen on a port the operator was never told.
    """
    if not 1 <= port <= 65535:
        raise CannotServe(f"port {port} is not a TCP port (1 to 65535): set --port or MODERATION_PORT", 2)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise CannotServe(f"cannot listen on {host!r}: {exc.strerror} (--host or MODERATION_HOST)", 2) from None
    for family, kind, proto, _, address in dict.fromkeys((i[0], i[1], i[2], i[3], i[4]) for i in infos):
        with socket.socket(family, kind, proto) as probe:
            # As asyncio binds it (SO_REUSEADDR: a connection of an earlier run in TIME_WAIT is
            # no conflict), but without SO_REUSEPORT, so that a running service, whose workers
            # share the port that way, is found too instead of silently sharing the port.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise CannotServe(
                        f"port {port} on {host} is already in use by another process: stop it, or choose "
                        "another port with --port or MODERATION_PORT"
                    ) from None
                raise CannotServe(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def check_redis(settings: Settings) -> str | None:
    """Refuse a Redis setting that can never work; a Redis that is only down is a warning.

    Returns the warning. The service answers 503 while Redis is unreachable and recovers
    when it is back, so an unreachable Redis does not stop it; a database number the server
    does not have, or refused credentials, would fail every request until reconfigured.
    """
    from redis.asyncio import Redis, RedisCluster
    from redis.exceptions import AuthenticationError, RedisError, ResponseError

    async def ping() -> None:
        # Not moderation.web.app's client: the serving process starts its workers without
        # importing the app (and the scoring code behind it).
        timeout = settings.redis_timeout_seconds
        if settings.redis_cluster:
            cluster = RedisCluster.from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
            try:
                await cluster.ping()
            finally:
                await cluster.aclose()
            return
        redis = Redis.from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            await redis.ping()
        finally:
            await redis.aclose()

    where = redis_where(settings.redis_url)
    try:
        asyncio.run(ping())
    except ResponseError as exc:
        if str(exc).startswith("DB index is out of range"):
            raise CannotServe(redis_db_message(settings.redis_url)) from None
        if str(exc).startswith(("NOAUTH", "WRONGPASS")):
            raise CannotServe(f"Redis at {where} refused REDIS_URL's credentials: {_first_line(exc)}") from None
        return f"Redis at {where} answered {_first_line(exc)}; serving anyway"
    except AuthenticationError as exc:
        raise CannotServe(f"Redis at {where} refused REDIS_URL's credentials: {_first_line(exc)}") from None
    except (RedisError, OSError) as exc:
        return f"Redis at {where} is not reachable ({_first_line(exc)}); serving anyway, with 503 answers until it is"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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
    from moderation.scoring.artifacts import ModelError
    from moderation.web.app import create_app

    _install_uvloop()
    setup_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    # run_app handles SIGTERM/SIGINT: it stops accepting, lets in-flight requests
    # finish within shutdown_timeout, runs cleanup contexts, and returns.
    try:
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
    except ModelError as exc:
        # The operator's mistake (MODERATION_MODELS_DIR): one line, not a traceback per worker.
        print(f"moderation: cannot load the model: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIG) from None


def _metrics_folder(workers: int) -> Path | None:
    """Prepare prometheus_client's multiprocess folder; returns one this run made (to remove).

    Set before any worker starts (workers inherit the environment, and prometheus_client reads
    it on import). Values left from an earlier run would be added to this one's, so *.db files
    in a folder the operator named are removed first, as prometheus_client asks.
    """
    named = os.environ.get(MULTIPROC_ENV)
    if named:
        folder = Path(named)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return None
    if workers == 1:
        return None  # one process: values in memory
    made = Path(tempfile.mkdtemp(prefix="moderation-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)
    return made


def _metrics_process_dead(pid: int | None) -> None:
    """Drop a dead worker's "live" gauges (the background loops' health) from the scrape."""
    if pid is None or not os.environ.get(MULTIPROC_ENV):
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]  # untyped upstream


def serve(settings: Settings) -> int:
    """Check the listen address and Redis, announce, serve. Raises CannotServe (nothing started)."""
    check_port(settings.host, settings.port)
    warning = check_redis(settings)
    if warning:
        print(f"moderation: {warning}", file=sys.stderr, flush=True)
    workers = max(1, settings.workers)
    made = _metrics_folder(workers)
    try:
        return _serve(settings, workers)
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _serve(settings: Settings, workers: int) -> int:
    print(f"moderation: serving on http://{settings.host}:{settings.port} with {workers} worker(s)", flush=True)
    if workers == 1:
        run_worker(settings, reuse_port=False)
        return 0
    ctx = multiprocessing.get_context("spawn")
    stopping = False
    respawns: collections.deque[float] = collections.deque(maxlen=workers)

    def start() -> BaseProcess:
        proc = ctx.Process(target=run_worker, args=(settings, True), daemon=False)
        proc.start()
        return proc

    procs = [start() for _ in range(workers)]

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        if signum != signal.SIGHUP:
            stopping = True
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)
    code = 0
    while procs:
        ended = multiprocessing.connection.wait([p.sentinel for p in procs])
        for proc in [p for p in procs if p.sentinel in ended]:
            proc.join()
            procs.remove(proc)
            _metrics_process_dead(proc.pid)
            if proc.exitcode in (0, -signal.SIGTERM, -signal.SIGINT) or stopping:
                continue
            if proc.exitcode == EXIT_CONFIG:
                stopping, code = True, 1
                for other in procs:
                    if other.pid is not None and other.is_alive():
                        os.kill(other.pid, signal.SIGTERM)
                continue
            # A worker that died on its own (OOM killer, a crash) is replaced so the port keeps
            # its capacity; its leases and unacknowledged requests are safe in Redis. If all
            # `workers` replacements happened within a minute, something is wrong at start-up:
            # stop replacing rather than spin.
            now = time.monotonic()
            if len(respawns) == respawns.maxlen and now - respawns[0] < RESPAWN_WINDOW_SECONDS:
                log.error("worker %s exited with %s; too many restarts, not replacing it", proc.pid, proc.exitcode)
                code = 1
                continue
            respawns.append(now)
            log.warning("worker %s exited with %s; starting a replacement", proc.pid, proc.exitcode)
            procs.append(start())
    return code


if __name__ == "__main__":  # pragma: no cover
    try:
        sys.exit(serve(Settings.from_env()))
    except CannotServe as exc:
        sys.exit(f"moderation: {exc}")
