"""The API and queue tests again, against a local 3-master Redis Cluster.

The session starts three ``redis-server --cluster-enabled yes`` nodes on free ports and
joins them with ``redis-cli --cluster create``. This module overrides the ``settings``
and ``redis`` fixtures with cluster ones and collects the end-to-end tests of
test_api, test_access and test_isolation under them: the same code, a cluster-aware
client (``REDIS_CLUSTER=1``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import RedisCluster

from service.core.settings import Settings
from service.store import keys
from tests import test_access, test_api, test_isolation
from tests.conftest import AppFactory, RedisServer, Site, comment, free_port, start_redis

pytestmark = pytest.mark.cluster

MASTERS = 3


def cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free and valid too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise AssertionError("no free port pair for a cluster node")


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[list[RedisServer]]:
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.fail("redis-cli is not installed; `make test` installs Debian's redis-server package")
    with tempfile.TemporaryDirectory(prefix="moderation-cluster-") as tmp:
        nodes: list[RedisServer] = []
        try:
            for i in range(MASTERS):
                directory = Path(tmp) / str(i)
                directory.mkdir()
                nodes.append(start_redis(directory, "--cluster-enabled", "yes", "--cluster-config-file",
                                         "nodes.conf", "--cluster-node-timeout", "2000", port=cluster_port()))
            subprocess.run(
                [cli, "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
                 "--cluster-replicas", "0", "--cluster-yes"],
                check=True, capture_output=True, timeout=60,
            )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the nodes agree on the slot map shortly after
                info = subprocess.run([cli, "-p", str(nodes[0].port), "cluster", "info"],
                                      capture_output=True, text=True, timeout=10).stdout
                if "cluster_state:ok" in info:
                    break
                time.sleep(0.05)  # polling the cluster's state
            else:
                pytest.fail("the cluster did not reach cluster_state:ok")
            yield nodes
        finally:
            for node in nodes:
                node.process.terminate()
                node.process.wait(timeout=10)


@pytest.fixture
def settings(redis_cluster: list[RedisServer]) -> Settings:
    return Settings(redis_url=redis_cluster[0].url, redis_cluster=True, batch_max_wait_ms=1.0)


@pytest.fixture
async def redis(redis_cluster: list[RedisServer]) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(redis_cluster[0].url, decode_responses=True)
    yield client
    await client.aclose()


# The end-to-end tests, collected again under the cluster fixtures above.
for _module in (test_api, test_access, test_isolation):
    for _name in dir(_module):
        if _name.startswith("test_"):
            globals()[f"{_name}"] = getattr(_module, _name)
world = test_isolation.world


async def test_sites_spread_over_all_masters(redis: RedisCluster, make_site) -> None:  # type: ignore[no-untyped-def]
    # Enough sites that every master holds some: the tests above then ran on all three.
    sites = [await make_site() for _ in range(12)]
    owners = {redis.get_node_from_key(keys.site_meta(s.site_id)).port for s in sites}
    assert len(owners) == MASTERS


async def test_every_key_of_a_site_is_in_one_slot(make_api: AppFactory, site: Site, redis: RedisCluster) -> None:
    api = await make_api()
    [cid] = await test_api.force_pending(redis, site, 1, api)  # type: ignore[arg-type]
    await api.request("POST", "/v1/review/claim", site.moderator_token, json={"site": site.site_id, "count": 1})
    await api.request("POST", f"/v1/review/{cid}/decision", site.moderator_token, json={"decision": "approve"})
    await api.request("POST", "/v1/comments", site.api_key, json=comment(), headers={"Idempotency-Key": "slot"})
    site_keys = [k async for k in redis.scan_iter(match=f"*{{{site.site_id}}}*")]
    assert len(site_keys) >= 6
    assert len({redis.keyslot(k) for k in site_keys}) == 1


async def test_503_when_the_cluster_is_unreachable(make_api: AppFactory, site: Site) -> None:
    api = await make_api(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout_seconds=0.5)
    for method, path in [("POST", "/v1/comments"), ("GET", "/readyz")]:
        resp = await api.request(method, path, site.api_key, json=comment())
        assert resp.status == 503, (path, await resp.text())
        assert "Retry-After" in resp.headers
