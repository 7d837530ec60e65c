"""The deployment files are valid and say what the README promises."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_is_valid() -> None:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = doc["services"]
    assert set(services) >= {"redis", "api"}
    redis = services["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "healthcheck" in redis and redis["healthcheck"]["test"]
    api = services["api"]
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert api["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert "redis-data" in doc["volumes"]
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, name


def test_dockerfile_runs_the_console_script() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["moderation", "serve"' in text
    assert "COPY models" in text


def test_console_script_declared() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["moderation"] == "moderation.cli.main:main"


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin"
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_model_manifests_match_the_pinned_libraries() -> None:
    """A fresh install gets exactly the versions the shipped models were built with."""
    import json

    pins = _pins()
    for task in ("spam", "toxicity"):
        built_with = json.loads((ROOT / "models" / task / "manifest.json").read_text())["libraries"]
        assert built_with["scikit-learn"] == pins["scikit-learn"], task
        assert built_with["numpy"] == ".".join(pins["numpy"].split(".")[:2]), task
        # The image's Python is the one the models were built with.
        assert f"FROM python:{built_with['python']}-" in (ROOT / "Dockerfile").read_text(), task


def test_every_install_uses_the_constraints_file() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "constraints.txt" in dockerfile.split("COPY", 2)[1]
    assert "pip install --no-cache-dir -c constraints.txt '.[train]'" in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "CONSTRAINTS := constraints.txt" in makefile
    installs = [line for line in makefile.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all("-c $(CONSTRAINTS)" in line for line in installs), installs
    # CI runs the Makefile.
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_wheel_declares_the_model_files_as_package_data() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = meta["tool"]["setuptools"]["package-data"]["moderation.models"]
    for task in ("spam", "toxicity", "toxicity-en"):
        for name in ("manifest.json", "weights.npz"):
            assert f"{task}/{name}" in declared
            assert (ROOT / "models" / task / name).is_file()


def test_one_installed_package_maps_both_folders() -> None:
    """Every package folder is installed, under ``moderation`` and nothing else: a wing added
    to service/ (or a package to models/) without a line in pyproject.toml would be missing
    from the wheel while the checkout's tests still pass."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"moderation": "service", "moderation.models": "models"}
    folders = {
        "moderation" + "".join("." + part for part in init.parent.relative_to(ROOT / "service").parts)
        for init in (ROOT / "service").rglob("__init__.py")
    } | {
        "moderation.models" + "".join("." + part for part in init.parent.relative_to(ROOT / "models").parts)
        for init in (ROOT / "models").rglob("__init__.py")
    }
    assert set(setuptools["packages"]) == folders
    assert all(name == "moderation" or name.startswith("moderation.") for name in setuptools["packages"])


def test_serving_needs_no_training_libraries() -> None:
    """scikit-learn, matplotlib and tqdm are the `train` extra; `make venv` (tests, `make models`)
    installs it, and so does the Dockerfile (retrain runs in the container)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements: list[str]) -> set[str]:
        import re

        return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements}

    serving = names(project["dependencies"])
    train = names(project["optional-dependencies"]["train"])
    assert train >= {"scikit-learn", "matplotlib", "tqdm"}
    assert not serving & train, serving & train
    # Every requirement is pinned for a fresh install.
    pins = _pins()
    assert all(name in pins for name in serving | train), (serving | train) - set(pins)
    makefile = (ROOT / "Makefile").read_text()
    assert "-e '.[test,train]'" in makefile
    # The image installs the extra: `moderation retrain` runs in the container (README, Docker).
    assert "pip install --no-cache-dir -c constraints.txt '.[train]'" in (ROOT / "Dockerfile").read_text()


def test_the_rename_script_has_nothing_left_to_rename() -> None:
    """scripts/rename_package.py made the `moderation` package names; on a later main it runs
    again (the lead's rebase). Nothing tracked may still name `service.…`/`models.…` as a module
    or run `python -m moderation`."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "rename_package.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"still to rename:\n{proc.stdout}{proc.stderr}"


def test_the_rename_script_rewrites_module_names_not_paths() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("rename_package", ROOT / "scripts" / "rename_package.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    table = script.rules()
    old_service, old_models = "ser" + "vice", "mod" + "els"  # not spelled out: the script would rename them
    before = "\n".join([
        f"from {old_service}.web.app import create_app",
        f"import {old_service}",
        f"from {old_models} import training",
        f"from {old_models}.retrain import retrain",
        f'[sys.executable, "-m", "{old_service}", "serve"]',
        f"$(PY) {old_models}/build.py --data-root ../shared/data",
        f"python -m {old_models}.training train",
        f'stop_pid "$RUN_DIR/moderation.pid" "the moderation {old_service}" "{old_service} serve"',
        f"see {old_service}/web/app.py and {old_models}/build.py; stops the {old_service}. Then",
        f"self.{old_service}.web, {old_service}.log, {old_models}.json",
    ])
    after = "\n".join([
        "from moderation.web.app import create_app",
        "import moderation",
        "from moderation.models import training",
        "from moderation.models.retrain import retrain",
        '[sys.executable, "-m", "moderation", "serve"]',
        "$(PY) -m moderation.models.build --data-root ../shared/data",
        "python -m moderation.models.training train",
        f'stop_pid "$RUN_DIR/moderation.pid" "the moderation {old_service}" "moderation serve"',
        f"see {old_service}/web/app.py and {old_models}/build.py; stops the {old_service}. Then",
        f"self.{old_service}.web, {old_service}.log, {old_models}.json",
    ])
    assert script.rewrite(before, table) == after
    assert script.rewrite(after, table) == after  # idempotent
