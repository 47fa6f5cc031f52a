import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import pgettext

from crm.models import Customer
from loyalty.models import Dispute
from notifications.consent.book import ConsentBook
from notifications.consent.services import consent_record
from notifications.delivery.rendering import preferences_url, unsubscribe_urls
from notifications.models import ConsentEvent, Notification, Preference, Topic, UnsubscribeFeedback, UnsubscribeReason
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification

BASE = "https://crm.example.com"


def path_of(url: str) -> str:
    return url.replace(BASE, "")


@pytest.fixture
def subscriber(customer_factory):
    customer = customer_factory(first_name="Mari", language="et", country="EE")
    consent_record(customer=customer, channel="email", action="granted", source="survey", wording="yes")
    return customer


@pytest.fixture
def promo(subscriber):
    return due_notification(subscriber, "promotion", context={"text": "x", "campaign": "autumn-sale"})


def unsubscribe_path(notification):
    return path_of(unsubscribe_urls(notification)[0])


def writes():
    return ConsentEvent.objects.count(), UnsubscribeFeedback.objects.count(), Dispute.objects.count()


def test_unsubscribe_page_opens_in_the_customers_language_and_get_writes_nothing(client, promo):
    before = writes()
    response = client.get(unsubscribe_path(promo))
    assert response.status_code == 200 and response["Referrer-Policy"] == "no-referrer"
    assert '<html lang="et">' in response.content.decode()
    assert client.get(unsubscribe_path(promo) + "?lang=fi").content.decode().count('<html lang="fi">') == 1
    assert writes() == before


@pytest.mark.parametrize(
    ("language", "unsubscribe_heading", "save_button"),
    [
        ("en", "Fewer messages?", "Save my choices"),
        ("et", "Vähem sõnumeid?", "Salvesta valikud"),
        ("fi", "Vähemmän viestejä?", "Tallenna valinnat"),
        ("ru", "Меньше сообщений?", "Сохранить"),
        ("sv", "Färre meddelanden?", "Spara mina val"),
    ],
)
def test_every_page_renders_in_each_language(client, promo, subscriber, language, unsubscribe_heading, save_button):
    page = client.get(unsubscribe_path(promo), {"lang": language}).content.decode()
    assert f'<html lang="{language}">' in page and unsubscribe_heading in page
    page = client.get(path_of(preferences_url(subscriber)), {"lang": language}).content.decode()
    assert f'<html lang="{language}">' in page and save_button in page


def test_page_opens_in_the_customers_own_language(client, customer_factory):
    customer = customer_factory(language="ru")
    assert "Сохранить" in client.get(path_of(preferences_url(customer))).content.decode()


def test_unsubscribe_one_topic_with_a_reason_and_plain_words_result(client, promo, subscriber):
    reason = UnsubscribeReason.objects.get(code="too-many")
    response = client.post(
        unsubscribe_path(promo), {"choice": "topic", "reason": reason.pk, "free_text": " Every day! "}
    )
    assert response.status_code == 200
    book = ConsentBook.for_customers([subscriber.pk])
    assert not book.allows(subscriber.pk, "email", Topic.objects.get(code="promotion"))
    assert book.allows(subscriber.pk, "email", Topic.objects.get(code="new-products"))
    event = ConsentEvent.objects.filter(source="unsubscribe").get()
    assert event.wording and event.wording_version and event.ip_address == "127.0.0.1" and event.reason
    feedback = UnsubscribeFeedback.objects.get()
    assert (feedback.choice, feedback.reason, feedback.free_text, feedback.campaign) == (
        "topic",
        reason,
        "Every day!",
        "autumn-sale",
    )
    text = response.content.decode()
    with translation.override(subscriber.language):  # topic names in the customer's language
        credited, promotion = pgettext("topic", "Bonus credited"), pgettext("topic", "Promotion")
    assert credited in text and promotion not in re.sub(r"<p id=\"chosen\">.*?</p>", "", text, flags=re.S)


def test_unsubscribe_choices_fewer_switch_everything(client, customer_factory):
    customer = customer_factory(language="en")
    for channel in ("email", "sms"):
        consent_record(customer=customer, channel=channel, action="granted", source="survey")
    promo = due_notification(customer, "promotion")
    url = unsubscribe_path(promo)
    client.post(url, {"choice": "fewer"})
    assert Preference.objects.get(customer=customer).max_per_week["email"] == 1
    client.post(url, {"choice": "switch", "switch_to": "sms"})
    book = ConsentBook.for_customers([customer.pk])
    promotion = Topic.objects.get(code="promotion")
    assert not book.allows(customer.pk, "email", promotion) and book.allows(customer.pk, "sms", promotion)
    missing = client.post(url, {"choice": "switch"})
    assert missing.status_code == 200 and "switch_to" in missing.context["form"].errors
    client.post(url, {"choice": "everything"})
    book = ConsentBook.for_customers([customer.pk])
    assert not any(
        book.allows(customer.pk, c, t) for c in ("email", "sms") for t in Topic.objects.filter(kind="marketing")
    )
    assert book.allows(customer.pk, "email", Topic.objects.get(code="bonus-credited"))
    assert list(UnsubscribeFeedback.objects.values_list("choice", flat=True).order_by("id")) == [
        "fewer",
        "switch",
        "everything",
    ]


@pytest.mark.parametrize("mangle", ["tamper", "unknown", "expired", "revoked", "other-purpose"])
def test_bad_tokens_all_get_the_same_page_and_write_nothing(client, promo, subscriber, mangle, monkeypatch):
    url = unsubscribe_path(promo)
    token = url.split("/")[2]
    if mangle == "tamper":
        url = url.replace(token, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))
    elif mangle == "unknown":
        url = "/u/not-a-token/"
    elif mangle == "expired":
        import crm.links.tokens as tokens

        monkeypatch.setitem(tokens.MAX_AGE, "unsubscribe", -1)
    elif mangle == "revoked":
        Customer.objects.filter(pk=subscriber.pk).update(token_version=1)
    elif mangle == "other-purpose":
        url = path_of(preferences_url(subscriber)).replace("/p/", "/u/")
    before = writes()
    get = client.get(url)
    post = client.post(url, {"choice": "everything"})
    assert get.status_code == post.status_code == 404
    assert "This link is no longer valid" in get.content.decode()
    assert writes() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_links_revoked_before_the_upgrade_stay_revoked(customer_factory):
    """The migration that moves token_version from preferences to the customer keeps every value, both ways."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("notifications", "0013_coalesce_bonus_messages"), ("crm", "0006_customer_token_version")]
    after = [("notifications", "0014_token_version_on_customer")]
    revoked, untouched, without_preferences = customer_factory.create_batch(3)
    executor = MigrationExecutor(connection)
    try:
        executor.migrate(before)
        OldPreference = executor.loader.project_state(before).apps.get_model("notifications", "Preference")
        OldPreference.objects.create(customer_id=revoked.pk, token_version=3)
        OldPreference.objects.create(customer_id=untouched.pk)

        MigrationExecutor(connection).migrate(after)
        versions = dict(Customer.objects.values_list("pk", "token_version"))
        assert versions == {revoked.pk: 3, untouched.pk: 0, without_preferences.pk: 0}

        Customer.objects.filter(pk=untouched.pk).update(token_version=1)  # revoked after the upgrade
        MigrationExecutor(connection).migrate(before)
        versions = dict(OldPreference.objects.values_list("customer_id", "token_version"))
        assert versions == {revoked.pk: 3, untouched.pk: 1}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_unsubscribe_links_keep_working_for_60_days(client, promo, monkeypatch):
    import time as real_time

    url = unsubscribe_path(promo)
    later = real_time.time() + 60 * 24 * 3600
    monkeypatch.setattr("django.core.signing.time.time", lambda: later)
    assert client.get(url).status_code == 200


def test_human_forms_keep_csrf(promo, subscriber):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(unsubscribe_path(promo), {"choice": "topic"}).status_code == 403
    assert strict.post(path_of(preferences_url(subscriber)), {}).status_code == 403
    assert not UnsubscribeFeedback.objects.exists()


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_one_click_post_in_both_encodings_without_cookies(promo, subscriber, encoding):
    one_click = path_of(unsubscribe_urls(promo)[1])
    client = Client(enforce_csrf_checks=True)
    if encoding == "urlencoded":
        response = client.post(
            one_click, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
    else:
        response = client.post(one_click, {"List-Unsubscribe": "One-Click"})  # multipart/form-data
    assert response.status_code == 200 and not response.cookies
    assert not ConsentBook.for_customers([subscriber.pk]).allows(
        subscriber.pk, "email", Topic.objects.get(code="promotion")
    )
    assert ConsentEvent.objects.filter(source="one_click").count() == 1


def test_preference_centre_saves_and_shows_exactly_what_changed(client, subscriber, district_factory):
    district = district_factory(name="Kalamaja", city="Tallinn", country="EE")
    url = path_of(preferences_url(subscriber))
    form = client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, "", [], False)}
    data["districts"] = [district.pk]
    data["topics"] = [t for t in data["topics"] if t != "promotion"]
    data.update(
        window_start="10:00:00",
        window_end="18:00:00",
        weekdays=["1"],
        max_email="1",
        max_sms="1",
        language="et",
        marketing_email="on",
    )
    response = client.post(url, data)
    assert response.status_code == 200
    changes = response.context["changes"]
    with translation.override("et"):  # the page answers in the language just chosen
        promotion_in_estonian = pgettext("topic", "Promotion")
    assert (
        any(promotion_in_estonian in c for c in changes)
        and any("10:00" in c for c in changes)
        and any("Kalamaja" in c for c in changes)
    )
    preference = Preference.objects.get(customer=subscriber)
    assert (preference.window_start, preference.window_end, preference.weekdays) == (
        datetime.time(10),
        datetime.time(18),
        [1],
    )
    assert list(preference.districts.all()) == [district]
    assert preference.badge == "email_only"  # kept current by the consent events, not overwritten
    withdrawn = ConsentEvent.objects.filter(source="preference_page", topic__code="promotion", action="withdrawn")
    assert withdrawn.exists() and all(e.wording for e in withdrawn)
    # Saving the same again changes nothing.
    again = client.post(url, data)
    assert again.context["changes"] == []


def test_preference_form_errors_come_back_with_the_message(client, subscriber):
    url = path_of(preferences_url(subscriber))
    response = client.post(
        url, {"window_start": "20:00:00", "window_end": "08:00:00", "max_email": "1", "max_sms": "1", "language": "en"}
    )
    assert response.status_code == 200 and "window_end" in response.context["form"].errors
    assert not ConsentEvent.objects.filter(source="preference_page").exists()


def test_token_pages_are_rate_limited_per_ip(client, promo, settings):
    settings.PUBLIC_PAGES_RATE_PER_MINUTE = 3
    from django.core.cache import cache

    cache.clear()
    url = unsubscribe_path(promo)
    statuses = [client.get(url).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    other_ip = client.get(url, REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 200
    cache.clear()


def test_bonus_email_links_to_dispute_and_preferences(customer, store_factory):
    from django.core import mail

    from tests.notifications.test_pipeline import send_due

    Topic.objects.filter(code="bonus-credited").update(channels=["email"])
    Preference.objects.create(customer=customer, window_start=datetime.time(0), window_end=datetime.time(23, 59))
    result = purchase(customer, store=store_factory(), amount="12")
    from notifications.outbox.write import notify

    [row] = notify(
        customer=customer,
        topic="bonus-credited",
        context={"points": 12, "balance": 12, "transaction_ids": list(result.transaction_ids)},
        dedupe_key="dl",
    )
    Notification.objects.filter(pk=row.pk).update(send_at=row.created_at)
    send_due()
    body = mail.outbox[0].body
    assert f"{BASE}/d/" in body and f"{BASE}/p/" in body and f"{BASE}/u/" in body


def test_forms_work_with_a_null_origin_but_refuse_other_origins(promo):
    """no-referrer makes browsers post with Origin: null and no Referer; the CSRF token still decides."""
    browser = Client(enforce_csrf_checks=True)
    url = unsubscribe_path(promo)
    token = browser.get(url).cookies["csrftoken"].value
    foreign = browser.post(url, {"choice": "topic", "csrfmiddlewaretoken": token}, HTTP_ORIGIN="https://evil.example")
    assert foreign.status_code == 403 and not UnsubscribeFeedback.objects.exists()
    ok = browser.post(url, {"choice": "topic", "csrfmiddlewaretoken": token}, HTTP_ORIGIN="null", secure=True)
    assert ok.status_code == 200 and UnsubscribeFeedback.objects.count() == 1


def test_staff_see_unsubscribe_reasons_by_reason_topic_channel_campaign_month(
    staff_client, promo, subscriber, django_assert_max_num_queries
):
    too_many = UnsubscribeReason.objects.get(code="too-many")
    url = unsubscribe_path(promo)
    staff_client.post(url, {"choice": "topic", "reason": too_many.pk, "free_text": "Daily is a lot"})
    staff_client.post(url, {"choice": "fewer", "reason": too_many.pk})
    with django_assert_max_num_queries(25):
        response = staff_client.get(reverse("admin:notifications_unsubscribefeedback_changelist"))
    assert response.status_code == 200
    analytics = response.context["analytics"]
    assert analytics["total"] == 2 and analytics["stayed"] == 1
    assert analytics["by_reason"][0] == {"label": "Too many messages", "n": 2, "percent": 100}
    assert analytics["by_campaign"][0]["label"] == "autumn-sale"
    assert analytics["by_topic"][0]["label"] == "Promotion" and analytics["by_channel"][0]["label"] == "email"
    assert len(analytics["by_month"]) == 1
    text = response.content.decode()
    assert "Daily is a lot" in text and "Marketing consent by channel" in text


def test_preference_centre_get_writes_nothing_for_a_customer_without_preferences(client, customer_factory):
    customer = customer_factory(language="en")
    url = path_of(preferences_url(customer))
    assert client.get(url).status_code == 200
    assert client.get(url, {"connect": "telegram"}).status_code == 200  # a link prefetched by a mail scanner
    assert not Preference.objects.filter(customer=customer).exists()
    assert writes() == (0, 0, 0)


def test_telegram_link_is_made_by_pressing_the_button(client, customer_factory):
    customer = customer_factory(language="en")
    response = client.post(path_of(preferences_url(customer)), {"connect": "telegram"})
    assert response.status_code == 200 and "https://t.me/CornerShopBot?start=" in response.content.decode()
    assert Preference.objects.get(customer=customer).messenger_link_code
    assert not ConsentEvent.objects.exists()


def test_one_click_is_idempotent_however_often_a_mailbox_posts(promo, subscriber):
    one_click = path_of(unsubscribe_urls(promo)[1])
    for _ in range(30):  # mailbox providers retry, prefetch and scan links
        response = Client().post(one_click, {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    assert ConsentEvent.objects.filter(source="one_click").count() == 1
    assert response["Cache-Control"].startswith("max-age=0") and "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("page", ["preferences", "unsubscribe"])
def test_personal_pages_are_never_stored_and_run_nothing_foreign(client, promo, subscriber, page):
    url = path_of(preferences_url(subscriber)) if page == "preferences" else unsubscribe_path(promo)
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
    assert response["Referrer-Policy"] == "no-referrer"
    assert 'style="' not in response.content.decode()  # the CSP allows no inline styles
