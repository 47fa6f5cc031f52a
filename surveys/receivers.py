"""A purchase (loyalty's bonus_accrued) may bring a feedback survey invitation. Delegates only."""

from loyalty import signals


def on_bonus_accrued(sender, event, **kwargs) -> None:
    from surveys.services import feedback_invite_after_purchase

    feedback_invite_after_purchase(customer_id=event.customer_id, purchased_at=event.occurred_at)


def connect() -> None:
    signals.bonus_accrued.connect(on_bonus_accrued, dispatch_uid="surveys.on_bonus_accrued")
