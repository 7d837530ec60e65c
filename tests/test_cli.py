"""The `moderation` command as an operator meets it: help that explains, errors in one line.

Operator mistakes (Redis unreachable, a file or model folder that is not there) end with one
line on stderr and a non-zero exit, never a traceback; secrets in REDIS_URL never show.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from moderation.cli.main import build_parser, main
from tests.conftest import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


def unreachable_redis_url() -> str:
    # A free port nobody listens on; the password must never appear in any output.
    return f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[
    tuple[tuple[str, ...], argparse.ArgumentParser]
]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*prefix, name), sub
                yield from subcommands(sub, (*prefix, name))


def leaf_commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    return [
        (path, sub) for path, sub in subcommands(build_parser())
        if not any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
    ]


def one_line_error(capsys: pytest.CaptureFixture[str], code: int) -> str:
    out = capsys.readouterr()
    assert code != 0
    lines = out.err.strip().splitlines()
    assert len(lines) == 1, out.err
    assert "Traceback" not in out.err
    assert lines[0].startswith("moderation: ")
    return lines[0]


REDIS_COMMANDS = [
    ["sites", "list"],
    ["sites", "add", "cli-site"],
    ["sites", "rotate-key", "cli-site"],
    ["sites", "set", "cli-site"],
    ["sites", "webhook", "cli-site", "--url", "https://baotinh.vn/hook"],
    ["sites", "coral", "cli-site"],
    ["moderators", "add", "cli-site", "hoa"],
    ["moderators", "revoke", "cli-site", "hoa"],
    ["webhooks", "dead", "--site", "cli-site"],
    ["webhooks", "redeliver", "--site", "cli-site"],
    ["demo", "--keys-file", "{tmp}/demo-keys.json"],
    ["export-labels", "--site", "cli-site"],
    ["recheck", "--site", "cli-site"],
    ["forget", "--site", "cli-site", "--email", "lan@example.vn"],
    ["retention", "sweep", "--site", "cli-site"],
    ["retention", "backfill", "--site", "cli-site"],
    ["retention", "audit", "--site", "cli-site"],
    ["retention", "parked", "--site", "cli-site"],
    ["archive", "detach", "--site", "cli-site"],
]


@pytest.mark.parametrize("argv", REDIS_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_unreachable_redis_is_one_line_without_the_password(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    url = unreachable_redis_url()
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("MODERATION_REDIS_TIMEOUT_SECONDS", "2")
    line = one_line_error(capsys, main(argv))
    port = url.rsplit(":", 1)[1].split("/")[0]
    assert "Redis" in line and f"127.0.0.1:{port}" in line
    assert "hunter2" not in line


def test_every_redis_command_is_covered() -> None:
    # Files only (the archive), or checked elsewhere (serve: below; training: files and models).
    offline = {("serve",), ("train",), ("evaluate",), ("retrain",), ("archive", "list"), ("archive", "export")}
    for path, _ in leaf_commands():
        assert path in offline or any(tuple(argv[: len(path)]) == path for argv in REDIS_COMMANDS), path


def test_the_real_process_exits_non_zero_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_"))}
    env["REDIS_URL"] = unreachable_redis_url()
    done = subprocess.run(
        [sys.executable, "-m", "moderation", "sites", "list"], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr


def test_missing_data_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.csv"
    code = main(["evaluate", "--model", str(MODELS / "spam"), "--data", str(missing),
                 "--text-column", "text", "--label-column", "label"])  # fmt: skip
    line = one_line_error(capsys, code)
    assert str(missing) in line


def test_missing_base_file_for_retrain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "base.csv"
    code = main(["train", "--task", "spam", "--data", str(missing), "--text-column", "text",
                 "--label-column", "label", "--out", str(tmp_path / "out")])  # fmt: skip
    assert str(missing) in one_line_error(capsys, code)


def test_bad_model_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.csv"
    data.write_text("text,label\nbài viết hay,0\nvay tiền zalo 0908123456,1\n", encoding="utf-8")
    (tmp_path / "empty-model").mkdir()
    for model in (tmp_path / "empty-model", tmp_path / "no-such-model"):
        code = main(["evaluate", "--model", str(model), "--data", str(data),
                     "--text-column", "text", "--label-column", "label"])  # fmt: skip
        assert str(model) in one_line_error(capsys, code)


def test_bad_models_dir_for_recheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MODERATION_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", unreachable_redis_url())
    line = one_line_error(capsys, main(["recheck", "--site", "cli-site"]))
    assert str(tmp_path) in line


def test_missing_output_folder_for_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    redis_server: RedisServer,
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    out = tmp_path / "no-such-folder" / "labels.csv"
    line = one_line_error(capsys, main(["export-labels", "--site", "cli-missing-site", "--out", str(out)]))
    assert str(out.parent) in line or "cli-missing-site" in line


def test_every_option_has_help_and_shows_its_default() -> None:
    for path, sub in leaf_commands():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction) or not action.option_strings:
                continue
            assert action.help and action.help != argparse.SUPPRESS, (path, action.option_strings)
        text = " ".join(sub.format_help().split())  # wrapped lines joined
        for action in sub._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS) \
                    and not isinstance(action, argparse._HelpAction):
                assert f"(default: {action.default})" in text, (path, action.option_strings)


def test_every_positional_has_help() -> None:
    for path, sub in leaf_commands():
        for action in sub._actions:
            if not action.option_strings and not isinstance(action, argparse._SubParsersAction):
                assert action.help, (path, action.dest)


def test_every_subcommand_has_a_description_with_an_example() -> None:
    for path, sub in subcommands(build_parser()):
        if any(isinstance(a, argparse._SubParsersAction) for a in sub._actions):
            continue
        text = sub.format_help()
        assert sub.description, path
        assert "example:" in text.lower(), path
        assert "moderation " + " ".join(path) in text, path


def test_no_raw_backticks_in_any_help() -> None:
    parser = build_parser()
    assert "`" not in parser.format_help()
    for path, sub in subcommands(parser):
        assert "`" not in sub.format_help(), path


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_with_a_bad_model_folder_stops_with_one_line_per_worker(
    workers: int, tmp_path: Path, redis_server: RedisServer
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    env.update(REDIS_URL=redis_server.url, MODERATION_MODELS_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "moderation", "serve", "--port", str(free_port()), "--workers", str(workers)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    # One line per worker that tried (never a replacement that fails the same way).
    assert 1 <= len(lines) <= workers, done.stderr
    assert all(line.startswith("moderation: cannot load the model: ") for line in lines), done.stderr


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "REDIS_", "PROMETHEUS_"))}
    env.update(extra)
    return env


def run_cli(*argv: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moderation", *argv], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True,
        timeout=120, check=False,
    )


def assert_one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moderation: "), done.stderr
    assert "serving on" not in done.stdout  # refused before announcing anything
    return lines[0]


@pytest.mark.parametrize("argv", [["sites", "list"], ["serve", "--port", "18080"]], ids=["sites list", "serve"])
def test_a_redis_url_without_a_scheme_is_one_line(argv: list[str]) -> None:
    done = run_cli(*argv, env=clean_env(REDIS_URL=":hunter2@localhost:16379"))
    line = assert_one_line(done, 1)
    assert "redis://" in line and "localhost:16379" in line and "hunter2" not in line


@pytest.mark.parametrize("argv", [["sites", "list"], ["serve", "--port", "0"]], ids=["sites list", "serve"])
def test_a_database_the_server_does_not_have_is_one_line(argv: list[str], redis_server: RedisServer) -> None:
    if argv[0] == "serve":
        argv = ["serve", "--port", str(free_port())]
    url = redis_server.url.rsplit("/", 1)[0] + "/99"
    line = assert_one_line(run_cli(*argv, env=clean_env(REDIS_URL=url)), 1)
    assert "no database 99" in line


@pytest.mark.parametrize("port", ["99999", "0", "-1"])
def test_serve_refuses_a_port_out_of_range(port: str, redis_server: RedisServer) -> None:
    # 0 would have listened on a random port while announcing 0; 99999 did the same.
    line = assert_one_line(run_cli("serve", "--port", port, env=clean_env(REDIS_URL=redis_server.url)), 2)
    assert port in line and "1 to 65535" in line
    line = assert_one_line(run_cli("serve", env=clean_env(REDIS_URL=redis_server.url, MODERATION_PORT=port)), 2)
    assert port in line


@pytest.mark.parametrize("reuse_port", [False, True], ids=["another program", "another moderation service"])
@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_a_busy_port_before_announcing(reuse_port: bool, workers: str, redis_server: RedisServer) -> None:
    import socket

    with socket.socket() as other:
        # A running service's workers listen with SO_REUSEPORT: a second service with more
        # than one worker would have joined them on the port without a word.
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT if reuse_port else socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        done = run_cli("serve", "--port", str(port), "--workers", workers, env=clean_env(REDIS_URL=redis_server.url))
    line = assert_one_line(done, 1)
    assert f"port {port}" in line and "in use" in line


def test_demo_checks_its_keys_file_before_touching_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], redis_server: RedisServer
) -> None:
    import json

    import redis as sync_redis

    from moderation.store import keys

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    good = tmp_path / "demo-keys.json"
    assert main(["demo", "--site-id", "demo-cli", "--keys-file", str(good)]) == 0
    before = json.loads(good.read_text())
    client = sync_redis.Redis.from_url(redis_server.url, decode_responses=True)
    stored = client.hgetall(keys.site_meta("demo-cli"))
    tokens = client.keys("*")
    capsys.readouterr()
    # The file is gone and the new one cannot be written: nothing may be rotated.
    line = one_line_error(capsys, main(["demo", "--site-id", "demo-cli", "--keys-file", "/nonexistent/dir/k.json"]))
    assert "/nonexistent/dir/k.json" in line
    assert client.hgetall(keys.site_meta("demo-cli")) == stored
    assert client.keys("*") == tokens
    assert not list(tmp_path.glob(".demo-keys.json.*"))  # no staged file left behind
    # A writable path: new keys, written whole, 0600.
    good.unlink()
    assert main(["demo", "--site-id", "demo-cli", "--keys-file", str(good)]) == 0
    after = json.loads(good.read_text())
    assert after["api_key"] != before["api_key"] and good.stat().st_mode & 0o777 == 0o600
    client.close()


@pytest.mark.parametrize("stdin", ["", "\n", "   \n"], ids=["nothing", "empty line", "blanks"])
def test_coral_secret_stdin_refuses_an_empty_secret(stdin: str, redis_server: RedisServer) -> None:
    import redis as sync_redis

    from moderation.store import keys

    env = clean_env(REDIS_URL=redis_server.url)
    site = f"coral-cli-{len(stdin)}"
    assert run_cli("sites", "add", site, env=env).returncode == 0
    line = assert_one_line(run_cli("sites", "coral", site, "--secret-stdin", env=env, stdin=stdin), 2)
    assert "standard input" in line
    client = sync_redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert client.hget(keys.site_meta(site), "coral_secret") is None
    client.close()
    done = run_cli("sites", "coral", site, "--secret-stdin", env=env, stdin="whsec-from-coral\n")
    assert done.returncode == 0 and "whsec-from-coral" not in done.stdout  # stored, never echoed
