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
    assert meta["project"]["scripts"]["moderation"] == "service.cli.main:main"


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
    assert "pip install --no-cache-dir -c constraints.txt ." in dockerfile
    makefile = (ROOT / "Makefile").read_text()
    assert "CONSTRAINTS := constraints.txt" in makefile
    installs = [line for line in makefile.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all("-c $(CONSTRAINTS)" in line for line in installs), installs
    # CI runs the Makefile.
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_wheel_declares_the_model_files_as_package_data() -> None:
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = meta["tool"]["setuptools"]["package-data"]["models"]
    for task in ("spam", "toxicity"):
        for name in ("manifest.json", "weights.npz"):
            assert f"{task}/{name}" in declared
            assert (ROOT / "models" / task / name).is_file()
