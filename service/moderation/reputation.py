"""Reputation: what moderators already decided about the domains, phones, handles, email
addresses and IP networks a new comment carries, on this site and on the other sites of the
service.

* A decision (moderator, API, page, WordPress through the API, Akismet submit-spam/ham) is one
  call: :meth:`Reputation.record` with the comment, the vote it had before and the vote it has
  now (:func:`vote`). Spam adds a spam mark to each of the comment's entries, approved a "not
  spam" mark; a later decision on the same comment passes the earlier vote and takes it back.
* Each site keeps its own marks (keys.reputation). A site that shares (site setting
  ``reputation_sharing``, on by default) also gives them to the others: the recording worker
  reads the entries' marks on every sharing site and writes, into each, what the *other*
  sites decided (keys.reputation_shared; see service/store/reputation.py for why, and for the
  ordering of concurrent writes).
* A submission reads both hashes of its own site in the pre-check (one round trip in all) and
  :meth:`Reputation.evidence` weighs them: its own site's marks always count; the other
  sites' count only when at least ``reputation_min_sites`` sites agree (this one included),
  and never against this site's own "not spam"; the site's allow-list and its own domain are
  never counted. One site's moderators cannot make another site's readers spam.
* Entries are stored as HMACs with the service's secret, weights decay with a half-life,
  each hash is capped, and erasure removes an author's personal entries
  (:meth:`Reputation.forget_author`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from moderation.core.schemas import CommentIn
from moderation.core.settings import Settings
from moderation.moderation.sitesettings import SiteSettings, decode
from moderation.scoring.submission import (
    DOMAIN,
    EMAIL,
    HANDLE,
    NETWORK,
    PERSONAL_KINDS,
    PHONE,
    Entry,
    entries,
    registrable,
)
from moderation.scoring.text import CommentText
from moderation.store.comments import REDIS_UNAVAILABLE, Store
from moderation.store.reputation import Delta, ReputationStore

log = logging.getLogger("moderation.reputation")

SPAM, HAM, NONE = 1, -1, 0
# Moderators reject advertising and spam for the reason the spam model exists (feedback.py).
_SPAM_REJECTIONS: Final = frozenset({"spam", "advertising"})

# How much one mark (one decision, undecayed) of each kind weighs. A /24 or /64 is shared by a
# household, an office or (behind carrier-grade NAT) thousands of a mobile carrier's customers:
# a quarter of a mark, so four net spam marks hold a network on their own.
KIND_WEIGHTS: Final = {DOMAIN: 1.0, PHONE: 1.0, HANDLE: 1.0, EMAIL: 1.0, NETWORK: 0.25}
# Net weighted marks (decayed) at which a comment is held for review, and at which it is spam
# outright. With the default 30-day half-life one mark holds for ~12 days (2^(-12/30) = 0.76),
# two for ~42; four recent marks make spam.
HOLD_AT: Final = 0.75
SPAM_AT: Final = 3.5
# Each net mark moves the spam score's log-odds by this much, at most MAX_SHIFT either way.
LOGIT_PER_MARK: Final = 1.0
MAX_SHIFT: Final = 6.0
# Sites that must agree before a shared entry counts (Settings.reputation_min_sites' default).
DEFAULT_MIN_SITES: Final = 2
# Ids: a letter for the kind, then 64 bits of HMAC-SHA256 (collisions need ~4e9 entries).
_KIND_LETTERS: Final = {DOMAIN: "d", PHONE: "p", HANDLE: "h", EMAIL: "e", NETWORK: "n"}
ID_HEX: Final = 16
# Entries per fan-out round (one HMGET of this many fields per site).
FANOUT_BATCH: Final = 500
# Below this a decayed weight is nothing (a site neither leans spam nor not spam).
_EPS: Final = 1e-3


def vote(status: str | None, reason: str | None = None) -> int:
    """A decision as a reputation vote: SPAM, HAM ("approved") or NONE (pending, rejected for
    other reasons than spam or advertising, no decision)."""
    if status == "spam" or (status == "rejected" and reason in _SPAM_REJECTIONS):
        return SPAM
    if status == "approved":
        return HAM
    return NONE


def _decay(half_life_s: float, now_s: float, t: float) -> float:
    return math.pow(2.0, -max(0.0, now_s - t) / half_life_s)


def parse_own(value: str | None, half_life_s: float, now_s: float) -> tuple[float, float]:
    """A keys.reputation value as (spam, not spam) weights decayed to *now_s*."""
    if not value:
        return 0.0, 0.0
    spam, ham, t = value.split()
    f = _decay(half_life_s, now_s, float(t))
    return float(spam) * f, float(ham) * f


@dataclass(frozen=True, slots=True)
class SharedView:
    """What the other sharing sites decided on an entry (keys.reputation_shared)."""

    spam: float
    ham: float
    spam_sites: int
    ham_sites: int


def parse_shared(value: str | None, half_life_s: float, now_s: float) -> SharedView | None:
    if not value:
        return None
    spam, ham, spam_sites, ham_sites, t, _seq = value.split()
    f = _decay(half_life_s, now_s, float(t))
    return SharedView(float(spam) * f, float(ham) * f, int(spam_sites), int(ham_sites))


@dataclass(frozen=True, slots=True)
class Match:
    """One entry's weight on this submission and what it is made of (for the reason)."""

    kind: str
    shown: str  # a domain; "" for personal data
    evidence: float  # weighted net marks: > 0 toward spam
    spam: float  # marks counted (this site's, plus the others' when they count)
    ham: float
    sites: int  # sites whose decisions lean the way of the evidence (0: this site only)


@dataclass(frozen=True, slots=True)
class Evidence:
    total: float
    matches: tuple[Match, ...] = ()

    @property
    def shift(self) -> float:
        """The log-odds this moves the spam score by."""
        return max(-MAX_SHIFT, min(MAX_SHIFT, LOGIT_PER_MARK * self.total))

    def strongest(self) -> Match | None:
        """The match that weighs most in the direction of the total (for the reason)."""
        sign = 1.0 if self.total >= 0 else -1.0
        leaning = [m for m in self.matches if m.evidence * sign > 0]
        return max(leaning, key=lambda m: abs(m.evidence), default=None)


NO_EVIDENCE: Final = Evidence(0.0)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A submission's entries and their ids, computed before the pre-check reads them."""

    entries: tuple[Entry, ...] = ()
    ids: tuple[str, ...] = ()


class Reputation:
    def __init__(
        self,
        store: Store,
        *,
        secret: str = "",
        half_life_days: float = 30.0,
        min_sites: int = DEFAULT_MIN_SITES,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.half_life_s = half_life_days * 86_400.0
        self.min_sites = max(1, min_sites)
        self.rstore = ReputationStore(store.redis, half_life_s=self.half_life_s, cap=max_entries)
        self.clock = clock
        self._configured = secret
        self._key: bytes | None = secret.encode("utf-8") if secret else None
        self._key_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> Reputation:
        return cls(
            store,
            secret=settings.reputation_secret,
            half_life_days=settings.reputation_half_life_days,
            min_sites=settings.reputation_min_sites,
            max_entries=settings.reputation_max_entries,
        )

    # ---------------------------------------------------------------- ids

    async def ready(self) -> None:
        """Resolve the HMAC key: the configured secret, else the one kept in Redis."""
        if self._key is not None:
            return
        async with self._key_lock:
            if self._key is None:
                secret = await self.rstore.fallback_secret(secrets.token_hex(32))
                log.warning(
                    "MODERATION_REPUTATION_SECRET is not set: reputation entries are keyed with a secret "
                    "kept in Redis, so a copy of Redis is enough to test guesses (phone numbers, emails) "
                    "against them; set MODERATION_REPUTATION_SECRET or MODERATION_REPUTATION_SECRET_FILE"
                )
                self._key = secret.encode("utf-8")

    def _mac(self, message: str) -> str:
        assert self._key is not None, "await Reputation.ready() first"
        # hmac.digest: OpenSSL's one-shot HMAC, no HMAC object per entry; the same first 64 bits.
        return hmac.digest(self._key, message.encode("utf-8", "surrogatepass"), "sha256")[: ID_HEX // 2].hex()

    def entry_id(self, entry: Entry) -> str:
        return _KIND_LETTERS[entry.kind] + self._mac(f"{entry.kind}:{entry.value}")

    def author_id(self, email: str) -> str:
        return "a" + self._mac("author:" + email.strip().casefold())

    async def lookup(self, text: CommentText) -> Lookup:
        """The submission's entries (allow-list applied later, with the fresh settings)."""
        found = entries(text)
        if not found:
            return Lookup()
        await self.ready()
        return Lookup(found, tuple(self.entry_id(e) for e in found))

    # ---------------------------------------------------------------- reading

    def evidence(
        self,
        lookup: Lookup,
        own: Sequence[str | None],
        shared: Sequence[str | None],
        settings: SiteSettings,
    ) -> Evidence:
        """Weigh what the pre-check read for *lookup* on a site with *settings*."""
        if not lookup.ids:
            return NO_EVIDENCE
        now = self.clock()
        allow = allowed_domains(settings)
        matches: list[Match] = []
        for entry, own_value, shared_value in zip(lookup.entries, own, shared, strict=True):
            if _allowed(entry, allow):
                continue
            spam, ham = parse_own(own_value, self.half_life_s, now)
            view = parse_shared(shared_value, self.half_life_s, now) if settings.reputation_sharing else None
            match = self._weigh(entry, spam, ham, view)
            if match is not None:
                matches.append(match)
        if not matches:
            return NO_EVIDENCE
        return Evidence(math.fsum(m.evidence for m in matches), tuple(matches))

    def _weigh(self, entry: Entry, spam: float, ham: float, view: SharedView | None) -> Match | None:
        own = spam - ham
        counted_spam, counted_ham, sites = spam, ham, 0
        net = own
        if view is not None:
            spam_sites = view.spam_sites + (own > _EPS)
            ham_sites = view.ham_sites + (own < -_EPS)
            others = view.spam - view.ham
            agreed = (others > _EPS and spam_sites >= self.min_sites) or (
                others < -_EPS and ham_sites >= self.min_sites
            )
            # This site's own "not spam" is never outvoted by the others' spam.
            if agreed and not (own < -_EPS and others > 0):
                net = own + others
                counted_spam, counted_ham = spam + view.spam, ham + view.ham
                sites = spam_sites if net > 0 else ham_sites
        if abs(net) < _EPS:
            return None
        return Match(entry.kind, entry.shown, net * KIND_WEIGHTS[entry.kind], counted_spam, counted_ham, sites)

    # ---------------------------------------------------------------- writing

    async def record(self, site: str, comment: CommentIn, before: int, after: int) -> None:
        """One decision on *comment* at *site*: its vote went from *before* to *after*
        (:func:`vote`; NONE before for a first decision). A revised decision passes the earlier
        vote as *before*, which takes it back. Redis trouble is logged, not raised: the decision
        itself is stored already."""
        if before == after:
            return
        try:
            await self._record(site, comment, before, after)
        except REDIS_UNAVAILABLE as exc:
            log.warning("reputation of a decision on site %s not recorded: %s", site, type(exc).__name__)

    async def _record(self, site: str, comment: CommentIn, before: int, after: int) -> None:
        _version, doc = await self.store.load_settings(site)
        settings = decode(doc)
        allow = allowed_domains(settings)
        found = [e for e in entries(CommentText(comment)) if not _allowed(e, allow)]
        if not found:
            return
        await self.ready()
        ids = [self.entry_id(e) for e in found]
        d_spam = float(after == SPAM) - float(before == SPAM)
        d_ham = float(after == HAM) - float(before == HAM)
        personal = [i for e, i in zip(found, ids, strict=True) if e.kind in PERSONAL_KINDS]
        now = int(self.clock())
        await self.rstore.add_own(
            site, [Delta(i, d_spam, d_ham) for i in ids], now, self.author_id(comment.author_email), personal
        )
        # The opt-out set follows the site's settings (and heals if a save died before updating it).
        if await self.rstore.set_sharing(site, settings.reputation_sharing):
            await self.sharing_changed(site, settings.reputation_sharing)
        elif settings.reputation_sharing:
            await self.fan_out(ids)

    async def fan_out(self, ids: Sequence[str], *, skip: Iterable[str] = ()) -> None:
        """Recompute the shared view of *ids* and write it into every sharing site but *skip*."""
        skipped = set(skip)
        for start in range(0, len(ids), FANOUT_BATCH):
            batch = list(dict.fromkeys(ids[start : start + FANOUT_BATCH]))
            seq = await self.rstore.next_seq()
            sites = await self.rstore.participants()
            # Read past the sites to skip too: their marks count for the others.
            probe = next((s for s in sites if s not in skipped), None)
            values, held = await self.rstore.own_values(sites, batch, probe)
            now = int(self.clock())
            views: dict[str, list[tuple[str, str]]] = {s: [] for s in sites if s not in skipped}
            for j, entry_id in enumerate(batch):
                weights = {s: parse_own(values[s][j], self.half_life_s, now) for s in sites}
                spam_sites = {s for s, (a, b) in weights.items() if a - b > _EPS}
                ham_sites = {s for s, (a, b) in weights.items() if b - a > _EPS}
                counts = len(spam_sites) >= self.min_sites or len(ham_sites) >= self.min_sites
                if not counts and held[j] is None:
                    continue  # shared nowhere before, nor now: most entries, and nothing to write
                total_spam = math.fsum(a for a, _ in weights.values())
                total_ham = math.fsum(b for _, b in weights.values())
                for target, pairs in views.items():
                    if not counts:
                        pairs.append((entry_id, ""))
                        continue
                    a, b = weights[target]
                    pairs.append((
                        entry_id,
                        f"{max(0.0, total_spam - a):.5g} {max(0.0, total_ham - b):.5g} "
                        f"{len(spam_sites - {target})} {len(ham_sites - {target})} {now}",
                    ))
            await self.rstore.write_shared(views, seq, now)

    async def sharing_changed(self, site: str, sharing: bool) -> None:
        """A site started or stopped sharing: give (or take back) its marks, take (or drop)
        the others'. Bounded by the caps: a scan of its own hashes and of one other site's view."""
        await self.rstore.set_sharing(site, sharing)
        if not sharing:
            ids = await self.rstore.shared_ids(site)
            await self.rstore.drop_shared(site)
            await self.fan_out(ids, skip={site})
            return
        ids = await self.rstore.own_ids(site)
        others = [s for s in await self.rstore.participants() if s != site]
        if others:
            ids += await self.rstore.shared_ids(others[0])
        await self.fan_out(list(dict.fromkeys(ids)))

    async def site_added(self, site: str) -> None:
        """A new site shares by default: it takes the view the sharing sites already hold, so
        what moderators decided before it existed counts for its comments from the first one."""
        await self.sharing_changed(site, True)

    async def settings_saved(self, site: str, old: SiteSettings, new: SiteSettings) -> None:
        """Hook for settings saves (rules.Rules.update)."""
        if old.reputation_sharing != new.reputation_sharing:
            await self.sharing_changed(site, new.reputation_sharing)

    # ---------------------------------------------------------------- erasure

    async def forget_author(self, site: str, email: str) -> int:
        """Erasure: the author's email, phone, handle and network entries leave the site (its own
        marks and its copy of the others' view), and the other sites' views stop counting this
        site's marks on them. Domains stay (they name no one). Returns the fields removed."""
        await self.ready()
        email_id = self.entry_id(Entry(EMAIL, email.strip().casefold()))
        removed, ids = await self.rstore.forget(site, self.author_id(email), [email_id])
        if ids:
            await self.fan_out(ids, skip={site})
        return removed


def allowed_domains(settings: SiteSettings) -> frozenset[str]:
    # "www.baotinh.vn" on the list allows baotinh.vn: entries are registrable domains.
    names = (d.lower().lstrip("@.") for d in settings.reputation_allow)
    return frozenset(registrable(n) or n for n in names)


def _allowed(entry: Entry, allow: frozenset[str]) -> bool:
    if not allow:
        return False
    if entry.kind == DOMAIN:
        return entry.value.split("/", 1)[0] in allow
    if entry.kind == EMAIL:
        return registrable(entry.value.rpartition("@")[2]) in allow
    return False


__all__ = ["HAM", "HANDLE", "NONE", "SPAM", "Evidence", "Lookup", "Match", "Reputation", "vote"]
