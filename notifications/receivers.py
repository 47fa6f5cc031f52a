"""Loyalty's bonus events become notifications; crm's customer changes re-plan them. Receivers only delegate."""

import datetime

from anymail.signals import tracking as anymail_tracking

from crm.models import Customer
from crm.signals import customer_changed, customers_changed
from loyalty import signals
from loyalty.signals import BonusEvent, StoreReminder
from notifications.inbound.events import delivery_event_record
from notifications.models import Notification, occasion_keys
from notifications.outbox.replan import CONTACT_CHANGE, CUSTOMER_CHANGE, queued_notifications_replan
from notifications.outbox.write import notify

TOPIC_FOR = {
    "accrued": "bonus-credited",
    "redeemed": "bonus-debited",
    "reversed": "bonus-debited",
    "expiring": "bonus-expiring",
    "expired": "bonus-expired",
    "gifted": "gift",
}
# A gift for an occasion is that occasion's greeting, with the points in it.
OCCASION_TOPIC = {"birthday": "birthday-greeting", "holiday": "holiday-greeting"}


def event_context(event: BonusEvent) -> dict:
    return {
        "points": event.points,
        "balance": event.balance,
        "expires_at": event.expires_at.isoformat() if event.expires_at else None,
        "days_left": event.days_left,
        "receipt_id": event.receipt_id,
        "store_id": event.store_id,
        "transaction_ids": list(event.transaction_ids),
        "lot_ids": list(event.lot_ids),
        **({"holiday": event.occasion_name} if event.occasion_name else {}),
    }


def on_bonus_event(sender, event: BonusEvent, **kwargs) -> None:
    """In the ledger's transaction (loyalty's outbox): the rows commit or roll back with the event."""
    customer = event.customer or Customer.objects.get(pk=event.customer_id)
    notify(
        customer=customer,
        topic=OCCASION_TOPIC.get(event.occasion) or TOPIC_FOR[event.kind],
        context=event_context(event),
        dedupe_key=event.dedupe_key,
        new_occasion=event.is_new,
    )


REMINDER_TOPIC = {"order_ready": "order-ready", "appointment": "appointment-reminder"}
# An appointment's reminder goes this long before it (inside the customer's window, so the day
# before for most), and no later than this long before it: after that it is no use.
APPOINTMENT_REMINDER_BEFORE = datetime.timedelta(hours=24)
APPOINTMENT_REMINDER_LAST = datetime.timedelta(hours=2)


def on_store_reminder(sender, reminder: StoreReminder, **kwargs) -> None:
    """In the till's transaction: withdraw what still waits for this order or booking, plan the new one."""
    occasion = f"reminder:{reminder.kind}:{reminder.store_id}:{reminder.reference}"
    key = occasion if reminder.kind == "order_ready" else f"{occasion}:{int(reminder.at.timestamp())}"
    waiting = Notification.objects.filter(
        customer=reminder.customer, dedupe_key__startswith=f"{occasion}:", status=Notification.Status.SCHEDULED
    )
    if not reminder.cancelled:
        waiting = waiting.exclude(dedupe_key__in=occasion_keys(key))
    waiting.update(
        status=Notification.Status.CANCELLED,
        reason=Notification.Reason.STALE,
        detail="cancelled at the store" if reminder.cancelled else "changed at the store",
    )
    if reminder.cancelled:
        return
    local = reminder.at.astimezone(reminder.customer.zone)
    context = {
        "reference": reminder.reference,
        "store": reminder.store_name,
        "note": reminder.note,
        "day": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
    }
    not_before = deadline = None
    if reminder.kind == "appointment":
        not_before, deadline = reminder.at - APPOINTMENT_REMINDER_BEFORE, reminder.at - APPOINTMENT_REMINDER_LAST
    elif reminder.until:
        until = reminder.until.astimezone(reminder.customer.zone)
        context["until"] = f"{until.date().isoformat()} {until:%H:%M}"
        deadline = reminder.until
    notify(
        customer=reminder.customer,
        topic=REMINDER_TOPIC[reminder.kind],
        context=context,
        dedupe_key=key,
        not_before=not_before,
        deadline=deadline,
    )


# Customer fields that decide where (contact points) or when (time zone) a message goes, or whether at all.
CONTACT_FIELDS = frozenset({"email", "phone", "address_line", "postal_code", "city"})
CUSTOMER_PLANNING_FIELDS = CONTACT_FIELDS | {"time_zone", "is_active"}


def on_customer_changed(sender, customer: Customer, fields: frozenset, **kwargs) -> None:
    if fields & CUSTOMER_PLANNING_FIELDS:
        cause = CONTACT_CHANGE if fields & CONTACT_FIELDS else CUSTOMER_CHANGE
        queued_notifications_replan(customers=[customer], cause=cause)


def on_customers_changed(sender, changes: dict[Customer, frozenset], **kwargs) -> None:
    """Many customers at once (an import): two set-based re-plans at most, whatever their number."""
    contact = [customer for customer, fields in changes.items() if fields & CONTACT_FIELDS]
    other = [
        customer
        for customer, fields in changes.items()
        if fields & CUSTOMER_PLANNING_FIELDS and not fields & CONTACT_FIELDS
    ]
    if contact:
        queued_notifications_replan(customers=contact, cause=CONTACT_CHANGE)
    if other:
        queued_notifications_replan(customers=other, cause=CUSTOMER_CHANGE)


def connect() -> None:
    for signal in (
        signals.bonus_accrued,
        signals.bonus_redeemed,
        signals.bonus_reversed,
        signals.bonus_expiring,
        signals.bonus_expired,
        signals.bonus_gifted,
    ):
        signal.connect(on_bonus_event, dispatch_uid=f"notifications.on_bonus_event.{id(signal)}")
    signals.store_reminder.connect(on_store_reminder, dispatch_uid="notifications.on_store_reminder")
    customer_changed.connect(on_customer_changed, dispatch_uid="notifications.on_customer_changed")
    customers_changed.connect(on_customers_changed, dispatch_uid="notifications.on_customers_changed")
    anymail_tracking.connect(on_email_tracking, dispatch_uid="notifications.on_email_tracking")


def on_email_tracking(sender, event, esp_name, **kwargs) -> None:
    """anymail's tracking signal (any ESP): record the event; a task applies it."""
    payload = event.esp_event if isinstance(event.esp_event, dict) else {}
    kind = event.event_type
    if kind == "bounced" and payload.get("Type") in ("SoftBounce", "Transient"):
        kind = "deferred"  # a soft bounce is not a reason to stop writing
    delivery_event_record(
        provider=esp_name.lower(),
        channel="email",
        event_type=kind,
        occurred_at=event.timestamp,
        event_id=event.event_id or "",
        message_id=event.message_id or "",
        recipient=event.recipient or "",
        metadata=event.metadata or {},
        detail=event.description or event.mta_response or "",
        payload=payload,
    )
