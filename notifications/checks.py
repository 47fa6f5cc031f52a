"""System checks: configuration that would silently stop messages is an error at start-up."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register


@register()
def public_base_url_check(app_configs, **kwargs) -> list[Error]:
    """E-mails carry RFC 8058 one-click unsubscribe links, which must be HTTPS outside development.

    Without this check a plain-http PUBLIC_BASE_URL with DEBUG off makes every e-mail fail its
    completeness check at send time, one by one, long after the deployment looked healthy.
    """
    url = urlsplit(settings.PUBLIC_BASE_URL)
    if url.scheme not in ("http", "https") or not url.netloc:
        return [
            Error(
                f"PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL!r} is not an absolute URL.",
                hint="Set PUBLIC_BASE_URL to the public address of this site, e.g. https://crm.example.com",
                id="notifications.E001",
            )
        ]
    if url.scheme != "https" and not settings.DEBUG:
        return [
            Error(
                f"PUBLIC_BASE_URL={settings.PUBLIC_BASE_URL!r} is not HTTPS while DEBUG is off: every e-mail "
                "would be suppressed, because unsubscribe links must be HTTPS.",
                hint="Set PUBLIC_BASE_URL=https://<your public host> (or DEBUG=true for local development).",
                id="notifications.E002",
            )
        ]
    return []
