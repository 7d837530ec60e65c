"""Request decoding and validation.

msgspec decodes JSON (it is the fastest decoder we measured, rejects invalid UTF-8
and lone surrogates, and its Structs are cheap to build); the field checks are
written out here rather than declared as msgspec constraints because a client must
learn about *every* bad field in one reply, and msgspec stops at the first.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from typing import Annotated, Any

import msgspec

from moderation.core.errors import FieldErrors, MalformedJSON, UnsupportedMediaType

# WordPress stores these in fixed-width MySQL columns measured in UTF-8 bytes
# (wp_comments: comment_author tinytext, comment_author_email varchar(100),
# comment_author_url varchar(200), comment_content text). A comment WordPress cannot
# store must not be accepted.
MAX_AUTHOR_NAME_BYTES = 245
MAX_AUTHOR_EMAIL_BYTES = 100
MAX_AUTHOR_URL_BYTES = 200
MAX_CONTENT_BYTES = 65_525
# post ids are opaque to us; 200 characters covers slugs and GUIDs.
MAX_POST_ID_CHARS = 200
MAX_PARENT_ID_CHARS = 200
# Browsers and proxies cap URLs around 2 KB; longer is not a real permalink.
MAX_POST_URL_BYTES = 2048
# Shown to moderators beside the comment: news headlines run to ~150 characters; 300 leaves
# room for long ones without letting a field meant for a title carry an article.
MAX_POST_TITLE_CHARS = 300
MAX_USER_AGENT_CHARS = 512
MAX_NOTE_CHARS = 1000
# A comment's revision counts its decisions; this bound only keeps the number a JSON-safe integer.
MAX_REVISION = 2**31 - 1
MAX_CLAIM_COUNT = 100
DEFAULT_CLAIM_COUNT = 10
# A JSON body holding a maximal comment: 65,525 content bytes can grow up to six-fold
# as \uXXXX escapes; anything larger cannot be a valid submission.
MAX_BODY_BYTES = 512 * 1024
MAX_IDEMPOTENCY_KEY_CHARS = 200

# Anchored with \A...\Z: "$" also matches before a trailing newline.
_EMAIL_RE = re.compile(
    r"\A[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?=.{1,253}\Z)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})\Z"
)
_URL_RE = re.compile(r"\Ahttps?://[^\s/?#]+(?:[/?#][^\s]*)?\Z", re.IGNORECASE)
_LANG_RE = re.compile(r"\A[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}\Z")
_IDEMPOTENCY_RE = re.compile(r"\A[\x21-\x7e]{1,200}\Z")

DECISIONS = {"approve": "approved", "reject": "rejected", "spam": "spam"}
REJECTION_REASONS = (
    "spam",
    "advertising",
    "offensive",
    "hate_speech",
    "harassment",
    "off_topic",
    "other",
)


def _doc(description: str, **schema: object) -> msgspec.Meta:
    """What /openapi.json says about a field (its schema is generated from these Structs).

    The limits go in ``extra_json_schema``, not as msgspec constraints: parse_comment checks
    them (reporting every bad field at once), and decoding a stored document must not.
    """
    return msgspec.Meta(description=description, extra_json_schema=schema)


_Text = str | None


class CommentIn(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A comment to moderate. Text is stored in composed Unicode (NFC)."""

    post_id: Annotated[str, _doc("The article's id; trimmed.", minLength=1, maxLength=MAX_POST_ID_CHARS)]
    author_name: Annotated[
        str, _doc(f"Non-empty after trimming; at most {MAX_AUTHOR_NAME_BYTES} UTF-8 bytes.", minLength=1)
    ]
    author_email: Annotated[str, _doc(f"A valid address; at most {MAX_AUTHOR_EMAIL_BYTES} bytes.")]
    content: Annotated[str, _doc(f"Non-empty after trimming; at most {MAX_CONTENT_BYTES} UTF-8 bytes.", minLength=1)]
    author_url: Annotated[_Text, _doc(f"http(s) URL, at most {MAX_AUTHOR_URL_BYTES} bytes.")] = None
    post_url: Annotated[_Text, _doc(f"http(s) URL of the article, at most {MAX_POST_URL_BYTES} bytes.")] = None
    post_title: Annotated[
        _Text,
        _doc(
            f"The article's title, shown to moderators; trimmed, at most {MAX_POST_TITLE_CHARS} characters.",
            maxLength=MAX_POST_TITLE_CHARS,
        ),
    ] = None
    parent_id: Annotated[_Text, _doc("The parent comment's id.", maxLength=MAX_PARENT_ID_CHARS)] = None
    user_ip: Annotated[_Text, _doc("The author's IPv4 or IPv6 address.")] = None
    user_agent: Annotated[_Text, _doc("The author's browser.", maxLength=MAX_USER_AGENT_CHARS)] = None
    lang: Annotated[_Text, _doc("Language tag, e.g. vi or en.", maxLength=35)] = None
    referrer: Annotated[
        _Text,
        _doc(
            f"The page the comment form was sent from (HTTP Referer), http(s), at most {MAX_POST_URL_BYTES} "
            "bytes; a whole-submission signal when post_url is given too.",
        ),
    ] = None

    def fingerprint(self) -> str:
        """Stable hash of the submission, to tell a retry from a different body."""
        return hashlib.sha256(msgspec.json.encode(self)).hexdigest()


class DecisionIn(msgspec.Struct, frozen=True, kw_only=True):
    """A moderator's decision on a comment."""

    decision: Annotated[str, _doc("approve, reject or spam.", enum=sorted(DECISIONS))]
    note: Annotated[_Text, _doc("Free text kept with the decision.", maxLength=MAX_NOTE_CHARS)] = None
    reason: Annotated[_Text, _doc("Why it was rejected.", enum=[*REJECTION_REASONS, None])] = None
    block_email: Annotated[bool, _doc("Also block the author's email (spam or reject only).")] = False
    block_ip: Annotated[bool, _doc("Also block the author's IP address (spam or reject only).")] = False
    # Only narrows the search: the comment id already names the comment.
    site: Annotated[_Text, _doc("The comment's site, when the moderator has several.")] = None
    expected_revision: Annotated[
        int | None,
        _doc(
            "The comment's revision this decision is based on (the `revision` you read). "
            "If the comment was decided since, nothing changes and the answer is 409 with the "
            "current state. Without it, the decision applies to whatever is current (the last "
            "decision the service receives wins).",
            minimum=0,
            maximum=MAX_REVISION,
        ),
    ] = None


class ClaimIn(msgspec.Struct, frozen=True, kw_only=True):
    """Lease pending comments of a site."""

    site: str
    count: Annotated[int, _doc("How many items to lease.", minimum=1, maximum=MAX_CLAIM_COUNT)] = DEFAULT_CLAIM_COUNT


def require_json(content_type: str | None) -> None:
    """Accept application/json (and +json types) in UTF-8 only."""
    if not content_type:
        raise UnsupportedMediaType("send the body as application/json")
    mime, _, params = content_type.partition(";")
    mime = mime.strip().lower()
    if mime != "application/json" and not (mime.startswith("application/") and mime.endswith("+json")):
        raise UnsupportedMediaType(f"unsupported content type {mime!r}; send application/json")
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in {"utf-8", "utf8"}:
            raise UnsupportedMediaType("JSON bodies must be UTF-8")


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a JSON object body; anything else is a 400."""
    if not body.strip():
        raise MalformedJSON("the request body is empty; send a JSON object")
    try:
        doc = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise MalformedJSON(f"the body is not valid UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise MalformedJSON("the body is nested too deeply") from None
    if not isinstance(doc, dict):
        raise MalformedJSON("the body must be a JSON object")
    return doc


def _utf8_len(value: str) -> int | None:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def _text(
    doc: dict[str, Any],
    errors: FieldErrors,
    name: str,
    *,
    required: bool,
    max_bytes: int | None = None,
    max_chars: int | None = None,
    strip: bool = False,
) -> str | None:
    if name not in doc or doc[name] is None:
        if required:
            errors.add(name, "required", f"{name} is required")
        return None
    value = doc[name]
    if not isinstance(value, str):
        errors.add(name, "type", f"{name} must be a string")
        return None
    if "\x00" in value:
        errors.add(name, "invalid_character", f"{name} must not contain NUL characters")
        return None
    # Composed form: the same Vietnamese text typed on macOS (NFD) and Windows (NFC)
    # must be stored, measured and deduplicated alike.
    value = unicodedata.normalize("NFC", value)
    if strip:
        value = value.strip()
    if required and not value.strip():
        errors.add(name, "blank", f"{name} must not be empty")
        return None
    size = _utf8_len(value)
    if size is None:
        errors.add(name, "invalid_character", f"{name} is not valid Unicode text")
        return None
    if max_bytes is not None and size > max_bytes:
        errors.add(name, "too_long", f"{name} is {size} bytes in UTF-8; the limit is {max_bytes}")
        return None
    if max_chars is not None and len(value) > max_chars:
        errors.add(name, "too_long", f"{name} is {len(value)} characters; the limit is {max_chars}")
        return None
    return value


def parse_comment(doc: dict[str, Any]) -> CommentIn:
    """Validate a submission, reporting every bad field at once."""
    errors = FieldErrors()
    post_id = _text(doc, errors, "post_id", required=True, max_chars=MAX_POST_ID_CHARS, strip=True)
    name = _text(doc, errors, "author_name", required=True, max_bytes=MAX_AUTHOR_NAME_BYTES, strip=True)
    email = _text(
        doc, errors, "author_email", required=True, max_bytes=MAX_AUTHOR_EMAIL_BYTES, strip=True
    )
    if email is not None and not _EMAIL_RE.match(email):
        errors.add("author_email", "invalid", "author_email is not a valid email address")
        email = None
    content = _text(doc, errors, "content", required=True, max_bytes=MAX_CONTENT_BYTES)
    author_url = _text(doc, errors, "author_url", required=False, max_bytes=MAX_AUTHOR_URL_BYTES, strip=True)
    if author_url and not _URL_RE.match(author_url):
        errors.add("author_url", "invalid", "author_url must be an http or https URL")
    post_url = _text(doc, errors, "post_url", required=False, max_bytes=MAX_POST_URL_BYTES, strip=True)
    if post_url and not _URL_RE.match(post_url):
        errors.add("post_url", "invalid", "post_url must be an http or https URL")
    post_title = _text(doc, errors, "post_title", required=False, max_chars=MAX_POST_TITLE_CHARS, strip=True)
    parent_id = _text(doc, errors, "parent_id", required=False, max_chars=MAX_PARENT_ID_CHARS, strip=True)
    user_ip = _text(doc, errors, "user_ip", required=False, max_chars=64, strip=True)
    if user_ip:
        try:
            user_ip = str(ipaddress.ip_address(user_ip))
        except ValueError:
            errors.add("user_ip", "invalid", "user_ip must be an IPv4 or IPv6 address")
    user_agent = _text(doc, errors, "user_agent", required=False, max_chars=MAX_USER_AGENT_CHARS)
    lang = _text(doc, errors, "lang", required=False, max_chars=35, strip=True)
    if lang and not _LANG_RE.match(lang):
        errors.add("lang", "invalid", "lang must be a language tag such as 'vi' or 'en'")
    referrer = _text(doc, errors, "referrer", required=False, max_bytes=MAX_POST_URL_BYTES, strip=True)
    if referrer and not _URL_RE.match(referrer):
        errors.add("referrer", "invalid", "referrer must be an http or https URL")
    errors.raise_if_any()
    assert post_id is not None and name is not None and email is not None and content is not None
    return CommentIn(
        post_id=post_id,
        author_name=name,
        author_email=email,
        content=content,
        author_url=author_url or None,
        post_url=post_url or None,
        post_title=post_title or None,
        parent_id=parent_id or None,
        user_ip=user_ip or None,
        user_agent=user_agent or None,
        lang=lang.lower().replace("_", "-") if lang else None,
        referrer=referrer or None,
    )


def parse_decision(doc: dict[str, Any]) -> DecisionIn:
    errors = FieldErrors()
    decision = doc.get("decision")
    if decision is None:
        errors.add("decision", "required", "decision is required")
    # Type first: a list or object is unhashable and "in DECISIONS" would raise (a 500).
    elif not isinstance(decision, str) or decision not in DECISIONS:
        errors.add("decision", "invalid", "decision must be one of approve, reject, spam")
    note = _text(doc, errors, "note", required=False, max_chars=MAX_NOTE_CHARS)
    reason = doc.get("reason")
    if reason is not None and (not isinstance(reason, str) or reason not in REJECTION_REASONS):
        errors.add("reason", "invalid", "reason must be one of " + ", ".join(REJECTION_REASONS))
    flags: dict[str, bool] = {}
    for flag in ("block_email", "block_ip"):
        value = doc.get(flag, False)
        if not isinstance(value, bool):
            errors.add(flag, "type", f"{flag} must be true or false")
            value = False
        flags[flag] = value
    site = doc.get("site")
    expected = doc.get("expected_revision")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int)):
        errors.add("expected_revision", "type", "expected_revision must be an integer")
        expected = None
    elif expected is not None and not 0 <= expected <= MAX_REVISION:
        errors.add("expected_revision", "range", f"expected_revision must be between 0 and {MAX_REVISION}")
        expected = None
    errors.raise_if_any()
    return DecisionIn(
        decision=str(decision), note=note, reason=reason, site=site if isinstance(site, str) else None,
        expected_revision=expected, **flags,
    )


def parse_claim(doc: dict[str, Any]) -> ClaimIn:
    errors = FieldErrors()
    site = doc.get("site")
    if not isinstance(site, str) or not site:
        errors.add("site", "required", "site is required")
    count = doc.get("count", DEFAULT_CLAIM_COUNT)
    if isinstance(count, bool) or not isinstance(count, int):
        errors.add("count", "type", "count must be an integer")
    elif not 1 <= count <= MAX_CLAIM_COUNT:
        errors.add("count", "range", f"count must be between 1 and {MAX_CLAIM_COUNT}")
    errors.raise_if_any()
    return ClaimIn(site=str(site), count=int(count))


def parse_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not _IDEMPOTENCY_RE.match(value):
        errors = FieldErrors()
        errors.add(
            "Idempotency-Key",
            "invalid",
            f"the Idempotency-Key header must be 1-{MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters",
        )
        errors.raise_if_any()
    return value


def parse_forget(doc: dict[str, Any]) -> str:
    """``{"author_email": ...}`` of an erasure request: the email, stripped."""
    errors = FieldErrors()
    for name in doc:
        if name != "author_email":
            errors.add(name, "unknown", f"{name!r} is not a field of an erasure request; send only author_email")
    email = _text(doc, errors, "author_email", required=True, max_bytes=MAX_AUTHOR_EMAIL_BYTES, strip=True)
    if email is not None and not _EMAIL_RE.match(email):
        errors.add("author_email", "invalid", "author_email is not a valid email address")
    errors.raise_if_any()
    assert email is not None
    return email


# A test webhook's nonce: what the receiver echoes to prove it got this very test.
_NONCE_RE = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")


def parse_webhook_test(doc: dict[str, Any]) -> str | None:
    """``{"nonce"?: ...}`` of POST /v1/webhooks/test: the nonce to put in the test event."""
    errors = FieldErrors()
    for name in doc:
        if name != "nonce":
            errors.add(name, "unknown", f"{name!r} is not a field of a webhook test; send only nonce")
    nonce = doc.get("nonce")
    if nonce is not None and (not isinstance(nonce, str) or not _NONCE_RE.match(nonce)):
        errors.add("nonce", "invalid", "nonce must be 1-64 letters, digits, - or _")
    errors.raise_if_any()
    return nonce if isinstance(nonce, str) else None
