"""Notifications' entries on the customer's timeline (crm.timeline): every message with its
decision and reason, what providers reported about it, consent changes with their evidence, and
what the customer said when unsubscribing or replying."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.timeline import Entry, older_than, register_source
from notifications.models import (
    Channel,
    ConsentEvent,
    DeliveryEvent,
    InboundMessage,
    Notification,
    UnsubscribeFeedback,
    topic_by_id,
)


def _channel(code: str) -> str:
    return str(Channel(code).label) if code in Channel.values else code


def _topic(topic_id) -> str:
    topic = topic_by_id(topic_id) if topic_id else None
    return topic.name if topic else "—"


def _message_rows(customer, before):
    # notif_cap_idx (customer, channel, sent_at): its first column finds the customer's messages.
    return Notification.objects.filter(customer=customer, **older_than("created_at", before)).order_by(
        "-created_at", "-id"
    )


def _messages(customer, before, limit):
    rows = _message_rows(customer, before).only(
        "id", "topic_id", "channel", "status", "reason", "detail", "subject", "send_at", "sent_at", "created_at"
    )
    return [
        Entry(
            at=n.created_at,
            kind="message",
            title=_("%(topic)s by %(channel)s: %(status)s")
            % {"topic": _topic(n.topic_id), "channel": _channel(n.channel), "status": n.get_status_display()},
            detail=" · ".join(
                str(part) for part in (n.get_reason_display() if n.reason else "", n.detail, n.subject) if part
            ),
            link=reverse("admin:notifications_notification_change", args=[n.pk]),
            moments=((_("send at"), n.send_at), *(((_("sent"), n.sent_at),) if n.sent_at else ())),
        )
        for n in rows[:limit]
    ]


def _delivery_rows(customer, before):
    # The customer's messages (notif_cap_idx), then each one's events by their foreign key's index.
    return DeliveryEvent.objects.filter(notification__customer=customer, **older_than("occurred_at", before)).order_by(
        "-occurred_at", "-id"
    )


def _deliveries(customer, before, limit):
    return [
        Entry(
            at=e.occurred_at,
            kind="delivery",
            title=_("%(channel)s %(event)s (%(provider)s)")
            % {"channel": _channel(e.channel), "event": e.event_type, "provider": e.provider},
            detail=e.detail,
            link=reverse("admin:notifications_notification_change", args=[e.notification_id]),
        )
        for e in _delivery_rows(customer, before)[:limit]
    ]


def _consent_rows(customer, before):
    # notif_consent_lookup_idx (customer, channel, -created_at)
    return ConsentEvent.objects.filter(customer=customer, **older_than("created_at", before)).order_by(
        "-created_at", "-id"
    )


def _consent_evidence(event: ConsentEvent) -> str:
    parts = [_("source: %(source)s") % {"source": event.get_source_display()}]
    if event.wording:
        parts.append(_("shown: “%(wording)s”") % {"wording": event.wording[:300]})
    if event.wording_version:
        parts.append(_("wording version %(version)s") % {"version": event.wording_version})
    if event.ip_address:
        parts.append(_("from %(ip)s") % {"ip": event.ip_address})
    if event.staff_id:
        parts.append(_("by %(staff)s") % {"staff": event.staff})
    if event.reason:
        parts.append(event.reason)
    return " · ".join(str(part) for part in parts)


def _consents(customer, before, limit):
    return [
        Entry(
            at=e.created_at,
            kind="consent",
            title=_("Consent %(action)s: %(scope)s, %(channel)s%(topic)s")
            % {
                "action": e.get_action_display(),
                "scope": e.get_scope_display(),
                "channel": _channel(e.channel),
                "topic": f" / {_topic(e.topic_id)}" if e.topic_id else "",
            },
            detail=_consent_evidence(e),
            link=reverse("admin:notifications_consentevent_change", args=[e.pk]),
        )
        for e in _consent_rows(customer, before).select_related("staff")[:limit]
    ]


def _unsubscribe_rows(customer, before):
    # The feedback's customer foreign key index.
    return UnsubscribeFeedback.objects.filter(customer=customer, **older_than("created_at", before)).order_by(
        "-created_at", "-id"
    )


def _unsubscribes(customer, before, limit):
    return [
        Entry(
            at=f.created_at,
            kind="unsubscribe",
            title=_("Unsubscribe page: %(choice)s (%(channel)s)")
            % {"choice": f.get_choice_display(), "channel": _channel(f.channel)},
            detail=" · ".join(str(part) for part in (f.reason or "", f.free_text, f.campaign) if part),
        )
        for f in _unsubscribe_rows(customer, before).select_related("reason")[:limit]
    ]


def _reply_rows(customer, before):
    # The inbound message's customer foreign key index.
    return InboundMessage.objects.filter(customer=customer, **older_than("created_at", before)).order_by(
        "-created_at", "-id"
    )


def _replies(customer, before, limit):
    return [
        Entry(
            at=m.created_at,
            kind="reply",
            title=_("Reply by %(channel)s: %(action)s")
            % {"channel": _channel(m.channel), "action": m.get_action_display()},
            detail=m.body[:300],
            link=reverse("admin:notifications_inboundmessage_change", args=[m.pk]),
        )
        for m in _reply_rows(customer, before)[:limit]
    ]


def register() -> None:
    register_source(
        "message", _("Messages"), _messages, permission="notifications.view_notification", rows=_message_rows
    )
    register_source(
        "delivery",
        _("Delivery events"),
        _deliveries,
        permission="notifications.view_deliveryevent",
        rows=_delivery_rows,
    )
    register_source(
        "consent", _("Consent"), _consents, permission="notifications.view_consentevent", rows=_consent_rows
    )
    register_source(
        "unsubscribe",
        _("Unsubscribe answers"),
        _unsubscribes,
        permission="notifications.view_unsubscribefeedback",
        rows=_unsubscribe_rows,
    )
    register_source("reply", _("Replies"), _replies, permission="notifications.view_inboundmessage", rows=_reply_rows)
