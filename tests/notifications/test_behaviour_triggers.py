"""Behaviour triggers: the purchase cycle, re-engagement after a silence, regular contact; once each, fresh at send."""

import datetime
import zoneinfo

import pytest

from notifications.consent.services import consent_record
from notifications.delivery.dispatch import drain
from notifications.models import Notification
from notifications.triggers import (
    behaviour_triggers_run,
    purchase_cycle_remind,
    reengagement_send,
    regular_contact_send,
)
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification

TALLINN = zoneinfo.ZoneInfo("Europe/Tallinn")
START = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=TALLINN)


def _consenting(customer_factory, **fields):
    customer = customer_factory(**fields)
    consent_record(customer=customer, channel="email", action="granted", source="staff", wording="at the till")
    return customer


def _buy_on(customer, store, time_machine, *days_after_start):
    for day in days_after_start:
        time_machine.move_to(START + datetime.timedelta(days=day), tick=False)
        purchase(customer, store=store, amount="20.00")


def _rows(topic: str) -> list[Notification]:
    return list(Notification.objects.filter(topic__code=topic).order_by("id"))


def test_a_regular_customer_is_reminded_when_their_usual_gap_has_passed_once_per_cycle(
    customer_factory, store_factory, time_machine
):
    store = store_factory()
    regular = _consenting(customer_factory)
    twice = _consenting(customer_factory)  # one gap is no pattern
    _buy_on(regular, store, time_machine, 0, 10, 21, 30)  # gaps 10, 11, 9 → a cycle of 10 days
    _buy_on(twice, store, time_machine, 0, 10)

    for day, expected in [(39, 0), (40.5, 1), (41, 0), (44, 0)]:
        now = START + datetime.timedelta(days=day)
        time_machine.move_to(now, tick=False)
        assert purchase_cycle_remind(now=now) == expected, day
    assert [row.customer for row in _rows("purchase-cycle")] == [regular]

    _buy_on(regular, store, time_machine, 45)  # came back; the next cycle is another reminder
    now = START + datetime.timedelta(days=55.5)
    time_machine.move_to(now, tick=False)
    assert purchase_cycle_remind(now=now) == 1


def test_a_reminder_is_stale_when_the_customer_came_back_before_it_went(customer_factory, store_factory, time_machine):
    store = store_factory()
    regular = _consenting(customer_factory)
    _buy_on(regular, store, time_machine, 0, 10, 20, 30)
    now = START + datetime.timedelta(days=40, hours=6)  # 18:00 local: inside the window
    time_machine.move_to(now, tick=False)
    assert purchase_cycle_remind(now=now) == 1
    time_machine.move_to(now + datetime.timedelta(minutes=5), tick=False)
    purchase(regular, store=store, amount="5.00")  # before the reminder's slot

    time_machine.move_to(now + datetime.timedelta(days=3), tick=False)
    drain()
    [row] = _rows("purchase-cycle")
    assert (row.status, row.reason) == ("cancelled", "stale")


def test_a_silent_customer_hears_we_miss_you_once_per_silence(customer_factory, store_factory, time_machine):
    store = store_factory()
    lapsed = _consenting(customer_factory)
    recent = _consenting(customer_factory)
    refuser = customer_factory()  # no marketing consent: not even a suppressed row
    _buy_on(lapsed, store, time_machine, 0)
    _buy_on(refuser, store, time_machine, 0)
    _buy_on(recent, store, time_machine, 50)

    now = START + datetime.timedelta(weeks=9)
    time_machine.move_to(now, tick=False)
    assert reengagement_send(now=now) == 1
    assert reengagement_send(now=now + datetime.timedelta(days=1)) == 0
    assert [row.customer for row in _rows("we-miss-you")] == [lapsed]
    assert not Notification.objects.filter(customer=refuser, topic__code="we-miss-you").exists()

    _buy_on(lapsed, store, time_machine, 70)  # back, then silent again
    now = START + datetime.timedelta(days=70, weeks=9)
    time_machine.move_to(now, tick=False)
    assert reengagement_send(now=now) == 2  # lapsed again, and recent (last seen day 50) now too


def test_regular_contact_is_an_account_summary_with_the_figures_at_send_time(
    customer_factory, store_factory, time_machine, mailoutbox
):
    store = store_factory()
    quiet = _consenting(customer_factory, first_name="Mari")
    heard = _consenting(customer_factory)
    _buy_on(quiet, store, time_machine, 0)
    _buy_on(heard, store, time_machine, 0)
    promo = due_notification(heard, topic_code="promotion")
    Notification.objects.filter(pk=promo.pk).update(status="sent", sent_at=START + datetime.timedelta(days=20))

    now = START + datetime.timedelta(days=30)
    time_machine.move_to(now, tick=False)
    assert regular_contact_send(now=now) == 1
    assert regular_contact_send(now=now + datetime.timedelta(hours=6)) == 0  # one waits: nothing more
    [summary] = _rows("account-summary")
    assert summary.customer == quiet

    purchase(quiet, store=store, amount="30.00")  # the summary tells the balance when it goes
    time_machine.move_to(summary.send_at + datetime.timedelta(minutes=1), tick=False)
    drain()
    summary.refresh_from_db()
    assert summary.status == "sent", (summary.status, summary.reason, summary.detail)
    [email] = [m for m in mailoutbox if quiet.email in m.to]
    assert "your balance is 50 points" in email.body


@pytest.mark.parametrize("customers", [3, 12])
def test_the_jobs_take_the_same_number_of_queries_for_any_number_of_customers(
    customer_factory, store_factory, time_machine, django_assert_max_num_queries, customers
):
    store = store_factory()
    for _ in range(customers):
        _buy_on(_consenting(customer_factory), store, time_machine, 0, 10, 20)
    now = START + datetime.timedelta(days=20, weeks=9)
    time_machine.move_to(now, tick=False)
    with django_assert_max_num_queries(40):
        counts = behaviour_triggers_run(now=now)
    assert counts["we-miss-you"] == customers
