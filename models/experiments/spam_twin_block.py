"""The hashed TF-IDF block (service/scoring/tfidf.py) beside the shared one, at the FP targets.

Each variant is one fit of the spam recipe (C = 16, YouTube x3, balanced classes; no
calibration: a monotone map) on models/build.py's spam training rows, over

* ``shared``: the shared block + signals (the round-1 model's features);
* ``tfidf``: the hashed TF-IDF block alone (does it reproduce the twin's ranking?);
* ``both``: shared block + signals + TF-IDF block, one model;
* ``cN`` after a variant's name: another C (``both+c8``); ``sN``: the TF-IDF block times N
  (less regularised than the shared one).

and judged, like the model card, at the cuts that flag 0.2 % and 0.05 % of the ordinary
comments of ViHSD dev + the held-out English comments, beside the TF-IDF twin (its decision
values from a run of ``models/build.py``'s ``spam_baseline`` saved with ``--twin``) and the
shipped model. Decision values of every variant are saved in --cache for blends.

    .venv/bin/python models/experiments/spam_twin_block.py --cache /tmp/twin-cache \
        [--twin twin_probs.npz] tfidf both
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

from moderation.models import build  # noqa: E402
from moderation.models.training import DEFAULT_SEED, _balanced_weights, _fit_lr, featurize, prepare_all  # noqa: E402
from moderation.scoring import tfidf  # noqa: E402
from moderation.scoring.artifacts import load_artifact  # noqa: E402
from moderation.scoring.scorer import binary_probability  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ORDINARY = ("vihsd_dev_spam", "english_heldout_spam")
ALSO_HAM = ("vi_comments_heldout", "scamspot_heldout", "en_sms_heldout", "vi_sms_heldout")
FPRS = (0.002, 0.0005)


def _save(path: Path, **mats: sp.csr_matrix) -> None:
    arrays: dict[str, Any] = {}
    for name, m in mats.items():
        arrays |= {f"{name}.data": m.data, f"{name}.indices": m.indices, f"{name}.indptr": m.indptr,
                   f"{name}.shape": np.asarray(m.shape)}  # fmt: skip
    np.savez(path, **arrays)


def _load(path: Path) -> dict[str, sp.csr_matrix]:
    z = np.load(path)
    names = {k.rsplit(".", 1)[0] for k in z.files}
    return {n: sp.csr_matrix((z[f"{n}.data"], z[f"{n}.indices"], z[f"{n}.indptr"]), shape=tuple(z[f"{n}.shape"]))
            for n in names}  # fmt: skip


def cache(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    path.mkdir(parents=True, exist_ok=True)
    spam = build.spam_training_data(DATA, DEFAULT_SEED)
    sets = build.spam_eval_sets(DATA, DEFAULT_SEED, path)
    if not (path / "train.npz").exists():
        prepared = prepare_all(spam.data.texts, spam.data.authors, "train")
        _save(path / "train.npz", shared=featurize(prepared), counts=tfidf.term_counts(prepared))
        del prepared
        for name, ds in sets.items():
            prepared = prepare_all(ds.texts, ds.authors, name)
            _save(path / f"set-{name}.npz", shared=featurize(prepared), counts=tfidf.term_counts(prepared))
    train = {"y": np.asarray(spam.labels), "w": np.asarray(spam.weights), **_load(path / "train.npz")}
    evals = {name: {"y": np.asarray([lab == "1" for lab in ds.labels]), **_load(path / f"set-{name}.npz")}
             for name, ds in sets.items()}  # fmt: skip
    return train, {"sets": evals, "kinds": build._kind_masks(sets)}


def report(name: str, z: dict[str, np.ndarray], ev: dict[str, Any]) -> None:
    ham = np.concatenate([z[n] for n in ORDINARY])
    cuts = [np.sort(ham)[::-1][int(f * len(ham))] for f in FPRS]
    print(f"\n== {name}")
    for n in ORDINARY + ALSO_HAM:
        y = ev["sets"][n]["y"]
        print(f"  {n:24s} ham flagged " + " / ".join(f"{np.mean(z[n][~y] > c):.4f}" for c in cuts)
              + ("  spam caught " + " / ".join(f"{np.mean(z[n][y] > c):.3f}" for c in cuts) if y.any() else ""))
    for kind, set_name, mask in ev["kinds"]:
        zk = z[set_name][mask]
        print(f"  {kind:60s} {mask.sum():4d} " + " / ".join(f"{np.mean(zk > c):.3f}" for c in cuts))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--twin", type=Path, default=None, help="the twin's probabilities per set (npz)")
    parser.add_argument("variants", nargs="*")
    args = parser.parse_args()
    t0 = time.time()
    train, ev = cache(args.cache)
    print(f"cached in {time.time() - t0:.0f} s", flush=True)
    shipped = load_artifact(ROOT / "models" / "spam")
    report("shipped (round 1)", {n: binary_probability(shipped, s["shared"]) for n, s in ev["sets"].items()}, ev)
    if args.twin is not None:
        twin = np.load(args.twin)
        report("TF-IDF twin", {n: twin[n] for n in ev["sets"]}, ev)
    idf = tfidf.fit_idf(train["counts"])
    y, w = train["y"].astype(np.int64), train["w"]
    for variant in args.variants:
        t1 = time.time()
        kind, *opts = variant.split("+")
        c = next((float(o[1:]) for o in opts if o.startswith("c")), build.SPAM_BUILD_C)
        scale = next((float(o[1:]) for o in opts if o.startswith("s")), 1.0)

        def x_of(d: dict[str, Any], kind: str = kind, scale: float = scale) -> sp.csr_matrix:
            blocks = {"shared": [d["shared"]], "tfidf": [tfidf.weigh(d["counts"], idf)],
                      "both": [d["shared"], tfidf.weigh(d["counts"], idf) * np.float32(scale)]}[kind]  # fmt: skip
            return sp.hstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]

        lr = _fit_lr(x_of(train), y, c, DEFAULT_SEED, _balanced_weights(y, w))
        z = {n: np.asarray(x_of(s) @ lr.coef_[0] + lr.intercept_[0]) for n, s in ev["sets"].items()}
        np.savez(args.cache / f"z-{variant}.npz", coef=lr.coef_[0].astype(np.float32),
                 intercept=lr.intercept_, **z)  # fmt: skip
        report(f"{variant} ({time.time() - t1:.0f} s)", z, ev)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
