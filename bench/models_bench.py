"""Per-comment cost of scoring both models (spam + toxicity + explanations), batched.

    .venv/bin/python -m bench.models_bench
    .venv/bin/python -m bench.models_bench --models models --corpus bench/data/corpus.csv --repeat 3

Prints figures; not a timed test (machine load makes hard limits flaky). Comments are the
committed bench corpus (bench/data/README.md): Vietnamese social-media comments, Vietnamese
spam and ordinary comments, English YouTube and news-site reader comments, i.e. real length
distributions, with English rows going through the English toxicity model. ``--data-root``
reads the older mix from the shared data sets instead (ViHSD dev, ViSpamReviews dev, YouTube,
1,500 Impermium comments), to compare with figures taken before the corpus existed.

``--against DIR`` measures another checkout of the project (its own code and models, e.g. a
``git worktree`` of the previous commit) at batch 256 in the same run, the two taking turns
``--repeat`` times, so a cost target ("at most 1.5x the current models") is read on one
machine state: the machine is shared and its speed varies by 2x within an hour. Both read the
same comments: give ``--data-root`` when the other checkout predates the corpus.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.corpus import CORPUS  # noqa: E402
from moderation.scoring.scorer import ScoreInput, Scorer  # noqa: E402


def load_shared_comments(root: Path) -> list[str]:
    """The mix read before the committed corpus existed (research-use sets, not in the repo)."""
    sources = [
        (root / "vihsd" / "dev.csv", "free_text", None),
        (root / "vispamreviews" / "dev.csv", "Comment", None),
        (root / "youtube-spam" / "Youtube01-Psy.csv", "CONTENT", None),
        (root / "english-comments" / "impermium_insults.csv", "Comment", 1500),
    ]
    texts: list[str] = []
    for path, column, limit in sources:
        with path.open(newline="", encoding="utf-8") as fh:
            texts += [row[column] for row in csv.DictReader(fh)][:limit]
    random.Random(0).shuffle(texts)
    return texts


def load_comments(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as fh:
        texts = [row["text"] for row in csv.DictReader(fh) if row["text"].strip()]
    random.Random(0).shuffle(texts)
    return texts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("BENCH_CORPUS") or CORPUS))
    parser.add_argument("--data-root", type=Path, default=None,
                        help="read the older mix from the shared data sets instead of the corpus")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_MODELS_REPEAT") or 3))
    parser.add_argument("--against", type=Path, default=None, help="another checkout to compare at batch 256")
    args = parser.parse_args()
    if args.against is not None:
        return compare(args)

    started = time.perf_counter()
    scorer = Scorer.load(args.models)
    print(f"load: {(time.perf_counter() - started) * 1000:.0f} ms  version={scorer.version}")
    texts = load_shared_comments(args.data_root) if args.data_root else load_comments(args.corpus)
    mean_len = statistics.mean(len(t) for t in texts)
    print(f"comments: {len(texts)}  mean length {mean_len:.0f} chars")
    inputs = [ScoreInput(t) for t in texts]
    for batch_size in (1, 16, 64, 256):
        n = min(len(inputs), 2000 if batch_size == 1 else len(inputs))
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for i in range(0, n, batch_size):
                scorer.score(inputs[i : i + batch_size])
            best = min(best, time.perf_counter() - t0)
        per = best / n * 1e6
        print(f"batch {batch_size:>4}: {per:7.1f} us/comment  ({n / best:,.0f} comments/s, 1 core)")
    long_text = [ScoreInput("Bình luận rất dài. " * 3500)]
    t0 = time.perf_counter()
    scorer.score(long_text)
    print(f"one 65 KB comment (truncated to 4,000 chars): {(time.perf_counter() - t0) * 1000:.2f} ms")
    return 0


_PER_COMMENT_RE = re.compile(r"batch\s+256:\s+([\d.]+) us/comment")


def _one_run(root: Path, models: Path, args: argparse.Namespace) -> float:
    comments = ["--data-root", str(args.data_root)] if args.data_root else ["--corpus", str(args.corpus.resolve())]
    out = subprocess.run(
        [sys.executable, str(root / "bench" / "models_bench.py"), "--models", str(models), *comments, "--repeat", "1"],
        check=True, capture_output=True, text=True, cwd=root,
    ).stdout  # fmt: skip
    match = _PER_COMMENT_RE.search(out)
    if match is None:
        raise SystemExit(f"no batch 256 figure in the output of {root}:\n{out}")
    return float(match.group(1))


def compare(args: argparse.Namespace) -> int:
    """This checkout and ``--against`` taking turns at batch 256; the best run of each."""
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(args.repeat):
        ours.append(_one_run(ROOT, args.models, args))
        theirs.append(_one_run(args.against.resolve(), args.against.resolve() / "models", args))
    print(f"batch 256, this checkout: {min(ours):.1f} us/comment (runs {', '.join(f'{v:.0f}' for v in ours)})")
    print(f"batch 256, {args.against}: {min(theirs):.1f} us/comment (runs {', '.join(f'{v:.0f}' for v in theirs)})")
    print(f"ratio: {min(ours) / min(theirs):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
