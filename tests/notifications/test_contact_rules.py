"""Cross-channel contact rules: spacing between any two contacts and a weekly cap over every channel."""

import datetime
import itertools

import pytest
from django.core import mail
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.consent.services import consent_record
from notifications.delivery import dispatch
from notifications.models import Channel, ConsentEvent, Notification, Preference, Topic
from notifications.outbox import claim as outbox
from notifications.preferences.services import preference_update
from notifications.scheduling.rules import WEEK, contact_cap, next_contact_at
from tests.notifications.factories import due_notification

UTC = datetime.UTC
SPACING = datetime.timedelta(hours=4)
START = datetime.datetime(2026, 3, 25, 0, 0, tzinfo=UTC)  # the week of Europe's spring DST change


def grant(customer, channel):
    consent_record(
        customer=customer,
        channel=channel,
        topic=None,
        action=ConsentEvent.Action.GRANTED,
        source=ConsentEvent.Source.SURVEY,
        wording="Yes",
        wording_version="v1",
    )


def _open_all_day(customer):
    preference_update(customer=customer, window_start=datetime.time(0, 0), window_end=datetime.time(23, 59))


# --- The pure rule ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    attempts=st.lists(st.integers(min_value=0, max_value=60 * 24 * 30), min_size=1, max_size=40),
    cap=st.integers(min_value=1, max_value=6),
    spacing_hours=st.integers(min_value=0, max_value=30),
)
def test_no_two_contacts_closer_than_the_spacing_and_never_more_than_the_cap_in_7_days(attempts, cap, spacing_hours):
    """Messages arriving at random minutes, each sent when the rule lets it (deferred to the rule's time)."""
    spacing = datetime.timedelta(hours=spacing_hours)
    sent: list[datetime.datetime] = []
    queue = sorted(START + datetime.timedelta(minutes=m) for m in attempts)
    while queue:
        now = queue.pop(0)
        wait, reason = next_contact_at(sent, now=now, cap=cap, spacing=spacing)
        if wait is None:
            assert reason == ""
            sent.append(now)
        else:
            assert wait > now and reason in {"spacing", "capped"}
            queue = sorted([*queue, wait])
    for earlier, later in itertools.pairwise(sent):
        assert later - earlier >= spacing
    for i, first in enumerate(sent):
        assert sum(1 for at in sent[i:] if at < first + WEEK) <= cap
    assert len(sent) == len(attempts)  # deferred, never dropped: every message went eventually


def test_the_rule_names_what_holds_a_message():
    now = START + datetime.timedelta(days=3)
    assert next_contact_at([], now=now, cap=4, spacing=SPACING) == (None, "")
    just_now = now - datetime.timedelta(minutes=5)
    assert next_contact_at([just_now], now=now, cap=4, spacing=SPACING) == (just_now + SPACING, "spacing")
    week = [now - datetime.timedelta(days=d) for d in (3, 2, 1)]
    assert next_contact_at(week, now=now, cap=3, spacing=SPACING) == (week[0] + WEEK, "capped")
    assert next_contact_at([], now=now, cap=0, spacing=SPACING) == (None, "capped")


def test_the_weekly_contacts_follow_the_customers_own_answer(db, customer):
    assert contact_cap(None) == 4
    assert contact_cap(Preference(customer=customer, max_per_week={"all": 2})) == 2
    # Per-channel answers lower the total when they add up to less than the default.
    assert contact_cap(Preference(customer=customer, max_per_week={"email": 1, "sms": 0, "messenger": 0})) == 2
    assert contact_cap(Preference(customer=customer, max_per_week={"email": 2})) == 4


# --- At send time ----------------------------------------------------------------------------------


@pytest.fixture
def reachable(customer):
    grant(customer, Channel.EMAIL)
    grant(customer, Channel.SMS)
    _open_all_day(customer)
    Topic.objects.filter(code__in=["promotion", "new-products"]).update(urgency="timely")
    return customer


def test_two_channels_minutes_apart_are_two_contacts_the_second_waits_for_the_spacing(reachable, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False)
    due_notification(reachable, "promotion", channel="email", context={"text": "x"}, dedupe_key="sp-1:email")
    assert dispatch.drain() == {"sent": 1}
    time_machine.move_to(datetime.datetime(2026, 11, 24, 10, 5, tzinfo=UTC), tick=False)
    sms = due_notification(reachable, "new-products", channel="sms", context={"text": "y"}, dedupe_key="sp-2:sms")
    assert dispatch.drain() == {"deferred": 1}
    sms.refresh_from_db()
    assert (sms.status, sms.reason) == ("deferred", "spacing")
    assert sms.send_at >= datetime.datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
    time_machine.move_to(sms.send_at, tick=False)
    assert dispatch.drain() == {"sent": 1}
    assert len(mail.outbox) == 1


def test_service_messages_pass_the_spacing_and_do_not_count(reachable, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=UTC), tick=False)
    due_notification(reachable, "promotion", context={"text": "x"}, dedupe_key="sv-1:email")
    due_notification(reachable, "service", dedupe_key="sv-2:email")
    due_notification(reachable, "service", channel="sms", dedupe_key="sv-3:sms")
    assert dispatch.drain() == {"sent": 3}


def test_over_the_weekly_contacts_waits_for_next_week_or_is_suppressed_at_its_deadline(reachable, time_machine):
    preference_update(customer=reachable, max_per_week={"all": 2, "email": 5, "sms": 5})
    monday = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for day, channel in ((0, "email"), (1, "sms")):
        time_machine.move_to(monday + datetime.timedelta(days=day), tick=False)
        due_notification(
            reachable, "promotion", channel=channel, context={"text": "x"}, dedupe_key=f"wk-{day}:{channel}"
        )
        assert dispatch.drain() == {"sent": 1}
    time_machine.move_to(monday + datetime.timedelta(days=2), tick=False)
    now = timezone.now()
    waits = due_notification(
        reachable,
        "promotion",
        context={"text": "x"},
        dedupe_key="wk-3:email",
        deadline=now + datetime.timedelta(days=9),
    )
    short = due_notification(
        reachable,
        "new-products",
        context={"text": "x"},
        dedupe_key="wk-4:email",
        deadline=now + datetime.timedelta(days=2),
    )
    assert dispatch.drain() == {"deferred": 1, "suppressed": 1}
    waits.refresh_from_db()
    short.refresh_from_db()
    assert (waits.status, waits.reason) == ("deferred", "capped")
    assert waits.send_at >= monday + WEEK  # a week after the first of the two contacts
    assert (short.status, short.reason) == ("suppressed", "capped")


def test_a_batch_with_contact_rules_takes_a_constant_number_of_queries(customer_factory, django_assert_max_num_queries):
    for customer in customer_factory.create_batch(60):
        grant(customer, Channel.EMAIL)
        _open_all_day(customer)
        due_notification(customer, "promotion", context={"text": "x"}, dedupe_key=f"q-{customer.pk}-a:email")
        due_notification(customer, "promotion", context={"text": "y"}, dedupe_key=f"q-{customer.pk}-b:email")
    Topic.objects.filter(code="promotion").update(urgency="timely")
    claims = outbox.claim(now=timezone.now(), limit=120)
    with django_assert_max_num_queries(10):
        result = dispatch.deliver(claims)
    assert result == {"sent": 60, "deferred": 60}  # the second of each pair waits for the spacing
    assert set(Notification.objects.filter(status="deferred").values_list("reason", flat=True)) == {"spacing"}


# --- At write time ---------------------------------------------------------------------------------


def test_planning_spaces_later_occasions_inside_the_window_and_keeps_an_occasions_channels_together(
    reachable, time_machine
):
    from notifications.outbox.write import notify

    preference_update(customer=reachable, window_start=datetime.time(9, 0), window_end=datetime.time(20, 0))
    now = datetime.datetime(2026, 3, 28, 14, 0, tzinfo=UTC)  # Saturday before Europe's DST change; 16:00 in Tallinn
    reachable.time_zone = "Europe/Tallinn"
    reachable.save(update_fields=["time_zone"])
    rows = notify(customer=reachable, topic="new-products", context={"text": "x"}, dedupe_key="np-1", now=now)
    by_channel = {row.channel: row.send_at for row in rows}
    assert by_channel == {"sms": now, "email": now}  # the teaser and the detail: one message, together
    later = notify(customer=reachable, topic="promotion", context={"text": "y"}, dedupe_key="pr-1", now=now)
    # 4 hours later would be 20:00 local, outside the window: the next morning, 09:00 local after the change.
    assert later[0].send_at == datetime.datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    service = notify(customer=reachable, topic="service", context={"text": "z"}, dedupe_key="sv-1", now=now)
    assert service[0].send_at == now  # service messages are not spaced


def test_an_occasions_channels_go_together_and_count_as_one_message(reachable, time_machine):
    from crm.models import Customer
    from notifications.outbox.fanout import notify_many

    now = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    notify_many(
        customers=Customer.objects.filter(pk=reachable.pk),
        topic="new-products",
        context={"text": "x"},
        dedupe_prefix="np-many",
        now=now,
    )
    by_channel = dict(Notification.objects.filter(customer=reachable).values_list("channel", "send_at"))
    assert by_channel == {"sms": now, "email": now}
    time_machine.move_to(now, tick=False)
    assert dispatch.drain(now=now) == {"sent": 2}  # the dispatcher does not space an occasion from itself
