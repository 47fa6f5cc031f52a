"""CSRF for the customer pages (``crm.links.pages``), which send ``Referrer-Policy: no-referrer``.

With that policy a browser posts the page's own forms with ``Origin: null`` and no Referer, so
Django's Origin and Referer checks would refuse every submission. These pages keep the essential
defence, the CSRF token (cookie and form field must match), refuse any *other* origin, and only
skip the Referer comparison that the privacy policy makes impossible.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.middleware.csrf import CsrfViewMiddleware, RejectRequest
from django.views.decorators.csrf import csrf_exempt, ensure_csrf_cookie
from django.views.defaults import permission_denied


class _TokenOnlyCheck(CsrfViewMiddleware):
    def check(self, request) -> None:
        origin = request.META.get("HTTP_ORIGIN")
        if origin not in (None, "null") and not self._origin_verified(request):
            raise RejectRequest(f"Origin {origin} is not this site")
        self._check_token(request)


def csrf_token_required(view):
    checker = _TokenOnlyCheck(lambda request: None)

    @csrf_exempt
    @ensure_csrf_cookie
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        enforce = not getattr(request, "_dont_enforce_csrf_checks", False)  # as Django's middleware
        if enforce and request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
            try:
                checker.check(request)
            except RejectRequest as exc:
                return permission_denied(request, PermissionDenied(exc.reason))
        return view(request, *args, **kwargs)

    return wrapper
