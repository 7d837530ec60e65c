"""The bare-aiohttp reference: the ceiling for any aiohttp service on this machine.

Same stack as the service (aiohttp, uvloop, msgspec, N processes sharing the port with
SO_REUSEPORT, access log off) and the same requests, but the handler only decodes the
body and returns a constant reply. ``make bench`` measures it in the same run as the
service, so the ratio between the two does not depend on how fast or busy the box is.

    python -m bench.reference --port 8090 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import signal
import sys

import msgspec
from aiohttp import web

REPLY = b'{"id":"0","status":"approved","spam_score":0.0}'


async def submit(request: web.Request) -> web.Response:
    doc = msgspec.json.decode(await request.read())
    if not isinstance(doc, dict):
        raise web.HTTPBadRequest()
    return web.Response(body=REPLY, status=202, content_type="application/json")


async def ready(request: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ready"}', content_type="application/json")


def run_worker(host: str, port: int) -> None:
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    app = web.Application()
    app.router.add_post("/v1/comments", submit)
    app.router.add_get("/readyz", ready)
    web.run_app(app, host=host, port=port, reuse_port=True, access_log=None, print=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=run_worker, args=(args.host, args.port)) for _ in range(max(1, args.workers))]
    for proc in procs:
        proc.start()

    def forward(signum: int, _frame: object) -> None:
        for proc in procs:
            if proc.pid is not None and proc.is_alive():
                os.kill(proc.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for proc in procs:
        proc.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
