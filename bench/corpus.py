"""The request mix for the load test, drawn from the shared datasets.

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

# Share of each source in the mix: Vietnamese social-media comments (mostly clean, some
# offensive), Vietnamese e-commerce reviews (ham and spam) and English YouTube comments
# (about half spam). Weights, not exact counts.
MIX = {"vihsd": 0.45, "vispamreviews": 0.35, "youtube": 0.20}
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


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_samples(data_root: Path) -> dict[str, list[Sample]]:
    out: dict[str, list[Sample]] = {"vihsd": [], "vispamreviews": [], "youtube": []}
    for row in _rows(data_root / "vihsd" / "dev.csv"):
        out["vihsd"].append(Sample("vihsd", row["free_text"], f"tox{row['label_id']}"))
    for row in _rows(data_root / "vispamreviews" / "dev.csv"):
        out["vispamreviews"].append(Sample("vispamreviews", row["Comment"], f"spam{row['Label']}"))
    for path in sorted((data_root / "youtube-spam").glob("*.csv")):
        for row in _rows(path):
            out["youtube"].append(Sample("youtube", row["CONTENT"], f"spam{row['label']}"))
    for source, samples in out.items():
        out[source] = [s for s in samples if s.text.strip() and len(s.text) <= MAX_CONTENT_CHARS]
    return out


def build(data_root: Path, n: int, seed: int) -> list[tuple[dict[str, object], Sample]]:
    """``n`` submission bodies with placeholders, in a seeded random order."""
    rng = random.Random(seed)
    samples = load_samples(data_root)
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
            "lang": "en" if sample.source == "youtube" else "vi",
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
