"""Staff's hand on queued messages: cancel, send now, resend a failed one (issue 17), from the admin."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.models import AuditEntry
from crm import roles
from notifications.delivery.dispatch import drain
from notifications.models import Notification
from tests.notifications.factories import due_notification

NOW = datetime.datetime(2026, 6, 2, 9, 0, tzinfo=datetime.UTC)  # 12:00 in Tallinn
Status = Notification.Status


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def service_client(client, db):
    user = User.objects.create_user("cs", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.CUSTOMER_SERVICE))
    client.force_login(user)
    return client


def act(client, action, rows):
    return client.post(
        reverse("admin:notifications_notification_changelist"),
        {"action": action, "_selected_action": [row.pk for row in rows]},
        follow=True,
    )


def test_cancel_stops_queued_messages_only_and_says_who(clock, service_client, customer):
    later = due_notification(customer, send_at=NOW + datetime.timedelta(days=1))
    sent = due_notification(customer, status=Status.SENT)

    response = act(service_client, "cancel_queued", [later, sent])

    later.refresh_from_db()
    sent.refresh_from_db()
    assert (later.status, later.reason) == (Status.CANCELLED, Notification.Reason.BY_STAFF)
    assert "Cancelled by cs" in later.detail
    assert sent.status == Status.SENT  # what already went is history
    assert "1 of 2 selected messages cancelled" in response.content.decode()
    one = act(service_client, "cancel_queued", [due_notification(customer, send_at=NOW + datetime.timedelta(days=1))])
    assert "1 of 1 selected message cancelled" in one.content.decode()
    entry = AuditEntry.objects.get(object_id=str(later.pk))
    assert entry.actor_username == "cs" and entry.changes == {"status": ["scheduled", "cancelled"]}
    assert drain(channel="email").get("sent", 0) == 0  # a cancelled message never goes


def test_send_now_makes_a_waiting_message_due_and_the_dispatcher_sends_it(clock, service_client, customer, mailoutbox):
    waiting = due_notification(customer, send_at=NOW + datetime.timedelta(days=2))

    act(service_client, "send_now", [waiting])

    waiting.refresh_from_db()
    assert waiting.send_at == NOW and waiting.status == Status.SCHEDULED and "Send now asked by cs" in waiting.detail
    drain(channel="email")
    waiting.refresh_from_db()
    assert waiting.status == Status.SENT and len(mailoutbox) == 1


def test_send_now_does_not_bypass_quiet_hours(time_machine, service_client, customer):
    night = datetime.datetime(2026, 6, 2, 21, 0, tzinfo=datetime.UTC)  # 00:00 in Tallinn
    time_machine.move_to(night, tick=False)
    sms = due_notification(customer, channel="sms", send_at=night + datetime.timedelta(days=1))

    act(service_client, "send_now", [sms])
    drain(channel="sms")

    sms.refresh_from_db()
    assert sms.status != Status.SENT  # the rules still decide: nobody is woken at midnight


def test_resend_queues_a_failed_message_once_more_with_its_key(clock, service_client, customer, mailoutbox):
    failed = due_notification(
        customer, status=Status.FAILED, reason=Notification.Reason.PROVIDER_ERROR, attempts=5,
        deadline=NOW - datetime.timedelta(hours=1),
    )  # fmt: skip

    act(service_client, "resend_failed", [failed])

    failed.refresh_from_db()
    assert failed.status == Status.SCHEDULED and failed.send_at == NOW and failed.deadline > NOW
    assert "Resent by cs" in failed.detail
    drain(channel="email")
    failed.refresh_from_db()
    assert failed.status == Status.SENT and len(mailoutbox) == 1
    assert mailoutbox[0].extra_headers["Message-ID"].startswith("<") and failed.dedupe_key  # the same row, same key


def test_a_role_without_the_right_is_not_offered_the_controls(client, db, customer):
    user = User.objects.create_user("mk", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.MARKETING))
    client.force_login(user)
    row = due_notification(customer, send_at=NOW + datetime.timedelta(days=1))
    response = act(client, "cancel_queued", [row])
    row.refresh_from_db()
    assert row.status == Status.SCHEDULED and response.status_code in (403, 200)
