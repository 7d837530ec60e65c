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
