"""Safe persistence of model artifacts: no pickle anywhere.

An artifact is a directory ``models/NAME/`` holding

* ``weights.npz`` — plain numeric/string arrays, read with ``allow_pickle=False`` so a tampered
  file can at worst fail to parse, never execute code;
* ``manifest.json`` — task, classes, thresholds, metrics, training-data hashes, the SHA-256 of
  ``weights.npz`` and the library/feature versions it was built with.

Loading checks the hash and the versions *before* reading the weights; any mismatch raises
:class:`ModelError` (a version mismatch is an error, not a warning: hashed features silently
change meaning when the hashing or normalization code changes).
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version
from pathlib import Path
from typing import Any, Final

import numpy as np

from moderation.scoring import tfidf
from moderation.scoring.features import FEATURES_VERSION, N_FEATURES

ARTIFACT_FORMAT: Final = 1
MANIFEST_NAME: Final = "manifest.json"
WEIGHTS_NAME: Final = "weights.npz"
# Guards against a swapped-in huge file before hashing/parsing it.
MAX_WEIGHTS_BYTES: Final = 25 * 1024 * 1024
_REQUIRED_ARRAYS: Final = ("coef", "intercept", "name_index", "name_text")


class ModelError(Exception):
    """A model artifact is missing, corrupt, tampered with or built by other library versions."""


# Libraries a serving install may lack: scikit-learn comes with the ``train`` extra only.
# Serving hashes n-grams with its own MurmurHash3 (scoring/ngram_hash.py, checked against
# scikit-learn's in tests/test_ngram_hash.py), so it needs scikit-learn neither to score
# nor to check the version a model was built with; where scikit-learn is installed (training,
# the test environment) the version must still match exactly.
OPTIONAL_LIBRARIES: Final = frozenset({"scikit-learn"})


def library_versions() -> dict[str, str]:
    """Versions that change what an artifact means; all must match exactly at load."""
    versions = {
        "features": str(FEATURES_VERSION),
        "numpy": ".".join(np.__version__.split(".")[:2]),
        "python": ".".join(platform.python_version_tuple()[:2]),
    }
    try:
        # sklearn's murmurhash defines the n-gram columns the model was trained on.
        versions["scikit-learn"] = _dist_version("scikit-learn")
    except PackageNotFoundError:
        pass
    return versions


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Artifact:
    """A loaded linear model over ``moderation.scoring.features`` columns.

    ``coef`` has one row per class for multiclass models and a single row for binary ones
    (positive = toward ``classes[1]``); ``name_index``/``name_text`` map the columns that carry
    weight to readable n-grams for explanations. A model with ``idf`` (the spam model) also
    reads the TF-IDF block of service/scoring/tfidf.py: ``tfidf.N_TFIDF`` more columns after
    the shared ones, weighted by this IDF vector.
    """

    manifest: dict[str, Any]
    coef: np.ndarray
    intercept: np.ndarray
    name_index: np.ndarray
    name_text: np.ndarray
    idf: np.ndarray | None = None

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.manifest["classes"]]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])


def save_artifact(
    out_dir: Path,
    manifest: dict[str, Any],
    coef: np.ndarray,
    intercept: np.ndarray,
    name_index: np.ndarray,
    name_text: np.ndarray,
    idf: np.ndarray | None = None,
) -> Path:
    """Write ``weights.npz`` + ``manifest.json`` into *out_dir*; returns the manifest path.

    With *idf* the model reads the TF-IDF block too (its version goes into the manifest)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / WEIGHTS_NAME
    tmp = out_dir / (WEIGHTS_NAME + ".tmp.npz")
    arrays: dict[str, Any] = {
        "coef": coef.astype(np.float32),
        "intercept": intercept.astype(np.float64),
        "name_index": name_index.astype(np.int64),
        "name_text": name_text.astype(np.str_),
    }
    if idf is not None:
        arrays["idf"] = idf.astype(np.float32)
    np.savez_compressed(tmp, **arrays)
    # Replace atomically so a hot reload never sees a half-written file.
    tmp.replace(weights)
    digest = sha256_file(weights)
    # A model for one language other than Vietnamese says so in its version: toxicity-en-….
    name = manifest["task"] + (f"-{manifest['language']}" if manifest.get("language", "vi") != "vi" else "")
    full = {
        **manifest,
        **({} if idf is None else {"tfidf": {"version": tfidf.TFIDF_VERSION, "columns": tfidf.N_TFIDF}}),
        "format": ARTIFACT_FORMAT,
        "libraries": library_versions(),
        "files": {WEIGHTS_NAME: digest},
        "version": f"{name}-{manifest['created'][:10]}-{digest[:8]}",
    }
    manifest_path = out_dir / MANIFEST_NAME
    tmp_manifest = out_dir / (MANIFEST_NAME + ".tmp")
    tmp_manifest.write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n", "utf-8")
    tmp_manifest.replace(manifest_path)
    return manifest_path


def _read_manifest(model_dir: Path) -> dict[str, Any]:
    path = model_dir / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: missing manifest") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: unreadable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != ARTIFACT_FORMAT:
        raise ModelError(f"{path}: unknown artifact format")
    return manifest


def load_artifact(model_dir: Path) -> Artifact:
    """Verify versions and SHA-256, then load arrays without pickle. Raises ModelError."""
    model_dir = Path(model_dir)
    manifest = _read_manifest(model_dir)
    expected_libs = library_versions()
    built_with = manifest.get("libraries", {})
    if not isinstance(built_with, dict):
        built_with = {}
    # A library recorded at build time but absent here is compared only if serving needs it.
    compared = {k: v for k, v in built_with.items() if k in expected_libs or k not in OPTIONAL_LIBRARIES}
    if compared != expected_libs:
        raise ModelError(
            f"{model_dir}: built with {built_with}, running {expected_libs}; "
            "rebuild the model (make models) or install the pinned versions"
        )
    weights = model_dir / WEIGHTS_NAME
    try:
        size = weights.stat().st_size
    except OSError as exc:
        raise ModelError(f"{weights}: {exc}") from exc
    if size > MAX_WEIGHTS_BYTES:
        raise ModelError(f"{weights}: {size} bytes exceeds {MAX_WEIGHTS_BYTES}")
    expected_hash = manifest.get("files", {}).get(WEIGHTS_NAME)
    actual_hash = sha256_file(weights)
    if expected_hash != actual_hash:
        raise ModelError(f"{weights}: SHA-256 {actual_hash} does not match manifest")
    block = manifest.get("tfidf")
    if block is not None and block != {"version": tfidf.TFIDF_VERSION, "columns": tfidf.N_TFIDF}:
        raise ModelError(f"{model_dir}: TF-IDF block {block}, running version {tfidf.TFIDF_VERSION}; "
                         "rebuild the model (make models)")  # fmt: skip
    wanted = (*_REQUIRED_ARRAYS, "idf") if block is not None else _REQUIRED_ARRAYS
    try:
        with np.load(weights, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in wanted}
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{weights}: {exc}") from exc
    coef = arrays["coef"]
    n_classes = len(manifest.get("classes", []))
    expected_rows = 1 if n_classes == 2 else n_classes
    columns = N_FEATURES + (tfidf.N_TFIDF if block is not None else 0)
    if coef.ndim != 2 or coef.shape != (expected_rows, columns):
        raise ModelError(f"{weights}: coef shape {coef.shape} does not fit the feature space")
    idf = arrays.get("idf")
    if idf is not None and idf.shape != (tfidf.N_TFIDF,):
        raise ModelError(f"{weights}: idf shape {idf.shape} does not fit the TF-IDF block")
    return Artifact(
        manifest=manifest,
        # float64 once at load, so scoring does not convert 0.5M weights per batch.
        coef=np.ascontiguousarray(coef, dtype=np.float64),
        intercept=arrays["intercept"].astype(np.float64),
        name_index=arrays["name_index"],
        name_text=arrays["name_text"],
        idf=None if idf is None else np.ascontiguousarray(idf, dtype=np.float32),
    )
