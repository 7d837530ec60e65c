"""The label log's entry format (keys.labels): what a moderator decision keeps for training.

Compact and free of contact data: the text, the decision, who made it and when, what
training reads (author name, language) and what the export reports. No email, IP or
comment id, so a label outlives its comment (retention) without naming it; ``ref`` pairs
two labels of one comment (a decision and an Akismet report), ``a`` lets erasure find the
author's labels. Both are digests. moderation/feedback.py reads entries back.
"""

from __future__ import annotations

import msgspec

from moderation.core.schemas import CommentIn
from moderation.store.retention import author_digest, comment_ref


def label_fields(
    site: str,
    comment_id: str,
    comment: CommentIn,
    model_version: str,
    spam_score: float,
    *,
    label: str,
    reason: str,
    by: str,
    at: int,
    source: str = "moderator",
) -> list[str]:
    """One labelled example as field/value pairs (XADD order)."""
    return [
        "label", label, "reason", reason, "by", by, "at", str(at), "text", comment.content,
        "name", comment.author_name, "lang", comment.lang or "", "post", comment.post_id,
        "mv", model_version, "score", str(spam_score), "src", source,
        "ref", comment_ref(site, comment_id) if comment_id else "", "a", author_digest(comment.author_email),
    ]  # fmt: skip


def compact_legacy_label(site: str, fields: dict[str, str]) -> dict[str, str]:
    """A label in the compact form, converting one written before it (with the whole stored
    comment in ``doc``, email and IP included)."""
    raw = fields.get("doc")
    if not raw:
        return dict(fields)
    doc = msgspec.json.decode(raw)
    comment, verdict = doc.get("comment") or {}, doc.get("verdict") or {}
    out = {
        "label": fields.get("label", ""), "reason": fields.get("reason", ""), "by": fields.get("by", ""),
        "at": fields.get("at", ""), "text": str(comment.get("content", "")),
        "name": str(comment.get("author_name", "")), "lang": str(comment.get("lang") or ""),
        "post": str(comment.get("post_id", "")), "mv": str(verdict.get("model_version", "")),
        "score": str(verdict.get("spam_score", "")), "src": fields.get("source", "") or "moderator",
        "ref": comment_ref(site, fields["id"]) if fields.get("id") else "",
        "a": author_digest(str(comment.get("author_email", ""))),
    }  # fmt: skip
    return out
