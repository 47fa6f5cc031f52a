"""Sender identity per country and store (issue 17): every channel names the sender and a contact."""

import datetime

import pytest

from notifications.delivery.identity import sender_for
from notifications.delivery.rendering import RenderError, check_complete, render
from notifications.models import MessageTemplate, Notification, SenderIdentity
from tests.notifications.factories import due_notification

UTC = datetime.UTC


def identity(**fields):
    defaults = {
        "sender_name": "Nurgapood",
        "sms_sender_id": "Nurgapood",
        "from_email": "tere@nurgapood.example",
        "contact_email": "abi@nurgapood.example",
        "support_phone": "+372 611 1111",
        "postal_optout_address": "Nurgapood, Pikk 1, 10123 Tallinn",
    }
    return SenderIdentity.objects.create(**{**defaults, **fields})


def _rendered(row, channel, template_channel=None):
    row = Notification.objects.select_related("customer", "topic").get(pk=row.pk)
    row.channel = channel
    template = MessageTemplate.objects.filter(topic=row.topic, channel=template_channel or channel).first()
    return render(row, template=template, language="en")


@pytest.fixture
def estonian(customer_factory):
    return customer_factory(
        country="EE", phone="+37251234567", address_line="Pikk 2", postal_code="10123", city="Tallinn"
    )


def test_store_wins_over_country_and_settings_are_the_fallback(db, estonian, store_factory, settings):
    assert sender_for(estonian).name == settings.BRAND_NAME
    identity(country="EE")
    assert sender_for(estonian).name == "Nurgapood"
    store = store_factory()
    identity(store=store, sender_name="Nurgapood Kalamaja", support_phone="+372 622 2222")
    estonian.home_store = store
    assert (sender_for(estonian).name, sender_for(estonian).support_phone) == ("Nurgapood Kalamaja", "+372 622 2222")


def test_every_channel_carries_the_countrys_sender_and_contact(db, estonian):
    identity(country="EE")
    row = due_notification(estonian, "service", context={"title": "Hi", "text": "Your order is ready."})
    email = _rendered(row, "email")
    assert email.sender == "Nurgapood <tere@nurgapood.example>" and email.subject.startswith("Nurgapood")
    assert "abi@nurgapood.example" in email.body and "+372 611 1111" in email.body
    sms = _rendered(row, "sms")
    assert sms.sender == "Nurgapood" and "+372 611 1111" in sms.body  # a short contact
    letter = _rendered(row, "postal", "email")
    assert "Nurgapood, Pikk 1, 10123 Tallinn" in letter.body and "/p/" in letter.body


def test_a_message_without_its_contact_is_refused(db, estonian):
    row = due_notification(estonian, "service", channel="sms")
    row = Notification.objects.select_related("customer", "topic").get(pk=row.pk)
    sms = render(row, template=MessageTemplate.objects.filter(topic=row.topic, channel="sms").first(), language="en")
    sms.body = "Corner Shop: hello"
    with pytest.raises(RenderError) as refused:
        check_complete(sms, row)
    assert refused.value.reason == "incomplete" and "contact" in refused.value.detail


def test_a_sender_identity_names_a_country_or_a_store(db):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        identity(country="")
