"""``GET /``: a small index page, so the URL `make run` prints leads somewhere useful.

Plain HTML without script or style, so the API's strict CSP (``default-src 'none'``) applies
unchanged. The list of API operations is read from the served OpenAPI document, so it never
drifts from the routes.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aiohttp import web

from moderation.web.openapi import build_spec

_METHODS = ("get", "post", "put", "delete")

_PAGE = """<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Moderation service</title>
</head>
<body>
<h1>Moderation service · Dịch vụ kiểm duyệt bình luận</h1>
<ul>
<li><a href="/moderate">Trang kiểm duyệt · Moderator page</a> (sign in with a moderator token)</li>
<li><a href="/openapi.json">API schema (OpenAPI 3.1, JSON)</a></li>
<li><a href="/healthz">/healthz</a> · <a href="/readyz">/readyz</a> · <a href="/metrics">/metrics</a></li>
</ul>
<p>Documentation: README.md in the source tree (quick start, API, rules and settings,
operations, guarantees) and docs/ARCHITECTURE.md (how the code is laid out).</p>
<h2>API</h2>
<ul>
{operations}
</ul>
</body>
</html>
"""


def render(spec: dict[str, Any]) -> str:
    items = []
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            summary = operation.get("summary")
            line = f"<code>{method.upper()} {escape(path)}</code>"
            items.append(f"<li>{line} — {escape(summary)}</li>" if summary else f"<li>{line}</li>")
    return _PAGE.format(operations="\n".join(items))


async def index(request: web.Request) -> web.Response:
    return web.Response(text=render(build_spec()), content_type="text/html", charset="utf-8")
