"""``moderation forget``, ``moderation archive`` and ``moderation retention``: the operator's
side of retention, the archive and erasure (service/moderation/retention.py)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

from redis.asyncio import Redis

from moderation.core.settings import Settings
from moderation.moderation.archive import Archive
from moderation.moderation.reputation import Reputation
from moderation.moderation.retention import ArchiveRequired, Retention
from moderation.store.comments import Store


def _redis_run(settings: Settings, fn: Callable[[Retention], Awaitable[int]], archive: Archive | None) -> int:
    from moderation.web.app import make_redis

    async def main() -> int:
        redis: Redis = make_redis(settings)
        try:
            store = Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds)
            return await fn(Retention(store, archive, reputation=Reputation.from_settings(store, settings)))
        finally:
            await redis.aclose()

    return asyncio.run(main())


def _archive(args: argparse.Namespace, settings: Settings, *, required: bool) -> Archive | None:
    directory = Path(args.archive_dir) if getattr(args, "archive_dir", None) else settings.archive_dir
    if directory is None:
        if required:
            raise SystemExit("no archive: set MODERATION_ARCHIVE_DIR (or pass --archive-dir)")
        return None
    return Archive(directory)


def _print(doc: object) -> None:
    print(json.dumps(doc, ensure_ascii=False, indent=2))


def cmd_forget(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.core.errors import ValidationFailed
    from moderation.core.schemas import parse_forget

    try:
        email = parse_forget({"author_email": args.email})
    except ValidationFailed as exc:
        print("; ".join(e.message for e in exc.errors), file=sys.stderr)
        return 2

    async def go(retention: Retention) -> int:
        if not await retention.store.site_exists(args.site):
            print(f"no site {args.site!r}", file=sys.stderr)
            return 1
        try:
            _print(await retention.forget(args.site, email, by=f"operator:{args.by or _os_user()}"))
        except ArchiveRequired as exc:
            print(f"moderation: {exc.detail}", file=sys.stderr)
            return 1
        return 0

    return _redis_run(settings, go, _archive(args, settings, required=False))


def cmd_archive_list(args: argparse.Namespace, settings: Settings) -> int:
    archive = _archive(args, settings, required=True)
    assert archive is not None
    files = archive.files(args.site, args.start, args.end)
    _print([{"day": f.day.isoformat(), "path": str(f.path), "bytes": f.size} for f in files])
    return 0


def cmd_archive_export(args: argparse.Namespace, settings: Settings) -> int:
    archive = _archive(args, settings, required=True)
    assert archive is not None
    out = sys.stdout.buffer if args.out == "-" else Path(args.out).open("wb")
    lines = 0
    try:
        for line in archive.export(args.site, args.start, args.end):
            out.write(line)
            lines += 1
    finally:
        if out is not sys.stdout.buffer:
            out.close()
    print(json.dumps({"site": args.site, "records": lines, "out": args.out}), file=sys.stderr)
    return 0


def cmd_sweep(args: argparse.Namespace, settings: Settings) -> int:
    async def go(retention: Retention) -> int:
        if args.site:
            try:
                report = await retention.sweep_site(args.site)
            except ArchiveRequired as exc:
                print(f"moderation: {exc.detail}", file=sys.stderr)
                return 1
            _print({"site": args.site, "removed": report.removed, "archived": report.archived,
                    "parked": report.parked, "skipped_locked": report.skipped_locked})
            return 0
        # Every site on its own: one that fails (no archive folder for a site that keeps
        # one, settings that cannot be read) is reported and the others are swept.
        errors: dict[str, str] = {}
        removed = await retention.sweep_all(errors=errors)
        _print({"removed": removed, "failed": errors} if errors else {"removed": removed})
        for site, error in sorted(errors.items()):
            print(f"moderation: site {site} was not swept: {error}", file=sys.stderr)
        return 1 if errors else 0

    return _redis_run(settings, go, _archive(args, settings, required=False))


def cmd_parked(args: argparse.Namespace, settings: Settings) -> int:
    async def go(retention: Retention) -> int:
        _print(await retention.rstore.parked(args.site, args.count))
        return 0

    return _redis_run(settings, go, None)


def cmd_archive_detach(args: argparse.Namespace, settings: Settings) -> int:
    async def go(retention: Retention) -> int:
        _print({"site": args.site, "detached": await retention.rstore.detach_archive(args.site)})
        return 0

    return _redis_run(settings, go, None)


def cmd_backfill(args: argparse.Namespace, settings: Settings) -> int:
    async def go(retention: Retention) -> int:
        _print({"site": args.site, **await retention.backfill(args.site, labels=not args.keep_labels)})
        return 0

    return _redis_run(settings, go, None)


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    async def go(retention: Retention) -> int:
        _print(await retention.rstore.audit_entries(args.site, args.count))
        return 0

    return _redis_run(settings, go, None)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "unknown"


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forget = sub.add_parser("forget", help="erase one author (by email) from a site, as POST /v1/authors/forget")
    forget.add_argument("--site", required=True, help="the site to erase the author from")
    forget.add_argument("--email", required=True, help="the author's email address")
    forget.add_argument("--by", default=None, help="who asked, for the audit log (default: the OS user)")
    forget.add_argument("--archive-dir", default=None, help="default: MODERATION_ARCHIVE_DIR")
    forget.set_defaults(func=cmd_forget)

    archive = sub.add_parser("archive", help="the archive of expired comments").add_subparsers(
        dest="archive_command", required=True
    )
    for name, func, text in (("list", cmd_archive_list, "list a site's archive files (one per UTC day of decision)"),
                             ("export", cmd_archive_export, "write a site's archived records as JSON Lines")):
        p = archive.add_parser(name, help=text)
        p.add_argument("--site", required=True, help="the site whose archive to read")
        p.add_argument("--from", dest="start", type=_day, default=None, help="first day (YYYY-MM-DD), inclusive")
        p.add_argument("--to", dest="end", type=_day, default=None, help="last day (YYYY-MM-DD), inclusive")
        p.add_argument("--archive-dir", default=None, help="default: MODERATION_ARCHIVE_DIR")
        if name == "export":
            p.add_argument("--out", default="-", help="file to write; '-' for stdout")
        p.set_defaults(func=func)
    detach = archive.add_parser(
        "detach", help="say the site's archive is gone on purpose: sweeps and erasure then run without one"
    )
    detach.add_argument("--site", required=True, help="the site whose archive marker to remove")
    detach.set_defaults(func=cmd_archive_detach)

    ret = sub.add_parser("retention", help="retention sweeps and the erasure audit log").add_subparsers(
        dest="retention_command", required=True
    )
    sweep = ret.add_parser("sweep", help="run one retention sweep now (the workers run one every few seconds)")
    sweep.add_argument("--site", default=None, help="only this site (default: every site)")
    sweep.add_argument("--archive-dir", default=None, help="default: MODERATION_ARCHIVE_DIR")
    sweep.set_defaults(func=cmd_sweep)
    backfill = ret.add_parser(
        "backfill", help="once after upgrading: index comments stored before retention existed, compact old labels"
    )
    backfill.add_argument("--site", required=True, help="the site to backfill")
    backfill.add_argument("--keep-labels", action="store_true", help="leave labels in the old format")
    backfill.set_defaults(func=cmd_backfill)
    parked = ret.add_parser("parked", help="comments the sweep set aside (unreadable or not archivable), with why")
    parked.add_argument("--site", required=True, help="the site whose parked comments to print")
    parked.add_argument("--count", type=int, default=100, help="at most this many, next try first")
    parked.set_defaults(func=cmd_parked)
    audit = ret.add_parser("audit", help="a site's erasure log (who, when, how many records)")
    audit.add_argument("--site", required=True, help="the site whose erasure log to print")
    audit.add_argument("--count", type=int, default=100, help="at most this many entries, newest first")
    audit.set_defaults(func=cmd_audit)
