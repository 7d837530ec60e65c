"""Every Redis key the service uses, defined once.

All keys that belong to a site carry the hash tag ``{site_id}``: Redis Cluster
hashes only the part between braces, so every key of a site lives in one slot
and the multi-key scripts and MULTI/EXEC blocks below stay legal on a cluster.
"""

from __future__ import annotations

# Global registry of sites (a set of site ids). Lives forever.
SITES = "sites"
# Key hash -> site id, for site API keys. Lives until the key is rotated.
API_KEY_PREFIX = "apikey:"
# Token hash -> JSON {name, sites}, for moderator tokens. Lives until revoked.
MOD_TOKEN_PREFIX = "modtoken:"
# Akismet-style key hash -> site id. Such a key (a host-name label) cannot name its site, so
# this global string finds it; the site's meta hash holds the current digest, which is what
# makes a key valid. Replaced (the old one deleted) when the key is rotated.
AKISMET_KEY_PREFIX = "akismetkey:"

# Consumer group of every review stream.
REVIEW_GROUP = "moderators"

STATUSES = ("pending", "approved", "spam", "rejected")


def api_key(key_hash: str) -> str:
    return API_KEY_PREFIX + key_hash


def mod_token(token_hash: str) -> str:
    return MOD_TOKEN_PREFIX + token_hash


def akismet_key(key_hash: str) -> str:
    return AKISMET_KEY_PREFIX + key_hash


# Session id hash -> JSON {moderator token hash, name, csrf token} for the moderator's page.
# Created by sign-in with a TTL (Settings.session_seconds), deleted by sign-out.
SESSION_PREFIX = "modsession:"


def session(session_hash: str) -> str:
    return SESSION_PREFIX + session_hash


def site_meta(site: str) -> str:
    """Hash: name, created_at, current api key hash (key_hash), current Akismet-style key
    digest (akismet_key_hash: PBKDF2 for a 12-digit key, SHA-256 for an older 48-digit one),
    webhook url and secret. Lives with the site."""
    return f"site:{{{site}}}:meta"


def comment(site: str, comment_id: str) -> str:
    """Hash: one comment, its latest decision, its revision (rev) and the history of its
    decisions (history, the newest comments.HISTORY_MAX). Pending: lives until decided; decided:
    removed by the retention sweep (service/moderation/retention.py) once the site's
    retention_days have passed since its latest decision, or by erasure."""
    return f"site:{{{site}}}:c:{comment_id}"


def status_index(site: str, status: str) -> str:
    """Sorted set of comment ids by created_at (ms) for one status; pages the queue views.

    An entry leaves with its comment (decision, retention sweep, erasure)."""
    return f"site:{{{site}}}:idx:{status}"


def decided(site: str) -> str:
    """Sorted set: id of every decided comment -> ms of its latest decision; the retention
    sweep reads it oldest first (a range read, never a scan). Pending comments are not in it."""
    return f"site:{{{site}}}:idx:decided_at"


def authors(site: str) -> str:
    """Sorted set (all scores 0) of ``<author prefix><comment id>`` for every stored comment:
    erasure finds one author's comments with a lex range instead of a scan. The prefix is the
    first AUTHOR_PREFIX_CHARS of the author's email digest (store/retention.author_prefix).
    An entry leaves with its comment. One key per site, not per author: a key costs about
    twice a member, and most authors write one comment."""
    return f"site:{{{site}}}:authors"


def sweep_lock(site: str) -> str:
    """String: token of the worker sweeping (or erasing on) the site; expires on its own."""
    return f"site:{{{site}}}:sweep"


def retention_parked(site: str) -> str:
    """Sorted set: id of a due comment the sweep could not read or archive -> ms of its next try.

    Set aside from the decided-at index (with its reason in retention_parked_reasons) so the
    rest of the site's sweep goes on; put back into the index when its next try is due, and
    dropped with the comment (sweep, erasure)."""
    return f"site:{{{site}}}:ret:parked"


def retention_parked_reasons(site: str) -> str:
    """Hash: parked comment id -> why it was parked (see retention_parked); leaves with the entry."""
    return f"site:{{{site}}}:ret:parked:why"


def archive_marker(site: str) -> str:
    """String: set (to the ms of the first write) once the sweep has written any of the site's
    comments to the archive. Erasure and sweeps refuse to run without the archive folder
    while it is set, so the archive's copy is never skipped. Lives with the site; removed by
    `moderation archive detach`."""
    return f"site:{{{site}}}:archived"


def audit(site: str) -> str:
    """Stream of erasures (who, when, how many records; never the email). Capped."""
    return f"site:{{{site}}}:audit"


def review_stream(site: str) -> str:
    """Stream of pending items; the consumer group hands out leases (XREADGROUP/XAUTOCLAIM)."""
    return f"site:{{{site}}}:review"


def idempotency(site: str, key: str) -> str:
    """String: request hash + stored reply for an Idempotency-Key; expires after the TTL."""
    return f"site:{{{site}}}:idem:{key}"


def settings(site: str) -> str:
    """Hash: ``doc`` (JSON of the site's moderation settings) and ``version`` (a counter).

    Written only by compare-and-set on ``version`` (store._SAVE_SETTINGS_LUA). Lives with the site.
    """
    return f"site:{{{site}}}:settings"


def labels(site: str) -> str:
    """Stream of labelled examples from moderator decisions (feedback loop). Compact entries
    (text, label, who, when; no email, IP or comment id) that outlive their comments; capped
    at comments.LABELS_MAXLEN entries."""
    return f"site:{{{site}}}:labels"


def label_authors(site: str) -> str:
    """Sorted set (scores 0) of ``<author digest><label entry id>`` for every label that names
    its author (field ``a``): erasure finds the author's labels with a lex range instead of
    reading the log. Written with the label; an entry leaves when its label is trimmed from
    the log or stripped by erasure."""
    return f"site:{{{site}}}:labels:authors"


def akismet_reports(site: str) -> str:
    """Hash: ``missed_spam:YYYY-MM`` / ``false_positives:YYYY-MM`` -> submit-spam / submit-ham
    reports that month, for Akismet's get-stats. Lives with the site."""
    return f"site:{{{site}}}:akismet:reports"


def moderators(site: str) -> str:
    """Hash: moderator name -> hash of the name's newest token, for listing."""
    return f"site:{{{site}}}:moderators"


def coral_seen(site: str, body_digest: str) -> str:
    """String: a Coral request (by body digest) already answered; refused if it comes again.

    Coral signs only the body, with no timestamp, so a captured request stays valid; this
    marker makes each one usable once. Expires after coral.REPLAY_WINDOW_SECONDS.
    """
    return f"site:{{{site}}}:coral:seen:{body_digest}"


def moderator_tokens(site: str, name: str) -> str:
    """Set: hash of every token ever issued to the moderator ``name`` for this site.

    A token works for a site only while its hash is in here (auth.moderator_by_digest), so
    revoking a name empties it and ends every token and page session of that name at
    once, re-issued ones included. Deleted by revocation; lives with the site.
    """
    return f"site:{{{site}}}:modtokens:{name}"


def approved_authors(site: str) -> str:
    """Set of normalized emails with at least one approved comment (trusted authors)."""
    return f"site:{{{site}}}:authors:approved"


def rate_ip(ip: str, window: int) -> str:
    """Counter of one client IP's requests in one rate-limit window; expires with it."""
    return f"rl:ip:{ip}:{window}"


def key_guesses(address_prefix: str, window: int) -> str:
    """Counter of failed Akismet-style key checks from one client address (IPv4) or /48
    (IPv6) in one hour; expires with its window (ratelimit.GUESS_WINDOW_SECONDS)."""
    return f"rl:guess:{address_prefix}:{window}"


def rate_credential(digest: str, window: int) -> str:
    """Counter of one key's or token's requests (by digest) in one window; expires with it."""
    return f"rl:key:{digest}:{window}"


# Sites with a webhook configured (a set of site ids); the delivery loop walks it. Entries
# live until `moderation sites webhook SITE --disable`.
WEBHOOK_SITES = "webhook:sites"


def models_generation(models_dir: str) -> str:
    """Counter bumped when the models in ``models_dir`` (a resolved path) were replaced; every
    worker serving that directory polls it and reloads on a change. Lives forever."""
    import hashlib

    return "models:generation:" + hashlib.sha256(models_dir.encode("utf-8")).hexdigest()[:16]


def webhook_event(site: str, event_id: str) -> str:
    """Hash: body, attempts, last_error of one outgoing webhook event.

    Written by the submit/decide scripts in the same step as the decision; deleted when
    delivered; kept (listed in webhook_dead) after the last failed attempt until redelivered.
    """
    return f"site:{{{site}}}:wh:{event_id}"


def webhook_due(site: str) -> str:
    """Sorted set: undelivered event id -> ms of its next attempt (or of its lease's end)."""
    return f"site:{{{site}}}:wh:due"


def webhook_dead(site: str) -> str:
    """Sorted set: event id -> ms it was given up on (dead letters, and events parked because
    they could not be read or sent, with the reason in the event's ``last_error``); emptied by
    redelivery, by the retention sweep (with the comments' cutoff) and by erasure."""
    return f"site:{{{site}}}:wh:dead"


def webhook_authors(site: str) -> str:
    """Sorted set (scores 0) of ``<author digest><event id>`` for every queued event and dead
    letter: erasure finds one author's events with a lex range instead of reading the outbox.
    Written with the event (submit, decide, recheck scripts); an entry leaves with its event."""
    return f"site:{{{site}}}:wh:authors"


# ---- moderation rules (service/policy.py); every key below expires on its own.


def flood_email(site: str, email_digest: str) -> str:
    """String: ms of the author's last accepted comment (by email digest, not the address).

    Expires after the site's flood window (PX flood_seconds).
    """
    return f"site:{{{site}}}:flood:e:{email_digest}"


def flood_ip(site: str, ip: str) -> str:
    """Sorted set: ids of the IP's accepted comments in the last minute, scored by ms.

    Trimmed to the window and the per-minute limit on each write; expires 60 s after the last.
    """
    return f"site:{{{site}}}:flood:ip:{ip}"


def post_duplicates(site: str, post_digest: str) -> str:
    """Hash: duplicate fingerprint (author + normalized content) -> comment id, for one post.

    Expires campaign.DUPLICATE_TTL_SECONDS after the post's last comment.
    """
    return f"site:{{{site}}}:dup:{post_digest}"


def campaign_band(site: str, band_id: str) -> str:
    """Sorted set: ids of comments whose MinHash band hashed to band_id, scored by ms.

    Trimmed to the campaign window on each write and expires with it (10 minutes).
    """
    return f"site:{{{site}}}:camp:{band_id}"


def stats_day(site: str, day: str) -> str:
    """Hash: one day's dashboard counters (service/store/stats.py lists the fields).

    Incremented by the submit, decide and recheck scripts; the day's first write sets its
    expiry to stats.TTL_SECONDS, and a day is written only while it is today.
    """
    return f"site:{{{site}}}:stats:{day}"


# ---- reputation (service/moderation/reputation.py, its scripts in service/store/reputation.py).
# Entry ids are HMACs (Settings.reputation_secret) of what they name, never the value itself.


def reputation(site: str) -> str:
    """Hash: entry id -> ``"spam ham t"``, the site's own moderators' decisions on it (weights
    decayed to t, Unix seconds). At most Settings.reputation_max_entries fields (sampled
    eviction of the weakest); a field leaves by eviction, erasure or when both weights are spent.
    """
    return f"site:{{{site}}}:rep"


def reputation_shared(site: str) -> str:
    """Hash: entry id -> ``"spam ham spam_sites ham_sites t seq"``, the other sharing sites'
    decisions on an entry that enough sites agree on, materialised here by the deciding worker
    (fan-out on write) so a submission reads it from its own slot. ``seq`` orders the writes
    (keys.REPUTATION_SEQ). Capped and evicted like keys.reputation; a site that stops sharing
    loses it whole."""
    return f"site:{{{site}}}:rep:shared"


def reputation_authors(site: str) -> str:
    """Hash: author id (HMAC of the email) -> the ids of the personal entries (email, phones,
    handles, network) the author's decided comments added, for erasure. Capped like keys.reputation."""
    return f"site:{{{site}}}:rep:authors"


# Counter: taken by every fan-out after its own write and before it reads the sites, so the
# view with the highest number has seen every earlier write (service/store/reputation.py).
# Lives forever (an integer).
REPUTATION_SEQ = "reputation:seq"
# Set of site ids that opted out of sharing (site setting reputation_sharing false): the
# fan-out writes to every site in SITES but these. Kept by settings saves; lives forever.
REPUTATION_OPTOUT = "reputation:optout"
# String: the reputation HMAC key used when no secret is configured (development and tests;
# the service warns at startup). Lives forever.
REPUTATION_FALLBACK_SECRET = "reputation:secret"
