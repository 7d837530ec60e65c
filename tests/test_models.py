"""The shipped models (models/spam, models/toxicity): behaviour, explanations, safe loading."""

from __future__ import annotations

import csv
import json
import shutil
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from moderation.models.decorated import STYLES, decorate, plain
from moderation.scoring import normalize as nz
from moderation.scoring.artifacts import MANIFEST_NAME, WEIGHTS_NAME, ModelError, load_artifact
from moderation.scoring.scorer import (
    DEFAULT_APPROVE_THRESHOLD,
    DEFAULT_SPAM_THRESHOLD,
    Score,
    ScoreInput,
    Scorer,
    _Row,
)

MODELS = Path(__file__).resolve().parent.parent / "models"
# Written by the team as a qualitative check; never used for training (models/README.md).
HANDWRITTEN = Path(__file__).resolve().parent / "data" / "handwritten_eval.csv"


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.load(MODELS)


def score_one(scorer: Scorer, text: str) -> Score:
    return scorer.score([ScoreInput(text)])[0]


SPAM = [
    "n.h.a c.a.i uy tín nạp đầu tặng 100%, vào ngay abc88 chấm com",
    "Làm GlAY T0 nhanh, bằng lái, CCCD, lh 0 9 8 2 . 3 6 5 . 3 6 5",
    "Bán sim S0-NamSlNH giá rẻ, zalo 09O8 123 456",
    "Vay tiền nhanh chỉ cần CCCD, giải ngân 15 phút, ib za.lo 0982365365",
    "Vay\u200b tiền\u200b nhanh\u200b online, liên\u200b hệ 0912\u200b345\u200b678",
    "tuyen ctv lam viec tai nha thu nhap 500k/ngay, ket ban zalo 0987654321",
    unicodedata.normalize("NFD", "Nhà cái uy tín, đăng ký tặng 88k tại bit.ly/nhacai88"),
    "Soi cầu lô đề chính xác 100%, vào nhóm telegram t.me/soicau79",
    "Hey guys check out my channel http://youtube.com/user/xyz please subscribe",
]
HAM = [
    "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ.",
    "Cảnh giác với lừa đảo qua Zalo, mẹ tôi suýt mất 50 triệu.",
    "Giá xăng tăng 2.000 đồng mà lương vẫn vậy, dân khổ quá",
    "Đội tuyển đá quá hay, tỉ số 3-1 là xứng đáng",
    "Năm 2024 rồi mà đường này vẫn ngập mỗi khi mưa",
    "Chinh quyen can xu ly manh tay hon voi tin dung den",
    "This song is amazing, I have listened to it every day since 2012",
    # A reader sharing the video a story is about; "check out my channel" + link stays spam (SPAM).
    "Ai chưa xem thì đây là phóng sự đầy đủ https://youtu.be/dQw4w9WgXcQ",
]


# Promotion without any phone, link or contact handle: not certain enough to auto-reject,
# but it must reach a moderator.
HELD = [
    "Nhận làm bằng đại học giá rẻ, uy tín",
    "Ai cần tiền gấp thì liên hệ mình nhé, giải ngân nhanh không cần thế chấp",
]


@pytest.mark.parametrize("text", HELD)
def test_promotion_without_contact_is_held(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert score.spam >= DEFAULT_APPROVE_THRESHOLD, (score.spam, score.spam_features)


HANDWRITTEN_MIN_HELD_SPAM = 0.9
HANDWRITTEN_MAX_HELD_HAM = 0.1


def test_handwritten_news_comments(scorer: Scorer) -> None:
    with HANDWRITTEN.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    scores = scorer.score([ScoreInput(r["text"]) for r in rows])
    spam = [s.spam for r, s in zip(rows, scores, strict=True) if r["label"] == "1"]
    ham = [s.spam for r, s in zip(rows, scores, strict=True) if r["label"] == "0"]
    assert len(spam) >= 25 and len(ham) >= 25
    held_spam = sum(p >= DEFAULT_APPROVE_THRESHOLD for p in spam) / len(spam)
    held_ham = sum(p >= DEFAULT_APPROVE_THRESHOLD for p in ham) / len(ham)
    rejected_ham = sum(p >= DEFAULT_SPAM_THRESHOLD for p in ham)
    # Figures of the shipped models are in models/metrics.json ("handwritten"); these bounds
    # leave a little room so a retrain that keeps the card's claims still passes.
    assert held_spam >= HANDWRITTEN_MIN_HELD_SPAM, held_spam
    assert held_ham <= HANDWRITTEN_MAX_HELD_HAM, held_ham
    assert rejected_ham == 0


@pytest.mark.parametrize("text", SPAM)
def test_obfuscated_spam_scores_high(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert score.spam >= DEFAULT_SPAM_THRESHOLD, (score.spam, score.spam_features)


@pytest.mark.parametrize("text", HAM)
def test_ordinary_comments_score_low(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert score.spam < DEFAULT_APPROVE_THRESHOLD, (score.spam, score.spam_features)


@pytest.mark.parametrize(
    ("text", "is_spam"),
    [
        ("Vay tiền nhanh không thẩm định, liên hệ zalo 0912 345 678", True),
        ("Chính quyền cần xử lý mạnh tay hơn với tín dụng đen", False),
    ],
)
def test_same_verdict_with_diacritics_without_and_decomposed(scorer: Scorer, text: str, is_spam: bool) -> None:
    variants = [text, nz.remove_diacritics(text), unicodedata.normalize("NFD", text), text.upper()]
    for variant, score in zip(variants, scorer.score([ScoreInput(v) for v in variants]), strict=True):
        if is_spam:
            assert score.spam >= DEFAULT_APPROVE_THRESHOLD, (variant, score.spam)
        else:
            assert score.spam < DEFAULT_APPROVE_THRESHOLD, (variant, score.spam)


def test_explanations_name_the_signals(scorer: Scorer) -> None:
    score = score_one(scorer, "Bán sim số đẹp, zalo 0982 365 365")
    names = [f.name for f in score.spam_features]
    assert 0 < len(names) <= 5
    assert "phone number" in names
    weights = [abs(f.weight) for f in score.spam_features]
    assert weights == sorted(weights, reverse=True)
    assert all(f.weight > 0 for f in score.spam_features if f.name == "phone number")


@pytest.mark.parametrize(
    "text",
    [
        "Thu mua laptop cũ giá cao, đến tận nhà, gọi không chín không tám một hai ba bốn năm sáu",
        "Cần tiền gấp alo em: khong chin tam hai ba sau nam ba sau nam",
    ],
)
def test_phone_spelled_out_in_words_is_a_phone_signal(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert score.spam >= DEFAULT_APPROVE_THRESHOLD, (score.spam, score.spam_features)
    assert "phone number" in [f.name for f in score.spam_features]


def test_batched_explanations_match_per_row_definition(scorer: Scorer) -> None:
    # Vietnamese and English rows in one batch: each language's toxicity model explains its rows.
    texts = SPAM + HAM + HELD + ["", "💩" * 20, "đồ ngu như chó, câm mồm đi", "You are a stupid idiot"]
    from moderation.scoring.features import prepare
    from moderation.scoring.scorer import CANDIDATES, grounded, model_matrix

    x = scorer.features([ScoreInput(t) for t in texts])
    spam_x = model_matrix(scorer._spam.artifact, x, [prepare(t) for t in texts])
    scores = scorer.score([ScoreInput(t) for t in texts])
    for i, score in enumerate(scores):
        row = _Row(x.indices[x.indptr[i] : x.indptr[i + 1]], x.data[x.indptr[i] : x.indptr[i + 1]])
        spam_row = _Row(spam_x.indices[spam_x.indptr[i] : spam_x.indptr[i + 1]],
                        spam_x.data[spam_x.indptr[i] : spam_x.indptr[i + 1]])  # fmt: skip
        prep = prepare(texts[i])
        tox = scorer._tox_en if score.language == "en" and scorer._tox_en else scorer._tox
        tox_class = tox.artifact.classes.index(score.toxicity.label)
        assert score.toxicity_features == grounded(tox.explain(row, tox_class, CANDIDATES), prep)
        expected = scorer._spam.explain(spam_row, 0, CANDIDATES)
        if scorer._spam_pos < 0:
            expected = tuple((name, -weight) for name, weight in expected)
        assert score.spam_features == grounded(expected, prep)


def test_toxicity_labels_and_probabilities(scorer: Scorer) -> None:
    clean, rude = scorer.score([ScoreInput("Cảm ơn bài viết hữu ích"), ScoreInput("đồ ngu như chó, câm mồm đi")])
    assert clean.toxicity.label == "CLEAN"
    assert rude.toxicity.label != "CLEAN"
    for s in (clean, rude):
        assert set(s.toxicity.probabilities) == {"CLEAN", "OFFENSIVE", "HATE"}
        assert sum(s.toxicity.probabilities.values()) == pytest.approx(1.0)
    assert rude.toxicity_features and len(rude.toxicity_features) <= 5


@pytest.mark.parametrize(
    "text",
    ["", " ", "\ud800\udfff\ud800", "\x00\x01\u202e", "💩" * 5000, "a" * 70_000, "\u0301" * 100, "ﷺ" * 50],
)
def test_odd_input_does_not_raise(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert 0.0 <= score.spam <= 1.0


def test_batch_matches_single_and_empty_batch(scorer: Scorer) -> None:
    batch = [ScoreInput(t) for t in SPAM[:3] + HAM[:3]]
    together = scorer.score(batch)
    assert [s.spam for s in together] == pytest.approx([score_one(scorer, b.content).spam for b in batch])
    assert scorer.score([]) == []


def test_version_names_both_models(scorer: Scorer) -> None:
    assert scorer.version.startswith("spam-") and "+tox-" in scorer.version


def _copy_models(tmp_path: Path) -> Path:
    target = tmp_path / "models"
    for name in ("spam", "toxicity", "toxicity-en"):
        if (MODELS / name).exists():
            shutil.copytree(MODELS / name, target / name)
    return target


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    weights = models / "spam" / WEIGHTS_NAME
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        Scorer.load(models)


def test_version_mismatch_is_an_error(tmp_path: Path) -> None:
    models = _copy_models(tmp_path)
    manifest_path = models / "toxicity" / MANIFEST_NAME
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["libraries"]["scikit-learn"] = "0.0.1"
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    with pytest.raises(ModelError, match="built with"):
        Scorer.load(models)


def test_missing_or_garbage_artifact(tmp_path: Path) -> None:
    with pytest.raises(ModelError):
        load_artifact(tmp_path / "nope")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / MANIFEST_NAME).write_text("{not json", "utf-8")
    with pytest.raises(ModelError):
        load_artifact(tmp_path / "bad")


def test_artifacts_are_small() -> None:
    for name in ("spam", "toxicity", "toxicity-en"):
        assert (MODELS / name / WEIGHTS_NAME).stat().st_size <= 25 * 1024 * 1024


EXPLAINED = [
    "Bài viết rất hay, cảm ơn tác giả!",
    "Vay tiền nhanh không thế chấp, liên hệ Zalo 09O8 123 456",
    "n.h.a c.a.i uy tín, nạp 100k tặng 200k",
    "Đm bọn chó này ngu vl",
    "check out my channel http://bit.ly/x please subscribe",
    "Hội đồng xét xử nghị án, phiên tòa sẽ tuyên án vào thứ hai",
    "The central bank should stop printing money, my savings lost a third of their value",
    "You are a complete idiot and a disgrace to this country",
    "Đầu tư siêu lợi nhuận 30%/tháng, tham gia nhóm telegram @dautu247",
    "a b c d e f g h i",
]


def _whole_words_of(phrase: str, text: str) -> bool:
    """*phrase* occurs in *text* starting and ending at word boundaries."""
    at = text.find(phrase)
    while at != -1:
        end = at + len(phrase)
        before = at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")
        after = end == len(text) or not (text[end].isalnum() or text[end] == "_")
        if before and after:
            return True
        at = text.find(phrase, at + 1)
    return False


@pytest.mark.parametrize("text", EXPLAINED)
def test_explanations_are_whole_words_or_named_signals(scorer: Scorer, text: str) -> None:
    # Hashed n-gram columns are shared by many n-grams, and character n-grams cut through
    # words: a moderator is shown only whole words of this comment, or a named signal.
    from moderation.scoring.features import SIGNAL_NAMES, prepare
    from moderation.scoring.scorer import MAX_EXPLAINED, OTHER_WORDING

    prep = prepare(text)
    [score] = scorer.score([ScoreInput(text)])
    for feats in (score.spam_features, score.toxicity_features):
        assert 0 < len(feats) <= MAX_EXPLAINED
        assert len({f.name for f in feats}) == len(feats), feats
        for f in feats:
            if f.name in SIGNAL_NAMES or f.name == OTHER_WORDING:
                continue
            assert f.name.startswith("'") and f.name.endswith("'"), f.name
            inner = f.name[1:-1]
            assert "…" not in inner and max(len(w) for w in inner.split()) >= 2, f.name
            assert _whole_words_of(inner, prep.normalized) or _whole_words_of(inner, prep.folded), f.name


def test_character_ngram_is_shown_as_the_words_it_falls_in() -> None:
    from moderation.scoring.features import prepare
    from moderation.scoring.scorer import OTHER_WORDING, grounded

    prep = prepare("Hội đồng NGHỊ TÒA hôm nay")
    # "hi t" is a character 4-gram of the folded "nghi toa": it names the words around it.
    feats = grounded([("'…hi t…'", 0.7), ("'…hom…'", 0.2), ("'…zzzz…'", 0.1), ("'a'", 0.05)], prep)
    assert [(f.name, f.weight) for f in feats] == [("'nghị tòa'", 0.7), ("'hôm'", 0.2), (OTHER_WORDING, 0.15)]
    # Word names are matched as whole words: 'hi' is not shown for "nghị" or "hill".
    feats = grounded([("'hi'", 0.3)], prepare("nghị hill"))
    assert [(f.name, f.weight) for f in feats] == [(OTHER_WORDING, 0.3)]


ENGLISH_NEWS = [
    "Property prices in this city have doubled in ten years while wages stayed flat. Until the "
    "government builds more housing, first-time buyers will keep losing out to investors.",
    "The Fed raising interest rates again will hurt small businesses that borrowed during the "
    "pandemic. My shares have lost 20% this year and my pension fund is down too.",
    "I paid $3,500 for my daughter's tuition this semester. College costs are out of control "
    "and the loan interest makes it worse.",
    "Stocks fell 3% today after the jobs report. Anyone with a 401k should stay calm, markets "
    "recover over the long term.",
    "The senator voted against the tax bill, which would have saved a family of four about "
    "$2,000 a year. Voters will remember that in November.",
]


@pytest.mark.parametrize("text", ENGLISH_NEWS)
def test_english_news_comment_about_money_is_approved(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert score.spam < DEFAULT_APPROVE_THRESHOLD, (text, score.spam, score.spam_features)
    assert score.language == "en", (text, score.language)


REAL_STYLE_ADS = [
    # Investment scheme, dating ad, SIM list: the misses of real promotional spam.
    "ĐẦU TƯ SIÊU LỢI NHUẬN 💰 lãi 30%/tháng, rút vốn bất cứ lúc nào, tham gia ngay nhóm Telegram @dautu247",
    "Cơ hội đầu tư chứng khoán quốc tế, cam kết lợi nhuận 5% mỗi ngày, inbox em để được hướng dẫn",
    "Em gái xinh 2k3 nhận đi chơi qua đêm, ai có nhu cầu ib em qua zalo 0987 654 321 nha",
    "Hẹn hò kín đáo, gái xinh sinh viên, telegram @emxinh99, không cọc trước",
    "Sim số đẹp giá rẻ: 0912.888.999 - 5tr, 0988.666.888 - 8tr, 0903.123.456 - 3tr5. LH 0909 111 222",
    "Bán sim tứ quý, ngũ quý, năm sinh giá gốc, giao sim tận nhà toàn quốc, gọi 0977.123.123",
]


@pytest.mark.parametrize("text", REAL_STYLE_ADS)
def test_real_style_vietnamese_ads_are_held_or_spam(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert score.spam >= DEFAULT_APPROVE_THRESHOLD, (text, score.spam, score.spam_features)
    assert score.language == "vi"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Bài viết rất hay, cảm ơn tác giả", "vi"),
        ("Bai viet rat hay, cam on tac gia", "vi"),
        ("I think the mayor is right about the new bus lanes", "en"),
        ("😀😀😀", "other"),
        ("Привет всем, хорошая статья", "other"),
        ("12345", "other"),
    ],
)
def test_language_signal(scorer: Scorer, text: str, language: str) -> None:
    assert score_one(scorer, text).language == language


ENGLISH_INSULTS = [
    "You are a pathetic idiot and everyone here knows it, shut up",
    "What a stupid, ignorant moron. Go back under your rock, loser.",
    "Only a brain-dead fool would write garbage like this article",
]
ENGLISH_CLEAN = [
    "I disagree with the council's decision, but I appreciate the reporter laying out both sides.",
    "The new bridge will cut my commute by twenty minutes. About time.",
    "Does anyone know whether the library will stay open during the renovation?",
    *ENGLISH_NEWS,
]


# The English model of issue 21's recipe (2026-12-07) puts this insult aimed at the author just
# on the clean side (P(CLEAN) 0.47 against P(OFFENSIVE) 0.42): a documented miss (models/README.md).
INSULT_MISS = "English model of issue 21's recipe: P(CLEAN) 0.47, P(OFFENSIVE) 0.42"


@pytest.mark.parametrize("text", [
    pytest.param(t, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=INSULT_MISS))
    if "brain-dead" in t else t
    for t in ENGLISH_INSULTS
])  # fmt: skip
def test_english_insult_is_flagged_by_the_english_model(scorer: Scorer, text: str) -> None:
    score = score_one(scorer, text)
    assert score.language == "en"
    assert score.toxicity.label != "CLEAN", (text, score.toxicity)
    # The explanation names words of the comment, not the Vietnamese model's vocabulary.
    words = {f.name for f in score.toxicity_features}
    assert words & {"'idiot'", "'pathetic idiot'", "'stupid'", "'moron'", "'loser'", "'fool'", "'garbage'",
                    "'shut up'", "'shut'", "'ignorant'", "'brain'", "'dead fool'", "'ignorant moron'"}, words


@pytest.mark.parametrize("text", ENGLISH_CLEAN)
def test_clean_english_comment_is_not_labelled_toxic(scorer: Scorer, text: str) -> None:
    assert score_one(scorer, text).toxicity.label == "CLEAN", text


def test_each_language_gets_its_own_toxicity_model(scorer: Scorer) -> None:
    assert scorer._tox_en is not None and "+tox-en-" in scorer.version
    batch = [ScoreInput("đồ ngu như chó, câm mồm đi"), ScoreInput(ENGLISH_INSULTS[0])]
    vi, en = scorer.score(batch)
    # Same rows scored one by one: routing inside a mixed batch changes nothing.
    assert (vi.toxicity, en.toxicity) == (score_one(scorer, batch[0].content).toxicity,
                                          score_one(scorer, batch[1].content).toxicity)
    assert vi.toxicity.label != "CLEAN" and en.toxicity.label != "CLEAN"
    # Without the English model, an English insult falls back to the Vietnamese one.
    vietnamese_only = Scorer(scorer._spam.artifact, scorer._tox.artifact)
    fallback = vietnamese_only.score([batch[1]])[0]
    assert fallback.toxicity != en.toxicity


DECORATED = [
    "HỖ TRỢ KÈO 11 NGÀY VỀ TÀI KHOẢN, vào nhóm nhận kèo",
    "Earn $500 per day working from home, click bit.ly/xyz now",
    "Nhà cái uy tín, nạp đầu tặng 100%, liên hệ zalo 0912 345 678",
    "Bài viết rất hay, cảm ơn tác giả đã phân tích kỹ",
]


@pytest.mark.parametrize("style", STYLES)
def test_decorated_text_scores_as_the_plain_text(scorer: Scorer, style: str) -> None:
    # Issue 21: a betting tip in Mathematical Alphanumeric letters scored 0.01. Twenty styles
    # (bold, italic, script, fraktur, double-struck, sans-serif, monospace, fullwidth,
    # circled, small capitals, superscripts, squared...) with Vietnamese marks on them.
    from moderation.scoring.features import prepare

    decorated = [decorate(t, style) for t in DECORATED]
    plain_texts = [plain(t, style) for t in DECORATED]
    scores = scorer.score([ScoreInput(t) for t in decorated + plain_texts])
    for i, text in enumerate(decorated):
        assert text != plain_texts[i]
        assert prepare(text) == prepare(plain_texts[i]), text
        ours, reference = scores[i], scores[len(decorated) + i]
        assert abs(ours.spam - reference.spam) <= 0.02, (text, ours.spam, reference.spam)
        assert ours.toxicity.label == reference.toxicity.label


NO_DIACRITICS = "no Vietnamese diacritics"


@pytest.mark.parametrize("text", [*ENGLISH_NEWS, *ENGLISH_CLEAN[:3], *ENGLISH_INSULTS,
                                  "Earn $500 per day working from home!!! Click bit.ly/xyz now"])  # fmt: skip
def test_no_vietnamese_diacritics_never_fires_on_english(scorer: Scorer, text: str) -> None:
    # The moderator page shows this signal as a chip ("không dấu tiếng Việt").
    from moderation.scoring.features import SIGNAL_NAMES, prepare

    assert prepare(text).signals[SIGNAL_NAMES.index(NO_DIACRITICS)] == 0.0
    score = score_one(scorer, text)
    assert NO_DIACRITICS not in {f.name for f in (*score.spam_features, *score.toxicity_features)}


def test_no_vietnamese_diacritics_fires_on_vietnamese_typed_without_them() -> None:
    from moderation.scoring.features import SIGNAL_NAMES, prepare

    index = SIGNAL_NAMES.index(NO_DIACRITICS)
    assert prepare("Chinh quyen can xu ly manh tay hon voi tin dung den").signals[index] == 1.0
    assert prepare("Chính quyền cần xử lý mạnh tay hơn với tín dụng đen").signals[index] == 0.0


# Written for issue 21 before any retrained toxicity model's output was seen; never trained on.
TOXICITY_HANDWRITTEN = Path(__file__).resolve().parent / "data" / "toxicity_handwritten.csv"


def _toxicity_examples() -> list[dict[str, str]]:
    with TOXICITY_HANDWRITTEN.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# The shipped models' misses on the hand-written examples (models/README.md lists them): the
# English model of issue 21's recipe (rebuilt on FEATURES_VERSION 3, 2026-12-07) puts the
# insult aimed at the author just on the clean side; the Vietnamese model labels a complaint
# about prices OFFENSIVE. (Main's earlier English model labelled two complaints with mild
# profanity toxic instead; the new one labels them clean and does not hold them.)
KNOWN_TOXICITY_MISSES = {
    "Only a brain-dead fool would write garbage like this article": INSULT_MISS,
    "Giá xăng tăng mà lương không tăng, người dân khổ quá.": "Vietnamese model: OFFENSIVE",
}  # fmt: skip


def _toxicity_cases() -> list[Any]:
    cases = []
    for row in _toxicity_examples():
        miss = KNOWN_TOXICITY_MISSES.get(row["text"])
        marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=miss)] if miss else []
        cases.append(pytest.param(row, id=f"{row['lang']}-{row['label']}-{row['note']}", marks=marks))
    return cases


@pytest.mark.parametrize("row", _toxicity_cases())
def test_handwritten_toxicity_label(scorer: Scorer, row: dict[str, str]) -> None:
    # English complaints about a policy with mild profanity ("damn", "crap") are clean;
    # insults aimed at readers or the author are toxic; the same for Vietnamese insults, hate
    # and complaints.
    score = score_one(scorer, row["text"])
    assert score.language == row["lang"]
    toxic = score.toxicity.label != "CLEAN"
    assert toxic == (row["label"] == "toxic"), (row, score.toxicity)
    if row["label"] == "clean" and row["lang"] == "en":
        # Nor held by the default rules (P(OFFENSIVE) >= offensive_hold_at 0.7 or P(HATE) >=
        # hate_hold_at 0.8).
        assert score.toxicity.probabilities["OFFENSIVE"] < 0.7 and score.toxicity.probabilities["HATE"] < 0.8


# The English recipe of issue 21 (naive-Bayes scaling, a clean-flag decision folded into the
# intercept: models/build.py TOXICITY_MODELS), rebuilt on FEATURES_VERSION 3 on 2026-12-07.
def test_english_label_and_policy_thresholds_agree(scorer: Scorer) -> None:
    # The English decision is folded into the model's intercept: the label is the argmax of the
    # probabilities the reply and the policy see, so a P(OFFENSIVE) or P(HATE) threshold above
    # 0.5 (the default rules hold at offensive_hold_at 0.7 / hate_hold_at 0.8; automatic
    # rejection is off) never flags a comment labelled clean.
    assert scorer._tox_en is not None
    manifest = scorer._tox_en.artifact.manifest
    assert manifest["decision_bias"] == [0.0, 0.0, 0.0]
    assert manifest["decision"]["clean_flag_target"] <= 0.05
    rows = [r for r in _toxicity_examples() if r["lang"] == "en"]
    texts = [r["text"] for r in rows] + ENGLISH_CLEAN + ENGLISH_INSULTS
    for text, score in zip(texts, scorer.score([ScoreInput(t) for t in texts]), strict=True):
        probabilities = score.toxicity.probabilities
        assert score.toxicity.label == max(probabilities, key=probabilities.__getitem__), text
        if score.toxicity.label == "CLEAN":
            assert probabilities["OFFENSIVE"] < 0.5 and probabilities["HATE"] < 0.5, (text, probabilities)


def test_model_card_english_toxicity_target() -> None:
    # Issue 21's target as models/README.md reports it (models/metrics.json, written by
    # models/build.py): at most 5 % of held-out clean English comments labelled toxic, and at
    # least the toxic comments the TF-IDF twin catches at that clean rate.
    metrics = json.loads((MODELS / "metrics.json").read_text("utf-8"))
    english = metrics["toxicity_english_heldout"]
    assert english["clean_flagged"] <= 0.05
    assert english["toxic_caught"] >= english["baseline"]["toxic_caught_at_shipped_clean_rate"]["recall"]


@pytest.mark.xfail(strict=True, raises=AssertionError, reason="target missed: ViHSD dev macro-F1 +0.016 over the twin")
def test_model_card_vietnamese_toxicity_target() -> None:
    # Issue 21: ViHSD dev macro-F1 above the TF-IDF twin's by at least 0.02.
    metrics = json.loads((MODELS / "metrics.json").read_text("utf-8"))
    vietnamese = metrics["toxicity_vihsd_dev"]
    assert vietnamese["macro_f1"] >= vietnamese["baseline"]["macro_f1"] + 0.02
