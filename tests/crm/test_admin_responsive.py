"""The admin in a real browser at a laptop's and a phone's width: no page wider than the window.

Playwright drives Debian's Chromium (as tests/notifications/test_browser.py does). Wide tables
scroll inside their own box (static/css/admin-responsive.css), so the page itself never does.
"""

import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from crm.models import Interaction
from loyalty.services import points_adjust
from tests.notifications.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SIZES = {"laptop": (1280, 800), "phone": (390, 844)}
LONG = "Asked about the opening hours of the new store in Kalamaja and the parking; " * 3


@pytest.fixture
def browser(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(executable).exists(), "Chromium is missing: run `make test` (it installs Debian's chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The elements that reach past the window's right edge, to say what to fix when the test fails.
WIDEST = """() => [...document.querySelectorAll('#content *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth).slice(0, 8)
    .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().width)}px`)"""


def _overflow(page) -> int:
    """How many pixels the page is wider than the window (0: none)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_customer_pages_fit_the_window_on_a_laptop_and_a_phone(
    browser, live_server, tmp_path, customer_factory, store_factory
):
    staff = User.objects.create_superuser("staff", "staff@example.com", "pw-for-the-browser")
    store = store_factory(name="Tallinn Kalamaja flagship store with a long name")
    customer = customer_factory(
        first_name="Maria-Magdaleena",
        last_name="Tamm-Kuusk-Saar",
        email="maria-magdaleena.tamm-kuusk-saar@a-rather-long-domain.example.com",
        external_id="CARD-000000000000000000001",
        home_store=store,
        address_line="Kalamaja tänav 123-45, a long street address that goes on",
    )
    for _ in range(3):
        Interaction.objects.create(customer=customer, kind="call", summary=LONG, staff=staff, store=store)
    points_adjust(customer=customer, points=120, reason=LONG, staff=staff)
    for n in range(5):
        customer_factory(home_store=store, email=f"someone.with.a.long.address.{n}@example-domain.example.com")
    pages = {
        "customer": reverse("admin:crm_customer_change", args=[customer.pk]),
        "customers": reverse("admin:crm_customer_changelist"),
        "ledger": reverse("admin:loyalty_bonustransaction_changelist"),
        "interactions": reverse("admin:crm_interaction_changelist"),
    }

    wide = {}
    for size, (width, height) in SIZES.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.goto(live_server.url + reverse("admin:login"))
        page.fill("#id_username", "staff")
        page.fill("#id_password", "pw-for-the-browser")
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")
        for name, path in pages.items():
            page.goto(live_server.url + path)
            assert page.locator("#content").count() == 1, name
            page.screenshot(path=str(tmp_path / f"{name}-{size}.png"), full_page=True)
            if _overflow(page) > 0:
                wide[f"{name} at {width}px"] = (_overflow(page), page.evaluate(WIDEST))
        context.close()

    assert wide == {}
    assert len(list(tmp_path.glob("*.png"))) == len(SIZES) * len(pages)
