"""The wheel, installed as the Dockerfile installs it, serves with its own models.

Builds the wheel, installs it (with the pinned constraints) into a fresh virtualenv, then
runs that virtualenv's ``moderation`` from a directory outside the checkout with a real
redis-server: no checkout on sys.path, no MODERATION_MODELS_DIR. A comment POSTed to the
served API must come back with a verdict from the packaged models.

pip reuses its cache (filled by ``make venv``), so after the first run this is a local
install of cached wheels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RedisServer, comment, free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
# Building and installing the wheel (cached dependencies) plus starting the server, on a
# loaded 2-core machine.
pytestmark = pytest.mark.timeout(600)


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=540, check=False)
    assert proc.returncode == 0, f"{argv[:4]} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the wheel and its pinned dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    # Build from a copy of the tracked sources, as `docker build` sees them (COPY), so
    # a build/ or egg-info left in the checkout cannot leak in.
    src = work / "src"
    files = _run(["git", "ls-files", "-z"], ROOT).split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, src / name)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)], work)
    [wheel] = dist.glob("moderation-*.whl")
    venv = work / "venv"
    # No pip inside the new venv: this pip installs into it (--python), which saves
    # bootstrapping a second pip and leaves the venv holding only the wheel and its deps.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], work)
    _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
          "-c", str(CONSTRAINTS), str(wheel)], work)
    return venv


@pytest.fixture(scope="module")
def own_redis() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="moderation-wheel-redis-") as tmp:
        server = start_redis(Path(tmp))
        yield server
        server.process.terminate()
        server.process.wait(timeout=10)


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"the installed service exited with {proc.returncode}:\n{out[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.1)  # polling a child process to come up, not synchronising test logic
    pytest.fail("the installed service did not become ready")


def test_installed_wheel_serves_from_another_directory(installed: Path, own_redis: RedisServer) -> None:
    elsewhere = Path(tempfile.mkdtemp(prefix="moderation-elsewhere-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "PYTHON"))}
        env["REDIS_URL"] = own_redis.url
        moderation = str(installed / "bin" / "moderation")
        # The installed code, not the checkout's: the package lives in the new venv.
        python = str(installed / "bin" / "python")
        where = _run([python, "-c", "import service; print(service.__file__)"], elsewhere, env)
        assert Path(where.strip()).is_relative_to(installed), where
        keys = json.loads(_run([moderation, "sites", "add", "wheel-site", "--name", "Wheel"], elsewhere, env))
        port = free_port()
        proc = subprocess.Popen(
            [moderation, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(port, proc)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/comments",
                data=json.dumps(comment()).encode(),
                headers={"Authorization": f"Bearer {keys['api_key']}", "Content-Type": "application/json"},
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=30) as resp:
                verdict = json.loads(resp.read())
                assert resp.status in (200, 201, 202)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()
        assert verdict["status"] == "approved"
        assert verdict["model_version"].startswith("spam-")
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
