"""Issue 22's "reputation lookups for a submission are one Redis round trip": what a
submission sends to Redis, watched with MONITOR on the session's real server.

Not collected by tests/test_cluster.py: MONITOR watches one server, a cluster has six.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis

from moderation.store import keys
from tests.conftest import Api, Site
from tests.test_reputation import body, mark, submit, unique_domain


async def _watch(redis: Redis, action: Any) -> list[dict[str, Any]]:
    """The commands Redis ran while *action* ran (between two marker GETs on this connection's
    pool), as MONITOR shows them: ``client_type`` is ``lua`` for a command a script ran."""
    start, end = f"monitor-start:{uuid.uuid4().hex}", f"monitor-end:{uuid.uuid4().hex}"
    seen: list[dict[str, Any]] = []
    listening = asyncio.Event()

    async def listen() -> None:
        async with redis.monitor() as monitor:
            listening.set()
            recording = False
            async for cmd in monitor.listen():
                text = cmd["command"]
                if start in text:
                    recording = True
                elif end in text:
                    return
                elif recording:
                    seen.append(cmd)

    task = asyncio.ensure_future(listen())
    await listening.wait()
    # MONITOR is acknowledged before listen() returns the first line: the marker GET after
    # it is seen (monitor.listen reads in order).
    await redis.get(start)
    await action()
    await redis.get(end)
    await asyncio.wait_for(task, 30)
    return seen


def _site_commands(seen: list[dict[str, Any]], site: Site) -> list[dict[str, Any]]:
    tag = "{" + site.site_id + "}"
    return [c for c in seen if tag in c["command"]]


async def test_a_submissions_reputation_is_read_inside_the_pre_check_round_trip(
    api: Api, make_site: Any, redis: Redis
) -> None:
    a = await make_site()
    domain = unique_domain()
    # The site has a decision on the domain, so the lookup finds something to read.
    await mark(api, a, body(a, domain))
    phone = "0912 345 678"
    data = body(a, domain, content=f"Gọi {phone} hoặc xem https://{domain}/x và https://other-{domain}/y")

    replies: list[dict[str, Any]] = []

    async def one() -> None:
        replies.append(await submit(api, a, data))

    seen = _site_commands(await _watch(redis, one), a)
    assert replies and replies[0]["status"] in ("approved", "pending", "spam")
    own, shared = keys.reputation(a.site_id), keys.reputation_shared(a.site_id)

    from_client = [c for c in seen if c["client_type"] != "lua"]
    names = [c["command"].split(" ", 1)[0].upper() for c in from_client]
    # The client sends two commands for the submission: the pre-check and the submission
    # script (both EVALSHA). Nothing else touches the site's keys.
    assert names == ["EVALSHA", "EVALSHA"], [c["command"][:120] for c in from_client]
    precheck = from_client[0]["command"]
    assert own in precheck and shared in precheck
    assert own not in from_client[1]["command"] and shared not in from_client[1]["command"]

    # The reputation hashes are read by the pre-check script itself: one HMGET each, with
    # every entry of the submission (domains, phone, email, network) in it.
    from_lua = [c["command"] for c in seen if c["client_type"] == "lua"]
    reads = [c for c in from_lua if own in c or shared in c]
    assert [r.split()[:2] for r in reads] == [["HMGET", own], ["HMGET", shared]], reads
    ids = reads[0].split()[2:]
    # Two domains, the phone, the email and the /24, by their kind letters.
    assert sorted(i[0] for i in ids) == ["d", "d", "e", "n", "p"], ids
    assert reads[1].split()[2:] == ids
