"""Standing consent states: "no more by SMS" and "unsubscribe from everything" hold for topics created later.

Given a customer who agreed to marketing by e-mail and SMS; when they withdraw a whole channel or
everything; then every marketing topic, including one staff create afterwards, obeys it in planning
and at send time, the badge says so at once, service messages still go, and only a later explicit
grant lifts it, for what it grants.
"""

import datetime

import pytest
from django.core import mail

from notifications.consent.book import ConsentBook
from notifications.consent.services import Evidence, consent_record
from notifications.delivery.rendering import preferences_url, unsubscribe_urls
from notifications.models import Channel, ConsentEvent, Notification, Preference, Topic
from notifications.outbox.write import notify
from notifications.preferences.services import preference_update
from notifications.public.preference_centre import unsubscribe_apply
from tests.notifications.factories import due_notification
from tests.notifications.test_pipeline import grant, send_due

NOON = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC)  # 12:00 in Tallinn: inside every window
EVIDENCE = Evidence("203.0.113.9", "pytest", ConsentEvent.Source.UNSUBSCRIBE)
BASE = "https://crm.example.com"


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOON, tick=False)
    return NOON


@pytest.fixture
def full(customer_factory, now):
    """A customer who agreed to news and offers by e-mail and by SMS, reachable at any hour."""
    customer = customer_factory(phone="+37251234567", language="en", time_zone="Europe/Tallinn")
    grant(customer, Channel.EMAIL)
    grant(customer, Channel.SMS)
    preference_update(customer=customer, window_start=datetime.time(0), window_end=datetime.time(23, 59))
    assert Preference.objects.get(customer=customer).badge == "full"
    return customer


def new_marketing_topic(code, channels, alternatives=()):
    """What staff do in the admin after the customer has unsubscribed."""
    return Topic.objects.create(
        code=code,
        name=code.replace("-", " ").title(),
        kind=Topic.Kind.MARKETING,
        urgency=Topic.Urgency.TIMELY,
        channels=list(channels),
        alternatives=list(alternatives),
        counts_against_cap=True,
    )


def unsubscribe(customer, choice, channel="email", topic="promotion"):
    return unsubscribe_apply(
        customer=customer,
        topic=Topic.objects.get(code=topic),
        channel=channel,
        choice=choice,
        evidence=EVIDENCE,
        wording=f"the {choice} choice as shown",
    )


def badge(customer):
    return Preference.objects.get(customer=customer).badge


def allows(customer, channel, topic_code):
    return ConsentBook.for_customers([customer.pk]).allows(customer.pk, channel, Topic.objects.get(code=topic_code))


def path_of(url):
    return url.replace(BASE, "")


def test_unsubscribe_from_everything_holds_for_a_topic_created_later(full, sms_outbox):
    unsubscribe(full, "everything")
    [event] = ConsentEvent.objects.filter(customer=full, source="unsubscribe")  # one action, one piece of evidence
    assert event.topic is None and event.wording == "the everything choice as shown"
    assert badge(full) == "service_only"

    flash_sale = new_marketing_topic("flash-sale", ["email"], ["sms"])
    rows = notify(customer=full, topic=flash_sale, context={"text": "-50%"}, dedupe_key="flash-1")
    assert [(r.channel, r.status, r.reason) for r in rows] == [("email", "suppressed", "no_consent")]

    # Rows already in the outbox for the new topic are stopped by the send-time re-check.
    queued = [due_notification(full, "flash-sale", channel=channel) for channel in ("email", "sms")]
    send_due()
    for row in queued:
        row.refresh_from_db()
        assert (row.status, row.reason) == ("suppressed", "no_consent")
    assert mail.outbox == [] and sms_outbox == []

    # What the law requires still goes.
    [service] = notify(customer=full, topic="service", context={"title": "Order", "text": "ready"}, dedupe_key="s1")
    assert service.status == "scheduled"
    assert send_due() == {"sent": 1} and len(mail.outbox) == 1


def test_no_more_by_sms_holds_for_new_topics_falls_back_to_email_and_keeps_service_sms(full, sms_outbox):
    promotion = Topic.objects.get(code="promotion")
    consent_record(customer=full, channel=Channel.SMS, topic=promotion, action="granted", source="survey")
    unsubscribe(full, "channel", channel="sms")
    assert ConsentEvent.objects.filter(customer=full, source="unsubscribe").count() == 1
    assert badge(full) == "email_only"
    assert not allows(full, "sms", "promotion")  # the later channel-wide withdrawal beats the earlier topic grant

    teaser = new_marketing_topic("teaser", ["sms"], ["email"])
    sms_only = new_marketing_topic("sms-only", ["sms"])
    [row] = notify(customer=full, topic=teaser, context={"text": "x"}, dedupe_key="teaser-1")
    assert (row.channel, row.status) == ("email", "scheduled")  # the plan's fallback, not SMS
    [row] = notify(customer=full, topic=sms_only, context={"text": "x"}, dedupe_key="sms-only-1")
    assert (row.channel, row.status, row.reason) == ("sms", "suppressed", "no_consent")

    queued = due_notification(full, "teaser", channel="sms")
    [credited] = notify(customer=full, topic="bonus-credited", context={"points": 5, "balance": 5}, dedupe_key="b1")
    assert (credited.channel, credited.status) == ("sms", "scheduled")
    send_due()
    queued.refresh_from_db()
    # At send time the queued SMS falls back along the topic's chain to e-mail (which has no template yet).
    assert (queued.channel, queued.status, queued.reason) == ("email", "suppressed", "no_template")
    assert queued.detail.startswith("fell back from sms: no_consent")
    credited.refresh_from_db()
    assert credited.status == "sent" and [m.body for m in sms_outbox] == [credited.body]


def test_a_later_grant_lifts_the_standing_state_only_for_what_it_grants(client, full):
    unsubscribe(full, "everything")
    flash_sale = new_marketing_topic("flash-sale", ["email"], ["sms"])

    consent_record(customer=full, channel=Channel.SMS, topic=flash_sale, action="granted", source="preference_page")
    assert allows(full, "sms", "flash-sale")
    assert not allows(full, "email", "flash-sale") and not allows(full, "sms", "promotion")
    assert badge(full) == "service_only"

    # The customer ticks e-mail again on the preference centre: every marketing topic by e-mail, new ones too.
    url = path_of(preferences_url(full))
    form = client.get(url).context["form"]
    assert form.initial["marketing_email"] is False and form.initial["marketing_sms"] is False
    data = {name: value for name, value in form.initial.items() if value not in (None, "", [], False)}
    data["marketing_email"] = "on"
    assert client.post(url, data).status_code == 200
    new_marketing_topic("winter-sale", ["email"])
    assert allows(full, "email", "winter-sale") and allows(full, "email", "promotion")
    assert not allows(full, "sms", "winter-sale") and not allows(full, "sms", "promotion")
    assert badge(full) == "email_only"


def test_a_topic_withdrawal_outlives_a_later_channel_grant(full):
    """The most specific choice stands: ticking "e-mail" again does not bring back a topic left on its own."""
    unsubscribe(full, "topic", channel="email", topic="promotion")
    unsubscribe(full, "channel", channel="email")
    grant(full, Channel.EMAIL)
    assert not allows(full, "email", "promotion") and allows(full, "email", "new-products")


def test_pages_say_the_standing_state(client, full):
    preferences = path_of(preferences_url(full))
    by_sms = path_of(unsubscribe_urls(due_notification(full, "promotion", channel="sms"))[0])
    done = client.post(by_sms, {"choice": "channel"}).content.decode()
    assert "No news or offers by SMS, including new topics." in done
    assert "No news or offers by SMS, including new topics." in client.get(preferences).content.decode()

    done = client.post(by_sms, {"choice": "everything"}).content.decode()
    everything = "No news or offers on any channel, including new topics"
    assert everything in done
    assert everything in client.get(preferences).content.decode()
    assert everything in client.get(by_sms).content.decode()


def test_stop_at_the_provider_withdraws_the_channel_for_new_topics_too(full):
    from notifications.inbound.events import _withdraw_marketing

    _withdraw_marketing(None, full, Channel.EMAIL, "spam complaint")
    [event] = ConsentEvent.objects.filter(customer=full, source="provider")
    assert (event.channel, event.topic, event.action, event.reason) == ("email", None, "withdrawn", "spam complaint")
    new_marketing_topic("flash-sale", ["email"])
    assert not allows(full, "email", "flash-sale") and allows(full, "email", "service")
    assert badge(full) == "sms_only"


def test_a_customer_whose_rows_are_planned_in_bulk_obeys_the_standing_state(full, customer_factory):
    from crm.models import Customer
    from notifications.outbox.fanout import notify_many

    other = customer_factory(phone="+37251234568")
    grant(other, Channel.EMAIL)
    unsubscribe(full, "everything")
    new_marketing_topic("flash-sale", ["email"])
    report = notify_many(customers=Customer.objects.all(), topic="flash-sale", context={}, dedupe_prefix="fs")
    assert (report.rows_written, report.queued, dict(report.suppressed)) == (2, 1, {"no_consent": 1})
    outcome = dict(Notification.objects.filter(topic__code="flash-sale").values_list("customer_id", "reason"))
    assert outcome == {full.pk: "no_consent", other.pk: ""}


def test_withdrawals_recorded_topic_by_topic_before_the_fix_become_standing(full, customer_factory):
    """An installation upgraded with old-style rows: the migration dates each standing event when it happened."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from notifications.models import UnsubscribeFeedback

    complained = customer_factory(phone="+37251234569")
    grant(complained, Channel.EMAIL)
    grant(complained, Channel.SMS)
    for topic in Topic.objects.filter(kind="marketing"):  # what the old code wrote
        for channel in ("email", "sms", "messenger"):
            consent_record(
                customer=full,
                channel=channel,
                topic=topic,
                action="withdrawn",
                source="unsubscribe",
                wording="Stop all",
            )
        consent_record(customer=complained, channel="email", topic=topic, action="withdrawn", source="provider")
    UnsubscribeFeedback.objects.create(customer=full, channel="email", choice="everything")
    assert (badge(full), badge(complained)) == ("full", "full")  # what the old code left

    migration = import_module("notifications.migrations.0009_consent_scope")
    migration.standing_withdrawals(apps, SimpleNamespace(connection=connection))

    new_marketing_topic("flash-sale", ["email"])
    assert not allows(full, "email", "flash-sale") and not allows(full, "sms", "flash-sale")
    assert not allows(complained, "email", "flash-sale") and allows(complained, "sms", "flash-sale")
    [standing] = ConsentEvent.objects.filter(customer=full, scope="everything")
    assert (standing.action, standing.source, standing.wording) == ("withdrawn", "unsubscribe", "Stop all")
    assert ConsentEvent.objects.filter(customer=complained, scope="marketing", source="provider").count() == 1
    assert (badge(full), badge(complained)) == ("service_only", "sms_only")
