"""The OpenAPI 3.1 document served at /openapi.json.

Request and reply bodies that are msgspec Structs (CommentIn, Verdict, DecisionIn, ClaimIn and
what they contain) are described by ``msgspec.json.schema_components`` from the Structs
themselves, field docs and limits included; the paths, parameters and the few bodies that are
plain dicts (problems, pages, settings) are written here.
"""

from __future__ import annotations

from typing import Any

import msgspec

from moderation.core import schemas
from moderation.core.schemas import ClaimIn, CommentIn, DecisionIn
from moderation.moderation.operations import Verdict

_STR = {"type": "string"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMMON_ERRORS = {
    "401": _problem("Missing or unknown credentials"),
    "503": _problem("Storage unavailable; retry after the Retry-After header"),
}
BODY_ERRORS = {
    "400": _problem("Malformed JSON"),
    "413": _problem("Body too large"),
    "415": _problem("Not application/json"),
    "422": _problem("Invalid fields, one entry per field"),
}


# Every JSON body the service decodes into, or encodes from, a msgspec Struct is described by
# that Struct: the document cannot drift from the code.
_STRUCTS = (CommentIn, Verdict, DecisionIn, ClaimIn)


def _struct_schemas() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(_STRUCTS, ref_template="#/components/schemas/{name}")
    # The stored verdict leaves created_at out (the comment hash keeps the time); every
    # reply and view carries it.
    verdict = components["Verdict"]
    verdict["required"] = [*verdict["required"], "created_at"]
    verdict["properties"]["created_at"].pop("default")
    return components


def _comment_view(verdict: dict[str, Any]) -> dict[str, Any]:
    """A stored comment as GET /v1/comments/{id} and the review queue show it: the verdict
    (msgspec.to_builtins of the stored one) plus where it stands now."""
    return {
        **verdict,
        "title": "CommentView",
        "description": "The verdict the comment got, and its status and decision now.",
        "properties": {
            **verdict["properties"],
            "id": _STR,
            "auto_status": _STR,
            "post_id": _STR,
            "decision": {"type": ["object", "null"], "description": "The latest decision, null until one."},
            "revision": {
                "type": "integer",
                "minimum": 0,
                "description": "0 for the automatic verdict, one more per decision or recheck; send it back as "
                "expected_revision to decide only if nothing changed since.",
            },
            "history": {
                "type": "array",
                "description": "Every status the comment had, oldest first (the automatic verdict, then each "
                "decision or recheck; the newest 50 decisions).",
                "items": {
                    "type": "object",
                    "required": ["revision", "status", "previous", "by", "at", "via", "note", "reason"],
                    "properties": {
                        "revision": {"type": "integer"},
                        "status": _STR,
                        "previous": {"type": ["string", "null"], "description": "The status it replaced"},
                        "by": {"type": "string", "description": "auto, recheck or the moderator's name"},
                        "at": {"type": "string", "format": "date-time"},
                        "via": {
                            "type": ["string", "null"],
                            "description": "submit, recheck, api (a moderator token), page (the moderator's page) "
                            "or akismet (submit-spam / submit-ham)",
                        },
                        "note": {"type": ["string", "null"]},
                        "reason": {"type": ["string", "null"]},
                    },
                },
            },
            "comment": {**_ref("CommentIn"), "description": "Moderator views only."},
            "claim": {"type": ["object", "null"], "description": "Moderator views only."},
        },
    }


def _session_paths() -> dict[str, Any]:
    """Sign-in for the moderator's page (GET /moderate serves the page itself)."""
    session = _json(
        "The signed-in moderator",
        {
            "type": "object",
            "required": ["moderator", "sites", "csrf_token"],
            "properties": {
                "moderator": _STR,
                "sites": {"type": "array", "items": _STR},
                "csrf_token": _STR,
                "undo_seconds": {"type": "number"},
                "poll_seconds": {"type": "number"},
                "lease_seconds": {"type": "integer"},
            },
        },
    )
    return {
        "get": {
            "operationId": "currentSession",
            "summary": "The signed-in moderator; 204 when there is no session (401: its token was revoked)",
            "security": [{"moderatorSession": []}],
            "responses": {
                "200": session,
                "204": {"description": "Not signed in: no session cookie, or no session behind it"},
                **COMMON_ERRORS,
            },
        },
        "post": {
            "operationId": "signIn",
            "summary": "Exchange a moderator token for a session cookie",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"type": "object", "required": ["token"], "properties": {"token": _STR}}
                    }
                },
            },
            "responses": {
                "201": session,
                **BODY_ERRORS,
                "403": _problem("Cross-site request refused"),
                **COMMON_ERRORS,
            },
        },
        "delete": {
            "operationId": "signOut",
            "summary": "Delete the session",
            "security": [{"moderatorSession": [], "csrfToken": []}],
            "responses": {"204": {"description": "Signed out"}, "403": _problem("Missing or wrong CSRF token")},
        },
    }


_AKISMET_FIELDS = (
    "api_key", "blog", "user_ip", "user_agent", "referrer", "permalink", "comment_type", "comment_author",
    "comment_author_email", "comment_author_url", "comment_content", "comment_date_gmt", "blog_lang",
    "blog_charset", "user_role", "is_test", "recheck_reason", "honeypot_field_name", "POST_ak_hp_textarea",
)
# Where an Akismet call finds its key: the form (``key``, then ``api_key``), else the first
# label of the Host header (``<key>.<host>``, for a site's Akismet-style key).
_AKISMET_KEY_NOTE = (
    " The key: `key` or `api_key` in the form (the site's Akismet-style key, 12 hex digits, or its "
    "API key), or the Akismet-style key as the first label of the host name (`<key>.<host>`)."
)


def _form(required: list[str], names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": required,
                    "properties": {n: _STR for n in names},
                    "additionalProperties": _STR,
                }
            }
        },
    }


def _plain(description: str, values: list[str]) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string", "enum": values}}}}


def _integration_paths() -> dict[str, Any]:
    """The Akismet-compatible form endpoints and Coral's external moderation phase."""
    thanks = "Thanks for making the web a better place."
    akismet_headers = {
        "X-akismet-pro-tip": {
            "description": "`discard` for blatant spam or a filled honeypot, only where the site's "
            "`akismet_discard` setting is on",
            "schema": _STR,
        },
        "X-akismet-debug-help": {"description": "Why the key or request was refused", "schema": _STR},
        "X-Moderation-Status": {"description": "approved, pending, spam or rejected", "schema": _STR},
        "X-Moderation-Id": {"description": "Id of the stored comment", "schema": _STR},
    }
    # Failed checks of Akismet-style keys (48 bits) are limited per client address.
    guesses = {"429": _problem("Too many failed key checks from this address this hour (Retry-After)")}
    submit = {
        "description": _AKISMET_KEY_NOTE.strip(),
        "requestBody": _form(["blog"], _AKISMET_FIELDS),
        "responses": {"200": _plain("Recorded as a labelled example", [thanks, "invalid"]), **guesses},
    }

    def account(operation: str, summary: str, fields: tuple[str, ...], doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": {
                "operationId": operation,
                "summary": summary,
                "description": _AKISMET_KEY_NOTE.strip(),
                "requestBody": _form([], fields),
                "responses": {
                    "200": {
                        "description": "The figures, or `invalid` for a bad key",
                        "content": {"application/json": {"schema": doc},
                                    "text/plain": {"schema": {"type": "string", "enum": ["invalid"]}}},
                    },
                    "400": _plain("A malformed field (see X-akismet-debug-help)", []),
                    **guesses,
                },
            }
        }

    number = {"type": "number"}
    return {
        "/1.1/verify-key": {
            "post": {
                "operationId": "akismetVerifyKey",
                "summary": "Akismet: is this key (the site's API key or its Akismet-style key) valid?",
                "description": _AKISMET_KEY_NOTE.strip(),
                "requestBody": _form([], ("key", "api_key", "blog")),
                "responses": {"200": _plain("valid or invalid", ["valid", "invalid"]), **guesses},
            }
        },
        "/1.1/test": {
            "get": {
                "operationId": "akismetConnectivityTest",
                "summary": "Akismet: the connectivity test of WordPress's Akismet settings screen",
                "responses": {"200": _plain("Always `connected`", ["connected"])},
            }
        },
        "/1.1/get-subscription": account(
            "akismetGetSubscription", "Akismet: the key's account, as WordPress's settings screen reads it",
            ("key", "api_key", "blog"),
            {"type": "object", "properties": {
                "account_id": _STR, "account_name": _STR, "account_type": _STR, "status": _STR,
                "next_billing_date": {"type": ["integer", "null"]}, "limit_reached": {"type": "boolean"}}},
        ),
        "/1.1/get-stats": account(
            "akismetGetStats", "Akismet: spam, ham, missed spam and false positives over a window",
            ("key", "api_key", "blog", "from", "to"),
            {"type": "object", "properties": {
                "spam": number, "ham": number, "missed_spam": number, "false_positives": number,
                "accuracy": number}},
        ),
        "/1.2/usage-limit": account(
            "akismetUsageLimit", "Akismet: the key's monthly limit (none here) and this month's comments",
            ("key", "api_key"),
            {"type": "object", "properties": {
                "limit": _STR, "usage": number, "percentage": {"type": ["number", "null"]},
                "throttled": {"type": "boolean"}}},
        ),
        "/1.1/comment-check": {
            "post": {
                "operationId": "akismetCommentCheck",
                "summary": "Akismet: true for spam; stores the comment (re-checks too) unless is_test=1",
                "description": _AKISMET_KEY_NOTE.strip(),
                "requestBody": _form(["blog"], _AKISMET_FIELDS),
                "responses": {
                    "200": {**_plain("true, false, or invalid for a bad key", ["true", "false", "invalid"]),
                            "headers": akismet_headers},
                    "400": _plain("A required field is missing or malformed", []),
                    **guesses,
                },
            }
        },
        "/1.1/submit-spam": {"post": {"operationId": "akismetSubmitSpam", **submit}},
        "/1.1/submit-ham": {"post": {"operationId": "akismetSubmitHam", **submit}},
        "/v1/integrations/coral/{site}": {
            "post": {
                "operationId": "coralExternalModeration",
                "summary": "Coral Talk external moderation phase (signed with the phase's secret)",
                "parameters": [
                    {"name": "site", "in": "path", "required": True, "schema": _STR},
                    {"name": "X-Coral-Signature", "in": "header", "required": True,
                     "schema": _STR, "description": "sha256=<hex HMAC-SHA256 of the body>"},
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["comment"],
                                "properties": {
                                    "action": _STR,
                                    "comment": {
                                        "type": "object",
                                        "properties": {
                                            "id": _STR,
                                            "body": _STR,
                                            "parentID": {"type": ["string", "null"]},
                                        },
                                    },
                                    "author": {"type": "object"},
                                    "story": {"type": "object", "properties": {"id": _STR, "url": _STR}},
                                    "site": {"type": "object"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(
                        "A moderation action and/or flags",
                        {
                            "type": "object",
                            "properties": {
                                "moderationAction": {
                                    "type": "object",
                                    "properties": {
                                        "status": {"type": "string", "enum": ["REJECTED", "SYSTEM_WITHHELD"]},
                                        "rejectionReason": {"type": "object", "properties": {"code": _STR}},
                                    },
                                },
                                "actions": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                    ),
                    "204": {"description": "No opinion (or no answer within the time budget)"},
                    "400": _problem("Malformed JSON"),
                    "401": _problem("Unknown site, no Coral secret configured, or a bad signature"),
                    "413": _problem("Body too large"),
                    "422": _problem("comment.body missing"),
                },
            }
        },
    }


def _erasure() -> dict[str, Any]:
    from dataclasses import fields

    from moderation.moderation.retention import ForgetReport

    counts = [f.name for f in fields(ForgetReport)]
    return {
        "type": "object",
        "required": ["site", "at", "removed"],
        "properties": {
            "site": _STR,
            "at": {"type": "string", "format": "date-time"},
            "removed": {
                "type": "object",
                "description": "comments: stored comments removed (pending: of which in the review queue); "
                "replies: stored Idempotency-Key replies naming them; events: queued webhook events and dead "
                "letters; labels: labels stripped of the author's name and digest (text and decision stay for "
                "retraining); archived: archive records removed; flood: rule windows keyed by the email or "
                "an IP the author used; trusted, blocked_emails, blocked_ips: entries naming the author; "
                "reputation: the author's reputation entries (email, phones, handles, IP network, stored as "
                "keyed hashes) removed from the site",
                "required": counts,
                "properties": {c: {"type": "integer", "minimum": 0} for c in counts},
            },
            "notices": {
                "type": "array", "items": _STR,
                "description": "What the operator should know, e.g. a blocked IP range holding an address the "
                "author used, which is kept (a range blocks a network, not one person)",
            },
        },
    }


def _readyz() -> dict[str, Any]:
    count = {"type": "integer", "minimum": 0}
    loop = {
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "stale"]},
            "period_seconds": {"type": "number"},
            "last_success_seconds_ago": {"type": ["number", "null"]},
            "failures": count, "failing_sites": count, "stale_sites": count, "parked_items": count,
        },
    }
    return {
        "type": "object",
        "required": ["status", "redis", "model_version"],
        "properties": {
            "status": {"type": "string", "enum": ["ready", "degraded"]},
            "redis": _STR,
            "model_version": _STR,
            "loops": {"type": "object", "additionalProperties": loop},
        },
    }


_TOXICITY_HOLDS = {
    "offensive_hold_at": "P(OFFENSIVE) at or above this holds the comment for a moderator (offensive)",
    "hate_hold_at": "P(HATE) at or above this holds the comment for a moderator (hate_speech), unless "
    "hate_auto_reject_at rejects it",
}


def _site_settings_schema() -> dict[str, Any]:
    from moderation.moderation import sitesettings

    props: dict[str, Any] = {}
    for name, default in sitesettings.to_dict(sitesettings.DEFAULTS).items():
        if isinstance(default, bool):
            props[name] = {"type": "boolean", "default": default}
        elif isinstance(default, list):
            props[name] = {
                "type": "array",
                "items": {"type": "string", "maxLength": sitesettings.MAX_ENTRY_CHARS},
                "maxItems": sitesettings.MAX_LIST_ENTRIES,
                "default": default,
            }
        elif name == "retention_days":
            props[name] = {"type": "number", "minimum": sitesettings.MIN_RETENTION_DAYS,
                           "maximum": sitesettings.MAX_RETENTION_DAYS,
                           "default": default, "description": "Days after its decision a decided comment "
                           "leaves Redis (fractions allowed, at least one hour); pending comments never expire"}
        elif name == "hate_auto_reject_at":
            props[name] = {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 1, "default": default,
                           "description": "Off (null) by default: toxic comments are held for a moderator. "
                           "A number turns on automatic rejection: P(HATE) at or above it is rejected "
                           "(hate_speech); it must not be below hate_hold_at"}
        elif isinstance(default, float):
            props[name] = {"type": "number", "minimum": 0, "maximum": 1, "default": default}
            if name in _TOXICITY_HOLDS:
                props[name]["description"] = _TOXICITY_HOLDS[name]
        elif isinstance(default, int):
            props[name] = {"type": "integer", "minimum": 0, "default": default}
        else:
            props[name] = {"type": "string", "enum": list(sitesettings.MODES), "default": default}
    return {"type": "object", "properties": props, "additionalProperties": False}


def _settings_paths(mod_auth: list[dict[str, list[str]]]) -> dict[str, Any]:
    site = [{"name": "site", "in": "path", "required": True, "schema": _STR}]
    view = {
        "type": "object",
        "required": ["site", "version", "settings"],
        "properties": {"site": _STR, "version": {"type": "integer"}, "settings": _ref("SiteSettings")},
    }
    update = {
        "type": "object",
        "required": ["version"],
        "description": "The version read with GET plus the settings to change; null resets a setting "
        "to its default; settings not named keep their value.",
        "properties": {"version": {"type": "integer", "minimum": 0}, **_site_settings_schema()["properties"]},
        "additionalProperties": False,
    }
    return {
        "get": {
            "operationId": "getSiteSettings",
            "summary": "The site's effective moderation settings and their version",
            "security": mod_auth,
            "parameters": site,
            "responses": {
                "200": _json("Effective settings", view),
                "403": _problem("No access to this site"),
                "404": _problem("No such site"),
                **COMMON_ERRORS,
            },
        },
        "put": {
            "operationId": "putSiteSettings",
            "summary": "Change settings (compare-and-set on version)",
            "security": mod_auth,
            "parameters": site,
            "requestBody": {"required": True, "content": {"application/json": {"schema": update}}},
            "responses": {
                "200": _json("Saved; the new version", view),
                **BODY_ERRORS,
                "403": _problem("No access to this site"),
                "404": _problem("No such site"),
                "409": _problem("version is not the current one (code version_conflict); read again"),
                **COMMON_ERRORS,
            },
        },
    }


def _counts(names: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(names),
        "properties": {n: {"type": "integer", "minimum": 0} for n in names},
    }


def _site_stats_schema() -> dict[str, Any]:
    seconds: dict[str, Any] = {"type": ["number", "null"], "minimum": 0}
    by_code = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
    share = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
    statuses = ("pending", "approved", "spam", "rejected")
    final = ("approved", "spam", "rejected")
    ttd = {
        "type": "object",
        "description": "Moderator decisions on held comments, by time since submission; percentiles "
        "estimated from a histogram as Prometheus' histogram_quantile does",
        "required": ["count", "mean_seconds", "p50_seconds", "p90_seconds", "p99_seconds"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "mean_seconds": seconds,
            "p50_seconds": seconds,
            "p90_seconds": seconds,
            "p99_seconds": seconds,
            "buckets": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["le_seconds", "count"],
                    "properties": {
                        "le_seconds": {"type": ["integer", "null"], "description": "upper bound; null: open"},
                        "count": {"type": "integer", "minimum": 0},
                    },
                },
            },
        },
    }
    figures = {
        "submitted": {"type": "integer", "minimum": 0},
        "auto": {**_counts(statuses), "description": "stored comments by their automatic outcome"},
        "decided": {**_counts(final), "description": "moderator decisions"},
        "rechecked": {**_counts(final), "description": "pending comments moved by a newer model"},
        "spam_share": {**share, "description": "automatic spam / submitted; null without submissions"},
        "reasons": {**by_code, "description": "reason codes of the stored comments"},
        "decision_reasons": {**by_code, "description": "reasons moderators gave"},
        "time_to_decision": ttd,
    }
    day = {
        "type": "object",
        "required": ["day", *figures],
        "properties": {"day": {"type": "string", "format": "date"}, **figures},
    }
    return {
        "type": "object",
        "required": ["site", "days", "utc_offset_minutes", "from", "to", "daily", "totals", "queue"],
        "properties": {
            "site": _STR,
            "days": {"type": "integer"},
            "utc_offset_minutes": {"type": "integer"},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "daily": {"type": "array", "items": day, "description": "oldest first, today last"},
            "totals": {"type": "object", "required": list(figures), "properties": figures},
            "queue": {
                "type": "object",
                "description": "The pending queue now; ages exact, from the queue's time order",
                "required": ["pending", "oldest_seconds", "p50_seconds", "p90_seconds"],
                "properties": {
                    "pending": {"type": "integer", "minimum": 0},
                    "oldest_seconds": seconds,
                    "p50_seconds": seconds,
                    "p90_seconds": seconds,
                },
            },
        },
    }


def _stats_path(mod_read_auth: list[dict[str, list[str]]]) -> dict[str, Any]:
    return {
        "get": {
            "operationId": "getSiteStats",
            "summary": "Dashboard figures: per-day counts by status and reason, spam share, "
            "time to decision and queue age",
            "description": "Days are calendar days at MODERATION_STATS_UTC_OFFSET_MINUTES (default +420, "
            "Vietnam). Counters are kept 90 days.",
            "security": mod_read_auth,
            "parameters": [
                {"name": "site", "in": "path", "required": True, "schema": _STR},
                {
                    "name": "days",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 90, "default": 14},
                },
            ],
            "responses": {
                "200": _json("The site's figures", _ref("SiteStats")),
                "403": _problem("No access to this site"),
                "404": _problem("No such site"),
                "422": _problem("days out of range"),
                **COMMON_ERRORS,
            },
        }
    }


def build_spec() -> dict[str, Any]:
    site_auth: list[dict[str, list[str]]] = [{"siteKey": []}]
    # The moderator's page uses a session cookie; its state-changing calls add the CSRF header.
    mod_auth: list[dict[str, list[str]]] = [{"moderatorToken": []}, {"moderatorSession": [], "csrfToken": []}]
    mod_read_auth: list[dict[str, list[str]]] = [{"moderatorToken": []}, {"moderatorSession": []}]
    comment_body = _body("CommentIn")
    structs = _struct_schemas()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Comment moderation service",
            "version": "1",
            "description": "Spam and toxicity scoring, per-site rules and a review queue for news comments.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "siteKey": {"type": "http", "scheme": "bearer", "description": "A site API key (sk-...)."},
                "moderatorToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A moderator token (mt-...).",
                },
                "moderatorSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "mod_session",
                    "description": "Session cookie set by POST /moderate/session (HttpOnly, SameSite=Strict).",
                },
                "csrfToken": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-Token",
                    "description": "The session's csrf_token; required with the cookie on POST/DELETE.",
                },
            },
            "schemas": {
                **structs,
                "CommentView": _comment_view(structs["Verdict"]),
                "SiteSettings": _site_settings_schema(),
                "Erasure": _erasure(),
                "SiteStats": _site_stats_schema(),
                # ProblemError.body(): a dict, since problems add their own members.
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": _STR,
                        "title": _STR,
                        "status": {"type": "integer"},
                        "detail": _STR,
                        "code": _STR,
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["field", "code", "message"],
                                "properties": {"field": _STR, "code": _STR, "message": _STR},
                            },
                        },
                    },
                },
            },
        },
        "paths": {
            "/v1/comments": {
                "post": {
                    "operationId": "submitComment",
                    "summary": "Submit a comment: score, decide and store it",
                    "security": site_auth,
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "maxLength": schemas.MAX_IDEMPOTENCY_KEY_CHARS},
                        }
                    ],
                    "requestBody": comment_body,
                    "responses": {
                        "202": _json("Accepted and decided", _ref("Verdict")),
                        **BODY_ERRORS,
                        **COMMON_ERRORS,
                        "409": _problem("Duplicate comment"),
                        "429": _problem("Flood or rate limit; see Retry-After"),
                    },
                }
            },
            "/v1/check": {
                "post": {
                    "operationId": "checkComment",
                    "summary": "Score and decide without storing",
                    "security": site_auth,
                    "requestBody": comment_body,
                    "responses": {
                        "200": _json("Decision", _ref("Verdict")),
                        **BODY_ERRORS,
                        **COMMON_ERRORS,
                        "429": _problem("Rate limited"),
                    },
                }
            },
            "/v1/comments/{comment_id}": {
                "get": {
                    "operationId": "getComment",
                    "security": site_auth,
                    "parameters": [{"name": "comment_id", "in": "path", "required": True, "schema": _STR}],
                    "responses": {
                        "200": _json("Current status", _ref("CommentView")),
                        "404": _problem("No such comment for this site (never stored, another site's, or erased)"),
                        "410": _problem(
                            "Gone: the id dates from before the site's retention_days, so the comment may "
                            "have existed and left the service (decided comments expire; erasure removes "
                            "comments of any age)"
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/v1/authors/forget": {
                "post": {
                    "operationId": "forgetAuthor",
                    "summary": "Erase one author (by email) from this site: comments in every status and their "
                    "stored replies, queued webhook events and dead letters, flood and trusted-author records, "
                    "block-list entries, the personal fields of their labels, archived records. Idempotent; "
                    "audited without the email. 503 while the site keeps an archive this worker cannot reach",
                    "security": site_auth,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "required": ["author_email"],
                            "additionalProperties": False,
                            "properties": {"author_email": {
                                "type": "string", "format": "email", "maxLength": schemas.MAX_AUTHOR_EMAIL_BYTES,
                            }},
                        }}},
                    },
                    "responses": {
                        "200": _json("What was removed (zeros when there was nothing left)", _ref("Erasure")),
                        **BODY_ERRORS,
                        **COMMON_ERRORS,
                        "429": _problem("Rate limited"),
                    },
                }
            },
            "/v1/review/queue": {
                "get": {
                    "operationId": "reviewQueue",
                    "security": mod_read_auth,
                    "parameters": [
                        {"name": "site", "in": "query", "required": True, "schema": _STR},
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["pending", "approved", "spam", "rejected"]},
                        },
                        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                        {"name": "cursor", "in": "query", "schema": _STR},
                        {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
                    ],
                    "responses": {
                        "200": _json(
                            "One page",
                            {
                                "type": "object",
                                "required": ["site", "status", "items", "next_cursor", "counts"],
                                "properties": {
                                    "site": _STR,
                                    "status": _STR,
                                    "items": {"type": "array", "items": _ref("CommentView")},
                                    "next_cursor": {"type": ["string", "null"]},
                                    "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
                                },
                            },
                        ),
                        "403": _problem("No access to this site"),
                        "422": _problem("Invalid query"),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/v1/review/claim": {
                "post": {
                    "operationId": "claimItems",
                    "security": mod_auth,
                    "requestBody": _body("ClaimIn"),
                    "responses": {
                        "200": _json(
                            "Leased items",
                            {
                                "type": "object",
                                "required": ["site", "items", "lease_seconds"],
                                "properties": {
                                    "site": _STR,
                                    "lease_seconds": {"type": "integer"},
                                    "lease_expires_at": _STR,
                                    "items": {"type": "array", "items": _ref("CommentView")},
                                },
                            },
                        ),
                        **BODY_ERRORS,
                        "403": _problem("No access to this site"),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/v1/review/{comment_id}/decision": {
                "post": {
                    "operationId": "decide",
                    "security": mod_auth,
                    "parameters": [{"name": "comment_id", "in": "path", "required": True, "schema": _STR}],
                    "requestBody": _body("DecisionIn"),
                    "responses": {
                        "200": _json("Decided", _ref("CommentView")),
                        **BODY_ERRORS,
                        "403": _problem("No access to this site"),
                        "404": _problem("No such comment in this moderator's sites"),
                        "409": _problem(
                            "expected_revision is not the comment's revision (code revision_conflict; the "
                            "reply carries current_status, revision, decision and current: the comment as "
                            "the review queue lists it, history included), or another moderator "
                            "holds a lease on the pending comment (claimed_by)"
                        ),
                        **COMMON_ERRORS,
                    },
                }
            },
            "/v1/webhooks/test": {
                "post": {
                    "operationId": "testWebhook",
                    "summary": "Send the site's webhook one signed test event now and report whether it arrived",
                    "description": "The event (`type: webhook.test`, with the `nonce` sent here) is signed and "
                    "sent like every delivery (X-Moderation-Signature, the same address checks), once, "
                    "outside the outbox: nothing is stored or retried. `delivered` is true when the receiver "
                    "answered 2xx within MODERATION_WEBHOOK_TIMEOUT_SECONDS.",
                    "security": site_auth,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"nonce": {
                                "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$",
                                "description": "Put in the event, so the receiver can tell this test from another",
                            }},
                        }}},
                    },
                    "responses": {
                        "200": _json("What happened", {
                            "type": "object",
                            "required": ["event_id", "url", "delivered", "status", "error"],
                            "properties": {
                                "event_id": _STR,
                                "url": _STR,
                                "delivered": {"type": "boolean"},
                                "status": {"type": ["integer", "null"], "description": "The receiver's HTTP status"},
                                "error": {"type": ["string", "null"], "description": "Why it did not arrive"},
                            },
                        }),
                        **BODY_ERRORS,
                        **COMMON_ERRORS,
                        "409": _problem("The site has no webhook"),
                        "429": _problem("Rate limited"),
                    },
                }
            },
            "/v1/sites/{site}/settings": _settings_paths(mod_auth),
            "/v1/sites/{site}/stats": _stats_path(mod_read_auth),
            "/moderate/session": _session_paths(),
            "/healthz": {"get": {"operationId": "healthz", "responses": {"200": _json("Up", {"type": "object"})}}},
            "/readyz": {
                "get": {
                    "operationId": "readyz",
                    "responses": {
                        "200": _json("Ready; status is degraded when a background loop, or a site in it, has "
                                     "not succeeded for 5 of its periods (counts per loop in loops)", _readyz()),
                        "503": _problem("Not ready"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "description": "Open unless MODERATION_METRICS_TOKEN is set; then that bearer token.",
                    "responses": {
                        "200": {"description": "Prometheus text", "content": {"text/plain": {"schema": _STR}}},
                        "401": _problem("MODERATION_METRICS_TOKEN is set and the token is missing or wrong"),
                        "503": _problem("Storage unavailable"),
                    },
                }
            },
            "/favicon.ico": {
                "get": {
                    "operationId": "favicon",
                    "responses": {
                        "200": {"description": "The icon", "content": {"image/x-icon": {"schema": _STR}}}
                    },
                }
            },
            "/openapi.json": {
                "get": {"operationId": "openapi", "responses": {"200": _json("This document", {"type": "object"})}}
            },
            **_integration_paths(),
        },
    }
