"""Rename the importable package: ``service`` → ``moderation``, ``models`` → ``moderation.models``.

The repository keeps its layout (the wings in ``service/``, training and the model artifacts in
``models/``); pyproject.toml maps the directories onto one installed package::

    [tool.setuptools] package-dir = {"moderation" = "service", "moderation.models" = "models"}

This script rewrites every *reference by module name* in the tracked (and untracked, not
ignored) text files so that they use the installed names. It never touches file paths
(``service/web/app.py``, ``models/build.py`` stay as they are, since the folders do) except
where a training script is *run* by path (``python models/build.py`` becomes
``python -m moderation.models.build``). It is idempotent: a second run changes nothing.

    .venv/bin/python scripts/rename_package.py          # rewrite in place, print the files changed
    .venv/bin/python scripts/rename_package.py --check  # exit 1 if anything is left to rewrite

Made to be re-run after a rebase: the module names it renames are read from the folders
(every module or sub-package of ``service/`` and ``models/``), so a wing or training module
added on a later main is renamed too. With ruff installed in the Python that runs it
(``make lint`` installs it in .venv) the imports of the Python files are then re-sorted
(``ruff check --select I --fix``): ``moderation.core`` and ``moderation.models`` sort into
one first-party block. Any Python runs the rewrite itself (standard library only).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEW = "moderation"
# Text files that can name a module; JSON (model manifests, metrics) is data and left alone.
SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".sh", ".txt", ".cfg", ".ini", ".lua", ".rst"}
NAMES = {"Makefile", "Dockerfile", ".dockerignore"}
SELF = Path(__file__).resolve()


def modules_of(folder: Path) -> list[str]:
    """Modules and sub-packages directly inside ``folder`` (and the dunders a module has)."""
    names = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in folder.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    names |= {"__file__", "__path__", "__version__", "__name__"}
    # Longest first, so that a name that prefixes another is tried after it.
    return sorted(names, key=lambda n: (-len(n), n))


def rules() -> list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]]:
    service_mods = "|".join(map(re.escape, modules_of(ROOT / "service")))
    model_mods = "|".join(map(re.escape, modules_of(ROOT / "models")))
    python = r"(?:\$\(PY\)|\"\$PY\"|\$PY|\S*/bin/python3?(?:\.\d+)?|\bpython3?(?:\.\d+)?)"
    return [
        # Running a training script by path: `python models/build.py` → `python -m moderation.models.build`.
        (re.compile(rf"({python})\s+models/(\w+)\.py\b"), rf"\1 -m {NEW}.models.\2"),
        # `python -m service …`, `-m models.training`, and the argv form `"-m", "service"`.
        (re.compile(r"(-m\s+)service\b(?![\w./-])"), rf"\g<1>{NEW}"),
        (re.compile(r"""(["']-m["'],\s*["'])service(["'])"""), rf"\g<1>{NEW}\2"),
        (re.compile(r"""(-m\s+|["']-m["'],\s*["'])models\."""), rf"\g<1>{NEW}.models."),
        # A quoted command-line pattern that finds the process `-m service serve` started
        # (scripts/stop.sh greps /proc/PID/cmdline for it).
        (re.compile(r"""(["'])service (serve|demo)(["'])"""), rf"\g<1>{NEW} \2\3"),
        # Dotted names: service.web.app, service.__file__, models.training, models.retrain…
        (re.compile(rf"(?<![\w.\-/])service\.(?=(?:{service_mods})\b)"), f"{NEW}."),
        (re.compile(rf"(?<![\w.\-/])models\.(?=(?:{model_mods})\b)"), f"{NEW}.models."),
        # Bare package imports.
        (re.compile(r"(?<![\w.])from service import\b"), f"from {NEW} import"),
        (re.compile(r"(?<![\w.])from models import\b"), f"from {NEW}.models import"),
        (re.compile(r"(?<![\w.`])import service\b(?![\w.])"), f"import {NEW}"),
        (re.compile(r"(?<![\w.`])import models\b(?![\w.])"), f"import {NEW}.models as models"),
    ]


def candidates() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode("utf-8", "surrogateescape")
    files = []
    for name in filter(None, out.split("\0")):
        path = ROOT / name
        if path.resolve() == SELF or not path.is_file():
            continue
        if path.suffix in SUFFIXES or path.name in NAMES:
            files.append(path)
    return sorted(files)


def rewrite(text: str, table: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]]) -> str:
    for pattern, replacement in table:
        text = pattern.sub(replacement, text)
    return text


def sort_imports(paths: list[Path]) -> None:
    """``ruff check --select I --fix`` on the Python files, when ruff is installed (on all of
    them, not only those changed by this run, so that a second run after installing ruff still
    sorts; files already sorted are left as they are)."""
    python_files = [str(p) for p in paths if p.suffix == ".py"]
    if not python_files:
        return
    try:
        subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        print("ruff is not installed: imports not re-sorted (run `make lint`, or install ruff and re-run)",
              file=sys.stderr)
        return
    subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", "--select", "I", "--fix", *python_files],
                   cwd=ROOT, check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)
    table = rules()
    changed: list[Path] = []
    for path in candidates():
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite(text, table)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, "utf-8")
    for path in changed:
        print(path.relative_to(ROOT))
    if args.check:
        return 1 if changed else 0
    sort_imports(candidates())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
