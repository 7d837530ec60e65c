"""Redis calls made by concurrent requests in one event-loop turn, sent as one pipeline.

Under load, requests move in step: the scoring batcher resolves a whole batch at once, so
a dozen submit scripts are issued in the same loop turn, and so on for the checks before.
Sent one by one, each is a write and a read on its own connection — on loopback the
kernel's TCP work for every write runs on our CPU and on Redis's, which share the same
cores. Queued until the end of the turn and sent as one non-transactional pipeline, they
cost one write and one read for all of them (what ioredis calls auto-pipelining).

Each command keeps its own semantics: a Lua script is still atomic, and commands of
different requests never needed an order between them. A lone call (light load) goes out
straight away as before, so nothing waits that would not have waited anyway.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import ConnectionPool
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

try:  # hiredis packs commands in C; redis-py's asyncio packer is Python
    from hiredis import pack_command
except ImportError:  # pragma: no cover - hiredis is a dependency (redis[hiredis])
    pack_command = None  # type: ignore[assignment]

# Enough to amortise the round trip; bounded so one reply never holds a huge batch.
MAX_PIPELINE = 128

_REDIS_PACKAGE = f"{os.sep}redis{os.sep}"


def connection_lost(exc: Exception) -> Exception:
    """*exc*, or a ConnectionError when it is redis-py's own AttributeError of a torn-down
    connection.

    redis-py's cluster client disconnects a node's connections when a failover changes the
    topology, also one another task is writing on at that moment; that write then fails with
    ``'NoneType' object has no attribute 'writelines'`` instead of a ConnectionError (redis-py
    8.1.0; seen in tests/test_cluster.py's master-kill test under load, as a 500). Only an
    AttributeError raised inside the redis package is converted: one of ours stays a bug.
    """
    if not isinstance(exc, AttributeError):
        return exc
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None or _REDIS_PACKAGE not in tb.tb_frame.f_code.co_filename:
        return exc
    lost = RedisConnectionError("connection closed while in use (cluster topology change)")
    lost.__cause__ = exc
    return lost


class AutoPipeline:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._queue: list[tuple[tuple[Any, ...], AsyncScript | None, asyncio.Future[Any]]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.pipelines = 0
        self.commands = 0

    def script(self, script: AsyncScript, keys: list[Any], args: list[Any]) -> asyncio.Future[Any]:
        """EVALSHA ``script``; falls back to EVAL semantics (load and retry) on NOSCRIPT."""
        return self._enqueue(("EVALSHA", script.sha, len(keys), *keys, *args), script)

    def command(self, *args: Any) -> asyncio.Future[Any]:
        return self._enqueue(args, None)

    def hget(self, name: str, key: str) -> asyncio.Future[Any]:
        return self.command("HGET", name, key)

    def _enqueue(self, args: tuple[Any, ...], script: AsyncScript | None) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)
        self._queue.append((args, script, future))
        return future

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        for start in range(0, len(queue), MAX_PIPELINE):
            task = asyncio.get_running_loop().create_task(self._send(queue[start : start + MAX_PIPELINE]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send(self, batch: list[tuple[tuple[Any, ...], AsyncScript | None, asyncio.Future[Any]]]) -> None:
        self.pipelines += 1
        self.commands += len(batch)
        if len(batch) == 1:
            args, script, future = batch[0]
            await self._one(args, script, future)
            return
        try:
            results = await self._round_trip([args for args, _, _ in batch])
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # connection-level failure: every caller sees it (503 upstream)
            failure = connection_lost(exc)
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        retries = []
        for (args, script, future), result in zip(batch, results, strict=True):
            if isinstance(result, NoScriptError) and script is not None:
                retries.append(self._one(args, script, future))
            elif future.done():
                continue
            elif isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)
        if retries:  # Redis restarted or flushed its script cache: load and run one by one
            await asyncio.gather(*retries)

    async def _round_trip(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        """Send ``commands`` in one write and read their replies; errors come back in place."""
        pool = getattr(self.redis, "connection_pool", None)
        if pack_command is None or not isinstance(pool, ConnectionPool):  # e.g. a cluster client
            pipe = self.redis.pipeline(transaction=False)
            for args in commands:
                pipe.execute_command(*args)
            return list(await pipe.execute(raise_on_error=False))
        # What redis-py's pipeline does, without its per-command bookkeeping and Python
        # packer (a third of a submission's Redis-client CPU for ~2 KB script arguments).
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command(b"".join([pack_command(args) for args in commands]))
            results: list[Any] = []
            for _ in commands:
                try:
                    results.append(await connection.read_response())
                except ResponseError as exc:
                    results.append(exc)
        except BaseException:
            # Replies may be left unread on the socket: never hand it to the next caller.
            await connection.disconnect(nowait=True)
            raise
        finally:
            await pool.release(connection)
        return results

    async def _one(self, args: tuple[Any, ...], script: AsyncScript | None, future: asyncio.Future[Any]) -> None:
        try:
            if script is not None:
                n = int(args[2])
                result = await script(keys=list(args[3 : 3 + n]), args=list(args[3 + n :]))
            else:
                result = await self.redis.execute_command(*args)  # type: ignore[no-untyped-call]
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            if not future.done():
                future.set_exception(connection_lost(exc))
            return
        if not future.done():
            future.set_result(result)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
