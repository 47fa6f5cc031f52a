"""Change of mind: a preference, consent or contact change re-plans that customer's queued rows at once.

Given rows waiting in the outbox; when the customer changes what they want (channel, window, pause,
consent, contact points); then the rows still waiting move to the channel and the slot the new
rules give, or are suppressed with the reason, in the same transaction, with the decision written on
the row. Rows a dispatcher already holds are left alone.
"""

import datetime
import io
import zoneinfo

import pytest

from crm.services import customer_update, customers_import_csv
from notifications.consent.services import Evidence, consent_record
from notifications.models import Channel, ConsentEvent, Notification
from notifications.outbox import claim as outbox
from notifications.outbox.write import notify
from notifications.preferences.services import preference_update
from notifications.public.preference_centre import unsubscribe_apply
from tests.notifications.test_pipeline import grant

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
MIDNIGHT = datetime.datetime(2026, 11, 25, 0, 0, tzinfo=TALLINN)  # a Wednesday; SMS waits for the window
NOON = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=TALLINN)


def local(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(TALLINN)


@pytest.fixture
def midnight(time_machine):
    time_machine.move_to(MIDNIGHT, tick=False)
    return MIDNIGHT


@pytest.fixture
def noon(time_machine):
    time_machine.move_to(NOON, tick=False)
    return NOON


def test_a_preferred_channel_change_moves_the_queued_row_to_that_channel(customer, midnight):
    [row] = notify(customer=customer, topic="bonus-credited", context={"points": 5}, dedupe_key="bonus-accrued:1")
    assert (row.channel, local(row.send_at).time()) == ("sms", datetime.time(9))

    preference_update(customer=customer, preferred_channels={"bonus-credited": "email"})

    row.refresh_from_db()
    assert (row.channel, row.status, row.dedupe_key) == ("email", "scheduled", "bonus-accrued:1:sms")
    assert local(row.send_at) == datetime.datetime(2026, 11, 25, 9, 0, tzinfo=TALLINN)
    assert row.detail.startswith("re-planned after a preference change: sms → email")
    assert Notification.objects.filter(customer=customer).count() == 1  # moved, not duplicated


def test_a_window_change_moves_send_at_into_the_new_window(customer, midnight):
    [row] = notify(customer=customer, topic="bonus-credited", context={"points": 5}, dedupe_key="bonus-accrued:2")
    assert local(row.send_at).time() == datetime.time(9)

    preference_update(customer=customer, window_start=datetime.time(18), window_end=datetime.time(20))

    row.refresh_from_db()
    assert local(row.send_at) == datetime.datetime(2026, 11, 25, 18, 0, tzinfo=TALLINN)
    assert (row.channel, row.status) == ("sms", "scheduled")
    assert row.detail == "re-planned after a preference change: 09:00 → 18:00 (Europe/Tallinn)"


def test_a_pause_defers_marketing_rows_but_not_service_rows(customer, noon):
    grant(customer, Channel.EMAIL)
    preference_update(customer=customer, window_start=datetime.time(18), window_end=datetime.time(20))
    [offer] = notify(customer=customer, topic="promotion", context={"text": "-20%"}, dedupe_key="promo-9")
    [service] = notify(customer=customer, topic="opening-hours", context={"text": "x"}, dedupe_key="hours-9")
    assert local(offer.send_at) == local(service.send_at) == datetime.datetime(2026, 11, 24, 18, tzinfo=TALLINN)

    preference_update(customer=customer, paused_until=datetime.date(2026, 11, 25))

    offer.refresh_from_db()
    service_before = (service.status, service.send_at, service.detail)
    service.refresh_from_db()
    assert (offer.status, offer.reason, offer.channel) == ("deferred", "paused", "email")
    assert local(offer.send_at) == datetime.datetime(2026, 11, 26, 18, 0, tzinfo=TALLINN)  # the day after the pause
    assert "re-planned after a preference change" in offer.detail
    assert (service.status, service.send_at, service.detail) == service_before

    # Lifting the pause brings the offer back to its first slot from now.
    preference_update(customer=customer, paused_until=None)
    offer.refresh_from_db()
    assert (offer.status, offer.reason) == ("scheduled", "")
    assert local(offer.send_at) == datetime.datetime(2026, 11, 24, 18, 0, tzinfo=TALLINN)

    # A pause that outlasts the offer's deadline leaves it nowhere to go.
    preference_update(customer=customer, paused_until=datetime.date(2026, 12, 31))
    offer.refresh_from_db()
    assert (offer.status, offer.reason) == ("suppressed", "paused")


def test_an_sms_consent_withdrawal_moves_marketing_sms_to_email_where_the_topic_allows_else_suppresses(customer, noon):
    grant(customer, Channel.EMAIL)
    grant(customer, Channel.SMS)
    preference_update(customer=customer, preferred_channels={"promotion": "sms"})
    [offer] = notify(customer=customer, topic="promotion", context={"text": "-20%"}, dedupe_key="promo-1")
    news_sms, news_email = notify(customer=customer, topic="new-products", context={}, dedupe_key="news-1")
    assert (offer.channel, news_sms.channel, news_email.channel) == ("sms", "sms", "email")

    consent_record(
        customer=customer,
        channel=Channel.SMS,
        scope=ConsentEvent.Scope.MARKETING,
        action=ConsentEvent.Action.WITHDRAWN,
        source=ConsentEvent.Source.STAFF,
    )

    for row in (offer, news_sms, news_email):
        row.refresh_from_db()
    # Promotions may go by e-mail instead; new products go by SMS and e-mail, and e-mail has its own row.
    assert (offer.channel, offer.status) == ("email", "scheduled")
    assert offer.detail.startswith("re-planned after a consent change: sms → email")
    assert (news_sms.channel, news_sms.status, news_sms.reason) == ("sms", "suppressed", "no_consent")
    assert (news_email.channel, news_email.status, news_email.detail) == ("email", "scheduled", "")


def test_switching_channel_on_the_unsubscribe_page_moves_the_row_rather_than_suppressing_it(customer, noon):
    grant(customer, Channel.SMS)
    preference_update(customer=customer, preferred_channels={"promotion": "sms"})
    [offer] = notify(customer=customer, topic="promotion", context={"text": "-20%"}, dedupe_key="promo-2")
    assert offer.channel == "sms"

    # Two consent events (SMS off, e-mail on for this topic): re-planned once, after both.
    unsubscribe_apply(
        customer=customer,
        topic=offer.topic,
        channel=Channel.SMS,
        choice="switch",
        switch_to=Channel.EMAIL,
        evidence=Evidence("203.0.113.9", "pytest", ConsentEvent.Source.UNSUBSCRIBE),
    )

    offer.refresh_from_db()
    assert (offer.channel, offer.status) == ("email", "scheduled")


def test_a_contact_change_in_the_crm_re_plans_the_queued_rows(customer, midnight):
    [row] = notify(customer=customer, topic="bonus-credited", context={"points": 5}, dedupe_key="bonus-accrued:3")
    assert row.channel == "sms"

    customer_update(customer=customer, phone="")

    row.refresh_from_db()
    assert (row.channel, row.status) == ("email", "scheduled")
    assert row.detail.startswith("re-planned after a contact change: sms → email")

    customer_update(customer=customer, is_active=False)
    row.refresh_from_db()
    assert (row.status, row.reason) == ("suppressed", "inactive")


def test_a_phone_filled_in_by_an_import_re_plans_the_queued_rows(customer_factory, midnight):
    customer = customer_factory(phone="")
    [row] = notify(customer=customer, topic="bonus-credited", context={"points": 5}, dedupe_key="bonus-accrued:9")
    assert row.channel == "email"

    report = customers_import_csv(file=io.StringIO(f"email,phone\n{customer.email},5123 4567\n"), region="EE")

    assert report.updated == 1
    row.refresh_from_db()
    assert (row.channel, row.status) == ("sms", "scheduled")
    assert row.detail.startswith("re-planned after a contact change: email → sms")


def test_a_row_a_dispatcher_already_claimed_is_left_alone(customer, noon):
    [claimed] = notify(customer=customer, topic="bonus-credited", context={"points": 5}, dedupe_key="bonus-accrued:4")
    [claim] = outbox.claim(now=claimed.send_at, limit=10)
    assert claim.id == claimed.pk
    preference_update(customer=customer, window_start=datetime.time(18), window_end=datetime.time(20))
    [queued] = notify(customer=customer, topic="opening-hours", context={"text": "x"}, dedupe_key="hours-4")

    preference_update(customer=customer, preferred_channels={"bonus-credited": "email", "opening-hours": "email"})

    claimed_before = (claimed.channel, claimed.send_at)
    claimed.refresh_from_db()
    queued.refresh_from_db()
    assert (claimed.status, claimed.channel, claimed.send_at, claimed.detail) == ("sending", *claimed_before, "")
    assert (queued.status, queued.channel) == ("scheduled", "email")


def test_re_planning_a_customer_with_ten_queued_rows_takes_a_bounded_number_of_queries(
    customer, midnight, django_assert_max_num_queries
):
    for i in range(10):
        notify(customer=customer, topic="opening-hours", context={"text": f"x{i}"}, dedupe_key=f"hours-{i}")
    assert set(Notification.objects.filter(customer=customer).values_list("channel", flat=True)) == {"sms"}

    # The preference write (read or create, validate, save, in savepoints) and the re-plan (rows,
    # preference, consent, suppressed contacts, the occasions' other rows, one bulk update): none per row.
    with django_assert_max_num_queries(15):
        preference_update(customer=customer, preferred_channels={"opening-hours": "email"})

    assert set(Notification.objects.filter(customer=customer).values_list("channel", flat=True)) == {"email"}


def test_staff_changing_a_phone_in_the_admin_re_plans_the_queued_rows(staff_client, customer, midnight):
    from django.urls import reverse

    [row] = notify(customer=customer, topic="bonus-credited", context={"points": 5}, dedupe_key="bonus-accrued:5")
    assert row.channel == "sms"
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.pop("birth_date", None)
    data.update(
        {
            "phone": "",
            "home_district": "",
            "home_store": "",
            "interactions-TOTAL_FORMS": "0",
            "interactions-INITIAL_FORMS": "0",
        }
    )

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    row.refresh_from_db()
    assert (row.channel, row.status) == ("email", "scheduled")
    assert row.detail.startswith("re-planned after a contact change: sms → email")


def test_staff_pausing_a_customer_in_the_admin_re_plans_the_queued_rows(staff_client, customer, noon):
    import json

    from django.urls import reverse

    from notifications.models import Preference

    grant(customer, Channel.EMAIL)
    [offer] = notify(customer=customer, topic="promotion", context={"text": "-20%"}, dedupe_key="promo-5")
    url = reverse("admin:notifications_preference_change", args=[Preference.objects.get(customer=customer).pk])
    form = staff_client.get(url).context["adminform"].form
    data = {
        name: json.dumps(value) if isinstance(value, list | dict) else value
        for name, value in form.initial.items()
        if value is not None
    }
    data.update({"paused_until": "2026-11-25", "districts": []})

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    offer.refresh_from_db()
    assert (offer.status, offer.reason) == ("deferred", "paused")
