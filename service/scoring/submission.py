"""The whole submission beyond its text: what a comment points at, and signals of its form.

Pure functions (no Redis, no secret); the moderation wing hashes the entries and weighs them.

* :func:`entries` — what moderators' decisions are remembered by (service/moderation/reputation.py):
  registrable domains of the links and of the author's website (the Public Suffix List of the
  ``publicsuffixlist`` package, its bundled copy: nothing is fetched at run time), Vietnamese
  phone numbers and Zalo/Telegram handles as the text pipeline normalises them
  (service/scoring/text.py), the email address and the author's IP network (/24, /64).
* :func:`signals` — named whole-submission signals with fixed weights in log-odds: the author's
  website, links to other sites, an email domain that is also the linked site, an SEO-style
  author name, a non-browser user agent, a referrer from another site. There is no labelled
  data with these fields for news comments, so the weights are set by hand (README,
  "Whole-submission signals", says why each is what it is and what they add on held-out data).
* :func:`adjust` — the text model's P(spam) moved by log-odds shifts.

The text model's own features (features.py) are not touched: these act after it.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Final

from publicsuffixlist import PublicSuffixList

from moderation.core.schemas import CommentIn
from moderation.scoring import normalize as nz
from moderation.scoring.text import CommentText

# Kinds of entry, by what they name. A domain is no personal data; the others are (erasure
# removes them, the reason never shows them).
DOMAIN, PHONE, HANDLE, EMAIL, NETWORK = "domain", "phone", "handle", "email", "network"
KINDS: Final = (DOMAIN, PHONE, HANDLE, EMAIL, NETWORK)
PERSONAL_KINDS: Final = frozenset({PHONE, HANDLE, EMAIL, NETWORK})

# Links are read from the first characters of the content only (as the link limit reads them,
# policy.LINK_SCAN_CHARS): finding links is linear but not free on a 64 KB paste.
SCAN_CHARS: Final = 4_000
# At most this many entries of a kind per comment: a lookup reads one hash field per entry,
# and a comment listing 50 domains is decided by the link limit long before.
MAX_PER_KIND: Final = {DOMAIN: 6, PHONE: 3, HANDLE: 3, EMAIL: 1, NETWORK: 1}
IPV4_PREFIX: Final = 24
IPV6_PREFIX: Final = 64
# Anonymous Akismet comments carry this address (web/akismet.py): it names nobody.
_NO_EMAIL: Final = frozenset({"anonymous@akismet.invalid"})

# Messenger links name a person (a handle), not a site; shortener links name one target each.
_MESSENGERS: Final = {"t.me": "telegram", "telegram.me": "telegram", "zalo.me": "zalo"}
_HOST_RE: Final = re.compile(r"^(?:[a-z][a-z0-9+.\-]*://)?(?:[^@/?#\s]*@)?([^/?#\s:]+)(?::\d+)?([^?#\s]*)", re.I)
# Written-out dots of normalize.find_urls ("abc chấm com", "abc (dot) com").
_WRITTEN_DOT_RE: Final = re.compile(r"\s*(?:\(\.\)|\[\.\]|\(dot\)|\[dot\]|\bdot\b|\bcham\b|\bchấm\b|。)\s*", re.I)
_HOST_CHARS_RE: Final = re.compile(r"^[a-z0-9\-.]+$")
# "@name" handles count only beside a messenger word: a bare "@Lan" is a reply to a reader.
_AT_HANDLE_RE: Final = re.compile(r"(?<![\w.])@([a-z0-9_][a-z0-9_.]{2,31})", re.I)
_MESSENGER_WORD_RE: Final = re.compile(r"\b(?:telegram|tele|tg|zalo|zl|whatsapp|whats app|wechat|viber|signal)\b")


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing a comment carries that decisions are remembered by.

    ``value`` is the normalised form that is hashed (never stored); ``shown`` is what a reason
    may say about it (a domain; empty for personal data).
    """

    kind: str
    value: str
    shown: str = ""


@cache
def public_suffix_list() -> PublicSuffixList:
    """The bundled list, parsed once per process (~0.3 s): immutable, shared by every request."""
    return PublicSuffixList()


@lru_cache(maxsize=8192)
def registrable(host: str) -> str | None:
    """``shop.example.com.vn`` → ``example.com.vn``; None for a bare suffix, an IP or junk."""
    host = host.strip(".").lower()
    if not host or "." not in host or not _HOST_CHARS_RE.match(host) or len(host) > 253:
        return None
    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    return public_suffix_list().privatesuffix(host)


def _host_and_path(url: str) -> tuple[str, str] | None:
    candidate = _WRITTEN_DOT_RE.sub(".", url.strip()).replace(" ", "")
    match = _HOST_RE.match(candidate)
    if match is None:
        return None
    # find_urls keeps what follows a URL up to white space: "www.abc.vn," is abc.vn.
    host = match.group(1).lower().strip(".,;!?()[]{}<>|")
    if host.startswith("www."):
        host = host[4:]
    return host, match.group(2) or ""


@lru_cache(maxsize=8192)
def url_domain(url: str) -> str | None:
    """The registrable domain a URL (or bare / written-out domain) points at."""
    parts = _host_and_path(url)
    return registrable(parts[0]) if parts else None


@lru_cache(maxsize=8192)
def _link_entry(url: str) -> Entry | None:
    parts = _host_and_path(url)
    if parts is None:
        return None
    host, path = parts
    first = path.strip("/").split("/", 1)[0].rstrip(".,;!?)]}>|")
    if host in _MESSENGERS:
        if not first:
            return None
        # zalo.me/0912345678 and zalo.me/84912345678 are one account: the phone's normal form.
        phones = nz.find_phone_numbers(first) if first.lstrip("+").isdigit() else []
        return Entry(HANDLE, f"{_MESSENGERS[host]}:{(phones[0] if phones else first).lower()}")
    if host in nz.SHORTENER_DOMAINS:
        # bit.ly as a whole is everyone's; the short code is one target.
        return Entry(DOMAIN, f"{host}/{first}", f"{host}/{first}") if first else None
    domain = registrable(host)
    return Entry(DOMAIN, domain, domain) if domain else None


def link_urls(text: CommentText) -> tuple[str, ...]:
    """The links of the content's first SCAN_CHARS characters (normalize.find_urls)."""
    return text.prefix(SCAN_CHARS).urls


def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) network of an address: one household or one customer."""
    if not ip:
        return None
    if ":" not in ip:
        # user_ip is canonical already (schemas.parse_comment): string work, ~20x cheaper than ipaddress.
        return ip.rsplit(".", 1)[0] + ".0/24"
    address = ipaddress.ip_address(ip)
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def entries(text: CommentText, allowed: Iterable[str] = ()) -> tuple[Entry, ...]:
    """The comment's entries, at most MAX_PER_KIND of each, none on the allow-list.

    *allowed*: registrable domains whose links (and email addresses) are never counted: the
    site's own domain and its partners (site setting ``reputation_allow``, and the domain of
    the comment's ``post_url``).
    """
    comment = text.comment
    allow = {a.lower().lstrip("@.") for a in allowed}
    own = url_domain(comment.post_url) if comment.post_url else None
    if own:
        allow.add(own)
    out: dict[tuple[str, str], Entry] = {}
    counts = dict.fromkeys(KINDS, 0)

    def add(entry: Entry | None) -> None:
        if entry is None or (entry.kind, entry.value) in out or counts[entry.kind] >= MAX_PER_KIND[entry.kind]:
            return
        if entry.kind == DOMAIN and entry.value.split("/", 1)[0] in allow:
            return
        counts[entry.kind] += 1
        out[(entry.kind, entry.value)] = entry

    if comment.author_url:
        add(_link_entry(comment.author_url))
    for url in link_urls(text):
        add(_link_entry(url))
    forms = text.prefix(SCAN_CHARS)
    for phone in forms.phones:
        add(Entry(PHONE, phone))
    if "@" in forms.clean:
        if _MESSENGER_WORD_RE.search(forms.fold):
            for match in _AT_HANDLE_RE.finditer(forms.clean):
                add(Entry(HANDLE, "at:" + match.group(1).lower().rstrip(".")))
    email = comment.author_email.casefold()
    if email not in _NO_EMAIL and registrable(email_domain(email)) not in allow:
        add(Entry(EMAIL, email))
    network = network_of(comment.user_ip)
    if network:
        add(Entry(NETWORK, network))
    return tuple(out.values())


# ---------------------------------------------------------------- whole-submission signals


@dataclass(frozen=True, slots=True)
class Signal:
    """A named fact of the submission and its push on the spam log-odds."""

    name: str
    weight: float


# Names are shown on the moderator page (i18n.js "signals" has each in Vietnamese) and listed,
# with why each weighs what it does, in README "Whole-submission signals".
AUTHOR_URL: Final = "author website given"
OTHER_SITE_LINK: Final = "links to another site"
EMAIL_IS_LINKED_SITE: Final = "email domain is the linked site"
SEO_NAME: Final = "SEO-style author name"
BOT_AGENT: Final = "non-browser user agent"
FOREIGN_REFERRER: Final = "sent from another site"
SIGNAL_WEIGHTS: Final = {
    AUTHOR_URL: 0.7,
    OTHER_SITE_LINK: 0.4,
    EMAIL_IS_LINKED_SITE: 1.0,
    SEO_NAME: 1.2,
    BOT_AGENT: 0.7,
    FOREIGN_REFERRER: 0.7,
}
SIGNAL_NAMES: Final = tuple(SIGNAL_WEIGHTS)
# The weights are set by hand (no labelled data has these fields), so together they may move
# the text model's log-odds by at most this much: they tip a borderline comment, they never make
# spam of an ordinary one alone (P 0.10 reaches at most 0.33; spam at 0.9 still needs the
# text's own P ≥ 0.67). A test client's user agent on every comment (the WordPress test posts
# with aiohttp's) once pushed a 0.34 comment to 0.90.
MAX_SIGNAL_SHIFT: Final = 1.5

# Mail providers anyone can use: an address there says nothing about a linked site.
FREE_MAIL: Final = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.com.vn", "hotmail.com", "outlook.com", "live.com",
    "msn.com", "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "mail.com",
    "yandex.com", "yandex.ru", "zoho.com", "qq.com", "163.com",
})  # fmt: skip
# Words of business names posted as author names ("Best Printer Support", "Dịch vụ SEO giá rẻ"),
# matched on the folded name (no diacritics, lower case) as whole words or phrases.
_SEO_WORDS: Final = (
    # English
    "best", "cheap", "cheapest", "buy", "sale", "discount", "support", "services", "service", "agency",
    "company", "official", "online", "shop", "store", "seo", "marketing", "casino", "betting", "bet",
    "loan", "loans", "repair", "hotline", "customer care", "helpline", "tech support", "escort",
    "pharmacy", "crypto", "forex", "investment", "vape", "replica", "wholesale", "near me",
    # Vietnamese, without diacritics
    "dich vu", "gia re", "uy tin", "chuyen", "mua ban", "ban", "cho thue", "thiet ke", "vay", "vay tien",
    "nha cai", "cong ty", "tu van", "khuyen mai", "bao gia", "sua chua", "thu mua", "dai ly", "tuyen dung",
    "ca cuoc", "lo de", "soi cau", "giam can", "my pham", "giao hang", "ship cod",
)  # fmt: skip
_SEO_RE: Final = re.compile(
    r"\b(?:" + "|".join(re.escape(w) for w in sorted(_SEO_WORDS, key=len, reverse=True)) + r")\b"
)
# "ban" alone is also a reader's "bạn" (you) once folded: it counts only beside another word.
_WEAK_SEO: Final = frozenset({"ban", "best", "online", "bet", "official", "chuyen", "sale"})
_BROWSER_RE: Final = re.compile(r"Mozilla/|Opera/", re.I)
_BOT_AGENT_RE: Final = re.compile(
    r"curl|wget|python|requests|aiohttp|httpx|java/|okhttp|go-http|libwww|perl|php|ruby|scrapy|"
    r"httpclient|node-fetch|axios|headless|phantomjs|selenium|bot\b|spider|crawler",
    re.I,
)


def seo_name(name: str, folded: str | None = None) -> bool:
    """An author name shaped like a business's, not a person's (matched on the name without
    diacritics, casefolded; *folded*: that form when already computed)."""
    # No look-alike folding: a name is short and the words are plain (a tenth of the cost).
    folded = nz.remove_diacritics(name.casefold()) if folded is None else folded
    words = {m.group(0) for m in _SEO_RE.finditer(folded)}
    if not words:
        return False
    # One strong word ("seo", "dịch vụ", "casino"…) or two weak ones ("best … online").
    return bool(words - _WEAK_SEO) or len(words) >= 2


@lru_cache(maxsize=4096)
def bot_agent(user_agent: str | None) -> bool:
    """A user agent no reader's browser sends (curl, python-requests, a crawler…)."""
    if not user_agent or not user_agent.strip():
        return False
    agent = user_agent.strip()
    return bool(_BOT_AGENT_RE.search(agent)) or not _BROWSER_RE.search(agent)


def signals(text: CommentText, allowed: Iterable[str] = ()) -> tuple[Signal, ...]:
    """The whole-submission signals that apply to the comment, each with its weight."""
    comment = text.comment
    allow = {a.lower().lstrip("@.") for a in allowed}
    own = url_domain(comment.post_url) if comment.post_url else None
    if own:
        allow.add(own)
    found: list[str] = []
    author_site = url_domain(comment.author_url) if comment.author_url else None
    if comment.author_url and author_site not in allow:
        found.append(AUTHOR_URL)
    linked = {d for d in (url_domain(u) for u in link_urls(text)) if d}
    if linked - allow:
        found.append(OTHER_SITE_LINK)
    mail = registrable(email_domain(comment.author_email))
    if mail and mail not in FREE_MAIL and mail not in allow and mail in (linked | {author_site}):
        found.append(EMAIL_IS_LINKED_SITE)
    if seo_name(comment.author_name):
        found.append(SEO_NAME)
    if bot_agent(comment.user_agent):
        found.append(BOT_AGENT)
    if comment.referrer and own:
        referrer_site = url_domain(comment.referrer)
        if referrer_site and referrer_site not in allow:
            found.append(FOREIGN_REFERRER)
    return tuple(Signal(name, SIGNAL_WEIGHTS[name]) for name in found)


# Log-odds are clamped so that a probability of exactly 0 or 1 stays finite.
_EPS: Final = 1e-6


def logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def adjust(probability: float, shifts: Sequence[float]) -> float:
    """The text model's P(spam) moved by log-odds *shifts*: sigmoid(logit(p) + sum(shifts))."""
    if not shifts:
        return probability
    z = logit(probability) + math.fsum(shifts)
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def signal_shift(found: Sequence[Signal]) -> float:
    """The log-odds the signals move the text model's P(spam) by, capped at MAX_SIGNAL_SHIFT."""
    return min(math.fsum(s.weight for s in found), MAX_SIGNAL_SHIFT)


def comment_signals(comment: CommentIn) -> tuple[Signal, ...]:
    """:func:`signals` of a comment without shared text forms (evaluation scripts)."""
    return signals(CommentText(comment))
