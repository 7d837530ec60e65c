"""Which addresses the service may send requests to (webhook targets).

A multi-site service that POSTs to URLs its tenants choose must not become a way into the
machine itself or its network: Redis on 127.0.0.1, the cloud metadata service at
169.254.169.254, an admin panel on 10.x. A target is refused when its host is, or resolves
to, anything but a public address, and when its URL carries credentials (``user:pass@``
would be stored and shown in clear; receivers authenticate us by the signature).

The check runs when the URL is saved — the URL parsed, its host name encoded as the socket
layer will encode it (IDNA: ``news..example.vn`` has an empty label and is refused), numeric
forms of an address read as the C library reads them (``127.1``, ``0x7f000001`` and
``2130706433`` are all 127.0.0.1), and the name resolved (:func:`check_target`) — and again
at every delivery on the resolved addresses (:class:`GuardedResolver`), so a name that later
resolves to 127.0.0.1 (DNS rebinding) is refused too and the connection only goes to
addresses that passed. Operators whose receivers really are on a private network (or
tests on 127.0.0.1) set ``MODERATION_WEBHOOK_ALLOW_PRIVATE=1``.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Final

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES: Final = frozenset({"http", "https"})
# Names every resolver maps to the loopback interface (RFC 6761), refused without a lookup.
_LOOPBACK_NAMES: Final = ("localhost", "localhost.")


class TargetRefused(OSError):
    """A target the service will not send to; an OSError so aiohttp reports it as a
    connection failure of that one delivery."""


def address_problem(address: Address) -> str | None:
    """Why ``address`` is not a public address, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if address.is_unspecified or address.is_multicast or address.is_reserved or not address.is_global:
        return "not a public address"
    return None


# Longest host name DNS can carry (RFC 1035: 255 octets on the wire, 253 written out).
MAX_HOST_CHARS: Final = 253


def _literal(host: str) -> Address | None:
    """The address ``host`` names without DNS: an IP literal, or one of the numeric forms
    getaddrinfo accepts for IPv4 (inet_aton: ``127.1``, ``0x7f000001``, ``2130706433``)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if not host or not all(c in "0123456789abcdefxABCDEFX." for c in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def host_problem(host: str) -> str | None:
    """Why the socket layer could not look ``host`` up, or None: an empty label, a label
    longer than 63 characters, a name too long (what raised UnicodeError at delivery)."""
    if host.startswith("[") or _literal(host) is not None:
        return None
    try:
        encoded = host.encode("idna")  # the codec getaddrinfo's caller uses on the name
    except UnicodeError as exc:
        reason = str(exc.__cause__ or exc).removeprefix("UnicodeError: ")
        return f"has a host name that is not a valid domain name ({reason})"
    if len(encoded.rstrip(b".")) > MAX_HOST_CHARS:
        return f"has a host name longer than {MAX_HOST_CHARS} characters"
    return None


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """What can be told about a target URL without DNS: scheme, credentials, a literal
    private address or a loopback name. None when the URL may be used."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return "is not a URL"
    if parsed.scheme not in SCHEMES or not parsed.raw_host:
        return "must be an http or https URL"
    if parsed.raw_user is not None or parsed.raw_password is not None:
        return "must not carry credentials (user:password@); receivers check the signature"
    bad_host = host_problem(parsed.raw_host)
    if bad_host is not None:
        return bad_host
    if allow_private:
        return None
    host = parsed.raw_host.lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return "points at this machine (localhost)"
    literal = _literal(host)
    if literal is not None:
        problem = address_problem(literal)
        if problem is not None:
            return f"points at {problem} ({literal})"
    return None


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing every name that resolves to a non-public address."""

    def __init__(self, *, allow_private: bool) -> None:
        self._inner = DefaultResolver()
        self._allow_private = allow_private

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if not self._allow_private:
            for result in results:
                address = _literal(result["host"])
                problem = "not an IP address" if address is None else address_problem(address)
                if problem is not None:
                    # One bad address refuses the name: which one a connection would use is not ours to pick.
                    raise TargetRefused(f"{host} resolves to {problem}")
        return results

    async def close(self) -> None:
        await self._inner.close()


async def check_target(url: str, *, allow_private: bool, resolver: AbstractResolver | None = None) -> None:
    """Refuse ``url`` (TargetRefused) unless it and every address its host resolves to may be used.

    Literal IP hosts never reach a resolver in aiohttp, so they are checked here as well.
    """
    problem = url_problem(url, allow_private=allow_private)
    if problem is not None:
        raise TargetRefused(f"the webhook URL {problem}")
    if allow_private:
        return
    host = URL(url).raw_host or ""
    if _literal(host) is not None:
        return
    own = resolver is None
    guard = resolver or GuardedResolver(allow_private=False)
    try:
        await guard.resolve(host, URL(url).port or 0, socket.AF_UNSPEC)
    finally:
        if own:
            await guard.close()
