"""Rebuild the shipped models from the shared datasets, reproducibly.

    .venv/bin/python models/build.py --data-root ../shared/data [--seed N] [--lovo] [--vispam-cli]

Writes models/spam/, models/toxicity/ and models/metrics.json: ViHSD dev, ViSpamReviews dev,
the held-out synthetic set, the hand-written set (tests/data/handwritten_eval.csv, never
trained on), with --lovo the YouTube leave-one-video-out figures and with --vispam-cli the
generic `train` command on ViSpamReviews train alone. Label decisions (see models/README.md):

* spam = YouTube label 1; ViSpamReviews SpamLabel 3 rows *only* when they carry a promotional
  signal (phone, link, contact handle); seeded synthetic Vietnamese promotional spam.
* ham = YouTube label 0; ViSpamReviews SpamLabel 0/1/2 (reviews, fake or not, are not
  promotion); every ViHSD train comment; seeded synthetic "hard" news comments.
* dropped = ViSpamReviews SpamLabel 3 without a promotional signal (gibberish / off-topic
  filler: neither clearly spam nor clearly ham for a news site).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from models import synthetic  # noqa: E402
from models.training import (  # noqa: E402
    DEFAULT_SEED,
    Dataset,
    build_artifact,
    evaluate_artifact,
    featurize,
    prepare_all,
    read_csv,
    toxicity_targets,
)
from models.training import main as training_main  # noqa: E402
from service.scoring import normalize as nz  # noqa: E402
from service.scoring.artifacts import load_artifact  # noqa: E402
from service.scoring.scorer import DEFAULT_APPROVE_THRESHOLD, binary_probability  # noqa: E402

YOUTUBE_FILES = (
    "Youtube01-Psy.csv", "Youtube02-KatyPerry.csv", "Youtube03-LMFAO.csv", "Youtube04-Eminem.csv",
)  # fmt: skip
N_SYNTHETIC_SPAM = 5000
N_SYNTHETIC_HAM = 3000
# The spam class mixes 5,000 synthetic Vietnamese rows with ~800 real English YouTube rows;
# weighting YouTube x3 and a weaker L2 penalty (C=16, vs 4) let English word n-grams carry
# more weight. Chosen on YouTube leave-one-video-out (mean macro-F1 0.919 -> 0.939), see card.
YOUTUBE_WEIGHT = 3.0
SPAM_BUILD_C = 16.0
HANDWRITTEN = ROOT / "tests" / "data" / "handwritten_eval.csv"
# The held-out synthetic check uses an unrelated seed so no generated string is shared.
HELDOUT_SEED_OFFSET = 7919


def _promotional(text: str) -> bool:
    return bool(nz.find_phone_numbers(text) or nz.find_urls(text) or nz.find_contacts(text))


def spam_training_data(
    root: Path, seed: int, skip_video: str | None = None
) -> tuple[Dataset, list[int], list[float]]:
    """Texts, authors, 0/1 labels and sample weights for the spam model, with provenance."""
    data = Dataset([], [])
    labels: list[int] = []
    weights: list[float] = []
    for name in YOUTUBE_FILES:
        if name == skip_video:
            continue
        part = read_csv([root / "youtube-spam" / name], "CONTENT", "label")
        data.texts += part.texts
        data.authors += part.authors
        labels += [int(lab == "1") for lab in part.labels]
        weights += [YOUTUBE_WEIGHT] * len(part.texts)
        data.sources += [{**s, "sample_weight": YOUTUBE_WEIGHT} for s in part.sources]
    vispam = root / "vispamreviews" / "train.csv"
    with vispam.open(newline="", encoding="utf-8") as fh:
        kept = dropped = 0
        for row in csv.DictReader(fh):
            text, kind = row["Comment"], row["SpamLabel"]
            if kind == "3":
                if not _promotional(text):
                    dropped += 1
                    continue
                labels.append(1)
            else:
                labels.append(0)
            data.texts.append(text)
            data.authors.append("")
            kept += 1
    data.sources.append({"path": str(vispam), "rows": kept, "dropped_spamlabel3_rows": dropped,
                         "mapping": "SpamLabel 0/1/2 -> ham; 3 with phone/link/contact -> spam"})
    vihsd = read_csv([root / "vihsd" / "train.csv"], "free_text", "label_id")
    data.texts += vihsd.texts
    data.authors += [""] * len(vihsd.texts)
    labels += [0] * len(vihsd.texts)
    data.sources += [{**s, "mapping": "all rows -> ham"} for s in vihsd.sources]
    syn_texts, syn_labels = synthetic.generate(seed, N_SYNTHETIC_SPAM, N_SYNTHETIC_HAM)
    data.texts += syn_texts
    data.authors += [""] * len(syn_texts)
    labels += syn_labels
    data.sources.append({"path": "models/synthetic.py", "seed": seed, "spam": N_SYNTHETIC_SPAM,
                         "ham": N_SYNTHETIC_HAM})
    weights += [1.0] * (len(labels) - len(weights))
    return data, labels, weights


def train_spam(root: Path, out: Path, seed: int, skip_video: str | None = None) -> Path:
    data, labels, weights = spam_training_data(root, seed, skip_video)
    prepared = prepare_all(data.texts, data.authors, "spam featurize")
    return build_artifact("spam", out, prepared, np.asarray(labels), seed, data.sources,
                          notes={"skip_video": skip_video}, sample_weight=np.asarray(weights),
                          c_grid=(SPAM_BUILD_C,))


def train_toxicity(root: Path, out: Path, seed: int) -> Path:
    data = read_csv([root / "vihsd" / "train.csv"], "free_text", "label_id")
    prepared = prepare_all(data.texts, data.authors, "toxicity featurize")
    return build_artifact("toxicity", out, prepared, toxicity_targets(data.labels), seed, data.sources)


def _synthetic_heldout(seed: int, tmp: Path) -> Path:
    texts, labels = synthetic.generate(seed + HELDOUT_SEED_OFFSET, 1000, 1000)
    path = tmp / "synthetic_heldout.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels, strict=True))
    return path


def _handwritten(model: Path) -> dict[str, Any]:
    """Figures on the team's hand-written comments, plus every row held/approved wrongly."""
    data = read_csv([HANDWRITTEN], "text", "label")
    metrics: dict[str, Any] = evaluate_artifact(model, data, "1", None)["metrics"]
    p = binary_probability(load_artifact(model), featurize(prepare_all(data.texts, data.authors, "handwritten")))
    wrong = [
        {"label": int(label), "p_spam": round(float(prob), 3), "text": text}
        for text, label, prob in zip(data.texts, data.labels, p, strict=True)
        if (prob >= DEFAULT_APPROVE_THRESHOLD) != (label == "1")
    ]
    return {**metrics, "wrong_at_approve_threshold": wrong}


def vispam_cli(root: Path, tmp: Path, seed: int) -> dict[str, Any]:
    """`moderation train` on ViSpamReviews train alone (binary Label), evaluated once on dev."""
    model = tmp / "vispam-train-only"
    training_main(["train", "--task", "spam", "--data", str(root / "vispamreviews/train.csv"),
                   "--text-column", "Comment", "--label-column", "Label", "--positive-label", "1",
                   "--seed", str(seed), "--out", str(model)])  # fmt: skip
    dev = read_csv([root / "vispamreviews/dev.csv"], "Comment", "Label")
    result = evaluate_artifact(model, dev, "1", None)
    metrics: dict[str, Any] = result["metrics"]
    return {**metrics, "model_selection": load_artifact(model).manifest["model_selection"]}


def evaluate_all(root: Path, out: Path, seed: int, lovo: bool, vispam: bool = False) -> dict[str, Any]:
    spam, tox = out / "spam", out / "toxicity"
    results: dict[str, Any] = {}

    def ev(model: Path, paths: list[Path], text: str, label: str, positive: str = "1") -> dict[str, Any]:
        metrics: dict[str, Any] = evaluate_artifact(model, read_csv(paths, text, label), positive, None)["metrics"]
        return metrics

    results["vihsd_dev_spam"] = ev(spam, [root / "vihsd/dev.csv"], "free_text", "label_id", "spam-never")
    results["vispam_dev_spam_label3"] = ev(spam, [root / "vispamreviews/dev.csv"], "Comment", "SpamLabel", "3")
    results["toxicity_vihsd_dev"] = ev(tox, [root / "vihsd/dev.csv"], "free_text", "label_id")
    tmp = out / ".tmp"
    tmp.mkdir(exist_ok=True)
    results["synthetic_heldout"] = ev(spam, [_synthetic_heldout(seed, tmp)], "text", "label")
    results["handwritten"] = _handwritten(spam)
    if vispam:
        results["vispam_train_only_cli"] = vispam_cli(root, tmp, seed)
    if lovo:
        per_video: dict[str, Any] = {}
        for video in YOUTUBE_FILES:
            model_dir = tmp / f"lovo-{video.removesuffix('.csv')}"
            train_spam(root, model_dir, seed, skip_video=video)
            per_video[video] = ev(model_dir, [root / "youtube-spam" / video], "CONTENT", "label")
        results["youtube_lovo"] = per_video
        results["youtube_lovo_mean_macro_f1"] = float(
            np.mean([m["macro_f1"] for m in per_video.values()])
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--lovo", action="store_true", help="also run YouTube leave-one-video-out")
    parser.add_argument("--vispam-cli", action="store_true",
                        help="also run `train` on ViSpamReviews train alone and evaluate it on dev")
    parser.add_argument("--skip-train", action="store_true", help="only evaluate existing models")
    args = parser.parse_args(argv)
    if not args.skip_train:
        train_spam(args.data_root, args.out / "spam", args.seed)
        train_toxicity(args.data_root, args.out / "toxicity", args.seed)
    results = evaluate_all(args.data_root, args.out, args.seed, args.lovo, args.vispam_cli)
    (args.out / "metrics.json").write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
