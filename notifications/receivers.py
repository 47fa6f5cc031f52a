"""Loyalty's domain signals become notifications. Each receiver only delegates to notify()."""

from anymail.signals import tracking as anymail_tracking
from django.db import transaction

from crm.models import Customer
from loyalty import signals
from loyalty.signals import BonusEvent
from notifications.services import notify

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
    customer = Customer.objects.get(pk=event.customer_id)
    with transaction.atomic():
        notify(
            customer=customer, topic=TOPIC_FOR[event.kind], context=event_context(event), dedupe_key=event.dedupe_key
        )


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
    anymail_tracking.connect(on_email_tracking, dispatch_uid="notifications.on_email_tracking")


def on_email_tracking(sender, event, esp_name, **kwargs) -> None:
    """anymail's tracking signal (any ESP): record the event; a task applies it."""
    from notifications.feedback import delivery_event_record

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
