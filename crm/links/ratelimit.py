"""Rate limits for the customer pages: per client address, and per link (cache-backed; use a shared
cache in production, see CACHE_URL).

The per-link limit stops one link being hammered from many addresses; it counts only requests the
per-address limit let through, so one noisy address does not use up a customer's own link.
"""

import hashlib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render

WINDOW_SECONDS = 60


def client_ip(request) -> str:
    """The client's address; behind a proxy, set it in REMOTE_ADDR there (one place for every limit)."""
    return request.META.get("REMOTE_ADDR", "")


def _hit(key: str) -> int:
    """This window's count for ``key`` after counting one more request."""
    if cache.add(key, 1, timeout=WINDOW_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=WINDOW_SECONDS)
        return 1


def _too_many(request):
    response = render(request, "crm/links/rate_limited.html", status=429)
    response["Retry-After"] = str(WINDOW_SECONDS)
    response["Referrer-Policy"] = "no-referrer"
    return response


def rate_limited(group: str):
    """At most PUBLIC_PAGES_RATE_PER_MINUTE requests a minute per address, and at most
    PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE per link (the view's ``token`` argument), per ``group``."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if _hit(f"ratelimit:{group}:{client_ip(request)}") > settings.PUBLIC_PAGES_RATE_PER_MINUTE:
                return _too_many(request)
            token = kwargs.get("token")
            if token is not None:
                # Hashed: the cache never holds a working link, and keys stay short whatever is sent.
                digest = hashlib.sha256(token.encode()).hexdigest()[:32]
                if _hit(f"ratelimit:{group}:token:{digest}") > settings.PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE:
                    return _too_many(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
