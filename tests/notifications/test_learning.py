import datetime
from zoneinfo import ZoneInfo

from notifications.consent.services import consent_record
from notifications.models import Notification, Preference, Topic
from notifications.outbox.write import notify
from notifications.scheduling.learning import best_hours_learn
from tests.notifications.factories import due_notification

HELSINKI = ZoneInfo("Europe/Helsinki")


def opened(customer, *local_times):
    for n, at in enumerate(local_times):
        row = due_notification(customer, "service", dedupe_key=f"open-{customer.pk}-{n}")
        Notification.objects.filter(pk=row.pk).update(status="delivered", opened_at=at.astimezone(datetime.UTC))


def test_best_hour_is_learned_from_opens_in_the_customers_zone(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.UTC))
    reader, rare = customer_factory(time_zone="Europe/Helsinki"), customer_factory()
    now = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.UTC)
    opened(
        reader,
        *[datetime.datetime(2026, 11, d, 19, 15, tzinfo=HELSINKI) for d in (3, 5, 10, 12)],
        datetime.datetime(2026, 11, 14, 8, 5, tzinfo=HELSINKI),
    )
    opened(rare, datetime.datetime(2026, 11, 3, 7, 0, tzinfo=datetime.UTC))
    assert best_hours_learn(now=now) == 1
    assert Preference.objects.get(customer=reader).best_hour == 19
    assert not Preference.objects.filter(customer=rare, best_hour__isnull=False).exists()
    assert best_hours_learn(now=now) == 0  # nothing new the second time


def test_flexible_messages_go_out_at_the_learned_hour(customer_factory, time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 23, 7, 0, tzinfo=datetime.UTC))
    customer = customer_factory(time_zone="Europe/Helsinki")
    consent_record(customer=customer, channel="email", action="granted", source="survey")
    Preference.objects.filter(customer=customer).update(best_hour=19)
    assert Topic.objects.get(code="promotion").urgency == "flexible"
    now = datetime.datetime(2026, 11, 23, 8, 0, tzinfo=datetime.UTC)  # 10:00 in Helsinki
    [row] = notify(customer=customer, topic="promotion", context={"text": "x"}, dedupe_key="sto", now=now)
    assert row.send_at.astimezone(HELSINKI) == datetime.datetime(2026, 11, 23, 19, 0, tzinfo=HELSINKI)
