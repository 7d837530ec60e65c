"""Site API keys and moderator tokens: minting, hashing, resolving.

Only SHA-256 digests of keys are stored. A site key names its site
(``sk-<site>.<secret>``) so resolving it reads one hash in the site's own slot;
a rotated key stops working on the very next request because nothing is cached.

A site may also have an Akismet-style key: 12 lowercase hex digits, the form WordPress's
Akismet plugin accepts (its ``verify_key`` answers ``invalid`` without asking for any other
length, and its key form strips every character but ``a-f0-9``); hex is also a valid
host-name label (Akismet clients send ``<key>.rest.akismet.com``). It cannot name its site,
so a global ``akismetkey:<digest>`` string finds the site and the site's meta hash says which
digest is current. 12 hex digits are 48 bits: the digest is PBKDF2 (AKISMET_KEY_ITERATIONS),
so a copy of Redis does not give the keys away to a plain SHA-256 search, and failed checks
are rate-limited per client address (store/ratelimit.py). Keys minted before were 48 hex
digits (192 bits) with a SHA-256 digest; they keep working until rotated.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

import msgspec
from redis.asyncio import Redis

from moderation.core.errors import Forbidden, Unauthorized
from moderation.store import keys
from moderation.store.autopipeline import AutoPipeline

# \Z, not $: "$" also matches before a trailing newline, which made "abc\n" a site id.
SITE_ID_RE = re.compile(r"\A[a-z0-9][a-z0-9_-]{0,62}\Z")
SITE_KEY_PREFIX = "sk-"
MOD_TOKEN_PREFIX = "mt-"
# 32 random bytes: guessing is out of reach, so hashing without salt is safe.
SECRET_BYTES = 32
# 6 random bytes as 12 hex digits: what WordPress's Akismet plugin accepts (see above).
AKISMET_KEY_BYTES = 6
AKISMET_KEY_RE = re.compile(r"^[a-z0-9]{1,63}$")
# The current form, and the 48-digit form of keys minted before (still accepted).
_AKISMET_HEX_RE = re.compile(r"\A(?:[0-9a-fA-F]{12}|[0-9a-fA-F]{48})\Z")
# PBKDF2-HMAC-SHA256 of a 12-digit key: 0.13-0.18 s on one core here (measured on the loaded
# 2-core machine), paid once per key and worker (KeyDigests), and by a search of the 2^48 keys
# on every guess. The salt is fixed because the digest is what finds the site.
AKISMET_KEY_ITERATIONS = 100_000
_AKISMET_KEY_SALT = b"moderation/akismet-key/v1"
# Verified keys' digests kept per worker; a bound, not a cache size that matters.
KEY_DIGESTS_KEPT = 10_000


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def new_site_key(site: str) -> str:
    return f"{SITE_KEY_PREFIX}{site}.{secrets.token_urlsafe(SECRET_BYTES)}"


def new_moderator_token() -> str:
    return MOD_TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def site_of_key(api_key: str) -> str | None:
    if not api_key.startswith(SITE_KEY_PREFIX) or "." not in api_key:
        return None
    site = api_key[len(SITE_KEY_PREFIX) :].rsplit(".", 1)[0]
    return site if SITE_ID_RE.match(site) else None


@dataclass(frozen=True, slots=True)
class SiteCaller:
    site: str
    # The caller's credential digest, kept for per-key rate limits; never the key itself.
    key_digest: str = field(repr=False)
    # False until the digest was compared with the stored one: a submission defers that
    # comparison to its rules' pre-check, the round trip it makes anyway.
    verified: bool = True


@dataclass(frozen=True, slots=True)
class Moderator:
    name: str
    sites: frozenset[str]
    key_digest: str = field(repr=False)

    def require_site(self, site: str) -> None:
        if site not in self.sites:
            raise Forbidden(f"this moderator token has no access to site {site!r}")


class _TokenRecord(msgspec.Struct, frozen=True):
    name: str
    sites: list[str]


def bearer(header: str | None) -> str:
    if not header:
        raise Unauthorized("send Authorization: Bearer <key>")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("send Authorization: Bearer <key>")
    return value.strip()


def presented_site_key(api_key: str) -> SiteCaller:
    """The site a key names and the key's digest, not yet checked against the stored digest."""
    site = site_of_key(api_key)
    if site is None:
        raise Unauthorized("unknown API key")
    return SiteCaller(site=site, key_digest=digest(api_key), verified=False)


def check_key_hash(caller: SiteCaller, stored: object) -> SiteCaller:
    """*caller* verified against the site's stored key digest (``None``: no such site)."""
    # Compare digests in constant time; the stored value is itself a digest.
    if stored is None or not hmac.compare_digest(str(stored), caller.key_digest):
        raise Unauthorized("unknown API key")
    return SiteCaller(site=caller.site, key_digest=caller.key_digest)


async def resolve_site_key(redis: Redis | AutoPipeline, api_key: str) -> SiteCaller:
    caller = presented_site_key(api_key)
    return check_key_hash(caller, await redis.hget(keys.site_meta(caller.site), "key_hash"))


def is_akismet_key(api_key: str) -> bool:
    return bool(AKISMET_KEY_RE.match(api_key))


def is_akismet_shaped(api_key: str) -> bool:
    """A 12- or 48-digit hex key: the forms whose failed checks count as guesses."""
    return bool(_AKISMET_HEX_RE.match(api_key))


def akismet_digest(api_key: str) -> str:
    """The stored digest of an Akismet-style key (CPU-bound for 12 digits: see KeyDigests)."""
    if len(api_key) == AKISMET_KEY_BYTES * 2:
        slow = hashlib.pbkdf2_hmac("sha256", api_key.encode("ascii"), _AKISMET_KEY_SALT, AKISMET_KEY_ITERATIONS)
        return slow.hex()
    return digest(api_key)


class KeyDigests:
    """Per worker: the digests of Akismet-style keys that resolved, so a key costs its
    PBKDF2 once, not on every comment. Only keys that were valid are kept (a guesser cannot
    fill it), by the key's SHA-256; a rotated key still fails at the site's record."""

    def __init__(self, limit: int = KEY_DIGESTS_KEPT) -> None:
        self.limit = limit
        self._known: dict[str, str] = {}

    async def of(self, api_key: str) -> str:
        known = self._known.get(digest(api_key))
        if known is not None:
            return known
        if len(api_key) == AKISMET_KEY_BYTES * 2:
            # 0.13-0.18 s of C code that releases the GIL: off the event loop.
            return await asyncio.to_thread(akismet_digest, api_key)
        return akismet_digest(api_key)

    def remember(self, api_key: str, key_hash: str) -> None:
        if len(self._known) >= self.limit:
            self._known.pop(next(iter(self._known)))
        self._known[digest(api_key)] = key_hash


async def resolve_akismet_key(redis: Redis, api_key: str, digests: KeyDigests | None = None) -> SiteCaller:
    """A site's Akismet-style key, or its ordinary site key (the Akismet API takes both)."""
    if _AKISMET_HEX_RE.match(api_key):
        api_key = api_key.lower()  # WordPress's key form keeps A-F as typed
    if not is_akismet_key(api_key):
        return await resolve_site_key(redis, api_key)
    digests = digests or KeyDigests()
    presented = await digests.of(api_key)
    site = await redis.get(keys.akismet_key(presented))
    if site is None:
        raise Unauthorized("unknown API key")
    current = await redis.hget(keys.site_meta(str(site)), "akismet_key_hash")
    # The index can outlive a rotation interrupted half-way; the site's own record decides.
    if current is None or not hmac.compare_digest(str(current), presented):
        raise Unauthorized("unknown API key")
    digests.remember(api_key, presented)
    return SiteCaller(site=str(site), key_digest=presented)


async def rotate_akismet_key(redis: Redis, site: str) -> str:
    """Mint the site's Akismet-style key (12 hex digits, shown once), replacing any earlier one."""
    if not await redis.exists(keys.site_meta(site)):
        raise LookupError(f"no site {site!r}")
    while True:
        api_key = secrets.token_hex(AKISMET_KEY_BYTES)
        new_hash = await asyncio.to_thread(akismet_digest, api_key)
        # 48 bits: another site's key may be drawn (once in ~10^10 draws for 10^4 sites); draw again.
        if not await redis.exists(keys.akismet_key(new_hash)):
            break
    old_hash = await redis.hget(keys.site_meta(site), "akismet_key_hash")
    # Index first, then the site's record (the switch), then drop the old index: a crash in
    # between leaves at worst an index entry that the record no longer vouches for. These
    # keys live in different cluster slots, so one MULTI cannot cover them.
    await redis.set(keys.akismet_key(new_hash), site)
    await redis.hset(keys.site_meta(site), "akismet_key_hash", new_hash)
    if old_hash is not None:
        await redis.delete(keys.akismet_key(str(old_hash)))
    return api_key


async def resolve_moderator(redis: Redis, token: str) -> Moderator:
    if not token.startswith(MOD_TOKEN_PREFIX):
        raise Unauthorized("unknown moderator token")
    return await moderator_by_digest(redis, digest(token))


async def moderator_by_digest(redis: Redis, token_hash: str) -> Moderator:
    """Resolve a stored token digest (a page session keeps only this); revoked tokens fail.

    The token record alone is not enough: each of its sites must still list the digest
    among the tokens issued to the name (keys.moderator_tokens), so revoking a name ends
    every token it was ever given, including ones issued before a re-issue.
    """
    raw = await redis.get(keys.mod_token(token_hash))
    if raw is None:
        raise Unauthorized("unknown moderator token")
    record = msgspec.json.decode(raw, type=_TokenRecord)
    pipe = redis.pipeline(transaction=False)
    for site in record.sites:
        pipe.sismember(keys.moderator_tokens(site, record.name), token_hash)
        # Tokens issued before grant sets existed: the name's newest one stays valid.
        pipe.hget(keys.moderators(site), record.name)
    replies = await pipe.execute()
    granted = frozenset(
        site
        for site, member, newest in zip(record.sites, replies[::2], replies[1::2], strict=True)
        if member or newest == token_hash
    )
    if not granted:
        raise Unauthorized("unknown moderator token")
    return Moderator(name=record.name, sites=granted, key_digest=token_hash)


async def create_site(redis: Redis, site: str, name: str, now_ms: int) -> str:
    """Create a site and return its API key (shown once)."""
    api_key = new_site_key(site)
    created = await redis.hsetnx(keys.site_meta(site), "key_hash", digest(api_key))
    if not created:
        raise ValueError(f"site {site!r} already exists")
    await redis.hset(keys.site_meta(site), mapping={"name": name, "created_at": now_ms})
    await redis.sadd(keys.SITES, site)
    return api_key


async def rotate_site_key(redis: Redis, site: str) -> str:
    if not await redis.exists(keys.site_meta(site)):
        raise LookupError(f"no site {site!r}")
    api_key = new_site_key(site)
    await redis.hset(keys.site_meta(site), "key_hash", digest(api_key))
    return api_key


async def add_moderator(redis: Redis, sites: list[str], name: str) -> str:
    for site in sites:
        if not await redis.exists(keys.site_meta(site)):
            raise LookupError(f"no site {site!r}")
    token = new_moderator_token()
    token_hash = digest(token)
    record = msgspec.json.encode(_TokenRecord(name=name, sites=sorted(sites)))
    # Granted on each site before the token exists, so it never works half-issued.
    for site in sites:
        await redis.sadd(keys.moderator_tokens(site, name), token_hash)
        await redis.hset(keys.moderators(site), name, token_hash)
    await redis.set(keys.mod_token(token_hash), record)
    return token


async def revoke_moderator(redis: Redis, site: str, name: str) -> bool:
    """End every token ever issued to ``name`` for ``site`` (and the page sessions made with them)."""
    granted = keys.moderator_tokens(site, name)
    hashes = {str(h) for h in await redis.smembers(granted)}
    newest = await redis.hget(keys.moderators(site), name)
    if newest is not None:
        hashes.add(str(newest))
    if not hashes:
        return False
    # Dropping the grant set is what revokes (moderator_by_digest checks it); the token
    # records go too, so a token shared with other sites ends there as well, as before.
    await redis.delete(granted)
    await redis.hdel(keys.moderators(site), name)
    for token_hash in hashes:
        await redis.delete(keys.mod_token(token_hash))
    return True


async def list_sites(redis: Redis) -> list[dict[str, str]]:
    out = []
    for site in sorted(str(s) for s in await redis.smembers(keys.SITES)):
        meta = await redis.hgetall(keys.site_meta(site))
        out.append(
            {"site_id": site, "name": str(meta.get("name", "")), "created_at": str(meta.get("created_at", ""))}
        )
    return out
