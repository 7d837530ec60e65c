"""The API and queue tests again, against a local 3-master + 3-replica Redis Cluster, and a
master killed under load.

The session starts six ``redis-server --cluster-enabled yes`` nodes on free ports and joins
them with ``redis-cli --cluster create --cluster-replicas 1``. This module overrides the
``settings`` and ``redis`` fixtures with cluster ones and collects the end-to-end tests of
test_api, test_access, test_decisions, test_isolation, test_retention and test_reputation under
them: the same code, a cluster-aware client (``REDIS_CLUSTER=1``). The failover test builds a
cluster of its own, since it kills a node.
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

from moderation.core.settings import Settings
from moderation.store import keys
from tests import test_access, test_api, test_decisions, test_isolation, test_reputation, test_retention
from tests.conftest import AppFactory, RedisServer, Site, comment, free_port, start_redis

pytestmark = pytest.mark.cluster

MASTERS = 3
REPLICAS_PER_MASTER = 1
# How long a master may be unreachable before its replica takes over (the failover test
# waits about this long, plus the election).
NODE_TIMEOUT_MS = 1500


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


def cluster_info(cli: str, port: int) -> str:
    return subprocess.run([cli, "-p", str(port), "cluster", "info"], capture_output=True, text=True, timeout=10).stdout


def start_node(directory: Path, port: int | None = None) -> RedisServer:
    directory.mkdir(exist_ok=True)
    return start_redis(directory, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                       "--cluster-node-timeout", str(NODE_TIMEOUT_MS), port=port or cluster_port())


def start_cluster(root: Path) -> list[RedisServer]:
    """MASTERS masters, each with REPLICAS_PER_MASTER replicas, in cluster_state:ok."""
    cli = shutil.which("redis-cli")
    if cli is None:
        pytest.fail("redis-cli is not installed; `make test` installs Debian's redis-server package")
    nodes: list[RedisServer] = []
    try:
        for i in range(MASTERS * (1 + REPLICAS_PER_MASTER)):
            nodes.append(start_node(root / str(i)))
        subprocess.run(
            [cli, "--cluster", "create", *[f"127.0.0.1:{n.port}" for n in nodes],
             "--cluster-replicas", str(REPLICAS_PER_MASTER), "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the nodes agree on the slot map shortly after
            if "cluster_state:ok" in cluster_info(cli, nodes[0].port):
                return nodes
            time.sleep(0.05)  # polling the cluster's state
        pytest.fail("the cluster did not reach cluster_state:ok")
    except BaseException:
        stop_nodes(nodes)
        raise


def stop_nodes(nodes: list[RedisServer]) -> None:
    for node in nodes:
        if node.process.poll() is None:
            node.process.terminate()
            node.process.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[list[RedisServer]]:
    with tempfile.TemporaryDirectory(prefix="moderation-cluster-") as tmp:
        nodes = start_cluster(Path(tmp))
        try:
            yield nodes
        finally:
            stop_nodes(nodes)


@pytest.fixture
def settings(redis_cluster: list[RedisServer]) -> Settings:
    return Settings(redis_url=redis_cluster[0].url, redis_cluster=True, batch_max_wait_ms=1.0,
                    akismet_key_guesses_per_hour=10_000)


@pytest.fixture
async def redis(redis_cluster: list[RedisServer]) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(redis_cluster[0].url, decode_responses=True)
    yield client
    await client.aclose()


# The end-to-end tests, collected again under the cluster fixtures above.
for _module in (test_api, test_access, test_decisions, test_isolation, test_retention, test_reputation):
    for _name in dir(_module):
        if _name.startswith("test_"):
            globals()[f"{_name}"] = getattr(_module, _name)
world = test_isolation.world
# test_retention's apps run without the background sweep (its tests sweep with their own clock).
api = test_retention.api


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


async def test_reputation_fans_out_across_masters(make_api: AppFactory, make_site, redis: RedisCluster) -> None:  # type: ignore[no-untyped-def]
    """Three sites on three different masters: two sites' decisions reach the third through
    each site's own keys (no script reads another slot), and every reputation key of a site
    is in the site's slot."""
    api = await make_api()
    by_master: dict[int, Site] = {}
    while len(by_master) < MASTERS:
        candidate = await make_site()
        by_master.setdefault(redis.get_node_from_key(keys.site_meta(candidate.site_id)).port, candidate)
    a, b, c = by_master.values()
    domain = test_reputation.unique_domain()
    await test_reputation.mark(api, a, test_reputation.body(a, domain))
    await test_reputation.mark(api, b, test_reputation.body(b, domain))
    held = await test_reputation.submit(api, c, test_reputation.body(c, domain))
    assert test_reputation.reputation_reason(held) is not None, held
    for site in (a, b, c):
        rep_keys = [keys.reputation(site.site_id), keys.reputation_shared(site.site_id),
                    keys.reputation_authors(site.site_id)]
        assert {redis.keyslot(k) for k in rep_keys} == {redis.keyslot(keys.site_meta(site.site_id))}
        assert await redis.exists(keys.reputation_shared(site.site_id))


async def test_503_when_the_cluster_is_unreachable(make_api: AppFactory, site: Site) -> None:
    api = await make_api(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_timeout_seconds=0.5)
    for method, path in [("POST", "/v1/comments"), ("GET", "/readyz")]:
        resp = await api.request(method, path, site.api_key, json=comment())
        assert resp.status == 503, (path, await resp.text())
        assert "Retry-After" in resp.headers


# ---------------------------------------------------------------- failover

# Concurrent clients of the failover test, and the bound on its whole run (it stops on its own).
FAILOVER_CLIENTS = 6
FAILOVER_DEADLINE_SECONDS = 90.0


def role_of(cli: str, port: int) -> str:
    out = subprocess.run([cli, "-p", str(port), "role"], capture_output=True, text=True, timeout=10).stdout
    return out.split("\n", 1)[0].strip()


def wait_for_replicas(cli: str, nodes: list[RedisServer]) -> None:
    """Until every master has its replica attached and in sync."""
    deadline = time.monotonic() + 30
    while True:
        infos = [subprocess.run([cli, "-p", str(n.port), "info", "replication"], capture_output=True, text=True,
                                timeout=10).stdout for n in nodes]
        masters = [i for i in infos if "role:master" in i]
        if len(masters) == MASTERS and all(f"connected_slaves:{REPLICAS_PER_MASTER}" in i and "state=online" in i
                                           for i in masters):
            return
        assert time.monotonic() < deadline, "replicas did not attach"
        time.sleep(0.05)  # polling the replicas' state


def replica_of(cli: str, port: int) -> int | None:
    """The port of the master ``port`` replicates, or None for a master."""
    lines = subprocess.run([cli, "-p", str(port), "role"], capture_output=True, text=True, timeout=10).stdout.split()
    return int(lines[2]) if lines and lines[0] == "slave" else None


# Its own six nodes, a failure detection and an election: more than the default per-test bound
# on a loaded machine (it stops on its own after FAILOVER_DEADLINE_SECONDS).
@pytest.mark.timeout(FAILOVER_DEADLINE_SECONDS + 90)
async def test_no_acknowledged_comment_is_lost_when_a_master_is_killed_under_load(
    make_api: AppFactory, scorer: object, tmp_path: Path
) -> None:
    """With MODERATION_REDIS_REPLICA_ACKS=1 every 202 was confirmed by a replica (WAIT), so the
    replica promoted after its master is SIGKILLed holds every acknowledged comment. Clients
    retry 503s with their Idempotency-Key; writes resume without restarting the service once
    the promoted master has a replica again (the killed node, restarted, rejoins as one)."""
    import asyncio

    from moderation.store import auth
    from moderation.store.comments import Store

    cli = shutil.which("redis-cli")
    assert cli is not None
    nodes = start_cluster(tmp_path)
    client = RedisCluster.from_url(nodes[0].url, decode_responses=True)
    try:
        site_id = "failover"
        api_key = await auth.create_site(client, site_id, site_id, int(time.time() * 1000))
        await Store(client, idempotency_ttl=600).ensure_group(site_id)
        owner = client.get_node_from_key(keys.site_meta(site_id))
        [master] = [n for n in nodes if n.port == owner.port]
        [replica] = [n for n in nodes if await asyncio.to_thread(replica_of, cli, n.port) == master.port]
        await asyncio.to_thread(wait_for_replicas, cli, nodes)

        api = await make_api(
            redis_url=nodes[0].url, redis_cluster=True, redis_replica_acks=1, redis_replica_timeout_ms=300,
            redis_timeout_seconds=1.0, webhook_poll_seconds=0,
        )
        acknowledged: dict[str, str] = {}  # idempotency key -> comment id
        refused = 0
        killed = asyncio.Event()
        resumed = asyncio.Event()  # a 202 after the failover
        stop = time.monotonic() + FAILOVER_DEADLINE_SECONDS
        counter = 0

        async def one_client(n: int) -> None:
            nonlocal refused, counter
            while not resumed.is_set() or counter < len(acknowledged) + FAILOVER_CLIENTS * 20:
                if time.monotonic() > stop:
                    return
                counter += 1
                key = f"fo-{n}-{counter}"
                body = comment(content=f"Bình luận số {counter} của người đọc {n} về bài giao thông.",
                               author_email=f"reader{n}-{counter}@example.vn", user_ip=None)
                while time.monotonic() < stop:  # the same key until acknowledged
                    resp = await api.request("POST", "/v1/comments", api_key, json=body,
                                             headers={"Idempotency-Key": key})
                    if resp.status == 202:
                        acknowledged[key] = (await resp.json())["id"]
                        if killed.is_set() and promoted.is_set() and not resumed.is_set():
                            nonlocal resumed_at
                            resumed_at = time.monotonic()
                            resumed.set()
                        break
                    assert resp.status == 503, await resp.text()
                    refused += 1
                    await asyncio.sleep(0.05)  # a client's retry pause, not synchronisation
                if resumed.is_set() and len(acknowledged) > before_kill + FAILOVER_CLIENTS * 10:
                    return

        promoted = asyncio.Event()
        before_kill = 0
        killed_at = promoted_at = resumed_at = 0.0

        async def chaos() -> None:
            nonlocal before_kill
            while len(acknowledged) < 60:  # under load: kill after 60 acknowledged comments
                assert time.monotonic() < stop, "no load reached the cluster"
                await asyncio.sleep(0.01)  # polling the load's progress
            before_kill = len(acknowledged)
            master.process.kill()
            await asyncio.to_thread(master.process.wait, 10)
            killed.set()
            nonlocal killed_at, promoted_at
            killed_at = time.monotonic()
            while await asyncio.to_thread(role_of, cli, replica.port) != "master":
                assert time.monotonic() < stop, "the replica was not promoted"
                await asyncio.sleep(0.05)  # polling the cluster's state
            promoted_at = time.monotonic()
            promoted.set()
            # The killed master comes back (same port, same nodes.conf) and rejoins as a
            # replica of the promoted one, so replica acknowledgements are possible again.
            nodes[nodes.index(master)] = await asyncio.to_thread(start_node, master.directory, master.port)

        await asyncio.gather(chaos(), *(one_client(n) for n in range(FAILOVER_CLIENTS)))
        assert killed.is_set() and promoted.is_set()
        assert resumed.is_set(), "writes did not resume after the failover"
        assert refused > 0  # the failover window was seen by the clients

        # Read back through a fresh client of the surviving cluster: every 202 is there.
        survivor = next(n for n in nodes if n.process.poll() is None)
        fresh = RedisCluster.from_url(survivor.url, decode_responses=True)
        try:
            missing = [cid for cid in acknowledged.values() if not await fresh.exists(keys.comment(site_id, cid))]
        finally:
            await fresh.aclose()
        assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged comments lost"
        assert len(acknowledged) > before_kill
        # Shown with -s: the figures README "Guarantees" quotes.
        print(f"\nfailover: {before_kill} acknowledged before the kill, {len(acknowledged)} in all, {refused} 503s "
              f"retried; promotion {promoted_at - killed_at:.1f} s after the kill, first 202 after it "
              f"{resumed_at - killed_at:.1f} s after the kill")
    finally:
        await client.aclose()
        stop_nodes(nodes)
