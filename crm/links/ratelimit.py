"""Per-IP rate limits for the customer pages (cache-backed; use a shared cache in production)."""

from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def rate_limited(group: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            key = f"ratelimit:{group}:{client_ip(request)}"
            added = cache.add(key, 1, timeout=60)
            count = 1 if added else cache.incr(key)
            if count > settings.PUBLIC_PAGES_RATE_PER_MINUTE:
                response = render(request, "crm/links/rate_limited.html", status=429)
                response["Retry-After"] = "60"
                response["Referrer-Policy"] = "no-referrer"
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
