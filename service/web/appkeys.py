"""Typed keys for the objects that hang on the aiohttp application."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from moderation.core.health import LoopHealth
from moderation.core.metrics import Metrics
from moderation.core.settings import Settings
from moderation.moderation.operations import Moderation
from moderation.moderation.retention import Retention
from moderation.scoring.batcher import Batcher
from moderation.store.auth import KeyDigests
from moderation.store.comments import Store
from moderation.store.ratelimit import RateLimiter

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
STORE = web.AppKey("store", Store)
BATCHER = web.AppKey("batcher", Batcher)
MODERATION = web.AppKey("moderation", Moderation)
METRICS = web.AppKey("metrics", Metrics)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
RETENTION = web.AppKey("retention", Retention)
# Digests of Akismet-style keys that resolved (each costs a PBKDF2 once per worker).
AKISMET_DIGESTS = web.AppKey("akismet_digests", KeyDigests)
# The background loops of this worker by name (webhooks, retention), for /readyz.
LOOPS = web.AppKey("loops", dict[str, LoopHealth])
# The site a request is about, once its caller is known (the access log names it).
REQUEST_SITE = web.RequestKey("site", str)
