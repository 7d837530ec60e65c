"""Hostile input: huge, malformed, slow and odd requests get a 4xx, never a 5xx or a hang.

test_validation.py covers the field rules and the basic 400/413/415 paths; these tests
go below HTTP's happy path with raw sockets where a client library would refuse.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import msgspec
import pytest
from aiohttp.test_utils import TestServer

from moderation.core.settings import Settings
from moderation.scoring.scorer import Scorer
from moderation.web.app import create_app
from moderation.web.server import server_options
from tests.conftest import Api, Site, comment

# Generous bound for "answered promptly" on a loaded 2-core CI machine.
PROMPT = 10.0


async def raw_exchange(port: int, head: bytes, body: bytes = b"", *, read_timeout: float = PROMPT) -> bytes:
    """Send bytes as they are and return everything the server answers until it closes or goes quiet."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body)
        await writer.drain()
        return await read_response(reader, read_timeout)
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader, within: float) -> bytes:
    data = b""
    async with asyncio.timeout(within):
        while b"\r\n\r\n" not in data:
            chunk = await reader.read(65536)
            if not chunk:
                return data
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = await reader.read(65536)
            if not chunk:
                break
            rest += chunk
        return head + b"\r\n\r\n" + rest


def status_of(response: bytes) -> int:
    assert response.startswith(b"HTTP/1."), response[:200]
    return int(response.split(b" ", 2)[1])


def request_head(site: Site, path: str = "/v1/comments", **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {site.api_key}"]
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
async def strict_server(settings: Settings, scorer: Scorer) -> AsyncIterator[TestServer]:
    """The app behind the same connection options as production, with short client timeouts."""
    strict = replace(settings, client_timeout_seconds=0.5)
    server = TestServer(create_app(strict, scorer=scorer), host="127.0.0.1")
    await server.start_server(**server_options(strict))
    yield server
    await server.close()


def port_of(api: Api) -> int:
    port = api.server.port
    assert port is not None
    return port


# ---------------------------------------------------------------------------------------
# Size


async def test_10mb_body_refused_on_declared_length_before_it_is_sent(api: Api, site: Site) -> None:
    # Only the head goes out: the 413 must come without the server waiting for 10 MB.
    head = request_head(site, Content_Type="application/json", Content_Length=str(10 * 1024 * 1024))
    started = time.monotonic()
    response = await raw_exchange(port_of(api), head)
    assert status_of(response) == 413
    assert b"payload_too_large" in response
    assert time.monotonic() - started < PROMPT


async def test_10mb_chunked_body_stops_at_the_limit(api: Api, site: Site) -> None:
    # No Content-Length: the server keeps at most the limit in memory and answers 413 while
    # the client is still sending (what follows is discarded, not buffered).
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(api))
    writer.write(request_head(site, Content_Type="application/json", Transfer_Encoding="chunked"))
    chunk = b"x" * 65536
    sent = 0

    async def pump() -> None:
        nonlocal sent
        try:
            for _ in range(160):  # 10 MiB in 64 KiB chunks, bounded
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)
        except (ConnectionResetError, BrokenPipeError):
            pass

    sending = asyncio.create_task(pump())
    response = await read_response(reader, PROMPT)
    await sending
    writer.close()
    assert status_of(response) == 413


async def test_huge_arrays_and_objects_are_422_not_500(api: Api, site: Site) -> None:
    huge_array = comment(content=[0] * 200_000)
    status = (await api.request("POST", "/v1/comments", site.api_key, data=msgspec.json.encode(huge_array),
                                headers={"Content-Type": "application/json"})).status
    assert status == 422
    many_keys = comment(**{f"k{i}": i for i in range(20_000)})
    resp = await api.request("POST", "/v1/comments", site.api_key, data=msgspec.json.encode(many_keys),
                             headers={"Content-Type": "application/json"})
    assert resp.status == 202  # unknown fields are ignored, and 20,000 of them cost nothing noticeable


async def test_deep_nesting_inside_a_field_is_rejected_cleanly(api: Api, site: Site) -> None:
    nested = b'{"post_id": "p", "author_name": "a", "author_email": "a@b.vn", "content": ' + b'{"a":' * 20_000
    nested += b"1" + b"}" * 20_000 + b"}"
    resp = await api.request("POST", "/v1/comments", site.api_key, data=nested,
                             headers={"Content-Type": "application/json"})
    assert resp.status in {400, 422}


# ---------------------------------------------------------------------------------------
# Bytes a client library would not send


async def test_nul_bytes_in_every_text_field_are_422(api: Api, site: Site) -> None:
    for field in ("post_id", "author_name", "author_email", "author_url", "parent_id", "user_agent", "lang"):
        resp = await api.request("POST", "/v1/comments", site.api_key, json=comment(**{field: "a\x00b"}))
        assert resp.status == 422, field
        assert {e["field"] for e in (await resp.json())["errors"]} == {field}


async def test_nul_and_garbage_in_path_and_query_are_4xx(api: Api, site: Site) -> None:
    for method, path, token in [
        ("GET", "/v1/comments/%00", site.api_key),
        ("GET", "/v1/comments/" + "%FF" * 10, site.api_key),
        ("GET", "/v1/comments/" + "a" * 5000, site.api_key),
        ("GET", f"/v1/review/queue?site=%00{site.site_id}", site.moderator_token),
        ("GET", "/v1/review/queue?site=" + "%FF" * 4, site.moderator_token),
        ("POST", "/v1/review/%00/decision", site.moderator_token),
    ]:
        kwargs = {"json": {"decision": "approve"}} if method == "POST" else {}
        resp = await api.request(method, path, token, **kwargs)
        assert 400 <= resp.status < 500, (path, resp.status)


async def test_invalid_utf8_and_nul_in_headers_are_4xx(api: Api, site: Site) -> None:
    body = msgspec.json.encode(comment())
    port = port_of(api)
    cases = [
        b"Authorization: Bearer sk-\xff\xfe.\xc0\x80\r\n",
        b"Authorization: Bearer " + site.api_key.encode() + b"\r\nIdempotency-Key: k\xff\xfe\r\n",
        b"Authorization: Bearer " + site.api_key.encode() + b"\r\nContent-Type: application/json\xff\r\n",
        b"Authorization: Bearer sk-a\x00b.c\r\n",
    ]
    for extra in cases:
        head = (b"POST /v1/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + extra + b"Content-Length: %d\r\n\r\n" % len(body))
        status = status_of(await raw_exchange(port, head, body))
        assert 400 <= status < 500, (extra, status)


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x",
                                          "application/json; charset=utf-16", "application/xml"])
async def test_wrong_content_types_are_415(api: Api, site: Site, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    resp = await api.request("POST", "/v1/comments", site.api_key, data=msgspec.json.encode(comment()),
                             headers=headers)
    assert resp.status == 415


async def test_conflicting_length_headers_are_400(api: Api, site: Site) -> None:
    # Content-Length together with chunked encoding is the classic request-smuggling shape.
    body = b'5\r\n{"a":\r\n0\r\n\r\n'
    head = request_head(site, Content_Type="application/json", Content_Length="5", Transfer_Encoding="chunked")
    assert status_of(await raw_exchange(port_of(api), head, body)) == 400


# ---------------------------------------------------------------------------------------
# Headers


async def test_oversized_header_is_4xx(api: Api, site: Site) -> None:
    head = request_head(site, Content_Type="application/json", X_Padding="a" * 100_000, Content_Length="2")
    assert status_of(await raw_exchange(port_of(api), head, b"{}")) in {400, 431}


async def test_too_many_headers_is_4xx(api: Api, site: Site) -> None:
    extra = {f"X_H{i}": "v" for i in range(500)}
    head = request_head(site, Content_Type="application/json", Content_Length="2", **extra)
    assert status_of(await raw_exchange(port_of(api), head, b"{}")) in {400, 431}


async def test_oversized_request_line_is_4xx(api: Api, site: Site) -> None:
    head = f"GET /v1/comments/{'a' * 100_000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    assert status_of(await raw_exchange(port_of(api), head)) in {400, 414, 431}


# ---------------------------------------------------------------------------------------
# Slow clients


async def test_slow_body_gets_408_and_the_connection_is_closed(strict_server: TestServer, site: Site) -> None:
    assert strict_server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_server.port)
    body = msgspec.json.encode(comment())
    writer.write(request_head(site, Content_Type="application/json", Content_Length=str(len(body))) + body[:10])
    await writer.drain()
    started = time.monotonic()
    response = await read_response(reader, PROMPT)  # the rest of the body never comes
    assert status_of(response) == 408
    assert b"request_timeout" in response
    assert time.monotonic() - started < PROMPT
    async with asyncio.timeout(PROMPT):
        assert await reader.read() == b""  # closed by the server
    writer.close()


async def test_slow_headers_are_cut_off(strict_server: TestServer) -> None:
    assert strict_server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_server.port)
    writer.write(b"POST /v1/comments HTTP/1.1\r\nHost: x\r\n")  # and then nothing: a slowloris
    await writer.drain()
    async with asyncio.timeout(PROMPT):
        leftover = await reader.read()
    assert leftover == b""  # the server hung up without an answer
    writer.close()


async def test_idle_connection_is_closed(strict_server: TestServer) -> None:
    assert strict_server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", strict_server.port)
    async with asyncio.timeout(PROMPT):
        assert await reader.read() == b""
    writer.close()


async def test_server_keeps_serving_while_slow_clients_hang(strict_server: TestServer, site: Site) -> None:
    assert strict_server.port is not None
    hanging = [await asyncio.open_connection("127.0.0.1", strict_server.port) for _ in range(50)]
    for _, w in hanging:
        w.write(b"POST /v1/check HTTP/1.1\r\nHost: x\r\n")
    body = msgspec.json.encode(comment())
    head = request_head(site, "/v1/check", Content_Type="application/json", Content_Length=str(len(body)))
    started = time.monotonic()
    assert status_of(await raw_exchange(strict_server.port, head, body)) == 200
    assert time.monotonic() - started < PROMPT
    for _, w in hanging:
        w.close()


def test_production_server_uses_the_client_timeout() -> None:
    assert server_options(Settings(client_timeout_seconds=7.0))["keepalive_timeout"] == 7.0
