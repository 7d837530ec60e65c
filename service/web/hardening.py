"""What the HTTP server says about itself to unauthenticated clients: as little as possible.

aiohttp names itself and Python in every ``Server`` header, its own error replies
included (a malformed request never reaches our handlers or their response hooks), and
logs every malformed request — an oversized header, a bad request line — as an ERROR
with a traceback, so anyone can fill the error log and page an operator. A client's
malformed request is the client's problem: it is logged as one escaped WARNING line.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import http_exceptions, web_response

from moderation.core.logfields import escape

SERVER_NAME: Final = "moderation"
_SERVER_LOGGER: Final = "aiohttp.server"


class ClientErrorFilter(logging.Filter):
    """Turns aiohttp's ERROR-with-traceback for a malformed request into a one-line WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, http_exceptions.HttpProcessingError):
            remote = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg = "malformed request from %s: %s"
            record.args = (escape(str(remote)), escape(f"{type(exc).__name__}: {exc.message}"))
            record.exc_info, record.exc_text = None, None
        return True


def quiet_server() -> None:
    """Install both changes; idempotent (every app of the process shares aiohttp's globals)."""
    # aiohttp sets the header with setdefault from this module global, for its own error
    # replies too; our response hook covers app replies, this covers the rest.
    web_response.SERVER_SOFTWARE = SERVER_NAME  # type: ignore[attr-defined]
    logger = logging.getLogger(_SERVER_LOGGER)
    if not any(isinstance(f, ClientErrorFilter) for f in logger.filters):
        logger.addFilter(ClientErrorFilter())
