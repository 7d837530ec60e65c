"""Micro-batching of model scoring across concurrent requests.

Scoring one document per call costs several times more than its share of a batch
(vectoriser and predict_proba overheads are per call), so concurrent requests wait
a bounded time (``max_wait_ms``) for company, up to ``max_size`` documents, and are
scored together. Under light load a lone request waits at most ``max_wait_ms``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from moderation.core.metrics import Metrics
from moderation.scoring.scorer import Score, ScoreInput, Scorer


class Batcher:
    def __init__(self, scorer: Scorer, *, max_size: int, max_wait_ms: float, metrics: Metrics | None = None) -> None:
        self.scorer = scorer
        self.max_size = max(1, max_size)
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self._pending: list[tuple[ScoreInput, asyncio.Future[Score]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self.metrics = metrics

    def swap(self, scorer: Scorer) -> None:
        """Use a newly loaded model for every batch that starts from now on."""
        self.scorer = scorer

    async def score(self, item: ScoreInput) -> Score:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Score] = loop.create_future()
        self._pending.append((item, future))
        if len(self._pending) >= self.max_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait, self._flush)
        return await future

    async def score_now(self, items: Sequence[ScoreInput]) -> list[Score]:
        return self.scorer.score(items)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        live = [(item, fut) for item, fut in batch if not fut.done()]
        if not live:
            return
        scorer = self.scorer
        try:
            results = scorer.score([item for item, _ in live])
        except Exception as exc:  # a model bug must fail these requests, not the loop
            for _, fut in live:
                if not fut.done():
                    fut.set_exception(exc)
            return
        if self.metrics is not None:
            self.metrics.scored(len(live))
        for (_, fut), result in zip(live, results, strict=True):
            if not fut.done():
                fut.set_result(result)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for _, fut in self._pending:
            if not fut.done():
                fut.cancel()
        self._pending = []

