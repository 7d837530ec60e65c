"""The README's examples, run as a newcomer would: `make run`, then the shell blocks in order.

`make run PORT=… REDIS_PORT=…` starts its own redis-server in a temporary run folder, creates
the demo site and serves; the README test gives it a REDIS_PORT on which another Redis already
answers, as a machine with Debian's own redis-server running would. Every README block marked
with ``<!-- readme-test -->`` on the line before its opening fence is then run in one bash
process, top to bottom, with only the service's port, the run folder, the keys file and the
virtualenv's path substituted; REDIS_URL is not set for it: the CLI examples must find
`make run`'s Redis through the file it wrote. curl is wrapped with ``--fail-with-body``, so any
4xx/5xx answer fails the script. Afterwards the "Try:" command that `make run` printed must
still be accepted, and `make stop` (scripts/stop.sh) or Ctrl-C must stop both the service and
its Redis.
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

from tests.conftest import RedisServer, free_port, start_redis

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# A cold start on a loaded 2-core machine: venv import, model load, Redis start.
START_DEADLINE = 90.0
# Eight CLI calls and a dozen requests; generous for a 2-core machine shared with other jobs.
SCRIPT_TIMEOUT = 420.0
# The README addresses the service as `make run` serves it by default.
README_BASE = "http://127.0.0.1:8080"
# Fails the script on any HTTP error answer, printing the problem body.
PRELUDE = 'set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 30 "$@"; }\n'


def readme_blocks() -> list[str]:
    """The blocks marked ``<!-- readme-test -->``, in order, as bash: a Python block becomes a
    here-document for the virtualenv's Python."""
    out = []
    for block in all_blocks():
        if block.marker != "readme-test":
            continue
        if block.lang == "python":
            out.append(f".venv/bin/python - <<'README_PYTHON'\n{block.body}\nREADME_PYTHON")
        else:
            out.append(block.body)
    return out


@dataclass(frozen=True)
class Block:
    line: int  # of the opening fence, 1-based
    lang: str
    marker: str  # the comment on the line before the fence, without <!-- -->; "" when none
    body: str


def all_blocks() -> list[Block]:
    """Every fenced block of the README, with the marker comment on the line before it."""
    blocks: list[Block] = []
    lines = README.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        opening = re.fullmatch(r"```(\w*)", lines[i])
        if opening is None:
            i += 1
            continue
        end = lines.index("```", i + 1)
        previous = lines[i - 1] if i else ""
        found = re.fullmatch(r"<!-- (.*) -->", previous) or re.fullmatch(r"_(Not run here: .*)_", previous)
        blocks.append(Block(i + 1, opening.group(1), found.group(1) if found else "", "\n".join(lines[i + 1 : end])))
        i = end + 1
    return blocks


def block_run_by(test_id: str) -> Block:
    [block] = [b for b in all_blocks() if b.marker == f"readme-test: {test_id}"]
    return block


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


def terminal_job(sigint: signal.Handlers = signal.SIG_DFL) -> Callable[[], None]:
    """What a shell does for a foreground job: SIGINT at its default disposition, whatever this
    test process inherited (a test run started in the background ignores SIGINT)."""

    def prepare() -> None:
        signal.signal(signal.SIGINT, sigint)

    return prepare


def start_make_run(
    tmp_path: Path, *, via_make: bool = False, redis_port: int | None = None,
    sigint: signal.Handlers = signal.SIG_DFL,
) -> MakeRun:
    """`make run` (with ``via_make``: the Makefile's target, ``PORT=`` and ``REDIS_PORT=`` on
    its command line; else scripts/run.sh with the environment variables it reads)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    run_dir = tmp_path / "var"
    keys_file = tmp_path / "demo-keys.json"
    output = tmp_path / "make-run.log"
    port, redis_port = free_port(), redis_port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    env.update(PY=sys.executable, MODERATION_RUN_DIR=str(run_dir), MODERATION_DEMO_KEYS=str(keys_file))
    if via_make:
        # -o: the virtualenv is taken as up to date (this test runs inside it).
        command = ["make", "-s", "-o", ".venv/.installed", "run", f"PORT={port}", f"REDIS_PORT={redis_port}"]
    else:
        command = ["bash", "scripts/run.sh"]
        env.update(MODERATION_PORT=str(port), REDIS_PORT=str(redis_port))
    with output.open("wb") as out:
        # Its own session, like a terminal's foreground job: Ctrl-C reaches the whole group.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=terminal_job(sigint),
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


@pytest.fixture
def make_run_beside_another_redis(tmp_path: Path) -> Iterator[tuple[MakeRun, RedisServer]]:
    """`make run PORT=… REDIS_PORT=P` while a Redis that make run did not start answers on P."""
    other_dir = tmp_path / "other-redis"
    other_dir.mkdir()
    other = start_redis(other_dir)
    try:
        run = start_make_run(tmp_path / "run", via_make=True, redis_port=other.port)
        try:
            yield run, other
        finally:
            stop(run)
    finally:
        other.process.terminate()
        other.process.wait(timeout=30)


def run_script(run: MakeRun, script: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    for old, new in (
        (README_BASE, run.base),
        ("demo-keys.json", str(run.keys_file)),
        ("var/make-run.env", str(run.run_dir / "make-run.env")),
        (".venv/bin/", f"{Path(sys.executable).parent}/"),
    ):
        script = script.replace(old, new)
    # No REDIS_URL: the CLI examples reach `make run`'s Redis through var/make-run.env.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    env.update(extra_env)
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


# Blocks that show a reply or a document, not something to run.
OUTPUT_LANGS = {"json"}


def test_every_block_runs_or_says_why_not() -> None:
    blocks = [b for b in all_blocks() if b.lang not in OUTPUT_LANGS]
    assert len(blocks) > 20
    for block in blocks:
        where = f"README.md:{block.line}"
        assert block.lang in {"sh", "python"}, where
        if block.marker == "readme-test":
            continue
        if block.marker.startswith("readme-test: "):
            path, _, name = block.marker.removeprefix("readme-test: ").partition("::")
            assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8"), where
            continue
        # Not run: the reason is printed above the block, and names the test that does it instead.
        assert block.marker.startswith("Not run here: ") and "tests/test_" in block.marker, where
    # No option in [brackets]: every line can be pasted.
    for block in blocks:
        for line in block.body.splitlines():
            assert not re.search(r"\s\[--", line), f"README.md:{block.line}: {line}"


def test_readme_marks_the_quick_start_examples_as_runnable() -> None:
    script = "\n".join(readme_blocks())
    # The variables, a comment that lands in the queue, the review calls and the settings
    # read-then-write are all in runnable blocks.
    for needle in ("SITE_KEY=", "MOD_TOKEN=", "ID=", "/v1/review/claim", "/v1/review/$ID/decision",
                   "VERSION=", "-X PUT", "moderation sites add", "moderation sites set"):
        assert needle in script, needle
    assert "$" + "ID" in script and "$VERSION" in script


@pytest.mark.timeout(900)
def test_readme_runs_top_to_bottom_then_make_stop_stops_everything(
    make_run_beside_another_redis: tuple[MakeRun, RedisServer],
) -> None:
    make_run, other = make_run_beside_another_redis
    banner = make_run.output.read_text()
    # `make run PORT=…` serves there (it used to serve on 8080 whatever PORT said), and says
    # loudly that the Redis on REDIS_PORT is not its own.
    assert f"http://127.0.0.1:{make_run.port}" in banner
    assert f"port {other.port} is taken by a process make run did not start" in banner
    own_port = int((make_run.run_dir / "redis.port").read_text())
    assert own_port != other.port
    env_file = (make_run.run_dir / "make-run.env").read_text()
    assert f"REDIS_URL=redis://127.0.0.1:{own_port}/0" in env_file
    assert (make_run.run_dir / "make-run.env").stat().st_mode & 0o777 == 0o600

    result = run_script(make_run, "\n".join(readme_blocks()), CORAL_SIGNING_SECRET="coral-phase-secret")
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    out = result.stdout
    assert '"status":"approved"' in out
    assert '"status":"pending"' in out and '"too_many_links"' in out
    assert '"status":"rejected"' in out  # the moderator's decision on $ID
    assert '"max_links":1' in out  # the settings written back on the version just read
    assert '"site_id": "baotinh"' in out  # the CLI examples reached make run's Redis
    # …and not the other one, which make run never wrote to.
    assert redis_keys(other.port) == []

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
    assert alive(other.process.pid)  # not ours: left alone
    assert not (make_run.run_dir / "moderation.pid").exists()
    assert not (make_run.run_dir / "redis.pid").exists()


def redis_keys(port: int) -> list[str]:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "--scan"], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.split()


def test_ctrl_c_stops_the_service_and_its_redis(make_run: MakeRun) -> None:
    server, redis = make_run.pid("moderation.pid"), make_run.pid("redis.pid")
    os.killpg(make_run.process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    make_run.process.wait(timeout=60)
    assert not alive(server) and not alive(redis)
    # One graceful stop. The terminal's SIGINT used to reach the service as well as run.sh,
    # whose clean-up then sent SIGTERM to a service already shutting down: the second signal
    # cut aiohttp's clean-up short (exit status 1, or 143 when it landed after the handlers were
    # removed) in 75 of 80 runs with the two signals 0-30 ms apart.
    output = make_run.output.read_text()
    assert "make run: the service exited with status 0" in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def test_ctrl_c_stops_make_run_started_with_sigint_ignored(tmp_path: Path) -> None:
    # A script's background job (`make run &`, or a test run started so) ignores SIGINT, and
    # bash cannot trap a signal ignored on entry: with the service in its own session, nothing
    # stopped it (the 60 s timeout, reproduced 2 of 2 times). run.sh now starts over with SIGINT
    # at its default.
    run = start_make_run(tmp_path, sigint=signal.SIG_IGN)
    try:
        server, redis = run.pid("moderation.pid"), run.pid("redis.pid")
        os.killpg(run.process.pid, signal.SIGINT)
        run.process.wait(timeout=60)
        assert not alive(server) and not alive(redis)
        assert "make run: the service exited with status 0" in run.output.read_text()
    finally:
        stop(run)


def test_the_service_runs_in_its_own_session(make_run: MakeRun) -> None:
    # The terminal's Ctrl-C reaches only run.sh, which stops the service with one SIGTERM.
    server = make_run.pid("moderation.pid")
    assert os.getsid(server) == server and os.getpgid(server) != os.getpgid(make_run.process.pid)
    assert "moderation serve" in Path(f"/proc/{server}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def debian_setup_mysql_config() -> str:
    """The config file Debian's /usr/share/doc/wordpress/examples/setup-mysql writes (its own
    heredoc, with sample values): it ends with "?>"."""
    script = Path("/usr/share/doc/wordpress/examples/setup-mysql")
    if not script.exists():
        pytest.fail("Debian's wordpress package is not installed; `make test` installs it")
    text = script.read_text(encoding="utf-8")
    heredoc = text.split("cat > $CONFIG_FILE << EOF\n", 1)[1].split("\nEOF\n", 1)[0]
    values = {"$0 $@": "setup-mysql -n news news.example.vn", "$DB_NAME": "news", "$DB_USER": "news",
              "$DB_PASSWORD": "s3cret", "$DB_HOST": "localhost", "$SECRET_KEY": "k3y",
              "$CONTENT": "/var/lib/wordpress/wp-content"}
    for name, value in values.items():
        heredoc = heredoc.replace(name, value)
    assert "$" not in heredoc and heredoc.rstrip().endswith("?>"), heredoc
    return heredoc + "\n"


CONFIG_SHAPES = {
    "debian setup-mysql (ends with ?>)": None,  # filled from Debian's script at run time
    "no file yet": "",
    "empty file": "",
    "html only, no <?php": "<p>news.example.vn</p>\n",
    "php left open": "<?php\ndefine( 'WP_DEBUG', false );\n",
    "last line a comment without newline": "<?php\ndefine( 'WP_DEBUG', false );\n// end of config",
    "?> without newline": "<?php\ndefine( 'WP_DEBUG', false );\n?>",
}


@pytest.mark.parametrize("shape", list(CONFIG_SHAPES))
def test_the_must_use_plugin_block_defines_its_constants(shape: str, tmp_path: Path) -> None:
    # Appended after Debian's closing "?>" (or to a file without "<?php"), the define() lines
    # used to be printed as page text and nothing was defined.
    block = block_run_by("tests/test_readme.py::test_the_must_use_plugin_block_defines_its_constants")
    config = tmp_path / "config-news.example.vn.php"
    content = CONFIG_SHAPES[shape]
    if content is None:
        content = debian_setup_mysql_config()
    if shape != "no file yet":
        config.write_text(content, encoding="utf-8")
    script = block.body.replace("/var/lib/wordpress", str(tmp_path / "wordpress")).replace(
        "/etc/wordpress/config-news.example.vn.php", str(config)
    )
    done = subprocess.run(["bash", "-c", PRELUDE + script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "wordpress" / "wp-content" / "mu-plugins" / "moderation-akismet.php").is_file()
    lint = subprocess.run(["php", "-l", str(config)], capture_output=True, text=True, timeout=60, check=False)
    assert lint.returncode == 0 and "No syntax errors" in lint.stdout, lint.stdout + lint.stderr + config.read_text()
    loaded = subprocess.run(
        ["php", "-r", "ob_start(); include $argv[1]; $out = ob_get_clean(); "
         "echo json_encode([$out, MODERATION_AKISMET_URL]);", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    printed, url = json.loads(loaded.stdout)
    assert url == "https://moderation.baotinh.vn"
    # Nothing of the defines reaches the page; Debian's own file keeps what it printed before.
    assert "define" not in printed and printed.strip() == content.split("<?php")[0].strip()


@pytest.mark.cluster
@pytest.mark.timeout(600)
def test_the_cluster_example_runs(tmp_path: Path) -> None:
    from tests.test_cluster import cluster_port

    block = block_run_by("tests/test_readme.py::test_the_cluster_example_runs")
    ports = [cluster_port() for _ in range(6)]
    port = free_port()
    script = block.body.replace('PORTS="7000 7001 7002 7003 7004 7005"', f'PORTS="{" ".join(map(str, ports))}"')
    script = script.replace("8091", str(port)).replace("DIR=$(mktemp -d)", f"DIR={tmp_path}")
    script = script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    assert str(ports[0]) in script and str(port) in script
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    try:
        done = subprocess.run(["bash", "-c", PRELUDE + script], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=540, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "[OK] All 16384 slots covered" in done.stdout
        reply = json.loads(done.stdout.strip().splitlines()[-1])
        assert reply["status"] in ("approved", "pending"), reply
    finally:
        # Whatever the script did not stop: the nodes it started, by their PID files.
        for pid_file in tmp_path.glob("*.pid"):
            pid = int(pid_file.read_text())
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
    assert not any(alive(int(f.read_text())) for f in tmp_path.glob("*.pid"))
