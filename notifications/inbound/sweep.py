"""Beat's backstop for inbound work: what was stored but never processed is processed here."""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from notifications.inbound.events import delivery_event_process
from notifications.inbound.replies import inbound_process, inbound_reply_send
from notifications.models import DeliveryEvent, InboundMessage

logger = logging.getLogger(__name__)


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
