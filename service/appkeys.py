"""Typed keys for the objects that hang on the aiohttp application."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis

from service.batcher import Batcher
from service.metrics import Metrics
from service.moderation import Moderation
from service.ratelimit import RateLimiter
from service.settings import Settings
from service.store import Store

SETTINGS = web.AppKey("settings", Settings)
REDIS = web.AppKey("redis", Redis)
STORE = web.AppKey("store", Store)
BATCHER = web.AppKey("batcher", Batcher)
MODERATION = web.AppKey("moderation", Moderation)
METRICS = web.AppKey("metrics", Metrics)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
