"""“Why am I getting this?”: every marketing message links to a page with the consent, the rule or
campaign and the date behind it, and one-click ways to get fewer or none."""

import datetime
import re

import pytest
from django.core import mail
from django.test import Client

from notifications.consent.services import consent_record
from notifications.delivery import dispatch
from notifications.delivery.rendering import why_url
from notifications.models import ConsentEvent, Notification, Preference, Topic, UnsubscribeFeedback
from notifications.preferences.services import preference_update
from tests.notifications.factories import due_notification

BASE = "https://crm.example.com"
UTC = datetime.UTC


@pytest.fixture
def promo(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 3, 28, 10, 0, tzinfo=UTC), tick=False)
    customer = customer_factory(first_name="Mari", language="et", time_zone="Europe/Tallinn", phone="+37251234567")
    consent_record(
        customer=customer,
        channel="email",
        action="granted",
        source="survey",
        wording="Jah, saatke mulle pakkumisi e-postiga",
    )
    preference_update(customer=customer, window_start=datetime.time(0, 0), window_end=datetime.time(23, 59))
    Topic.objects.filter(code="promotion").update(urgency="timely")
    return due_notification(
        customer, "promotion", context={"text": "-20%", "campaign": "spring-sale"}, dedupe_key="camp-9:c1:email"
    )


def test_marketing_email_links_to_why_and_the_page_shows_consent_campaign_and_date(client, promo, time_machine):
    assert dispatch.drain() == {"sent": 1}
    body = mail.outbox[0].body
    link = re.search(r"https://crm\.example\.com(/w/[^/\s]+/)", body).group(1)
    time_machine.move_to(datetime.datetime(2026, 3, 29, 12, 0, tzinfo=UTC), tick=False)  # across the DST change
    response = client.get(link + "?lang=en")
    assert response.status_code == 200 and response["Referrer-Policy"] == "no-referrer"
    page = response.content.decode()
    assert "spring-sale" in page and "camp-9:c1" in page
    assert "Jah, saatke mulle pakkumisi e-postiga" in page  # what the customer was shown
    assert "survey" in page and "Europe/Tallinn" in page
    assert "12:00" in page or "12 p.m." in page or "noon" in page  # sent 10:00 UTC = 12:00 in Tallinn (EET)
    assert ConsentEvent.objects.count() == 1  # GET writes nothing


def test_the_why_page_is_translated(client, promo):
    page = client.get(why_url(promo).replace(BASE, "")).content.decode()
    assert '<html lang="et">' in page


def test_fewer_is_one_post_and_none_withdraws_the_topic(client, promo):
    url = why_url(promo).replace(BASE, "")
    response = client.post(url, {"choice": "fewer"})
    assert response.status_code == 200 and 'id="chosen"' in response.content.decode()
    assert Preference.objects.get(customer=promo.customer).max_per_week["email"] == 1
    client.post(url, {"choice": "topic"})
    event = ConsentEvent.objects.filter(customer=promo.customer).first()
    assert (event.action, event.scope, event.topic.code, event.source) == (
        "withdrawn",
        "topic",
        "promotion",
        "why_page",
    )
    assert UnsubscribeFeedback.objects.filter(customer=promo.customer).count() == 2
    assert client.post(url, {"choice": "bogus"}).status_code == 400


def test_the_why_page_needs_the_csrf_token(promo):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(why_url(promo).replace(BASE, ""), {"choice": "topic"}).status_code == 403
    assert not ConsentEvent.objects.filter(source="why_page").exists()


def test_a_tampered_why_link_is_refused(client, promo):
    assert client.get(why_url(promo).replace(BASE, "")[:-3] + "xx/").status_code == 404


def test_marketing_sms_and_letters_carry_the_why_link(promo, customer_factory):
    customer = promo.customer
    consent_record(customer=customer, channel="sms", action="granted", source="survey", wording="yes")
    due_notification(customer, "promotion", channel="sms", context={"text": "-5%"}, dedupe_key="camp-9:c2:sms")
    from notifications.delivery.rendering import render

    row = Notification.objects.select_related("customer", "topic").get(dedupe_key="camp-9:c2:sms")
    from notifications.models import MessageTemplate

    template = MessageTemplate.objects.filter(topic=row.topic, channel="sms", language="en").first()
    message = render(row, template=template, language="en")
    assert "/w/" in message.body  # a short promotion leaves room for the link
    row.channel = "messenger"
    chat = Preference(customer=row.customer, messenger="telegram", telegram_chat_id="42")
    assert "/w/" in render(row, template=template, language="en", preference=chat).body
    row.channel = "postal"
    row.customer.address_line, row.customer.postal_code, row.customer.city = "Pikk 1", "10123", "Tallinn"
    letter = render(
        row, template=MessageTemplate.objects.filter(topic=row.topic, channel="email").first(), language="en"
    )
    assert "/w/" in letter.body and "/p/" in letter.body
