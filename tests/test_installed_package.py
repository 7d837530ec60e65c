"""The wheel, installed as the Dockerfile installs it, serves with its own models.

Builds the wheel, installs it (with the pinned constraints, without the ``train`` extra) into
a fresh virtualenv, then runs that virtualenv's ``moderation`` from a directory outside the
checkout with a real redis-server: no checkout on sys.path, no MODERATION_MODELS_DIR. A
comment POSTed to the served API must come back with a verdict from the packaged models.
The wheel holds one top-level package, ``moderation``, and the serving install has no
scikit-learn, matplotlib or tqdm: training commands say which extra to install.

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
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from the tracked files."""
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
    [built] = dist.glob("moderation-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding only the wheel and its pinned serving dependencies."""
    work = tmp_path_factory.mktemp("venv")
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


def test_the_wheel_installs_one_package_with_its_models(wheel: Path) -> None:
    """Nothing but ``moderation/`` (and its metadata): no generic top-level ``service`` or
    ``models`` to collide with other projects; the models and the page are inside."""
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        [top_level] = [n for n in names if n.endswith(".dist-info/top_level.txt")] or [""]
        top = zf.read(top_level).decode().split() if top_level else []
    outside = [n for n in names if n.split("/")[0] != "moderation" and ".dist-info/" not in n]
    assert outside == [], outside
    assert top in ([], ["moderation"]), top
    for task in ("spam", "toxicity", "toxicity-en"):
        for name in ("manifest.json", "weights.npz"):
            assert f"moderation/models/{task}/{name}" in names
    # Every file of the moderator's page, the favicons and the chart library included.
    static = [n for n in _run(["git", "ls-files", "service/web/static"], ROOT).splitlines() if n]
    assert static and [n for n in static if "moderation/" + n.removeprefix("service/") not in names] == []
    assert "moderation/cli/main.py" in names and "moderation/models/training.py" in names
    # The experiments are scripts of the checkout, not part of the package.
    assert not any("/experiments/" in n for n in names)


def _site_packages(venv: Path) -> Path:
    [site] = (venv / "lib").glob("python3*/site-packages")
    return site


def test_the_serving_install_has_no_training_libraries(installed: Path) -> None:
    site = _site_packages(installed)
    present = sorted(p.name for p in site.iterdir())
    for package in ("sklearn", "matplotlib", "tqdm", "joblib", "service", "models"):
        assert package not in present, present
    assert "moderation" in present and "scipy" in present
    size = subprocess.run(["du", "-sk", str(site)], capture_output=True, text=True, check=True).stdout.split()[0]
    print(f"serving install: site-packages {int(size) / 1024:.0f} MiB")


def test_training_commands_name_the_extra(installed: Path) -> None:
    """Without the train extra, train/evaluate/retrain answer one line (no traceback) and
    exit 1; retrain before it reads Redis (no REDIS_URL reachable here)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "PYTHON"))}
    env["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens: retrain must fail before Redis
    moderation = str(installed / "bin" / "moderation")
    for argv in (
        ["train", "--task", "spam", "--data", "labels.csv", "--out", "models/spam"],
        ["evaluate", "--help"],
        ["retrain", "--site", "baotinh", "--base", "data/spam-base.csv"],
    ):
        proc = subprocess.run([moderation, *argv], capture_output=True, text=True, env=env, timeout=120,
                              cwd=installed, check=False)
        assert proc.returncode == 1, (argv, proc.returncode, proc.stdout, proc.stderr)
        assert proc.stderr.strip().splitlines() == [
            "moderation: this command trains models and needs the train extra: pip install 'moderation[train]'"
        ], (argv, proc.stderr)
    # The help lists them, saying the same.
    listing = subprocess.run([moderation, "--help"], capture_output=True, text=True, env=env, timeout=120,
                             check=True).stdout
    assert "moderation[train]" in listing


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
        where = _run([python, "-c", "import moderation; print(moderation.__file__)"], elsewhere, env)
        assert Path(where.strip()).is_relative_to(installed), where
        # No generic top-level names: outside the checkout, these are not importable.
        for folder in ("service", "models"):
            probe = subprocess.run([python, "-c", f"import {folder}"], cwd=elsewhere, env=env,
                                   capture_output=True, text=True, check=False)
            assert probe.returncode == 1 and "ModuleNotFoundError" in probe.stderr, (folder, probe.stderr)
        keys = json.loads(_run([moderation, "sites", "add", "wheel-site", "--name", "Wheel"], elsewhere, env))
        port = free_port()
        proc = subprocess.Popen(
            [moderation, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=elsewhere, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(port, proc)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as resp:
                assert resp.status == 200
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
