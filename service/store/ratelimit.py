"""Request budgets per credential and per client IP: fixed one-minute windows in Redis.

Why Redis and not in-process token buckets: with N worker processes sharing the port
(and possibly several hosts) an in-process bucket would allow N times the budget and
would depend on which worker the kernel handed the connection to. One INCR per
request against a counter that expires with its window is shared by every worker and
costs one round trip. A fixed window lets a client spend up to twice its budget
across a window boundary; for abuse protection that is an acceptable price for one
command per request.
"""

from __future__ import annotations

import ipaddress
import time

from redis.asyncio import Redis

from moderation.core.errors import TooManyRequests
from moderation.store import keys

WINDOW_SECONDS = 60

# INCR and the expiry in one step: a counter must never outlive its window, even if
# the process dies between the two commands.
_HIT_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


# Failed checks of Akismet-style keys (12 hex digits, 48 bits) are counted per client address
# in one-hour windows: README, "Akismet drop-in", works out the search time this leaves.
GUESS_WINDOW_SECONDS = 3600
# IPv6 addresses are counted by /48, the largest block commonly given to one customer: a
# client holding a /64 or /56 would otherwise have 2^16 or more budgets.
GUESS_IPV6_PREFIX = 48


def guess_prefix(ip: str) -> str:
    """The address, or its /48 for IPv6: the unit one budget of failed key checks belongs to."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.ip_network(f"{address}/{GUESS_IPV6_PREFIX}", strict=False)
        return f"{network.network_address}/{GUESS_IPV6_PREFIX}"
    return str(address)


class RateLimiter:
    def __init__(self, redis: Redis, *, per_key: int, per_ip: int, key_guesses_per_hour: int = 0) -> None:
        self.per_key = per_key
        self.per_ip = per_ip
        self.key_guesses_per_hour = key_guesses_per_hour
        self.redis = redis
        self._hit = redis.register_script(_HIT_LUA)

    async def _spend(self, key: str, budget: int, window: int, what: str) -> None:
        # The key outlives its window by a second so a late INCR cannot restart it.
        count = int(await self._hit(keys=[key], args=[WINDOW_SECONDS + 1]))
        if count > budget:
            retry_after = (window + 1) * WINDOW_SECONDS - int(time.time())
            raise TooManyRequests(
                f"more than {budget} requests per minute for this {what}; retry after the window",
                retry_after,
                code=f"rate_limited_{what.replace(' ', '_')}",
            )

    async def check_ip(self, ip: str) -> None:
        if self.per_ip > 0:
            window = int(time.time()) // WINDOW_SECONDS
            await self._spend(keys.rate_ip(ip, window), self.per_ip, window, "client ip")

    async def check_credential(self, digest: str) -> None:
        """Count one request against a site key or moderator token (by its digest)."""
        if self.per_key > 0:
            window = int(time.time()) // WINDOW_SECONDS
            await self._spend(keys.rate_credential(digest, window), self.per_key, window, "key")

    async def check_key_guesses(self, ip: str) -> None:
        """Refuse (429) to check another Akismet-style key for an address whose failed checks
        this hour reached the budget: it would learn whether its guess was right."""
        if self.key_guesses_per_hour <= 0:
            return
        now = int(time.time())
        window = now // GUESS_WINDOW_SECONDS
        failed = await self.redis.get(keys.key_guesses(guess_prefix(ip), window))
        if failed is not None and int(failed) >= self.key_guesses_per_hour:
            raise TooManyRequests(
                f"more than {self.key_guesses_per_hour} failed key checks this hour from this address; "
                "check the key, and retry after the window",
                (window + 1) * GUESS_WINDOW_SECONDS - now,
                code="rate_limited_key_guesses",
            )

    async def failed_key_check(self, ip: str) -> None:
        if self.key_guesses_per_hour > 0:
            window = int(time.time()) // GUESS_WINDOW_SECONDS
            await self._hit(keys=[keys.key_guesses(guess_prefix(ip), window)], args=[GUESS_WINDOW_SECONDS + 1])
