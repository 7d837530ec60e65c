"""`make models` names the data it needs and where each set comes from (models/datasets.py).

The real sets are not in the repository. The checks and the fetch are exercised on small sets
made here (a mirror served over real HTTP and as file://), and the manifest is verified
against ../shared/data where that folder exists (skipped, saying so, in a clone without it).
"""

from __future__ import annotations

import ast
import csv
import functools
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from moderation.models import datasets
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
NEEDS_SHARED = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"the shared data sets are not at {SHARED_DATA} in this checkout"
)


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moderation.models.datasets", *argv], cwd=ROOT, capture_output=True, text=True,
        timeout=300, check=False, env=env,
    )


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A manifest of one two-file set, a mirror holding the right files, an empty data root."""
    mirror = tmp_path / "mirror"
    (mirror / "tiny-spam").mkdir(parents=True)
    files = {"a.csv": "text,label\nmua sim số đẹp 0908123456,1\n", "b.csv": "text,label\nbài viết hay,0\n"}
    entries = {}
    for name, body in files.items():
        (mirror / "tiny-spam" / name).write_text(body, encoding="utf-8")
        entries[name] = {"sha256": hashlib.sha256(body.encode()).hexdigest(), "rows": 1}
    manifest = tmp_path / "datasets.json"
    manifest.write_text(json.dumps({"sets": [{
        "folder": "tiny-spam", "language": "vi", "what": "two comments", "origin": "Tiny Spam (Test, 2026)",
        "licence": "CC0", "redistributable": True, "needed_by": ["make models"], "files": entries,
    }]}), encoding="utf-8")
    root = tmp_path / "data"
    root.mkdir()
    return manifest, mirror, root


@pytest.fixture
def http_mirror(small: tuple[Path, Path, Path]) -> Iterator[str]:
    _, mirror, _ = small
    handler = functools.partial(QuietHandler, directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_check_names_each_missing_set_with_its_origin_and_licence(small: tuple[Path, Path, Path]) -> None:
    manifest, _, root = small
    done = run("--manifest", str(manifest), "--data-root", str(root), "check")
    assert done.returncode == 1
    assert f"{root / 'tiny-spam'}: a.csv (missing), b.csv (missing); from Tiny Spam (Test, 2026) [CC0]" in done.stderr
    assert "2 of the 2 files make models needs" in done.stderr and "DATA_MIRROR" in done.stderr
    assert "Traceback" not in done.stderr


def test_fetch_without_a_mirror_says_where_the_sets_come_from(small: tuple[Path, Path, Path]) -> None:
    manifest, _, root = small
    done = run("--manifest", str(manifest), "--data-root", str(root), "fetch")
    assert done.returncode == 1
    assert "Tiny Spam (Test, 2026)" in done.stderr and "no --mirror" in done.stderr
    assert not list(root.rglob("*.csv"))


def test_fetch_from_a_file_mirror_verifies_every_file(small: tuple[Path, Path, Path]) -> None:
    manifest, mirror, root = small
    done = run("--manifest", str(manifest), "--data-root", str(root), "fetch", "--mirror", mirror.as_uri())
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("checksum verified") == 2
    assert run("--manifest", str(manifest), "--data-root", str(root), "check").returncode == 0
    # Nothing left to do the second time.
    again = run("--manifest", str(manifest), "--data-root", str(root), "fetch", "--mirror", mirror.as_uri())
    assert again.returncode == 0 and "nothing to fetch" in again.stdout


def test_fetch_over_http_replaces_an_altered_file_and_refuses_a_wrong_one(
    small: tuple[Path, Path, Path], http_mirror: str
) -> None:
    manifest, mirror, root = small
    (root / "tiny-spam").mkdir()
    (root / "tiny-spam" / "a.csv").write_text("text,label\nedited by hand,0\n", encoding="utf-8")
    checked = run("--manifest", str(manifest), "--data-root", str(root), "check")
    assert checked.returncode == 1 and "a.csv (checksum mismatch), b.csv (missing)" in checked.stderr

    # The mirror's b.csv is not the listed copy: it must not be kept.
    (mirror / "tiny-spam" / "b.csv").write_text("text,label\nsomething else,1\n", encoding="utf-8")
    done = run("--manifest", str(manifest), "--data-root", str(root), "fetch", "--mirror", http_mirror)
    assert done.returncode == 1
    assert "fetched tiny-spam/a.csv, checksum verified" in done.stdout
    assert f"{http_mirror}/tiny-spam/b.csv has SHA-256" in done.stderr and "not kept" in done.stderr
    assert (root / "tiny-spam" / "a.csv").read_text(encoding="utf-8").startswith("text,label\nmua sim")
    assert not (root / "tiny-spam" / "b.csv").exists()
    assert not list(root.rglob(".*.part"))


def test_fetch_from_an_unreachable_mirror_is_one_line_per_file(small: tuple[Path, Path, Path]) -> None:
    manifest, _, root = small
    done = run("--manifest", str(manifest), "--data-root", str(root), "fetch", "--mirror",
               f"http://127.0.0.1:{free_port()}/data")  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("datasets: cannot fetch http://127.0.0.1:") for line in lines)


def test_make_models_stops_before_training_when_data_root_lacks_a_set(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_ROOT": ""}
    done = subprocess.run(
        ["make", "-s", "-o", ".venv/.installed", "models", f"DATA_ROOT={tmp_path}"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode != 0
    assert f"{tmp_path / 'vihsd'}: train.csv (missing), dev.csv (missing); from ViHSD" in done.stderr
    assert "models/build.py" not in done.stdout + done.stderr  # the build never started


def folders_build_reads(folders: set[str]) -> set[str]:
    """The data folders models/build.py names, directly or through the models/sources.py
    functions it calls (string constants equal to a folder's name)."""

    def named(node: ast.AST) -> set[str]:
        return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and n.value in folders}

    source_tree = ast.parse((ROOT / "models" / "sources.py").read_text(encoding="utf-8"))
    by_function = {f.name: named(f) for f in source_tree.body if isinstance(f, ast.FunctionDef)}
    build_tree = ast.parse((ROOT / "models" / "build.py").read_text(encoding="utf-8"))
    found = named(build_tree)
    for node in ast.walk(build_tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sources":
            found |= by_function.get(node.attr, set())
    return found


def test_every_set_make_models_reads_is_listed_with_its_licence() -> None:
    sets = {s.folder: s for s in datasets.load_manifest()}
    read = folders_build_reads(set(sets))
    assert read == {s for s, data_set in sets.items() if "make models" in data_set.needed_by}
    assert all(sets[folder].licence and sets[folder].origin for folder in read)


@NEEDS_SHARED
def test_the_shared_data_is_the_listed_copy() -> None:
    done = run("--data-root", str(SHARED_DATA), "check")
    assert done.returncode == 0, done.stderr
    needed = sum(len(s.files) for s in datasets.needed(datasets.load_manifest()))
    assert f"the {needed} files make models needs" in done.stdout
    everything = [item for s in datasets.load_manifest() for item in s.files]
    assert all(datasets.status(SHARED_DATA, item) == "ok" for item in everything)


@NEEDS_SHARED
@pytest.mark.timeout(600)
def test_spam_base_writes_the_spam_models_training_rows(tmp_path: Path) -> None:
    out = tmp_path / "spam-base.csv"
    done = run("--data-root", str(SHARED_DATA), "spam-base", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"text", "label", "AUTHOR"} and {r["label"] for r in rows} == {"0", "1"}
    assert f"wrote {out}: {len(rows):,} rows" in done.stdout
