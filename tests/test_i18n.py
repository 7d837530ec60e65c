"""The moderator page's Vietnamese and English strings cover everything the service emits.

Read from the page's i18n.js source: every reason code the rules can give (found in the
service's source) has a label and a detail sentence in both languages, and every model
signal name has a Vietnamese name, so the Vietnamese page never falls back to English.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moderation.moderation.operations import REPUTATION_SIGNAL
from moderation.scoring import submission
from moderation.scoring.features import SIGNAL_NAMES
from moderation.scoring.scorer import OTHER_WORDING

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "service"
I18N = next(SERVICE.rglob("static/js/i18n.js"))
_KEY = re.compile(r'^\s*(?:"([^"]+)"|([A-Za-z_]\w*))\s*:', re.MULTILINE)


def block(language: str, name: str) -> set[str]:
    """The keys of one table (``name: { ... }``) of one language in i18n.js."""
    source = I18N.read_text(encoding="utf-8")
    start = source.index(f"\n  {language}: {{")
    at = source.index(f"\n    {name}: {{", start)
    end = source.index("\n    },", at)
    body = source[source.index("{", at) + 1 : end]
    return {quoted or bare for quoted, bare in _KEY.findall(body)}


def reason_codes() -> set[str]:
    codes: set[str] = set()
    for path in SERVICE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes.update(re.findall(r'Reason\(\s*"(\w+)"', text))
        codes.update(re.findall(r'_hold\(\s*"(\w+)"', text))
    return codes


def test_the_source_scan_finds_the_rules() -> None:
    assert {"too_many_links", "spam_score_uncertain", "flood", "duplicate", "shadow_mode"} <= reason_codes()


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_reason_has_a_label_and_a_detail(language: str) -> None:
    codes = reason_codes()
    assert codes <= block(language, "reasonDetails"), codes - block(language, "reasonDetails")
    assert codes <= block(language, "reasonCodes"), codes - block(language, "reasonCodes")


def test_every_signal_has_a_vietnamese_name() -> None:
    names = block("vi", "signals")
    missing = {*SIGNAL_NAMES, OTHER_WORDING, *submission.SIGNAL_NAMES, REPUTATION_SIGNAL} - names
    assert not missing, missing


# English words that have a Vietnamese word on the page ("Mã moderator" was half English).
# Not here: spam, email, IP, URL, emoji and the names Zalo/Telegram, which Vietnamese uses as they are.
_ENGLISH_WORDS = re.compile(
    r"\b(moderator|token|queue|score|reason|filter|select(ed)?|approve|reject(ed)?|pending|block|"
    r"undo|refresh|sign|count|day|stats?|signals?|toxicity|offensive|hate|link|comment|author)\b",
    re.IGNORECASE,
)
# A string value: after a key's colon, a literal or an arrow function's template.
_VALUE = re.compile(r""":\s*(?:\([^)]*\)\s*=>\s*)?(["`])((?:(?!\1).)*)\1""")


def test_vietnamese_strings_have_no_english_words() -> None:
    source = I18N.read_text(encoding="utf-8")
    vi = source[source.index("\n  vi: {") : source.index("\n  en: {")]
    values = [m.group(2) for m in _VALUE.finditer(vi)]
    assert len(values) > 100
    # Template parameters (${p.links}, ${tx("fieldNames", p.field)}) are code, not words.
    words = [re.sub(r"\$\{[^}]*\}", "", v) for v in values]
    assert [w for w in words if _ENGLISH_WORDS.search(w)] == []


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_reputation_kind_has_a_name(language: str) -> None:
    assert set(submission.KINDS) <= block(language, "reputationKinds")
