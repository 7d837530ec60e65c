"""Per-site moderation settings: the model, validation, and the compiled form rules use.

Settings live in one Redis hash per site (``keys.settings``): ``doc`` (JSON of every
setting) and ``version`` (a counter). Every change is a compare-and-set on ``version``
(store.Store.save_settings), so two moderators editing at once cannot overwrite each
other: the second write names a version that is no longer current and gets a 409.

Updates are merges: keys present in an update replace those settings, ``null`` resets a
key to its default, absent keys keep their current value. The API's PUT and the CLI's
``sites set`` share :func:`apply_update`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Final

import msgspec

from moderation.core.errors import FieldErrors
from moderation.moderation.wordlists import WordList, entry_problem
from moderation.scoring.scorer import DEFAULT_APPROVE_THRESHOLD, DEFAULT_SPAM_THRESHOLD

MODES: Final = ("post", "pre", "first")
# Limits on list settings: every list is compiled per site (word lists into Aho-Corasick
# automatons, wordlists.py) and kept in each worker's memory; a few thousand entries is far
# beyond what WordPress sites use. MAX_LIST_CHARS bounds what one site's lists cost to
# compile (measured in bench/wordlists.py) and to hold, whatever the entries look like.
MAX_LIST_ENTRIES: Final = 5_000
MAX_ENTRY_CHARS: Final = 200
MAX_LIST_CHARS: Final = 50_000
# Flood windows longer than an hour would read as a ban, which is the block list's job.
MAX_FLOOD_SECONDS: Final = 3_600
# The per-IP log is a sorted set holding at most this many entries per address.
MAX_FLOOD_IP_PER_MINUTE: Final = 1_000
MAX_LINKS_LIMIT: Final = 1_000
# Ten years: beyond that "keep for ever" is the honest setting, and Redis is not an archive.
MAX_RETENTION_DAYS: Final = 3_650
# One hour: below it a decided comment would leave before its webhook's first retries and
# inside the sweep's own interval, and values like 1e-300 (0 ms once rounded) mean "delete
# at once", which is what erasure is for.
MIN_RETENTION_DAYS: Final = 1 / 24


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """Every rule's setting with its default (README: "Moderation rules and settings")."""

    # post: model + rules decide; pre: everything is held; first: authors without an
    # approved comment on this site are held.
    mode: str = "post"
    # P(spam) below approve_below is approved, at or above spam_at is spam, between is held.
    approve_below: float = DEFAULT_APPROVE_THRESHOLD
    spam_at: float = DEFAULT_SPAM_THRESHOLD
    # P(OFFENSIVE) at or above offensive_hold_at, or P(HATE) at or above hate_hold_at, holds
    # the comment for a moderator: by default no model rejects a comment unseen, because a
    # false positive on a news site silently removes a reader's (often political) comment.
    offensive_hold_at: float = 0.7
    hate_hold_at: float = 0.8
    # Off (None) by default; a number turns on automatic rejection: P(HATE) at or above it is
    # rejected without a moderator. Never below hate_hold_at (apply_update checks).
    hate_auto_reject_at: float | None = None
    # More links than this (URLs, www. hosts, bare domains, shorteners) holds the comment.
    max_links: int = 2
    moderation_words: tuple[str, ...] = ()
    disallowed_words: tuple[str, ...] = ()
    blocked_emails: tuple[str, ...] = ()
    blocked_email_domains: tuple[str, ...] = ()
    # IPv4/IPv6 addresses and CIDR ranges.
    blocked_ips: tuple[str, ...] = ()
    # An author with a moderator-approved comment here skips the model's pending band.
    trusted_authors: bool = True
    # Same email again within flood_seconds, or more than flood_ip_per_minute comments from
    # one IP in a minute, is refused with 429 (0 turns either off).
    flood_seconds: int = 15
    flood_ip_per_minute: int = 10
    # Same post, same author, same normalized content is refused with 409.
    duplicate_check: bool = True
    # The same text (near-duplicates included) posted 3+ times in 10 minutes is spam.
    campaign_check: bool = True
    # Comments exposing an ID number, bank account or someone's own phone/email outside any
    # offer are held (personal_data) instead of being marked spam.
    personal_data_check: bool = True
    # Report the decision but always answer pending, to watch before enforcing.
    shadow_mode: bool = False
    # Decided comments (approved, spam, rejected) leave Redis this many days after their
    # decision (a fraction of a day is allowed); pending ones never expire. README "Retention".
    retention_days: float = 30.0
    # Akismet API only: answer blatant spam (and a filled honeypot) with the pro-tip
    # "discard", which WordPress (at its default strictness) takes as "drop it unseen". Off:
    # it is filed in WordPress's Spam folder, where a moderator can still find it.
    akismet_discard: bool = False
    # Reputation (README "Reputation"): give this site's moderators' decisions to the other
    # sites of the service and take theirs. Off: the site neither gives nor takes; its own
    # decisions still count for its own comments.
    reputation_sharing: bool = True
    # Domains (and their subdomains' registrable domain) never counted by reputation for this
    # site, whatever anyone decided: the site's own domain (also taken from each comment's
    # post_url), its partners.
    reputation_allow: tuple[str, ...] = ()


DEFAULTS: Final = SiteSettings()
SETTING_NAMES: Final = tuple(f.name for f in fields(SiteSettings))
_LIST_SETTINGS: Final = frozenset(
    {"moderation_words", "disallowed_words", "blocked_emails", "blocked_email_domains", "blocked_ips",
     "reputation_allow"}
)
_BOOL_SETTINGS: Final = frozenset(
    {"trusted_authors", "duplicate_check", "campaign_check", "personal_data_check", "shadow_mode",
     "akismet_discard", "reputation_sharing"}
)
_FLOAT_SETTINGS: Final = frozenset({"approve_below", "spam_at", "offensive_hold_at", "hate_hold_at"})
# Settings that are off when null (a PUT's null resets them to their default, which is off).
_OPTIONAL_FRACTIONS: Final = frozenset({"hate_auto_reject_at"})
# Settings of earlier versions: stored documents are read into their successor; an update
# naming one is refused with a sentence saying what replaced it.
_RENAMED: Final = {"hate_reject_at": "hate_hold_at"}
_REPLACED: Final = {
    "hate_reject_at": "hate_reject_at was replaced: P(HATE) at or above hate_hold_at holds the comment "
    "for a moderator; set hate_auto_reject_at to reject automatically",
}
_INT_SETTINGS: Final = {
    "max_links": MAX_LINKS_LIMIT,
    "flood_seconds": MAX_FLOOD_SECONDS,
    "flood_ip_per_minute": MAX_FLOOD_IP_PER_MINUTE,
}


DAY_MS: Final = 86_400_000


def retention_ms(settings: SiteSettings) -> int:
    # Clamped: settings written before the lower bound (or by hand) cannot expire everything at once.
    days = min(max(settings.retention_days, MIN_RETENTION_DAYS), MAX_RETENTION_DAYS)
    return round(days * DAY_MS)


def to_dict(settings: SiteSettings) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()}


def encode(settings: SiteSettings) -> bytes:
    return msgspec.json.encode(to_dict(settings))


def decode(doc: str | bytes | None) -> SiteSettings:
    """Settings from their stored JSON; keys written by an older or newer version are tolerated."""
    if not doc:
        return DEFAULTS
    raw = msgspec.json.decode(doc)
    for old, new in _RENAMED.items():
        if old in raw and new not in raw:
            raw[new] = raw[old]
    known: dict[str, Any] = {k: tuple(v) if k in _LIST_SETTINGS else v for k, v in raw.items() if k in SETTING_NAMES}
    return replace(DEFAULTS, **known)


def _list(name: str, value: Any, errors: FieldErrors) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(name, "type", f"{name} must be a list of strings")
        return None
    if len(value) > MAX_LIST_ENTRIES:
        errors.add(name, "too_long", f"{name} has {len(value)} entries; the limit is {MAX_LIST_ENTRIES}")
        return None
    total = sum(len(item.strip()) for item in value)
    if total > MAX_LIST_CHARS:
        errors.add(name, "too_long", f"{name} holds {total} characters in all; the limit is {MAX_LIST_CHARS}")
        return None
    out: list[str] = []
    for i, item in enumerate(value):
        entry = item.strip()
        if not entry:
            continue  # WordPress skips empty lines too
        if len(entry) > MAX_ENTRY_CHARS:
            errors.add(name, "too_long", f"{name}[{i}] is longer than {MAX_ENTRY_CHARS} characters")
            return None
        problem = _entry_problem(name, entry)
        if problem is not None:
            errors.add(name, "invalid", f"{name}[{i}] {entry!r} {problem}")
            return None
        if entry not in out:
            out.append(entry)
    return tuple(out)


def _entry_problem(name: str, entry: str) -> str | None:
    if name in {"moderation_words", "disallowed_words"}:
        return entry_problem(entry)
    if name == "blocked_emails":
        return None if "@" in entry and " " not in entry else "is not an email address"
    if name in {"blocked_email_domains", "reputation_allow"}:
        domain = entry.lstrip("@")
        return None if domain and "." in domain and "@" not in domain and " " not in domain else "is not a domain"
    try:
        ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return "is not an IP address or CIDR range"
    return None


def _scalar(name: str, value: Any, errors: FieldErrors) -> Any:
    if name == "mode":
        if value not in MODES:
            errors.add(name, "invalid", "mode must be one of " + ", ".join(MODES))
            return None
        return value
    if name in _BOOL_SETTINGS:
        if not isinstance(value, bool):
            errors.add(name, "type", f"{name} must be true or false")
            return None
        return value
    if name == "retention_days":
        # NaN fails both comparisons, infinity the upper one.
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not MIN_RETENTION_DAYS <= value <= MAX_RETENTION_DAYS
        ):
            errors.add(
                name, "range",
                f"retention_days must be a number of days from {MIN_RETENTION_DAYS:.6g} (one hour) "
                f"to {MAX_RETENTION_DAYS}",
            )
            return None
        return float(value)
    if name in _OPTIONAL_FRACTIONS:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 1.0:
            errors.add(name, "range", f"{name} must be a number above 0 and at most 1, or null to turn it off")
            return None
        return float(value)
    if name in _FLOAT_SETTINGS:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
            errors.add(name, "range", f"{name} must be a number from 0 to 1")
            return None
        return float(value)
    limit = _INT_SETTINGS[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        errors.add(name, "range", f"{name} must be an integer from 0 to {limit}")
        return None
    return value


def apply_update(current: SiteSettings, update: dict[str, Any]) -> SiteSettings:
    """Merge *update* into *current*; every bad key is reported at once (422)."""
    errors = FieldErrors()
    changes: dict[str, Any] = {}
    for name, value in update.items():
        if name in _REPLACED:
            errors.add(name, "unknown", _REPLACED[name])
            continue
        if name not in SETTING_NAMES:
            errors.add(name, "unknown", f"{name!r} is not a setting; settings are " + ", ".join(SETTING_NAMES))
            continue
        if value is None:
            changes[name] = getattr(DEFAULTS, name)
            continue
        parsed = _list(name, value, errors) if name in _LIST_SETTINGS else _scalar(name, value, errors)
        if parsed is not None:
            changes[name] = parsed
    errors.raise_if_any()
    merged = replace(current, **changes)
    if merged.approve_below > merged.spam_at:
        bad = "approve_below" if "approve_below" in changes else "spam_at"
        errors.add(bad, "range", "approve_below must not be greater than spam_at")
    reject_at = merged.hate_auto_reject_at
    if reject_at is not None and reject_at < merged.hate_hold_at:
        # Rejecting below the hold threshold would skip the hold entirely: most likely a typo
        # (0.08 for 0.8), and on a news site the costly one.
        bad = "hate_auto_reject_at" if "hate_auto_reject_at" in changes else "hate_hold_at"
        errors.add(bad, "range", "hate_auto_reject_at must not be below hate_hold_at")
    errors.raise_if_any()
    return merged


def parse_cli_value(name: str, raw: str) -> Any:
    """A ``key=value`` from the command line as the JSON value :func:`apply_update` expects.

    Lists are comma-separated (or a JSON array); ``key=`` empties a list; booleans accept
    on/off, true/false, yes/no, 1/0; ``key=default`` resets to the default (and ``key=off``
    turns off a setting that can be off, such as hate_auto_reject_at).
    """
    if raw == "default" or (name in _OPTIONAL_FRACTIONS and raw.lower() == "off"):
        return None
    if name in _LIST_SETTINGS:
        if raw.startswith("["):
            try:
                return msgspec.json.decode(raw)
            except msgspec.DecodeError:
                return raw  # reported by apply_update as "must be a list of strings"
        return [part.strip() for part in raw.split(",") if part.strip()]
    if name in _BOOL_SETTINGS:
        lowered = raw.lower()
        if lowered in {"on", "true", "yes", "1"}:
            return True
        if lowered in {"off", "false", "no", "0"}:
            return False
        return raw
    if name in _FLOAT_SETTINGS or name in _INT_SETTINGS or name in _OPTIONAL_FRACTIONS or name == "retention_days":
        try:
            return int(raw)
        except ValueError:
            try:
                return float(raw)
            except ValueError:
                return raw
    return raw


@dataclass(frozen=True, slots=True)
class ActiveSettings:
    """Settings of one version, compiled for the rules; cached per worker by version."""

    version: int
    settings: SiteSettings
    moderation_words: WordList = field(repr=False)
    disallowed_words: WordList = field(repr=False)
    blocked_emails: frozenset[str] = field(repr=False)
    blocked_domains: frozenset[str] = field(repr=False)
    blocked_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(repr=False)

    @classmethod
    def compile(cls, version: int, settings: SiteSettings) -> ActiveSettings:
        return cls(
            version=version,
            settings=settings,
            moderation_words=WordList(settings.moderation_words),
            disallowed_words=WordList(settings.disallowed_words),
            blocked_emails=frozenset(e.casefold() for e in settings.blocked_emails),
            blocked_domains=frozenset(d.lstrip("@").casefold() for d in settings.blocked_email_domains),
            blocked_networks=tuple(ipaddress.ip_network(n, strict=False) for n in settings.blocked_ips),
        )

    def blocked_domain(self, email: str) -> str | None:
        """The blocked domain *email* belongs to (subdomains included), or None."""
        host = email.rpartition("@")[2].casefold()
        while host:
            if host in self.blocked_domains:
                return host
            _, _, host = host.partition(".")
        return None

    def blocked_network(self, ip: str | None) -> str | None:
        if not ip or not self.blocked_networks:
            return None
        address = ipaddress.ip_address(ip)
        for network in self.blocked_networks:
            if address.version == network.version and address in network:
                return str(network)
        return None
