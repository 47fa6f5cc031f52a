"""Loyalty's domain signals become notifications. Each receiver only delegates to notify()."""

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
