"""The README's examples, run as a newcomer would: `make run`, then the shell blocks in order.

`scripts/run.sh` (what `make run` runs) starts its own redis-server on a free port in a
temporary run folder, creates the demo site and serves. Every README block marked with
``<!-- readme-test -->`` on the line before its opening fence is then run in one bash
process, top to bottom, with only the port, the keys file and the virtualenv's path
substituted. curl is wrapped with ``--fail-with-body``, so any 4xx/5xx answer fails the
script. Afterwards the "Try:" command that `make run` printed must still be accepted, and
`make stop` (scripts/stop.sh) or Ctrl-C must stop both the service and its Redis.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = "<!-- readme-test -->"
# A cold start on a loaded 2-core machine: venv import, model load, Redis start.
START_DEADLINE = 90.0
# Eight CLI calls and a dozen requests; generous for a 2-core machine shared with other jobs.
SCRIPT_TIMEOUT = 420.0
BLOCK = re.compile(re.escape(MARKER) + r"\n```sh\n(.*?)\n```", re.DOTALL)
# The README addresses the service as `make run` serves it by default.
README_BASE = "http://127.0.0.1:8080"
# Fails the script on any HTTP error answer, printing the problem body.
PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 30 "$@"; }\n'


def readme_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


@dataclass
class MakeRun:
    process: subprocess.Popen[bytes]
    run_dir: Path
    keys_file: Path
    output: Path
    port: int
    redis_port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pid(self, name: str) -> int:
        return int((self.run_dir / name).read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as ended.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition: Callable[[], bool], what: str, deadline: float = START_DEADLINE) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.1)  # polling other processes' state, not ordering test steps
    raise AssertionError(f"timed out waiting for {what}")


def ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_make_run(tmp_path: Path) -> MakeRun:
    run_dir = tmp_path / "var"
    keys_file = tmp_path / "demo-keys.json"
    output = tmp_path / "make-run.log"
    port, redis_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    env.update(
        PY=sys.executable,
        MODERATION_PORT=str(port),
        REDIS_PORT=str(redis_port),
        MODERATION_RUN_DIR=str(run_dir),
        MODERATION_DEMO_KEYS=str(keys_file),
    )
    with output.open("wb") as out:
        # Its own session, like a terminal's foreground job: Ctrl-C reaches the whole group.
        process = subprocess.Popen(
            ["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = MakeRun(process, run_dir, keys_file, output, port, redis_port)
    try:
        wait_until(lambda: process.poll() is not None or ready(run.base), "make run to serve")
        assert process.poll() is None, output.read_text()
    except BaseException:
        stop(run)
        raise
    return run


def stop(run: MakeRun) -> None:
    """Last resort for a failed test: end what this test started, by PID."""
    if run.process.poll() is None:
        os.killpg(run.process.pid, signal.SIGTERM)
        run.process.wait(timeout=60)
    subprocess.run(
        ["bash", "scripts/stop.sh"], cwd=ROOT, env={**os.environ, "MODERATION_RUN_DIR": str(run.run_dir)},
        check=False, timeout=60,
    )


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    run = start_make_run(tmp_path)
    yield run
    stop(run)


def run_script(run: MakeRun, script: str) -> subprocess.CompletedProcess[str]:
    for old, new in (
        (README_BASE, run.base),
        ("demo-keys.json", str(run.keys_file)),
        (".venv/bin/", f"{Path(sys.executable).parent}/"),
    ):
        script = script.replace(old, new)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    # The CLI examples reach the Redis that `make run` started (on 6379 by default).
    env["REDIS_URL"] = f"redis://127.0.0.1:{run.redis_port}/0"
    return subprocess.run(
        ["bash", "-c", PRELUDE + script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=SCRIPT_TIMEOUT, check=False,
    )


def try_command(output: str) -> str:
    """The curl command `make run` prints after "Try:", as one line."""
    lines = output.split("  Try:\n", 1)[1].split("\n")
    command: list[str] = []
    for line in lines:
        command.append(line.strip().removesuffix("\\"))
        if not line.rstrip().endswith("\\"):
            break
    return " ".join(command)


def test_readme_marks_the_quick_start_examples_as_runnable() -> None:
    script = "\n".join(readme_blocks())
    # The variables, a comment that lands in the queue, the review calls and the settings
    # read-then-write are all in runnable blocks.
    for needle in ("SITE_KEY=", "MOD_TOKEN=", "ID=", "/v1/review/claim", "/v1/review/$ID/decision",
                   "VERSION=", "-X PUT", "moderation sites add", "moderation sites set"):
        assert needle in script, needle
    assert "$" + "ID" in script and "$VERSION" in script


@pytest.mark.timeout(900)
def test_readme_runs_top_to_bottom_then_make_stop_stops_everything(make_run: MakeRun) -> None:
    result = run_script(make_run, "\n".join(readme_blocks()))
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout
    assert '"status":"approved"' in out
    assert '"status":"pending"' in out and '"too_many_links"' in out
    assert '"status":"rejected"' in out  # the moderator's decision on $ID
    assert '"max_links":1' in out  # the settings written back on the version just read

    # The line `make run` printed still works after the README (no flood, no duplicate),
    # and again (the same Idempotency-Key replays the answer).
    command = try_command(make_run.output.read_text())
    for _ in range(2):
        tried = run_script(make_run, command)
        assert tried.returncode == 0, tried.stdout + tried.stderr
        assert json.loads(tried.stdout)["status"] in ("approved", "pending", "spam")

    server, redis = make_run.pid("moderation.pid"), make_run.pid("redis.pid")
    stopped = subprocess.run(
        ["bash", "scripts/stop.sh"], cwd=ROOT, env={**os.environ, "MODERATION_RUN_DIR": str(make_run.run_dir)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    make_run.process.wait(timeout=60)
    assert not alive(server) and not alive(redis)
    assert not (make_run.run_dir / "moderation.pid").exists()
    assert not (make_run.run_dir / "redis.pid").exists()


def test_ctrl_c_stops_the_service_and_its_redis(make_run: MakeRun) -> None:
    server, redis = make_run.pid("moderation.pid"), make_run.pid("redis.pid")
    os.killpg(make_run.process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    make_run.process.wait(timeout=60)
    assert not alive(server) and not alive(redis)
