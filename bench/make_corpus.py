"""Writes bench/data/corpus.csv, the comments `make bench` sends, from sets that may be shared.

    .venv/bin/python -m bench.make_corpus --data-root ../shared/data

The benchmark needs realistic comment text (lengths, scripts, links, phone numbers), not
labels, and it must run from a clone with nothing beside it. So the corpus is committed, and
only sets whose terms allow passing them on go into it (bench/data/README.md lists each with
its licence): a seeded sample of three public sets plus the project's own seeded synthetic
Vietnamese comments. ViHSD and ViSpamReviews, which `make bench` read before, are published for
research use only and are not copied here. Seeded: the same data root gives the same file
(tests/test_bench.py checks it where ../shared/data is present).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from moderation.models import synthetic  # noqa: E402

OUT = ROOT / "bench" / "data" / "corpus.csv"
SEED = 20261207
# Rows per source. About 1,800 comments, ~320 KB: enough variety for 4,096 request bodies.
N_VI_SOCIAL = 700
N_SYNTHETIC_SPAM = 300
N_SYNTHETIC_HAM = 200
N_YOUTUBE = 300
N_CIVIL = 300
# The service takes at most 65,525 bytes of content; the bench keeps to ordinary lengths.
MAX_CHARS = 4000
COLUMNS = ("source", "lang", "label", "text")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def _sample(rows: list[tuple[str, str]], n: int, rng: random.Random) -> list[tuple[str, str]]:
    usable = sorted({(text.strip(), label) for text, label in rows if text.strip() and len(text) <= MAX_CHARS})
    return rng.sample(usable, min(n, len(usable)))


def build(data_root: Path, seed: int = SEED) -> list[dict[str, str]]:
    rng = random.Random(seed)
    out: list[dict[str, str]] = []

    def add(source: str, lang: str, rows: list[tuple[str, str]]) -> None:
        out.extend({"source": source, "lang": lang, "label": label, "text": text} for text, label in rows)

    vi = _read(data_root / "vi-hate-speech" / "thienit84_facebook_youtube.csv")
    add("vi-hate-speech", "vi", _sample([(r["text"], r["label"]) for r in vi], N_VI_SOCIAL, rng))
    texts, labels = synthetic.generate(seed, N_SYNTHETIC_SPAM, N_SYNTHETIC_HAM)
    add("synthetic", "vi", [(t, "spam" if y else "ham") for t, y in zip(texts, labels, strict=True)])
    youtube = [r for path in sorted((data_root / "youtube-spam").glob("*.csv")) for r in _read(path)]
    add("youtube-spam", "en", _sample([(r["CONTENT"], "spam" if r["label"] == "1" else "ham") for r in youtube],
                                      N_YOUTUBE, rng))
    civil = _read(data_root / "english-comments" / "civil_comments_toxic_spans.csv")
    add("civil-comments", "en", _sample([(r["comment_text"], r["majority_label"]) for r in civil], N_CIVIL, rng))
    return out


def render(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    rows = build(args.data_root)
    data = render(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"{args.out}: {len(rows)} comments, {len(data):,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
