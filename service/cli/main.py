"""The ``moderation`` command: serve, manage sites and moderators, train and evaluate."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from service.core.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def _run(coro_factory: Callable[[Any], Awaitable[int]], settings: Settings) -> int:
    from service.web.app import make_redis

    async def main() -> int:
        redis = make_redis(settings)
        try:
            return await coro_factory(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def _print(doc: object) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def cmd_sites_add(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import auth

    if not auth.SITE_ID_RE.match(args.site_id):
        print("site id must be 1-63 characters of a-z, 0-9, '-' or '_'", file=sys.stderr)
        return 2

    async def go(redis: Any) -> int:
        from service.store.comments import Store

        try:
            api_key = await auth.create_site(redis, args.site_id, args.name or args.site_id, int(time.time() * 1000))
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        await Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds).ensure_group(args.site_id)
        token = await auth.add_moderator(redis, [args.site_id], args.moderator)
        _print({"site_id": args.site_id, "api_key": api_key, "moderator": args.moderator, "moderator_token": token})
        return 0

    return _run(go, settings)


def cmd_sites_list(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import auth

    async def go(redis: Any) -> int:
        _print(await auth.list_sites(redis))
        return 0

    return _run(go, settings)


def cmd_sites_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import auth

    async def go(redis: Any) -> int:
        try:
            api_key = await auth.rotate_site_key(redis, args.site_id)
        except LookupError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        _print({"site_id": args.site_id, "api_key": api_key})
        return 0

    return _run(go, settings)


def cmd_sites_set(args: argparse.Namespace, settings: Settings) -> int:
    """Change moderation settings: ``sites set SITE key=value ...`` (no pairs: print them)."""
    from service.core.errors import ProblemError
    from service.moderation import sitesettings
    from service.moderation.rules import Rules, settings_view
    from service.store.comments import Store

    update: dict[str, Any] = {}
    for pair in args.pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            print(f"expected key=value, got {pair!r}", file=sys.stderr)
            return 2
        try:
            update[name] = sitesettings.parse_cli_value(name, raw)
        except ValueError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2

    async def go(redis: Any) -> int:
        rules = Rules(Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds))
        try:
            version, current = await rules.current(args.site_id)
            if not update:
                _print(settings_view(args.site_id, version, current))
                return 0
            # Based on the version just read: a concurrent edit makes this fail, not vanish.
            _print(await rules.update(args.site_id, {**update, "version": version}))
        except ProblemError as exc:
            for error in exc.errors or ():
                print(f"{error.field}: {error.message}", file=sys.stderr)
            if not exc.errors:
                print(exc.detail, file=sys.stderr)
            return 1
        return 0

    return _run(go, settings)


def cmd_moderators_add(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import auth

    sites = [s for s in args.site_id.split(",") if s]

    async def go(redis: Any) -> int:
        try:
            token = await auth.add_moderator(redis, sites, args.name)
        except LookupError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        _print({"sites": sites, "moderator": args.name, "moderator_token": token})
        return 0

    return _run(go, settings)


def cmd_moderators_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from service.store import auth

    async def go(redis: Any) -> int:
        ok = await auth.revoke_moderator(redis, args.site_id, args.name)
        _print({"revoked": ok})
        return 0 if ok else 1

    return _run(go, settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Create the demo site once and keep its keys in a git-ignored file."""
    from service.store import auth, keys

    path = Path(args.keys_file)
    have_file = path.exists()
    minted: dict[str, str] = {}

    async def go(redis: Any) -> int:
        from service.store.comments import Store

        exists = bool(await redis.exists(keys.site_meta(args.site_id)))
        if have_file and exists:
            return 0
        if exists:  # keys file lost: the old key is unknown, so mint a new one
            api_key = await auth.rotate_site_key(redis, args.site_id)
        else:
            api_key = await auth.create_site(redis, args.site_id, "Demo news site", int(time.time() * 1000))
        await Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds).ensure_group(args.site_id)
        token = await auth.add_moderator(redis, [args.site_id], "demo-moderator")
        minted.update(site_id=args.site_id, api_key=api_key, moderator_token=token)
        return 0

    code = _run(go, settings)
    if code == 0 and minted:
        path.write_text(json.dumps(minted, indent=2) + "\n")
        os.chmod(path, 0o600)
    return code


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    settings = replace(
        settings,
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        workers=args.workers or settings.workers,
    )
    from service.web.server import serve

    return serve(settings)


def cmd_sites_webhook(args: argparse.Namespace, settings: Settings) -> int:
    from service.moderation import webhooks

    async def go(redis: Any) -> int:
        if args.disable:
            _print({"site_id": args.site_id, "webhook": None, "disabled": await webhooks.disable(redis, args.site_id)})
            return 0
        try:
            secret = await webhooks.configure(
                redis, args.site_id, args.url, allow_private=settings.webhook_allow_private
            )
        except (LookupError, ValueError) as exc:
            print(str(exc), file=sys.stderr)
            return 1
        _print({"site_id": args.site_id, "webhook_url": args.url, "webhook_secret": secret})
        return 0

    if not args.disable and not args.url:
        print("give --url URL or --disable", file=sys.stderr)
        return 2
    return _run(go, settings)


def cmd_sites_coral(args: argparse.Namespace, settings: Settings) -> int:
    from service.web import coral

    secret = sys.stdin.readline().strip() if args.secret_stdin else None

    async def go(redis: Any) -> int:
        try:
            stored = await coral.configure(redis, args.site_id, secret)
        except LookupError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        doc = {"site_id": args.site_id, "phase_url": f"/v1/integrations/coral/{args.site_id}"}
        _print(doc if secret else {**doc, "coral_secret": stored})
        return 0

    return _run(go, settings)


def cmd_webhooks_dead(args: argparse.Namespace, settings: Settings) -> int:
    from service.moderation import webhooks

    async def go(redis: Any) -> int:
        dead = await webhooks.Outbox(redis).dead_letters(args.site, args.limit)
        _print([{"event_id": e.event_id, "attempts": e.attempts, "last_error": e.last_error} for e in dead])
        return 0

    return _run(go, settings)


def cmd_webhooks_redeliver(args: argparse.Namespace, settings: Settings) -> int:
    from service.moderation import webhooks

    async def go(redis: Any) -> int:
        moved = await webhooks.Outbox(redis).redeliver(args.site, args.id or None)
        _print({"site": args.site, "requeued": moved})
        return 0

    return _run(go, settings)


def build_parser(*, with_training: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moderation", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, help="processes sharing the port")
    serve.set_defaults(func=cmd_serve)

    sites = sub.add_parser("sites", help="manage sites").add_subparsers(dest="sites_command", required=True)
    add = sites.add_parser("add", help="create a site; prints its API key and a first moderator token")
    add.add_argument("site_id")
    add.add_argument("--name")
    add.add_argument("--moderator", default="admin", help="name of the first moderator")
    add.set_defaults(func=cmd_sites_add)
    sites.add_parser("list", help="list sites").set_defaults(func=cmd_sites_list)
    rotate = sites.add_parser("rotate-key", help="replace a site's API key; the old one stops working")
    rotate.add_argument("site_id")
    rotate.set_defaults(func=cmd_sites_rotate)
    sset = sites.add_parser(
        "set",
        help="change moderation settings, e.g. mode=first max_links=3 disallowed_words='nhà cái,casino' "
        "(lists comma-separated; key=default resets); without pairs, print the settings",
    )
    sset.add_argument("site_id")
    sset.add_argument("pairs", nargs="*", metavar="key=value")
    sset.set_defaults(func=cmd_sites_set)
    hook = sites.add_parser("webhook", help="set the site's webhook URL; prints a new signing secret (shown once)")
    hook.add_argument("site_id")
    hook.add_argument("--url")
    hook.add_argument("--disable", action="store_true", help="stop sending events")
    hook.set_defaults(func=cmd_sites_webhook)
    coral = sites.add_parser("coral", help="store the Coral phase signing secret (or generate one and print it)")
    coral.add_argument("site_id")
    coral.add_argument("--secret-stdin", action="store_true", help="read Coral's secret from stdin")
    coral.set_defaults(func=cmd_sites_coral)

    hooks = sub.add_parser("webhooks", help="webhook dead letters").add_subparsers(
        dest="webhooks_command", required=True
    )
    dead = hooks.add_parser("dead", help="list events given up on")
    dead.add_argument("--site", required=True)
    dead.add_argument("--limit", type=int, default=100)
    dead.set_defaults(func=cmd_webhooks_dead)
    redeliver = hooks.add_parser("redeliver", help="send dead letters again (all, or --id ...)")
    redeliver.add_argument("--site", required=True)
    redeliver.add_argument("--id", action="append", help="an event id; repeatable")
    redeliver.set_defaults(func=cmd_webhooks_redeliver)

    mods = sub.add_parser("moderators", help="manage moderators").add_subparsers(
        dest="moderators_command", required=True
    )
    madd = mods.add_parser("add", help="mint a token for one more moderator")
    madd.add_argument("site_id", help="a site id, or several separated by commas")
    madd.add_argument("name")
    madd.set_defaults(func=cmd_moderators_add)
    mrev = mods.add_parser("revoke", help="revoke a moderator's token")
    mrev.add_argument("site_id")
    mrev.add_argument("name")
    mrev.set_defaults(func=cmd_moderators_revoke)

    demo = sub.add_parser("demo", help="create the demo site for `make run` if it does not exist")
    demo.add_argument("--site-id", default="demo")
    demo.add_argument("--keys-file", default="demo-keys.json")
    demo.set_defaults(func=cmd_demo)

    from service.cli import retention

    retention.add_subcommands(sub)

    if with_training:
        from service.cli import feedback

        feedback.add_subcommands(sub)
        try:
            from models import training
        except ImportError:  # pragma: no cover - training extras missing
            pass
        else:
            training.add_subcommands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The training commands import scikit-learn (1-2 s); `serve` must not wait for that
    # before it even starts its workers, and the serving process never loads training code.
    args = build_parser(with_training=argv[:1] != ["serve"]).parse_args(argv)
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
    )
    func: Command = args.func
    return func(args, settings)
