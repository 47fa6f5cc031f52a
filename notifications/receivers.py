"""Loyalty's bonus events become notifications; crm's customer changes re-plan them. Receivers only delegate."""

from anymail.signals import tracking as anymail_tracking

from crm.models import Customer
from crm.signals import customer_changed
from loyalty import signals
from loyalty.signals import BonusEvent
from notifications.inbound.events import delivery_event_record
from notifications.outbox.replan import CONTACT_CHANGE, CUSTOMER_CHANGE, queued_notifications_replan
from notifications.outbox.write import notify
from notifications.reminders import reminder_notify

TOPIC_FOR = {
    "accrued": "bonus-credited",
    "redeemed": "bonus-debited",
    "reversed": "bonus-debited",
    "expiring": "bonus-expiring",
    "expired": "bonus-expired",
    "gifted": "gift",
}


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
    }


def on_bonus_event(sender, event: BonusEvent, **kwargs) -> None:
    """In the ledger's transaction (loyalty's outbox): the rows commit or roll back with the event."""
    customer = event.customer or Customer.objects.get(pk=event.customer_id)
    notify(
        customer=customer,
        topic=TOPIC_FOR[event.kind],
        context=event_context(event),
        dedupe_key=event.dedupe_key,
        new_occasion=event.is_new,
    )


def on_service_reminder(sender, reminder, **kwargs) -> None:
    """In the POS request's transaction: the reminder's outbox rows commit or roll back with it."""
    reminder_notify(reminder)


# Customer fields that decide where (contact points) or when (time zone) a message goes, or whether at all.
CONTACT_FIELDS = frozenset({"email", "phone", "address_line", "postal_code", "city"})
CUSTOMER_PLANNING_FIELDS = CONTACT_FIELDS | {"time_zone", "is_active"}


def on_customer_changed(sender, customer: Customer, fields: frozenset, **kwargs) -> None:
    if fields & CUSTOMER_PLANNING_FIELDS:
        cause = CONTACT_CHANGE if fields & CONTACT_FIELDS else CUSTOMER_CHANGE
        queued_notifications_replan(customers=[customer], cause=cause)


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
    signals.service_reminder.connect(on_service_reminder, dispatch_uid="notifications.on_service_reminder")
    customer_changed.connect(on_customer_changed, dispatch_uid="notifications.on_customer_changed")
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
