"""Retention: what providers told us and what messages said is kept for a limited time only.

Older than ``RETENTION_DELIVERY_EVENTS_DAYS``, a provider's delivery event is deleted (the
message keeps its delivered, opened and clicked times, the suppression list its addresses);
older than ``RETENTION_MESSAGE_BODIES_DAYS``, a finished message loses its subject, body and
context, and a processed reply its text and payload, while the rows (who got which topic on which
channel, when, and why not) stay for the caps, the learning and staff's "why". Messages still
waiting or being sent are never touched.

Set-based: the tables are walked in ranges of ids, one short transaction and a statement or two
per range, up to the newest id old enough (found by bisection on the primary key, so no index on
the time columns is needed; ids grow with time, and each statement checks the time again).
"""

import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Model, Q
from django.utils import timezone

from notifications.models import ContactSuppression, DeliveryEvent, InboundMessage, Notification

DEFAULT_DAYS = 400
BATCH_SIZE = 5000

Status = Notification.Status
FINISHED = (Status.SENT, Status.DELIVERED, Status.FAILED, Status.SUPPRESSED, Status.CANCELLED)


def retention_prune(*, now: datetime.datetime | None = None, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Delete old delivery events and empty old message bodies; returns how many rows each lost."""
    now = now or timezone.now()
    events_before = now - datetime.timedelta(days=_days("RETENTION_DELIVERY_EVENTS_DAYS"))
    bodies_before = now - datetime.timedelta(days=_days("RETENTION_MESSAGE_BODIES_DAYS"))
    return {
        "delivery_events": _delivery_events_delete(before=events_before, batch_size=batch_size),
        "message_bodies": _emptied(
            Notification,
            before=bodies_before,
            batch_size=batch_size,
            where=Q(status__in=FINISHED),
            empty={"subject": "", "body": "", "context": {}},
        ),
        "inbound_messages": _emptied(
            InboundMessage,
            before=bodies_before,
            batch_size=batch_size,
            where=Q(processed_at__isnull=False),
            empty={"body": "", "reply": "", "payload": {}},
        ),
    }


def _days(name: str) -> int:
    return int(getattr(settings, name, DEFAULT_DAYS))


def _ranges(model: type[Model], *, before: datetime.datetime, batch_size: int):
    """Ranges of ids [start, end) that together hold every row created before ``before``."""
    bounds = model.objects.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = bounds["low"], bounds["high"]
    if low is None:
        return
    last = _last_id_before(model, before=before, low=low, high=high)
    if last is None:
        return
    for start in range(low, last + 1, batch_size):
        yield start, min(start + batch_size, last + 1)


def _last_id_before(model: type[Model], *, before: datetime.datetime, low: int, high: int) -> int | None:
    """The highest id whose row was created before ``before`` (bisection: about 20 index lookups)."""

    def created_from(pk: int):
        return model.objects.filter(pk__gte=pk).order_by("pk").values_list("pk", "created_at").first()

    first = created_from(low)
    if first[1] >= before:
        return None
    found = first[0]
    while found < high:
        middle = (found + 1 + high + 1) // 2
        at = created_from(middle)
        if at is not None and at[1] < before:
            found = at[0]
        else:
            high = middle - 1
    return found


def _delivery_events_delete(*, before: datetime.datetime, batch_size: int) -> int:
    table = connection.ops.quote_name(DeliveryEvent._meta.db_table)
    pk = connection.ops.quote_name(DeliveryEvent._meta.pk.column)
    created = connection.ops.quote_name(DeliveryEvent._meta.get_field("created_at").column)
    deleted = 0
    for start, end in _ranges(DeliveryEvent, before=before, batch_size=batch_size):
        with transaction.atomic():
            old = DeliveryEvent.objects.filter(pk__gte=start, pk__lt=end, created_at__lt=before)
            ContactSuppression.objects.filter(event__in=old).update(event=None)
            # One DELETE for the range: QuerySet.delete() would load every row to null that link first.
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {table} WHERE {pk} >= %s AND {pk} < %s AND {created} < %s", [start, end, before]
                )
                deleted += cursor.rowcount
    return deleted


def _emptied(
    model: type[Model], *, before: datetime.datetime, batch_size: int, where: Q, empty: dict[str, object]
) -> int:
    still_full = ~Q(**empty)
    emptied = 0
    for start, end in _ranges(model, before=before, batch_size=batch_size):
        with transaction.atomic():
            emptied += model.objects.filter(where, still_full, pk__gte=start, pk__lt=end, created_at__lt=before).update(
                **empty
            )
    return emptied
