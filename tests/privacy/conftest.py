"""A customer with something in every place the CRM keeps data about customers, and a bystander."""

import datetime
from dataclasses import dataclass, field

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from campaigns.models import Campaign, CampaignMember, Segment
from crm.models import Customer
from crm.services import callback_schedule, interaction_record
from loyalty.models import BonusLot, ExpiryWarning
from loyalty.services import dispute_open, points_adjust
from notifications.consent.services import consent_record
from notifications.models import (
    ContactSuppression,
    DeliveryEvent,
    InboundMessage,
    Notification,
    Preference,
    Topic,
    UnsubscribeFeedback,
    UnsubscribeReason,
)
from surveys.models import Answer, Invitation, Question, Response, Survey
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification


@dataclass
class Person:
    """A customer and the personal values written about them, to look for after erasure."""

    customer: Customer
    values: dict[str, str] = field(default_factory=dict)


def _person(customer_factory, store, district, staff, *, tag: str, first: str, last: str, phone: str) -> Person:
    email = f"{first.lower()}.{tag}@example.org"
    values = {
        "first name": first,
        "last name": last,
        "e-mail": email,
        "phone": phone,
        "card": f"CARD-{tag.upper()}-778899",
        "street": f"Salajane tänav {tag}",
        "postal code": f"1{tag}99",
        "birth date": "1987-06-05" if tag == "qz" else "1979-02-03",
        "Telegram chat": f"99887766{len(tag)}{tag}",
        "IP address": "203.0.113.77" if tag == "qz" else "198.51.100.23",
        "user agent": f"Mozilla/5.0 {first}Phone",
        "interaction": f"{first} asked about the {tag} sofa",
        "callback notes": f"Her number is {phone}, ask for {first}",
        "dispute comment": f"Not me, I was in {tag}-land",
        "message body": f"Dear {first} {last}, your {tag} order is ready",
        "message subject": f"Hello {first}",
        "context": f"context-{tag}-{first}",
        "inbound text": f"STOP, {first} here",
        "unsubscribe words": f"{first} says {tag} is too much",
        "survey answer": f"{first} loves the {tag} hall",
        "provider payload": f"payload-{tag}-{email}",
    }
    customer = customer_factory(
        first_name=first,
        last_name=last,
        email=email,
        phone=phone,
        external_id=values["card"],
        birth_date=datetime.date.fromisoformat(values["birth date"]),
        address_line=values["street"],
        postal_code=values["postal code"],
        city="Tallinn",
        country="EE",
        gender=Customer.Gender.FEMALE,
        home_store=store,
        home_district=district,
    )
    interaction_record(customer=customer, kind="call", summary=values["interaction"], staff=staff)
    callback_schedule(
        customer=customer,
        due_at=timezone.now() + datetime.timedelta(days=1),
        subject="Call back",
        notes=values["callback notes"],
    )

    # The ledger: a purchase, a redemption, a staff adjustment that names the customer, a warning, a dispute.
    bought = purchase(customer, store=store, amount="120.00")
    purchase(customer, store=store, amount="10.00", redeem=20)
    points_adjust(customer=customer, points=5, reason=f"Goodwill for {first} {last}", staff=staff)
    lot = BonusLot.objects.filter(account__customer=customer).first()
    ExpiryWarning.objects.create(lot=lot, days_before=7, points=lot.remaining)
    dispute_open(transaction_id=bought.transaction_ids[0], customer=customer, comment=values["dispute comment"])

    consent_record(
        customer=customer,
        channel="email",
        action="granted",
        source="preference_page",
        wording="Yes, e-mail me news and offers",
        ip_address=values["IP address"],
        user_agent=values["user agent"],
    )
    consent_record(customer=customer, channel="sms", action="withdrawn", source="keyword", wording="STOP")
    preference = Preference.objects.get(customer=customer)
    preference.telegram_chat_id = values["Telegram chat"]
    preference.messenger = "telegram"
    preference.messenger_link_code = f"link-code-{tag}"
    preference.save()
    preference.districts.add(district)

    sent = due_notification(
        customer,
        status=Notification.Status.SENT,
        sent_at=timezone.now(),
        subject=values["message subject"],
        body=values["message body"],
        context={"text": values["context"]},
        provider_message_id=f"msg-{tag}",
    )
    due_notification(
        customer,
        "promotion",
        context={"text": values["context"], "campaign": "spring"},
        send_at=timezone.now() + datetime.timedelta(days=1),
    )
    event = DeliveryEvent.objects.create(
        notification=sent,
        provider="mailgun",
        channel="email",
        event_type="bounced",
        event_key=f"ev-{tag}-1",
        message_id=f"msg-{tag}",
        recipient=email,
        detail=f"550 no such user {email}",
        occurred_at=timezone.now(),
        payload={"to": values["provider payload"]},
    )
    # An event that arrived without a message it could be matched to: found by its recipient.
    DeliveryEvent.objects.create(
        provider="twilio",
        channel="sms",
        event_type="delivered",
        event_key=f"ev-{tag}-2",
        recipient=phone,
        occurred_at=timezone.now(),
        payload={"To": phone},
    )
    ContactSuppression.objects.create(channel="email", address=email, customer=customer, reason="bounced", event=event)
    InboundMessage.objects.create(
        provider="twilio",
        provider_message_id=f"in-{tag}",
        sender=phone,
        body=values["inbound text"],
        customer=customer,
        action=InboundMessage.Action.STOP,
        reply=f"Thanks {first}, you will get no more SMS.",
        payload={"From": phone, "Body": values["inbound text"]},
    )
    UnsubscribeFeedback.objects.create(
        customer=customer,
        notification=sent,
        channel="email",
        choice=UnsubscribeFeedback.Choice.FEWER,
        reason=UnsubscribeReason.objects.first(),
        free_text=values["unsubscribe words"],
    )

    survey = Survey.objects.get_or_create(slug="feedback", defaults={"kind": "feedback", "title": "How was it?"})[0]
    free_text = Question.objects.get_or_create(survey=survey, position=0, kind="text", text="Anything else?")[0]
    scale = Question.objects.get_or_create(survey=survey, position=1, kind="scale", text="Recommend us?")[0]
    response = Response.objects.create(survey=survey, customer=customer, language="en", completed_at=timezone.now())
    Answer.objects.create(response=response, question=free_text, value=values["survey answer"])
    Answer.objects.create(response=response, question=scale, value=9)
    Invitation.objects.create(survey=survey, customer=customer, reason="purchase")
    campaign = Campaign.objects.create(
        name=f"Spring {tag}",
        topic=Topic.objects.get(code="new-products"),
        segment=Segment.objects.create(name=f"Audience {tag}", rules={}),
        deadline=timezone.now() + datetime.timedelta(days=3),
    )
    CampaignMember.objects.create(campaign=campaign, customer=customer, holdout=True, created_at=timezone.now())

    LogEntry.objects.log_actions(
        user_id=staff.pk,
        queryset=[customer],
        action_flag=CHANGE,
        change_message=[{"changed": {"fields": ["Phone"]}}],
        single_object=True,
    )
    assert LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Customer), object_repr__contains=first
    ).exists()
    customer.refresh_from_db()
    return Person(customer=customer, values=values)


@pytest.fixture
def staff(admin_user):
    return admin_user


@pytest.fixture
def full_customer(customer_factory, store_factory, district_factory, staff) -> Person:
    store = store_factory()
    return _person(
        customer_factory,
        store,
        district_factory(),
        staff,
        tag="qz",
        first="Quilla",
        last="Zyxwvutsson",
        phone="+37255512345",
    )


@pytest.fixture
def bystander(customer_factory, store_factory, district_factory, staff) -> Person:
    """Another customer with the same kinds of data: erasing one customer must leave this one whole."""
    return _person(
        customer_factory,
        store_factory(),
        district_factory(),
        staff,
        tag="bw",
        first="Brunhild",
        last="Wexelbaum",
        phone="+37255567890",
    )
