import datetime
from decimal import Decimal

from notifications.consent.services import consent_record
from notifications.models import Notification
from notifications.triggers import behaviour_triggers_run, keep_in_touch_send, purchase_cycle_send, reengagement_send
from tests.notifications.factories import due_notification

UTC = datetime.UTC


def buy(customer, store, at, time_machine):
    from loyalty.services import purchase_record

    time_machine.move_to(at, tick=False)
    purchase_record(
        customer=customer,
        store=store,
        receipt_id=f"R-{customer.pk}-{at:%Y%m%d%H}",
        amount=Decimal("20.00"),
        currency="EUR",
        occurred_at=at,
    )


def marketing_ok(*customers):
    for customer in customers:
        consent_record(customer=customer, channel="email", scope="marketing", action="granted", source="survey")


def rows(topic):
    return Notification.objects.filter(topic__code=topic)


def test_customers_silent_for_weeks_are_asked_back_once(
    customer_factory, store_factory, time_machine, django_assert_max_num_queries
):
    store = store_factory()
    lapsed, regular, never, refused = customer_factory.create_batch(4)
    marketing_ok(lapsed, regular, never)
    start = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    buy(lapsed, store, start, time_machine)
    buy(refused, store, start, time_machine)
    buy(regular, store, start + datetime.timedelta(weeks=8), time_machine)
    now = start + datetime.timedelta(weeks=9)
    time_machine.move_to(now, tick=False)

    with django_assert_max_num_queries(12):  # one query picks them, whatever their number
        report = reengagement_send(now=now)

    assert report.queued == 1
    assert set(rows("re-engagement").values_list("customer", flat=True)) == {lapsed.pk}
    assert reengagement_send(now=now + datetime.timedelta(days=1)).rows_written == 0  # beat again: nothing new
    assert reengagement_send(now=now + datetime.timedelta(weeks=3)).rows_written == 0  # asked already lately


def test_consenting_customers_hear_something_every_few_weeks(
    customer_factory, time_machine, django_assert_max_num_queries
):
    now = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    time_machine.move_to(now, tick=False)
    forgotten, informed, waiting, _refused = customer_factory.create_batch(4)
    marketing_ok(forgotten, informed, waiting)
    sent = due_notification(informed, "promotion")
    Notification.objects.filter(pk=sent.pk).update(status="sent", sent_at=now - datetime.timedelta(days=10))
    due_notification(waiting, "promotion", send_at=now + datetime.timedelta(days=1))

    with django_assert_max_num_queries(12):  # the same for four customers as for a million
        report = keep_in_touch_send(now=now)

    assert report.queued == 1
    [row] = rows("keep-in-touch")
    assert row.customer_id == forgotten.pk and row.status == "scheduled"
    assert keep_in_touch_send(now=now + datetime.timedelta(days=1)).rows_written == 0


def test_a_purchase_cycle_is_learned_per_customer_and_reminded_once(
    customer_factory, store_factory, time_machine, django_assert_max_num_queries
):
    store = store_factory()
    weekly, monthly, once = customer_factory.create_batch(3)
    marketing_ok(weekly, monthly, once)
    start = datetime.datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    for n in range(4):
        buy(weekly, store, start + datetime.timedelta(days=7 * n), time_machine)
        buy(monthly, store, start + datetime.timedelta(days=30 * n), time_machine)
    buy(once, store, start, time_machine)
    last_weekly = start + datetime.timedelta(days=21)

    # The day after the weekly customer's usual week has passed since their last purchase.
    now = last_weekly + datetime.timedelta(days=7, hours=6)
    time_machine.move_to(now, tick=False)
    with django_assert_max_num_queries(12):
        assert purchase_cycle_send(now=now).queued == 1
    assert list(rows("purchase-cycle").values_list("customer", flat=True)) == [weekly.pk]
    assert purchase_cycle_send(now=now + datetime.timedelta(days=1)).queued == 0  # that cycle was reminded

    later = start + datetime.timedelta(days=120, hours=6)  # 30 days after the monthly customer's last
    time_machine.move_to(later, tick=False)
    assert behaviour_triggers_run(now=later)["purchase-cycle"] == 1
    assert set(rows("purchase-cycle").values_list("customer", flat=True)) == {weekly.pk, monthly.pk}
