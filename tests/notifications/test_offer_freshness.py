"""Every offer is re-checked at send time: expired, sold out, repriced or already bought → stale."""

import datetime

import pytest
from django.utils import timezone

from notifications.consent.services import consent_record
from notifications.delivery import dispatch
from notifications.models import Notification, OfferState, Topic
from notifications.outbox import claim as outbox
from notifications.preferences.services import preference_update
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification

UTC = datetime.UTC


@pytest.fixture
def shopper(customer_factory, time_machine, settings):
    settings.NOTIFICATION_CONTACT_MIN_SPACING_HOURS = 0
    settings.NOTIFICATION_CONTACT_MAX_PER_WEEK = 50
    settings.NOTIFICATION_DEFAULT_MAX_PER_WEEK = {"email": 50, "sms": 50, "messenger": 50, "postal": 50}
    time_machine.move_to(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False)
    customer = customer_factory()
    consent_record(customer=customer, channel="email", action="granted", source="survey", wording="yes")
    preference_update(customer=customer, window_start=datetime.time(0, 0), window_end=datetime.time(23, 59))
    Topic.objects.filter(code__in=["promotion", "new-products"]).update(urgency="timely")
    return customer


def test_offer_topics_declare_the_offer_check(db):
    checks = dict(Topic.objects.filter(code__in=["promotion", "new-products"]).values_list("code", "freshness_check"))
    assert checks == {"promotion": "offer", "new-products": "offer"}


def test_stale_offers_are_not_sent_and_say_why(shopper, store_factory, django_assert_max_num_queries, time_machine):
    now = timezone.now()
    OfferState.objects.create(key="boots", price="59.90", in_stock=True)
    OfferState.objects.create(key="scarf", price="19.90", in_stock=False)
    OfferState.objects.create(key="coat", price="99.00")

    def offer(name, **fields):
        return due_notification(
            shopper, "promotion", context={"text": name, "offer": fields}, dedupe_key=f"o-{name}:email"
        )

    fresh = offer("fresh", key="boots", price="59.90", valid_until=(now + datetime.timedelta(days=2)).isoformat())
    expired = offer("expired", key="boots", price="59.90", valid_until=(now - datetime.timedelta(hours=1)).isoformat())
    expired_day = offer("expired-day", valid_until=(now - datetime.timedelta(days=1)).date().isoformat())
    sold_out = offer("sold-out", key="scarf", price="19.90")
    repriced = offer("repriced", key="coat", price="120.00")
    come_back = offer("come-back", until_purchase=True)
    time_machine.shift(datetime.timedelta(minutes=5))
    purchase(shopper, store=store_factory(), amount="10")  # after the come-back offer was planned
    claims = outbox.claim(now=timezone.now(), limit=50)
    with django_assert_max_num_queries(13):
        outcome = dispatch.deliver(claims)
    assert outcome["cancelled"] == 5  # the purchase's own bonus message is sent as well
    by_name = {
        row.context["text"]: (row.status, row.reason, row.detail)
        for row in Notification.objects.filter(topic__code="promotion")
    }
    assert by_name[fresh.context["text"]][0] == "sent"
    assert by_name["expired"] == ("cancelled", "stale", "expired")
    assert by_name["expired-day"] == ("cancelled", "stale", "expired")
    assert by_name["sold-out"] == ("cancelled", "stale", "stock gone")
    assert by_name["repriced"] == ("cancelled", "stale", "price changed")
    assert by_name["come-back"] == ("cancelled", "stale", "already bought")
    assert expired.pk and expired_day.pk and sold_out.pk and repriced.pk and come_back.pk


def test_a_purchase_before_the_offer_was_planned_does_not_make_it_stale(shopper, store_factory):
    purchase(shopper, store=store_factory(), amount="10")
    due_notification(
        shopper, "promotion", context={"text": "x", "offer": {"until_purchase": True}}, dedupe_key="cb:email"
    )
    dispatch.drain()
    assert Notification.objects.get(dedupe_key="cb:email").status == "sent"
