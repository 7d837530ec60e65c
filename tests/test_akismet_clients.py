"""Other Akismet clients, unchanged, against the service: npm ``akismet-api`` and Debian's Net::Akismet.

Both put the key in the host name (``http://<key>.<host>/1.1/comment-check``) and send no
``api_key`` field, so a success here is the Host-header key path working end to end. Each is
configured only through its documented options (host/protocol; SERVICE_HOST) with a host
under the reserved ``.test`` domain, which no resolver answers; each process gets its own way
to reach the service under test, and nothing on the machine (no /etc/hosts entry) changes:

- Node: ``node --require tests/clients/node/resolve-akismet-test.js`` maps ``*.akismet.test``
  to 127.0.0.1 in that process (akismet-api has no proxy or resolver option).
- Perl: LWP's documented ``http_proxy`` (read when ``PERL_LWP_ENV_PROXY=1``) points at a
  forward proxy in this module that only forwards ``*.akismet.test`` to the service, Host
  header untouched.

``make test`` installs node/npm, the npm package (``npm ci`` in tests/clients/node) and
libnet-akismet-perl when missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from moderation.store import auth, keys
from tests.conftest import Api, Site

CLIENTS = Path(__file__).resolve().parent / "clients"
NODE_DIR = CLIENTS / "node"
TEST_DOMAIN = "akismet.test"
BLOG = "https://baotinh.example.vn"
HAM_TEXT = "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ vấn đề giao thông ở Hà Nội."
SPAM_TEXT = "Kiếm tiền online 5 triệu/ngày, liên hệ zalo 0912345678 ngay, inbox nhận quà miễn phí http://kiemtien.vn"
SNEAKY_TEXT = "Ghé shop em xem mẫu mới nha các bác, giá tốt lắm ạ"
# A well-formed Akismet-style key that no site has.
UNKNOWN_KEY = "0123456789abcdef0123456789abcdef0123456789abcdef"
# A client run is a process start plus a handful of requests; generous for a loaded machine.
RUN_TIMEOUT = 60
MAX_HEAD_BYTES = 64 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        with contextlib.suppress(OSError):
            writer.close()


class DotTestProxy:
    """A forward HTTP proxy for ``*.akismet.test`` only: rewrites the absolute-form request
    line to origin-form and relays to the service, every header (Host included) unchanged."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.hosts: list[str] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            writer.close()
            return
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = request_line.decode("latin-1").split(" ", 2)
        scheme, _, after = target.partition("://")
        authority, slash, path = after.partition("/")
        host = authority.rsplit(":", 1)[0].lower()
        if scheme != "http" or not (host == TEST_DOMAIN or host.endswith("." + TEST_DOMAIN)):
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            writer.close()
            return
        self.hosts.append(host)
        headers = [
            line for line in rest.split(b"\r\n")
            if line and not line.lower().startswith((b"proxy-connection:", b"connection:"))
        ]
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        # One request per connection keeps the relay a plain byte pipe.
        upstream_writer.write(
            f"{method} {slash}{path} {version}\r\n".encode("latin-1")
            + b"\r\n".join([*headers, b"Connection: close"])
            + b"\r\n\r\n"
        )
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


@pytest.fixture
async def akismet_key(site: Site, redis: Redis) -> str:
    return await auth.rotate_akismet_key(redis, site.site_id)


@pytest.fixture
async def proxy(api: Api) -> AsyncIterator[DotTestProxy]:
    assert api.server.port is not None
    proxy = DotTestProxy(api.server.port)
    await proxy.start()
    yield proxy
    await proxy.close()


async def run(argv: list[str], plan: dict[str, Any], env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(json.dumps(plan).encode()), RUN_TIMEOUT)
    assert proc.returncode == 0, err.decode(errors="replace")
    results: list[dict[str, Any]] = json.loads(out)
    return results


async def comment_statuses(redis: Redis, site: Site) -> dict[str, str]:
    ids = [k.rsplit(":", 1)[1] async for k in redis.scan_iter(match=f"site:{{{site.site_id}}}:c:*")]
    return {cid: str(await redis.hget(keys.comment(site.site_id, cid), "status")) for cid in ids}


# ------------------------------------------------------------------------ npm akismet-api


def node_command() -> list[str]:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules" / "akismet-api").is_dir():
        pytest.fail("node or akismet-api missing; `make test` installs them (npm ci in tests/clients/node)")
    return [node, "--require", str(NODE_DIR / "resolve-akismet-test.js"), str(NODE_DIR / "run-plan.js")]


def node_comment(content: str, **extra: str) -> dict[str, str]:
    # akismet-api's own (documented) field names.
    return {
        "ip": "113.160.12.34",
        "useragent": "Mozilla/5.0 (X11; Linux x86_64)",
        "name": "Nguyễn Văn An",
        "email": "an.nguyen@example.vn",
        "content": content,
        "permalink": f"{BLOG}/giao-thong/bai-viet-1",
        "type": "comment",
        **extra,
    }


def node_client(api: Api, key: str) -> dict[str, str]:
    return {"key": key, "blog": BLOG, "lang": "vi", "charset": "UTF-8",
            "host": f"{TEST_DOMAIN}:{api.server.port}", "protocol": "http"}


async def test_akismet_api_npm_client_round_trip(api: Api, site: Site, akismet_key: str, redis: Redis) -> None:
    plan = {
        "client": node_client(api, akismet_key),
        "steps": [
            {"call": "verifyKey"},
            {"call": "verifyKey", "key": UNKNOWN_KEY},
            {"call": "checkSpam", "comment": node_comment(HAM_TEXT)},
            {"call": "checkSpam", "comment": node_comment(SPAM_TEXT, email="kiemtien@example.vn")},
            # Another author: the site's flood rule refuses one email twice within 15 s.
            {"call": "checkSpam", "comment": node_comment(SNEAKY_TEXT, email="shop@example.vn")},
            {"call": "submitSpam", "comment": node_comment(SNEAKY_TEXT, email="shop@example.vn")},
            {"call": "checkSpam", "comment": node_comment(HAM_TEXT), "key": UNKNOWN_KEY},
        ],
    }
    results = await run(node_command(), plan)
    assert results[:5] == [
        {"ok": True, "value": True},
        {"ok": True, "value": False},
        {"ok": True, "value": False},
        {"ok": True, "value": True},
        {"ok": True, "value": False},
    ]
    assert results[5] == {"ok": True, "value": "submitted"}
    # An unknown key in the host name: the service answers "invalid", the client raises.
    assert results[6] == {"ok": False, "error": "Invalid API key"}
    # Ham approved, spam stored as spam, and the sneaky one (first answered "false") is now
    # spam by the submit-spam report: three comments, all under the key's own site.
    statuses = sorted((await comment_statuses(redis, site)).values())
    assert statuses == ["approved", "spam", "spam"]


async def test_akismet_api_key_in_the_host_alone_is_enough(
    api: Api, site: Site, akismet_key: str, redis: Redis
) -> None:
    """The request carries no key field at all: only ``<key>.akismet.test`` names the site."""
    steps = [{"call": "checkSpam", "comment": node_comment(HAM_TEXT)}]
    plan = {"client": node_client(api, akismet_key), "steps": steps}
    assert await run(node_command(), plan) == [{"ok": True, "value": False}]
    # A rotated key stops working on the next request.
    await auth.rotate_akismet_key(redis, site.site_id)
    assert await run(node_command(), plan) == [{"ok": False, "error": "Invalid API key"}]


# ------------------------------------------------------------------ Debian Net::Akismet (Perl)


def perl_command() -> list[str]:
    perl = shutil.which("perl")
    if perl is None or not Path("/usr/share/perl5/Net/Akismet.pm").exists():
        pytest.fail("Net::Akismet missing; `make test` installs Debian's libnet-akismet-perl")
    return [perl, str(CLIENTS / "perl" / "run-plan.pl")]


def perl_comment(content: str, **extra: str) -> dict[str, str]:
    return {
        "USER_IP": "113.160.12.34",
        "COMMENT_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64)",
        "COMMENT_AUTHOR": "Nguyễn Văn An",
        "COMMENT_AUTHOR_EMAIL": "an.nguyen@example.vn",
        "COMMENT_CONTENT": content,
        "PERMALINK": f"{BLOG}/giao-thong/bai-viet-2",
        "COMMENT_TYPE": "comment",
        **extra,
    }


async def test_net_akismet_perl_client_round_trip(
    api: Api, site: Site, akismet_key: str, proxy: DotTestProxy, redis: Redis
) -> None:
    plan = {
        "client": {"KEY": akismet_key, "URL": BLOG, "SERVICE_HOST": f"{TEST_DOMAIN}:{api.server.port}"},
        "steps": [
            {"call": "new"},
            {"call": "new", "key": UNKNOWN_KEY},
            {"call": "check", "comment": perl_comment(HAM_TEXT)},
            {"call": "check", "comment": perl_comment(SPAM_TEXT, COMMENT_AUTHOR_EMAIL="kiemtien@example.vn")},
            # Another author: the site's flood rule refuses one email twice within 15 s.
            {"call": "check", "comment": perl_comment(SNEAKY_TEXT, COMMENT_AUTHOR_EMAIL="shop@example.vn")},
            {"call": "spam", "comment": perl_comment(SNEAKY_TEXT, COMMENT_AUTHOR_EMAIL="shop@example.vn")},
        ],
    }
    env = {"PERL_LWP_ENV_PROXY": "1", "http_proxy": proxy.url, "no_proxy": ""}
    results = await run(perl_command(), plan, env)
    assert results == [
        {"ok": True, "value": "valid"},
        {"ok": False, "error": "key verification failed"},
        {"ok": True, "value": "false"},
        {"ok": True, "value": "true"},
        {"ok": True, "value": "false"},
        {"ok": True, "value": "submitted"},
    ]
    # Every request went to a test-domain host; the comment calls named the key there.
    assert f"{akismet_key}.{TEST_DOMAIN}" in proxy.hosts
    statuses = sorted((await comment_statuses(redis, site)).values())
    assert statuses == ["approved", "spam", "spam"]
