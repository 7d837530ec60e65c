"""Prometheus metrics that are the same whichever worker answers the scrape.

`serve --workers N` runs N processes behind one port, and a scraper's connections land on
any of them. Counters kept in each process would make consecutive scrapes jump between
workers' totals (and Prometheus compute nonsense rates), so the counters and histograms
use prometheus_client's multiprocess mode: every worker writes its values to its own
memory-mapped files in ``PROMETHEUS_MULTIPROC_DIR`` and a scrape adds up every file there.
`serve` sets that folder up (a fresh temporary one per run when the variable is unset) for
more than one worker. A worker that dies keeps its files, so totals never go down when the
serving process replaces it; they restart from zero only with the whole service, as any
Prometheus counter may. One process without the variable keeps its values in memory.

Queue depths and the model version are read when scraped (from Redis, from the answering
worker), so they need no sharing. Recording costs a few microseconds per request (an mmap
write under a lock; measured in the README, Operations).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

# prometheus_client chooses in-memory or file-backed values from this variable when it is
# first imported; the collector below follows the same variable so the two always agree.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Latency buckets in seconds: fine-grained under 25 ms, where the service should live.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


class Metrics:
    """The service's counters; one per app, never registered in prometheus_client's global registry."""

    def __init__(self, statuses: Iterable[str] = ()) -> None:
        shared = multiprocess_dir()
        # Multiprocess mode has no *_created series; one process leaves them out too, so the
        # output has the same series whatever the number of workers.
        disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
        self.registry = CollectorRegistry(auto_describe=True)
        # File-backed values are collected from the folder, not from these objects.
        own = None if shared else self.registry
        self.requests = Counter(
            "moderation_http_requests", "HTTP requests by method, route and status.",
            ("method", "route", "status"), registry=own,
        )
        self.latency = Histogram(
            "moderation_http_request_duration_seconds", "Request latency by route.",
            ("route",), buckets=BUCKETS, registry=own,
        )
        self.decisions = Counter(
            "moderation_decisions", "Decisions by resulting status (submissions, moderators, rechecks).",
            ("status",), registry=own,
        )
        self.batches = Counter("moderation_scoring_batches", "Model scoring batches run.", registry=own)
        self.documents = Counter("moderation_scored_documents", "Documents scored.", registry=own)
        # Background loops (service/core/health.py). The "live" gauges are dropped for a worker
        # that died (serve calls mark_process_dead), so a replaced worker's last values do not
        # stay in the output; livemin shows the worker whose loop succeeded longest ago.
        self.loop_success = Gauge(
            "moderation_loop_last_success_timestamp_seconds",
            "Unix time of the last successful iteration of each background loop (the oldest worker's).",
            ("loop",), registry=own, multiprocess_mode="livemin",
        )
        self.loop_failures = Counter(
            "moderation_loop_failures", "Failed iterations of a background loop or of one site in it.",
            ("loop",), registry=own,
        )
        self.loop_parked = Counter(
            "moderation_loop_parked_items", "Items a background loop set aside with a reason (dead letters...).",
            ("loop",), registry=own,
        )
        self.loop_site_failing = Gauge(
            "moderation_loop_site_failing", "1 while a site's round of a background loop keeps failing.",
            ("loop", "site"), registry=own, multiprocess_mode="livemax",
        )
        self.webhook_attempts = Counter(
            "moderation_webhook_attempts", "Webhook delivery attempts by result (delivered, failed, dead, parked).",
            ("result",), registry=own,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        for status in statuses:  # every status is reported from the start, at 0
            self.decisions.labels(status)
        if shared is not None:
            MultiProcessCollector(self.registry, path=str(shared))  # type: ignore[no-untyped-call]  # untyped upstream

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        # labels() takes a lock and builds the key on every call (about 40 % of the cost of
        # recording a request); the few (method, route, status) children are kept here instead.
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(method, route, str(status)), self.latency.labels(route))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def decided(self, status: str) -> None:
        self.decisions.labels(status).inc()

    def scored(self, documents: int) -> None:
        self.batches.inc()
        self.documents.inc(documents)

    def loop_registered(self, loop: str) -> None:
        # Reported from the start, at 0, so an alert on the rate has a series to read.
        self.loop_failures.labels(loop)
        self.loop_parked.labels(loop)

    def loop_succeeded(self, loop: str) -> None:
        self.loop_success.labels(loop).set(time.time())

    def loop_failed(self, loop: str) -> None:
        self.loop_failures.labels(loop).inc()

    def item_parked(self, loop: str) -> None:
        self.loop_parked.labels(loop).inc()

    def site_failing(self, loop: str, site: str, failing: bool) -> None:
        self.loop_site_failing.labels(loop, site).set(1 if failing else 0)

    def webhook_attempt(self, result: str) -> None:
        self.webhook_attempts.labels(result).inc()

    def render(self, queue_depth: dict[tuple[str, str], int], model_version: str) -> str:
        out = [generate_latest(self.registry).decode("utf-8").rstrip("\n")]
        out += [
            "# HELP moderation_queue_depth Comments per site and status.",
            "# TYPE moderation_queue_depth gauge",
        ]
        for (site, status), depth in sorted(queue_depth.items()):
            out.append(f'moderation_queue_depth{{site="{_label(site)}",status="{status}"}} {depth}')
        out += [
            "# HELP moderation_model_info The model version loaded by the worker that answered.",
            "# TYPE moderation_model_info gauge",
            f'moderation_model_info{{version="{_label(model_version)}"}} 1',
        ]
        return "\n".join(out) + "\n"
