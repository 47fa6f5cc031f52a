import datetime
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.scheduling.slots import is_inside, last_slot, next_slot

UTC = datetime.UTC
ZONES = [
    "Europe/Tallinn",
    "Europe/Helsinki",
    "Europe/Stockholm",
    "Europe/Moscow",
    "America/New_York",
    "Australia/Sydney",
]
# Instants around the 2026 DST changes in Europe, the US and Australia, and ordinary days.
ANCHORS = [
    datetime.datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
    datetime.datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
    datetime.datetime(2026, 3, 8, 5, 0, tzinfo=UTC),
    datetime.datetime(2026, 11, 1, 5, 0, tzinfo=UTC),
    datetime.datetime(2026, 4, 5, 0, 0, tzinfo=UTC),
    datetime.datetime(2026, 7, 15, 12, 0, tzinfo=UTC),
]


@settings(max_examples=1500, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
    offset_minutes=st.integers(-36 * 60, 36 * 60),
    start_hour=st.integers(0, 22),
    length=st.integers(1, 14),
    weekdays=st.sets(st.integers(0, 6), max_size=6),
    deadline_hours=st.integers(1, 240),
    preferred_hour=st.none() | st.integers(0, 23),
)
def test_slot_is_inside_the_local_window_on_an_allowed_day_before_the_deadline(
    zone_name, anchor, offset_minutes, start_hour, length, weekdays, deadline_hours, preferred_hour
):
    zone = zoneinfo.ZoneInfo(zone_name)
    now = anchor + datetime.timedelta(minutes=offset_minutes)
    window = (datetime.time(start_hour), datetime.time(min(start_hour + length, 23), 59))
    deadline = now + datetime.timedelta(hours=deadline_hours)
    slot = next_slot(
        earliest=now, zone=zone, window=window, deadline=deadline, weekdays=weekdays, preferred_hour=preferred_hour
    )
    if slot is None:
        # No allowed instant exists: probe every 10 minutes up to the deadline.
        probe = now
        while probe <= deadline:
            local = probe.astimezone(zone)
            assert not (is_inside(probe, zone=zone, window=window) and (not weekdays or local.weekday() in weekdays))
            probe += datetime.timedelta(minutes=10)
        return
    assert now <= slot <= deadline
    assert is_inside(slot, zone=zone, window=window)
    assert not weekdays or slot.astimezone(zone).weekday() in weekdays


def test_spring_forward_gap_and_fall_back_repeated_hour():
    tallinn = zoneinfo.ZoneInfo("Europe/Tallinn")
    # 03:00–03:59 does not exist on 29 March 2026 in Tallinn: a preferred 03:00 is not a wall time that day.
    midnight = datetime.datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    window = (datetime.time(0, 0), datetime.time(3, 59))
    slot = next_slot(
        earliest=midnight,
        zone=tallinn,
        window=window,
        deadline=midnight + datetime.timedelta(hours=1),
        preferred_hour=3,
    )
    assert slot == midnight and is_inside(slot, zone=tallinn, window=window)
    # 01:00–01:59 happens twice on 1 November 2026 in New York; the second time is inside the window too.
    new_york = zoneinfo.ZoneInfo("America/New_York")
    after_first = datetime.datetime(2026, 11, 1, 5, 59, tzinfo=UTC)  # 01:59 EDT
    slot = next_slot(
        earliest=after_first,
        zone=new_york,
        window=(datetime.time(0), datetime.time(1, 59)),
        deadline=after_first + datetime.timedelta(hours=1),
    )
    assert slot == datetime.datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 01:00 EST


def test_window_ending_inside_the_spring_forward_gap_keeps_its_last_minutes():
    tallinn = zoneinfo.ZoneInfo("Europe/Tallinn")
    at = datetime.datetime(2026, 3, 29, 0, 59, tzinfo=UTC)  # 02:59 EET, a minute before the jump to 04:00
    slot = next_slot(
        earliest=at,
        zone=tallinn,
        window=(datetime.time(0), datetime.time(3, 59)),
        deadline=at + datetime.timedelta(hours=1),
    )
    assert slot == at


def test_window_keeps_its_wall_clock_hours_across_dst_changes():
    tallinn = zoneinfo.ZoneInfo("Europe/Tallinn")
    window = (datetime.time(9, 0), datetime.time(20, 0))
    # Saturday before spring-forward (UTC+2) and the Sunday of it (UTC+3).
    before = next_slot(
        earliest=datetime.datetime(2026, 3, 28, 0, 0, tzinfo=UTC),
        zone=tallinn,
        window=window,
        deadline=datetime.datetime(2026, 4, 5, tzinfo=UTC),
    )
    after = next_slot(
        earliest=datetime.datetime(2026, 3, 29, 0, 0, tzinfo=UTC),
        zone=tallinn,
        window=window,
        deadline=datetime.datetime(2026, 4, 5, tzinfo=UTC),
    )
    assert before == datetime.datetime(2026, 3, 28, 7, 0, tzinfo=UTC)
    assert after == datetime.datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    # Fall-back day: 09:00 local is 06:00 UTC before, 07:00 UTC on the day.
    fall = next_slot(
        earliest=datetime.datetime(2026, 10, 25, 0, 0, tzinfo=UTC),
        zone=tallinn,
        window=window,
        deadline=datetime.datetime(2026, 11, 1, tzinfo=UTC),
    )
    assert fall == datetime.datetime(2026, 10, 25, 7, 0, tzinfo=UTC)


def test_flexible_message_waits_for_the_preferred_weekday_and_best_hour():
    helsinki = zoneinfo.ZoneInfo("Europe/Helsinki")
    thursday = datetime.datetime(2026, 11, 19, 10, 0, tzinfo=UTC)
    slot = next_slot(
        earliest=thursday,
        zone=helsinki,
        window=(datetime.time(9), datetime.time(20)),
        deadline=thursday + datetime.timedelta(days=7),
        weekdays={1},
        preferred_hour=18,
    )
    assert slot.astimezone(helsinki) == datetime.datetime(2026, 11, 24, 18, 0, tzinfo=helsinki)  # Tuesday 18:00


def test_no_slot_when_the_deadline_comes_first():
    zone = zoneinfo.ZoneInfo("Europe/Tallinn")
    late = datetime.datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 22:30 local
    assert (
        next_slot(
            earliest=late,
            zone=zone,
            window=(datetime.time(9), datetime.time(20)),
            deadline=late + datetime.timedelta(hours=6),
        )
        is None
    )


@settings(max_examples=800, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    anchor=st.sampled_from(ANCHORS),
    offset_minutes=st.integers(-36 * 60, 36 * 60),
    start_hour=st.integers(0, 22),
    length=st.integers(1, 14),
    deadline_hours=st.integers(0, 240),
)
def test_last_slot_is_the_latest_allowed_minute_before_the_deadline(
    zone_name, anchor, offset_minutes, start_hour, length, deadline_hours
):
    zone = zoneinfo.ZoneInfo(zone_name)
    now = anchor + datetime.timedelta(minutes=offset_minutes)
    window = (datetime.time(start_hour), datetime.time(min(start_hour + length, 23), 59))
    deadline = now + datetime.timedelta(hours=deadline_hours)
    slot = last_slot(earliest=now, zone=zone, window=window, deadline=deadline)
    later = (slot or now) + datetime.timedelta(minutes=1)
    while later <= deadline:  # nothing allowed after it: probe every minute to the deadline (sampled)
        assert not is_inside(later, zone=zone, window=window)
        later += datetime.timedelta(minutes=7)
    if slot is not None:
        assert now <= slot <= deadline and is_inside(slot, zone=zone, window=window)
    elif next_slot(earliest=now, zone=zone, window=window, deadline=deadline) is not None:
        raise AssertionError("next_slot found an allowed minute that last_slot missed")


def test_a_preferred_weekday_beyond_the_deadline_takes_the_last_slot_instead_of_dropping(db):
    from notifications.models import Notification, Preference, Topic
    from notifications.scheduling.rules import schedule_slot
    from tests.crm.factories import CustomerFactory

    tallinn = zoneinfo.ZoneInfo("Europe/Tallinn")
    customer = CustomerFactory(time_zone="Europe/Tallinn")
    topic = Topic.objects.get(code="promotion")
    assert topic.urgency == Topic.Urgency.FLEXIBLE
    monday = datetime.datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # Monday 10:00 in Tallinn
    preference = Preference(
        customer=customer, weekdays=[5], window_start=datetime.time(10), window_end=datetime.time(18)
    )  # Saturdays only
    deadline = monday + datetime.timedelta(hours=71)  # Thursday 09:00, before its window: no Saturday either

    slot, reason = schedule_slot(
        customer=customer, topic=topic, channel="email", preference=preference, earliest=monday, deadline=deadline
    )

    assert reason == ""
    # Wednesday's window closes at 18:00: its last minute, 17:59 local (14:59 UTC), is the last slot.
    assert slot == datetime.datetime(2026, 6, 3, 14, 59, tzinfo=UTC)
    assert slot.astimezone(tallinn).weekday() == 2
    # With a Saturday before the deadline the wish holds.
    slot, _ = schedule_slot(
        customer=customer,
        topic=topic,
        channel="email",
        preference=preference,
        earliest=monday,
        deadline=monday + datetime.timedelta(days=6),
    )
    assert slot.astimezone(tallinn).weekday() == 5
    assert Notification.Reason.DEADLINE  # the reason still exists for when no slot at all fits


def test_a_promotion_for_a_saturday_person_goes_on_wednesday_evening_when_saturday_is_past_its_deadline(
    db, time_machine, mailoutbox
):
    """End to end: planned in the last slot before the deadline, and sent then (the dispatcher agrees)."""
    from notifications.consent.services import consent_record
    from notifications.delivery.dispatch import drain
    from notifications.models import Notification, Preference, Topic
    from notifications.outbox.write import notify
    from tests.crm.factories import CustomerFactory

    monday = datetime.datetime(2026, 6, 1, 7, 0, tzinfo=UTC)  # 10:00 in Tallinn
    time_machine.move_to(monday, tick=False)
    customer = CustomerFactory(time_zone="Europe/Tallinn", email="mari@example.ee")
    Preference.objects.create(
        customer=customer, weekdays=[5], window_start=datetime.time(10), window_end=datetime.time(18)
    )
    consent_record(customer=customer, channel="email", action="granted", source="survey")
    promotion = Topic.objects.get(code="promotion")
    Topic.objects.filter(pk=promotion.pk).update(deadline_hours=71)  # Thursday 09:00: no Saturday before it

    [row] = [r for r in notify(customer=customer, topic="promotion", context={"title": "Sale", "text": "x"},
                               dedupe_key="sat") if r.channel == "email"]  # fmt: skip
    assert row.status == Notification.Status.SCHEDULED
    assert row.send_at == datetime.datetime(2026, 6, 3, 14, 59, tzinfo=UTC)  # Wednesday 17:59 in Tallinn

    time_machine.move_to(row.send_at, tick=False)
    drain(channel="email")
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT and len(mailoutbox) == 1
