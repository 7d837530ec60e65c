"""CLI commands of the feedback loop: ``export-labels``, ``retrain`` and ``recheck``.

``retrain`` trains with ``models/retrain.py``, which loads the training code only when it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from redis.asyncio import Redis

from moderation.core.settings import Settings
from moderation.models.retrain import DEFAULT_HOLDOUT, DEFAULT_SITE_WEIGHT, BaseData, retrain
from moderation.moderation.feedback import (
    DEFAULT_RECHECK_RATE,
    SPAM,
    LabelRow,
    label_rows,
    publish_reload,
    recheck,
    write_csv,
)


def _redis_run(settings: Settings, fn: Callable[[Redis], Awaitable[int]]) -> int:
    from moderation.web.app import make_redis

    async def main() -> int:
        redis = make_redis(settings)
        try:
            return await fn(redis)
        finally:
            await redis.aclose()

    return asyncio.run(main())


def cmd_export_labels(args: argparse.Namespace, settings: Settings) -> int:
    async def go(redis: Redis) -> int:
        rows = await label_rows(redis, args.site)
        write_csv(rows, None if args.out == "-" else Path(args.out))
        spam = sum(r.label == SPAM for r in rows)
        print(json.dumps({"site": args.site, "rows": len(rows), "spam": spam, "ham": len(rows) - spam,
                          "out": args.out}), file=sys.stderr)
        return 0

    return _redis_run(settings, go)


def cmd_retrain(args: argparse.Namespace, settings: Settings) -> int:
    # Without the train extra (scikit-learn) this fails here, before reading anything from
    # Redis: main() answers with the one line saying what to install.
    from moderation.models import training  # noqa: F401

    async def fetch(redis: Redis) -> int:
        rows.extend(await label_rows(redis, args.site))
        return 0

    rows: list[LabelRow] = []
    _redis_run(settings, fetch)
    base = BaseData(tuple(args.base), args.base_text_column, args.base_label_column, args.base_positive_label)
    with tempfile.TemporaryDirectory(prefix="moderation-retrain-") as tmp:
        work = Path(args.work_dir) if args.work_dir else Path(tmp)
        report = retrain(site=args.site, rows=rows, base=base, models_dir=settings.models_dir, work_dir=work,
                         holdout=args.holdout, site_weight=args.site_weight, seed=args.seed)
    if report.promoted and not args.no_reload:
        models_dir = str(settings.models_dir.resolve())

        async def reload(redis: Redis) -> int:
            report.reload_generation = await publish_reload(redis, models_dir)
            return 0

        _redis_run(settings, reload)
    print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    return 0 if report.promoted else 3


def cmd_recheck(args: argparse.Namespace, settings: Settings) -> int:
    from moderation.moderation.operations import Moderation
    from moderation.moderation.reputation import Reputation
    from moderation.scoring.batcher import Batcher
    from moderation.scoring.scorer import Scorer
    from moderation.store.comments import Store

    scorer = Scorer.load(settings.models_dir)

    async def go(redis: Redis) -> int:
        store = Store(redis, idempotency_ttl=settings.idempotency_ttl_seconds)
        batcher = Batcher(scorer, max_size=settings.batch_max_size, max_wait_ms=settings.batch_max_wait_ms)
        moderation = Moderation(
            store, batcher, lease_seconds=settings.lease_seconds, reputation=Reputation.from_settings(store, settings)
        )
        report = await recheck(moderation, args.site, rate=args.rate, limit=args.limit)
        print(json.dumps({"site": args.site, "model_version": scorer.version, **report.as_dict()}))
        return 0

    return _redis_run(settings, go)


def _paths(value: str) -> list[Path]:
    return [Path(p) for p in value.split(",") if p]


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser(
        "export-labels", help="write a site's labelled examples as CSV (train reads it)",
        description="Write a site's labelled examples (moderator decisions, Akismet submit-spam and "
        "submit-ham) as CSV: text, label (spam or ham), author, decision, reason, who, when, ids and "
        "the model's score at the time. A summary goes to standard error.",
        epilog="example:\n  moderation export-labels --site baotinh --out baotinh-labels.csv",
    )
    export.add_argument("--site", required=True, help="the site whose labels to export")
    export.add_argument("--out", default="-", help="file to write; '-' for standard output")
    export.set_defaults(func=cmd_export_labels)

    re = sub.add_parser(
        "retrain", help="train on base data + a site's labels; promote only if better; reload",
        description="Train a candidate spam model on the base CSVs plus the site's labels, compare it "
        "with the current model on held-out site labels, and promote it only if its macro-F1 there is "
        "higher (a tie keeps the current model) and the held-out slice has at least 10 spam and 10 ham "
        "labels (with fewer, nothing is trained). The old model stays as spam.previous; workers reload "
        "within 2 s. Prints a JSON report; exits 3 when the current model is kept.",
        epilog="example:\n  moderation retrain --site baotinh --base data/spam-base.csv --holdout 0.3",
    )
    re.add_argument("--site", required=True, help="the site whose labels to learn from")
    re.add_argument("--base", type=_paths, required=True, help="base training CSV[,CSV...]")
    re.add_argument("--base-text-column", default="text", help="the base CSVs' text column")
    re.add_argument("--base-label-column", default="label", help="the base CSVs' label column")
    re.add_argument("--base-positive-label", default="1", help="the base CSVs' label value meaning spam")
    re.add_argument("--holdout", type=float, default=DEFAULT_HOLDOUT, help="share of site labels held out")
    re.add_argument("--site-weight", type=float, default=DEFAULT_SITE_WEIGHT,
                    help="how many base rows one site label weighs")
    re.add_argument("--seed", type=int, default=None,
                    help="random seed of the split and the training (default: the training default)")
    re.add_argument("--work-dir", default=None,
                    help="keep the candidate and the split here (default: a temporary folder)")
    re.add_argument("--no-reload", action="store_true", help="promote without telling the workers")
    re.set_defaults(func=cmd_retrain)

    rc = sub.add_parser(
        "recheck", help="re-score a site's pending backlog with the current model",
        description="Re-score a site's pending comments with the current model, oldest first, and file "
        "those now clearly approved or spam (with a webhook event). Items a moderator holds are left "
        "alone.",
        epilog="example:\n  moderation recheck --site baotinh --rate 20",
    )
    rc.add_argument("--site", required=True, help="the site whose backlog to re-score")
    rc.add_argument("--rate", type=float, default=DEFAULT_RECHECK_RATE, help="comments per second")
    rc.add_argument("--limit", type=int, default=None, help="stop after this many comments (default: all)")
    rc.set_defaults(func=cmd_recheck)
