"""Which language a comment is written in: "vi", "en" or "other" (reported in the reply;
"en" sends the comment's toxicity to the English model, see service/scoring/scorer.py).

Two cheap cues, counted over the words of the normalised text:

* Vietnamese: a word with a Vietnamese-only letter or tone mark (ă â đ ê ô ơ ư, any of the
  five tones), or, for text typed without diacritics, one of the common Vietnamese
  syllables below (none of them an English word);
* English: one of the commonest English function words (none of them a Vietnamese syllable).

The side with more hits wins; a comment with no hit at all (emoji, numbers, another script,
a single name) is "other". Good enough to tell a moderator (and the reply) which language
the models were looking at, and to pick the toxicity model.
"""

from __future__ import annotations

import re
from typing import Final

LANGUAGES: Final = ("vi", "en", "other")

_WORD_RE: Final = re.compile(r"[^\W\d_]+")
# Letters that only Vietnamese (among the languages a Vietnamese news site sees) puts on
# Latin letters: the five tones on every vowel, and ă â đ ê ô ơ ư.
_VI_LETTERS: Final = frozenset(
    "ăâđêôơưàảãạáằẳẵặắầẩẫậấèẻẽẹéềểễệếìỉĩịíòỏõọóồổỗộốờởỡợớùủũụúừửữựứỳỷỹỵý"
)
# Frequent Vietnamese syllables as typed without diacritics, none an English word.
_VI_SYLLABLES: Final = frozenset(
    """khong cua nguoi duoc nhung cho voi nay mot thi nha anh em minh roi lam di ve cac
    nhieu biet sao vay tien viec nuoc nam ngay gia lien hoac cung nhu khi neu tai trong
    ngoai tren duoi sau truoc lai van da dang se bi phai nen vi chi moi con hay thay
    noi tot xau qua nhat dep ai gi dau bao toi chung ho ong ba chu co luon nhe nhi oi
    mua sdt zalo lh ib inbox dc ko""".split()
)
# Frequent English function words, none a Vietnamese syllable typed without diacritics.
_EN_WORDS: Final = frozenset(
    """the and is are was were be been to of in that it this for with on not you your
    they their them we our he his she her have has had will would should could what
    which who when where why how if but or so just all there here about from by at as
    an my me i do does did can like people think than then more some any no yes very
    because only also into out up get got one other these those its dont hello
    thanks thank please great good nice love check""".split()
)


def detect(normalized: str) -> str:
    """``vi``, ``en`` or ``other`` for normalised (NFC, casefolded) text."""
    vi = en = 0
    for word in _WORD_RE.findall(normalized):
        if word in _EN_WORDS:
            en += 1
        elif word in _VI_SYLLABLES or not _VI_LETTERS.isdisjoint(word):
            vi += 1
    if vi == en == 0:
        return "other"
    return "vi" if vi >= en else "en"
