import datetime
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.models import Customer
from notifications.consent.services import consent_record
from notifications.models import Notification, Preference, SendTimePrior, Topic
from notifications.outbox.fanout import notify_many
from notifications.outbox.write import notify
from notifications.scheduling import learning
from notifications.scheduling.learning import explain, explore_pick, send_times_learn, thin_every
from notifications.scheduling.rules import schedule_slot, window_for
from notifications.scheduling.slots import is_inside
from tests.notifications.factories import due_notification

HELSINKI = ZoneInfo("Europe/Helsinki")
UTC = datetime.UTC


def opened(customer, *local_times, topic="service"):
    for n, at in enumerate(local_times):
        row = due_notification(customer, topic, dedupe_key=f"open-{customer.pk}-{topic}-{n}")
        Notification.objects.filter(pk=row.pk).update(
            status="delivered", sent_at=at.astimezone(UTC), opened_at=at.astimezone(UTC)
        )


def steady(prefix: str) -> str:
    """A dedupe key whose message is not one of the explored ones."""
    return next(f"{prefix}-{n}" for n in itertools.count() if explore_pick(f"{prefix}-{n}") is None)


def evenings(zone, days=(3, 5, 10, 12), hour=19):
    return [datetime.datetime(2026, 11, d, hour, 15, tzinfo=zone) for d in days]


def test_own_reads_are_shrunk_toward_the_segment_without_a_threshold(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    reader, once, often = (customer_factory(time_zone="Europe/Helsinki") for _ in range(3))
    now = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    opened(reader, *evenings(HELSINKI), datetime.datetime(2026, 11, 14, 8, 5, tzinfo=HELSINKI))
    for _ in range(8):
        opened(customer_factory(time_zone="Europe/Helsinki"), *evenings(HELSINKI))
    opened(once, datetime.datetime(2026, 11, 3, 11, 0, tzinfo=HELSINKI))
    opened(often, *evenings(HELSINKI, days=(2, 4, 6, 9, 11, 13), hour=11))

    result = send_times_learn(now=now)

    assert result["customers"] == 11
    learned = {p.customer_id: p for p in Preference.objects.all()}
    assert (learned[reader.pk].best_hour, learned[reader.pk].learned_from) == (19, 5)
    # One read at 11 does not outweigh what nearly everyone else reads at (the prior counts as 2 reads) ...
    assert (learned[once.pk].best_hour, learned[once.pk].learned_from) == (19, 1)
    # ... six do: the customer's own habit wins as it accumulates.
    assert learned[often.pk].best_hour == 11
    prior = SendTimePrior.objects.get(segment="lang:en")
    assert len(prior.counts) == 168 and prior.reads == 44 and prior.customers == 11
    assert SendTimePrior.objects.get(segment="").reads == 44
    assert send_times_learn(now=now)["customers"] == 0  # nothing new the second time


def test_the_job_reads_set_based(customer_factory, time_machine, django_assert_max_num_queries):
    time_machine.move_to(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    for customer in customer_factory.create_batch(30, time_zone="Europe/Helsinki"):
        opened(customer, *evenings(HELSINKI, days=(3, 4)))
    with django_assert_max_num_queries(12):  # the same for 30 customers as for 3 million
        assert send_times_learn(now=datetime.datetime(2026, 11, 20, 12, 0, tzinfo=UTC))["customers"] == 30


def test_a_new_customer_starts_from_their_segments_hour(customer_factory, time_machine):
    """Day one: no read of their own yet, the hour the customers who speak their language read at."""
    time_machine.move_to(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    for _ in range(3):
        opened(customer_factory(time_zone="Europe/Helsinki", language="fi"), *evenings(HELSINKI, hour=18))
        opened(customer_factory(time_zone="Europe/Helsinki", language="et"), *evenings(HELSINKI, hour=12))
    now = datetime.datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # Monday 08:00 in Helsinki
    send_times_learn(now=now)
    finn = customer_factory(time_zone="Europe/Helsinki", language="fi")
    estonian = customer_factory(time_zone="Europe/Helsinki", language="et")
    for customer in (finn, estonian):
        consent_record(customer=customer, channel="email", action="granted", source="survey")

    [to_finn] = notify(customer=finn, topic="promotion", context={}, dedupe_key=steady("fi"), now=now)
    [to_estonian] = notify(customer=estonian, topic="promotion", context={}, dedupe_key=steady("et"), now=now)

    assert to_finn.send_at.astimezone(HELSINKI).hour == 18
    assert to_estonian.send_at.astimezone(HELSINKI).hour == 12
    assert to_finn.send_at.astimezone(HELSINKI).date() == datetime.date(2026, 11, 23)
    assert "when customers like you read most" in " ".join(explain(finn, Topic.objects.get(code="promotion")))


def test_flexible_messages_go_out_at_the_learned_hour(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 23, 7, 0, tzinfo=UTC))
    customer = customer_factory(time_zone="Europe/Helsinki")
    consent_record(customer=customer, channel="email", action="granted", source="survey")
    Preference.objects.filter(customer=customer).update(best_hour=19, learned_from=6)
    assert Topic.objects.get(code="promotion").urgency == "flexible"
    now = datetime.datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 10:00 in Helsinki
    [row] = notify(customer=customer, topic="promotion", context={"text": "x"}, dedupe_key=steady("sto"), now=now)
    assert row.send_at.astimezone(HELSINKI) == datetime.datetime(2026, 11, 23, 19, 0, tzinfo=HELSINKI)
    assert "learned from 6 of your opens" in " ".join(explain(customer, Topic.objects.get(code="promotion")))


def test_a_clear_weekday_is_waited_for_within_the_deadline(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    customer = customer_factory(time_zone="Europe/Helsinki")
    for day in range(2, 20):  # an e-mail every day; only those sent on a Thursday are opened
        sent = datetime.datetime(2026, 11, day, 19, 0, tzinfo=HELSINKI)
        row = due_notification(customer, "promotion", dedupe_key=f"daily-{day}")
        opened_at = sent + datetime.timedelta(minutes=5) if sent.weekday() == 3 else None
        Notification.objects.filter(pk=row.pk).update(status="delivered", sent_at=sent, opened_at=opened_at)
    now = datetime.datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday
    send_times_learn(now=now)
    assert Preference.objects.get(customer=customer).best_weekday == 3
    consent_record(customer=customer, channel="email", action="granted", source="survey")
    [row] = notify(customer=customer, topic="promotion", context={}, dedupe_key=steady("thu"), now=now)
    assert row.send_at.astimezone(HELSINKI) == datetime.datetime(2026, 11, 26, 19, 0, tzinfo=HELSINKI)
    # A topic whose deadline comes before Thursday goes at the learned hour of an earlier day.
    topic = Topic.objects.get(code="promotion")
    topic.deadline_hours = 30
    topic.save()
    [row] = notify(customer=customer, topic="promotion", context={}, dedupe_key=steady("soon"), now=now)
    assert row.send_at.astimezone(HELSINKI) == datetime.datetime(2026, 11, 23, 19, 0, tzinfo=HELSINKI)


def test_a_tenth_of_flexible_messages_explore_reproducibly(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 23, 6, 0, tzinfo=UTC))
    picks = [explore_pick(f"campaign-7:{n}") for n in range(2000)]
    share = sum(pick is not None for pick in picks) / len(picks)
    assert 0.07 < share < 0.13
    customer = customer_factory(time_zone="Europe/Helsinki")
    consent_record(customer=customer, channel="email", action="granted", source="survey")
    Preference.objects.filter(customer=customer).update(best_hour=19)
    explored = next(f"x-{n}" for n in itertools.count() if explore_pick(f"x-{n}") not in (None, 10))
    now = datetime.datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 08:00 in Helsinki
    [row] = notify(customer=customer, topic="promotion", context={}, dedupe_key=explored, now=now)
    local = row.send_at.astimezone(HELSINKI)
    hours = list(range(9, 20))  # the default window
    assert local.hour == hours[explore_pick(explored) % len(hours)]
    assert local.date() == datetime.date(2026, 11, 23)
    Notification.objects.all().delete()
    [again] = notify(customer=customer, topic="promotion", context={}, dedupe_key=explored, now=now)
    assert again.send_at == row.send_at


@pytest.mark.parametrize("switch", ["topic", "customer"])
def test_learning_can_be_switched_off_per_topic_and_per_customer(customer_factory, time_machine, switch, settings):
    settings.NOTIFICATION_CONTACT_MIN_SPACING_HOURS = 0  # thirty offers at once: spacing is tested on its own
    time_machine.move_to(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    customer = customer_factory(time_zone="Europe/Helsinki")
    consent_record(customer=customer, channel="email", action="granted", source="survey")
    opened(customer, *evenings(HELSINKI))
    topic = Topic.objects.get(code="promotion")
    if switch == "topic":
        topic.learn_send_time = False
        topic.save()
    else:
        Preference.objects.filter(customer=customer).update(learn_send_time=False)
    now = datetime.datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 10:00 in Helsinki
    send_times_learn(now=now)
    keys = [f"off-{n}" for n in range(30)]  # explored ones included: they are off too
    rows = [notify(customer=customer, topic="promotion", context={}, dedupe_key=key, now=now)[0] for key in keys]
    assert {row.send_at for row in rows} == {now}
    assert "first time you allow" in explain(customer, topic)[0]
    if switch == "customer":  # the job leaves the customer who said no alone
        assert Preference.objects.get(customer=customer).best_hour is None


def test_a_topic_left_unopened_is_sent_less_often_until_one_is_opened(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    ignoring, reading = customer_factory(time_zone="Europe/Helsinki"), customer_factory(time_zone="Europe/Helsinki")
    for customer in (ignoring, reading):
        consent_record(customer=customer, channel="email", action="granted", source="survey")
        for day in range(2, 14, 2):
            row = due_notification(customer, "promotion", dedupe_key=f"old-{customer.pk}-{day}")
            sent = datetime.datetime(2026, 11, day, 10, 0, tzinfo=UTC)
            opened_at = sent if customer is reading else None
            Notification.objects.filter(pk=row.pk).update(status="delivered", sent_at=sent, opened_at=opened_at)
    now = datetime.datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    send_times_learn(now=now)
    assert Preference.objects.get(customer=ignoring).ignored_topics == {"promotion": 6}
    assert Preference.objects.get(customer=reading).ignored_topics == {}
    assert thin_every(6) == 3

    report = notify_many(customers=Customer.objects.all(), topic="promotion", context={}, dedupe_prefix="p1", now=now)
    many = [notify(customer=ignoring, topic="promotion", context={}, dedupe_key=f"p{n}", now=now)[0] for n in range(60)]
    thinned = [row for row in many if row.reason == Notification.Reason.THINNED]
    assert 30 <= len(thinned) <= 50  # about two in three spared
    assert all(row.status == "suppressed" for row in thinned)
    assert report.queued + report.suppressed[Notification.Reason.THINNED] == 2
    assert not Notification.objects.filter(customer=reading, reason=Notification.Reason.THINNED).exists()
    why = " ".join(explain(ignoring, Topic.objects.get(code="promotion")))
    assert "not opened the last 6" in why and "one in 3" in why

    Notification.objects.filter(dedupe_key=f"old-{ignoring.pk}-12").update(opened_at=now)
    send_times_learn(now=now)
    assert Preference.objects.get(customer=ignoring).ignored_topics == {}


def test_service_messages_are_never_thinned(customer_factory):
    customer = customer_factory()
    Preference.objects.update_or_create(customer=customer, defaults={"ignored_topics": {"service": 12}})
    preference = Preference.objects.get(customer=customer)
    assert not any(learning.thinned(Topic.objects.get(code="service"), preference, f"s{n}") for n in range(20))


ZONES = ["Europe/Helsinki", "Europe/Tallinn", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    zone=st.sampled_from(ZONES),
    start=st.integers(0, 22),
    length=st.integers(1, 24),
    best_hour=st.none() | st.integers(0, 23),
    best_weekday=st.none() | st.integers(0, 6),
    weekdays=st.lists(st.integers(0, 6), max_size=3, unique=True),
    key=st.text(min_size=1, max_size=12),
    earliest=st.datetimes(
        min_value=datetime.datetime(2026, 3, 20), max_value=datetime.datetime(2026, 11, 10), timezones=st.just(UTC)
    ),
    deadline_hours=st.integers(1, 240),
)
def test_learned_slots_keep_every_hard_rule(
    db, zone, start, length, best_hour, best_weekday, weekdays, key, earliest, deadline_hours
):
    """Whatever was learned or explored (DST changes included): inside the window, not before
    ``earliest``, not after the deadline; a stated weekday when one comes before the deadline."""
    end = None if start + length >= 24 else datetime.time(start + length)
    customer = Customer(time_zone=zone, language="en")
    preference = Preference(
        window_start=datetime.time(start),
        window_end=end or datetime.time(0),
        best_hour=best_hour,
        best_weekday=best_weekday,
        weekdays=weekdays,
    )
    topic = Topic.objects.get(code="promotion")
    deadline = earliest + datetime.timedelta(hours=deadline_hours)
    slot, reason = schedule_slot(
        customer=customer,
        topic=topic,
        channel="email",
        preference=preference,
        earliest=earliest,
        deadline=deadline,
        occasion=key,
    )
    window = window_for(topic, "email", preference)
    if slot is None:
        assert reason
        return
    assert earliest <= slot <= deadline
    assert is_inside(slot, zone=customer.zone, window=window)
    if weekdays:
        unlearned = Preference(
            window_start=preference.window_start, window_end=preference.window_end, weekdays=weekdays
        )
        plain, _ = schedule_slot(
            customer=customer,
            topic=topic,
            channel="email",
            preference=unlearned,
            earliest=earliest,
            deadline=deadline,
            use_best_hour=False,
        )
        if plain is not None and plain.astimezone(customer.zone).weekday() in weekdays:
            assert slot.astimezone(customer.zone).weekday() in weekdays


def test_an_early_reader_gets_messages_the_evening_before():
    """Reads at 07:00, before the window opens at 09:00: the last allowed hour before that is 19:00."""
    reads = [0.0] * 24
    reads[7] = 5
    reads[13] = 1
    assert learning.best_send_hour(reads, list(range(9, 20))) == 19
    reads[13] = 6
    assert learning.best_send_hour(reads, list(range(9, 20))) == 13
