"""Rate limits of the API: per address for anonymous callers, per user for authenticated ones, and a
lower one per user for writes. Rates are read from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] at each
request (so a changed setting applies at once) and counted in the cache ARCHIVE_API_THROTTLE_CACHE.
A refused request gets 429 with ``Retry-After`` (seconds)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

log = logging.getLogger(__name__)


class _ArchiveRate(SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        """Count the request; when the cache holding the counters is down (a Redis restart), let it through
        rather than fail it: an outage of the counters must not refuse a field team's uploads."""
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as error:
            log.warning("API rate limit not applied: its cache is unreachable (%s)", error)
            return True

    def get_rate(self) -> str | None:
        """The configured rate of this scope; a missing or empty one means no limit."""
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or None

    @property
    def cache(self):
        return caches[settings.ARCHIVE_API_THROTTLE_CACHE]

    def _key(self, ident) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRate(_ArchiveRate):
    """Anonymous callers, counted per client address."""

    scope = "api_anon"

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self._key(self.get_ident(request))


class UserRate(_ArchiveRate):
    """Every request of an authenticated user (token or session), counted per user."""

    scope = "api_user"

    def get_cache_key(self, request, view) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return self._key(request.user.pk)


class WriteRate(_ArchiveRate):
    """Writes (POST, PATCH) of an authenticated user, counted per user on top of ``UserRate``."""

    scope = "api_write"

    def get_cache_key(self, request, view) -> str | None:
        if request.method in SAFE_METHODS or not (request.user and request.user.is_authenticated):
            return None
        return self._key(request.user.pk)
