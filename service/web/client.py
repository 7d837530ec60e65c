"""Who is calling: the client address every rate limit and audit line uses."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from moderation.web import appkeys


def client_ip(request: web.Request) -> str:
    if request.app[appkeys.SETTINGS].trust_forwarded_for:
        # Behind our own proxy: it appends the address it saw, so only the last entry is
        # trustworthy; earlier ones are whatever the client wrote.
        last = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return request.remote or "unknown"
