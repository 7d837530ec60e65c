"""The site's rules around one submission: settings, Redis facts, refusals, settings edits.

A submission costs two Redis round trips for all the rules together: the pre-check
script (settings version — and the settings themselves only when this worker's cached
copy is stale — trusted author, flood, duplicate, campaign and reputation reads) before
scoring, and
the submit script (store.py) that re-checks the refusals atomically and writes the
flood/duplicate/campaign bookkeeping with the comment. Parsed and compiled settings are
cached per worker keyed by the settings version, so an edit is picked up by the next
submission of every worker without any invalidation message.

Flood and duplicate refusals are decided before scoring (a flooder costs no model time),
except with an Idempotency-Key: a retry of an accepted submission must get its stored
reply, which only the submit script can tell, so those refusals wait for the script.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, replace
from typing import Any

from moderation.core.errors import (
    Duplicate,
    FieldErrors,
    NotFound,
    ProblemError,
    TooManyRequests,
    ValidationFailed,
    VersionConflict,
)
from moderation.core.schemas import CommentIn
from moderation.moderation.campaign import (
    CAMPAIGN_WINDOW_SECONDS,
    DUPLICATE_TTL_SECONDS,
    band_ids,
    duplicate_field,
    post_digest,
)
from moderation.moderation.policy import Facts, Reason
from moderation.moderation.reputation import NO_EVIDENCE, Lookup, Reputation
from moderation.moderation.sitesettings import (
    DEFAULTS,
    ActiveSettings,
    SiteSettings,
    apply_update,
    decode,
    encode,
    to_dict,
)
from moderation.scoring.normalize import skeleton
from moderation.scoring.text import CommentText
from moderation.store.auth import Moderator, SiteCaller, check_key_hash
from moderation.store.comments import Guards, Precheck, Refusal, Store

IP_WINDOW_MS = 60_000
# Normalizing costs up to ~1 ms per KB of hostile text (a 64 KB comment of spaced digits):
# the duplicate and campaign fingerprints normalize the first FINGERPRINT_CHARS characters
# (campaign signatures only use 4,000) and a duplicate adds a plain hash of the rest.
FINGERPRINT_CHARS = 8_000
# Block-list additions from a moderator decision merge into the settings with
# compare-and-set; under a storm of concurrent edits give up after this many tries.
BLOCK_ATTEMPTS = 8


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def duplicate_entry(comment: CommentIn, skel: str | None = None) -> tuple[str, str]:
    """(post digest, field) of the comment's entry in its post's duplicate hash; the retention
    sweep derives it again to remove the entry with the comment."""
    if skel is None:
        skel = skeleton(comment.content[:FINGERPRINT_CHARS])
    rest = comment.content[FINGERPRINT_CHARS:]
    dup_text = skel + "\x00" + _digest(rest.casefold()) if rest else skel
    return post_digest(comment.post_id), duplicate_field(comment.post_id, comment.author_email, dup_text)


@dataclass(frozen=True, slots=True)
class Prepared:
    active: ActiveSettings
    facts: Facts
    guards: Guards


def _bands(skel: str, memo: list[tuple[str, ...]]) -> tuple[str, ...]:
    if not memo:
        memo.append(tuple(band_ids(skel)))
    return memo[0]


def flood_reason(refusal: Refusal) -> Reason:
    seconds = max(1, -(-refusal.retry_ms // 1000))
    who = "email" if refusal.kind == "flood_email" else "ip"
    address = "this email address" if who == "email" else "this IP address"
    message = f"too many comments from {address}; retry in {seconds} s"
    return Reason("flood", message, {"who": who, "retry_seconds": seconds})


def refusal_error(refusal: Refusal) -> ProblemError:
    if refusal.kind == "duplicate":
        reason = Reason("duplicate", "the same author already posted this comment on this post")
        return Duplicate(
            reason.message, extra={"duplicate_of": refusal.existing_id, "reasons": [reason.as_dict()]}
        )
    reason = flood_reason(refusal)
    error = TooManyRequests(reason.message, -(-refusal.retry_ms // 1000), code="flood")
    error.extra["reasons"] = [reason.as_dict()]
    return error


class Rules:
    def __init__(self, store: Store, reputation: Reputation | None = None) -> None:
        self.store = store
        # Read in the pre-check, told about settings saves (reputation_sharing changes).
        self.reputation = reputation
        # site -> (settings stamp, compiled settings); see store._PRECHECK_LUA.
        self._active: dict[str, tuple[str, ActiveSettings]] = {}
        # (site, stamp) -> the compilation in progress, shared by concurrent submissions.
        self._compiling: dict[tuple[str, str], asyncio.Future[ActiveSettings]] = {}

    async def _compile(self, site: str, stamp: str, version: int, doc: str | None) -> ActiveSettings:
        """Compile a site's settings in a worker thread: normalizing thousands of list entries
        and building automatons takes up to a few hundred ms for lists at their limits, which
        on the event loop would stall every site's requests (the C parts hold the GIL for
        about a millisecond at a time, see wordlists.AUTOMATON_CHARS)."""
        key = (site, stamp)
        pending = self._compiling.get(key)
        if pending is None:
            pending = asyncio.ensure_future(asyncio.to_thread(ActiveSettings.compile, version, decode(doc)))
            self._compiling[key] = pending
            pending.add_done_callback(lambda _: self._compiling.pop(key, None))
        # Shielded: one cancelled request must not cancel the compilation others wait for.
        return await asyncio.shield(pending)

    def _guards(
        self, comment: CommentIn, settings: SiteSettings, now: int, skel: str, bands: list[tuple[str, ...]]
    ) -> Guards:
        return Guards(
            now_ms=now,
            email_digest=_digest(comment.author_email.casefold()),
            ip=comment.user_ip,
            flood_ms=settings.flood_seconds * 1000,
            ip_limit=settings.flood_ip_per_minute,
            post_digest=post_digest(comment.post_id),
            duplicate_field=duplicate_entry(comment, skel)[1] if settings.duplicate_check else "",
            duplicate_ttl=DUPLICATE_TTL_SECONDS,
            band_ids=_bands(skel, bands) if settings.campaign_check else (),
            campaign_window_ms=CAMPAIGN_WINDOW_SECONDS * 1000,
            enforce=not settings.shadow_mode,
        )

    async def prepare(
        self, site: str, text: CommentText, now: int, *, refuse_early: bool, caller: SiteCaller | None = None
    ) -> Prepared:
        """Read everything the rules need; raise a flood/duplicate refusal when it is certain.

        An unverified *caller* (a site key not yet compared with the stored digest) is checked
        with the same read: 401 before any other answer.
        """
        comment = text.comment
        stamp, cached = self._active.get(site, ("-", None))
        skel = text.prefix(FINGERPRINT_CHARS).skel
        bands: list[tuple[str, ...]] = []  # the MinHash bands, computed at most once
        # Built from the cached settings; if they turn out stale, rebuilt below (the pre-check
        # may then have skipped a duplicate/campaign read for this one submission).
        guards = self._guards(comment, cached.settings if cached else DEFAULTS, now, skel, bands)
        check_key = caller is not None and not caller.verified
        lookup = await self.reputation.lookup(text) if self.reputation is not None else Lookup()
        pre = await self.store.precheck(
            site, stamp, comment.author_email.casefold(), guards, key_hash=check_key, reputation_ids=lookup.ids
        )
        if check_key:
            assert caller is not None
            check_key_hash(caller, pre.key_hash)
        if cached is None or pre.stamp != stamp:
            cached = await self._compile(site, pre.stamp, pre.version, pre.settings_doc)
            self._active[site] = (pre.stamp, cached)
            guards = self._guards(comment, cached.settings, now, skel, bands)
        refusals = self._refusals(pre, guards)
        if refusals and refuse_early and guards.enforce:
            raise refusal_error(refusals[0])
        evidence = NO_EVIDENCE
        if self.reputation is not None and lookup.ids:
            evidence = self.reputation.evidence(lookup, pre.reputation_own, pre.reputation_shared, cached.settings)
        facts = Facts(
            approved_author=pre.approved_author,
            campaign_count=pre.campaign_count,
            refusals=tuple(map(self._reason, refusals)) if not guards.enforce else (),
            reputation=evidence,
        )
        return Prepared(cached, facts, guards)

    @staticmethod
    def _reason(refusal: Refusal) -> Reason:
        if refusal.kind == "duplicate":
            return Reason("duplicate", "the same author already posted this comment on this post")
        return flood_reason(refusal)

    @staticmethod
    def _refusals(pre: Precheck, g: Guards) -> list[Refusal]:
        # WordPress's order (wp_allow_comment): the duplicate check comes before the flood
        # check, so the same comment sent twice is a 409 duplicate, not a 429 flood.
        out: list[Refusal] = []
        if g.duplicate_field and pre.duplicate_of:
            out.append(Refusal("duplicate", existing_id=pre.duplicate_of))
        if g.flood_ms and pre.last_email_ms is not None and g.now_ms - pre.last_email_ms < g.flood_ms:
            out.append(Refusal("flood_email", retry_ms=pre.last_email_ms + g.flood_ms - g.now_ms))
        if g.ip and g.ip_limit and len(pre.ip_times_ms) >= g.ip_limit:
            times = sorted(t for t in pre.ip_times_ms if t > g.now_ms - IP_WINDOW_MS)
            if len(times) >= g.ip_limit:
                out.append(Refusal("flood_ip", retry_ms=times[len(times) - g.ip_limit] + IP_WINDOW_MS - g.now_ms))
        return out

    # ---- settings API and CLI

    async def current(self, site: str) -> tuple[int, SiteSettings]:
        if not await self.store.site_exists(site):
            raise NotFound(f"no site {site!r}")
        version, doc = await self.store.load_settings(site)
        return version, decode(doc)

    async def get(self, moderator: Moderator, site: str) -> dict[str, Any]:
        moderator.require_site(site)
        version, settings = await self.current(site)
        return settings_view(site, version, settings)

    async def put(self, moderator: Moderator, site: str, body: dict[str, Any]) -> dict[str, Any]:
        moderator.require_site(site)
        return await self.update(site, body)

    async def update(self, site: str, body: dict[str, Any]) -> dict[str, Any]:
        """Apply ``{version, <setting>: value, ...}``: 422 on bad keys, 409 on a stale version."""
        update = dict(body)
        errors = FieldErrors()
        expected = update.pop("version", None)
        if expected is None:
            errors.add("version", "required", "version is required: send the version you read (GET), 0 for a new site")
        elif isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
            errors.add("version", "type", "version must be a non-negative integer")
        version, current = await self.current(site)
        try:
            # Validating a list normalizes every entry: off the event loop, like compiling.
            merged = await asyncio.to_thread(apply_update, current, update)
        except ValidationFailed as exc:
            errors.items.extend(exc.errors)
            merged = current
        errors.raise_if_any()
        assert isinstance(expected, int)
        if expected != version:
            raise _stale(site, expected, version)
        ok, new_version = await self.store.save_settings(site, expected, encode(merged))
        if not ok:
            raise _stale(site, expected, new_version)
        if self.reputation is not None:
            await self.reputation.settings_saved(site, current, merged)
        return settings_view(site, new_version, merged)

    async def block(self, site: str, email: str | None, ip: str | None) -> dict[str, str | None]:
        """Add an author's email and/or IP to the site's block list (a moderator's spam call)."""
        for _ in range(BLOCK_ATTEMPTS):
            version, current = await self.current(site)
            merged = current
            if email and email.casefold() not in {e.casefold() for e in current.blocked_emails}:
                merged = replace(merged, blocked_emails=(*merged.blocked_emails, email.casefold()))
            if ip and ip not in current.blocked_ips:
                merged = replace(merged, blocked_ips=(*merged.blocked_ips, ip))
            if merged == current:
                break
            ok, _ = await self.store.save_settings(site, version, encode(merged))
            if ok:
                break
        else:  # pragma: no cover - needs BLOCK_ATTEMPTS concurrent edits in a row
            raise VersionConflict("the settings kept changing; the block list was not updated")
        return {"email": email.casefold() if email else None, "ip": ip}


def _stale(site: str, expected: int, current: int) -> VersionConflict:
    return VersionConflict(
        f"the settings of {site!r} changed since version {expected}; read them again and reapply your change",
        extra={"current_version": current},
    )


def settings_view(site: str, version: int, settings: SiteSettings) -> dict[str, Any]:
    return {"site": site, "version": version, "settings": to_dict(settings)}
