"""Health of the background loops: last success, failures, failing sites, parked items.

Modelled on arq's worker: each unit of work (one site's round, one item) fails on its own;
the failure is logged once with its identity, counted, and retried with backoff (a site)
or parked with its reason (an item), and the loop goes on. This module keeps the record
of that for one loop in one worker process:

* the loop's last success (an iteration that listed its sites and ran): ``/readyz`` calls a
  loop *stale* when it has not succeeded for ``STALE_PERIODS`` of its periods;
* each failing site: since when, how many failures in a row, the error; the site is
  retried after a backoff that doubles per failure up to ``backoff_max``, and is
  *stale* too once it has been failing for ``STALE_PERIODS`` periods;
* counters and gauges in :class:`moderation.core.metrics.Metrics` for each of these.

Logging: a site that starts failing is logged once (one line, the error escaped with
``logfields.escape``); the same error again is only counted; a different error is logged
once more; recovery is one line. A traceback is logged at DEBUG, once per streak, so a
site that fails every second cannot flood the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from moderation.core.logfields import escape
from moderation.core.metrics import Metrics

# A loop (or a site in it) that has not succeeded for this many periods is reported stale.
STALE_PERIODS: Final = 5
# Backoff of a failing site (or loop) doubles from its period up to this, unless the loop says otherwise.
DEFAULT_BACKOFF_MAX_SECONDS: Final = 60.0


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one printable line."""
    text = str(exc)
    return escape(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


@dataclass(slots=True)
class SiteFailure:
    since: float  # clock() of the first failure in this streak
    failures: int
    error: str
    retry_at: float


class LoopHealth:
    """The health record of one background loop (``name``) in this process."""

    def __init__(
        self,
        name: str,
        period_seconds: float,
        *,
        metrics: Metrics | None = None,
        backoff_max_seconds: float = DEFAULT_BACKOFF_MAX_SECONDS,
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.period = max(period_seconds, 0.001)
        self.backoff_max = max(backoff_max_seconds, self.period)
        self.metrics = metrics
        self.log = logger or logging.getLogger(f"moderation.{name}")
        self.clock = clock
        self.started = clock()
        self.last_success: float | None = None
        self.failures = 0  # loop-level failures in a row
        self.loop_error = ""
        self.total_failures = 0
        self.parked = 0
        self.sites: dict[str, SiteFailure] = {}
        if metrics is not None:
            metrics.loop_registered(name)

    # ------------------------------------------------------------ the loop itself

    def loop_ok(self) -> None:
        if self.failures:
            self.log.info("%s: running again after %d failed attempts", self.name, self.failures)
        self.failures, self.loop_error = 0, ""
        self.last_success = self.clock()
        if self.metrics is not None:
            self.metrics.loop_succeeded(self.name)

    def loop_failed(self, exc: BaseException) -> float:
        """Record a failure of the loop as a whole (it could not even list its sites);
        returns how long to wait before the next attempt."""
        error = describe(exc)
        self.failures += 1
        self.total_failures += 1
        if error != self.loop_error:
            self.log.warning("%s: loop failed, retrying with backoff: %s", self.name, error)
            self.log.debug("%s: loop failure", self.name, exc_info=exc)
            self.loop_error = error
        if self.metrics is not None:
            self.metrics.loop_failed(self.name)
        return self._backoff(self.failures)

    # ------------------------------------------------------------ one site of the loop

    def site_due(self, site: str) -> bool:
        """False while a failing site waits for its backoff to pass."""
        failure = self.sites.get(site)
        return failure is None or self.clock() >= failure.retry_at

    def site_ok(self, site: str) -> None:
        failure = self.sites.pop(site, None)
        if failure is not None:
            self.log.info("%s: site %s running again after %d failures", self.name, site, failure.failures)
            if self.metrics is not None:
                self.metrics.site_failing(self.name, site, False)

    def site_failed(self, site: str, exc: BaseException | str) -> float:
        """Record a failed round of ``site``; returns the delay before its next round."""
        error = exc if isinstance(exc, str) else describe(exc)
        now = self.clock()
        failure = self.sites.get(site)
        if failure is None:
            failure = self.sites[site] = SiteFailure(since=now, failures=0, error="", retry_at=now)
            if self.metrics is not None:
                self.metrics.site_failing(self.name, site, True)
        failure.failures += 1
        self.total_failures += 1
        if error != failure.error:
            self.log.warning(
                "%s: site %s failing (other sites go on), retrying with backoff: %s", self.name, site, error
            )
            if isinstance(exc, BaseException):
                self.log.debug("%s: site %s failure", self.name, site, exc_info=exc)
            failure.error = error
        delay = self._backoff(failure.failures)
        failure.retry_at = now + delay
        if self.metrics is not None:
            self.metrics.loop_failed(self.name)
        return delay

    def site_removed(self, site: str) -> None:
        """The site left the loop (its webhook was disabled, the site deleted): forget its failures."""
        if self.sites.pop(site, None) is not None and self.metrics is not None:
            self.metrics.site_failing(self.name, site, False)

    def item_parked(self, site: str, item: str, reason: str) -> None:
        """An item set aside with its reason (a dead letter, a parked comment): one line each."""
        self.parked += 1
        self.log.warning("%s: site %s: %s parked: %s", self.name, site, escape(item, 100), escape(reason))
        if self.metrics is not None:
            self.metrics.item_parked(self.name)

    def _backoff(self, failures: int) -> float:
        return float(min(self.backoff_max, self.period * 2 ** min(max(0, failures - 1), 30)))

    # ------------------------------------------------------------ reading it

    def stale_after(self) -> float:
        return self.period * STALE_PERIODS

    def is_stale(self) -> bool:
        reference = self.last_success if self.last_success is not None else self.started
        return self.clock() - reference > self.stale_after()

    def stale_sites(self) -> list[str]:
        now, limit = self.clock(), self.stale_after()
        return sorted(site for site, f in self.sites.items() if now - f.since > limit)

    def snapshot(self) -> dict[str, Any]:
        """What /readyz shows: no site ids and no error text (it answers without credentials;
        /metrics and the log name the sites)."""
        now = self.clock()
        stale_sites = self.stale_sites()
        return {
            "status": "stale" if self.is_stale() or stale_sites else "ok",
            "period_seconds": self.period,
            "last_success_seconds_ago": None if self.last_success is None else round(now - self.last_success, 3),
            "failures": self.total_failures,
            "failing_sites": len(self.sites),
            "stale_sites": len(stale_sites),
            "parked_items": self.parked,
        }
