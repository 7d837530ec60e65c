"""The folder tree is the architecture: imports only go down the wings, there are no import
circles, and the serving app never loads training code.

Wings, from the bottom: ``core`` (settings, errors, metrics, the comment's schema) ← ``store``
(Redis) ← ``scoring`` (text to scores) ← ``moderation`` (the domain) ← ``web`` (HTTP) ← ``cli``.
``scoring`` does not need Redis, so it may not import ``store`` either. ``models/`` (training,
evaluation, retraining) may import the service; only the CLI may import ``models``.

The folders are installed as one package (pyproject.toml's package-dir): ``service/`` is
``moderation``, ``models/`` is ``moderation.models``; a wing is ``moderation.<wing>``. Nothing
imports the folder names (``service``, ``models``) as packages any more.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"
MODELS = ROOT / "models"
PACKAGE = "moderation"
TRAINING = f"{PACKAGE}.models"
# The folders' own names, which are not importable packages once installed.
FOLDER_NAMES = {"service", "models"}

# What each wing may import besides itself.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "scoring": {"core"},
    "moderation": {"core", "store", "scoring"},
    "web": {"core", "store", "scoring", "moderation"},
    "cli": {"core", "store", "scoring", "moderation", "web", "models"},
    # service/__init__.py and __main__.py (moderation, moderation.__main__): the package root
    # only starts the CLI.
    "": {"cli"},
}


def module_name(path: Path) -> str:
    """The installed name of a file under service/ or models/ (service/web/app.py is
    moderation.web.app, models/retrain.py is moderation.models.retrain)."""
    if path.is_relative_to(MODELS):
        parts = [PACKAGE, "models", *path.relative_to(MODELS).with_suffix("").parts]
    else:
        parts = [PACKAGE, *path.relative_to(SERVICE).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_names(path: Path) -> set[str]:
    """Every module name ``path`` imports, at module level or inside a function (a lazy
    import still ties the two modules together)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: only inside the package (tests/, bench/ use none)
                package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}")
            found.add(base)
    return found


def imports_of(path: Path) -> set[str]:
    """Every module of ours that ``path`` imports."""
    return {name for name in imported_names(path) if name.split(".")[0] == PACKAGE}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SERVICE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path):
            # `from moderation.store import keys` names the module moderation.store.keys.
            while imported and imported not in modules and wing(imported) != "models":
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def wing(module: str) -> str:
    if module == TRAINING or module.startswith(TRAINING + "."):
        return "models"
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (SERVICE / parts[1]).is_dir()) else ""


def test_every_module_lives_in_a_wing() -> None:
    loose = [m for m in graph() if wing(m) == "" and m not in {PACKAGE, f"{PACKAGE}.__main__"}]
    assert loose == [], f"modules outside the wings: {loose}"


def test_imports_only_go_down_the_wings() -> None:
    upward = [
        f"{src} -> {dst}"
        for src, targets in graph().items()
        for dst in targets
        if wing(dst) != wing(src) and wing(dst) not in ALLOWED[wing(src)]
        and not (wing(src) == "" and dst.startswith(f"{PACKAGE}.cli"))
    ]
    assert upward == [], "imports that go up or sideways:\n" + "\n".join(sorted(upward))


def test_no_import_circles() -> None:
    edges = {m: {t for t in ts if wing(t) != "models"} for m, ts in graph().items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert circles == [], f"import circles: {circles}"


def test_the_guard_sees_a_circle_and_an_upward_import(tmp_path: Path) -> None:
    # The checks above would pass vacuously if imports_of() read nothing.
    edges = graph()
    assert "moderation.store.keys" in edges["moderation.store.comments"]
    assert "moderation.moderation.operations" in edges["moderation.web.app"]
    assert "moderation.models.retrain" in edges["moderation.cli.feedback"]
    assert wing("moderation.web.app") == "web" and wing("moderation.core.settings") == "core"
    assert wing("moderation.moderation.rules") == "moderation" and wing("moderation.models.retrain") == "models"
    assert module_name(SERVICE / "web" / "app.py") == "moderation.web.app"
    assert module_name(MODELS / "retrain.py") == "moderation.models.retrain"


def test_only_the_cli_imports_training_code() -> None:
    offenders = [
        f"{src} -> {dst}" for src, targets in graph().items() for dst in targets
        if wing(dst) == "models" and wing(src) != "cli"
    ]
    assert offenders == [], offenders


def test_the_serving_app_loads_no_training_code() -> None:
    # Build the app and load the shipped models as `moderation serve` does, then look at
    # what the process imported: neither the training code nor what only the `train` extra
    # installs (the test environment has them; a serving install does not).
    code = (
        "import sys\n"
        "from moderation.core.settings import Settings\n"
        "from moderation.web.app import create_app\n"
        "from moderation.scoring.scorer import Scorer\n"
        "from moderation.cli.main import build_parser\n"
        "build_parser(with_training=False)\n"
        "create_app(Settings())\n"
        "scorer = Scorer.load(Settings().models_dir)\n"
        "from moderation.scoring.scorer import ScoreInput\n"
        "scorer.score([ScoreInput(content='Liên hệ 0912 345 678 để vay tiền nhanh')])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sklearn', 'matplotlib', 'tqdm', 'models'}"
        " or m.startswith('moderation.models')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _python_files() -> list[Path]:
    return [p for folder in ("service", "models", "tests", "bench", "scripts") for p in (ROOT / folder).rglob("*.py")]


def test_nothing_imports_the_folder_names(tmp_path: Path) -> None:
    """``service`` and ``models`` are folders, not packages: installed, they are
    ``moderation`` and ``moderation.models``; a generic top-level name would collide with other
    projects' (and works only from the checkout, by accident of sys.path)."""
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in _python_files()
        for name in imported_names(path)
        if name.split(".")[0] in FOLDER_NAMES
    ]
    assert offenders == [], "\n".join(sorted(offenders))
    # The guard reads imports, module level and lazy, plain and from-imports.
    sample = tmp_path / "sample.py"
    models, service = sorted(FOLDER_NAMES)  # spelled indirectly: scripts/rename_package.py would rename them
    sample.write_text(f"import {service}.web\ndef f():\n    from {models} import training\n")
    assert {f"{service}.web", models} <= imported_names(sample)
    assert "moderation.scoring.artifacts" in imported_names(MODELS / "training.py")
