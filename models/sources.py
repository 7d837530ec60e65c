"""The real labelled sets of ../shared/data, each row with a group for held-out splits.

A random row split flatters a text model: the same campaign's SMS, the same thread's
replies and the same news site's regulars land on both sides. Every row here carries a
*group* (thread, collection, comment-id block or message template) and the held-out part
is chosen per group, so that nothing of a held-out group is trained on.

Held out (never trained on by models/build.py, reported in the model card):

* english-comments: the Impermium "verification" collection (gathered after the
  competition, a separate crawl), Fox News threads whose title hashes into the held-out
  fifth, and Civil Comments blocks of 50,000 comment ids (ids grow with time across the
  ~50 sites) that hash into it;
* pham2017 (Vietnamese SMS) and the SMS Spam Collection: messages grouped by template (the
  first four words with digits removed: a campaign's variants share them), a fifth of the
  templates held out;
* vi-hate-speech (thienit84 Facebook/YouTube comments): the posts (``group``) that hash into
  the held-out fifth. Its labels are ~91 % machine-made, so no figure is reported on it
  alone; the held-out part is simply never trained on.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from moderation.scoring import normalize as nz

# One group in five is held out (by hash, so the split does not depend on row order).
HOLDOUT_BUCKETS: Final = 5
CIVIL_ID_BLOCK: Final = 50_000
TEMPLATE_WORDS: Final = 4

CLEAN, OFFENSIVE, HATE = "CLEAN", "OFFENSIVE", "HATE"

_DIGITS_RE: Final = re.compile(r"\d+")
_WORD_RE: Final = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    # spam: "spam"/"ham"; toxicity: CLEAN / OFFENSIVE / HATE.
    label: str
    group: str
    heldout: bool


def _read(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh)


def heldout_group(group: str) -> bool:
    digest = hashlib.sha256(group.encode("utf-8")).digest()
    return digest[0] % HOLDOUT_BUCKETS == 0


def template_key(text: str) -> str:
    """Near-duplicate key of a message: its first words, folded, digits removed."""
    folded = nz.remove_diacritics(nz.normalize_text(text))
    words = _WORD_RE.findall(_DIGITS_RE.sub(" ", folded))
    return " ".join(words[:TEMPLATE_WORDS])


def _toxicity_civil(row: dict[str, str]) -> str:
    if row["majority_label"] != "toxic":
        return CLEAN
    # Identity attacks are what ViHSD calls HATE (attacks on a group); the rest is
    # insult / profanity / threat aimed at a person: OFFENSIVE.
    identity = int(row["n_span_identity_based_attack"])
    other = max(int(row["n_span_insult"]), int(row["n_span_profane_obscene"]), int(row["n_span_threat"]))
    return HATE if identity > 0 and identity >= other else OFFENSIVE


def english_comments(root: Path) -> list[Row]:
    """Real English reader comments with CLEAN / OFFENSIVE / HATE labels (none is spam)."""
    base = root / "english-comments"
    rows: list[Row] = []
    for r in _read(base / "civil_comments_toxic_spans.csv"):
        group = f"civil:{int(r['comment_id']) // CIVIL_ID_BLOCK}"
        rows.append(Row(r["comment_text"], _toxicity_civil(r), group, heldout_group(group)))
    for r in _read(base / "impermium_insults.csv"):
        group = f"impermium:{r['source_file']}"
        label = OFFENSIVE if r["Insult"] == "1" else CLEAN
        rows.append(Row(r["Comment"], label, group, r["source_file"] == "impermium_verification_labels"))
    for r in _read(base / "fox_news_comments_hate.csv"):
        group = f"fox:{r['article_title']}"
        rows.append(Row(r["text"], HATE if r["label"] == "1" else CLEAN, group, heldout_group(group)))
    return [r for r in rows if r.text.strip()]


def sms(path: Path, text_column: str, label_column: str, spam_value: str) -> list[Row]:
    """An SMS collection as spam/ham rows grouped by message template."""
    rows: list[Row] = []
    for r in _read(path):
        text = r[text_column]
        if not text.strip():
            continue
        group = f"{path.parent.name}:{template_key(text)}"
        label = "spam" if r[label_column].strip() == spam_value else "ham"
        rows.append(Row(text, label, group, heldout_group(group)))
    return rows


def vi_sms(root: Path) -> list[Row]:
    return sms(root / "vi-sms-spam" / "pham2017.csv", "text", "spam", "1")


def en_sms(root: Path) -> list[Row]:
    return sms(root / "en-sms-spam" / "sms_spam_collection.csv", "text", "label", "spam")


def vlsp_toxicity(root: Path) -> list[Row]:
    """VLSP 2019 hate speech (toxicity only: its CLEAN rows include shop ads)."""
    return [
        Row(r["text"], r["toxicity"].strip().upper(), "vlsp", False)
        for r in _read(root / "vlsp2019-hsd" / "train.csv")
        if r["text"].strip()
    ]


def scamspot(root: Path) -> list[Row]:
    """Real Instagram comments under finance posts (spam = investment and crypto scams), grouped
    by post: a post's comments (and its scam bots) are on one side of the split only."""
    rows: list[Row] = []
    for r in _read(root / "en-scam-comments" / "scamspot_instagram.csv"):
        if r["text"].strip():
            group = f"scamspot:{r['group']}"
            rows.append(Row(r["text"], r["label"], group, heldout_group(group)))
    return rows


def vi_comments(root: Path) -> list[Row]:
    """Vietnamese Facebook/YouTube comments of 2025 (thienit84), every one a reader's comment
    (ham for the spam model), grouped by post. Lower-cased, names masked as ``<person>``."""
    rows: list[Row] = []
    for r in _read(root / "vi-hate-speech" / "thienit84_facebook_youtube.csv"):
        if r["text"].strip():
            group = f"vi-comments:{r['group']}"
            rows.append(Row(r["text"], "ham", group, heldout_group(group)))
    return rows


def blog_spam(root: Path) -> list[Row]:
    """Blog comment spam (praise + gambling/shop/SEO link), spam only, as its publisher
    preprocessed it (lower-cased, stop words and punctuation removed): see
    :func:`blog_preprocess` for scoring other text the same way."""
    return [Row(r["text"], "spam", "lmblog", True) for r in _read(root / "en-blog-spam" / "lmblog_spam.csv")
            if r["text"].strip()]  # fmt: skip


# NLTK's English stop words, which the blog-spam publisher removed before lower-casing (so,
# as its rows show, "I", "Did" and "Is" at a sentence start survive) after dropping
# apostrophes ("I'll" -> "Ill") and replacing other punctuation by spaces.
_BLOG_STOP_WORDS: Final = frozenset(
    """i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself
    yourselves he him his himself she she's her hers herself it it's its itself they them their
    theirs themselves what which who whom this that that'll these those am is are was were be
    been being have has had having do does did doing a an the and but if or because as until
    while of at by for with about against between into through during before after above below
    to from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such only own same so than too
    very s t can will just don don't should should've now d ll m o re ve y ain aren aren't
    couldn couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't
    ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn wasn't
    weren weren't won won't wouldn wouldn't""".split()
)
_APOSTROPHE_RE: Final = re.compile("['\N{RIGHT SINGLE QUOTATION MARK}]")
_PUNCT_RE: Final = re.compile(r"[^\w\s]|_")


def blog_preprocess(text: str) -> str:
    """Other text prepared as the blog-spam file was, so ham can be scored beside it."""
    words = _PUNCT_RE.sub(" ", _APOSTROPHE_RE.sub("", text)).split()
    return " ".join(w.lower() for w in words if w not in _BLOG_STOP_WORDS)


def vi_hate_speech(root: Path) -> list[Row]:
    """Vietnamese Facebook/YouTube comments, CLEAN / OFFENSIVE / HATE, grouped by post.

    Preprocessed by its publisher (lower-case, ``<person>`` masks, no URLs) and ~91 %
    machine-labelled (../shared/data/README.md): training material, not an evaluation set.
    """
    rows: list[Row] = []
    for r in _read(root / "vi-hate-speech" / "thienit84_facebook_youtube.csv"):
        if not r["text"].strip():
            continue
        # The same groups as vi_comments (the spam model's view of these rows): a post held
        # out of one model is held out of both.
        group = f"vi-comments:{r['group']}"
        rows.append(Row(r["text"], r["label"].strip().upper(), group, heldout_group(group)))
    return rows


# VLSP 2019's CLEAN rows that are shop posts: a price and a contact channel. A random 100 of
# the 831 rows this picks were read by hand (2026-12-07): 97 are promotions (shop, food,
# SIM, property, job and loan ads posted to Facebook groups), 3 are not (a buyer asking for
# delivery with a phone number, a seller's one-line reply to a customer, "Ib giá bạn vị trí").
_VLSP_PRICE_RE: Final = re.compile(
    r"\d+\s?(?:k|tr|d|vnd|ngan|nghin)\b|\d{2,3}[.,]000"
    r"|\bgia\s*(?::|ban|chi|si|le|uu dai|goc|\d)|\bsale\b|\bship\b|\bfreeship\b"
)
_VLSP_CONTACT_RE: Final = re.compile(r"\b(?:inbox|ib|zalo|lh|lien he|sdt|hotline|order|dat hang|nhan tin|goi|call)\b")


def vlsp_shop_posts(root: Path) -> list[Row]:
    """Real Vietnamese social-media promotions: VLSP 2019 CLEAN rows with a price and a contact
    (phone, "inbox", Zalo…), as spam, grouped by template (the first words). Weakly labelled
    (97 of 100 checked by hand are promotions); evaluation only, never trained on."""
    rows: list[Row] = []
    for r in _read(root / "vlsp2019-hsd" / "train.csv"):
        text = r["text"]
        if r["toxicity"].strip().upper() != CLEAN or not text.strip():
            continue
        folded = nz.fold_for_matching(text)
        if _VLSP_PRICE_RE.search(folded) and (_VLSP_CONTACT_RE.search(folded) or nz.find_phone_numbers(text)):
            group = f"vlsp:{template_key(text)}"
            rows.append(Row(text, "spam", group, True))
    return rows
