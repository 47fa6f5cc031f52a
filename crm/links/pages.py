"""Pages customers open from links in messages, whichever app owns the page.

Customers never log in: a page reads an opaque token (``crm.links.tokens``). GET never changes
anything (mail scanners prefetch links); forms keep the CSRF token check (see ``crm.links.csrf``
for why not the Referer check). Every page sends ``Referrer-Policy: no-referrer``, is rate limited
per IP and opens in the customer's language, with the brand's contact details around it.
"""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from crm.links.csrf import csrf_token_required
from crm.links.ratelimit import rate_limited
from crm.models import Customer

LANGUAGES = {code for code, _name in settings.LANGUAGES}

# A language the customer chose for their messages is kept by the app that asked (notifications'
# preferences), which registers a reader here in its AppConfig.ready(): a page opened from a
# message then speaks the message's language, and neither crm nor an app beside that one (loyalty's
# dispute page) imports it.
_language_readers: dict[str, Callable[[Customer], str]] = {}


def language_reader_register(name: str, reader: Callable[[Customer], str]) -> None:
    """Register (or replace) ``reader``: the customer's chosen language, or "" when none was chosen."""
    _language_readers[name] = reader


def page_language(request, customer: Customer, *, chosen: str | None = None) -> str:
    """``?lang=`` when the site speaks it, else the language the customer chose, else the customer's.

    ``chosen``: the chosen language ("" for none) when the page has read it already; else the
    registered readers are asked.
    """
    asked = request.GET.get("lang", "")
    if asked in LANGUAGES:
        return asked
    if chosen is not None:
        return chosen or customer.language
    for reader in _language_readers.values():
        chosen = reader(customer)
        if chosen:
            return chosen
    return customer.language


# The pages load nothing but their own stylesheets (no scripts at all, no inline styles), post
# only to themselves and are never framed; Bootstrap's form icons are data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def private_page(view):
    """Headers for a page reached by a personal link: it leaks no token (no referrer), is never
    stored by a browser or proxy (the page shows personal choices), and runs nothing foreign."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Referrer-Policy"] = "no-referrer"
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        add_never_cache_headers(response)
        return response

    return wrapper


def token_page(group: str):
    """Everything a token page needs: no referrer, a rate limit, the CSRF token, GET/POST only."""

    def decorator(view):
        return private_page(rate_limited(group)(csrf_token_required(require_http_methods(["GET", "POST"])(view))))

    return decorator


def render_page(request, template: str, context: dict, language: str, status: int = 200):
    """The page in ``language``, with the brand and its contact details the base template shows."""
    with translation.override(language):
        context = {
            **context,
            "brand_name": settings.BRAND_NAME,
            "contact_phone": settings.BRAND_CONTACT_PHONE,
            "contact_email": settings.BRAND_CONTACT_EMAIL,
            "page_language": language,
            "languages": settings.LANGUAGES,
        }
        return render(request, template, context, status=status)


def invalid_link(request):
    """Tampered, unknown, revoked and expired links all look the same, and write nothing."""
    language = request.GET.get("lang", "") if request.GET.get("lang", "") in LANGUAGES else settings.LANGUAGE_CODE
    return render_page(request, "crm/links/link_invalid.html", {}, language, status=404)
