"""Prometheus text-format metrics kept in-process (each worker reports its own)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

# Latency buckets in seconds: fine-grained under 25 ms, where the service should live.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(slots=True)
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.n += 1


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass(slots=True)
class Metrics:
    requests: dict[tuple[str, str, int], int] = field(default_factory=lambda: defaultdict(int))
    latency: dict[str, _Histogram] = field(default_factory=lambda: defaultdict(_Histogram))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        self.latency[route].observe(seconds)

    def render(
        self,
        decisions: dict[str, int],
        queue_depth: dict[tuple[str, str], int],
        model_version: str,
        batches: int,
        documents: int,
    ) -> str:
        out: list[str] = [
            "# HELP moderation_http_requests_total HTTP requests by method, route and status.",
            "# TYPE moderation_http_requests_total counter",
        ]
        for (method, route, code), n in sorted(self.requests.items()):
            out.append(
                f'moderation_http_requests_total{{method="{method}",route="{_label(route)}",'
                f'status="{code}"}} {n}'
            )
        out += [
            "# HELP moderation_http_request_duration_seconds Request latency by route.",
            "# TYPE moderation_http_request_duration_seconds histogram",
        ]
        for route, hist in sorted(self.latency.items()):
            cumulative = 0
            r = _label(route)
            for bound, count in zip(BUCKETS, hist.counts, strict=False):
                cumulative += count
                out.append(f'moderation_http_request_duration_seconds_bucket{{route="{r}",le="{bound}"}} {cumulative}')
            out.append(f'moderation_http_request_duration_seconds_bucket{{route="{r}",le="+Inf"}} {hist.n}')
            out.append(f'moderation_http_request_duration_seconds_sum{{route="{r}"}} {hist.total:.6f}')
            out.append(f'moderation_http_request_duration_seconds_count{{route="{r}"}} {hist.n}')
        out += [
            "# HELP moderation_decisions_total Decisions made by this worker, by resulting status.",
            "# TYPE moderation_decisions_total counter",
        ]
        for status, count in sorted(decisions.items()):
            out.append(f'moderation_decisions_total{{status="{status}"}} {count}')
        out += [
            "# HELP moderation_queue_depth Comments per site and status.",
            "# TYPE moderation_queue_depth gauge",
        ]
        for (site, status), depth in sorted(queue_depth.items()):
            out.append(f'moderation_queue_depth{{site="{_label(site)}",status="{status}"}} {depth}')
        out += [
            "# HELP moderation_model_info The loaded model version.",
            "# TYPE moderation_model_info gauge",
            f'moderation_model_info{{version="{_label(model_version)}"}} 1',
            "# HELP moderation_scoring_batches_total Model scoring batches run by this worker.",
            "# TYPE moderation_scoring_batches_total counter",
            f"moderation_scoring_batches_total {batches}",
            "# HELP moderation_scored_documents_total Documents scored by this worker.",
            "# TYPE moderation_scored_documents_total counter",
            f"moderation_scored_documents_total {documents}",
        ]
        return "\n".join(out) + "\n"
