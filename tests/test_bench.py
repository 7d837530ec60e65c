"""`make bench`'s bulk queue fill writes what the service writes, and the API can work it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import msgspec
import pytest
from redis.asyncio import Redis

from bench import corpus, deep_queue
from moderation.core.schemas import parse_comment
from moderation.scoring.text import CommentText
from moderation.store import keys
from moderation.web import appkeys
from tests.conftest import Api, Site, comment

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


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
    sample = corpus.Sample("vi-hate-speech", 'Bài viết "hay"\nquá', "CLEAN")
    body = {"post_id": "p", "author_email": corpus.EMAIL_MARK, "user_ip": corpus.IP_MARK, "content": sample.text}
    path = tmp_path / "bodies.jsonl"
    stats = corpus.write_bodies(path, [(body, sample)])
    [line] = path.read_bytes().splitlines()
    assert line.count(corpus.EMAIL_MARK.encode()) == 1 and line.count(corpus.IP_MARK.encode()) == 1
    assert line.index(corpus.EMAIL_MARK.encode()) < line.index(corpus.IP_MARK.encode())
    assert stats["bodies"] == 1


# `make bench` in a short mode: every phase runs, on the committed corpus, from the repository
# alone (no ../shared), and prints its figures. Minutes, not the full run's hour.
SHORT_BENCH = {
    "BENCH_SECONDS": "2",
    "BENCH_WARMUP": "1",
    "BENCH_CONNECTIONS": "4",
    "BENCH_WORKERS": "1",
    "BENCH_BODIES": "256",
    "BENCH_DEPTH": "300",
    "BENCH_QUEUE_OPS": "10",
    "BENCH_MODELS_REPEAT": "1",
    "BENCH_WORDLISTS_ROUNDS": "1",
    "BENCH_REPLICA_SUBMISSIONS": "40",
    "BENCH_REPLICA_ROUNDS": "1",
    "BENCH_RETENTION_PER_DAY": "200",
    "BENCH_RETENTION_SIM_DAYS": "1.5",
}


@pytest.mark.timeout(1200)
def test_make_bench_runs_from_the_repository_alone_and_prints_figures(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_", "BENCH_"))}
    env.update(SHORT_BENCH, BENCH_RESULTS=str(tmp_path))
    # -o: the virtualenv is taken as up to date (this test runs inside it).
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "bench"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=1100, check=False,
    )
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
    assert "comments: 1800" in out and re.search(r"batch\s+64:\s+[\d.]+ us/comment", out)  # the models alone
    assert "word lists at the limits" in out and "match both lists" in out
    assert re.search(r"round 1 wait-1 .*\d", out)  # the replica wait
    assert re.search(r"service\s+[\d,]+ accepted/s\s+p50 [\d.]+ ms", out) and "reference" in out
    assert re.search(r"deep queue 300 pending", out)
    assert re.search(r"retention: [\d,]+ comments", out)
    result = json.loads((tmp_path / "latest.json").read_text())
    assert result["corpus"]["bodies"] == 256 and result["config"]["corpus"].endswith("bench/data/corpus.csv")
    assert result["service"]["accepted"] > 0 and result["service"]["errors"] == 0
    assert (tmp_path / "retention.json").exists()


def test_the_corpus_is_in_the_repository_with_its_sources() -> None:
    samples = corpus.load_samples()
    assert {group: len(rows) for group, rows in samples.items()} == {"vi-social": 700, "vi-promo": 500, "en": 600}
    readme = (ROOT / "bench" / "data" / "README.md").read_text(encoding="utf-8")
    for source in {s.source for rows in samples.values() for s in rows}:
        assert f"`{source}`" in readme  # every source named, with its licence


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"needs the shared data sets at {SHARED_DATA} to rebuild from")
def test_the_corpus_is_what_make_corpus_writes_from_the_shared_data() -> None:
    from bench import make_corpus

    assert make_corpus.render(make_corpus.build(SHARED_DATA)) == corpus.CORPUS.read_bytes()


async def test_the_switch_takes_reputation_and_the_signals_out_and_puts_them_back(
    api: Api, site: Site, redis: Redis
) -> None:
    from bench import switch
    from moderation.scoring import submission as sub

    data = comment(author_name="Dịch vụ SEO giá rẻ", author_email="switch@example.vn", user_agent="curl/8.5.0")

    async def check() -> dict[str, object]:
        resp = await api.request("POST", "/v1/check", site.api_key, json=data)
        assert resp.status == 200, await resp.text()
        reply: dict[str, object] = await resp.json()
        return reply

    with switch.switched_off():
        plain = await check()
        # Off: no entry is looked up either (the pre-check reads no reputation field).
        reputation = api.app[appkeys.MODERATION].reputation
        assert reputation is not None
        assert (await reputation.lookup(CommentText(parse_comment(data)))).ids == ()
    assert "text_spam_score" not in plain
    assert sub.SEO_NAME not in [f["feature"] for f in plain["explanation"]["spam"]]  # type: ignore[index]
    back = await check()
    assert sub.SEO_NAME in [f["feature"] for f in back["explanation"]["spam"]]  # type: ignore[index]
    assert back["text_spam_score"] == plain["spam_score"]


def test_the_bench_reports_what_the_signals_change_with_over_without() -> None:
    from bench.run import signals_cost

    cost = signals_cost(
        {"accepted_per_s": 900.0, "cpu_us_per_request": {"server": 660.0}},
        {"accepted_per_s": 1000.0, "cpu_us_per_request": {"server": 600.0}},
    )
    assert cost == {"throughput": -0.1, "server_cpu": 0.1}
