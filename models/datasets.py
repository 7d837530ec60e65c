"""The labelled sets the models are built from: which, where each comes from, and are they here.

    .venv/bin/python -m moderation.models.datasets list                     # every set: origin, licence, status
    .venv/bin/python -m moderation.models.datasets check                    # what `make models` needs, verified
    .venv/bin/python -m moderation.models.datasets fetch --mirror URL       # copy missing files from a mirror
    .venv/bin/python -m moderation.models.datasets spam-base --out data/spam-base.csv

The sets live under DATA_ROOT (``--data-root``, else the DATA_ROOT environment variable, else
``../shared/data`` beside the repository); models/datasets.json lists every file with the
SHA-256 of the copy the shipped models were built from. Those copies are cleaned versions of
public research sets (renamed columns, duplicates and overlaps removed, Unicode NFC; see
DATA_ROOT/README.md), and several of the sets may not be passed on (research use only), so
neither the files nor the scripts that cleaned them are in this repository, and downloading
the public originals would not give the same bytes. ``fetch`` therefore copies from a mirror of
DATA_ROOT (any ``http(s)://`` or ``file://`` URL laid out the same way: an internal web server,
a mounted share) and keeps a file only when its SHA-256 is the listed one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from moderation.scoring.artifacts import sha256_file

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().parent / "datasets.json"
DEFAULT_DATA_ROOT = ROOT.parent / "shared" / "data"
MAKE_MODELS = "make models"
# A mirror that does not answer within this long is reported, not waited for.
FETCH_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class DataFile:
    folder: str
    name: str
    sha256: str
    rows: int

    @property
    def relative(self) -> str:
        return f"{self.folder}/{self.name}"


@dataclass(frozen=True, slots=True)
class DataSet:
    folder: str
    what: str
    origin: str
    licence: str
    redistributable: bool
    needed_by: tuple[str, ...]
    files: tuple[DataFile, ...]


def load_manifest(path: Path = MANIFEST) -> list[DataSet]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [
        DataSet(
            folder=s["folder"], what=s["what"], origin=s["origin"], licence=s["licence"],
            redistributable=bool(s["redistributable"]), needed_by=tuple(s["needed_by"]),
            files=tuple(DataFile(s["folder"], name, f["sha256"], int(f["rows"])) for name, f in s["files"].items()),
        )
        for s in doc["sets"]
    ]


def default_data_root() -> Path:
    return Path(os.environ.get("DATA_ROOT") or DEFAULT_DATA_ROOT)


def status(root: Path, item: DataFile) -> str:
    """``ok``, ``missing`` or ``checksum mismatch``."""
    path = root / item.folder / item.name
    if not path.is_file():
        return "missing"
    return "ok" if sha256_file(path) == item.sha256 else "checksum mismatch"


def needed(sets: list[DataSet], what: str = MAKE_MODELS) -> list[DataSet]:
    return [s for s in sets if any(use.startswith(what) for use in s.needed_by)]


def problems(root: Path, sets: list[DataSet]) -> Iterator[tuple[DataSet, DataFile, str]]:
    for data_set in sets:
        for item in data_set.files:
            state = status(root, item)
            if state != "ok":
                yield data_set, item, state


def cmd_list(args: argparse.Namespace) -> int:
    for data_set in load_manifest(args.manifest):
        uses = ", ".join(data_set.needed_by) or "nothing yet"
        print(f"{data_set.folder}: {data_set.what}")
        print(f"  from: {data_set.origin}")
        print(f"  licence: {data_set.licence}{'' if data_set.redistributable else ' (not redistributable)'}")
        print(f"  read by: {uses}")
        for item in data_set.files:
            print(f"  {status(args.data_root, item):<17} {item.relative} ({item.rows:,} rows)")
    return 0


def _report(root: Path, bad: list[tuple[DataSet, DataFile, str]]) -> None:
    """One line per set with a missing or altered file: which files, where the set comes from."""
    by_set: dict[str, list[str]] = {}
    sets: dict[str, DataSet] = {}
    for data_set, item, state in bad:
        sets[data_set.folder] = data_set
        by_set.setdefault(data_set.folder, []).append(f"{item.name} ({state})")
    for folder, files in by_set.items():
        data_set = sets[folder]
        print(f"datasets: {root / folder}: {', '.join(files)}; from {data_set.origin} [{data_set.licence}]",
              file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    sets = needed(load_manifest(args.manifest), args.needed_by)
    bad = list(problems(args.data_root, sets))
    total = sum(len(s.files) for s in sets)
    if bad:
        _report(args.data_root, bad)
        print(
            f"datasets: {len(bad)} of the {total} files {args.needed_by} needs are missing or not the listed copy "
            f"(models/datasets.json) in DATA_ROOT={args.data_root}: set DATA_ROOT to a copy of the project's "
            "shared data, or fill it from a mirror of one: make fetch-data DATA_MIRROR=URL",
            file=sys.stderr,
        )
        return 1
    print(f"datasets: the {total} files {args.needed_by} needs are in {args.data_root}, checksums verified")
    return 0


def _download(url: str, target: Path, expected: str) -> str | None:
    """Fetch ``url`` to ``target`` if its SHA-256 is ``expected``; the reason why not, else None."""
    partial = target.with_name(f".{target.name}.part")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as reply, partial.open("wb") as out:
            shutil.copyfileobj(reply, out)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        return f"cannot fetch {url}: {reason}"
    got = sha256_file(partial)
    if got != expected:
        partial.unlink()
        return f"{url} has SHA-256 {got}, not the listed {expected}: not kept"
    partial.replace(target)
    return None


def cmd_fetch(args: argparse.Namespace) -> int:
    sets = needed(load_manifest(args.manifest), args.needed_by)
    todo = list(problems(args.data_root, sets))
    if not todo:
        print(f"datasets: nothing to fetch, every file {args.needed_by} needs is in {args.data_root}")
        return 0
    if not args.mirror:
        _report(args.data_root, todo)
        print("datasets: no --mirror (DATA_MIRROR): these are cleaned copies, not the public files, so only a "
              "mirror of the project's shared data can supply them (see models/datasets.py)", file=sys.stderr)
        return 1
    failed = 0
    for _, item, _state in todo:
        url = f"{args.mirror.rstrip('/')}/{item.relative}"
        reason = _download(url, args.data_root / item.folder / item.name, item.sha256)
        if reason is None:
            print(f"datasets: fetched {item.relative}, checksum verified")
        else:
            failed += 1
            print(f"datasets: {reason}", file=sys.stderr)
    return 1 if failed else 0


def cmd_spam_base(args: argparse.Namespace) -> int:
    """The spam model's base training rows as one CSV (text, label 1/0, AUTHOR): what
    ``moderation retrain --base`` adds a site's labels to."""
    if cmd_check(argparse.Namespace(**{**vars(args), "needed_by": "make spam-base"})) != 0:
        return 1
    from moderation.models.build import spam_training_data
    from moderation.models.training import DEFAULT_SEED

    data = spam_training_data(args.data_root, DEFAULT_SEED)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_name(f".{args.out.name}.part")
    with partial.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label", "AUTHOR"])
        writer.writerows(
            (text, str(label), author)
            for text, label, author in zip(data.data.texts, data.labels, data.data.authors, strict=True)
        )
    partial.replace(args.out)
    spam = sum(data.labels)
    print(f"datasets: wrote {args.out}: {len(data.labels):,} rows ({spam:,} spam), the rows the shipped spam "
          f"model was trained on (YouTube rows weighed 1 here, 3 in the build)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m moderation.models.datasets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", type=Path, default=None, help="default: DATA_ROOT, else ../shared/data")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help=argparse.SUPPRESS)
    parser.add_argument("--needed-by", default=MAKE_MODELS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every set: what it is, where it comes from, its licence, and whether it is here")
    sub.add_parser("check", help="verify the files `make models` needs (exit 1 naming each one missing)")
    fetch = sub.add_parser("fetch", help="copy missing files from a mirror of DATA_ROOT, checksums verified")
    fetch.add_argument("--mirror", default=os.environ.get("DATA_MIRROR") or None,
                       help="http(s):// or file:// URL laid out like DATA_ROOT (default: DATA_MIRROR)")
    base = sub.add_parser("spam-base", help="write the spam model's base training rows as one CSV")
    base.add_argument("--out", type=Path, default=ROOT / "data" / "spam-base.csv")
    args = parser.parse_args(argv)
    args.data_root = args.data_root or default_data_root()
    commands = {"list": cmd_list, "check": cmd_check, "fetch": cmd_fetch, "spam-base": cmd_spam_base}
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
