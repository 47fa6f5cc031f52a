"""The customer's timeline: every app's entries on one page, by time, filtered and paged."""

import datetime
import re

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.urls import reverse

from crm import roles
from crm.models import Interaction, StaffProfile
from crm.services import callback_schedule
from crm.timeline import sources
from loyalty.models import BonusTransaction
from loyalty.services import dispute_open
from notifications.consent.services import consent_record
from notifications.models import DeliveryEvent, InboundMessage, UnsubscribeFeedback
from surveys.models import Answer, Question, Response, Survey
from tests.admin_queries import unindexed_reads
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification

UTC = datetime.UTC
T0 = datetime.datetime(2026, 10, 20, 10, 0, tzinfo=UTC)
KINDS = ["interaction", "ledger", "consent", "message", "delivery", "survey", "callback", "dispute", "unsubscribe"]


def at(hours: int) -> datetime.datetime:
    return T0 + datetime.timedelta(hours=hours)


def role_user(name: str, username: str | None = None) -> User:
    user = User.objects.create_user(username or name.replace(" ", "-"), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def history(customer_factory, store_factory, admin_user):
    """One entry of every kind, an hour apart, each at a known moment."""
    store = store_factory()
    customer = customer_factory(first_name="Mari", home_store=store)
    Interaction.objects.create(customer=customer, kind="call", summary="Asked about the card", occurred_at=at(0))
    purchase(customer, store=store, occurred_at=at(1))
    with time_machine.travel(at(2), tick=False):
        consent_record(customer=customer, channel="email", action="granted", source="survey", wording="Yes, e-mail me")
    with time_machine.travel(at(3), tick=False):
        message = due_notification(customer, "service", subject="Your order")
        due_notification(customer, "promotion", status="suppressed", reason="no_consent", send_at=at(10))
    DeliveryEvent.objects.create(
        notification=message,
        provider="test",
        channel="email",
        event_type="delivered",
        event_key="timeline-1",
        occurred_at=at(4),
    )
    survey = Survey.objects.create(slug="how", kind=Survey.Kind.FEEDBACK, title="How was it?")
    question = Question.objects.create(survey=survey, kind=Question.Kind.SCALE, text="Recommend us?")
    with time_machine.travel(at(5), tick=False):
        response = Response.objects.create(survey=survey, customer=customer, completed_at=at(5))
        Answer.objects.create(response=response, question=question, value=9)
    with time_machine.travel(at(6), tick=False):
        callback_schedule(customer=customer, due_at=at(30), subject="Call about the refund", assigned_to=admin_user)
    accrual = BonusTransaction.objects.filter(account__customer=customer, kind="accrual").get()
    with time_machine.travel(at(7), tick=False):
        dispute_open(transaction_id=accrual.pk, customer=customer, comment="Not me")
    with time_machine.travel(at(8), tick=False):
        UnsubscribeFeedback.objects.create(customer=customer, channel="email", choice="fewer", free_text="Too many")
        InboundMessage.objects.create(
            provider="test", provider_message_id="in-1", sender="+3725", body="STOP", customer=customer, action="stop"
        )
    return customer


def _entries(response) -> list:
    return [row["entry"] for row in response.context["entries"]]


def test_every_kind_appears_newest_first(staff_client, history, django_assert_max_num_queries):
    url = reverse("admin:crm_customer_timeline", args=[history.pk])
    with django_assert_max_num_queries(20):
        response = staff_client.get(url)
    assert response.status_code == 200
    entries = _entries(response)
    times = [e.at for e in entries]
    assert times == sorted(times, reverse=True)
    first_of = {}
    for entry in entries:
        first_of.setdefault(entry.kind, entry.at)
    assert set(KINDS) | {"reply"} <= set(first_of)
    # Each kind at the moment it happened (the purchase also queued its own bonus message).
    assert first_of["interaction"] == at(0) and first_of["ledger"] == at(1) and first_of["consent"] == at(2)
    assert first_of["delivery"] == at(4) and first_of["survey"] == at(5) and first_of["callback"] == at(6)
    assert first_of["dispute"] == at(7) and first_of["unsubscribe"] == at(8)
    page = response.content.decode()
    assert "Recommend us?: 9" in page and "Yes, e-mail me" in page and "Call about the refund" in page
    assert "Not me" in page and "delivered" in page
    # Each message with its decision: status, the reason it was held back, channel and send time.
    assert "Promotion by e-mail: suppressed" in page and "no consent for this channel and topic" in page
    assert "send at: 2026-10-20 23:00 EEST (customer)" in page


def test_the_query_count_does_not_grow_with_the_history(staff_client, history, django_assert_max_num_queries):
    url = reverse("admin:crm_customer_timeline", args=[history.pk])
    staff_client.get(url)
    for n in range(60):
        Interaction.objects.create(customer=history, kind="note", summary=f"n{n}", occurred_at=at(-n - 1))
    with django_assert_max_num_queries(20):
        assert len(_entries(staff_client.get(url))) == 50


def test_filters_by_kind_without_javascript(staff_client, history):
    url = reverse("admin:crm_customer_timeline", args=[history.pk])
    response = staff_client.get(url, {"kind": ["ledger", "consent", "no-such-kind"]})
    assert {e.kind for e in _entries(response)} == {"ledger", "consent"}
    page = response.content.decode()
    assert 'name="kind" value="ledger" checked' in page and 'name="kind" value="message">' in page


def test_pages_follow_each_other_by_time_with_nothing_lost(staff_client, customer, django_assert_max_num_queries):
    for n in range(120):
        Interaction.objects.create(customer=customer, kind="note", summary=f"note {n}", occurred_at=at(-n))
    # Three at one instant straddle the first page's cut: they stay together.
    Interaction.objects.bulk_create(
        Interaction(customer=customer, kind="note", summary=f"same {n}", occurred_at=at(-49)) for n in range(3)
    )
    url = reverse("admin:crm_customer_timeline", args=[customer.pk])
    seen, query, pages = [], {"kind": "interaction"}, 0
    while True:
        with django_assert_max_num_queries(12):
            response = staff_client.get(url, query)
        pages += 1
        seen += [e.title for e in _entries(response)]
        if not response.context["next_query"]:
            break
        match = re.search(r'href="\?([^"]+)" rel="next"', response.content.decode())
        query = dict(p.split("=", 1) for p in match.group(1).replace("&amp;", "&").split("&"))
        query = {k: v.replace("%3A", ":").replace("%2B", "+") for k, v in query.items()}
    assert len(seen) == 123 and len(set(seen)) == 123 and pages == 3


def test_every_source_reads_by_an_index(history):
    cursor = at(100)
    for source in sources():
        assert source.rows is not None, source.kind
        assert unindexed_reads(source.rows(history, None)) == [], source.kind
        assert unindexed_reads(source.rows(history, cursor)) == [], source.kind


def test_a_store_manager_sees_only_their_stores_customers_and_what_their_role_reads(
    client, history, customer_factory, store_factory
):
    manager = role_user(roles.STORE_MANAGER)
    StaffProfile.objects.create(user=manager, store=history.home_store)
    stranger = customer_factory(home_store=store_factory())
    client.force_login(manager)
    ours = client.get(reverse("admin:crm_customer_timeline", args=[history.pk]))
    assert ours.status_code == 200
    # The role reads customers, the ledger and disputes; messages and consent are not theirs.
    assert {e.kind for e in _entries(ours)} == {"interaction", "callback", "ledger", "dispute"}
    assert client.get(reverse("admin:crm_customer_timeline", args=[stranger.pk])).status_code == 404


def test_customer_service_sees_the_messages_and_the_change_page_links_the_timeline(client, history):
    client.force_login(role_user(roles.CUSTOMER_SERVICE))
    url = reverse("admin:crm_customer_timeline", args=[history.pk])
    assert url in client.get(reverse("admin:crm_customer_change", args=[history.pk])).content.decode()
    kinds = {e.kind for e in _entries(client.get(url))}
    assert {"message", "delivery", "consent", "survey", "reply"} <= kinds and "unsubscribe" not in kinds


def test_times_show_in_the_customers_zone_and_the_staff_members_across_dst(client, customer, admin_user):
    StaffProfile.objects.create(user=admin_user, time_zone="Europe/Berlin")
    client.force_login(admin_user)
    # Tallinn and Berlin leave summer time on 2026-10-25 at 01:00 UTC.
    Interaction.objects.create(
        customer=customer, kind="call", summary="before", occurred_at=datetime.datetime(2026, 10, 24, 6, 0, tzinfo=UTC)
    )
    Interaction.objects.create(
        customer=customer, kind="call", summary="after", occurred_at=datetime.datetime(2026, 10, 26, 6, 0, tzinfo=UTC)
    )
    with time_machine.travel(datetime.datetime(2026, 10, 26, 12, 0, tzinfo=UTC), tick=False):
        page = client.get(reverse("admin:crm_customer_timeline", args=[customer.pk])).content.decode()
    assert "2026-10-26 08:00 EET (customer) · 2026-10-26 07:00 CET (you)" in page
    assert "2026-10-24 09:00 EEST (customer) · 2026-10-24 08:00 CEST (you)" in page
    assert "Europe/Tallinn" in page and "Europe/Berlin" in page
