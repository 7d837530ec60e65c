"""The service without reputation and whole-submission signals, for measuring what they cost.

Benchmarks only: issue 22 asks that reputation and the whole-submission signals cost at most
10 % of ``make bench``'s throughput, which needs the same build measured with and without them.
Off means: no entries, no HMACs, no reputation fields in the pre-check, no signals, no shift
of the text model's score (``Rules.prepare`` then passes no entry ids, and the pre-check script
skips its two HMGETs). Everything else on the path is the same code.

* In-process (bench/inprocess.py): :func:`switched_off` around a phase.
* A server (bench/run.py): ``python -m bench.switch serve ...`` instead of
  ``python -m moderation serve ...``. The multi-worker server starts its workers with the
  ``spawn`` method, which imports the parent's main module again in each worker (as
  ``__mp_main__``), so the switch below applies in the workers too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moderation.moderation import operations
from moderation.moderation.reputation import Lookup, Reputation
from moderation.scoring.text import CommentText


def _text_only(score: Any, text: CommentText, prepared: Any) -> tuple[Any, None]:
    return score, None


async def _no_lookup(self: Reputation, text: CommentText) -> Lookup:
    return Lookup()


_ORIGINAL = (operations.whole_submission, Reputation.lookup)


def switch_off() -> None:
    operations.whole_submission = _text_only
    Reputation.lookup = _no_lookup  # type: ignore[method-assign]


def switch_on() -> None:
    operations.whole_submission, Reputation.lookup = _ORIGINAL  # type: ignore[method-assign]


@contextmanager
def switched_off() -> Iterator[None]:
    switch_off()
    try:
        yield
    finally:
        switch_on()


if __name__ in ("__main__", "__mp_main__"):
    # The server's entry point, or its main module imported again by a spawned worker.
    switch_off()

if __name__ == "__main__":
    from moderation.cli.main import main

    raise SystemExit(main())
