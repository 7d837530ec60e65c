"""Serving API: calibrated spam probability and toxicity class, with short explanations.

``Scorer.load(models_dir)`` reads ``models_dir/spam``, ``models_dir/toxicity`` and, when present,
``models_dir/toxicity-en`` (see service/artifacts.py for the integrity checks): comments detected
as English get their toxicity from ``toxicity-en``, all others from ``toxicity``. A Scorer is
immutable, so hot reload is: load a new one, then swap the reference; requests holding the old
object finish on it.

Only the first ``features.MAX_SCORED_CHARS`` (4,000) characters of a comment are scored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import scipy.sparse as sp

from moderation.scoring import tfidf
from moderation.scoring.artifacts import Artifact, ModelError, load_artifact
from moderation.scoring.features import N_FEATURES, N_HASH, SIGNAL_NAMES, Featurizer, Prepared, prepare, prepare_comment
from moderation.scoring.normalize import remove_diacritics
from moderation.scoring.text import CommentText

__all__ = [
    "DEFAULT_APPROVE_THRESHOLD",
    "DEFAULT_SPAM_THRESHOLD",
    "Feature",
    "ModelError",
    "Score",
    "ScoreInput",
    "Scorer",
    "Toxicity",
]

# P(spam) below this is approved without review; at or above DEFAULT_SPAM_THRESHOLD it is
# treated as spam; in between it is held for a moderator.
DEFAULT_APPROVE_THRESHOLD: Final = 0.3
DEFAULT_SPAM_THRESHOLD: Final = 0.9

SPAM_DIR: Final = "spam"
TOXICITY_DIR: Final = "toxicity"
# The English toxicity model, used for comments detected as English (optional: a models
# directory without it scores every comment's toxicity with TOXICITY_DIR's model).
TOXICITY_EN_DIR: Final = "toxicity-en"
TOXICITY_LABELS: Final = ("CLEAN", "OFFENSIVE", "HATE")
MAX_EXPLAINED: Final = 5


@dataclass(frozen=True, slots=True)
class ScoreInput:
    content: str
    author_name: str = ""
    author_email: str = ""
    author_url: str = ""
    # The submission's shared text forms (content and author_name are then its fields):
    # features reuse the normalization the rules already did.
    text: CommentText | None = None


@dataclass(frozen=True, slots=True)
class Feature:
    name: str
    weight: float


# (display name, contribution) before grounding; a Feature is built only for what is shown.
Candidate = tuple[str, float]


@dataclass(frozen=True, slots=True)
class Toxicity:
    label: str
    probabilities: dict[str, float]


@dataclass(frozen=True, slots=True)
class Score:
    spam: float
    spam_features: tuple[Feature, ...]
    toxicity: Toxicity
    toxicity_features: tuple[Feature, ...]
    # "vi", "en" or "other" (service/scoring/language.py): "en" picks the English toxicity
    # model; the spam model is the same for every language.
    language: str = "other"


def _names(artifact: Artifact) -> tuple[np.ndarray, np.ndarray]:
    """Dense column → name table (object array) and a mask of explainable columns."""
    width = artifact.coef.shape[1]
    names = np.empty(width, dtype=object)
    named = np.zeros(width, dtype=bool)
    names[artifact.name_index] = artifact.name_text
    named[artifact.name_index] = True
    names[N_HASH:N_FEATURES] = SIGNAL_NAMES
    named[N_HASH:N_FEATURES] = True
    return names, named


@dataclass(frozen=True, slots=True)
class _Row:
    """One row of a CSR matrix as views of its arrays (``x[i]`` builds a new matrix: ~50 µs)."""

    indices: np.ndarray
    data: np.ndarray


@dataclass(frozen=True, slots=True)
class _Linear:
    """A loaded linear model ready for batched scoring and explanation."""

    artifact: Artifact
    names: np.ndarray
    named: np.ndarray
    # Per-class weights centred across classes: w_k - mean_j w_j is the push toward class k.
    explain_coef: np.ndarray
    # Training mean of each column (zero for n-grams): contributions are measured from it.
    baseline: np.ndarray

    @classmethod
    def from_artifact(cls, artifact: Artifact) -> _Linear:
        names, named = _names(artifact)
        coef = artifact.coef.astype(np.float64)
        explain = coef if coef.shape[0] == 1 else coef - coef.mean(axis=0, keepdims=True)
        baseline = np.zeros(coef.shape[1])
        means = artifact.manifest.get("signal_means")
        if means is not None and len(means) == N_FEATURES - N_HASH:
            baseline[N_HASH:N_FEATURES] = means
        return cls(artifact, names, named, explain, baseline)

    def explain_batch(
        self, x: sp.csr_matrix, cls_rows: np.ndarray, sign: float = 1.0, limit: int = MAX_EXPLAINED
    ) -> list[list[Candidate]]:
        """:meth:`explain` for every row of *x* (row i toward class ``cls_rows[i]``), weights times *sign*.

        One sort over the whole batch instead of ~6 numpy calls per row, which cost more than
        the scoring itself; tests/test_models.py checks it against :meth:`explain`.
        """
        n = x.shape[0]
        rows = np.repeat(np.arange(n), np.diff(x.indptr))
        idx = x.indices
        keep = self.named[idx]
        rows, idx = rows[keep], idx[keep]
        contrib = (x.data[keep] - self.baseline[idx]) * self.explain_coef[cls_rows[rows], idx]
        nonzero = contrib != 0.0
        rows, idx, contrib = rows[nonzero], idx[nonzero], contrib[nonzero]
        # Sort by row, then by |contribution| descending, with one float key: |c| / bound is
        # in [0, 1), so ``2 * row - |c| / bound`` never crosses into a neighbouring row. A
        # quicksort on it is ~3x faster than lexsort; exact ties may come out in either order,
        # as with the per-row argpartition.
        magnitude = np.abs(contrib)
        bound = float(magnitude.max()) * 1.001 if magnitude.size else 1.0
        order = np.argsort(2.0 * rows - magnitude / bound)
        rows, idx, contrib = rows[order], idx[order], contrib[order]
        rank = np.arange(rows.size) - np.searchsorted(rows, rows)
        top = rank < limit
        rows, idx, contrib = rows[top], idx[top], contrib[top]
        bounds = np.searchsorted(rows, np.arange(n + 1)).tolist()
        # Rounded in one numpy call (the same np.round as explain(); builtin round() per value
        # was ~5 % of scoring). Plain pairs: grounded() builds a Feature only for what it keeps.
        pairs = list(zip(self.names[idx].tolist(), np.round(sign * contrib, 4).tolist(), strict=True))
        return [pairs[bounds[i] : bounds[i + 1]] for i in range(n)]

    def explain(self, row: sp.csr_matrix | _Row, cls_row: int, limit: int = MAX_EXPLAINED) -> tuple[Candidate, ...]:
        """Top contributions of one row toward class row *cls_row* (the definition)."""
        idx = row.indices
        if idx.size == 0:
            return ()
        keep = self.named[idx]
        idx = idx[keep]
        contrib = (row.data[keep] - self.baseline[idx]) * self.explain_coef[cls_row, idx]
        if contrib.size > limit:
            top = np.argpartition(-np.abs(contrib), limit)[:limit]
        else:
            top = np.arange(contrib.size)
        top = top[np.argsort(-np.abs(contrib[top]), kind="stable")]
        rounded = np.round(contrib, 4)
        return tuple((str(self.names[idx[i]]), float(rounded[i])) for i in top if contrib[i] != 0.0)


OTHER_WORDING: Final = "other wording"
CANDIDATES: Final = 3 * MAX_EXPLAINED


_WORD_RE: Final = re.compile(r"\w+")


def _words_around(fragment: str, prep: Prepared) -> str | None:
    """The whole words of the comment that the first occurrence of a char n-gram falls in.

    Character n-grams are taken from the folded text (no diacritics); the folded text keeps
    the normalized text's character positions whenever both have the same length (always,
    for Vietnamese in NFC), so the words are shown with their diacritics. The TF-IDF block's
    n-grams keep diacritics: they are looked up without them.
    """
    folded = prep.folded
    at = folded.find(fragment)
    if at < 0:
        at = folded.find(remove_diacritics(fragment))
    if at < 0:
        return None
    start, end = at, at + len(fragment)
    while start > 0 and (folded[start - 1].isalnum() or folded[start - 1] == "_"):
        start -= 1
    while end < len(folded) and (folded[end].isalnum() or folded[end] == "_"):
        end += 1
    source = prep.normalized if len(prep.normalized) == len(folded) else folded
    phrase = source[start:end].strip()
    # A lone letter or punctuation run tells a moderator nothing.
    return phrase if any(len(w) >= 2 for w in _WORD_RE.findall(phrase)) else None


def grounded(candidates: Sequence[Candidate], prep: Prepared) -> tuple[Feature, ...]:
    """Name each contribution by whole words of the comment or a signal; pool the rest.

    The n-gram block is hashed, and a column's display name is the n-gram seen most often in
    training for that column: another n-gram of this comment may have landed in the same
    column. A moderator must never be shown words the comment does not contain, nor pieces
    of words: a character n-gram is shown as the word(s) of the comment it falls in, a word
    name only when the comment has that word (or word pair) as whole words. Everything else
    is pooled as "other wording".
    """
    kept: dict[str, float] = {}
    other = 0.0
    words: str | None = None
    for name, weight in candidates:
        if len(kept) == MAX_EXPLAINED:
            break
        if name.startswith("'"):
            inner = name[1:-1] if len(name) >= 2 and name.endswith("'") else ""
            shown: str | None = None
            if len(inner) >= 2 and inner[0] == "…" and inner[-1] == "…":
                shown = _words_around(inner[1:-1], prep)
            elif len(inner) >= 2:
                if words is None:
                    words = " " + " ".join(_WORD_RE.findall(prep.normalized)) + " "
                shown = inner if f" {inner} " in words else None
            if shown is None:
                other += weight
                continue
            name = f"'{shown}'"
        kept[name] = kept.get(name, 0.0) + weight
    items = list(kept.items())
    if other and len(items) < MAX_EXPLAINED:
        items.append((OTHER_WORDING, other))
    # Merged names (two n-grams shown as the same words) and the pooled rest can outweigh an
    # entry before them: largest first again.
    items.sort(key=lambda item: -abs(item[1]))
    return tuple(Feature(name, round(weight, 4)) for name, weight in items)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * (1.0 + np.tanh(0.5 * z))
    return out


def _positive_sign(artifact: Artifact) -> float:
    # Binary coef points toward classes[1]; orient it toward the declared positive class.
    positive = str(artifact.manifest.get("positive_label"))
    if len(artifact.classes) != 2 or positive not in artifact.classes:
        raise ModelError(f"{artifact.version}: positive label {positive!r} not in {artifact.classes}")
    return 1.0 if artifact.classes.index(positive) == 1 else -1.0


def model_matrix(artifact: Artifact, x: sp.csr_matrix, prepared: Sequence[Prepared]) -> sp.csr_matrix:
    """The columns *artifact* reads: the shared features *x* of *prepared*, and after them the
    TF-IDF block when the artifact has one (service/scoring/tfidf.py)."""
    if artifact.idf is None:
        return x
    out: sp.csr_matrix = sp.hstack([x, tfidf.transform(prepared, artifact.idf)], format="csr")
    return out


def binary_probability(artifact: Artifact, x: sp.csr_matrix) -> np.ndarray:
    """Calibrated P(positive class) for each row of *x* (:func:`model_matrix`'s columns)."""
    z = _positive_sign(artifact) * (x @ artifact.coef[0] + artifact.intercept[0])
    cal = artifact.manifest.get("calibration", {"a": 1.0, "b": 0.0})
    return _sigmoid(float(cal["a"]) * z + float(cal["b"]))


def multiclass_probability(artifact: Artifact, x: sp.csr_matrix) -> np.ndarray:
    """Softmax probabilities, columns in ``artifact.classes`` order."""
    # One sparse mat-vec per class: ``x @ coef.T`` would first copy the (features x classes)
    # transpose into C order, 12 MB per call, which cost more than the rest of scoring.
    logits = np.column_stack([x @ row for row in artifact.coef]) + artifact.intercept
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    out: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return out


def multiclass_decision(artifact: Artifact, proba: np.ndarray) -> np.ndarray:
    """Class index per row: argmax of log-probability plus the artifact's tuned biases."""
    bias = np.asarray(artifact.manifest.get("decision_bias", [0.0] * proba.shape[1]))
    out: np.ndarray = np.argmax(np.log(np.maximum(proba, 1e-12)) + bias, axis=1)
    return out


class Scorer:
    """The spam and toxicity models plus the shared featurizer; cheap to construct again for hot reload."""

    __slots__ = ("_featurizer", "_spam", "_spam_pos", "_tox", "_tox_en", "version")

    def __init__(self, spam: Artifact, toxicity: Artifact, toxicity_en: Artifact | None = None) -> None:
        if spam.manifest.get("task") != "spam" or toxicity.manifest.get("task") != "toxicity":
            raise ModelError("expected a spam and a toxicity artifact")
        if sorted(toxicity.classes) != sorted(TOXICITY_LABELS):
            raise ModelError(f"toxicity classes {toxicity.classes} != {TOXICITY_LABELS}")
        if toxicity_en is not None and (
            toxicity_en.manifest.get("task") != "toxicity" or toxicity_en.classes != toxicity.classes
        ):
            raise ModelError(f"{TOXICITY_EN_DIR}: expected a toxicity artifact with classes {toxicity.classes}")
        # The toxicity models read the shared columns only (one pass for both of them).
        if toxicity.idf is not None or (toxicity_en is not None and toxicity_en.idf is not None):
            raise ModelError("a toxicity artifact with a TF-IDF block is not supported")
        self._spam = _Linear.from_artifact(spam)
        # Explanations are always reported "toward spam".
        self._spam_pos = _positive_sign(spam)
        self._tox = _Linear.from_artifact(toxicity)
        self._tox_en = _Linear.from_artifact(toxicity_en) if toxicity_en is not None else None
        self._featurizer = Featurizer.create()
        version = f"{spam.version}+{toxicity.version}"
        if toxicity_en is not None:
            version += f"+{toxicity_en.version}"
        self.version = version.replace("toxicity-", "tox-")

    @classmethod
    def load(cls, models_dir: Path) -> Scorer:
        """Load and verify ``spam/``, ``toxicity/`` and (if present) ``toxicity-en/`` under
        *models_dir*; raises ModelError."""
        models_dir = Path(models_dir)
        english = models_dir / TOXICITY_EN_DIR
        return cls(
            load_artifact(models_dir / SPAM_DIR),
            load_artifact(models_dir / TOXICITY_DIR),
            load_artifact(english) if english.exists() else None,
        )

    def features(self, batch: Sequence[ScoreInput]) -> sp.csr_matrix:
        return self._prepared_features(batch)[0]

    def _prepared_features(self, batch: Sequence[ScoreInput]) -> tuple[sp.csr_matrix, list[Prepared]]:
        prepared = [
            prepare(item.content, item.author_name) if item.text is None else prepare_comment(item.text)
            for item in batch
        ]
        return self._featurizer.transform_prepared(prepared), prepared

    def score(self, batch: Sequence[ScoreInput]) -> list[Score]:
        """Score a batch; never raises on odd input (empty, huge, unpaired surrogates…)."""
        if not batch:
            return []
        x, prepared = self._prepared_features(batch)
        spam_x = model_matrix(self._spam.artifact, x, prepared)
        spam = binary_probability(self._spam.artifact, spam_x)
        n = x.shape[0]
        languages = [p.language for p in prepared]
        tox, decided, tox_feats = self._toxicity(x, languages)
        tox_classes = self._tox.artifact.classes
        # Explanations are always reported "toward spam".
        # Take more candidates than are shown: grounded() may pool some of them.
        spam_feats = self._spam.explain_batch(spam_x, np.zeros(n, dtype=np.intp), self._spam_pos, limit=CANDIDATES)
        results: list[Score] = []
        for i in range(n):
            k = int(decided[i])
            results.append(
                Score(
                    spam=float(spam[i]),
                    spam_features=grounded(spam_feats[i], prepared[i]),
                    toxicity=Toxicity(
                        label=tox_classes[k],
                        probabilities={c: float(tox[i, j]) for j, c in enumerate(tox_classes)},
                    ),
                    toxicity_features=grounded(tox_feats[i], prepared[i]),
                    language=languages[i],
                )
            )
        return results

    def _toxicity(
        self, x: sp.csr_matrix, languages: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, list[list[Candidate]]]:
        """Probabilities, decided class and explanation candidates of each row, English rows
        by the English model (when loaded), the others by the Vietnamese one."""
        if self._tox_en is None:
            return self._toxicity_of(self._tox, x)
        english = [i for i, lang in enumerate(languages) if lang == "en"]
        if not english:
            return self._toxicity_of(self._tox, x)
        if len(english) == x.shape[0]:
            return self._toxicity_of(self._tox_en, x)
        others = [i for i, lang in enumerate(languages) if lang != "en"]
        proba = np.empty((x.shape[0], len(TOXICITY_LABELS)))
        decided = np.empty(x.shape[0], dtype=np.intp)
        feats: list[list[Candidate]] = [[] for _ in languages]
        for model, rows in ((self._tox, others), (self._tox_en, english)):
            p, d, f = self._toxicity_of(model, x[rows])
            proba[rows], decided[rows] = p, d
            for j, i in enumerate(rows):
                feats[i] = f[j]
        return proba, decided, feats

    @staticmethod
    def _toxicity_of(model: _Linear, x: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, list[list[Candidate]]]:
        proba = multiclass_probability(model.artifact, x)
        decided = multiclass_decision(model.artifact, proba)
        return proba, decided, model.explain_batch(x, decided, limit=CANDIDATES)
