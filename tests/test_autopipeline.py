"""Auto-pipelining: concurrent calls share one round trip and each gets its own reply."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from service.store.autopipeline import AutoPipeline

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
