"""One normalization per comment: the shared forms equal what each reader computed on its own."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pytest

from moderation.core.schemas import CommentIn
from moderation.moderation.policy import comment_links, links_in
from moderation.scoring import features as feat
from moderation.scoring import normalize as nz
from moderation.scoring.text import CommentText, TextForms

AWKWARD = [
    "",
    " ",
    "a",
    "Bài viết rất hay, cảm ơn tác giả!",
    "LH 0912.345.678 zalo: nhacai88 👉 https://bit.ly/abc",
    "n.h.a c.a.i uy tín, z a l o 09O8 123 456, không chín tám hai ba sáu năm ba sáu năm",
    "\uff27\uff4c\uff21\uff39 \u04220 m@y $im xem abc chấm com hoặc dep.com.vn",  # fullwidth, Cyrillic
    "😀😀😀 \U0001d518\U0001d52b\U0001d526 中文字符 Ελληνικά кириллица",
    "x\ny\r\nz\tq\u00a0w\u200bv\u200d",
    "Nha\u0300 ca\u0301i",  # decomposed (NFD) Vietnamese
    "a.a.a." * 100,
    "https://example.vn/" + "x" * 200 + " và t.me/kenh",
]


def _texts() -> list[str]:
    with (Path(__file__).parent / "data" / "handwritten_eval.csv").open(encoding="utf-8", newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)]
    rng = random.Random(20261201)
    pool = "abcdefghijklmnopqrstuvwxyz ABC0123456789.,!?@$:/-_ \n\tăâđêôơưáàảãạếềểễệ😀\u200b\u043e\u041e"
    texts += ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 400))) for _ in range(200)]
    return AWKWARD + texts


TEXTS = _texts()


def _comment(content: str, author_name: str = "Lan") -> CommentIn:
    return CommentIn(post_id="p", author_name=author_name, author_email="lan@example.vn", content=content)


def test_every_form_is_what_normalize_computes() -> None:
    for text in TEXTS:
        forms = TextForms(text)
        assert forms.norm == nz.normalize_text(text)
        assert forms.fold == nz.fold_for_matching(text)
        assert forms.skel == nz.skeleton(text)
        assert list(forms.phones) == nz.find_phone_numbers(text)
        assert list(forms.urls) == nz.find_urls(text)


def test_the_model_reads_the_same_features_from_the_shared_forms() -> None:
    # The serving path (features from the submission's shared forms) against the definition
    # training uses (features.prepare on the raw strings): bit-identical rows.
    authors = ["Lan", "shop 0908123456", "abc.com", "Nguyễn Văn An"]
    comments = [_comment(t or "x", authors[i % len(authors)]) for i, t in enumerate(TEXTS)]
    shared = [feat.prepare_comment(CommentText(c)) for c in comments]
    alone = [feat.prepare(c.content, c.author_name) for c in comments]
    assert shared == alone
    fz = feat.Featurizer.create()
    a, b = fz.transform_prepared(shared), fz.transform_prepared(alone)
    assert (a != b).nnz == 0 and np.array_equal(a.indices, b.indices)


def test_a_comment_within_the_scored_length_is_normalized_once() -> None:
    text = CommentText(_comment("Liên hệ zalo 0908 123 456 nhé"))
    assert text.prefix(feat.MAX_SCORED_CHARS) is text.content
    assert text.prefix(8_000) is text.content
    assert text.field("content") is text.content


def test_longer_comments_get_the_prefix_each_reader_had() -> None:
    content = "n h a c a i 0908123456 " * 500  # 11,500 characters
    text = CommentText(_comment(content))
    assert text.prefix(feat.MAX_SCORED_CHARS).raw == content[: feat.MAX_SCORED_CHARS]
    assert text.prefix(8_000).skel == nz.skeleton(content[:8_000])
    assert text.content.skel == nz.skeleton(content)
    assert feat.prepare_comment(text) == feat.prepare(content, "Lan")


@pytest.mark.parametrize(
    "content",
    [
        "Xem https://a.vn/1 và www.b.com, c.net và bit.ly/d",
        "Liên hệ abc chấm com hoặc dep.com.vn",
        "Không có liên kết nào.",
        "https://example.vn/" + "x" * 200 + " và t.me/kenh",
        "a." * 3000 + " https://x.vn",
        "b.com " * 900 + "https://late.example.vn",
    ],
)
def test_the_link_limit_counts_what_it_counted_alone(content: str) -> None:
    assert comment_links(CommentText(_comment(content))) == links_in(content)
