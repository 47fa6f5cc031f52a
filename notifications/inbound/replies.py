"""What customers send us: SMS and Telegram replies, stored first, then acted on.

STOP and START change consent, HELP answers, "/start <code>" links a Telegram chat, anything
else goes to staff as an interaction. Confirmations go out after commit, once.
"""

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
from notifications.consent.services import consent_record
from notifications.delivery.channels import Message, backend_for
from notifications.inbound import keywords
from notifications.models import Channel, ConsentEvent, InboundMessage, Preference, Topic

logger = logging.getLogger(__name__)
REPLY_TASK = "notifications.tasks.send_inbound_reply_task"


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
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().filter(pk=inbound_id, processed_at__isnull=True).first()
        if inbound is None:
            return False
        if inbound.provider == "telegram":
            _telegram_process(inbound)
        elif inbound.provider == "whatsapp":
            _whatsapp_process(inbound)
        else:
            _sms_process(inbound)
        inbound.processed_at = timezone.now()
        inbound.save()
        if inbound.reply:
            transaction.on_commit(partial(nudge, REPLY_TASK, inbound.pk), robust=True)
    return True


def _keyword_process(
    inbound: InboundMessage, *, phone: str, channel: str, summary: str, medium: str, on_start=None
) -> None:
    """A reply on ``channel``: STOP/START change consent there (``on_start(customer)`` first, on a
    START), HELP is answered, anything else is kept as an interaction (``summary`` with %(text)s);
    confirmations name ``medium``."""
    customer = customer_find(phone=phone)
    action, topic_code = keywords.parse(inbound.body)
    topic = Topic.objects.filter(code=topic_code).first() if topic_code else None
    inbound.customer, inbound.action, inbound.topic = customer, action, topic
    if customer is not None and action in ("stop", "start"):
        if action == "start" and on_start is not None:
            on_start(customer)
        consent_record(
            customer=customer,
            channel=channel,
            topic=topic,
            action=ConsentEvent.Action.WITHDRAWN if action == "stop" else ConsentEvent.Action.GRANTED,
            source=ConsentEvent.Source.KEYWORD,
            wording=inbound.body[:500],
        )
    if action == "other":
        if customer is not None:
            interaction_record(
                customer=customer, kind=Interaction.Kind.MESSAGE, summary=summary % {"text": inbound.body}
            )
    else:
        language = customer.language if customer else settings.LANGUAGE_CODE
        inbound.reply = _reply_text(action, topic, language).replace("SMS", medium)


def _sms_process(inbound: InboundMessage) -> None:
    _keyword_process(
        inbound,
        phone=inbound.sender,
        channel=Channel.SMS,
        summary=_("SMS from the customer: %(text)s"),
        medium="SMS",
    )


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


def whatsapp_message_handle(*, message_id: str, sender: str, body: str, payload: dict) -> InboundMessage | None:
    """A WhatsApp message (Cloud API webhook), stored first (replays store nothing), then acted on:
    STOP/START withdraw or restore messenger consent, HELP answers, anything else goes to staff."""
    number = "+" + sender.lstrip("+")
    inbound, created = InboundMessage.objects.get_or_create(
        provider_message_id=f"whatsapp:{message_id}"[:64],
        defaults={
            "provider": "whatsapp",
            "channel": Channel.MESSENGER,
            "sender": f"whatsapp:{number}",
            "body": body,
            "action": InboundMessage.Action.OTHER,
            "payload": payload,
        },
    )
    if not created:
        return None
    return _process_now(inbound)


def _whatsapp_process(inbound: InboundMessage) -> None:
    _keyword_process(
        inbound,
        phone=inbound.sender.removeprefix("whatsapp:"),
        channel=Channel.MESSENGER,
        summary=_("WhatsApp message from the customer: %(text)s"),
        medium="WhatsApp",
        on_start=_whatsapp_opt_in,
    )


def _whatsapp_opt_in(customer) -> None:
    """Writing START to us on WhatsApp is the customer's own opt-in to this messenger."""
    Preference.objects.update_or_create(customer=customer, defaults={"messenger": "whatsapp"})


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
