"""Every public page that accepts a POST is rate limited: per address, and per link.

The URLconf is walked, so a new page without a limit fails here. Only what authenticates its
callers otherwise is left out, each with its reason.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from crm.links.tokens import customer_token

# Route prefixes that are not customer pages, and why they need no per-address page limit.
NOT_PUBLIC_PAGES = {
    "admin/": "staff only; logins are limited by django-axes",
    "api/v1/": "POS API: API keys",
    "anymail/": "ESP webhooks: basic-auth secret",
    "webhooks/": "provider webhooks: signatures and secrets",
    "i18n/": "Django's set_language writes nothing but the visitor's own language cookie",
}
# The pages this walk must find (so it cannot pass by finding nothing).
KNOWN = {
    "preferences",
    "unsubscribe",
    "unsubscribe-one-click",
    "dispute",
    "survey",
    "survey-open",
    "survey-confirm",
    "my-data",
    "why",
    "offer",
}


def walk(patterns=None, prefix=""):
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def public_routes():
    return [
        (route, entry) for route, entry in walk() if not any(route.startswith(prefix) for prefix in NOT_PUBLIC_PAGES)
    ]


def path_for(route: str, value: str) -> str:
    """The route with every converter filled in by ``value``."""
    path, rest = "/", route
    while "<" in rest:
        before, _, rest = rest.partition("<")
        _converter, _, rest = rest.partition(">")
        path += before + value
    return path + rest


def test_every_public_post_is_limited_per_address(db, client, settings):
    settings.PUBLIC_PAGES_RATE_PER_MINUTE = 2
    settings.PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE = 1000
    limited, unlimited, get_only = set(), [], set()
    for number, (route, entry) in enumerate(public_routes()):
        path = path_for(route, f"x{number}")
        first = client.post(path, REMOTE_ADDR="192.0.2.10")
        if first.status_code == 405:
            get_only.add(entry.name)
            continue
        client.post(path, REMOTE_ADDR="192.0.2.10")
        third = client.post(path, REMOTE_ADDR="192.0.2.10")
        if third.status_code == 429 and third["Retry-After"] == "60":
            limited.add(entry.name)
            assert client.post(path, REMOTE_ADDR="192.0.2.11").status_code != 429  # another address
        else:
            unlimited.append((route, entry.name, third.status_code))
    assert unlimited == []
    assert KNOWN <= limited
    assert get_only == {"healthz"}


def test_one_link_from_many_addresses_is_limited(client, customer_factory, settings):
    settings.PUBLIC_PAGES_RATE_PER_MINUTE = 100
    settings.PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE = 3
    customer, neighbour = customer_factory(), customer_factory()
    url = f"/p/{customer_token('preferences', customer)}/"
    statuses = [client.get(url, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    # Another customer's link is not affected, nor is the same link on another page.
    other = f"/p/{customer_token('preferences', neighbour)}/"
    assert client.get(other, REMOTE_ADDR="198.51.100.99").status_code == 200
    assert client.post(f"{url}data/", REMOTE_ADDR="198.51.100.98").status_code == 200


@pytest.mark.parametrize("page", ["preferences", "my-data"])
def test_a_busy_address_does_not_use_up_the_links_budget(client, customer, settings, page):
    settings.PUBLIC_PAGES_RATE_PER_MINUTE = 2
    settings.PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE = 3
    token = customer_token("preferences", customer)
    url = f"/p/{token}/" if page == "preferences" else f"/p/{token}/data/"
    noisy = [client.get(url, REMOTE_ADDR="203.0.113.1").status_code for _ in range(6)]
    assert noisy == [200, 200, 429, 429, 429, 429]
    assert client.get(url, REMOTE_ADDR="203.0.113.2").status_code == 200
