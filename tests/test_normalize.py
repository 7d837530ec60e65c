"""service.normalize: the obfuscations Vietnamese comment spam uses must fold away."""

from __future__ import annotations

import random
import unicodedata

import pytest

from moderation.models.decorated import STYLES, decorate, plain
from moderation.scoring import normalize as nz


@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("GlAY T0 giá rẻ", "giay to gia re"),
        ("S0-NamSlNH", "so-namsinh"),
        ("n.h.a c.a.i uy tín", "nha cai uy tin"),
        ("Nhà\u200b cái\u200d uy\ufeff tín", "nha cai uy tin"),
        (unicodedata.normalize("NFD", "Đăng ký nhận quà"), "dang ky nhan qua"),
        ("m@y $im số đẹp", "may sim so dep"),
        ("Сhеck out my channel", "check out my channel"),  # noqa: RUF001, RUF003 (Cyrillic С and е)
        ("ＮＨＡ ＣＡＩ", "nha cai"),  # noqa: RUF001 (fullwidth)
        ("z a l o", "zalo"),
    ],
)
def test_fold_for_matching_undoes_obfuscation(raw: str, folded: str) -> None:
    assert nz.fold_for_matching(raw) == folded


@pytest.mark.parametrize("text", ["covid19 và 4g", "iPhone 15 giá 20 triệu", "Lan và Long", "hay quá!"])
def test_ordinary_words_and_numbers_are_kept(text: str) -> None:
    assert nz.fold_for_matching(text) == nz.remove_diacritics(text.casefold())


def test_missing_diacritics_fold_to_the_same_form() -> None:
    accented = "Vay tiền nhanh, liên hệ Zalo, nhà cái uy tín"
    assert nz.fold_for_matching(accented) == nz.fold_for_matching("vay tien nhanh, lien he zalo, nha cai uy tin")
    assert nz.find_contacts("lien he zalo") == nz.find_contacts("Liên hệ Zalo") == ["lien he", "zalo"]


def test_skeleton_ignores_spacing_and_l_i_confusion() -> None:
    assert nz.skeleton("n h a - c a i") == nz.skeleton("NHÀ CÁl") == "nhacai"


def test_remove_diacritics_handles_both_unicode_forms() -> None:
    composed = "Trường Đại học Bách khoa"
    decomposed = unicodedata.normalize("NFD", composed)
    assert nz.remove_diacritics(composed) == nz.remove_diacritics(decomposed)
    assert nz.remove_diacritics(composed) == "Truong Dai hoc Bach khoa"
    assert nz.has_diacritics(decomposed) and not nz.has_diacritics("Truong")


@pytest.mark.parametrize(
    "text",
    [
        "goi 0982365365 ngay",
        "lh 0982 365 365",
        "0 9 8 2 . 3 6 5 . 3 6 5",
        "zalo 09823.65.365",
        "+84 982 365 365",
        "0９８２３６５３６５",  # noqa: RUF001 (fullwidth digits)
        "098\u200b2365\u200b365",
    ],
)
def test_phone_numbers_survive_spacing(text: str) -> None:
    assert nz.find_phone_numbers(text) == ["0982365365"]


def test_phone_with_letter_lookalikes() -> None:
    assert nz.find_phone_numbers("09O8 123 456") == ["0908123456"]


@pytest.mark.parametrize(
    "text",
    [
        "gọi không chín tám hai ba sáu năm ba sáu năm nhé",
        "KHONG CHIN TAM HAI BA SAU NAM BA SAU NAM",
        "kho\u0302ng chi\u0301n ta\u0301m hai ba sa\u0301u na\u0306m ba sa\u0301u na\u0306m",  # NFD
        "ko 9 8 hai 3 6 năm 3-6-5",
        "zalo: zero nine eight two three six five three six five",
        "tám tư chín tám hai ba sáu năm ba sáu năm",  # +84 spelled out
        "khong_chin_tam_hai_ba_sau_nam_ba_sau_nam",
        "khong_chin tam hai ba sau nam ba sau nam",  # a token like "khong_chin" once raised KeyError
    ],
)
def test_phone_numbers_spelled_out_in_words(text: str) -> None:
    assert nz.find_phone_numbers(text) == ["0982365365"]


@pytest.mark.parametrize(
    "text",
    [
        "năm nay ba mẹ tôi không về quê, hai năm rồi",
        "một hai ba bốn năm sáu bảy tám chín mười",  # counting: no phone starts with 1
        "không chín không tám...",  # too short to be a number
        "0 9 8 2 3 6 5 3 6 5",  # plain spaced digits are reported once, by the digit pattern
    ],
)
def test_digit_words_that_are_not_a_spelled_phone(text: str) -> None:
    assert len(nz.find_phone_numbers(text)) == (1 if text[0].isdigit() else 0)


def test_digit_word_soup_never_raises() -> None:
    """Random runs of digit words, case/compatibility oddities and separators (seeded)."""
    rng = random.Random(7)
    words = [*nz._DIGIT_WORDS, "KHÔNG", "\u0130", "\u017f", "\u212a", "\u0131", "x", "\u0301"]
    seps = [" ", ".", "_", "-", "/", ",", "  ", "_ ", "", "\u200b"]
    for _ in range(5000):
        text = "".join(rng.choice(words) + rng.choice(seps) for _ in range(rng.randint(1, 16)))
        for phone in nz.find_phone_numbers(text):
            assert phone.isdigit() and len(phone) in (10, 11)


@pytest.mark.parametrize(
    "text", ["năm 2024 có 1234567 người", "ngày 12/10/2023 lúc 10:30", "tỉ số 3-1", "giá 20.000.000 đồng"]
)
def test_numbers_that_are_not_phones(text: str) -> None:
    assert nz.find_phone_numbers(text) == []


def test_urls_bare_domains_written_out_and_short_links() -> None:
    urls = nz.find_urls("vào bit.ly/abc hoặc dep.com.vn, https://x.io/a và abc88 chấm com")
    assert urls == ["bit.ly/abc", "dep.com.vn", "https://x.io/a", "abc88 chấm com"]
    assert nz.is_short_link("bit.ly/abc") and nz.is_short_link("https://t.me/group")
    assert not nz.is_short_link("vnexpress.net/abc")
    assert nz.count_links("Mr. Smith. Com on, tp.hcm v.v.") == 0


def test_contacts() -> None:
    assert nz.find_contacts("Liên hệ Z.A.L.O hoặc Tele, ib mình") == ["lien he", "zalo", "tele", "ib"]
    assert nz.find_contacts("Bài báo viết rất hay") == []


DECORATED_TEXTS = [
    "HỖ TRỢ KÈO 11 ngày, Liên hệ zalo 0912 345 678",
    "Earn $500 per day working from home, click bit.ly/xyz now",
    "Đường này năm 2024 vẫn ngập",
]


@pytest.mark.parametrize("style", STYLES)
def test_decorated_letters_fold_to_plain_ones(style: str) -> None:
    # "Fancy text": Mathematical Alphanumeric letters, fullwidth, circled, small capitals,
    # superscripts... read as the plain letters, with the Vietnamese marks on them.
    for text in DECORATED_TEXTS:
        decorated = decorate(text, style)
        assert decorated != plain(text, style)
        assert nz.normalize_text(decorated) == nz.normalize_text(plain(text, style)), decorated
        assert nz.find_urls(decorated) == nz.find_urls(plain(text, style)), decorated
    phone = decorate("gọi 0912 345 678", style)
    if any(ch.isdigit() and not ch.isascii() for ch in phone):
        assert nz.find_phone_numbers(phone) == ["0912345678"], phone


def test_flag_emoji_is_not_letters() -> None:
    # Two regional indicators are a flag emoji, not the letters "VN".
    assert nz.normalize_text("Việt Nam 🇻🇳 vô địch") == "việt nam 🇻🇳 vô địch"
    assert nz.fold_decorations("ʙᴀ́ɴ sɪᴍ") == "bán sim"  # noqa: RUF001 (small capitals)
