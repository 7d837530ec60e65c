"""The folder tree is the architecture: imports only go down the wings, there are no import
circles, and the serving app never loads training code.

Wings, from the bottom: ``core`` (settings, errors, metrics, the comment's schema) ← ``store``
(Redis) ← ``scoring`` (text to scores) ← ``moderation`` (the domain) ← ``web`` (HTTP) ← ``cli``.
``scoring`` does not need Redis, so it may not import ``store`` either. ``models/`` (training,
evaluation, retraining) may import the service; only the CLI may import ``models``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"

# What each wing may import besides itself.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "scoring": {"core"},
    "moderation": {"core", "store", "scoring"},
    "web": {"core", "store", "scoring", "moderation"},
    "cli": {"core", "store", "scoring", "moderation", "web", "models"},
    # service/__init__.py and __main__.py: the package root only starts the CLI.
    "": {"cli"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module of ours that ``path`` imports, at module level or inside a function
    (a lazy import still ties the two modules together)."""
    found: set[str] = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                found.add(f"{base}.{alias.name}")
            found.add(base)
    return {name for name in found if name.split(".")[0] in {"service", "models"}}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SERVICE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in imports_of(path):
            # `from service.store import keys` names the module service.store.keys.
            while imported and imported not in modules and not imported.startswith("models"):
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = targets
    return edges


def wing(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "models":
        return "models"
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (SERVICE / parts[1]).is_dir()) else ""


def test_every_module_lives_in_a_wing() -> None:
    loose = [m for m in graph() if wing(m) == "" and m not in {"service", "service.__main__"}]
    assert loose == [], f"modules outside the wings: {loose}"


def test_imports_only_go_down_the_wings() -> None:
    upward = [
        f"{src} -> {dst}"
        for src, targets in graph().items()
        for dst in targets
        if wing(dst) != wing(src) and wing(dst) not in ALLOWED[wing(src)]
        and not (wing(src) == "" and dst.startswith("service.cli"))
    ]
    assert upward == [], "imports that go up or sideways:\n" + "\n".join(sorted(upward))


def test_no_import_circles() -> None:
    edges = {m: {t for t in ts if t.startswith("service")} for m, ts in graph().items()}
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
    assert "service.store.keys" in edges["service.store.comments"]
    assert "service.moderation.operations" in edges["service.web.app"]
    assert wing("service.web.app") == "web" and wing("service.core.settings") == "core"


def test_only_the_cli_imports_training_code() -> None:
    offenders = [
        f"{src} -> {dst}" for src, targets in graph().items() for dst in targets
        if dst.startswith("models") and wing(src) != "cli"
    ]
    assert offenders == [], offenders


def test_the_serving_app_loads_no_training_code() -> None:
    # Build the app and load the shipped models as `moderation serve` does, then look at
    # what the process imported.
    code = (
        "import sys\n"
        "from service.core.settings import Settings\n"
        "from service.web.app import create_app\n"
        "from service.scoring.scorer import Scorer\n"
        "from service.cli.main import build_parser\n"
        "build_parser(with_training=False)\n"
        "create_app(Settings())\n"
        "Scorer.load(Settings().models_dir)\n"
        "print(sorted(m for m in sys.modules if m == 'models' or m.startswith('models.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
