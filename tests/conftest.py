"""Shared fixtures: a real redis-server per test session, a real HTTP server per test module."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from redis.asyncio import Redis

from moderation.core.settings import DEFAULT_MODELS_DIR, Settings
from moderation.scoring.scorer import Scorer
from moderation.store import auth
from moderation.store import keys as store_keys
from moderation.store.comments import Store
from moderation.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent


def screenshot_dir() -> Path:
    """Where browser tests save screenshots: build/screenshots (git-ignored) unless
    ``MODERATION_SCREENSHOTS_DIR`` names another folder (`make screenshots` names docs/screenshots)."""
    path = Path(os.environ.get("MODERATION_SCREENSHOTS_DIR") or ROOT / "build" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _tracked_changes() -> dict[str, str] | None:
    """Tracked files that differ from HEAD, each with a digest of its content (None: no git)."""
    try:
        names = subprocess.run(
            ["git", "diff", "--name-only", "-z", "HEAD"], cwd=ROOT, capture_output=True, check=True, timeout=60
        ).stdout.decode("utf-8", "surrogateescape").split("\0")
    except (OSError, subprocess.SubprocessError):
        return None
    out: dict[str, str] = {}
    for name in filter(None, names):
        path = ROOT / name
        out[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "deleted"
    return out


_TRACKED_KEY = pytest.StashKey[dict[str, str] | None]()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.stash[_TRACKED_KEY] = _tracked_changes()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run in CI (warn elsewhere) if a test wrote a tracked file (screenshots, fixtures…).

    Tests write under build/ or a temporary folder; `make screenshots` is the one run that is
    meant to rewrite tracked files, and it says so with MODERATION_SCREENSHOTS_DIR.
    """
    before = session.stash.get(_TRACKED_KEY, None)
    if before is None or os.environ.get("MODERATION_SCREENSHOTS_DIR"):
        return
    after = _tracked_changes() or {}
    changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
    if changed:
        writer = session.config.get_terminal_writer()
        writer.line()
        writer.line(
            "tracked files changed during the test run (tests must write under build/ or a temporary "
            "folder): " + ", ".join(changed),
            red=True,
        )
        # In CI (a fresh clone nobody edits) this fails the run; on a developer's machine the
        # same list would also catch their own edits made while the suite ran, so it only warns.
        if os.environ.get("CI"):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def start_redis(directory: Path, *extra: str, port: int | None = None) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; `make test` installs Debian's package")
    port = port or free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", "",
         "--appendonly", "no", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return RedisServer(port, directory, proc)
        except OSError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.02)  # polling a child process to come up, not synchronising test logic
    proc.kill()
    pytest.fail("redis-server did not start")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with tempfile.TemporaryDirectory(prefix="moderation-redis-") as tmp:
        server = start_redis(Path(tmp))
        yield server
        server.process.terminate()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def scorer() -> Scorer:
    return Scorer.load(Path(os.environ.get("MODERATION_MODELS_DIR", DEFAULT_MODELS_DIR)))


@pytest.fixture(scope="session")
def settings(redis_server: RedisServer) -> Settings:
    # Every test calls from 127.0.0.1: the hourly budget of failed Akismet key checks (60 by
    # default) would be shared by the whole run; the tests of the limit use their own addresses.
    return Settings(redis_url=redis_server.url, batch_max_wait_ms=1.0, akismet_key_guesses_per_hour=10_000)


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    yield client
    await client.aclose()


@dataclass
class Api:
    """A running service and a client session pointed at it."""

    server: TestServer
    session: aiohttp.ClientSession
    app: web.Application

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def request(
        self, method: str, path: str, token: str | None = None, **kwargs: object
    ) -> aiohttp.ClientResponse:
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.session.request(method, self.url(path), headers=headers, **kwargs)  # type: ignore[arg-type]


AppFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
async def make_api(settings: Settings, scorer: Scorer) -> AsyncIterator[AppFactory]:
    made: list[Api] = []

    async def factory(**overrides: object) -> Api:
        from dataclasses import replace

        app = create_app(replace(settings, **overrides), scorer=scorer)  # type: ignore[arg-type]
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        api = Api(server, aiohttp.ClientSession(), app)
        made.append(api)
        return api

    yield factory
    for api in made:
        await api.session.close()
        await api.server.close()


@pytest.fixture
async def api(make_api: AppFactory) -> Api:
    return await make_api()


@dataclass
class Site:
    site_id: str
    api_key: str = ""
    moderator_token: str = ""

    def __repr__(self) -> str:  # never print keys, even in test failure output
        return f"Site({self.site_id!r})"


_site_counter = 0


@pytest.fixture
async def make_site(redis: Redis) -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    created: list[str] = []

    async def factory(moderator: str = "mod-a") -> Site:
        global _site_counter
        _site_counter += 1
        site_id = f"t{os.getpid()}-{_site_counter}"
        api_key = await auth.create_site(redis, site_id, site_id, int(time.time() * 1000))
        await Store(redis, idempotency_ttl=60).ensure_group(site_id)
        token = await auth.add_moderator(redis, [site_id], moderator)
        created.append(site_id)
        return Site(site_id, api_key, token)

    yield factory
    for site_id in created:
        keys = [k async for k in redis.scan_iter(match=f"site:{{{site_id}}}:*")]
        if keys:
            await redis.delete(*keys)
        # A deleted site no longer shares reputation with the sites of later tests.
        await redis.srem(store_keys.SITES, site_id)
        await redis.srem(store_keys.REPUTATION_OPTOUT, site_id)


@pytest.fixture
async def site(make_site: Callable[..., Awaitable[Site]]) -> Site:
    return await make_site()


def comment(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "post_id": "bai-viet-1",
        "author_name": "Nguyễn Văn An",
        "author_email": "an.nguyen@example.vn",
        "content": "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ vấn đề giao thông ở Hà Nội.",
        "post_url": "https://baotinh.example.vn/giao-thong/bai-viet-1",
        "user_ip": "113.160.12.34",
        "lang": "vi",
    }
    body.update(overrides)
    return body
