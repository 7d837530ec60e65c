"""Rebuild the shipped models from the shared datasets, reproducibly.

    .venv/bin/python -m moderation.models.build --data-root ../shared/data [--seed N] [--lovo] [--vispam-cli]

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
import fcntl
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from moderation.models import baselines, decorated, sources, synthetic  # noqa: E402
from moderation.models.training import (  # noqa: E402
    CV_FOLDS,
    DEFAULT_SEED,
    SPAM_C_GRID,
    TOXICITY_C,
    Dataset,
    TrainResult,
    _balanced_weights,
    _binary_metrics,
    _calibrated,
    _fit_lr,
    _multiclass_metrics,
    _platt,
    build_artifact,
    evaluate_artifact,
    featurize,
    prepare_all,
    read_csv,
    spam_targets,
    toxicity_targets,
    train_spam_model,
    train_toxicity_model,
)
from moderation.models.training import main as training_main  # noqa: E402
from moderation.moderation.sitesettings import SiteSettings  # noqa: E402
from moderation.scoring import normalize as nz  # noqa: E402
from moderation.scoring import tfidf  # noqa: E402
from moderation.scoring.artifacts import Artifact, load_artifact  # noqa: E402
from moderation.scoring.features import N_HASH, Prepared  # noqa: E402
from moderation.scoring.scorer import (  # noqa: E402
    DEFAULT_APPROVE_THRESHOLD,
    DEFAULT_SPAM_THRESHOLD,
    TOXICITY_LABELS,
    binary_probability,
    model_matrix,
    multiclass_decision,
    multiclass_probability,
)

YOUTUBE_FILES = (
    "Youtube01-Psy.csv", "Youtube02-KatyPerry.csv", "Youtube03-LMFAO.csv", "Youtube04-Eminem.csv",
)  # fmt: skip
N_SYNTHETIC_SPAM = 5000
N_SYNTHETIC_HAM = 3000
# Issue 21's kinds: tech-support numbers, praise + link, work from home, Vietnamese job and
# task scams (models/synthetic.py, generate_kinds), and hard ham beside them.
N_KIND_SPAM = 1500
N_KIND_HAM = 600
# The spam class mixes 5,000 synthetic Vietnamese rows with ~800 real English YouTube rows;
# weighting YouTube x3 and a weaker L2 penalty (C=16, vs 4) let English word n-grams carry
# more weight. Chosen on YouTube leave-one-video-out (mean macro-F1 0.919 -> 0.939), see card.
YOUTUBE_WEIGHT = 3.0
SPAM_BUILD_C = 16.0
# Out-of-fold calibration (spam) and decision biases (toxicity) on 3 folds, not the CLI's 5:
# the build trains on ~95k rows twice (model and TF-IDF baseline) on a shared 2-core machine.
BUILD_CV_FOLDS = 3
HANDWRITTEN = ROOT / "tests" / "data" / "handwritten_eval.csv"
# Hand-written per-kind spam (written before any model scored it; never trained on).
SPAM_KINDS = ROOT / "tests" / "data" / "spam_kinds_eval.csv"
# The held-out synthetic check uses an unrelated seed so no generated string is shared.
HELDOUT_SEED_OFFSET = 7919


def _promotional(text: str) -> bool:
    return bool(nz.find_phone_numbers(text) or nz.find_urls(text) or nz.find_contacts(text))


# Ordinary reader comments among the training sources: the calibration sets the 0.3 and 0.9
# cuts on their out-of-fold scores (CALIBRATION_FPR).
ORDINARY_SOURCES: Final = ("vihsd", "english-comments", "vi-comments")
# The share of those comments allowed at or above each threshold out of fold: issue 21's
# targets (0.2 % at 0.3, 0.05 % at 0.9), each threshold at its own cut (slope and intercept,
# models/training.py _calibration_for_fpr). Round 2 first set half the targets by the
# intercept alone: held-out ordinary comments then scored lower than the out-of-fold ones
# (ViHSD dev 0.00 %, English 0.06 % at 0.3), and the 0.9 cut sat far above the spam.
CALIBRATION_FPR: Final = {DEFAULT_APPROVE_THRESHOLD: 0.002, DEFAULT_SPAM_THRESHOLD: 0.0005}

SPAM_SOURCES: Final = (
    "youtube", "vispamreviews", "vihsd", "synthetic", "english-comments", "vi-sms-spam", "en-sms-spam",
    "scamspot", "vi-comments", "synthetic-kinds", "blog-spam",
)  # fmt: skip
# The ablation (one fit per source left out) is run for these: each real source of spam (its
# own held-out figures then come from a model that never saw the source at all), the
# templates, and the new ham. (Each fit takes minutes on the shared 2-core machine.)
SPAM_ABLATION: Final = (
    "scamspot", "blog-spam", "vi-sms-spam", "en-sms-spam", "synthetic", "synthetic-kinds", "english-comments",
    "vi-comments",
)  # fmt: skip


@dataclass(slots=True)
class SpamData:
    data: Dataset
    labels: list[int]
    weights: list[float]
    # Which of SPAM_SOURCES each row came from (for the ablation; YouTube as "youtube:<file>").
    origin: list[str]
    # The row's group (video, thread, post, SMS template; the row itself where a source has
    # none): the calibration's out-of-fold splits keep a group on one side.
    groups: list[str] = field(default_factory=list)

    def add(self, origin: str, texts: list[str], labels: list[int], weight: float = 1.0,
            authors: list[str] | None = None, groups: list[str] | None = None) -> None:  # fmt: skip
        start = len(self.groups)
        self.data.texts += texts
        self.data.authors += authors if authors is not None else [""] * len(texts)
        self.labels += labels
        self.weights += [weight] * len(texts)
        self.origin += [origin] * len(texts)
        self.groups += groups if groups is not None else [f"{origin}:row{start + i}" for i in range(len(texts))]

    def ordinary(self) -> np.ndarray:
        """Mask of the ordinary reader comments (ham of ViHSD, english-comments, 2025 Vietnamese)."""
        origin = np.asarray(self.origin)
        return np.isin(origin, ORDINARY_SOURCES) & (np.asarray(self.labels) == 0)


def _rows_source(path: Path, rows: list[sources.Row], mapping: str) -> dict[str, Any]:
    return {"path": str(path), "sha256": _sha256(path), "rows": len(rows), "mapping": mapping,
            "heldout_rows_not_used": "groups hashed into the held-out fifth (models/sources.py)"}  # fmt: skip


def spam_training_data(
    root: Path, seed: int, skip_video: str | None = None, exclude: frozenset[str] = frozenset()
) -> SpamData:
    """Texts, authors, 0/1 labels, sample weights and source of every spam-model row."""
    out = SpamData(Dataset([], []), [], [], [], [])
    data = out.data
    if "youtube" not in exclude:
        for name in YOUTUBE_FILES:
            if name == skip_video:
                continue
            part = read_csv([root / "youtube-spam" / name], "CONTENT", "label")
            labels_yt = [int(lab == "1") for lab in part.labels]
            out.add(f"youtube:{name}", part.texts, labels_yt, YOUTUBE_WEIGHT, part.authors,
                    [f"youtube:{name}"] * len(part.texts))  # fmt: skip
            data.sources += [{**s, "sample_weight": YOUTUBE_WEIGHT} for s in part.sources]
    if "vispamreviews" not in exclude:
        vispam = root / "vispamreviews" / "train.csv"
        texts: list[str] = []
        labels: list[int] = []
        dropped = 0
        with vispam.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                text, kind = row["Comment"], row["SpamLabel"]
                if kind == "3" and not _promotional(text):
                    dropped += 1
                    continue
                texts.append(text)
                labels.append(int(kind == "3"))
        out.add("vispamreviews", texts, labels)
        data.sources.append({"path": str(vispam), "rows": len(texts), "dropped_spamlabel3_rows": dropped,
                             "mapping": "SpamLabel 0/1/2 -> ham; 3 with phone/link/contact -> spam"})
    if "vihsd" not in exclude:
        vihsd = read_csv([root / "vihsd" / "train.csv"], "free_text", "label_id")
        out.add("vihsd", vihsd.texts, [0] * len(vihsd.texts))
        data.sources += [{**s, "mapping": "all rows -> ham"} for s in vihsd.sources]
    if "english-comments" not in exclude:
        rows = [r for r in sources.english_comments(root) if not r.heldout]
        out.add("english-comments", [r.text for r in rows], [0] * len(rows), groups=[r.group for r in rows])
        data.sources.append(_rows_source(root / "english-comments", rows, "every reader comment -> ham"))
    for name, path, loader in (
        ("vi-sms-spam", root / "vi-sms-spam" / "pham2017.csv", sources.vi_sms),
        ("en-sms-spam", root / "en-sms-spam" / "sms_spam_collection.csv", sources.en_sms),
        ("scamspot", root / "en-scam-comments" / "scamspot_instagram.csv", sources.scamspot),
        ("vi-comments", root / "vi-hate-speech" / "thienit84_facebook_youtube.csv", sources.vi_comments),
    ):
        if name in exclude:
            continue
        rows = [r for r in loader(root) if not r.heldout]
        out.add(name, [r.text for r in rows], [int(r.label == "spam") for r in rows], groups=[r.group for r in rows])
        data.sources.append(_rows_source(path, rows, "spam -> spam, ham -> ham"))
    if "synthetic" not in exclude:
        syn_texts, syn_labels = synthetic.generate(seed, N_SYNTHETIC_SPAM, N_SYNTHETIC_HAM)
        out.add("synthetic", syn_texts, syn_labels)
        data.sources.append({"path": "models/synthetic.py", "seed": seed, "spam": N_SYNTHETIC_SPAM,
                             "ham": N_SYNTHETIC_HAM})
    if "blog-spam" not in exclude:
        # The only real blog comment spam here, as its publisher preprocessed it (lower-cased,
        # stop words and punctuation removed); as many English training comments preprocessed
        # the same way go in as ham, so that the preprocessing itself is no spam cue.
        blog = [r.text for r in sources.blog_spam(root)]
        english_train = [r.text for r in sources.english_comments(root) if not r.heldout]
        step = max(1, len(english_train) // len(blog))
        ham = [sources.blog_preprocess(t) for t in english_train[::step][: len(blog)]]
        out.add("blog-spam", blog + ham, [1] * len(blog) + [0] * len(ham))
        data.sources.append({"path": str(root / "en-blog-spam" / "lmblog_spam.csv"),
                             "sha256": _sha256(root / "en-blog-spam" / "lmblog_spam.csv"), "rows": len(blog),
                             "mapping": "spam; plus as many english-comments training rows, preprocessed "
                             "the same way, as ham"})  # fmt: skip
    if "synthetic-kinds" not in exclude:
        syn_texts, syn_labels = synthetic.generate_kinds(seed, N_KIND_SPAM, N_KIND_HAM)
        out.add("synthetic-kinds", syn_texts, syn_labels)
        data.sources.append({"path": "models/synthetic.py generate_kinds", "seed": seed, "spam": N_KIND_SPAM,
                             "ham": N_KIND_HAM})
    return out


def _sha256(path: Path) -> str:
    if path.is_dir():
        return hashlib.sha256(b"".join(_sha256(p).encode() for p in sorted(path.glob("*.csv")))).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spam_matrix(spam: SpamData) -> tuple[sp.csr_matrix, np.ndarray, list[Prepared]]:
    """The spam model's training columns (shared block + signals + TF-IDF block), its IDF."""
    prepared = prepare_all(spam.data.texts, spam.data.authors, "spam featurize")
    counts = tfidf.term_counts(prepared)
    idf = tfidf.fit_idf(counts)
    x = sp.hstack([featurize(prepared), tfidf.weigh(counts, idf)], format="csr")
    return x, idf, prepared


def train_spam(root: Path, out: Path, seed: int) -> tuple[Path, SpamData, sp.csr_matrix]:
    spam = spam_training_data(root, seed)
    x, idf, prepared = spam_matrix(spam)
    path = build_artifact("spam", out, prepared, np.asarray(spam.labels), seed, spam.data.sources,
                          sample_weight=np.asarray(spam.weights), c_grid=(SPAM_BUILD_C,),
                          cv_folds=BUILD_CV_FOLDS, x=x, idf=idf, groups=spam.groups,
                          calibration_fpr=(spam.ordinary(), CALIBRATION_FPR))  # fmt: skip
    return path, spam, x


@dataclass(frozen=True, slots=True)
class ToxicityRecipe:
    """How one toxicity model is trained and measured (also used for its TF-IDF baseline)."""

    language: str  # the manifest's "language"; "vi" also serves comments in neither language
    dev_key: str  # its figure in metrics.json
    c: float
    cv_folds: int
    # Scale the hashed n-gram columns by their naive-Bayes log-count ratio before the fit
    # (models/training.py nb_scaling; folded into the weights, so serving is unchanged). A
    # feature transform: the TF-IDF baseline keeps its own features.
    nb_prior: bool = False
    # None: decision biases for macro-F1 (``decision_bias``). A share: the label calls at
    # most that share of the out-of-fold clean comments toxic, biases folded into the intercept.
    clean_flag_target: float | None = None
    # Extra training sets and their sample weight (in every fold's training part; the
    # decision is tuned on the main set's rows only).
    extra: tuple[tuple[str, float], ...] = ()


# Toxicity is one model per language, picked by the detected language at serving time
# (service/scoring/scorer.py), keyed by folder.
TOXICITY_MODELS: Final = {
    # Biases on 5 folds as before (24k short rows, ~1 min a fit).
    "toxicity": ToxicityRecipe("vi", "toxicity_vihsd_dev", TOXICITY_C, CV_FOLDS),
    # English comments are long (Civil Comments ~300 chars): C = 2 converges in ~6 min on one
    # core; decision on 3 folds. The label may call at most 4 % of the out-of-fold clean news
    # comments (english-comments training part) toxic: the card's target is 5 % on the
    # held-out part, and a point of margin covers the shift between the two.
    "toxicity-en": ToxicityRecipe("en", "toxicity_english_heldout", 2.0, BUILD_CV_FOLDS, nb_prior=True,
                                  clean_flag_target=0.04),
}


@dataclass(slots=True)
class ToxicityData:
    """The rows of one toxicity model: *tune* marks the main set's rows (the decision is tuned
    on their out-of-fold predictions), *weights* the sample weight of every row."""

    data: Dataset
    weights: list[float]
    tune: list[bool]

    def add(self, texts: list[str], labels: list[str], weight: float, tune: bool, source: dict[str, Any]) -> None:
        self.data.texts += texts
        self.data.labels += labels
        self.data.authors += [""] * len(texts)
        self.data.sources.append({**source, "sample_weight": weight, "decision_tuned_on": tune})
        self.weights += [weight] * len(texts)
        self.tune += [tune] * len(texts)


def _toxicity_extra(root: Path, name: str) -> tuple[list[str], list[str], dict[str, Any]]:
    if name == "vi-hate-speech":
        rows = [r for r in sources.vi_hate_speech(root) if not r.heldout]
        path = root / "vi-hate-speech" / "thienit84_facebook_youtube.csv"
        return [r.text for r in rows], [r.label for r in rows], _rows_source(path, rows, "label (CLEAN/OFFENSIVE/HATE)")
    if name == "vlsp2019":
        rows = sources.vlsp_toxicity(root)
        path = root / "vlsp2019-hsd" / "train.csv"
        return [r.text for r in rows], [r.label for r in rows], {"path": str(path), "sha256": _sha256(path),
                                                                 "rows": len(rows), "mapping": "toxicity"}
    raise ValueError(f"unknown toxicity set {name!r}")


def toxicity_training_data(root: Path, model: str) -> ToxicityData:
    """CLEAN/OFFENSIVE/HATE rows of one toxicity model: ``toxicity`` (Vietnamese, also used for
    comments in neither language) or ``toxicity-en``."""
    out = ToxicityData(Dataset([], [], [], []), [], [])
    if model == "toxicity":
        vihsd = read_csv([root / "vihsd" / "train.csv"], "free_text", "label_id")
        out.add(vihsd.texts, vihsd.labels, 1.0, True, {**vihsd.sources[0], "mapping": "label_id 0/1/2"})
    else:
        rows = [r for r in sources.english_comments(root) if not r.heldout]
        mapping = "CLEAN / OFFENSIVE / HATE (models/sources.py)"
        out.add([r.text for r in rows], [r.label for r in rows], 1.0, True,
                _rows_source(root / "english-comments", rows, mapping))  # fmt: skip
        # english-comments is toxic-heavy by construction (Civil Comments rows were picked from
        # posts already rated toxic): half its rows are toxic, against a few percent of real
        # English discussion. Ordinary English text from the spam sets (YouTube ham comments,
        # SMS ham of the training part) is added as CLEAN so English is not toxic by default.
        clean: list[str] = []
        for name in YOUTUBE_FILES:
            part = read_csv([root / "youtube-spam" / name], "CONTENT", "label")
            clean += [t for t, lab in zip(part.texts, part.labels, strict=True) if lab == "0"]
        clean += [r.text for r in sources.en_sms(root) if not r.heldout and r.label == "ham"]
        out.add(clean, ["CLEAN"] * len(clean), 1.0, False,
                {"path": "youtube-spam label 0 + en-sms-spam ham (training part)", "rows": len(clean),
                 "mapping": "-> CLEAN"})  # fmt: skip
    for name, weight in TOXICITY_MODELS[model].extra:
        texts, labels, source = _toxicity_extra(root, name)
        out.add(texts, labels, weight, False, source)
    return out


def _weights(tox: ToxicityData) -> np.ndarray | None:
    # None when every row weighs 1: the fit is then the one the model was always built with.
    return None if all(w == 1.0 for w in tox.weights) else np.asarray(tox.weights)


def _toxicity_options(recipe: ToxicityRecipe, tox: ToxicityData, baseline: bool = False) -> dict[str, Any]:
    """train_toxicity_model's options for a recipe (the baseline keeps its own features: no NB scaling)."""
    options: dict[str, Any] = {"tune_rows": np.asarray(tox.tune), "clean_flag_target": recipe.clean_flag_target}
    if not baseline:
        options["nb_columns"] = N_HASH if recipe.nb_prior else None
    return options


def train_toxicity(root: Path, out: Path, model: str, seed: int) -> tuple[Path, ToxicityData]:
    tox = toxicity_training_data(root, model)
    data = tox.data
    prepared = prepare_all(data.texts, data.authors, f"{model} featurize")
    recipe = TOXICITY_MODELS[model]
    path = build_artifact("toxicity", out / model, prepared, toxicity_targets(data.labels), seed, data.sources,
                          cv_folds=recipe.cv_folds, notes={"language": recipe.language}, c=recipe.c,
                          sample_weight=_weights(tox), toxicity_options=_toxicity_options(recipe, tox))  # fmt: skip
    return path, tox


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
    artifact = load_artifact(model)
    p = binary_probability(artifact, _features(data, "handwritten", artifact))
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
    train = read_csv([root / "vispamreviews/train.csv"], "Comment", "Label")
    tfidf = baselines.Tfidf.fit(train.texts)
    base = train_spam_model(tfidf.transform(train.texts), spam_targets(train.labels, "1"), seed,
                            c_grid=SPAM_C_GRID, tune_threshold=True)  # fmt: skip
    baseline = _baseline_binary(base, tfidf, {"dev": dev})["dev"]
    baseline["model_selection"] = base.extra_manifest["model_selection"]
    return {**metrics, "model_selection": load_artifact(model).manifest["model_selection"], "baseline": baseline}


def spam_eval_sets(root: Path, seed: int, tmp: Path) -> dict[str, Dataset]:
    """Every labelled set the spam model is measured on (label "1" = spam); none is trained on."""

    def rows(items: list[sources.Row], name: str) -> Dataset:
        return Dataset([r.text for r in items], ["1" if r.label == "spam" else "0" for r in items],
                       [""] * len(items), [{"source": name, "rows": len(items)}])  # fmt: skip

    vispam = read_csv([root / "vispamreviews/dev.csv"], "Comment", "SpamLabel")
    vispam.labels = ["1" if lab == "3" else "0" for lab in vispam.labels]
    vihsd = read_csv([root / "vihsd/dev.csv"], "free_text", "label_id")
    vihsd.labels = ["0"] * len(vihsd.labels)
    english = [r for r in sources.english_comments(root) if r.heldout]
    blog = sources.blog_spam(root)
    kinds = read_csv([SPAM_KINDS], "text", "label")
    spam_rows = [i for i, lab in enumerate(kinds.labels) if lab == "1"]
    styles = decorated.STYLES
    return {
        "vihsd_dev_spam": vihsd,
        "english_heldout_spam": rows(english, "english-comments"),
        "vi_comments_heldout": rows([r for r in sources.vi_comments(root) if r.heldout], "vi-hate-speech"),
        "vi_sms_heldout": rows([r for r in sources.vi_sms(root) if r.heldout], "vi-sms-spam"),
        "en_sms_heldout": rows([r for r in sources.en_sms(root) if r.heldout], "en-sms-spam"),
        "scamspot_heldout": rows([r for r in sources.scamspot(root) if r.heldout], "scamspot"),
        # Real Vietnamese social-media promotions (weak labels; models/sources.py), never trained on.
        "vlsp_shop_posts": rows(sources.vlsp_shop_posts(root), "vlsp2019-hsd shop posts"),
        # The blog spam as its publisher preprocessed it, beside the held-out English comments
        # preprocessed the same way (so a false-positive rate can be read at the same cut).
        "blog_spam_preprocessed": Dataset(
            [r.text for r in blog] + [sources.blog_preprocess(r.text) for r in english],
            ["1"] * len(blog) + ["0"] * len(english), [""] * (len(blog) + len(english)),
            [{"source": "en-blog-spam + english-comments held-out, preprocessed"}]),
        "spam_kinds": kinds,
        # The hand-written spam in the 20 decorated styles in turn (models/decorated.py).
        "spam_kinds_decorated": Dataset(
            [decorated.decorate(kinds.texts[i], styles[k % len(styles)]) for k, i in enumerate(spam_rows)],
            ["1"] * len(spam_rows), [""] * len(spam_rows)),
        "vispam_dev_spam_label3": vispam,
        "synthetic_heldout": read_csv([_synthetic_heldout(seed, tmp)], "text", "label"),
        "handwritten": read_csv([HANDWRITTEN], "text", "label"),
    }


# pham2017's held-out spam by kind, from its own wording (folded text; the first that matches).
_PHAM_KINDS: Final = (
    ("vi-sim-list", re.compile(r"\bsim\b")),
    ("vi-loan-credit", re.compile(r"\b(?:vay|tin chap|the tin dung|giai ngan|tra gop)\b")),
    ("vi-real-estate", re.compile(r"\b(?:can ho|chung cu|dat nen|du an|biet thu|nha pho)\b")),
)
# Which ordinary comments a kind's false-positive rate is read on (the twin's cut that flags
# as many of them as the shipped model's 0.3 or 0.9 does).
_ORDINARY: Final = ("vihsd_dev_spam", "english_heldout_spam")


def _kind_masks(sets: dict[str, Dataset]) -> list[tuple[str, str, np.ndarray]]:
    """(``source:kind``, set, mask of its spam rows) of every per-kind figure."""
    out: list[tuple[str, str, np.ndarray]] = []
    kinds = sets["spam_kinds"]
    kind_col = np.asarray([row["kind"] for row in csv.DictReader(SPAM_KINDS.open(encoding="utf-8"))])
    spam = np.asarray([lab == "1" for lab in kinds.labels])
    for kind in dict.fromkeys(kind_col[spam]):
        out.append((f"hand-written:{kind}", "spam_kinds", spam & (kind_col == kind)))
    out.append(("hand-written, decorated:all kinds", "spam_kinds_decorated",
                np.ones(len(sets["spam_kinds_decorated"].texts), dtype=bool)))

    def spam_rows(name: str) -> np.ndarray:
        return np.asarray([lab == "1" for lab in sets[name].labels])

    out.append(("scamspot held-out posts:en-crypto-investment", "scamspot_heldout", spam_rows("scamspot_heldout")))
    out.append(("VLSP 2019 shop posts, never trained on:vi-social-promotions", "vlsp_shop_posts",
                spam_rows("vlsp_shop_posts")))
    out.append(("lmblog, preprocessed:en-seo-praise-link", "blog_spam_preprocessed",
                spam_rows("blog_spam_preprocessed")))
    out.append(("SMS Spam Collection held-out:en-sms", "en_sms_heldout", spam_rows("en_sms_heldout")))
    spam_vi = spam_rows("vi_sms_heldout")
    folded = [nz.fold_for_matching(t) for t in sets["vi_sms_heldout"].texts]
    taken = np.zeros(len(folded), dtype=bool)
    for kind, pattern in _PHAM_KINDS:
        mask = spam_vi & ~taken & np.asarray([pattern.search(f) is not None for f in folded])
        taken |= mask
        out.append((f"pham2017 held-out:{kind}", "vi_sms_heldout", mask))
    out.append(("pham2017 held-out:vi-sms-other", "vi_sms_heldout", spam_vi & ~taken))
    return out


def _recall_at(p_spam: np.ndarray, p_ham: np.ndarray, fpr: float) -> float:
    """Recall at the cut that flags at most a share *fpr* of *p_ham* (the strictest such cut)."""
    ham = np.sort(p_ham)[::-1]
    allowed = int(np.floor(fpr * len(ham) + 1e-9))
    cut = ham[allowed] if allowed < len(ham) else -np.inf
    return float(np.mean(p_spam > cut))


def spam_kinds_figures(sets: dict[str, Dataset], probs: dict[str, np.ndarray],
                       twin: dict[str, np.ndarray] | None) -> dict[str, Any]:  # fmt: skip
    """Per spam kind: caught at 0.3 and 0.9 by the model and its twin, and the twin's recall at
    the false-positive rate the model has on ordinary comments at each threshold."""
    def ordinary(p: dict[str, np.ndarray], set_name: str) -> np.ndarray:
        if set_name == "blog_spam_preprocessed":  # its ham is the preprocessed English comments
            ham: np.ndarray = p[set_name][np.asarray(sets[set_name].labels) == "0"]
            return ham
        return np.concatenate([p[k] for k in _ORDINARY])

    out: dict[str, Any] = {}
    for kind, set_name, mask in _kind_masks(sets):
        p = probs[set_name][mask]
        row: dict[str, Any] = {"set": set_name, "rows": int(mask.sum())}
        for t in _THRESHOLDS.values():
            row[f"caught@{t}"] = float(np.mean(p >= t))
            if twin is not None:
                ham_ours = ordinary(probs, set_name)
                fpr = float(np.mean(ham_ours >= t))
                row[f"fpr_ordinary@{t}"] = fpr
                row[f"twin_caught@{t}"] = float(np.mean(twin[set_name][mask] >= t))
                row[f"twin_caught_same_fpr@{t}"] = _recall_at(twin[set_name][mask], ordinary(twin, set_name), fpr)
        out[kind] = row
    return out


def toxicity_eval_set(root: Path, model: str) -> Dataset:
    if model == "toxicity":
        return read_csv([root / "vihsd/dev.csv"], "free_text", "label_id")
    english = [r for r in sources.english_comments(root) if r.heldout]
    return Dataset([r.text for r in english], [r.label for r in english], [""] * len(english))


_THRESHOLDS: Final = {"approve": DEFAULT_APPROVE_THRESHOLD, "spam": DEFAULT_SPAM_THRESHOLD}


def _baseline_probabilities(
    result: TrainResult, tfidf: baselines.Tfidf, sets: dict[str, Dataset]
) -> dict[str, np.ndarray]:
    cal = result.extra_manifest["calibration"]
    out: dict[str, np.ndarray] = {}
    for name, data in sets.items():
        z = tfidf.transform(data.texts) @ result.coef[0] + result.intercept[0]
        out[name] = _calibrated(np.asarray(z, dtype=np.float64), float(cal["a"]), float(cal["b"]))
    return out


def _baseline_binary(result: TrainResult, tfidf: baselines.Tfidf, sets: dict[str, Dataset]) -> dict[str, Any]:
    thresholds = {**_THRESHOLDS, "decision": float(result.extra_manifest["decision_threshold"])}
    probs = _baseline_probabilities(result, tfidf, sets)
    return {name: _binary_metrics(spam_targets(data.labels, "1"), probs[name], thresholds)
            for name, data in sets.items()}  # fmt: skip


@dataclass(frozen=True, slots=True)
class SpamTwin:
    """The TF-IDF twin of the spam model: its figures, probabilities and calibration."""

    metrics: dict[str, Any]
    probabilities: dict[str, np.ndarray]
    calibration: dict[str, float]


def spam_baseline(spam: SpamData, sets: dict[str, Dataset], seed: int) -> SpamTwin:
    """TF-IDF + LR on the spam model's own training rows, measured on the same sets (its
    calibration is reused by its leave-one-video-out)."""
    tfidf = baselines.Tfidf.fit(spam.data.texts)
    result = train_spam_model(tfidf.transform(spam.data.texts), np.asarray(spam.labels), seed,
                              np.asarray(spam.weights), c_grid=(SPAM_BUILD_C,), cv_folds=BUILD_CV_FOLDS)  # fmt: skip
    thresholds = {**_THRESHOLDS, "decision": float(result.extra_manifest["decision_threshold"])}
    probs = _baseline_probabilities(result, tfidf, sets)
    metrics = {name: _binary_metrics(spam_targets(data.labels, "1"), probs[name], thresholds)
               for name, data in sets.items()}  # fmt: skip
    return SpamTwin(metrics, probs, result.extra_manifest["calibration"])


def twin_calibration(spam: SpamData, seed: int) -> dict[str, Any]:
    """Platt scaling of the TF-IDF twin on 2-fold out-of-fold decision values."""
    y, weights = np.asarray(spam.labels), np.asarray(spam.weights)
    texts = np.asarray(spam.data.texts, dtype=object)
    oof = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=2, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    for train_idx, test_idx in folds:
        tfidf = baselines.Tfidf.fit(list(texts[train_idx]))
        lr = _fit_lr(tfidf.transform(list(texts[train_idx])), y[train_idx], SPAM_BUILD_C, seed,
                     _balanced_weights(y[train_idx], weights[train_idx]))  # fmt: skip
        oof[test_idx] = tfidf.transform(list(texts[test_idx])) @ lr.coef_[0] + lr.intercept_[0]
    a, b = _platt(oof, y, seed)
    return {"a": a, "b": b, "method": "platt on 2-fold oof"}


def lovo_baseline(spam: SpamData, cal: dict[str, float], seed: int) -> dict[str, Any]:
    """:func:`lovo` for the TF-IDF twin: vocabulary and fit without the video, the twin's calibration."""
    y, weights = np.asarray(spam.labels), np.asarray(spam.weights)
    texts = np.asarray(spam.data.texts, dtype=object)

    def score(held: np.ndarray) -> np.ndarray:
        tfidf = baselines.Tfidf.fit(list(texts[~held]))
        lr = _fit_lr(tfidf.transform(list(texts[~held])), y[~held], SPAM_BUILD_C, seed,
                     _balanced_weights(y[~held], weights[~held]))  # fmt: skip
        return _probabilities(lr.coef_[0], float(lr.intercept_[0]), cal, tfidf.transform(list(texts[held])))

    return _per_video(spam, score)


# Held-out shares of clean comments at which toxic recall is compared, whatever the rule.
TOXIC_RECALL_AT: Final = (0.01, 0.05)


def toxic_vs_clean(y: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """What the service does with the probabilities, beside the label's figures.

    ``policy_defaults``: the share of clean and of toxic comments a site's default rules hold
    for a moderator (P(OFFENSIVE) >= offensive_hold_at or P(HATE) >= hate_hold_at, as
    service/moderation/policy.py applies them; automatic rejection is off by default).
    ``recall_at_clean_rate``: toxic comments caught when a cut on P(CLEAN) is set on this very
    set to label that share of its clean comments toxic: not a rule anyone ships (the cut is
    read off the evaluation rows), the way two models are compared at the same false-positive rate.
    """
    from sklearn.metrics import roc_auc_score

    defaults = SiteSettings()
    clean, toxic = y == 0, y != 0
    held = (proba[:, 1] >= defaults.offensive_hold_at) | (proba[:, 2] >= defaults.hate_hold_at)
    policy = {"offensive_hold_at": defaults.offensive_hold_at, "hate_hold_at": defaults.hate_hold_at,
              "clean_held": float(np.mean(held[clean])), "toxic_held": float(np.mean(held[toxic]))}  # fmt: skip
    score = 1.0 - proba[:, 0]
    at_rate = {}
    for rate in TOXIC_RECALL_AT:
        cut = float(np.quantile(score[clean], 1.0 - rate, method="higher"))
        at_rate[f"{rate:g}"] = float(np.mean(score[toxic] > cut))
    return {"policy_defaults": policy, "recall_at_clean_rate": at_rate,
            "roc_auc_toxic_vs_clean": float(roc_auc_score(toxic, score))}  # fmt: skip


def toxic_recall_at(y: np.ndarray, proba: np.ndarray, rate: float) -> float:
    """Toxic rows caught by a cut on P(CLEAN) that labels *rate* of the clean rows toxic."""
    score = 1.0 - proba[:, 0]
    cut = float(np.quantile(score[y == 0], 1.0 - rate, method="higher"))
    return float(np.mean(score[y != 0] > cut))


def english_toxicity_by_collection(root: Path, model: Path) -> dict[str, Any]:
    """Clean comments labelled toxic and toxic ones caught, per collection of the held-out part.

    The Civil Comments rows were picked from posts already rated toxic, so their CLEAN rows
    are borderline; Impermium's non-insults and Fox News's non-hate comments are nearer to
    ordinary reader comments.
    """
    artifact = load_artifact(model)
    rows = [r for r in sources.english_comments(root) if r.heldout]
    x = featurize(prepare_all([r.text for r in rows], [""] * len(rows), "english by collection"))
    proba = multiclass_probability(artifact, x)
    pred = multiclass_decision(artifact, proba)
    y = toxicity_targets([r.label for r in rows])
    collection = np.asarray([r.group.split(":")[0] for r in rows])
    out: dict[str, Any] = {}
    for name in ("civil", "impermium", "fox"):
        clean, toxic = (collection == name) & (y == 0), (collection == name) & (y != 0)
        out[name] = {"clean_rows": int(clean.sum()), "clean_flagged": float(np.mean(pred[clean] != 0)),
                     "toxic_rows": int(toxic.sum()), "toxic_caught": float(np.mean(pred[toxic] != 0))}  # fmt: skip
    return out


def toxicity_baseline(tox: ToxicityData, sets: dict[str, Dataset], seed: int, recipe: ToxicityRecipe,
                      shipped: dict[str, np.ndarray]) -> dict[str, Any]:  # fmt: skip
    """The TF-IDF twin on the model's rows with the same training function and decision rule
    (its own out-of-fold decision), plus its toxic recall at the clean-flag rate the shipped
    model's label has on the same set (*shipped*: the shipped label per set)."""
    data = tox.data
    tfidf = baselines.Tfidf.fit(data.texts)
    result = train_toxicity_model(tfidf.transform(data.texts), toxicity_targets(data.labels), seed, c=recipe.c,
                                  cv_folds=recipe.cv_folds, sample_weight=_weights(tox),
                                  **_toxicity_options(recipe, tox, baseline=True))  # fmt: skip
    bias = np.asarray(result.extra_manifest["decision_bias"])
    out: dict[str, Any] = {}
    for name, ds in sets.items():
        logits = tfidf.transform(ds.texts) @ result.coef.T + result.intercept
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        pred = np.argmax(np.log(np.maximum(proba, 1e-12)) + bias, axis=1)
        y = toxicity_targets(ds.labels)
        out[name] = {**_multiclass_metrics(y, proba, pred, list(TOXICITY_LABELS)), **toxic_vs_clean(y, proba),
                     "decision": result.extra_manifest.get("decision")}  # fmt: skip
        if name in shipped:
            rate = float(np.mean(shipped[name][y == 0] != 0))
            out[name]["toxic_caught_at_shipped_clean_rate"] = {"rate": rate, "recall": toxic_recall_at(y, proba, rate)}
    return out


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The card's columns: share flagged at 0.3 and 0.9 among spam (recall) and ham (FPR) rows."""
    keys = ("fpr", "recall")
    return {f"{k}@{metrics[t]['threshold']}": metrics[t][k] for t in ("at_approve", "at_spam") for k in keys
            if metrics[t][k] is not None}  # fmt: skip


def _probabilities(coef: np.ndarray, intercept: float, cal: dict[str, float], x: sp.csr_matrix) -> np.ndarray:
    return _calibrated(np.asarray(x @ coef + intercept, dtype=np.float64), float(cal["a"]), float(cal["b"]))


def ablation(spam: SpamData, x: sp.csr_matrix, model: Path, sets_x: dict[str, tuple[sp.csr_matrix, np.ndarray]],
             sets: dict[str, Dataset], seed: int, ablate: Sequence[str] = SPAM_ABLATION) -> dict[str, Any]:  # fmt: skip
    """Each source left out in turn: what the held-out figures become without it.

    One full fit without the source (same C and weights as the shipped model); the shipped
    calibration is reused, so only the weights differ. (Warm-starting from the shipped weights
    was tried first: lbfgs stopped near the start and the figures barely moved.)
    """
    artifact = load_artifact(model)
    cal = artifact.manifest["calibration"]
    y = np.asarray(spam.labels)
    weights = np.asarray(spam.weights)
    origin = np.asarray([o.split(":")[0] for o in spam.origin])
    out: dict[str, Any] = {}
    for source in ("none", *ablate):
        if source == "none":
            coef, intercept = artifact.coef[0], float(artifact.intercept[0])
        else:
            keep = origin != source
            lr = _fit_lr(x[keep], y[keep], SPAM_BUILD_C, seed, _balanced_weights(y[keep], weights[keep]))
            coef, intercept = lr.coef_[0], float(lr.intercept_[0])
        out[source] = {}
        for name, (xs, ys) in sets_x.items():
            p = _probabilities(coef, intercept, cal, xs)
            out[source][name] = _summary(_binary_metrics(ys, p, dict(_THRESHOLDS)))
            if source == "blog-spam" and name == BLOG_SET:
                out[source][name]["twin_same_fpr"] = _blog_twin_without_it(spam, origin != source, p, ys,
                                                                           sets[BLOG_SET], seed)  # fmt: skip
    return out


BLOG_SET: Final = "blog_spam_preprocessed"


def _blog_twin_without_it(spam: SpamData, keep: np.ndarray, p: np.ndarray, y: np.ndarray, blog: Dataset,
                          seed: int) -> dict[str, float]:  # fmt: skip
    """The twin fitted without the blog spam: its recall on it at the false-positive rate (on the
    preprocessed English comments beside it) the model fitted without it has at 0.3 and 0.9."""
    texts = [t for t, k in zip(spam.data.texts, keep, strict=True) if k]
    labels, weights = np.asarray(spam.labels)[keep], np.asarray(spam.weights)[keep]
    tfidf = baselines.Tfidf.fit(texts)
    lr = _fit_lr(tfidf.transform(texts), labels, SPAM_BUILD_C, seed, _balanced_weights(labels, weights))
    z = np.asarray(tfidf.transform(blog.texts) @ lr.coef_[0] + lr.intercept_[0], dtype=np.float64)
    return {f"recall@{t}": _recall_at(z[y == 1], z[y == 0], float(np.mean(p[y == 0] >= t)))
            for t in _THRESHOLDS.values()}  # fmt: skip


def _per_video(spam: SpamData, score: Callable[[np.ndarray], np.ndarray]) -> dict[str, Any]:
    """Figures at 0.5 for each YouTube video, scored by ``score(held)`` (a mask of its rows)
    from a model fitted without them."""
    y, origin = np.asarray(spam.labels), np.asarray(spam.origin)
    out: dict[str, Any] = {}
    for video in YOUTUBE_FILES:
        held = origin == f"youtube:{video}"
        out[video] = _binary_metrics(y[held], score(held), {})
    return out


def lovo(spam: SpamData, x: sp.csr_matrix, model: Path, seed: int) -> dict[str, Any]:
    """YouTube leave-one-video-out: one fit without the video, the shipped calibration, 0.5."""
    cal = load_artifact(model).manifest["calibration"]
    y, weights = np.asarray(spam.labels), np.asarray(spam.weights)

    def score(held: np.ndarray) -> np.ndarray:
        lr = _fit_lr(x[~held], y[~held], SPAM_BUILD_C, seed, _balanced_weights(y[~held], weights[~held]))
        return _probabilities(lr.coef_[0], float(lr.intercept_[0]), cal, x[held])

    return _per_video(spam, score)


def _features(data: Dataset, desc: str, artifact: Artifact | None = None) -> sp.csr_matrix:
    """The shared features of *data*, or the columns *artifact* reads."""
    prepared = prepare_all(data.texts, data.authors, desc)
    x = featurize(prepared)
    return x if artifact is None else model_matrix(artifact, x, prepared)


def evaluate_all(root: Path, out: Path, seed: int, parts: set[str],
                 trained: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    spam = out / "spam"
    tmp = out / ".tmp"
    tmp.mkdir(exist_ok=True)
    results: dict[str, Any] = {}
    if "spam" in parts:
        sets = spam_eval_sets(root, seed, tmp)
        artifact = load_artifact(spam)
        thresholds = {k: float(v) for k, v in artifact.manifest["thresholds"].items()}
        sets_x = {k: (_features(v, k, artifact), spam_targets(v.labels, "1")) for k, v in sets.items()}
        probs = {k: binary_probability(artifact, xs) for k, (xs, _) in sets_x.items()}
        for name, (_, ys) in sets_x.items():
            results[name] = _binary_metrics(ys, probs[name], thresholds)
        results["handwritten"] = _handwritten(spam)
        twin: SpamTwin | None = None
        if "spam_data" in trained:
            spam_data, x = trained["spam_data"], trained["spam_x"]
            if "ablation" in parts:
                results["spam_ablation"] = ablation(spam_data, x, spam, sets_x, sets, seed, trained["ablate"])
            if "baselines" in parts:
                twin = spam_baseline(spam_data, sets, seed)
                for name, metrics in twin.metrics.items():
                    results[name]["baseline"] = metrics
        results["spam_kinds"] = spam_kinds_figures(sets, probs, twin.probabilities if twin else None)
        if "spam_data" in trained:
            if "lovo" in parts:
                per_video = lovo(spam_data, x, spam, seed)
                results["youtube_lovo"] = per_video
                results["youtube_lovo_mean_macro_f1"] = float(np.mean([m["macro_f1"] for m in per_video.values()]))
            if "lovo-twin" in parts:
                # The twin's own calibration: from its full fit when the baselines ran in this
                # run, else from 2-fold out-of-fold decisions (so this part can run on its own).
                cal = twin.calibration if twin is not None else twin_calibration(spam_data, seed)
                per_video = lovo_baseline(spam_data, cal, seed)
                results["youtube_lovo_baseline"] = per_video
                results["youtube_lovo_baseline_mean_macro_f1"] = float(
                    np.mean([m["macro_f1"] for m in per_video.values()])
                )
                results["youtube_lovo_baseline_calibration"] = cal
    for model, recipe in TOXICITY_MODELS.items():
        if model not in parts:
            continue
        key = recipe.dev_key
        sets = {key: toxicity_eval_set(root, model)}
        results[key] = evaluate_artifact(out / model, sets[key], "1", None)["metrics"]
        artifact = load_artifact(out / model)
        proba = multiclass_probability(artifact, _features(sets[key], key))
        results[key].update(toxic_vs_clean(toxicity_targets(sets[key].labels), proba))
        results[key]["decision"] = artifact.manifest.get("decision")
        if recipe.language == "en":
            results[key]["by_collection"] = english_toxicity_by_collection(root, out / model)
        if "baselines" in parts and model in trained:
            shipped = {key: multiclass_decision(artifact, proba)}
            results[key]["baseline"] = toxicity_baseline(trained[model], sets, seed, recipe, shipped)[key]
    if "vispam" in parts:
        results["vispam_train_only_cli"] = vispam_cli(root, tmp, seed)
    return results


def _merged(old: Any, new: Any, depth: int = 2) -> Any:
    """*new* over *old*, dicts merged *depth* levels deep: figures measured by another run (a
    kind's twin figures, a set's baseline) stay when this run did not measure them."""
    if depth == 0 or not (isinstance(old, dict) and isinstance(new, dict)):
        return new
    return {**old, **{k: _merged(old.get(k), v, depth - 1) for k, v in new.items()}}


PARTS: Final = ("spam", "toxicity", "toxicity-en", "baselines", "ablation", "lovo", "lovo-twin", "vispam")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "models")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)}; figures of the parts not run "
                        "are kept from the existing metrics.json")  # fmt: skip
    parser.add_argument("--skip-train", action="store_true", help="only evaluate existing models")
    parser.add_argument("--ablate", default=",".join(SPAM_ABLATION),
                        help="the sources the ablation leaves out, one fit each (default: all of SPAM_ABLATION)")
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    if unknown := parts - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}")
    trained: dict[str, Any] = {"ablate": [s for s in args.ablate.split(",") if s]}
    if unknown := set(trained["ablate"]) - set(SPAM_SOURCES):
        parser.error(f"unknown sources to ablate {sorted(unknown)}")
    if not args.skip_train:
        if "spam" in parts:
            _, trained["spam_data"], trained["spam_x"] = train_spam(args.data_root, args.out / "spam", args.seed)
        for model in TOXICITY_MODELS:
            if model in parts:
                _, trained[model] = train_toxicity(args.data_root, args.out, model, args.seed)
    else:
        # The shipped models' training rows, rebuilt without fitting: the ablation, the
        # leave-one-video-out and the baselines can then be run for an existing artifact.
        if "spam" in parts and parts & {"baselines", "ablation", "lovo", "lovo-twin"}:
            spam = spam_training_data(args.data_root, args.seed)
            trained["spam_data"], trained["spam_x"] = spam, spam_matrix(spam)[0]
        for model in TOXICITY_MODELS:
            if model in parts and "baselines" in parts:
                trained[model] = toxicity_training_data(args.data_root, model)
    results = evaluate_all(args.data_root, args.out, args.seed, parts, trained)
    path = args.out / "metrics.json"
    # Parts run separately (they are CPU-heavy) merge into one file, one level deep: a set's
    # figures re-measured without --parts baselines keep the baseline measured before.
    # Runs of different parts at the same time take turns (a lock file beside it).
    with (args.out / ".metrics.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = json.loads(path.read_text("utf-8")) if path.exists() else {}
        if not args.skip_train:
            # A retrained toxicity model's figures replace those of the model it replaced: keep
            # these as ``previous`` (the card's previous-model column).
            for model, recipe in TOXICITY_MODELS.items():
                before = merged.get(recipe.dev_key)
                if model in parts and isinstance(before, dict) and recipe.dev_key in results:
                    kept = {k: v for k, v in before.items() if k not in ("previous", "baseline")}
                    results[recipe.dev_key]["previous"] = kept
        for key, value in results.items():
            merged[key] = _merged(merged.get(key), value)
        path.write_text(json.dumps(merged, indent=2) + "\n", "utf-8")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
