"""The dispatcher: claim due rows, re-check each at send time, render, send, record.

Claiming takes rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and gives them a lease; a row
whose worker died is claimed again when its lease runs out. Each row is then sent under its own
row lock, so two workers holding the same ids (a broker redelivery) never send it twice.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from loyalty.program import program_zone
from notifications import freshness
from notifications.channels import ProviderError, backend_for
from notifications.models import Channel, LetterBatch, MessageTemplate, Notification, Preference
from notifications.policy import (
    ConsentBook,
    contact_point,
    recent_counted_sends,
    suppressed_contacts,
    weekly_cap,
    window_for,
)
from notifications.rendering import RenderError, pick_template, render
from notifications.scheduling import next_slot
from notifications.services import schedule_slot
from notifications.sms_encoding import sms_segments

logger = logging.getLogger(__name__)
Status = Notification.Status
Reason = Notification.Reason
ON_TIME = datetime.timedelta(seconds=60)  # a row this close to its slot is inside it


def claim_due(*, now: datetime.datetime | None = None, limit: int | None = None) -> list[int]:
    """Lease up to ``limit`` due rows (and rows whose lease ran out) to the caller."""
    now = now or timezone.now()
    limit = limit or settings.NOTIFICATION_BATCH_SIZE
    lease_until = now + datetime.timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(
                Q(status__in=[Status.SCHEDULED, Status.DEFERRED], send_at__lte=now)
                | Q(status=Status.SENDING, lease_until__lt=now)
            )
            .order_by("send_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Notification.objects.filter(pk__in=ids).update(
                status=Status.SENDING, lease_until=lease_until, attempts=F("attempts") + 1, updated_at=now
            )
    return ids


def dispatch_due(*, now: datetime.datetime | None = None, max_batches: int = 50) -> int:
    """Claim due rows batch by batch and hand them to workers, one task per channel.

    Splitting by channel keeps a slow provider (an SMS gateway timing out) from holding up the
    e-mails claimed with it: each channel's task runs on its own worker slot.
    """
    from notifications.tasks import send_batch_task

    claimed = 0
    for _ in range(max_batches):
        ids = claim_due(now=now)
        if not ids:
            break
        by_channel: dict[str, list[int]] = {}
        for pk, channel in Notification.objects.filter(pk__in=ids).values_list("pk", "channel").order_by("pk"):
            by_channel.setdefault(channel, []).append(pk)
        for channel_ids in by_channel.values():
            send_batch_task.delay(channel_ids)
        claimed += len(ids)
    return claimed


class _Batch:
    """What the re-checks need for a whole batch, read with a fixed number of queries."""

    def __init__(self, rows: list[Notification], now: datetime.datetime):
        customer_ids = {row.customer_id for row in rows}
        self.preferences = {p.customer_id: p for p in Preference.objects.filter(customer_id__in=customer_ids)}
        self.book = ConsentBook.for_customers(customer_ids)
        self.suppressed = suppressed_contacts({row.customer_id: row.customer for row in rows}.values())
        self.sent = recent_counted_sends(customer_ids, now=now)
        topics = {row.topic_id for row in rows}
        self.templates = {
            (t.topic_id, t.channel, t.language): t for t in MessageTemplate.objects.filter(topic_id__in=topics)
        }

    def count_send(self, row: Notification, at: datetime.datetime) -> None:
        count, oldest = self.sent.get((row.customer_id, row.channel), (0, at))
        self.sent[(row.customer_id, row.channel)] = (count + 1, min(oldest, at))


def send_batch(ids: list[int], *, now: datetime.datetime | None = None) -> dict[str, int]:
    """Send the rows of one claimed batch; returns how many ended in each status."""
    now = now or timezone.now()
    rows = list(
        Notification.objects.filter(pk__in=ids, status=Status.SENDING)
        .select_related("customer", "topic")
        .order_by("id")
    )
    if not rows:
        return {}
    batch = _Batch(rows, now)
    outcome: dict[str, int] = {}
    for row in rows:
        status = _send_one(row, batch, now)
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


def _finish(row: Notification, status: str, reason: str = "", detail: str = "", **fields) -> str:
    updated = Notification.objects.filter(pk=row.pk, status=Status.SENDING).update(
        status=status, reason=reason, detail=detail[:255], lease_until=None, updated_at=timezone.now(), **fields
    )
    if status == Status.DEFERRED and fields.get("send_at") is None:
        raise AssertionError("a deferred row needs its new send_at")
    return status if updated else "skipped"


def _defer_or_suppress(row, batch, *, earliest, reason) -> str:
    slot, why_not = schedule_slot(
        customer=row.customer,
        topic=row.topic,
        channel=row.channel,
        preference=batch.preferences.get(row.customer_id),
        earliest=earliest,
        deadline=row.deadline,
        use_best_hour=False,
    )
    if slot is None:
        return _finish(row, Status.SUPPRESSED, reason if reason != Reason.QUIET_HOURS else (why_not or reason))
    return _finish(row, Status.DEFERRED, reason, send_at=slot)


def _send_one(row: Notification, batch: _Batch, now: datetime.datetime) -> str:
    with transaction.atomic():
        # The row lock makes the send exclusive: a second holder of this id waits, then sees it done.
        locked = Notification.objects.select_for_update().filter(pk=row.pk, status=Status.SENDING).first()
        if locked is None:
            return "skipped"
        customer, topic = row.customer, row.topic
        preference = batch.preferences.get(customer.pk)
        if not customer.is_active:
            return _finish(row, Status.SUPPRESSED, Reason.INACTIVE)
        if now > row.deadline:
            return _finish(row, Status.SUPPRESSED, Reason.DEADLINE)
        address = contact_point(customer, row.channel, preference)
        if not address:
            return _finish(row, Status.SUPPRESSED, Reason.NO_CONTACT)
        if (row.channel, address) in batch.suppressed:
            return _finish(row, Status.SUPPRESSED, Reason.SUPPRESSED_CONTACT)
        if not batch.book.allows(customer.pk, row.channel, topic):
            return _finish(row, Status.SUPPRESSED, Reason.NO_CONSENT)
        if topic.is_marketing and preference and preference.paused_until:
            if now.astimezone(customer.zone).date() <= preference.paused_until:
                return _defer_or_suppress(row, batch, earliest=now, reason=Reason.PAUSED)
        # Quiet hours and the customer's window (and weekdays for flexible topics), now.
        window = window_for(topic, row.channel, preference)
        flexible = topic.urgency == topic.Urgency.FLEXIBLE
        slot = next_slot(
            earliest=now,
            zone=customer.zone,
            window=window,
            deadline=row.deadline,
            weekdays=(preference.weekdays if preference and flexible else None),
        )
        if slot is None:
            return _finish(row, Status.SUPPRESSED, Reason.QUIET_HOURS if window is None else Reason.DEADLINE)
        if slot > now + ON_TIME:
            return _finish(row, Status.DEFERRED, Reason.QUIET_HOURS, send_at=slot)
        # Frequency cap over the rolling week.
        cap = weekly_cap(row.channel, preference) if topic.counts_against_cap else None
        if cap is not None:
            count, oldest = batch.sent.get((customer.pk, row.channel), (0, now))
            if count >= cap:
                return _defer_or_suppress(
                    row, batch, earliest=oldest + datetime.timedelta(days=7), reason=Reason.CAPPED
                )
        context = row.context
        if topic.freshness_check:
            context = freshness.CHECKS[topic.freshness_check](row)
            if context is None:
                return _finish(row, Status.CANCELLED, Reason.STALE)
            row.context = context
        language = (preference.language if preference and preference.language else "") or customer.language
        try:
            message = render(
                row, template=pick_template(batch.templates, row, language), language=language, preference=preference
            )
        except RenderError as exc:
            return _finish(row, Status.SUPPRESSED, exc.reason, exc.detail)
        try:
            provider_id = backend_for(row.channel).send(message)
        except ProviderError as exc:
            logger.warning("notification %s: provider error: %s", row.pk, exc)
            if exc.permanent or row.attempts + 1 >= settings.NOTIFICATION_MAX_ATTEMPTS:
                return _finish(row, Status.FAILED, Reason.PROVIDER_ERROR, str(exc))
            retry_at = now + datetime.timedelta(minutes=2 ** (row.attempts + 1))
            return _finish(row, Status.SCHEDULED, Reason.PROVIDER_ERROR, str(exc), send_at=retry_at)
        batch.count_send(row, now)
        extra = {}
        status = Status.SENT
        if row.channel == Channel.SMS:
            extra["sms_encoding"], extra["sms_segments"] = sms_segments(message.body)
        elif row.channel == Channel.POSTAL:
            # Filed into the day's batch; it counts as sent when staff mark the batch posted.
            day = now.astimezone(program_zone()).date()
            extra["letter_batch"], _created = LetterBatch.objects.get_or_create(day=day)
            status = Status.PRINTING
        return _finish(
            row,
            status,
            **extra,
            sent_at=now if status == Status.SENT else None,
            provider_message_id=provider_id[:255],
            subject=message.subject[:255],
            body=message.body,
            context=context,
        )
