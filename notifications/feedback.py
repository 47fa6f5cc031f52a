"""What providers tell us back: delivery and engagement events, and customers' SMS replies.

Webhooks only record (fast, once per event) and enqueue; the work happens in Celery tasks.
"""

import hashlib
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from config.celery import nudge
from crm.models import Interaction
from crm.selectors import customer_find
from crm.services import interaction_record
from notifications import keywords
from notifications.channels import Message, backend_for
from notifications.models import (
    Channel,
    ConsentEvent,
    ContactSuppression,
    DeliveryEvent,
    InboundMessage,
    Notification,
    Preference,
    Topic,
)
from notifications.services import consent_record

logger = logging.getLogger(__name__)
Status = Notification.Status

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
    from notifications.tasks import process_delivery_event_task

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
            transaction.on_commit(partial(nudge, process_delivery_event_task, event.pk), robust=True)
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


# --- SMS replies ---------------------------------------------------------------------------------


def _reply_text(action: str, topic: Topic | None, language: str) -> str:
    brand = settings.BRAND_NAME
    with override(language):
        if action == "stop" and topic:
            return _("%(brand)s: you will get no more “%(topic)s” SMS. Reply START to get them again.") % {
                "brand": brand,
                "topic": topic.name,
            }
        if action == "stop":
            return _("%(brand)s: you will get no more SMS from us. Reply START to get them again.") % {"brand": brand}
        if action == "start":
            return _("%(brand)s: SMS messages are on again. Reply STOP to stop them.") % {"brand": brand}
        return _("%(brand)s: questions? Call %(phone)s or write to %(email)s. Reply STOP to stop SMS.") % {
            "brand": brand,
            "phone": settings.BRAND_CONTACT_PHONE,
            "email": settings.BRAND_CONTACT_EMAIL,
        }


def inbound_sms_handle(*, provider: str, message_id: str, sender: str, body: str) -> InboundMessage | None:
    """Act on a customer's SMS once: STOP/START change consent, HELP answers, anything else goes to staff.

    A replayed message (same provider id) does nothing. Keyword replies get exactly one confirmation.
    """
    from notifications.tasks import send_inbound_reply_task

    customer = customer_find(phone=sender)
    action, topic_code = keywords.parse(body)
    topic = Topic.objects.filter(code=topic_code).first() if topic_code else None
    with transaction.atomic():
        inbound, created = InboundMessage.objects.get_or_create(
            provider_message_id=message_id,
            defaults={
                "provider": provider,
                "sender": sender,
                "body": body,
                "customer": customer,
                "action": action,
                "topic": topic,
            },
        )
        if not created:
            return None
        if customer is not None and action in ("stop", "start"):
            consent_record(
                customer=customer,
                channel=Channel.SMS,
                topic=topic,
                action=ConsentEvent.Action.WITHDRAWN if action == "stop" else ConsentEvent.Action.GRANTED,
                source=ConsentEvent.Source.KEYWORD,
                wording=body[:500],
            )
        if action == "other":
            if customer is not None:
                interaction_record(
                    customer=customer,
                    kind=Interaction.Kind.MESSAGE,
                    summary=_("SMS from the customer: %(text)s") % {"text": body},
                )
        else:
            inbound.reply = _reply_text(action, topic, customer.language if customer else settings.LANGUAGE_CODE)
            inbound.save(update_fields=["reply"])
            transaction.on_commit(partial(nudge, send_inbound_reply_task, inbound.pk), robust=True)
    return inbound


def telegram_update_handle(update: dict) -> InboundMessage | None:
    """A Telegram update: "/start <code>" links the chat (the customer's opt-in), STOP/START
    withdraw or restore messenger consent, anything else goes to staff. Replays do nothing."""
    from notifications.tasks import send_inbound_reply_task

    message = update.get("message") or {}
    chat_id = str((message.get("chat") or {}).get("id", ""))
    text = (message.get("text") or "").strip()
    if not chat_id or "update_id" not in update:
        return None
    with transaction.atomic():
        inbound, created = InboundMessage.objects.get_or_create(
            provider_message_id=f"telegram:{update['update_id']}",
            defaults={
                "provider": "telegram",
                "channel": Channel.MESSENGER,
                "sender": f"telegram:{chat_id}",
                "body": text,
                "action": InboundMessage.Action.OTHER,
            },
        )
        if not created:
            return None
        preference = Preference.objects.select_related("customer").filter(telegram_chat_id=chat_id).first()
        reply = ""
        if text.startswith("/start "):
            code = text.split(maxsplit=1)[1]
            valid_since = timezone.now() - timedelta(hours=settings.TELEGRAM_LINK_VALID_HOURS)
            linking = (
                Preference.objects.select_related("customer")
                .filter(messenger_link_code=code, messenger_link_created_at__gte=valid_since)
                .first()
                if code
                else None
            )
            if linking is None:
                reply = _("This link has expired. Please open a new one from your preference page.")
            else:
                linking.messenger, linking.telegram_chat_id = "telegram", chat_id
                linking.messenger_link_code, linking.messenger_link_created_at = "", None
                linking.save()
                consent_record(
                    customer=linking.customer,
                    channel=Channel.MESSENGER,
                    action=ConsentEvent.Action.GRANTED,
                    source=ConsentEvent.Source.PREFERENCE_PAGE,
                    wording=_("Connected Telegram with /start"),
                )
                preference, inbound.action = linking, InboundMessage.Action.START
                reply = _("%(brand)s: connected. Reply STOP at any time to stop these messages.") % {
                    "brand": settings.BRAND_NAME
                }
        else:
            action, topic_code = keywords.parse(text.lstrip("/"))
            topic = Topic.objects.filter(code=topic_code).first() if topic_code else None
            if preference and action in ("stop", "start"):
                consent_record(
                    customer=preference.customer,
                    channel=Channel.MESSENGER,
                    topic=topic,
                    action=ConsentEvent.Action.WITHDRAWN if action == "stop" else ConsentEvent.Action.GRANTED,
                    source=ConsentEvent.Source.KEYWORD,
                    wording=text[:500],
                )
            if action != "other":
                inbound.action, inbound.topic = action, topic
                language = preference.customer.language if preference else settings.LANGUAGE_CODE
                reply = _reply_text(action, topic, language).replace("SMS", "Telegram")
            elif preference:
                interaction_record(
                    customer=preference.customer,
                    kind=Interaction.Kind.MESSAGE,
                    summary=_("Telegram message from the customer: %(text)s") % {"text": text},
                )
        inbound.customer = preference.customer if preference else None
        inbound.reply = reply
        inbound.save()
        if reply:
            transaction.on_commit(partial(nudge, send_inbound_reply_task, inbound.pk), robust=True)
    return inbound


def inbound_reply_send(inbound_id: int) -> bool:
    """Send the confirmation once, under the row's lock (a retried task finds it sent)."""
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().filter(pk=inbound_id, reply_sent_at__isnull=True).first()
        if inbound is None or not inbound.reply:
            return False
        backend_for(inbound.channel).send(
            Message(notification_id=0, to=inbound.sender, body=inbound.reply, sender=settings.BRAND_SMS_SENDER_ID)
        )
        inbound.reply_sent_at = timezone.now()
        inbound.save(update_fields=["reply_sent_at"])
    return True
