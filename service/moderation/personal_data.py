"""Personal data in a comment: identity numbers, bank accounts, someone's own phone or email.

A reader who posts their own (or a relative's) citizen-ID number, bank account or phone
number is not a spammer, but publishing it harms them: such comments are held for a
moderator with reason ``personal_data`` instead of being marked spam. A promoter's contact
details are the opposite case — an offer wants to be contacted — so a comment with any
offer wording or a link is left to the spam model.

Works on the folded form (no diacritics, casefolded, look-alikes folded) so that
"CCCD", "căn cước" and "can cuoc" are one pattern.
"""

from __future__ import annotations

import re
from typing import Final

from moderation.scoring import normalize as nz

# Digits as people type them: "0790 1234 5678", "079.012.345.678".
_NUM: Final = r"(?<![\w.])\d(?:[ .\-]?\d){%d,%d}(?![\w])"
_ID_WORDS: Final = (
    r"cmnd|cccd|cmt|can cuoc(?: cong dan)?|chung minh(?: nhan dan| thu)?|so dinh danh|"
    r"the can cuoc|ho chieu|citizen id|id card|national id|passport|ssn|social security"
)
_BANKS: Final = (
    r"vietcombank|vcb|techcombank|tcb|bidv|agribank|vietinbank|mb ?bank|tp ?bank|acb|"
    r"sacombank|vp ?bank|shb|hd ?bank|ocb|msb|seabank|vib|eximbank|scb|lpbank|"
    r"lienvietpostbank|bank|ngan hang"
)
_ACCOUNT_WORDS: Final = (
    rf"stk|so tai khoan|so tk|tai khoan(?: so)?|tk(?= *(?:{_BANKS}|:|la|so))|"
    r"account(?: number| no)?|acct|iban|routing number"
)
# A keyword, up to ~30 characters of anything that is not a digit, then the number.
_ID_RE: Final = re.compile(rf"(?:{_ID_WORDS})\b[^\d]{{0,30}}" + _NUM % (8, 11))
_CCCD_SHAPE_RE: Final = re.compile(r"(?<![\w.])0[0-9]{2}[0-3][0-9]{8}(?![\w])")
_ACCOUNT_RE: Final = re.compile(
    rf"(?:\b(?:{_ACCOUNT_WORDS})\b[^\d]{{0,30}}|\b(?:{_BANKS})\b[^\d]{{0,12}})" + _NUM % (5, 18)
)
# "số (điện thoại) của tôi/mẹ tôi…", "sđt em", "my number is", "email of my son".
_OWNER: Final = (
    r"toi|tui|minh|em|anh|chi|me|bo|ba|ma|con|vo|chong|ong|ba noi|ba ngoai|gia dinh|nha"
)
_OWN_CONTACT_RE: Final = re.compile(
    rf"\b(?:(?:so|so dien thoai|so dt|sdt|dien thoai|dt|email|mail|gmail|dia chi email)"
    rf"(?: cua)? (?:{_OWNER})\b"
    r"|my (?:(?:cell |mobile |phone |home |personal )?(?:number|phone|email|e-mail)|"
    r"(?:mom|mother|dad|father|son|daughter|wife|husband|brother|sister)'?s? (?:number|phone|email))"
    r"|call me (?:at|on)|reach me (?:at|on)|email me (?:at|on)?)"
)
# Phone numbers of any country once the wording says whose they are ("my number is 555-…").
_ANY_NUMBER_RE: Final = re.compile(_NUM % (6, 13))
_EMAIL_RE: Final = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Offer wording (folded): any of it makes contact details promotional, i.e. the spam
# model's business. Deliberately broad: a missed hold is a model decision, a wrong hold
# of an ad is cheap, but a promoter must not escape "spam" by adding "số của em".
_OFFER_RE: Final = re.compile(
    r"\b(?:lien he|lh|zalo|zl|inbox|ib|tele|telegram|viber|whatsapp|hotline|tuyen dung|tuyen|"
    r"can ban|ban gap|dang ban|mua ngay|cho thue|vay|giai ngan|khuyen mai|uu dai|giam gia|sale|"
    r"dich vu|nhan lam|ho tro vay|cho vay|dang ky|order|ship|freeship|gia re|gia chi|bao gia|"
    r"dau tu|loi nhuan|sim|tu van|nhu cau|kiem tien|thu nhap|free|buy|sell|discount|offer|"
    r"contact us|call now|text me|earn|loan|invest|profit|promo|deal|price|cheap|girls|"
    r"dating|hot girl|sexy|gai xinh|di choi|qua dem|nhan di|phong kin|massage|shop|fanpage|"
    r"kenh|channel|subscribe|follow|san pham)\b"
)

# Personal data worth holding for is in what a reader writes, not deep in a 64 KB paste;
# bounding the scan keeps normalisation and the patterns at a few hundred microseconds.
MAX_SCAN_CHARS: Final = 4_000

KINDS: Final = ("identity number", "bank account", "own phone number or email")


def personal_data(text: str) -> tuple[str, ...]:
    """Kinds of personal data *text* exposes outside any offer (empty when none)."""
    text = text[:MAX_SCAN_CHARS]
    folded = nz.remove_diacritics(nz.normalize_text(text))
    found: list[str] = []
    if _ID_RE.search(folded) or _CCCD_SHAPE_RE.search(folded):
        found.append(KINDS[0])
    if _ACCOUNT_RE.search(folded):
        found.append(KINDS[1])
    if _OWN_CONTACT_RE.search(folded) and (
        nz.find_phone_numbers(text) or _ANY_NUMBER_RE.search(folded) or _EMAIL_RE.search(text)
    ):
        found.append(KINDS[2])
    # An email address is no link, but find_urls sees its domain (and normalisation folds
    # "@" into a look-alike "a", so emails are searched in the raw text).
    if not found or _OFFER_RE.search(folded) or nz.find_urls(_EMAIL_RE.sub(" ", text)):
        return ()
    return tuple(found)
