"""Fingerprints of comment text for the duplicate and campaign rules.

Duplicate: the same author posting the same normalized content on the same post. A
SHA-256 of (post, lowercased email, skeleton of the content) — the skeleton (see
service/normalize.py) ignores case, diacritics, spacing, punctuation and look-alikes,
so re-sending with an extra space or without accents is still the same comment.

Campaign: the same text posted again and again across a site, usually with small
changes (a different number, an emoji) to slip past exact matching. We want "Jaccard
similarity of character 5-shingles >= 0.8" without comparing each comment against all
recent ones. MinHash + LSH banding gives that in constant work per comment: 30 MinHash
values in 6 bands of 5; each band is one Redis sorted set (comment id by time, trimmed
to and expiring after the 10-minute window), and a comment's campaign count is the
largest band count. Two texts share a band with probability 1-(1-s^5)^6: 0.91 at
s=0.8, 0.99 at s=0.9, 0.17 at s=0.5 and 0.01 at s=0.3 — and three postings must
collide before anything happens. The alternative, storing a signature per comment and
comparing in Lua, costs O(recent comments) per submission; exact hashing alone misses
the "same text + random suffix" campaigns that are the point of the rule.

Short texts are left out (MIN_CAMPAIGN_CHARS): "Bài viết hay quá" is legitimately
written by many readers within minutes.
"""

from __future__ import annotations

import hashlib
from typing import Final

import numpy as np

SHINGLE: Final = 5
BANDS: Final = 6
ROWS: Final = 5
# Letters and digits (skeleton form) below which a text is too generic to be a campaign.
MIN_CAMPAIGN_CHARS: Final = 50
# Scoring only looks at the start of a comment; so does the campaign signature.
MAX_CAMPAIGN_CHARS: Final = 4_000
CAMPAIGN_WINDOW_SECONDS: Final = 600
CAMPAIGN_MIN_POSTINGS: Final = 3

_PRIME: Final = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20261126)  # fixed: every worker must compute the same bands
# a < 2^31 and h < 2^32 keep a*h + b below 2^64, so uint64 arithmetic does not wrap.
_A: Final = _rng.integers(1, 1 << 31, size=BANDS * ROWS, dtype=np.uint64)
_B: Final = _rng.integers(0, 1 << 60, size=BANDS * ROWS, dtype=np.uint64)
_POWERS: Final = np.array([pow(1_000_003, i, 1 << 64) for i in range(SHINGLE)], dtype=np.uint64)
_MASK32: Final = np.uint64(0xFFFFFFFF)


def duplicate_field(post_id: str, email: str, skel: str) -> str:
    """Field name in the post's duplicate hash for this author + content skeleton."""
    material = "\x00".join((post_id, email.casefold(), skel))
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def post_digest(post_id: str) -> str:
    # Post ids are arbitrary client text (up to 200 characters, maybe braces): hash them
    # so a key name never carries a second hash tag.
    return hashlib.sha256(post_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def _shingle_hashes(text: str) -> np.ndarray:
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    n = codes.size - SHINGLE + 1
    # Polynomial hash of each window of SHINGLE code points; wraps mod 2^64 by design.
    mixed = codes[:n] * _POWERS[0]
    for i in range(1, SHINGLE):
        mixed += codes[i : i + n] * _POWERS[i]
    folded: np.ndarray = (mixed ^ (mixed >> np.uint64(32))) & _MASK32
    return folded


def signature(skel: str) -> np.ndarray | None:
    """MinHash signature of a text's skeleton, or None when it is too short to judge."""
    skel = skel[:MAX_CAMPAIGN_CHARS]
    if len(skel) < MIN_CAMPAIGN_CHARS:
        return None
    shingles = _shingle_hashes(skel)
    values = (np.outer(shingles, _A) + _B) % _PRIME
    out: np.ndarray = values.min(axis=0)
    return out


def band_ids(skel: str) -> list[str]:
    """One id per LSH band (band number + hash of its rows); empty for short texts.

    *skel* is ``normalize.skeleton(content)``, computed once per submission.
    """
    sig = signature(skel)
    if sig is None:
        return []
    out = []
    for band in range(BANDS):
        rows = sig[band * ROWS : (band + 1) * ROWS].tobytes()
        out.append(f"{band}{hashlib.blake2b(rows, digest_size=8).hexdigest()}")
    return out

# WordPress checks duplicates against every stored comment; we keep fingerprints per post
# for 30 days after its last comment, by when news articles have stopped drawing comments.
DUPLICATE_TTL_SECONDS: Final = 30 * 24 * 3600
