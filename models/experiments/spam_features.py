"""Spam features and training rows, judged at the false-positive rates of the targets.

Each variant is one fit (no calibration: a monotone map, so the comparison is made at the cuts
that flag 0.2 % and 0.05 % of ordinary comments, the two false-positive targets) of logistic
regression on the spam training rows of models/build.py, with one change at a time:

* ``base``: the shipped features and recipe (C = 16, YouTube x3, balanced classes);
* ``idf``: the hashed n-gram block weighted by IDF (fitted on the training rows), rows
  re-normalised;
* ``c4`` / ``c64``: another C;
* ``no<source>``: without a source (e.g. ``noscamspot``, ``novi-comments``);
* ``kinds``: with models/synthetic.py's ``generate_kinds`` rows;
* ``w<source>:<weight>``: another sample weight for a source.

Tokens combine with "+", e.g. ``idf+kinds+c32``.

Ordinary comments: ViHSD dev, the held-out English comments, the held-out 2025 Vietnamese
comments. Spam: every kind of models/build.py's ``spam_kinds`` figure. Features are computed
once and cached in --cache (a few hundred MB). Run (one core, ~3-6 min a variant once cached):

    .venv/bin/python models/experiments/spam_features.py --cache /tmp/spam-cache base idf ...
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from moderation.models import build, sources, synthetic  # noqa: E402
from moderation.models.training import DEFAULT_SEED, _balanced_weights, _fit_lr, featurize, prepare_all  # noqa: E402
from moderation.scoring.features import N_HASH  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ORDINARY = ("vihsd_dev_spam", "english_heldout_spam", "vi_comments_heldout")
FPRS = (0.002, 0.0005)


def _cache(path: Path) -> dict[str, Any]:
    if (path / "train.npz").exists():
        train = np.load(path / "train.npz", allow_pickle=True)
        sets = np.load(path / "sets.npz", allow_pickle=True)
        return {"train": dict(train), "sets": dict(sets)}
    path.mkdir(parents=True, exist_ok=True)
    spam = build.spam_training_data(DATA, DEFAULT_SEED)
    x = featurize(prepare_all(spam.data.texts, spam.data.authors, "train"))
    np.savez(path / "train.npz", data=x.data, indices=x.indices, indptr=x.indptr, shape=x.shape,
             y=np.asarray(spam.labels), w=np.asarray(spam.weights), origin=np.asarray(spam.origin))  # fmt: skip
    sets = build.spam_eval_sets(DATA, DEFAULT_SEED, path)
    out: dict[str, Any] = {}
    for name, ds in sets.items():
        xs = featurize(prepare_all(ds.texts, ds.authors, name))
        out[f"{name}.data"], out[f"{name}.indices"], out[f"{name}.indptr"] = xs.data, xs.indices, xs.indptr
        out[f"{name}.shape"] = xs.shape
        out[f"{name}.y"] = np.asarray([lab == "1" for lab in ds.labels])
    masks = build._kind_masks(sets)
    for kind, set_name, mask in masks:
        out[f"kind:{kind}"] = np.asarray([set_name, *np.flatnonzero(mask).astype(str)], dtype=object)
    np.savez(path / "sets.npz", **out)
    return _cache(path)


def _csr(d: dict[str, Any], prefix: str = "") -> sp.csr_matrix:
    arrays = (d[prefix + "data"], d[prefix + "indices"], d[prefix + "indptr"])
    return sp.csr_matrix(arrays, shape=tuple(d[prefix + "shape"]))


def _idf(x: sp.csr_matrix) -> np.ndarray:
    df = np.bincount(x.indices[x.indices < N_HASH], minlength=N_HASH).astype(np.float64)
    out: np.ndarray = np.log((1.0 + x.shape[0]) / (1.0 + df)) + 1.0
    return out


def _scaled(x: sp.csr_matrix, scale: np.ndarray) -> sp.csr_matrix:
    """The hashed block times *scale*, rows re-normalised; signals unchanged."""
    x = x.copy()
    hashed = x.indices < N_HASH
    x.data[hashed] *= scale[x.indices[hashed]]
    sq = np.zeros(x.shape[0])
    rows = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    np.add.at(sq, rows[hashed], x.data[hashed].astype(np.float64) ** 2)
    norm = np.sqrt(np.maximum(sq, 1e-12))
    x.data[hashed] /= norm[rows[hashed]]
    return x


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()
    cache = _cache(args.cache)
    tr, sets = cache["train"], cache["sets"]
    x, y, w, origin = _csr(tr), tr["y"].astype(np.int64), tr["w"], tr["origin"]
    source = np.asarray([o.split(":")[0] for o in origin])
    names = sorted({k.split(".")[0] for k in sets if "." in k and not k.startswith("kind:")})
    xs = {n: _csr(sets, n + ".") for n in names}
    masks = build._kind_masks(build.spam_eval_sets(DATA, DEFAULT_SEED, args.cache))
    kinds = {kind: (set_name, np.flatnonzero(mask)) for kind, set_name, mask in masks}
    kinds_x: sp.csr_matrix | None = None
    for variant in args.variants:
        t0 = time.time()
        c, keep, scale = build.SPAM_BUILD_C, np.ones(len(y), dtype=bool), None
        xv, yv, wv = x, y, w
        for token in variant.split("+"):
            if token == "kinds" and "synthetic-kinds" not in source:
                if kinds_x is None:
                    texts, labels = synthetic.generate_kinds(DEFAULT_SEED, build.N_KIND_SPAM, build.N_KIND_HAM)
                    kinds_x = featurize(prepare_all(texts, [""] * len(texts), "kinds"))
                    kinds_y = np.asarray(labels)
                xv, yv = sp.vstack([xv, kinds_x], format="csr"), np.concatenate([yv, kinds_y])
                wv = np.concatenate([wv, np.ones(len(kinds_y))])
                keep = np.concatenate([keep, np.ones(len(kinds_y), dtype=bool)])
            if token == "blog":
                # lmblog spam, and as many English training comments preprocessed the same way
                # as ham, so that the preprocessing itself is no spam cue.
                blog = [r.text for r in sources.blog_spam(DATA)]
                ham = [sources.blog_preprocess(r.text) for r in sources.english_comments(DATA) if not r.heldout]
                ham = ham[:: max(1, len(ham) // len(blog))][: len(blog)]
                bx = featurize(prepare_all(blog + ham, [""] * (len(blog) + len(ham)), "blog"))
                by = np.asarray([1] * len(blog) + [0] * len(ham))
                xv, yv = sp.vstack([xv, bx], format="csr"), np.concatenate([yv, by])
                wv = np.concatenate([wv, np.ones(len(by))])
                keep = np.concatenate([keep, np.ones(len(by), dtype=bool)])
        src = np.concatenate([source, np.full(len(yv) - len(y), "added")])
        for token in variant.split("+"):
            if token == "idf":
                scale = _idf(xv)
            elif token.startswith("c") and token[1:].isdigit():
                c = float(token[1:])
            elif token.startswith("no"):
                keep &= src != token[2:]
            elif token.startswith("w") and ":" in token:  # w<source>:<weight>
                name, weight = token[1:].split(":")
                wv = np.where(src == name, float(weight), wv)
        x_, y_, w_ = xv, yv, wv
        xt = _scaled(x_, scale) if scale is not None else x_
        lr = _fit_lr(xt[keep], y_[keep], c, DEFAULT_SEED, _balanced_weights(y_[keep], w_[keep]))
        z = {n: (_scaled(m, scale) if scale is not None else m) @ lr.coef_[0] + lr.intercept_[0] for n, m in xs.items()}
        ham = np.concatenate([z[n] for n in ORDINARY])
        cuts = [np.sort(ham)[::-1][int(f * len(ham))] for f in FPRS]
        print(f"\n== {variant} ({time.time() - t0:.0f} s); ordinary rows {len(ham)}; cuts {cuts}")
        for n in ORDINARY:
            print(f"  {n:28s} flagged " + " / ".join(f"{np.mean(z[n] > cut):.4f}" for cut in cuts))
        for kind, (set_name, idx) in kinds.items():
            zk = z[set_name][idx]
            print(f"  {kind:55s} {len(idx):5d} caught " + " / ".join(f"{np.mean(zk > cut):.3f}" for cut in cuts))


if __name__ == "__main__":
    main()
