"""The customer pages in a real browser: Playwright driving Debian's Chromium (installed by `make`)."""

import datetime
import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail

from loyalty.models import Dispute
from notifications.consent.book import ConsentBook
from notifications.consent.services import consent_record
from notifications.delivery.rendering import dispute_url
from notifications.models import ConsentEvent, Preference, Topic, UnsubscribeFeedback
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification
from tests.notifications.test_pipeline import send_due

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
# Kept where TEST_ARTIFACTS_DIR points (e.g. a CI artifact folder); by default in the run's temporary VAR_DIR.
SCREENSHOTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or settings.VAR_DIR / "test-artifacts") / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
def browser_page(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls around it are ours.
    # monkeypatch takes it away again even when the test fails (manage.py check --deploy refuses it).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(executable).exists(), "Chromium is missing: run `make test` (it installs Debian's chromium)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 412, "height": 915})  # a phone
        yield page
        browser.close()


def _link(body: str, path: str, live_url: str) -> str:
    match = re.search(rf"https://crm\.example\.com/{path}/[^\s]+", body)
    assert match, body
    return match.group(0).replace("https://crm.example.com", live_url)


def test_customer_follows_links_from_a_real_message(browser_page, live_server, customer_factory, store_factory):
    page = browser_page
    customer = customer_factory(first_name="Mari", language="en", country="EE")
    consent_record(customer=customer, channel="email", action="granted", source="survey", wording="yes")
    Preference.objects.filter(customer=customer).update(window_start=datetime.time(0), window_end=datetime.time(23, 59))
    Topic.objects.filter(code="promotion").update(urgency="timely")
    due_notification(customer, "promotion", context={"title": "Autumn sale", "text": "-20% on coats"})
    send_due()
    [email] = mail.outbox
    preferences = _link(email.body, "p", live_server.url)
    unsubscribe = _link(email.body, "u", live_server.url)

    # Preference centre: later mornings, no "New products"; the page says exactly what changed.
    page.goto(preferences)
    page.screenshot(path=str(SCREENSHOTS / "preferences.png"), full_page=True)
    page.get_by_label("Not before (your local time)").select_option(label="10:00")
    page.get_by_label("New products").uncheck()
    page.get_by_role("button", name="Save my choices").click()
    changes = page.locator("#changes")
    changes.wait_for()
    assert "New products" in changes.inner_text() and "10:00" in changes.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "preferences-saved.png"), full_page=True)

    # Unsubscribe from this topic only, with a reason.
    page.goto(unsubscribe)
    page.screenshot(path=str(SCREENSHOTS / "unsubscribe.png"), full_page=True)
    page.get_by_label("Stop “Promotion” by e-mail").check()
    page.get_by_label("Too many messages").check()
    page.get_by_label("In your own words (optional)").fill("Two a day is too much")
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("What you will get from now on").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "unsubscribed.png"), full_page=True)

    book = ConsentBook.for_customers([customer.pk])
    assert not book.allows(customer.pk, "email", Topic.objects.get(code="promotion"))
    assert not book.allows(customer.pk, "email", Topic.objects.get(code="new-products"))
    assert book.allows(customer.pk, "email", Topic.objects.get(code="store-opening"))
    assert book.allows(customer.pk, "email", Topic.objects.get(code="bonus-credited"))
    feedback = UnsubscribeFeedback.objects.get()
    assert (feedback.choice, feedback.reason.code, feedback.free_text) == ("topic", "too-many", "Two a day is too much")
    sources = set(ConsentEvent.objects.filter(customer=customer).values_list("source", flat=True))
    assert {"preference_page", "unsubscribe"} <= sources
    assert Preference.objects.get(customer=customer).window_start == datetime.time(10)

    # "This wasn't me" from a bonus message.
    result = purchase(customer, store=store_factory(), amount="25")
    page.goto(dispute_url(customer, result.transaction_ids[0]).replace("https://crm.example.com", live_server.url))
    page.screenshot(path=str(SCREENSHOTS / "dispute.png"), full_page=True)
    page.get_by_label("Anything we should know? (optional)").fill("I was not in the shop")
    page.get_by_role("button", name="Report it").click()
    page.get_by_text("we will check it").wait_for()
    assert Dispute.objects.get().customer_comment == "I was not in the shop"
    for name in ("preferences", "preferences-saved", "unsubscribe", "unsubscribed", "dispute"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 5000


def test_pages_switch_language_without_javascript(browser_page, live_server, customer_factory):
    page = browser_page
    customer = customer_factory(language="ru")
    from notifications.delivery.rendering import preferences_url

    page.goto(preferences_url(customer).replace("https://crm.example.com", live_server.url))
    assert page.locator("html").get_attribute("lang") == "ru"
    page.get_by_role("link", name="SV").click()
    assert page.locator("html").get_attribute("lang") == "sv"
    page.screenshot(path=str(SCREENSHOTS / "preferences-sv.png"), full_page=True)


def test_customer_answers_the_preference_survey_from_the_invitation(
    browser_page, live_server, customer_factory, district_factory
):
    from notifications.models import Notification
    from notifications.outbox.write import notify
    from surveys.models import Question, Survey

    page = browser_page
    home = district_factory(name="Kalamaja", city="Tallinn", country="EE")
    customer = customer_factory(first_name="Liis", language="en", country="EE")
    consent_record(customer=customer, channel="email", action="granted", source="staff", wording="at the till")
    Preference.objects.filter(customer=customer).update(window_start=datetime.time(0), window_end=datetime.time(23, 59))
    survey = Survey.objects.create(slug="prefs", kind="preference", title="What should we tell you about?")
    K, B = Question.Kind, Question.Binding
    for position, (kind, text, binding) in enumerate(
        [
            (K.CONSENT, "May we send you news and offers by SMS?", B.CONSENT_SMS),
            (K.MULTIPLE, "Which topics interest you?", B.TOPICS),
            (K.TIME_WINDOW, "When do you like to read our messages?", B.TIME_WINDOW),
            (K.DISTRICT, "Where do you live?", B.HOME_DISTRICT),
        ]
    ):
        Question.objects.create(survey=survey, position=position, kind=kind, text=text, binding=binding, required=True)
    Topic.objects.filter(code="survey-invitation").update(urgency="timely")
    notify(
        customer=customer,
        topic="survey-invitation",
        context={"survey": "prefs", "title": "Tell us", "text": "Two minutes"},
        dedupe_key="browser-survey",
    )
    Notification.objects.update(send_at=datetime.datetime.now(datetime.UTC))
    send_due()
    page.goto(_link(mail.outbox[0].body, "s", live_server.url))
    page.get_by_role("group", name="May we send you news and offers by SMS?").get_by_label("Yes").check()
    page.get_by_label("Store opening").check()
    page.get_by_label("evenings (17–21)").check()
    page.get_by_label("Where do you live?").select_option(label=str(home))
    page.screenshot(path=str(SCREENSHOTS / "survey.png"), full_page=True)
    page.get_by_role("button", name="Send my answers").click()
    page.locator("#thanks").wait_for()
    page.screenshot(path=str(SCREENSHOTS / "survey-done.png"), full_page=True)

    customer.refresh_from_db()
    assert customer.home_district == home
    preference = Preference.objects.get(customer=customer)
    assert (preference.window_start, preference.window_end, preference.badge) == (
        datetime.time(17),
        datetime.time(21),
        "full",
    )
    sms_consent = ConsentEvent.objects.get(customer=customer, channel="sms", topic=None)
    assert (sms_consent.source, sms_consent.wording) == ("survey", "May we send you news and offers by SMS?")
    book = ConsentBook.for_customers([customer.pk])
    assert book.allows(customer.pk, "sms", Topic.objects.get(code="store-opening"))
    assert not book.allows(customer.pk, "email", Topic.objects.get(code="promotion"))
    # The next message follows the new preferences.
    [row, *_rest] = notify(customer=customer, topic="store-opening", context={"text": "x"}, dedupe_key="after")
    assert datetime.time(17) <= row.send_at.astimezone(customer.zone).time() < datetime.time(21)
