"""The moderation command: serve, manage sites and moderators, train and evaluate."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from moderation.core.logs import setup_logging
from moderation.core.settings import Settings, redis_db_message, redis_where

Command = Callable[[argparse.Namespace, Settings], int]


class OperatorError(Exception):
    """A mistake the operator can fix (bad argument, unknown site): one line, exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _run(coro_factory: Callable[[Any], Awaitable[int]], settings: Settings) -> int:
    from moderation.web.app import make_redis

    async def main() -> int:
        redis = make_redis(settings)
        try:
            return await coro_factory(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def _print(doc: object) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


async def _share_reputation(store: Any, settings: Settings, site: str) -> None:
    """A new site takes the reputation the sharing sites already hold (it shares by default)."""
    from moderation.moderation.reputation import Reputation

    await Reputation.from_settings(store, settings).site_added(site)


def cmd_sites_add(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.store import auth

    if not auth.SITE_ID_RE.match(args.site_id):
        raise OperatorError("site id must be 1-63 characters of a-z, 0-9, '-' or '_'", 2)

    async def go(redis: Any) -> int:
        from moderation.store import keys
        from moderation.store.comments import Store

        if args.if_missing and await redis.exists(keys.site_meta(args.site_id)):
            # A container's every start runs this; the keys were printed on the first one.
            print(f"moderation: site {args.site_id!r} exists; its keys were printed when it was created "
                  f"(moderation sites rotate-key {args.site_id} mints a new API key)", file=sys.stderr)
            return 0
        try:
            api_key = await auth.create_site(redis, args.site_id, args.name or args.site_id, int(time.time() * 1000))
        except ValueError as exc:
            raise OperatorError(str(exc)) from exc
        store = Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds)
        await store.ensure_group(args.site_id)
        await _share_reputation(store, settings, args.site_id)
        token = await auth.add_moderator(redis, [args.site_id], args.moderator)
        # For Akismet clients that put the key in the host name (and WordPress's key form).
        akismet_key = await auth.rotate_akismet_key(redis, args.site_id)
        _print({"site_id": args.site_id, "api_key": api_key, "akismet_key": akismet_key,
                "moderator": args.moderator, "moderator_token": token})
        return 0

    return _run(go, settings)


def cmd_sites_list(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.store import auth

    async def go(redis: Any) -> int:
        _print(await auth.list_sites(redis))
        return 0

    return _run(go, settings)


def cmd_sites_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.store import auth

    async def go(redis: Any) -> int:
        try:
            if args.akismet:
                _print({"site_id": args.site_id, "akismet_key": await auth.rotate_akismet_key(redis, args.site_id)})
            else:
                _print({"site_id": args.site_id, "api_key": await auth.rotate_site_key(redis, args.site_id)})
        except LookupError as exc:
            raise OperatorError(str(exc)) from exc
        return 0

    return _run(go, settings)


def cmd_sites_set(args: argparse.Namespace, settings: Settings) -> int:
    """Change moderation settings: ``sites set SITE key=value ...`` (no pairs: print them)."""
    from moderation.core.errors import ProblemError
    from moderation.moderation import sitesettings
    from moderation.moderation.reputation import Reputation
    from moderation.moderation.rules import Rules, settings_view
    from moderation.store.comments import Store

    update: dict[str, Any] = {}
    for pair in args.pairs:
        name, sep, raw = pair.partition("=")
        if not sep:
            raise OperatorError(f"expected key=value, got {pair!r}", 2)
        try:
            update[name] = sitesettings.parse_cli_value(name, raw)
        except ValueError as exc:
            raise OperatorError(f"{name}: {exc}", 2) from exc

    async def go(redis: Any) -> int:
        store = Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds)
        # A reputation_sharing change gives or takes back the site's decisions at once.
        rules = Rules(store, Reputation.from_settings(store, settings))
        try:
            version, current = await rules.current(args.site_id)
            if not update:
                _print(settings_view(args.site_id, version, current))
                return 0
            # Based on the version just read: a concurrent edit makes this fail, not vanish.
            _print(await rules.update(args.site_id, {**update, "version": version}))
        except ProblemError as exc:
            if exc.errors:
                raise OperatorError("; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from exc
            raise OperatorError(exc.detail) from exc
        return 0

    return _run(go, settings)


def cmd_moderators_add(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.store import auth

    sites = [s for s in args.site_id.split(",") if s]

    async def go(redis: Any) -> int:
        try:
            token = await auth.add_moderator(redis, sites, args.name)
        except LookupError as exc:
            raise OperatorError(str(exc)) from exc
        _print({"sites": sites, "moderator": args.name, "moderator_token": token})
        return 0

    return _run(go, settings)


def cmd_moderators_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.store import auth

    async def go(redis: Any) -> int:
        ok = await auth.revoke_moderator(redis, args.site_id, args.name)
        _print({"revoked": ok})
        return 0 if ok else 1

    return _run(go, settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Create the demo site once and keep its keys in a git-ignored file."""
    import tempfile

    from moderation.store import auth, keys

    path = Path(args.keys_file)
    have_file = path.exists()
    minted: dict[str, str] = {}
    # Keys are minted in Redis before they can be written: make sure they can be written
    # first (a temporary file beside the target, renamed over it at the end), or a rotated
    # demo key would be lost with the old one already dead.
    try:
        fd, staged_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    except OSError as exc:
        raise OperatorError(f"cannot write the keys file {path}: {exc.strerror or exc}") from None
    staged = Path(staged_name)

    async def go(redis: Any) -> int:
        from moderation.store.comments import Store

        exists = bool(await redis.exists(keys.site_meta(args.site_id)))
        if have_file and exists:
            return 0
        if exists:  # keys file lost: the old key is unknown, so mint a new one
            api_key = await auth.rotate_site_key(redis, args.site_id)
        else:
            api_key = await auth.create_site(redis, args.site_id, "Demo news site", int(time.time() * 1000))
        store = Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds)
        await store.ensure_group(args.site_id)
        if not exists:
            await _share_reputation(store, settings, args.site_id)
        token = await auth.add_moderator(redis, [args.site_id], "demo-moderator")
        minted.update(site_id=args.site_id, api_key=api_key, moderator_token=token)
        return 0

    try:
        with os.fdopen(fd, "w") as fh:  # mkstemp made it 0600
            code = _run(go, settings)
            if code == 0 and minted:
                fh.write(json.dumps(minted, indent=2) + "\n")
        if code == 0 and minted:
            staged.replace(path)
    finally:
        staged.unlink(missing_ok=True)
    return code


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    settings = replace(
        settings,
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        workers=args.workers or settings.workers,
    )
    from moderation.web.server import CannotServe, serve

    try:
        return serve(settings)
    except CannotServe as exc:
        raise OperatorError(str(exc), exc.code) from exc


def cmd_sites_webhook(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.core.errors import ValidationFailed
    from moderation.moderation import webhooks

    async def go(redis: Any) -> int:
        if args.disable:
            _print({"site_id": args.site_id, "webhook": None, "disabled": await webhooks.disable(redis, args.site_id)})
            return 0
        try:
            secret = await webhooks.configure(
                redis, args.site_id, args.url, allow_private=settings.webhook_allow_private
            )
        except LookupError as exc:
            raise OperatorError(str(exc)) from exc
        except ValidationFailed as exc:
            raise OperatorError("; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from exc
        _print({"site_id": args.site_id, "webhook_url": args.url, "webhook_secret": secret})
        return 0

    if not args.disable and not args.url:
        raise OperatorError("give --url URL or --disable", 2)
    return _run(go, settings)


def cmd_sites_coral(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.web import coral

    secret = sys.stdin.readline().strip() if args.secret_stdin else None
    if args.secret_stdin and not secret:
        # An empty line (an unset shell variable) must not silently become a generated secret.
        raise OperatorError("no secret on standard input (--secret-stdin): nothing was changed", 2)

    async def go(redis: Any) -> int:
        try:
            stored = await coral.configure(redis, args.site_id, secret)
        except LookupError as exc:
            raise OperatorError(str(exc)) from exc
        doc = {"site_id": args.site_id, "phase_url": f"/v1/integrations/coral/{args.site_id}"}
        _print(doc if secret else {**doc, "coral_secret": stored})
        return 0

    return _run(go, settings)


def cmd_webhooks_dead(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.moderation import webhooks

    async def go(redis: Any) -> int:
        dead = await webhooks.Outbox(redis).dead_letters(args.site, args.limit)
        _print([{"event_id": e.event_id, "attempts": e.attempts, "last_error": e.last_error} for e in dead])
        return 0

    return _run(go, settings)


def cmd_webhooks_redeliver(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.moderation import webhooks

    async def go(redis: Any) -> int:
        moved = await webhooks.Outbox(redis).redeliver(args.site, args.id or None)
        _print({"site": args.site, "requeued": moved})
        return 0

    return _run(go, settings)


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions but keeps example lines as written; ends each option's help with its default."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith("  ") or not line.strip():
                lines.append(indent + line)
            else:
                lines.append(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent))
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help
        if (
            text
            and "%(default)" not in text
            and action.option_strings
            and action.default not in (None, False, argparse.SUPPRESS)
        ):
            text += " (default: %(default)s)"
        return text


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [
        sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for sub in action.choices.values()
    ]


def _use_formatter(parser: argparse.ArgumentParser) -> None:
    """The formatter above for every (sub)command, including those other modules register."""
    parser.formatter_class = HelpFormatter
    for sub in _subparsers(parser):
        _use_formatter(sub)


def command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, description: str,
    *examples: str,
) -> argparse.ArgumentParser:
    """A subcommand with a one-line summary (in its parent's list) and a description with examples."""
    lines = "\n".join(f"  {example}" for example in examples)
    return sub.add_parser(name, help=summary, description=description, epilog=f"example:\n{lines}")


DESCRIPTION = (
    "The moderation service's command line: serve the HTTP API, manage sites, moderators and "
    "webhooks, and train, evaluate and retrain the models. Commands that read or write sites talk "
    "to Redis directly (REDIS_URL, default redis://127.0.0.1:6379/0)."
)

EPILOG = """\
examples:
  moderation serve --workers 2
  moderation sites add baotinh --name "Báo Tỉnh"
  moderation sites set baotinh mode=first max_links=3
  moderation COMMAND --help      describes one command, with an example"""


def build_parser(*, with_training: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moderation", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = command(
        sub, "serve", "run the HTTP service",
        "Serve the API and the moderator page. Listen settings default to MODERATION_HOST, "
        "MODERATION_PORT and MODERATION_WORKERS; SIGTERM or Ctrl-C finishes in-flight requests and "
        "stops, SIGHUP reloads the models.",
        "moderation serve --host 0.0.0.0 --port 8080 --workers 2",
    )
    serve.add_argument("--host", help="address to listen on (default: MODERATION_HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: MODERATION_PORT, else 8080)")
    serve.add_argument("--workers", type=int, help="processes sharing the port (default: MODERATION_WORKERS, else 1)")
    serve.set_defaults(func=cmd_serve)

    sites = sub.add_parser("sites", help="manage sites: add, list, rotate-key, set, webhook, coral",
                           description="Manage sites.").add_subparsers(
        dest="sites_command", required=True, metavar="SUBCOMMAND"
    )
    add = command(
        sites, "add", "create a site; prints its API key and a first moderator token",
        "Create a site. Prints its API key and a first moderator's token as JSON; both are shown "
        "only this once (Redis keeps their SHA-256 digests).",
        'moderation sites add baotinh --name "Báo Tỉnh" --moderator hoa',
    )
    add.add_argument("site_id", help="1-63 characters of a-z, 0-9, '-' or '_'")
    add.add_argument("--name", help="display name (default: the site id)")
    add.add_argument("--moderator", default="admin", help="name of the first moderator")
    add.add_argument("--if-missing", action="store_true",
                     help="do nothing (exit 0) when the site exists, instead of failing: for a start-up script")
    add.set_defaults(func=cmd_sites_add)
    command(
        sites, "list", "list sites", "Print every site with its name and creation time as JSON.",
        "moderation sites list",
    ).set_defaults(func=cmd_sites_list)
    rotate = command(
        sites, "rotate-key", "replace a site's API key; the old one stops working",
        "Mint a new API key for a site and print it. The old key fails on its very next request.",
        "moderation sites rotate-key baotinh",
    )
    rotate.add_argument("site_id", help="the site whose key to replace")
    rotate.add_argument(
        "--akismet", action="store_true",
        help="replace (or mint) the Akismet-style key instead: 12 hex digits, the form WordPress's Akismet "
        "plugin accepts (also usable as <key>.<host>); a 48-digit key minted before stops working",
    )
    rotate.set_defaults(func=cmd_sites_rotate)
    sset = command(
        sites, "set", "change moderation settings (without pairs, print them)",
        "Change a site's moderation settings, based on the version just read (a concurrent edit "
        "makes this fail rather than vanish). Lists are comma-separated or a JSON array, booleans "
        "on/off, and key=default resets a setting. Without pairs, print the effective settings.",
        "moderation sites set baotinh mode=first max_links=3 disallowed_words='nhà cái,casino'",
        "moderation sites set baotinh shadow_mode=default",
        "moderation sites set baotinh",
    )
    sset.add_argument("site_id", help="the site to change or show")
    sset.add_argument("pairs", nargs="*", metavar="key=value", help="settings to change (see the README's table)")
    sset.set_defaults(func=cmd_sites_set)
    hook = command(
        sites, "webhook", "set the site's webhook URL; prints a new signing secret (shown once)",
        "Send every final decision to the site's URL, signed with a new secret (printed once), "
        "or stop sending with --disable.",
        "moderation sites webhook baotinh --url https://baotinh.vn/wp-json/moderation/v1/events",
        "moderation sites webhook baotinh --disable",
    )
    hook.add_argument("site_id", help="the site to configure")
    hook.add_argument("--url", help="the https URL that receives the events")
    hook.add_argument("--disable", action="store_true", help="stop sending events")
    hook.set_defaults(func=cmd_sites_webhook)
    coral = command(
        sites, "coral", "store the Coral phase signing secret (or generate one and print it)",
        "Store the signing secret of the site's Coral Talk external moderation phase, read from "
        "standard input, or generate one, print it and store it.",
        'echo "$CORAL_SIGNING_SECRET" | moderation sites coral baotinh --secret-stdin',
        "moderation sites coral baotinh",
    )
    coral.add_argument("site_id", help="the site to configure")
    coral.add_argument("--secret-stdin", action="store_true", help="read Coral's secret from standard input")
    coral.set_defaults(func=cmd_sites_coral)

    hooks = sub.add_parser("webhooks", help="webhook dead letters: dead, redeliver",
                           description="Webhook events given up on.").add_subparsers(
        dest="webhooks_command", required=True, metavar="SUBCOMMAND"
    )
    dead = command(
        hooks, "dead", "list events given up on",
        "List a site's webhook events that ran out of attempts, with the last error of each.",
        "moderation webhooks dead --site baotinh",
    )
    dead.add_argument("--site", required=True, help="the site whose dead letters to list")
    dead.add_argument("--limit", type=int, default=100, help="at most this many events")
    dead.set_defaults(func=cmd_webhooks_dead)
    redeliver = command(
        hooks, "redeliver", "send dead letters again (all, or --id ...)",
        "Queue a site's dead letters for delivery again: all of them, or the ones named with --id.",
        "moderation webhooks redeliver --site baotinh",
        "moderation webhooks redeliver --site baotinh --id evt_5f0c --id evt_77aa",
    )
    redeliver.add_argument("--site", required=True, help="the site whose dead letters to send")
    redeliver.add_argument("--id", action="append", help="an event id; repeatable (default: every dead letter)")
    redeliver.set_defaults(func=cmd_webhooks_redeliver)

    mods = sub.add_parser("moderators", help="manage moderators: add, revoke",
                          description="Manage moderators.").add_subparsers(
        dest="moderators_command", required=True, metavar="SUBCOMMAND"
    )
    madd = command(
        mods, "add", "mint a token for one more moderator",
        "Mint a moderator token (printed once) with access to one or more sites.",
        "moderation moderators add baotinh hoa",
        "moderation moderators add baotinh,baohuyen hoa",
    )
    madd.add_argument("site_id", help="a site id, or several separated by commas")
    madd.add_argument("name", help="the moderator's name, recorded with each decision")
    madd.set_defaults(func=cmd_moderators_add)
    mrev = command(
        mods, "revoke", "revoke a moderator's token",
        "Revoke a moderator's token for a site; their page sessions end on the next request. "
        "Exits 1 when there was no such moderator.",
        "moderation moderators revoke baotinh hoa",
    )
    mrev.add_argument("site_id", help="the site")
    mrev.add_argument("name", help="the moderator's name")
    mrev.set_defaults(func=cmd_moderators_revoke)

    demo = command(
        sub, "demo", "create the demo site for make run if it does not exist",
        "Create the demo site once and write its API key and a moderator token to a file (mode "
        "0600). Does nothing when the site and the file both exist; mints new keys when the file "
        "was lost.",
        "moderation demo --keys-file demo-keys.json",
    )
    demo.add_argument("--site-id", default="demo", help="the demo site's id")
    demo.add_argument("--keys-file", default="demo-keys.json", help="where to write the keys")
    demo.set_defaults(func=cmd_demo)

    from moderation.cli import retention

    retention.add_subcommands(sub)

    if with_training:
        from moderation.cli import feedback

        feedback.add_subcommands(sub)
        try:
            from moderation.models import training
        except ModuleNotFoundError as exc:
            if not needs_train_extra(exc):
                raise
            _training_unavailable(sub)
        else:
            training.add_subcommands(sub)
            _describe_training(sub)
    _describe(parser)
    _use_formatter(parser)
    return parser


# Descriptions and examples of commands other modules register (path -> description, examples).
_MORE_DESCRIPTIONS: dict[tuple[str, ...], tuple[str, tuple[str, ...]]] = {
    ("forget",): (
        "Erase one author's comments, webhook events, labels, block-list entries and rule records "
        "from a site (and the site's archive), as POST /v1/authors/forget does, and record who "
        "asked in the erasure audit log. Refused (exit 1, nothing erased) when the site keeps an "
        "archive and no archive folder is given.",
        ("moderation forget --site baotinh --email lan@example.vn --by hoa",),
    ),
    ("archive", "list"): (
        "List a site's archive files of expired comments, one per UTC day of decision.",
        ("moderation archive list --site baotinh --from 2026-11-01",),
    ),
    ("archive", "export"): (
        "Write a site's archived comment records as JSON Lines, optionally for a range of days.",
        ("moderation archive export --site baotinh --from 2026-11-01 --to 2026-11-30 --out nov.jsonl",),
    ),
    ("archive", "detach"): (
        "Say a site's archive is gone on purpose: once a site's comments were archived, sweeps and "
        "erasure refuse to run without the archive folder; after this they run without one.",
        ("moderation archive detach --site baotinh",),
    ),
    ("retention", "sweep"): (
        "Run one retention sweep now: expired decided comments are archived (when an archive is "
        "configured) and deleted. The workers run one every few seconds anyway. A site that keeps "
        "an archive is not swept without the archive folder (exit 1).",
        ("moderation retention sweep --site baotinh",),
    ),
    ("retention", "parked"): (
        "List the comments a sweep set aside because it could not read or archive them, with the "
        "reason; each is tried again an hour later, and goes once its record is fixed.",
        ("moderation retention parked --site baotinh",),
    ),
    ("retention", "backfill"): (
        "Once after upgrading: index the comments stored before retention existed so sweeps reach "
        "them, and compact old labels.",
        ("moderation retention backfill --site baotinh",),
    ),
    ("retention", "audit"): (
        "Print a site's erasure log: who asked, when, and how many records were erased.",
        ("moderation retention audit --site baotinh --count 20",),
    ),
}


def _describe(parser: argparse.ArgumentParser) -> None:
    """Apply _MORE_DESCRIPTIONS to the commands registered by other modules."""
    for path, (description, examples) in _MORE_DESCRIPTIONS.items():
        node: argparse.ArgumentParser | None = parser
        for name in path:
            node = next((sub for action in node._actions if isinstance(action, argparse._SubParsersAction)
                         for key, sub in action.choices.items() if key == name), None) if node else None
        if node is not None and node.description is None:
            node.description = description
            node.epilog = "example:\n" + "\n".join(f"  {example}" for example in examples)


# What training and plotting import and a serving install (without the train extra) lacks.
TRAINING_LIBRARIES = frozenset({"sklearn", "matplotlib", "tqdm", "joblib", "threadpoolctl"})
TRAIN_EXTRA_MESSAGE = "this command trains models and needs the train extra: pip install 'moderation[train]'"


def needs_train_extra(exc: BaseException) -> bool:
    """True for the import error of a library only the ``train`` extra installs."""
    return isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in TRAINING_LIBRARIES


def _train_extra_missing(args: argparse.Namespace, settings: Settings) -> int:
    print(f"moderation: {TRAIN_EXTRA_MESSAGE}", file=sys.stderr)
    return 1


def _training_unavailable(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``train`` and ``evaluate`` without the train extra: one line saying what to install
    (whatever the arguments, so no prefix characters: every argument is taken as is)."""
    for name in ("train", "evaluate"):
        stub = sub.add_parser(name, help=f"{name} a model (needs: pip install 'moderation[train]')",
                              prefix_chars="\0", add_help=False)
        stub.add_argument("arguments", nargs="*")
        stub.set_defaults(func=_train_extra_missing)


def _describe_training(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Descriptions and examples for the commands models/training.py registers."""
    texts = {
        "train": (
            "Train a spam or toxicity model from labelled CSV files and write its artifact folder "
            "(weights pinned by SHA-256, a manifest with data hashes, library versions and metrics). "
            "Seeded: the same data and seed give the same artifact.",
            "moderation train --task spam --data labels.csv --text-column text --label-column label "
            "--positive-label spam --out models/spam-new",
        ),
        "evaluate": (
            "Print a model's metrics on a labelled CSV as JSON (macro-F1, PR-AUC, recall and false "
            "positives at the thresholds), with PNG plots when --report names a folder.",
            "moderation evaluate --model models/spam --data test.csv --text-column text "
            "--label-column label --report reports/spam",
        ),
    }
    for name, (description, example) in texts.items():
        if name in sub.choices:
            sub.choices[name].description = description
            sub.choices[name].epilog = f"example:\n  {example}"


def _operator_message(exc: BaseException, settings: Settings) -> str | None:
    """The one line an operator needs for an error they can fix; None for a bug (traceback)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import ResponseError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from moderation.scoring.artifacts import ModelError

    if isinstance(exc, OperatorError):
        return str(exc)
    if needs_train_extra(exc):  # `retrain` imports the training code only when it runs
        return TRAIN_EXTRA_MESSAGE
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        password = urlsplit(settings.redis_url).password
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if password:
            reason = reason.replace(password, "***")
        return f"cannot reach Redis at {redis_where(settings.redis_url)} (REDIS_URL): {reason}"
    if isinstance(exc, ResponseError) and str(exc).startswith("DB index is out of range"):
        return redis_db_message(settings.redis_url)
    if isinstance(exc, ModelError):
        return f"cannot load the model: {exc}"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.strerror or type(exc).__name__}: {exc.filename}"
    return None


# Commands that never need the training code (scikit-learn, matplotlib: 1-3 s to import).
LIGHT_COMMANDS = frozenset({"serve", "sites", "moderators", "webhooks", "demo", "forget", "archive", "retention"})


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The training commands import scikit-learn; `serve` must not wait for that before it even
    # starts its workers (and the serving process never loads training code), nor should a
    # quick `sites list`. Help without a command lists every command, so it loads them.
    args = build_parser(with_training=not (argv[:1] and argv[0] in LIGHT_COMMANDS)).parse_args(argv)
    settings = Settings.from_env()
    setup_logging(settings.log_level, settings.log_format)
    func: Command = args.func
    try:
        return func(args, settings)
    except Exception as exc:  # mapped to one line when the operator can fix it, else re-raised
        message = _operator_message(exc, settings)
        if message is None:
            raise
        print(f"moderation: {message}", file=sys.stderr)
        return exc.code if isinstance(exc, OperatorError) else 1
