"""The reply and the stored document come from one encoding of the verdict."""

from __future__ import annotations

import msgspec
import pytest

from moderation.core.schemas import CommentIn
from moderation.moderation.operations import (
    Explanation,
    FeatureOut,
    ReasonOut,
    StoredComment,
    ToxicityOut,
    Verdict,
    encode_verdict,
)


@pytest.mark.parametrize("shadow", [None, "spam"])
@pytest.mark.parametrize("created_at", ["2026-12-01T22:00:00.000Z", ""])
def test_one_encoding_gives_the_bytes_of_two(shadow: str | None, created_at: str) -> None:
    verdict = Verdict(
        id="19ab3c5e2f1a3b9c0d2e4",
        status="pending",
        spam_score=0.5123,
        reasons=[ReasonOut("spam_score_uncertain", 'spam score 0.51 is "between" 0.30 and 0.90')],
        toxicity=ToxicityOut("CLEAN", {"CLEAN": 0.9, "OFFENSIVE": 0.07, "HATE": 0.03}),
        explanation=Explanation(spam=[FeatureOut("'zalo'", 1.25)], toxicity=[]),
        model_version="spam-1+tox-1",
        created_at=created_at,
        shadow_status=shadow,
    )
    comment = CommentIn(
        post_id="bài-1", author_name="Lan ✓", author_email="lan@example.vn", content="Hay quá\n\u200b😀", lang="vi"
    )
    reply, doc = encode_verdict(verdict, comment)
    assert reply == msgspec.json.encode(verdict)
    stored = StoredComment(comment=comment, verdict=msgspec.structs.replace(verdict, created_at=""))
    assert doc == msgspec.json.encode(stored)
    assert msgspec.json.decode(doc, type=StoredComment) == stored
