"""Per-day moderation counters behind the dashboard (``GET /v1/sites/{site}/stats``).

One Redis hash per site and day, ``keys.stats_day(site, day)``, incremented by the submit,
decide and recheck scripts (store/comments.py) in the same script as the comment they
count, so a count never disagrees with what was stored. The first write of a day sets the
hash's expiry to ``KEEP_DAYS + 1`` days (``EXPIRE … NX``, Redis 7); a day is written only
while it is "today" (in the configured UTC offset), so it outlives its last write by at
least ``KEEP_DAYS`` days and memory per site is bounded by ``KEEP_DAYS + 2`` hashes of at
most 50 small integer fields (1,368 bytes by MEMORY USAGE with all of them), whatever the traffic.

Fields of a day's hash:

- ``auto:<status>``: comments stored, by their automatic outcome (their sum: submissions).
- ``reason:<code>``: reason codes of the stored comments (each code once per comment).
- ``dec:<status>``: moderator decisions; ``dec_reason:<reason>``: the reasons they gave;
  ``revised``: those of them that replaced an earlier decision (counted in ``dec:`` too).
- ``recheck:<status>``: pending comments a newer model moved.
- ``wait:<le>``: moderator decisions on held (pending) comments by time since submission,
  ``le`` the bucket's upper bound in seconds (``inf`` last); ``wait_n``/``wait_ms`` their
  count and summed milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from moderation.store import keys

# Days are counted in this UTC offset unless MODERATION_STATS_UTC_OFFSET_MINUTES says otherwise:
# Vietnam (UTC+7, no daylight saving), so a newsroom's "today" starts at its midnight.
DEFAULT_UTC_OFFSET_MINUTES = 420
# Days a day's counters are kept, and the most a stats request may ask for.
KEEP_DAYS = 90
DEFAULT_DAYS = 14
TTL_SECONDS = (KEEP_DAYS + 1) * 86_400
# Upper bounds (seconds) of the time-to-decision histogram: fine where moderators work
# (minutes), coarse where a queue was forgotten (days). The last bucket is open-ended.
WAIT_BUCKETS: tuple[int, ...] = (
    30,
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    14_400,
    28_800,
    43_200,
    86_400,
    172_800,
    259_200,
    604_800,
)
# Pending-queue ages reported exactly from the status index (its order is time order).
QUEUE_QUANTILES = (0.5, 0.9)
DECISION_QUANTILES = (0.5, 0.9, 0.99)


def day_of(ms: int, offset_minutes: int) -> str:
    """The calendar day (YYYY-MM-DD) of a millisecond time at the given UTC offset."""
    return (datetime.fromtimestamp(ms / 1000, UTC) + timedelta(minutes=offset_minutes)).strftime("%Y-%m-%d")


def wait_field(wait_ms: int) -> str:
    """The histogram field of one decision made ``wait_ms`` after the comment arrived."""
    seconds = max(0, wait_ms) / 1000
    for bound in WAIT_BUCKETS:
        if seconds <= bound:
            return f"wait:{bound}"
    return "wait:inf"


def _quantile(q: float, counts: Sequence[int], total_ms: int | None = None) -> float | None:
    """Prometheus' histogram_quantile: linear within the bucket holding the q-th decision.

    ``counts`` per bucket of WAIT_BUCKETS plus the open one; a quantile in the open bucket
    is reported as the last finite bound, as Prometheus does. With ``total_ms``, the sum of
    every waiting time, the bucket is first narrowed to the values that sum allows
    (:func:`_feasible`): a single decision after 0.1 s is 0.1 s, not the middle of (0, 30 s].
    """
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    seen = 0
    lower = 0.0
    for i, n in enumerate(counts):
        if i == len(WAIT_BUCKETS):
            return float(WAIT_BUCKETS[-1])
        upper = float(WAIT_BUCKETS[i])
        if n and seen + n >= rank:
            if total_ms is not None:
                lower, upper = _feasible(i, counts, total_ms / 1000)
            return round(lower + (upper - lower) * (rank - seen) / n, 1)
        seen += n
        lower = upper
    return float(WAIT_BUCKETS[-1])  # pragma: no cover - the loop returns at the open bucket


def _feasible(j: int, counts: Sequence[int], total_seconds: float) -> tuple[float, float]:
    """The range any single waiting time in bucket ``j`` can have, given every bucket's count
    and the exact sum of all waiting times.

    The values of the other buckets lie within their bounds, so bucket ``j``'s values sum to
    between ``total - (the others at their upper bounds)`` and ``total - (the others at their
    lower bounds)``; one value of ``j`` is then at most that sum less the other ``n_j - 1`` at
    the bucket's lower bound, and at least it less them at the upper bound. With one decision,
    both ends are its exact time. Counters that disagree (a sum outside the bounds) leave the
    bucket's own bounds.
    """
    lowers = [0.0, *map(float, WAIT_BUCKETS)]
    uppers = [*map(float, WAIT_BUCKETS), math.inf]
    others_low = sum(n * lowers[i] for i, n in enumerate(counts) if n and i != j)
    others_high = sum(n * uppers[i] for i, n in enumerate(counts) if n and i != j)
    n = counts[j]
    sum_low = max(n * lowers[j], total_seconds - others_high)
    sum_high = min(n * uppers[j], total_seconds - others_low)
    low = max(lowers[j], sum_low - (n - 1) * uppers[j])
    high = min(uppers[j], sum_high - (n - 1) * lowers[j])
    if low > high:
        return lowers[j], uppers[j]
    return low, high


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _prefixed(row: Mapping[str, str], prefix: str, allowed: Iterable[str] | None = None) -> dict[str, int]:
    wanted = set(allowed) if allowed is not None else None
    out: dict[str, int] = {}
    for field, value in row.items():
        if field.startswith(prefix):
            name = field[len(prefix) :]
            if wanted is None or name in wanted:
                out[name] = out.get(name, 0) + _int(value)
    return out


def _waits(row: Mapping[str, str]) -> list[int]:
    return [_int(row.get(f"wait:{b}")) for b in WAIT_BUCKETS] + [_int(row.get("wait:inf"))]


def _time_to_decision(counts: Sequence[int], total_ms: int) -> dict[str, Any]:
    n = sum(counts)
    out: dict[str, Any] = {"count": n, "mean_seconds": round(total_ms / n / 1000, 1) if n else None}
    for q in DECISION_QUANTILES:
        out[f"p{round(q * 100)}_seconds"] = _quantile(q, counts, total_ms)
    return out


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _day_view(day: str, row: Mapping[str, str]) -> dict[str, Any]:
    auto = {s: _int(row.get(f"auto:{s}")) for s in keys.STATUSES}
    submitted = sum(auto.values())
    return {
        "day": day,
        "submitted": submitted,
        "auto": auto,
        "decided": {s: _int(row.get(f"dec:{s}")) for s in keys.STATUSES if s != "pending"},
        "rechecked": {s: _int(row.get(f"recheck:{s}")) for s in keys.STATUSES if s != "pending"},
        "spam_share": _share(auto["spam"], submitted),
        "reasons": dict(sorted(_prefixed(row, "reason:").items())),
        "decision_reasons": dict(sorted(_prefixed(row, "dec_reason:").items())),
        "time_to_decision": _time_to_decision(_waits(row), _int(row.get("wait_ms"))),
    }


def _sum(views: Sequence[dict[str, Any]], name: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for view in views:
        for key, value in view[name].items():
            out[key] = out.get(key, 0) + value
    return out


async def _queue_age(redis: Redis, site: str, now_ms: int) -> dict[str, Any]:
    # Ids start with their creation time in hex and the index is ordered by id, so a
    # rank in the index is a rank in age: each figure is one O(log N) read.
    index = keys.status_index(site, "pending")
    pending = int(await redis.zcard(index))
    out: dict[str, Any] = {"pending": pending, "oldest_seconds": None}
    out.update({f"p{round(q * 100)}_seconds": None for q in QUEUE_QUANTILES})
    if not pending:
        return out
    # The q-th quantile of age is the (1 - q) quantile of creation time, counted from the oldest.
    ranks = [0] + [math.floor((1 - q) * (pending - 1)) for q in QUEUE_QUANTILES]
    pipe = redis.pipeline(transaction=False)
    for rank in ranks:
        pipe.zrange(index, rank, rank)
    rows = await pipe.execute()
    ages: list[float | None] = []
    for row in rows:
        comment_id = str(row[0]) if row else ""
        try:
            created = int(comment_id[:11], 16)
        except ValueError:
            ages.append(None)
            continue
        ages.append(round(max(0, now_ms - created) / 1000, 1))
    out["oldest_seconds"] = ages[0]
    for q, age in zip(QUEUE_QUANTILES, ages[1:], strict=True):
        out[f"p{round(q * 100)}_seconds"] = age
    return out


async def site_stats(redis: Redis, site: str, days: int, now_ms: int, offset_minutes: int) -> dict[str, Any]:
    """The last ``days`` days (today included, oldest first) of one site's counters."""
    today = datetime.fromtimestamp(now_ms / 1000, UTC) + timedelta(minutes=offset_minutes)
    names = [(today - timedelta(days=back)).strftime("%Y-%m-%d") for back in range(days - 1, -1, -1)]
    # Every key carries the site's hash tag, so the pipeline goes to one node on a cluster.
    pipe = redis.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.stats_day(site, name))
    rows: list[dict[str, str]] = [{str(k): str(v) for k, v in (row or {}).items()} for row in await pipe.execute()]
    daily = [_day_view(name, row) for name, row in zip(names, rows, strict=True)]
    waits = [sum(c) for c in zip(*(_waits(row) for row in rows), strict=True)]
    wait_ms = sum(_int(row.get("wait_ms")) for row in rows)
    submitted = sum(d["submitted"] for d in daily)
    auto = _sum(daily, "auto")
    reasons = _sum(daily, "reasons")
    totals = {
        "submitted": submitted,
        "auto": auto,
        "decided": _sum(daily, "decided"),
        "rechecked": _sum(daily, "rechecked"),
        "spam_share": _share(auto.get("spam", 0), submitted),
        "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "decision_reasons": dict(sorted(_sum(daily, "decision_reasons").items(), key=lambda kv: (-kv[1], kv[0]))),
        "time_to_decision": {
            **_time_to_decision(waits, wait_ms),
            "buckets": [
                {"le_seconds": bound, "count": n} for bound, n in zip([*WAIT_BUCKETS, None], waits, strict=True)
            ],
        },
    }
    return {
        "site": site,
        "days": days,
        "utc_offset_minutes": offset_minutes,
        "from": names[0],
        "to": names[-1],
        "daily": daily,
        "totals": totals,
        "queue": await _queue_age(redis, site, now_ms),
    }
