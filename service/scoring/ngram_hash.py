"""The hashed n-gram block of ``features.analyze`` for a whole batch at once, in numpy.

``HashingVectorizer(analyzer=analyze)`` builds ~450 Python strings per comment and hashes
them one call each; under load that was a quarter of a worker's CPU. This module computes
the same matrix — same tokens, same MurmurHash3 (x86, 32-bit, seed 0, over UTF-8 bytes),
same ``abs(h) % n_features`` column, binary values, L2-normalised rows, float32 — without a
Python object per token:

* character n-grams are (byte offset, byte length) pairs into the UTF-8 encoding of the
  batch's padded texts, found with array arithmetic on code-point widths;
* word tokens (``w:word``, ``w:word next``) are joined by C-level ``str.join`` into one
  newline-separated buffer and split by the positions of the separators;
* MurmurHash3 runs block by block over all tokens as uint32 arrays (wrapping arithmetic).

tests/test_ngram_hash.py checks it against the scikit-learn path on the shared datasets
and on awkward text (emoji, astral code points, long words, empty comments).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Final

import numpy as np
import scipy.sparse as sp

_C1: Final = np.uint32(0xCC9E2D51)
_C2: Final = np.uint32(0x1B873593)
_M: Final = np.uint32(5)
_N: Final = np.uint32(0xE6546B64)
_F1: Final = np.uint32(0x85EBCA6B)
_F2: Final = np.uint32(0xC2B2AE35)
# Reads of a 4-byte block may run past the last token; the tail is masked by length.
_PAD: Final = b"\x00" * 8
_SEP: Final = 10  # "\n": never inside a \w+ word, never a byte of a multi-byte UTF-8 sequence


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    out: np.ndarray = (x << np.uint32(r)) | (x >> np.uint32(32 - r))
    return out


def _read32(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Little-endian uint32 starting at each byte offset in ``pos``."""
    out: np.ndarray = (
        buf[pos].astype(np.uint32)
        | (buf[pos + 1].astype(np.uint32) << np.uint32(8))
        | (buf[pos + 2].astype(np.uint32) << np.uint32(16))
        | (buf[pos + 3].astype(np.uint32) << np.uint32(24))
    )
    return out


def murmur3_32(buf: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """MurmurHash3_x86_32 (seed 0) of ``buf[start:start+length]`` for every token, as int32.

    ``buf`` must extend at least 3 bytes past the end of the last token.
    """
    h = np.zeros(start.shape[0], dtype=np.uint32)
    nblocks = length >> 2
    active = np.flatnonzero(nblocks > 0)
    j = 0
    while active.size:
        k = _read32(buf, start[active] + 4 * j)
        k *= _C1
        k = _rotl(k, 15)
        k *= _C2
        hh = h[active] ^ k
        hh = _rotl(hh, 13)
        hh = hh * _M + _N
        h[active] = hh
        j += 1
        active = active[nblocks[active] > j]
    rem = length & 3
    tail_at = start + (nblocks << 2)
    k = np.where(rem >= 1, buf[tail_at], 0).astype(np.uint32)
    k |= np.where(rem >= 2, buf[tail_at + 1], 0).astype(np.uint32) << np.uint32(8)
    k |= np.where(rem >= 3, buf[tail_at + 2], 0).astype(np.uint32) << np.uint32(16)
    k *= _C1
    k = _rotl(k, 15)
    k *= _C2
    h ^= k
    h ^= length.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


def _char_ngrams(texts: list[str], sizes: Sequence[int]) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """Byte buffer and (start, length, row) of every char n-gram of every text."""
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    width = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
    offset = np.zeros(cps.shape[0] + 1, dtype=np.int64)
    np.cumsum(width, out=offset[1:])
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    room = np.repeat(np.cumsum(lengths), lengths) - np.arange(cps.shape[0], dtype=np.int64)
    starts, lens, rows = [], [], []
    for n in sizes:
        at = np.flatnonzero(room >= n)
        starts.append(offset[at])
        lens.append(offset[at + n] - offset[at])
        rows.append(row_of[at])
    return joined.encode("utf-8"), np.concatenate(starts), np.concatenate(lens), np.concatenate(rows)


def _word_tokens(word_lists: Sequence[list[str]], prefix: str) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """Byte buffer and (start, length, row) of ``prefix+w`` and ``prefix+a+' '+b`` tokens."""
    parts: list[str] = []
    counts = np.zeros(len(word_lists), dtype=np.int64)
    glue = "\n" + prefix
    for row, words in enumerate(word_lists):
        if not words:
            continue
        parts.append(prefix + glue.join(words))
        if len(words) > 1:
            parts.append(prefix + glue.join(map(" ".join, itertools.pairwise(words))))
        counts[row] = 2 * len(words) - 1
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return b"", empty, empty, empty
    encoded = "\n".join(parts).encode("utf-8")
    seps = np.flatnonzero(np.frombuffer(encoded, dtype=np.uint8) == _SEP)
    starts = np.concatenate(([0], seps + 1)).astype(np.int64)
    ends = np.concatenate((seps, [len(encoded)])).astype(np.int64)
    rows = np.repeat(np.arange(len(word_lists), dtype=np.int64), counts)
    if rows.shape[0] != starts.shape[0]:  # a separator inside a token: refuse rather than mis-hash
        raise ValueError("word token contains a newline")
    return encoded, starts, ends - starts, rows


def _hashed_keys(
    texts: list[str], word_lists: Sequence[list[str]], sizes: Sequence[int], word_prefix: str, n_features: int
) -> np.ndarray:
    """Sorted ``row * n_features + column`` of every token of every text (repeats kept)."""
    cbuf, cstart, clen, crow = _char_ngrams(texts, sizes)
    wbuf, wstart, wlen, wrow = _word_tokens(word_lists, word_prefix)
    buf = np.frombuffer(cbuf + wbuf + _PAD, dtype=np.uint8)
    start = np.concatenate((cstart, wstart + len(cbuf)))
    length = np.concatenate((clen, wlen))
    rows = np.concatenate((crow, wrow))
    h = murmur3_32(buf, start, length).astype(np.int64)
    # scikit-learn: abs(h) % n_features, with abs(-2**31) taken as 2**31.
    cols = np.abs(h) % n_features
    # Sort and drop repeats (np.unique goes through a hash table first: several times slower).
    keys: np.ndarray = rows * n_features + cols
    keys.sort()
    return keys


def hashed_counts(
    texts: list[str], word_lists: Sequence[list[str]], *, sizes: Sequence[int], word_prefix: str, n_features: int
) -> sp.csr_matrix:
    """Float32 CSR of how often each hashed column occurs in each row (char n-grams of
    ``texts`` of the given ``sizes``, no padding, and word uni/bigrams), not normalised."""
    n_rows = len(texts)
    keys = _hashed_keys(texts, word_lists, sizes, word_prefix, n_features)
    if keys.shape[0]:
        first = np.concatenate(([True], keys[1:] != keys[:-1]))
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, keys.shape[0])).astype(np.float32)
        keys = keys[starts]
    else:
        counts = np.zeros(0, dtype=np.float32)
    key_rows = keys // n_features
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(key_rows, minlength=n_rows), out=indptr[1:])
    indices = (keys - key_rows * n_features).astype(np.int32)
    return sp.csr_matrix((counts, indices, indptr), shape=(n_rows, n_features))


def hashed_ngrams(
    padded: list[str],
    word_lists: Sequence[list[str]],
    *,
    sizes: Sequence[int],
    word_prefix: str,
    n_features: int,
) -> sp.csr_matrix:
    """Binary, L2-normalised float32 CSR of hashed char n-grams of ``padded`` and word uni/bigrams.

    Equals ``HashingVectorizer(analyzer=..., n_features=n_features, alternate_sign=False,
    binary=True, norm="l2", dtype=np.float32)`` over the same tokens. Raises
    UnicodeEncodeError for text that is not valid UTF-8 (lone surrogates).
    """
    n_rows = len(padded)
    keys = _hashed_keys(padded, word_lists, sizes, word_prefix, n_features)
    if keys.shape[0] > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    key_rows = keys // n_features
    counts = np.bincount(key_rows, minlength=n_rows)
    indptr = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(counts, out=indptr[1:])
    # Same rounding as sklearn's in-place L2 normalisation: float32(1 / sqrt(double)).
    norms = np.zeros(n_rows, dtype=np.float64)
    nonzero = counts > 0
    norms[nonzero] = 1.0 / np.sqrt(counts[nonzero].astype(np.float64))
    data = np.repeat(norms.astype(np.float32), counts)
    indices = (keys - key_rows * n_features).astype(np.int32)
    return sp.csr_matrix((data, indices, indptr), shape=(n_rows, n_features))
