"""What providers tell us about messages we sent: delivered, bounced, complained, opened, clicked.

A webhook or anymail's tracking signal only stores the event (once per event) and wakes a task
after commit; processing moves the notification's status forward and suppresses a contact point
that bounced or complained.
"""

import hashlib
from functools import partial

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.celery import nudge
from notifications.consent.services import consent_record
from notifications.models import Channel, ConsentEvent, ContactSuppression, DeliveryEvent, Notification

Status = Notification.Status
PROCESS_TASK = "notifications.tasks.process_delivery_event_task"

DELIVERED, BOUNCED, COMPLAINED, OPENED, CLICKED, UNSUBSCRIBED, REJECTED, FAILED = (
    "delivered", "bounced", "complained", "opened", "clicked", "unsubscribed", "rejected", "failed",
)  # fmt: skip


def _notification_for(metadata: dict, message_id: str) -> Notification | None:
    raw = (metadata or {}).get("notification_id")
    if raw and str(raw).isdigit():
        found = Notification.objects.filter(pk=int(raw)).first()
        if found:
            return found
    if message_id:
        return Notification.objects.filter(provider_message_id=message_id).first()
    return None


def delivery_event_record(
    *,
    provider: str,
    channel: str,
    event_type: str,
    occurred_at,
    event_id: str = "",
    message_id: str = "",
    recipient: str = "",
    metadata: dict | None = None,
    detail: str = "",
    payload: dict | None = None,
) -> DeliveryEvent | None:
    """Store one provider event (a replay stores nothing) and enqueue its processing after commit."""
    if not event_id:
        basis = f"{provider}|{message_id}|{event_type}|{occurred_at}|{recipient}|{detail}"
        event_id = hashlib.sha256(basis.encode()).hexdigest()
    key = f"{provider}:{event_id}"[:128]
    with transaction.atomic():
        event, created = DeliveryEvent.objects.get_or_create(
            event_key=key,
            defaults={
                "provider": provider,
                "channel": channel,
                "event_type": event_type,
                "notification": _notification_for(metadata or {}, message_id),
                "message_id": message_id or "",
                "recipient": (recipient or "")[:254],
                "detail": (detail or "")[:255],
                "occurred_at": occurred_at or timezone.now(),
                "payload": payload or {},
            },
        )
        if created:
            transaction.on_commit(partial(nudge, PROCESS_TASK, event.pk), robust=True)
    return event if created else None


def _withdraw_marketing(notification: Notification | None, customer, channel: str, reason: str) -> None:
    """Withdraw marketing on this channel for good (topics created later too), keeping service messages."""
    if customer is None:
        return
    consent_record(
        customer=customer,
        channel=channel,
        scope=ConsentEvent.Scope.MARKETING,
        action=ConsentEvent.Action.WITHDRAWN,
        source=ConsentEvent.Source.PROVIDER,
        reason=reason,
    )


def delivery_event_process(event_id: int) -> None:
    """Apply one recorded event: statuses move forward only; bounces and complaints suppress."""
    with transaction.atomic():
        event = DeliveryEvent.objects.select_for_update().filter(pk=event_id, processed_at__isnull=True).first()
        if event is None:
            return
        notification = (
            Notification.objects.select_for_update().select_related("customer").filter(pk=event.notification_id).first()
        )
        customer = notification.customer if notification else None
        address = event.recipient or (
            (customer.email if event.channel == Channel.EMAIL else str(customer.phone)) if customer else ""
        )
        kind = event.event_type
        if notification:
            if kind == DELIVERED and notification.status == Status.SENT:
                # Only a sent message becomes delivered: a late "delivered" lifts nothing.
                notification.status, notification.delivered_at = Status.DELIVERED, event.occurred_at
            elif kind == OPENED and notification.opened_at is None:
                notification.opened_at = event.occurred_at
            elif kind == CLICKED and notification.clicked_at is None:
                notification.clicked_at = event.occurred_at
                notification.opened_at = notification.opened_at or event.occurred_at
            elif kind in (BOUNCED, REJECTED, FAILED) and notification.status in (Status.SENT, Status.DELIVERED):
                notification.status, notification.reason = Status.FAILED, Notification.Reason.PROVIDER_ERROR
                notification.detail = f"{kind}: {event.detail}"[:255]
            notification.save()
        if kind in (BOUNCED, COMPLAINED) and address:
            reason = _("hard bounce") if kind == BOUNCED else _("spam complaint")
            _suppression, created = ContactSuppression.objects.get_or_create(
                channel=event.channel,
                address=address,
                defaults={"customer": customer, "reason": reason, "event": event},
            )
            if created:
                _withdraw_marketing(notification, customer, event.channel, reason)
        elif kind == UNSUBSCRIBED and customer:
            _withdraw_marketing(notification, customer, event.channel, _("unsubscribed at the provider"))
        event.processed_at = timezone.now()
        event.save(update_fields=["processed_at"])
