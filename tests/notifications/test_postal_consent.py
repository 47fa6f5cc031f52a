"""Postal consent is recorded like any other channel; greetings fall back to letters where agreed."""

import datetime

from django.utils import timezone

from notifications.delivery import dispatch
from notifications.delivery.rendering import preferences_url
from notifications.models import ConsentEvent, Notification, Topic
from tests.notifications.factories import due_notification

BASE = "https://crm.example.com"
UTC = datetime.UTC


def _page(client, customer):
    url = preferences_url(customer).replace(BASE, "")
    form = client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, "", [], False)}
    data.update(window_start="00:00:00", window_end="23:59:00", max_email="1", max_sms="1", language="en")
    return url, form, data


def test_letters_are_agreed_to_and_withdrawn_on_the_preference_centre_then_greetings_fall_back(
    client, customer_factory, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False)
    customer = customer_factory(address_line="Pikk 1", postal_code="10123", city="Tallinn", email="")
    url, form, data = _page(client, customer)
    assert "marketing_postal" in form.fields and "by post" in str(form.fields["marketing_postal"].label)
    response = client.post(url, {**data, "marketing_postal": "on"})
    assert response.status_code == 200
    event = ConsentEvent.objects.get(customer=customer, channel="postal")
    assert (event.action, event.scope, event.source) == ("granted", "marketing", "preference_page")
    assert "by post" in event.wording  # what the customer was shown is the evidence

    # A greeting planned by e-mail: the customer has no address for it, the letter stands in.
    Topic.objects.filter(code="greeting").update(urgency="timely")
    greeting = due_notification(
        customer, "greeting", context={"title": "Happy holidays", "text": "Thank you"}, dedupe_key="g-1:email"
    )
    assert dispatch.drain() == {"printing": 1}
    greeting.refresh_from_db()
    assert (greeting.channel, greeting.status) == ("postal", "printing")
    assert "fell back from email" in greeting.detail

    # Withdrawing is one untick on the same page.
    _url, form, data = _page(client, customer)
    assert form.initial.get("marketing_postal") is True
    client.post(url, {k: v for k, v in data.items() if k != "marketing_postal"})
    latest = ConsentEvent.objects.filter(customer=customer, channel="postal").first()
    assert (latest.action, latest.scope) == ("withdrawn", "marketing")
    second = due_notification(
        customer,
        "greeting",
        context={"title": "Hi", "text": "x"},
        dedupe_key="g-2:email",
        send_at=timezone.now() - datetime.timedelta(seconds=1),
    )
    time_machine.move_to(datetime.datetime(2026, 11, 24, 15, 0, tzinfo=UTC), tick=False)
    dispatch.drain()
    second.refresh_from_db()
    assert (second.status, second.reason) == (Notification.Status.SUPPRESSED, "no_contact")
