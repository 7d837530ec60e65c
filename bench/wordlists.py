"""``make bench`` (first step): word lists at their limits against the longest comment.

The security review stalled a worker for 18-39 s with two word lists of 2,400 x 200-character
entries and one 30,000-character comment. This measures the same shapes of attack at today's
limits (sitesettings.MAX_LIST_CHARS per list, 65,525-byte content): how long a site's
settings take to compile, the longest the event loop waits meanwhile (compilation runs in a
worker thread, as rules.Rules does), what matching one comment costs, and the memory two lists
hold. Prints one line per shape.

    .venv/bin/python -m bench.wordlists
"""

from __future__ import annotations

import asyncio
import os
import random
import resource
import time

from moderation.core.schemas import MAX_CONTENT_BYTES
from moderation.moderation.sitesettings import MAX_ENTRY_CHARS, MAX_LIST_CHARS, ActiveSettings, SiteSettings
from moderation.moderation.wordlists import PreparedFields

ROUNDS = int(os.environ.get("BENCH_WORDLISTS_ROUNDS") or 5)


def shapes() -> dict[str, tuple[list[str], list[str], str]]:
    rng = random.Random(14)
    n = MAX_LIST_CHARS // MAX_ENTRY_CHARS

    def shared_prefix(ch: str) -> list[str]:
        return [ch * (MAX_ENTRY_CHARS - 4) + f"{i:04d}" for i in range(n)]

    def random_entries() -> list[str]:
        return ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(MAX_ENTRY_CHARS)) for _ in range(n)]

    short = [f"{a}{b}" for a in "abcdefghij" for b in "klmnopqrst"] * 1  # 100 two-letter whole words
    words = "".join(rng.choice("ab ") for _ in range(MAX_CONTENT_BYTES))
    return {
        "review attack (shared 196-char prefixes, 'aaa...' comment)": (
            shared_prefix("a"), shared_prefix("o"), "a" * MAX_CONTENT_BYTES,
        ),
        "random 200-char entries, random comment": (
            random_entries(),
            random_entries(),
            "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(MAX_CONTENT_BYTES)),
        ),
        "short whole words, comment of 1-2 letter words": (short, short, words),
    }


async def idle_loop_stall(seconds: float = 1.0) -> float:
    """The longest loop stall with nothing else running: what the machine's load alone causes."""
    gaps: list[float] = []
    last = time.perf_counter()
    end = last + seconds
    while last < end:
        await asyncio.sleep(0)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    return max(gaps)


async def compile_watching_the_loop(settings: SiteSettings) -> tuple[float, float]:
    """Compile in a worker thread (as the service does); wall time and the longest loop stall."""
    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.to_thread(ActiveSettings.compile, 1, settings)
    wall = time.perf_counter() - started
    done = True
    await task
    return wall, max(gaps, default=0.0)


def main() -> None:
    print(f"word lists at the limits: {MAX_LIST_CHARS:,} characters per list, {MAX_CONTENT_BYTES:,}-char comment")
    idle = asyncio.run(idle_loop_stall())
    print(f"  longest event-loop stall with nothing running (machine load): {1000 * idle:.1f} ms")
    for name, (moderation, disallowed, text) in shapes().items():
        settings = SiteSettings(moderation_words=tuple(moderation), disallowed_words=tuple(disallowed))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        walls, stalls = [], []
        for _ in range(ROUNDS):
            wall, stall = asyncio.run(compile_watching_the_loop(settings))
            walls.append(wall)
            stalls.append(stall)
        active = ActiveSettings.compile(1, settings)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fields = PreparedFields([("content", text)])
        fields.find(active.moderation_words)  # normalizes the comment once (not word-list work)
        matches = []
        for _ in range(ROUNDS):
            # CPU time of this thread: the figure that does not depend on the machine's load.
            started = time.thread_time()
            fields.find(active.moderation_words)
            fields.find(active.disallowed_words)
            matches.append(time.thread_time() - started)
        print(
            f"  {name}: compile {1000 * min(walls):.0f}-{1000 * max(walls):.0f} ms in a thread, longest loop stall "
            f"{1000 * max(stalls):.1f} ms; match both lists "
            f"{1000 * min(matches):.2f}-{1000 * max(matches):.2f} ms CPU; "
            f"peak RSS +{(rss_after - rss_before) / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
