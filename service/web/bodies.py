"""Reading request bodies: always whole, always within the client deadline, always bounded.

Every handler that reads a body goes through here, so a client that trickles its body
(or never ends a chunked one) gets a 408 after ``client_timeout_seconds`` on every route,
authenticated or not, and a body that arrives in several TCP segments is read to its end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from moderation.core.errors import PayloadTooLarge, RequestTimeout
from moderation.web import appkeys

# Read in pieces of this size so a limit is enforced before the whole body is buffered.
READ_CHUNK_BYTES = 64 * 1024


def refuse_declared(request: web.Request, limit: int) -> None:
    """Refuse on the declared length before reading a byte of an oversized body."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"the body is {request.content_length} bytes; the limit is {limit}")


@asynccontextmanager
async def body_deadline(request: web.Request) -> AsyncIterator[None]:
    """Bound the reads inside by the client deadline; a late body is a 408."""
    timeout = request.app[appkeys.SETTINGS].client_timeout_seconds
    try:
        async with asyncio.timeout(timeout):
            yield
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {timeout:g} seconds") from None


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body (to EOF, however it is split), at most ``limit`` bytes, within the deadline."""
    refuse_declared(request, limit)
    chunks: list[bytes] = []
    size = 0
    async with body_deadline(request):
        while True:
            chunk = await request.content.read(READ_CHUNK_BYTES)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the body exceeds {limit} bytes")
            chunks.append(chunk)
    return b"".join(chunks)
