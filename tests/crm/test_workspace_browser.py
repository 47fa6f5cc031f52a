"""The staff workspace in a real browser (Playwright driving Debian's Chromium): a customer-service
user signs in, reads the dashboard and a customer's timeline; screenshots go to a temporary folder."""

import datetime
import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from crm import roles
from crm.models import Callback, Interaction, StaffProfile
from notifications.consent.services import consent_record
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification
from tests.notifications.test_browser import CHROMIUM_ARGS

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def desktop(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(executable).exists(), "Chromium is missing: run `make test` (it installs Debian's chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def test_customer_service_reads_the_dashboard_and_a_timeline(
    desktop, live_server, tmp_path, customer_factory, store_factory
):
    page = desktop
    agent = User.objects.create_user("agent", password="a long test password", is_staff=True)
    agent.groups.add(Group.objects.get(name=roles.CUSTOMER_SERVICE))
    StaffProfile.objects.create(user=agent, time_zone="Europe/Berlin")
    customer = customer_factory(first_name="Mari", last_name="Tamm", time_zone="Europe/Tallinn")
    now = timezone.now()
    purchase(customer, store=store_factory(), occurred_at=now - datetime.timedelta(days=2))
    consent_record(customer=customer, channel="email", action="granted", source="survey", wording="Yes, e-mail me")
    due_notification(customer, "service", status="sent")
    Interaction.objects.create(customer=customer, kind="call", summary="Asked about the new store")
    Callback.objects.create(
        customer=customer, subject="Call about the refund", assigned_to=agent, due_at=now + datetime.timedelta(hours=3)
    )

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", "a long test password")
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard-link")

    page.click("#dashboard-link a")
    page.wait_for_selector("#dashboard")
    assert page.locator("#panel-callbacks").inner_text().count("Call about the refund") == 1
    assert page.locator("#panel-messages svg").count() >= 1
    assert page.evaluate(NO_OVERFLOW)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/crm/customer/{customer.pk}/timeline/")
    page.wait_for_selector("#timeline")
    kinds = set(page.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.kind)"))
    assert {"ledger", "consent", "message", "interaction", "callback"} <= kinds
    assert "(customer)" in page.locator("#timeline").inner_text() and "(you)" in page.inner_text("#timeline")
    assert page.evaluate(NO_OVERFLOW)
    page.screenshot(path=str(tmp_path / "timeline.png"), full_page=True)

    # Filtered to consent only, with the form alone (no JavaScript involved).
    page.check("#timeline-filter input[value=consent]")
    page.click("#timeline-filter button[type=submit]")
    page.wait_for_url("**kind=consent**")
    kinds = set(page.locator("#timeline li").evaluate_all("items => items.map(i => i.dataset.kind)"))
    assert kinds == {"consent"} and "Yes, e-mail me" in page.inner_text("#timeline")
    page.screenshot(path=str(tmp_path / "timeline-consent.png"), full_page=True)

    # On a phone, neither page scrolls sideways.
    page.set_viewport_size({"width": 412, "height": 915})
    for path in ("/admin/dashboard/", f"/admin/crm/customer/{customer.pk}/timeline/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate(NO_OVERFLOW), path
    page.screenshot(path=str(tmp_path / "timeline-phone.png"), full_page=True)
    assert all((tmp_path / name).stat().st_size > 0 for name in ("dashboard.png", "timeline.png"))
