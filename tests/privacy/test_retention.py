import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from notifications.models import ContactSuppression, DeliveryEvent, InboundMessage, Notification
from privacy.retention import retention_prune
from tests.notifications.factories import due_notification

NOW = datetime.datetime(2027, 6, 1, 12, 0, tzinfo=datetime.UTC)
OLD = NOW - datetime.timedelta(days=401)
YOUNG = NOW - datetime.timedelta(days=399)


@pytest.fixture
def history(time_machine, customer):
    """Messages, provider events and replies from before and after the retention limit (400 days)."""
    made = {}
    for age, moment in (("old", OLD), ("young", YOUNG)):
        time_machine.move_to(moment, tick=False)
        rows = {
            status: due_notification(
                customer,
                status=status,
                subject=f"{age} subject",
                body=f"{age} body",
                context={"text": f"{age} {status}"},
                send_at=timezone.now(),
                dedupe_key=f"{age}:{status}",
            )
            for status in (Notification.Status.SENT, Notification.Status.DELIVERED, Notification.Status.SCHEDULED)
        }
        events = [
            DeliveryEvent.objects.create(
                notification=rows["sent"],
                provider="mailgun",
                channel="email",
                event_type=kind,
                event_key=f"{age}-{kind}",
                recipient=customer.email,
                occurred_at=timezone.now(),
                payload={"to": customer.email},
            )
            for kind in ("delivered", "opened", "bounced")
        ]
        inbound = InboundMessage.objects.create(
            provider="twilio",
            provider_message_id=f"in-{age}",
            sender=str(customer.phone),
            body=f"{age} STOP",
            action="stop",
            reply="Done.",
            payload={"Body": "STOP"},
            processed_at=timezone.now(),
        )
        made[age] = {"rows": rows, "events": events, "inbound": inbound}
    suppression = ContactSuppression.objects.create(
        channel="email", address=customer.email, customer=customer, reason="bounced", event=made["old"]["events"][2]
    )
    made["suppression"] = suppression
    time_machine.move_to(NOW, tick=False)
    return made


def test_old_provider_events_and_message_bodies_are_pruned_young_ones_kept(history, django_assert_max_num_queries):
    pruned = retention_prune(batch_size=2)

    assert pruned == {"delivery_events": 3, "message_bodies": 2, "inbound_messages": 1}
    assert set(DeliveryEvent.objects.values_list("event_key", flat=True)) == {
        "young-delivered",
        "young-opened",
        "young-bounced",
    }
    history["suppression"].refresh_from_db()
    assert history["suppression"].event is None  # the suppression itself stays in force

    for status in ("sent", "delivered"):
        old = Notification.objects.get(pk=history["old"]["rows"][status].pk)
        assert (old.subject, old.body, old.context) == ("", "", {})
        assert old.status == status and old.topic_id  # the row itself stays
        young = Notification.objects.get(pk=history["young"]["rows"][status].pk)
        assert (young.subject, young.body) == ("young subject", "young body")
    waiting = Notification.objects.get(pk=history["old"]["rows"]["scheduled"].pk)
    assert waiting.body == "old body"  # a message still waiting is never emptied

    old_inbound = InboundMessage.objects.get(pk=history["old"]["inbound"].pk)
    assert (old_inbound.body, old_inbound.payload, old_inbound.reply) == ("", {}, "")
    assert InboundMessage.objects.get(pk=history["young"]["inbound"].pk).body == "young STOP"

    with django_assert_max_num_queries(30):
        assert retention_prune(batch_size=2) == {"delivery_events": 0, "message_bodies": 0, "inbound_messages": 0}


def test_the_periods_come_from_settings(history, settings):
    settings.RETENTION_DELIVERY_EVENTS_DAYS = 398
    settings.RETENTION_MESSAGE_BODIES_DAYS = 1000
    assert retention_prune() == {"delivery_events": 6, "message_bodies": 0, "inbound_messages": 0}


def test_an_empty_database_prunes_nothing(db):
    assert retention_prune() == {"delivery_events": 0, "message_bodies": 0, "inbound_messages": 0}


def test_beat_runs_the_pruning_daily():
    from config.celery import app

    [job] = [job for job in settings.BEAT_JOBS.values() if job["task"] == "privacy.tasks.retention_prune_task"]
    assert job["every_seconds"] == 24 * 60 * 60
    app.loader.import_default_modules()
    assert "privacy.tasks.retention_prune_task" in app.tasks
