"""MODERATION_REDIS_REPLICA_ACKS on a single master with one replica (the cluster case is in
test_cluster.py): a 202 only once the replica has the comment, a 503 while no replica can
confirm it, and the client's retry with its Idempotency-Key then gets the one stored comment."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from moderation.store import auth, keys
from moderation.store.comments import Store
from tests.conftest import AppFactory, RedisServer, comment, free_port, start_redis


@pytest.fixture
def master_and_replica() -> Iterator[tuple[RedisServer, RedisServer]]:
    with tempfile.TemporaryDirectory(prefix="moderation-replication-") as tmp:
        (Path(tmp) / "m").mkdir()
        (Path(tmp) / "r").mkdir()
        master = start_redis(Path(tmp) / "m")
        replica = start_redis(Path(tmp) / "r", "--replicaof", "127.0.0.1", str(master.port))
        try:
            yield master, replica
        finally:
            for node in (replica, master):
                if node.process.poll() is None:
                    node.process.terminate()
                    node.process.wait(timeout=10)


async def replicas_online(redis: Redis) -> int:
    info = await redis.info("replication")
    slaves = [v for k, v in info.items() if k.startswith("slave") and isinstance(v, dict)]
    return sum(1 for v in slaves if v.get("state") == "online")


async def test_a_submission_is_acknowledged_only_once_a_replica_has_it(
    make_api: AppFactory, master_and_replica: tuple[RedisServer, RedisServer]
) -> None:
    master, replica = master_and_replica
    redis = Redis.from_url(master.url, decode_responses=True)
    replica_client = Redis.from_url(replica.url, decode_responses=True)
    try:
        deadline = time.monotonic() + 20
        while await replicas_online(redis) < 1:
            assert time.monotonic() < deadline, "the replica did not attach"
            await asyncio.sleep(0.05)  # polling the replica's sync
        api_key = await auth.create_site(redis, "repl", "repl", int(time.time() * 1000))
        await Store(redis, idempotency_ttl=600).ensure_group("repl")
        # 1 s for the replica's ack: 200 ms was once too short in a full run; it must stay under
        # the service's 2 s Redis timeout, or a missing replica reads as Redis being down.
        api = await make_api(redis_url=master.url, redis_replica_acks=1, redis_replica_timeout_ms=1000,
                             webhook_poll_seconds=0)

        resp = await api.request("POST", "/v1/comments", api_key, json=comment(), headers={"Idempotency-Key": "k1"})
        assert resp.status == 202, await resp.text()
        cid = (await resp.json())["id"]
        # Acknowledged means the replica has it already (WAIT), no polling needed.
        assert await replica_client.exists(keys.comment("repl", cid))

        # No replica: nothing is acknowledged.
        replica.process.kill()
        replica.process.wait(timeout=10)
        body = comment(author_email="lan@example.vn", content="Một bình luận khác về giao thông Hà Nội.")
        resp = await api.request("POST", "/v1/comments", api_key, json=body, headers={"Idempotency-Key": "k2"})
        assert resp.status == 503, await resp.text()
        assert "replica" in (await resp.json())["detail"] and resp.headers["Retry-After"] == "1"

        # The replica is back: the same retry is acknowledged, as one comment.
        with tempfile.TemporaryDirectory(prefix="moderation-replica-") as tmp:
            back = start_redis(Path(tmp), "--replicaof", "127.0.0.1", str(master.port), port=free_port())
            try:
                deadline = time.monotonic() + 20
                while await replicas_online(redis) < 1:
                    assert time.monotonic() < deadline, "the replica did not attach again"
                    await asyncio.sleep(0.05)  # polling the replica's sync
                resp = await api.request("POST", "/v1/comments", api_key, json=body, headers={"Idempotency-Key": "k2"})
                assert resp.status == 202, await resp.text()
                assert await redis.zcard(keys.status_index("repl", (await resp.json())["status"])) >= 1
            finally:
                back.process.terminate()
                back.process.wait(timeout=10)
        ids = [k async for k in redis.scan_iter(match="site:{repl}:c:*")]
        assert len(ids) == 2
    finally:
        await replica_client.aclose()
        await redis.aclose()
