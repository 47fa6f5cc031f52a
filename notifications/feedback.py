"""What providers tell us back: delivery and engagement events, and customers' SMS replies.

Webhooks only record (fast, once per event) and enqueue; the work happens in Celery tasks.
"""

import hashlib
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
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
    """Store a customer's SMS first (a replay stores nothing), then act on it.

    STOP/START change consent, HELP answers, anything else goes to staff. Acting happens in its
    own transaction after the row is stored: if it fails, the row waits for the sweeper
    (``inbound_sweep``) and the provider still gets its 200, so nothing a customer sent is lost.
    """
    inbound, created = InboundMessage.objects.get_or_create(
        provider_message_id=message_id,
        defaults={
            "provider": provider,
            "channel": Channel.SMS,
            "sender": sender,
            "body": body,
            "action": InboundMessage.Action.OTHER,
        },
    )
    if not created:
        return None
    return _process_now(inbound)


def _process_now(inbound: InboundMessage) -> InboundMessage:
    try:
        inbound_process(inbound.pk)
    except Exception:  # stored already: the sweeper acts on it later
        logger.exception("inbound message %s stored, not yet processed", inbound.pk)
    return InboundMessage.objects.get(pk=inbound.pk)


def inbound_process(inbound_id: int) -> bool:
    """Act on one stored inbound message, once (under its row lock); its reply goes out after commit."""
    from notifications.tasks import send_inbound_reply_task

    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().filter(pk=inbound_id, processed_at__isnull=True).first()
        if inbound is None:
            return False
        if inbound.provider == "telegram":
            _telegram_process(inbound)
        else:
            _sms_process(inbound)
        inbound.processed_at = timezone.now()
        inbound.save()
        if inbound.reply:
            transaction.on_commit(partial(nudge, send_inbound_reply_task, inbound.pk), robust=True)
    return True


def _sms_process(inbound: InboundMessage) -> None:
    customer = customer_find(phone=inbound.sender)
    action, topic_code = keywords.parse(inbound.body)
    topic = Topic.objects.filter(code=topic_code).first() if topic_code else None
    inbound.customer, inbound.action, inbound.topic = customer, action, topic
    if customer is not None and action in ("stop", "start"):
        consent_record(
            customer=customer,
            channel=Channel.SMS,
            topic=topic,
            action=ConsentEvent.Action.WITHDRAWN if action == "stop" else ConsentEvent.Action.GRANTED,
            source=ConsentEvent.Source.KEYWORD,
            wording=inbound.body[:500],
        )
    if action == "other":
        if customer is not None:
            interaction_record(
                customer=customer,
                kind=Interaction.Kind.MESSAGE,
                summary=_("SMS from the customer: %(text)s") % {"text": inbound.body},
            )
    else:
        inbound.reply = _reply_text(action, topic, customer.language if customer else settings.LANGUAGE_CODE)


def telegram_update_handle(update: dict) -> InboundMessage | None:
    """A Telegram update, stored first (replays store nothing), then acted on like an SMS reply:
    "/start <code>" links the chat (the customer's opt-in), STOP/START withdraw or restore
    messenger consent, anything else goes to staff."""
    message = update.get("message") or {}
    chat_id = str((message.get("chat") or {}).get("id", ""))
    text = (message.get("text") or "").strip()
    if not chat_id or "update_id" not in update:
        return None
    inbound, created = InboundMessage.objects.get_or_create(
        provider_message_id=f"telegram:{update['update_id']}",
        defaults={
            "provider": "telegram",
            "channel": Channel.MESSENGER,
            "sender": f"telegram:{chat_id}",
            "body": text,
            "action": InboundMessage.Action.OTHER,
            "payload": update,
        },
    )
    if not created:
        return None
    return _process_now(inbound)


def _telegram_process(inbound: InboundMessage) -> None:
    chat_id, text = inbound.sender.removeprefix("telegram:"), inbound.body
    preference = Preference.objects.select_related("customer").filter(telegram_chat_id=chat_id).first()
    reply = ""
    if text.startswith("/start "):
        code = text.split(maxsplit=1)[1]
        valid_since = inbound.created_at - timedelta(hours=settings.TELEGRAM_LINK_VALID_HOURS)
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


def inbound_reply_send(inbound_id: int) -> bool:
    """Send the confirmation once: leased in a short transaction, sent outside any, then marked.

    The reply carries a key stable for this inbound message, so a re-send after a crash is the
    same message to the provider. A provider error releases the lease for the task's retry.
    """
    now = timezone.now()
    lease = now + timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    claimed = (
        InboundMessage.objects.filter(pk=inbound_id, reply_sent_at__isnull=True)
        .exclude(reply="")
        .filter(Q(reply_lease_until__isnull=True) | Q(reply_lease_until__lt=now))
        .update(reply_lease_until=lease)
    )
    if not claimed:
        return False
    inbound = InboundMessage.objects.get(pk=inbound_id)
    message = Message(
        notification_id=0,
        to=inbound.sender,
        body=inbound.reply,
        sender=settings.BRAND_SMS_SENDER_ID,
        key=f"reply-{inbound.pk}",
    )
    try:
        backend_for(inbound.channel).send(message)
    except Exception:
        InboundMessage.objects.filter(pk=inbound_id).update(reply_lease_until=None)
        raise
    InboundMessage.objects.filter(pk=inbound_id).update(reply_sent_at=timezone.now(), reply_lease_until=None)
    return True


def inbound_sweep(*, now=None, older_than: timedelta = timedelta(seconds=30), limit: int = 500) -> dict[str, int]:
    """Beat's backstop: act on what was stored but not processed (a broker outage, a crash).

    Delivery events and inbound messages older than ``older_than`` that are still unprocessed
    are processed now, and confirmations not yet sent (for two days at most: a late "you are
    unsubscribed" confuses more than it helps) are sent.
    """
    now = now or timezone.now()
    before = now - older_than
    events = DeliveryEvent.objects.filter(processed_at__isnull=True, created_at__lt=before).order_by("created_at")
    inbound = InboundMessage.objects.filter(processed_at__isnull=True, created_at__lt=before).order_by("created_at")
    replies = (
        InboundMessage.objects.filter(
            processed_at__isnull=False,
            reply_sent_at__isnull=True,
            created_at__lt=before,
            created_at__gt=now - timedelta(days=2),
        )
        .exclude(reply="")
        .filter(Q(reply_lease_until__isnull=True) | Q(reply_lease_until__lt=now))
        .order_by("created_at")
    )
    done = {"events": 0, "inbound": 0, "replies": 0}
    for pk in list(events.values_list("pk", flat=True)[:limit]):
        delivery_event_process(pk)
        done["events"] += 1
    for pk in list(inbound.values_list("pk", flat=True)[:limit]):
        done["inbound"] += int(inbound_process(pk))
    for pk in list(replies.values_list("pk", flat=True)[:limit]):
        try:
            done["replies"] += int(inbound_reply_send(pk))
        except Exception:
            logger.warning("reply to inbound message %s not sent yet", pk, exc_info=True)
    return done
