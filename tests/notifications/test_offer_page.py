"""The offer block of an e-mail is resolved when opened through our link: /o/<token>/ shows the
offer as it is now (price, stock, end in the customer's zone, or that it has ended)."""

import datetime
import re

import pytest
from django.core import mail

from notifications.consent.services import consent_record
from notifications.delivery import dispatch
from notifications.delivery.rendering import offer_url, why_url
from notifications.models import Notification, OfferState, Topic
from notifications.preferences.services import preference_update
from tests.notifications.factories import due_notification

BASE = "https://crm.example.com"
UTC = datetime.UTC
# Tallinn moves from EET (UTC+2) to EEST (UTC+3) at 01:00 UTC on Sunday 29 March 2026.
SENT = datetime.datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
ENDS = datetime.datetime(2026, 3, 30, 20, 0, tzinfo=UTC)  # 23:00 in Tallinn (EEST), not 22:00


@pytest.fixture
def shopper(customer_factory, time_machine, settings):
    settings.NOTIFICATION_CONTACT_MIN_SPACING_HOURS = 0
    time_machine.move_to(SENT, tick=False)
    customer = customer_factory(first_name="Mari", language="et", time_zone="Europe/Tallinn")
    consent_record(customer=customer, channel="email", action="granted", source="survey", wording="Jah")
    preference_update(customer=customer, window_start=datetime.time(0, 0), window_end=datetime.time(23, 59))
    Topic.objects.filter(code__in=["promotion", "new-products"]).update(urgency="timely")
    return customer


@pytest.fixture
def boots(db):
    return OfferState.objects.create(key="boots", price="59.90", in_stock=True)


def boots_offer(customer, topic="promotion", **offer):
    fields = {"key": "boots", "price": "59.90", "valid_until": ENDS.isoformat(), **offer}
    return due_notification(
        customer,
        topic,
        context={"title": "Winter boots", "text": "Warm boots for the cold days.", "offer": fields},
        dedupe_key=f"boots:{topic}:email",
    )


def path(url: str) -> str:
    assert url.startswith(BASE)
    return url[len(BASE) :]


def facts(response) -> dict:
    page = response.content.decode()
    return {
        name: re.sub(r"\s+", " ", match.group(1)).strip() if match else None
        for name in ("price", "stock", "valid-until", "ended", "title", "text")
        for match in [re.search(rf'id="{name}"[^>]*>(.*?)</(?:dd|div|h1|p)>', page, re.S)]
    }


@pytest.mark.parametrize("topic", ["promotion", "new-products"])
def test_the_offer_email_links_to_the_page_which_shows_the_price_now(client, shopper, boots, topic, time_machine):
    sent = boots_offer(shopper, topic)
    assert dispatch.drain()["sent"] == 1
    body = mail.outbox[0].body
    link = re.search(r"https://crm\.example\.com(/o/[^/\s]+/)", body).group(1)
    assert link == path(offer_url(sent))
    assert "Winter boots" not in link and str(shopper.public_id) not in link  # opaque
    # The shop lowers the price after the e-mail went out: the page shows the price as it is now.
    OfferState.objects.filter(key="boots").update(price="49.90")
    time_machine.move_to(SENT + datetime.timedelta(hours=3), tick=False)
    response = client.get(link + "?lang=en")
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "no-referrer"
    assert "<script" not in response.content.decode().lower()  # no JavaScript needed
    seen = facts(response)
    assert seen["price"].startswith("49.90 EUR") and "59.90 EUR when we wrote to you" in seen["price"]
    assert seen["stock"] == "In stock" and seen["ended"] is None
    assert seen["title"] == "Winter boots" and seen["text"] == "Warm boots for the cold days."
    page = response.content.decode()
    assert 'href="/p/' in page and 'href="/w/' in page  # the preference centre and the why page


def test_the_link_sits_with_the_offer_above_the_footer(shopper, boots):
    boots_offer(shopper)
    dispatch.drain()
    body = mail.outbox[0].body
    assert "/o/" in body
    assert body.index("/o/") < body.index("—")  # part of the offer, above the footer


def test_a_message_without_an_offer_has_no_offer_link(shopper):
    due_notification(shopper, "promotion", context={"text": "-20%"}, dedupe_key="plain:email")
    dispatch.drain()
    assert "/o/" not in mail.outbox[0].body


def test_the_page_says_the_offer_has_ended_once_it_expired(client, shopper, boots, time_machine):
    url = path(offer_url(boots_offer(shopper)))
    assert facts(client.get(url + "?lang=en"))["ended"] is None
    time_machine.move_to(ENDS + datetime.timedelta(minutes=1), tick=False)
    seen = facts(client.get(url + "?lang=en"))
    assert seen["ended"] == "This offer has ended."
    assert "Ended" in client.get(url + "?lang=en").content.decode()


def test_the_shop_ending_the_offer_early_ends_it_on_the_page(client, shopper, boots, time_machine):
    url = path(offer_url(boots_offer(shopper)))
    OfferState.objects.filter(key="boots").update(valid_until=SENT + datetime.timedelta(hours=1))
    time_machine.move_to(SENT + datetime.timedelta(hours=2), tick=False)
    seen = facts(client.get(url + "?lang=en"))
    assert seen["ended"] == "This offer has ended."
    assert seen["valid-until"].startswith("March 28, 2026, 1 p.m.")  # 11:00 UTC, EET before the change


def test_the_page_says_the_offer_has_ended_once_sold_out(client, shopper, boots):
    url = path(offer_url(boots_offer(shopper)))
    OfferState.objects.filter(key="boots").update(in_stock=False)
    seen = facts(client.get(url + "?lang=en"))
    assert seen["stock"] == "Sold out"
    assert seen["ended"].startswith("This offer has ended.") and "sold out" in seen["ended"]


def test_the_end_is_shown_in_the_customers_zone_across_the_dst_change(client, shopper, boots, time_machine):
    url = path(offer_url(boots_offer(shopper)))
    time_machine.move_to(datetime.datetime(2026, 3, 29, 12, 0, tzinfo=UTC), tick=False)  # after the change
    seen = facts(client.get(url + "?lang=en"))
    # 20:00 UTC on 30 March is 23:00 EEST (UTC+3); the winter offset would say 10 p.m.
    assert seen["valid-until"] == "March 30, 2026, 11 p.m. (Europe/Tallinn)"


def test_the_page_opens_in_the_customers_language(client, shopper, boots):
    page = client.get(path(offer_url(boots_offer(shopper)))).content.decode()
    assert '<html lang="et">' in page


@pytest.mark.parametrize("spoil", ["garbage", "other-purpose", "revoked", "no-offer"])
def test_bad_or_revoked_links_show_the_invalid_link_page(client, shopper, boots, spoil):
    sent = boots_offer(shopper)
    url = path(offer_url(sent))
    if spoil == "garbage":
        url = "/o/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/"
    elif spoil == "other-purpose":
        url = path(why_url(sent)).replace("/w/", "/o/")
    elif spoil == "revoked":
        shopper.token_version += 1
        shopper.save(update_fields=["token_version"])
    else:
        plain = due_notification(shopper, "promotion", context={"text": "-20%"}, dedupe_key="plain:email")
        url = path(offer_url(plain))
    response = client.get(url + "?lang=en")
    assert response.status_code == 404
    assert "This link is no longer valid" in response.content.decode()


def test_opening_the_page_writes_nothing(client, shopper, boots, django_assert_max_num_queries):
    sent = boots_offer(shopper)
    url = path(offer_url(sent))
    with django_assert_max_num_queries(4):  # the message and customer, the offer, the preference
        assert client.get(url).status_code == 200
    assert Notification.objects.get(pk=sent.pk).opened_at is None  # a scanner's prefetch is no open


def test_one_offer_link_is_rate_limited(client, shopper, boots, settings):
    settings.PUBLIC_PAGES_RATE_PER_MINUTE = 100
    settings.PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE = 2
    url = path(offer_url(boots_offer(shopper)))
    statuses = [client.get(url, REMOTE_ADDR=f"198.51.100.{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]
