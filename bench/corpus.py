"""The request mix for the load test, drawn from the committed corpus (bench/data/corpus.csv).

Each line of the bodies file is one JSON submission split around two placeholders, so the
wrk script can give every request a distinct author email and client IP without parsing
JSON: per-author flood and duplicate rules then see a botnet of distinct senders (which is
what a wave looks like) instead of one author posting 180,000 times.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

import msgspec

# Placeholders the wrk script replaces per request (see bench/submit.lua).
EMAIL_MARK = "@@EMAIL@@"
IP_MARK = "@@IP@@"

# The comments, with their sources and licences in bench/data/README.md.
CORPUS = Path(__file__).resolve().parent / "data" / "corpus.csv"
# Share of each group in the mix: Vietnamese social-media comments (mostly clean, some
# offensive), Vietnamese promotional spam and ordinary comments, and English comments (YouTube,
# about half spam, and news-site reader comments). Weights, not exact counts.
MIX = {"vi-social": 0.45, "vi-promo": 0.35, "en": 0.20}
GROUP_OF_SOURCE = {"vi-hate-speech": "vi-social", "synthetic": "vi-promo", "youtube-spam": "en", "civil-comments": "en"}
# Articles the wave is spread over.
N_POSTS = 500
NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng", "Phạm Minh Châu", "Hoa", "john smith", "Mai Anh")
# The service accepts at most 65,525 bytes of content; the datasets stay far below.
MAX_CONTENT_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Sample:
    source: str
    text: str
    label: str
    lang: str = "vi"


def load_samples(path: Path = CORPUS) -> dict[str, list[Sample]]:
    """The corpus's comments by group of MIX; a row's ``source`` names where it came from."""
    out: dict[str, list[Sample]] = {group: [] for group in MIX}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            group = GROUP_OF_SOURCE.get(row["source"])
            if group is not None and row["text"].strip() and len(row["text"]) <= MAX_CONTENT_CHARS:
                out[group].append(Sample(row["source"], row["text"], row["label"], row["lang"]))
    empty = [group for group, samples in out.items() if not samples]
    if empty:
        raise SystemExit(f"{path}: no comments for {', '.join(empty)} (columns source, lang, label, text)")
    return out


def build(corpus: Path, n: int, seed: int) -> list[tuple[dict[str, object], Sample]]:
    """``n`` submission bodies with placeholders, in a seeded random order."""
    rng = random.Random(seed)
    samples = load_samples(corpus)
    sources = list(MIX)
    weights = [MIX[s] for s in sources]
    bodies: list[tuple[dict[str, object], Sample]] = []
    for i in range(n):
        sample = rng.choice(samples[rng.choices(sources, weights)[0]])
        post = f"bai-{rng.randrange(N_POSTS)}"
        body: dict[str, object] = {
            "post_id": post,
            "post_url": f"https://baotinh.example.vn/thoi-su/{post}",
            "author_name": rng.choice(NAMES),
            "author_email": EMAIL_MARK,
            "user_ip": IP_MARK,
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) bench",
            "lang": sample.lang,
            "content": sample.text,
        }
        if i % 10 == 0:
            body["author_url"] = "https://example.com/~reader"
        bodies.append((body, sample))
    return bodies


def write_bodies(path: Path, bodies: list[tuple[dict[str, object], Sample]]) -> dict[str, float]:
    """One JSON body per line (JSON escapes newlines, so a line is a body). Returns stats."""
    lines = [msgspec.json.encode(body) for body, _ in bodies]
    for line in lines:
        assert b"\n" not in line
    path.write_bytes(b"\n".join(lines) + b"\n")
    lengths = [len(sample.text) for _, sample in bodies]
    utf8 = [len(sample.text.encode("utf-8")) for _, sample in bodies]
    sources: dict[str, int] = {}
    for _, sample in bodies:
        sources[sample.source] = sources.get(sample.source, 0) + 1
    return {
        "bodies": len(bodies),
        "mean_content_chars": sum(lengths) / len(lengths),
        "mean_content_utf8_bytes": sum(utf8) / len(utf8),
        "max_content_chars": max(lengths),
        "mean_body_bytes": sum(len(x) for x in lines) / len(lines),
        **{f"share_{k}": v / len(bodies) for k, v in sorted(sources.items())},
    }
