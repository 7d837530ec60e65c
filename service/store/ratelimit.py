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

import time

from redis.asyncio import Redis

from service.core.errors import TooManyRequests
from service.store import keys

WINDOW_SECONDS = 60

# INCR and the expiry in one step: a counter must never outlive its window, even if
# the process dies between the two commands.
_HIT_LUA = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RateLimiter:
    def __init__(self, redis: Redis, *, per_key: int, per_ip: int) -> None:
        self.per_key = per_key
        self.per_ip = per_ip
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
