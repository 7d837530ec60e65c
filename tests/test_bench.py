"""`make bench`'s bulk queue fill writes what the service writes, and the API can work it."""

from __future__ import annotations

from pathlib import Path

import msgspec
from redis.asyncio import Redis

from bench import corpus, deep_queue
from service.store import keys
from tests.conftest import Api, Site, comment


async def test_bulk_fill_has_the_shape_the_service_writes(api: Api, site: Site, redis: Redis) -> None:
    body = comment(content="Nguồn: https://a.vn/1 https://b.vn/2 https://c.vn/3", author_email="bulk@example.vn")
    resp = await api.request("POST", "/v1/comments", site.api_key, json=body)
    reply = await resp.json()
    assert resp.status == 202 and reply["status"] == "pending", reply
    real = await redis.hgetall(keys.comment(site.site_id, reply["id"]))

    templates = deep_queue.templates_from([real["doc"].encode()], [len(str(body["content"]).encode())])
    stats = await deep_queue.fill(redis, site.site_id, 30, templates)
    assert stats["depth"] == 30

    ids = await redis.zrange(keys.status_index(site.site_id, "pending"), 0, -1)
    assert len(ids) == 31
    filled = next(i for i in ids if i != reply["id"])
    row = await redis.hgetall(keys.comment(site.site_id, filled))
    assert set(row) == set(real)
    assert msgspec.json.decode(row["doc"])["verdict"]["id"] == filled
    assert await redis.xlen(keys.review_stream(site.site_id)) == 31

    queue = await (
        await api.request("GET", f"/v1/review/queue?site={site.site_id}&limit=50", site.moderator_token)
    ).json()
    assert len(queue["items"]) == 31 and queue["counts"]["pending"] == 31
    claim = await api.request("POST", "/v1/review/claim", site.moderator_token, json={"site": site.site_id, "count": 5})
    items = (await claim.json())["items"]
    assert len(items) == 5
    decided = await api.request(
        "POST", f"/v1/review/{items[0]['id']}/decision", site.moderator_token, json={"decision": "spam"}
    )
    assert decided.status == 200, await decided.text()


def test_bodies_carry_one_email_and_one_ip_placeholder(tmp_path: Path) -> None:
    sample = corpus.Sample("vihsd", 'Bài viết "hay"\nquá', "tox0")
    body = {"post_id": "p", "author_email": corpus.EMAIL_MARK, "user_ip": corpus.IP_MARK, "content": sample.text}
    path = tmp_path / "bodies.jsonl"
    stats = corpus.write_bodies(path, [(body, sample)])
    [line] = path.read_bytes().splitlines()
    assert line.count(corpus.EMAIL_MARK.encode()) == 1 and line.count(corpus.IP_MARK.encode()) == 1
    assert line.index(corpus.EMAIL_MARK.encode()) < line.index(corpus.IP_MARK.encode())
    assert stats["bodies"] == 1
