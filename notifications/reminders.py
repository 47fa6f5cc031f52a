"""Reminders the POS asks for (an order ready for pickup, an appointment tomorrow): service messages."""

import datetime

from django.utils import formats

from loyalty.signals import ServiceReminder
from notifications.models import Notification
from notifications.outbox.write import notify

TOPIC_FOR = {"order_ready": "order-ready", "appointment": "appointment"}


def reminder_notify(reminder: ServiceReminder) -> list[Notification]:
    """Plan the reminder's messages in the caller's transaction (the same order or booking once).

    An appointment is reminded from the day before and never after it begins: its deadline is the
    appointment itself. Times in the message are the customer's local time, with their zone.
    """
    customer = reminder.customer
    at_local = ""
    deadline = None
    if reminder.at is not None:
        local = reminder.at.astimezone(customer.zone)
        at_local = f"{formats.date_format(local, 'DATETIME_FORMAT')} ({customer.time_zone})"
    if reminder.kind == "appointment" and reminder.at is not None:
        deadline = reminder.at - datetime.timedelta(minutes=30)
    return notify(
        customer=customer,
        topic=TOPIC_FOR[reminder.kind],
        context={
            "reference": reminder.reference,
            "store_name": reminder.store_name,
            "store_id": reminder.store_id,
            "at": reminder.at.isoformat() if reminder.at else None,
            "at_local": at_local,
            "note": reminder.note,
        },
        dedupe_key=reminder.dedupe_key,
        now=reminder.notify_from,
        deadline=deadline,
    )
