"""``make bench``: throughput, latency and queue depth of the service, beside a bare-aiohttp reference.

One run, all on loopback: starts its own redis-server, measures the bare-aiohttp reference
(bench/reference.py) and then the service (``moderation serve --workers N``) under the same
wrk load (bench/submit.lua, bodies from bench/corpus.py), then fills a review queue to
``--depth`` pending items and times list/claim/decide through the HTTP API. Prints a summary
and writes bench/results/latest.json.

    .venv/bin/python -m bench.run                     # the full run (60 s per load phase)
    BENCH_SECONDS=10 BENCH_DEPTH=100000 make bench    # a quick one

Every option has an environment variable (BENCH_<OPTION>); flags win.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from redis.asyncio import Redis

from bench import corpus, deep_queue
from moderation.store import auth, keys
from moderation.store.comments import Store

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "submit.lua"
RESULTS = ROOT / "bench" / "results"


def results_dir() -> Path:
    """Where the bench writes its JSON: bench/results (git-ignored), or BENCH_RESULTS."""
    return Path(os.environ.get("BENCH_RESULTS") or RESULTS)

BENCH_SITE = "bench"
# The comparison phase's site: the same bodies on BENCH_SITE again would meet the campaign
# rule's counts of the first phase.
COMPARE_SITE = "bench-without"
# Same as docker-compose.yml and scripts/run.sh: a comment's hash stays a compact listpack.
HASH_MAX_LISTPACK_VALUE = 4096
DEEP_SITE = "deep"

# The targets (2 cores, load generator on the same box, 32 connections).
TARGETS = {
    "accepted_per_s": 3000,
    "p99_ms": 25.0,
    "errors": 0,
    "ratio_to_reference": 0.09,
    "queue_op_p99_ms": 10.0,
    "rss_mb_per_worker": 300,
    "redis_bytes_per_pending_beyond_text": 1536,
    "startup_s": 3.0,
}


def _env(name: str, default: str) -> str:
    return os.environ.get(f"BENCH_{name}", default) or default


@dataclass(frozen=True, slots=True)
class Config:
    seconds: int
    warmup: int
    connections: int
    threads: int
    workers: int
    depth: int
    queue_ops: int
    bodies: int
    seed: int
    reference: bool
    compare: bool
    corpus: Path
    out: Path

    @classmethod
    def parse(cls, argv: list[str] | None = None) -> Config:
        p = argparse.ArgumentParser(description="Service throughput/latency/queue-depth benchmark.")
        p.add_argument("--seconds", type=int, default=int(_env("SECONDS", "60")), help="each load phase")
        p.add_argument("--warmup", type=int, default=int(_env("WARMUP", "5")), help="unmeasured load first")
        p.add_argument("--connections", type=int, default=int(_env("CONNECTIONS", "32")))
        p.add_argument("--threads", type=int, default=int(_env("THREADS", "2")), help="wrk threads")
        p.add_argument("--workers", type=int, default=int(_env("WORKERS", "2")), help="service processes")
        p.add_argument("--depth", type=int, default=int(_env("DEPTH", "1000000")), help="0 skips the deep queue")
        p.add_argument("--queue-ops", type=int, default=int(_env("QUEUE_OPS", "300")))
        p.add_argument("--bodies", type=int, default=int(_env("BODIES", "4096")))
        p.add_argument("--seed", type=int, default=int(_env("SEED", "20261126")))
        p.add_argument("--no-reference", action="store_true", default=_env("REFERENCE", "1") == "0")
        p.add_argument(
            "--no-compare",
            action="store_true",
            default=_env("COMPARE", "1") == "0",
            help="skip the second service phase without reputation and whole-submission signals",
        )
        # The committed comments (bench/data/README.md); any CSV with the same columns will do.
        p.add_argument("--corpus", type=Path, default=Path(_env("CORPUS", str(corpus.CORPUS))))
        p.add_argument("--out", type=Path, default=Path(_env("OUT", str(results_dir() / "latest.json"))))
        a = p.parse_args(argv)
        return cls(
            seconds=a.seconds,
            warmup=a.warmup,
            connections=a.connections,
            threads=max(1, min(a.threads, a.connections)),
            workers=max(1, a.workers),
            depth=max(0, a.depth),
            queue_ops=max(1, a.queue_ops),
            bodies=a.bodies,
            seed=a.seed,
            reference=not a.no_reference,
            compare=not a.no_compare,
            corpus=a.corpus,
            out=a.out,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:port (one per worker with SO_REUSEPORT)."""
    want = f"0100007F:{port:04X}"
    n = 0
    with open("/proc/net/tcp") as fh:
        next(fh)
        for line in fh:
            parts = line.split()
            if parts[1] == want and parts[3] == "0A":
                n += 1
    return n


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"resource_tracker" not in cmdline:
            out.append(int(entry.name))
    return sorted(out)


def rss_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "peak_rss_mb": fields.get("VmHWM", 0.0)}


class Proc:
    """A child process we started, stopped by its own pid only."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self.started = time.perf_counter()
        with log.open("wb") as fh:
            self.popen = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")


def wait_ready(proc: Proc, port: int, workers: int, timeout: float = 60.0) -> float:
    """Seconds from process start until /readyz is 200 and every worker listens."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{port}/readyz"
    import urllib.request

    while time.monotonic() < deadline:
        proc.check_alive()
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200 and listening_sockets(port) >= workers:
                    return time.perf_counter() - proc.started
        except OSError:
            pass
        time.sleep(0.01)  # polling a child process to come up
    raise RuntimeError(f"{proc.name} was not ready within {timeout:.0f} s; see {proc.log}")


# Each wrk run numbers its senders from its own range (see bench/submit.lua): a warm-up's
# senders must not look like flooders when the measured run starts.
SENDER_RANGE = 3_000_000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    cfg: Config,
    port: int,
    seconds: int,
    bodies: Path,
    api_key: str,
    out: Path,
    phase: int,
    cpu_of: dict[str, list[int]] | None = None,
) -> dict[str, Any]:
    """One wrk run. ``cpu_of`` names processes whose CPU time per request is reported: on a
    shared machine throughput depends on what else runs, CPU per request much less."""
    env = {**os.environ, "WRK_OUT": str(out)}
    cpu_of = cpu_of or {}
    cpu_before = {name: sum(map(cpu_seconds, pids)) for name, pids in cpu_of.items()}
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    first = phase * SENDER_RANGE
    cmd = [
        "wrk", "-t", str(cfg.threads), "-c", str(cfg.connections), "-d", f"{seconds}s", "--timeout", "5s",
        "-s", str(LUA), f"http://127.0.0.1:{port}", "--", str(bodies), api_key, str(cfg.threads), str(first),
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {name: sum(map(cpu_seconds, pids)) - cpu_before[name] for name, pids in cpu_of.items()}
    cpu["load_generator"] = (wrk_after.ru_utime + wrk_after.ru_stime) - (wrk_before.ru_utime + wrk_before.ru_stime)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    raw = json.loads(out.read_text())
    secs = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_status", "errors_timeout"))
    accepted = raw["requests"] - raw["errors_status"]
    per_request = {name: round(sec * 1e6 / max(1, raw["requests"]), 1) for name, sec in cpu.items()}
    return {
        "seconds": round(secs, 2),
        "cpu_us_per_request": per_request,
        # What the box could serve if these processes had every core to themselves.
        "cpu_bound_requests_per_s": round((os.cpu_count() or 1) * 1e6 / max(1.0, sum(per_request.values()))),
        "requests": raw["requests"],
        "accepted": accepted,
        "accepted_per_s": round(accepted / secs, 1),
        "requests_per_s": round(raw["requests"] / secs, 1),
        "errors": errors,
        "errors_by_kind": {k[7:]: raw[k] for k in raw if k.startswith("errors_") and raw[k]},
        "latency_ms": {
            "mean": round(raw["latency_mean_us"] / 1000, 2),
            "p50": round(raw["latency_p50_us"] / 1000, 2),
            "p75": round(raw["latency_p75_us"] / 1000, 2),
            "p90": round(raw["latency_p90_us"] / 1000, 2),
            "p95": round(raw["latency_p95_us"] / 1000, 2),
            "p99": round(raw["latency_p99_us"] / 1000, 2),
            "p99.9": round(raw["latency_p99_9_us"] / 1000, 2),
            "max": round(raw["latency_max_us"] / 1000, 2),
        },
    }


def git_commit() -> str:
    try:
        cmd = ["git", "rev-parse", "--short", "HEAD"]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return out.stdout.strip()


def run_on_scratch_redis(
    prefix: str, work: Callable[[Redis], Awaitable[dict[str, Any]]], result_name: str
) -> dict[str, Any]:
    """*work* against a redis-server of its own (start_redis, in a temporary folder removed
    afterwards); its result is written to results_dir()/*result_name* and returned."""
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not installed (make bench installs Debian's package)")
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    proc, port = start_redis(tmp)

    async def go() -> dict[str, Any]:
        redis = Redis(port=port, decode_responses=True)
        try:
            return await work(redis)
        finally:
            await redis.aclose()

    try:
        result = asyncio.run(go())
    finally:
        proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    results_dir().mkdir(parents=True, exist_ok=True)
    (results_dir() / result_name).write_text(json.dumps(result, indent=2) + "\n")
    return result


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def start_redis(tmp: Path) -> tuple[Proc, int]:
    port = free_port()
    # No persistence: the bench measures the service, not the disk (production runs AOF
    # everysec, whose writes happen off Redis's main thread). The listpack limit is the one
    # docker-compose.yml and scripts/run.sh use.
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
           "--save", "", "--appendonly", "no", "--hash-max-listpack-value", str(HASH_MAX_LISTPACK_VALUE)]  # fmt: skip
    proc = Proc("redis-server", cmd, dict(os.environ), tmp / "redis.log")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        proc.check_alive()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return proc, port
        except OSError:
            pass
        time.sleep(0.02)  # polling a child process to come up
    raise RuntimeError("redis-server did not start")


async def stored_count(redis: Redis, site: str) -> dict[str, int]:
    pipe = redis.pipeline(transaction=False)
    for status in keys.STATUSES:
        pipe.zcard(keys.status_index(site, status))
    return dict(zip(keys.STATUSES, [int(x) for x in await pipe.execute()], strict=True))


async def sample_docs(redis: Redis, site: str, n: int) -> tuple[list[bytes], list[int]]:
    ids: list[str] = []
    for status in ("pending", "spam", "approved"):
        ids += await redis.zrange(keys.status_index(site, status), 0, n - 1 - len(ids))
        if len(ids) >= n:
            break
    docs: list[bytes] = []
    sizes: list[int] = []
    for comment_id in ids:
        raw = await redis.hget(keys.comment(site, comment_id), "doc")
        if raw is None:
            continue
        doc = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        # A pending comment in the deep queue: same document, verdict status pending.
        doc = doc.replace(b'"status":"approved"', b'"status":"pending"').replace(
            b'"status":"spam"', b'"status":"pending"'
        )
        docs.append(doc)
        sizes.append(len(msgspec.json.decode(doc)["comment"]["content"].encode("utf-8")))
    return docs, sizes


async def amain(cfg: Config) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (make bench installs Debian's package)")
    if not cfg.corpus.is_file():
        raise SystemExit(f"no corpus at {cfg.corpus} (BENCH_CORPUS); bench/data/corpus.csv is in the repository")
    result: dict[str, Any] = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "loadavg_start": loadavg()},
        "targets": TARGETS,
    }
    result["commit"] = await asyncio.to_thread(git_commit)
    tmp = Path(tempfile.mkdtemp(prefix="moderation-bench-"))
    procs: list[Proc] = []
    try:
        redis_proc, redis_port = start_redis(tmp)
        procs.append(redis_proc)
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        redis = Redis.from_url(redis_url, decode_responses=True)

        bodies_file = tmp / "bodies.jsonl"
        result["corpus"] = corpus.write_bodies(bodies_file, corpus.build(cfg.corpus, cfg.bodies, cfg.seed))
        api_key = await auth.create_site(redis, BENCH_SITE, "Bench", int(time.time() * 1000))
        await Store(redis, idempotency_ttl=60).ensure_group(BENCH_SITE)

        if cfg.reference:
            port = free_port()
            ref = Proc(
                "reference",
                [sys.executable, "-m", "bench.reference", "--port", str(port), "--workers", str(cfg.workers)],
                dict(os.environ),
                tmp / "reference.log",
            )
            procs.append(ref)
            await asyncio.to_thread(wait_ready, ref, port, cfg.workers)
            if cfg.warmup:
                await asyncio.to_thread(run_wrk, cfg, port, cfg.warmup, bodies_file, api_key, tmp / "ref-warm.json", 1)
            print(f"reference: {cfg.seconds} s, {cfg.connections} connections ...", flush=True)
            ref_pids = children(ref.popen.pid)
            result["reference"] = await asyncio.to_thread(
                run_wrk, cfg, port, cfg.seconds, bodies_file, api_key, tmp / "ref.json", 2, {"server": ref_pids}
            )
            ref.stop()
            procs.remove(ref)

        port = free_port()
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "MODERATION_HOST": "127.0.0.1",
            "MODERATION_LOG_LEVEL": os.environ.get("MODERATION_LOG_LEVEL", "WARNING"),
        }
        serve = ["serve", "--port", str(port), "--workers", str(cfg.workers)]
        svc = Proc("service", [sys.executable, "-m", "moderation", *serve], env, tmp / "service.log")
        procs.append(svc)
        startup = await asyncio.to_thread(wait_ready, svc, port, cfg.workers)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http, http.get(f"{base}/readyz") as r:
            ready = await r.json()
        result["service"] = {"startup_to_ready_s": round(startup, 2), "model_version": ready.get("model_version")}
        if cfg.warmup:
            await asyncio.to_thread(run_wrk, cfg, port, cfg.warmup, bodies_file, api_key, tmp / "svc-warm.json", 3)
        mem_before = await deep_queue.used_memory(redis)
        count_before = await stored_count(redis, BENCH_SITE)
        print(f"service: {cfg.seconds} s, {cfg.connections} connections, {cfg.workers} workers ...", flush=True)
        workers = children(svc.popen.pid) if cfg.workers > 1 else [svc.popen.pid]
        cpu_of = {"server": workers, "redis": [redis_proc.popen.pid]}
        load = await asyncio.to_thread(
            run_wrk, cfg, port, cfg.seconds, bodies_file, api_key, tmp / "svc.json", 4, cpu_of
        )
        mem_after = await deep_queue.used_memory(redis)
        count_after = await stored_count(redis, BENCH_SITE)
        stored = sum(count_after.values()) - sum(count_before.values())
        result["service"].update(load)
        result["service"]["stored_during_run"] = stored
        result["service"]["stored_by_status"] = {s: count_after[s] - count_before[s] for s in keys.STATUSES}
        if stored:
            per = (mem_after - mem_before) / stored
            result["service"]["redis_bytes_per_stored_comment"] = round(per, 1)
            result["service"]["redis_bytes_per_stored_beyond_text"] = round(
                per - result["corpus"]["mean_content_utf8_bytes"], 1
            )
        result["service"]["workers"] = [{"pid": pid, **rss_mb(pid)} for pid in workers]
        if "reference" in result and result["reference"]["accepted_per_s"]:
            result["ratio_to_reference"] = round(load["accepted_per_s"] / result["reference"]["accepted_per_s"], 4)

        if cfg.compare:
            # The same build, the same load, on a site of its own, with reputation and the
            # whole-submission signals switched off (bench/switch.py): what they cost. Before the
            # deep queue, which the second service's background loops would walk; the first
            # service stays up, idle, for the deep queue's requests.
            compare_key = await auth.create_site(redis, COMPARE_SITE, "Bench without", int(time.time() * 1000))
            await Store(redis, idempotency_ttl=60).ensure_group(COMPARE_SITE)
            port = free_port()
            serve = ["serve", "--port", str(port), "--workers", str(cfg.workers)]
            plain = Proc("service-without", [sys.executable, "-m", "bench.switch", *serve], env, tmp / "without.log")
            procs.append(plain)
            await asyncio.to_thread(wait_ready, plain, port, cfg.workers)
            if cfg.warmup:
                await asyncio.to_thread(
                    run_wrk, cfg, port, cfg.warmup, bodies_file, compare_key, tmp / "plain-warm.json", 5
                )
            print(f"service without reputation and whole-submission signals: {cfg.seconds} s ...", flush=True)
            plain_workers = children(plain.popen.pid) if cfg.workers > 1 else [plain.popen.pid]
            result["without_submission_signals"] = await asyncio.to_thread(
                run_wrk, cfg, port, cfg.seconds, bodies_file, compare_key, tmp / "plain.json", 6,
                {"server": plain_workers, "redis": [redis_proc.popen.pid]},
            )  # fmt: skip
            result["submission_signals_cost"] = signals_cost(result["service"], result["without_submission_signals"])
            plain.stop()
            procs.remove(plain)

        if cfg.depth:
            docs, sizes = await sample_docs(redis, BENCH_SITE, 64)
            templates = deep_queue.templates_from(docs, sizes)
            await auth.create_site(redis, DEEP_SITE, "Deep queue", int(time.time() * 1000))
            tokens = [await auth.add_moderator(redis, [DEEP_SITE], f"mod-{i}") for i in range(4)]
            print(f"deep queue: filling {cfg.depth:,} pending items ...", flush=True)
            deep = await deep_queue.fill(redis, DEEP_SITE, cfg.depth, templates)
            print(f"deep queue: list/claim/decide x{cfg.queue_ops} ...", flush=True)
            deep.update(await deep_queue.measure_ops(base, DEEP_SITE, tokens, cfg.queue_ops))
            result["deep_queue"] = deep
        result["service"]["workers_after"] = [{"pid": pid, **rss_mb(pid)} for pid in workers]
        await redis.aclose()
    finally:
        for proc in reversed(procs):
            proc.stop()
        result["machine"]["loadavg_end"] = loadavg()
        if os.environ.get("BENCH_KEEP_TMP") != "1":
            shutil.rmtree(tmp, ignore_errors=True)
    result["checks"] = checks(result)
    return result


def signals_cost(with_: dict[str, Any], without: dict[str, Any]) -> dict[str, float]:
    """What reputation and the whole-submission signals change: accepted/s and server CPU per
    request with them over without, minus one (one pair of runs: on a shared machine the spread
    between runs can exceed the effect; CPU per request varies less)."""
    out = {"throughput": round(with_["accepted_per_s"] / max(1e-9, without["accepted_per_s"]) - 1, 4)}
    server_with, server_without = with_["cpu_us_per_request"]["server"], without["cpu_us_per_request"]["server"]
    out["server_cpu"] = round(server_with / max(1e-9, server_without) - 1, 4)
    return out


def checks(r: dict[str, Any]) -> dict[str, bool]:
    out: dict[str, bool] = {}
    svc = r.get("service", {})
    if "accepted_per_s" in svc:
        out["accepted_per_s"] = svc["accepted_per_s"] >= TARGETS["accepted_per_s"]
        out["p99_ms"] = svc["latency_ms"]["p99"] <= TARGETS["p99_ms"]
        out["errors"] = svc["errors"] == 0
    if "ratio_to_reference" in r:
        out["ratio_to_reference"] = r["ratio_to_reference"] >= TARGETS["ratio_to_reference"]
    if "startup_to_ready_s" in svc:
        out["startup_s"] = svc["startup_to_ready_s"] <= TARGETS["startup_s"]
    if svc.get("workers_after"):
        out["rss_mb_per_worker"] = max(w["peak_rss_mb"] for w in svc["workers_after"]) <= TARGETS["rss_mb_per_worker"]
    deep = r.get("deep_queue")
    if deep:
        out["redis_bytes_per_pending_beyond_text"] = (
            deep["redis_bytes_per_pending_beyond_text"] <= TARGETS["redis_bytes_per_pending_beyond_text"]
        )
        out["queue_op_p99_ms"] = (
            all(deep[op].get("p99_ms", 1e9) <= TARGETS["queue_op_p99_ms"] for op in ("list", "claim", "decide"))
            and not deep["errors"]
        )
    return out


def summary(r: dict[str, Any]) -> str:
    cfg = r["config"]
    lines = [
        f"moderation bench — {cfg['seconds']} s per phase, {cfg['connections']} connections, "
        f"{cfg['threads']} wrk threads, {cfg['workers']} workers, {r['machine']['cpus']} CPUs, "
        f"load average {r['machine']['loadavg_start'][0]:.2f} at start",
    ]
    for name in ("reference", "service"):
        x = r.get(name)
        if not x or "accepted_per_s" not in x:
            continue
        lat = x["latency_ms"]
        lines.append(
            f"  {name:<10} {x['accepted_per_s']:>9,.0f} accepted/s  p50 {lat['p50']:.2f} ms  p95 {lat['p95']:.2f} ms"
            f"  p99 {lat['p99']:.2f} ms  errors {x['errors']}"
        )
        cpu = ", ".join(f"{k} {v:.0f}" for k, v in x["cpu_us_per_request"].items())
        lines.append(f"             CPU µs per request: {cpu} (CPU-bound at {x['cpu_bound_requests_per_s']:,}/s)")
    if "ratio_to_reference" in r:
        lines.append(f"  ratio to reference: {r['ratio_to_reference'] * 100:.1f} %")
    plain = r.get("without_submission_signals")
    if plain:
        cost = r["submission_signals_cost"]
        lines.append(
            f"  without reputation and whole-submission signals: {plain['accepted_per_s']:,.0f} accepted/s,"
            f" server CPU {plain['cpu_us_per_request']['server']:.0f} µs per request"
        )
        lines.append(
            f"    with them (one pair of runs): accepted/s {cost['throughput'] * 100:+.1f} %,"
            f" server CPU per request {cost['server_cpu'] * 100:+.1f} % (issue 22: at most 10 % fewer accepted/s)"
        )
    svc = r.get("service", {})
    if svc.get("workers_after"):
        rss = ", ".join(f"{w['rss_mb']:.0f} MB (peak {w['peak_rss_mb']:.0f})" for w in svc["workers_after"])
        lines.append(f"  RSS per worker: {rss}")
    if "startup_to_ready_s" in svc:
        lines.append(f"  start-up to ready: {svc['startup_to_ready_s']:.2f} s")
    if "redis_bytes_per_stored_beyond_text" in svc:
        lines.append(
            f"  Redis per stored comment (load test, all statuses): {svc['redis_bytes_per_stored_comment']:.0f} B,"
            f" {svc['redis_bytes_per_stored_beyond_text']:.0f} B beyond the text"
        )
    deep = r.get("deep_queue")
    if deep:
        lines.append(
            f"  deep queue {deep['depth']:,} pending (filled in {deep['fill_seconds']} s): "
            f"{deep['redis_bytes_per_pending_comment']:.0f} B per pending comment, "
            f"{deep['redis_bytes_per_pending_beyond_text']:.0f} B beyond the text"
        )
        for op in ("list", "claim", "decide"):
            o = deep[op]
            if o.get("n"):
                lines.append(
                    f"    {op:<7} n={o['n']:<4} p50 {o['p50_ms']:.2f} ms  p95 {o['p95_ms']:.2f} ms"
                    f"  p99 {o['p99_ms']:.2f} ms"
                )
        if deep["errors"]:
            lines.append(f"    errors: {deep['errors']}")
    failed = [k for k, ok in r.get("checks", {}).items() if not ok]
    lines.append("  targets: " + ("all met" if not failed else "missed " + ", ".join(failed)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    cfg = Config.parse(argv)
    result = asyncio.run(amain(cfg))
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(summary(result))
    print(f"  written to {cfg.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
