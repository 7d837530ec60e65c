"""Process configuration, read from the environment once in ``main()``."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


def _packaged_models_dir() -> Path:
    """The shipped models: package data of ``moderation.models``.

    Installed from a wheel, that package sits inside this one (site-packages/moderation/models);
    in the checkout (and its editable install, which maps the folders, see pyproject.toml) it is
    the repository's models/ beside service/. Found without importing ``moderation.models``
    (training code: the serving process never loads it)."""
    package = Path(__file__).resolve().parents[1]
    inside = package / "models"
    return inside if (inside / "__init__.py").is_file() else package.parent / "models"


DEFAULT_MODELS_DIR = _packaged_models_dir()


def _env_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"moderation: {name} must be an integer, got {raw!r}") from exc


def _env_float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"moderation: {name} must be a number, got {raw!r}") from exc


REDIS_SCHEMES = ("redis", "rediss", "unix")


def redis_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a Redis URL (one line, without its password), or None.

    redis-py would raise a ValueError with a traceback for a URL without a scheme, and treat
    a bad database number as a server error on the first command.
    """
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        shown = url.rsplit("@", 1)[-1]  # never the password of user:password@host
        return (
            f"REDIS_URL must start with redis://, rediss:// or unix:// (got {shown!r}); "
            "for example redis://127.0.0.1:6379/0"
        )
    if parts.scheme != "unix":
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        except ValueError:
            return f"REDIS_URL has an invalid port: {parts.netloc.rsplit('@', 1)[-1]!r}"
        db = parts.path.strip("/")
        if db and not db.isdigit():
            return f"REDIS_URL's database must be a number (the path /0, /1 …), got {parts.path!r}"
    return None


def redis_where(url: str) -> str:
    """host:port of a Redis URL, never its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}"


def redis_db_message(url: str) -> str:
    """The one line for a REDIS_URL whose database number the server does not have."""
    db = urlsplit(url).path.strip("/") or "0"
    return (
        f"Redis at {redis_where(url)} has no database {db} (REDIS_URL's /{db}; "
        "a default Redis has databases 0 to 15)"
    )


LOG_FORMATS = ("text", "json")


def _log_format(raw: str) -> str:
    value = raw.strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise SystemExit(f"MODERATION_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    # The URL can carry a password: keep it out of repr() and therefore out of logs.
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    models_dir: Path = DEFAULT_MODELS_DIR
    # Redis Cluster mode: the same code, a cluster-aware client.
    redis_cluster: bool = False
    # Micro-batching of model scoring across concurrent requests.
    batch_max_size: int = 64
    batch_max_wait_ms: float = 2.0
    # How long a moderator holds a claimed item before it returns to the pool.
    lease_seconds: int = 300
    # Leases one moderator may hold per site at once, so one account cannot take the
    # whole queue and starve the others (one claim takes at most 100).
    claim_limit: int = 100
    # Moderator's page: a signed-in session lasts this long; a decision can be undone for
    # ui_undo_seconds before the page sends it; queue counts are polled every ui_poll_seconds.
    session_seconds: int = 8 * 3600
    ui_undo_seconds: float = 5.0
    ui_poll_seconds: float = 5.0
    # The dashboard (GET /v1/sites/{site}/stats) counts days from midnight at this UTC
    # offset: Vietnam's +7 h (no daylight saving) unless the newsroom is elsewhere.
    stats_utc_offset_minutes: int = 420
    # Replies kept for Idempotency-Key retries.
    idempotency_ttl_seconds: int = 24 * 3600
    # Per-key and per-client-IP request budgets (requests per minute, 0 disables).
    rate_limit_per_key: int = 0
    rate_limit_per_ip: int = 0
    # Failed checks of Akismet-style keys (48 bits) per client address (IPv6: per /48) and
    # hour; beyond it the address gets 429 until the hour ends. 0 disables (README, Akismet).
    akismet_key_guesses_per_hour: int = 60
    # Redis operations that exceed this fail fast with 503 instead of hanging the request.
    redis_timeout_seconds: float = 2.0
    # Durability across a Redis failover: when > 0, a submission or decision is acknowledged
    # only after this many replicas confirmed it (WAIT), waiting at most
    # redis_replica_timeout_ms; otherwise it is a 503 and the client retries with its
    # Idempotency-Key. 0 (default): acknowledged once the master has it (README "Guarantees").
    redis_replica_acks: int = 0
    redis_replica_timeout_ms: int = 500
    # A client gets this long to send a request's headers (idle keep-alive included) and
    # again to send its body; slower ones are cut off so they cannot pin connections.
    client_timeout_seconds: float = 30.0
    trust_forwarded_for: bool = False
    # Webhook delivery: how often the outbox is polled when idle (0 disables the task in
    # this process), attempts before an event becomes a dead letter, exponential backoff
    # base and cap, and the receiver's time to answer.
    webhook_poll_seconds: float = 1.0
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 10.0
    webhook_backoff_max_seconds: float = 3600.0
    webhook_timeout_seconds: float = 5.0
    # Webhook URLs on loopback, link-local or private addresses are refused (SSRF) unless
    # this is set: receivers on the operator's own network, and tests on 127.0.0.1.
    webhook_allow_private: bool = False
    # Retention: how often each worker sweeps decided comments past their site's
    # retention_days out of Redis (0 disables the sweep in this process), and the directory
    # of the archive they are written to first (None: no archive). README "Retention".
    retention_sweep_seconds: float = 10.0
    archive_dir: Path | None = None
    # A background loop (or one site in it) that fails is retried after a backoff that doubles
    # from the loop's period up to this (service/core/health.py).
    loop_backoff_max_seconds: float = 30.0
    log_level: str = "INFO"
    # "text" (one line per record) or "json" (one JSON object per line), README "Logs".
    log_format: str = "text"
    # When set, /metrics (which names every site) answers only to this bearer token.
    metrics_token: str = field(default="", repr=False)
    # Reputation (README "Reputation"): the HMAC key that turns an email, phone, handle, IP
    # network or domain into the entry id stored in Redis. Never logged, never in repr. Empty:
    # MODERATION_REPUTATION_SECRET_FILE is read (created with a random key when missing) by
    # from_env; still empty (tests), a key kept in Redis is used, with a warning.
    reputation_secret: str = field(default="", repr=False)
    # Decisions lose half their weight every this many days.
    reputation_half_life_days: float = 30.0
    # A shared entry counts on a site only when this many sites agree (spam, or not spam).
    reputation_min_sites: int = 2
    # Entries kept per site (its own counts, and separately its copy of the shared view);
    # beyond it the weakest of a sample are evicted, as Redis evicts keys.
    reputation_max_entries: int = 100_000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        # slots=True turns class attributes into descriptors; the defaults live on an instance.
        defaults = cls()
        redis_url = env.get("REDIS_URL") or defaults.redis_url
        problem = redis_url_problem(redis_url)
        if problem is not None:
            raise SystemExit(f"moderation: {problem}")
        return cls(
            redis_url=redis_url,
            host=env.get("MODERATION_HOST", defaults.host),
            port=_env_int(env, "MODERATION_PORT", defaults.port),
            workers=_env_int(env, "MODERATION_WORKERS", defaults.workers),
            models_dir=Path(env.get("MODERATION_MODELS_DIR", str(DEFAULT_MODELS_DIR))),
            redis_cluster=env.get("REDIS_CLUSTER", "") in {"1", "true", "yes"},
            batch_max_size=_env_int(env, "MODERATION_BATCH_MAX_SIZE", defaults.batch_max_size),
            batch_max_wait_ms=_env_float(env, "MODERATION_BATCH_MAX_WAIT_MS", defaults.batch_max_wait_ms),
            lease_seconds=_env_int(env, "MODERATION_LEASE_SECONDS", defaults.lease_seconds),
            claim_limit=_env_int(env, "MODERATION_CLAIM_LIMIT", defaults.claim_limit),
            session_seconds=_env_int(env, "MODERATION_SESSION_SECONDS", defaults.session_seconds),
            stats_utc_offset_minutes=_env_int(
                env, "MODERATION_STATS_UTC_OFFSET_MINUTES", defaults.stats_utc_offset_minutes
            ),
            idempotency_ttl_seconds=_env_int(
                env, "MODERATION_IDEMPOTENCY_TTL_SECONDS", defaults.idempotency_ttl_seconds
            ),
            rate_limit_per_key=_env_int(env, "MODERATION_RATE_LIMIT_PER_KEY", defaults.rate_limit_per_key),
            rate_limit_per_ip=_env_int(env, "MODERATION_RATE_LIMIT_PER_IP", defaults.rate_limit_per_ip),
            akismet_key_guesses_per_hour=_env_int(
                env, "MODERATION_AKISMET_KEY_GUESSES_PER_HOUR", defaults.akismet_key_guesses_per_hour
            ),
            redis_timeout_seconds=_env_float(
                env, "MODERATION_REDIS_TIMEOUT_SECONDS", defaults.redis_timeout_seconds
            ),
            redis_replica_acks=_env_int(env, "MODERATION_REDIS_REPLICA_ACKS", defaults.redis_replica_acks),
            redis_replica_timeout_ms=_env_int(
                env, "MODERATION_REDIS_REPLICA_TIMEOUT_MS", defaults.redis_replica_timeout_ms
            ),
            client_timeout_seconds=_env_float(
                env, "MODERATION_CLIENT_TIMEOUT_SECONDS", defaults.client_timeout_seconds
            ),
            trust_forwarded_for=env.get("MODERATION_TRUST_FORWARDED_FOR", "") in {"1", "true"},
            webhook_poll_seconds=_env_float(env, "MODERATION_WEBHOOK_POLL_SECONDS", defaults.webhook_poll_seconds),
            webhook_max_attempts=_env_int(env, "MODERATION_WEBHOOK_MAX_ATTEMPTS", defaults.webhook_max_attempts),
            webhook_backoff_seconds=_env_float(
                env, "MODERATION_WEBHOOK_BACKOFF_SECONDS", defaults.webhook_backoff_seconds
            ),
            webhook_backoff_max_seconds=_env_float(
                env, "MODERATION_WEBHOOK_BACKOFF_MAX_SECONDS", defaults.webhook_backoff_max_seconds
            ),
            webhook_timeout_seconds=_env_float(
                env, "MODERATION_WEBHOOK_TIMEOUT_SECONDS", defaults.webhook_timeout_seconds
            ),
            webhook_allow_private=env.get("MODERATION_WEBHOOK_ALLOW_PRIVATE", "") in {"1", "true", "yes"},
            retention_sweep_seconds=_env_float(
                env, "MODERATION_RETENTION_SWEEP_SECONDS", defaults.retention_sweep_seconds
            ),
            archive_dir=Path(env["MODERATION_ARCHIVE_DIR"]) if env.get("MODERATION_ARCHIVE_DIR") else None,
            loop_backoff_max_seconds=_env_float(
                env, "MODERATION_LOOP_BACKOFF_MAX_SECONDS", defaults.loop_backoff_max_seconds
            ),
            log_level=env.get("MODERATION_LOG_LEVEL", defaults.log_level),
            log_format=_log_format(env.get("MODERATION_LOG_FORMAT", defaults.log_format)),
            metrics_token=env.get("MODERATION_METRICS_TOKEN", ""),
            reputation_secret=env.get("MODERATION_REPUTATION_SECRET", "")
            or secret_from_file(env.get("MODERATION_REPUTATION_SECRET_FILE", "")),
            reputation_half_life_days=_env_float(
                env, "MODERATION_REPUTATION_HALF_LIFE_DAYS", defaults.reputation_half_life_days
            ),
            reputation_min_sites=_env_int(env, "MODERATION_REPUTATION_MIN_SITES", defaults.reputation_min_sites),
            reputation_max_entries=_env_int(
                env, "MODERATION_REPUTATION_MAX_ENTRIES", defaults.reputation_max_entries
            ),
        )


def secret_from_file(path: str) -> str:
    """The secret kept in *path*, created (mode 0600, 32 random bytes as hex) when missing.

    Created with O_EXCL: two processes starting at once end up with the same secret. ``""``
    when no path is given.
    """
    if not path:
        return ""
    target = Path(path)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
    value = target.read_text(encoding="ascii").strip()
    if not value:
        raise SystemExit(f"MODERATION_REPUTATION_SECRET_FILE {path} is empty")
    return value
