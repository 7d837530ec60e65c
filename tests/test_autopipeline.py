"""Auto-pipelining: concurrent calls share one round trip and each gets its own reply."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from moderation.store.autopipeline import AutoPipeline

_ECHO = "return {KEYS[1], ARGV[1]}"


async def test_concurrent_scripts_share_one_pipeline(redis: Redis) -> None:
    batched = AutoPipeline(redis)
    script = redis.register_script(_ECHO)
    replies = await asyncio.gather(*(batched.script(script, [f"k{i}"], [str(i)]) for i in range(20)))
    assert replies == [[f"k{i}", str(i)] for i in range(20)]
    assert batched.pipelines == 1 and batched.commands == 20


async def test_unknown_script_is_loaded_and_run(redis: Redis) -> None:
    batched = AutoPipeline(redis)
    script = redis.register_script("return ARGV[1] .. '-" + str(id(redis)) + "'")
    await redis.script_flush()
    replies = await asyncio.gather(batched.script(script, [], ["a"]), batched.script(script, [], ["b"]))
    assert [r.split("-")[0] for r in replies] == ["a", "b"]


async def test_errors_reach_only_their_caller(redis: Redis) -> None:
    batched = AutoPipeline(redis)
    await redis.set("autopipeline:str", "x")
    good, bad = await asyncio.gather(
        batched.hget("autopipeline:none", "f"), batched.command("HGET", "autopipeline:str", "f"), return_exceptions=True
    )
    assert good is None
    assert isinstance(bad, ResponseError)
    await redis.delete("autopipeline:str")


async def test_lone_call_goes_out_directly(redis: Redis) -> None:
    batched = AutoPipeline(redis)
    await redis.hset("autopipeline:h", "f", "v")
    assert await batched.hget("autopipeline:h", "f") == "v"
    assert batched.pipelines == 1 and batched.commands == 1
    await redis.delete("autopipeline:h")


@pytest.mark.parametrize("n", [1, 300])
async def test_large_bursts_are_split(redis: Redis, n: int) -> None:
    batched = AutoPipeline(redis)
    replies = await asyncio.gather(*(batched.command("ECHO", str(i)) for i in range(n)))
    assert replies == [str(i) for i in range(n)]


def test_redis_pys_torn_down_connection_is_a_connection_error() -> None:
    """redis-py's cluster client can disconnect a connection another task is writing on; the
    write's AttributeError becomes a ConnectionError (a 503), not a 500. Ours stay as they are."""
    from redis.asyncio.connection import Connection
    from redis.exceptions import ConnectionError as RedisConnectionError

    from moderation.store.autopipeline import connection_lost

    torn = Connection()  # never connected: its writer is None, as after a concurrent disconnect
    try:
        asyncio.run(torn._send_packed_command([b"PING"]))
    except AttributeError as exc:
        converted = connection_lost(exc)
    assert isinstance(converted, RedisConnectionError) and isinstance(converted.__cause__, AttributeError)
    try:
        None.missing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        ours = exc
    assert connection_lost(ours) is ours
    other = ValueError("x")
    assert connection_lost(other) is other
