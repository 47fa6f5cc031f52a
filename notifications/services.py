"""Writes of the notification engine: the outbox, consent and preferences."""

import datetime
import time
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import nudge
from crm.models import Customer
from notifications.models import ConsentEvent, Notification, Preference, Topic
from notifications.policy import ConsentBook, badge_for, plan_channels, suppressed_contacts, window_for
from notifications.scheduling import next_slot

Status = Notification.Status
Reason = Notification.Reason


def schedule_slot(
    *,
    customer: Customer,
    topic: Topic,
    channel: str,
    preference: Preference | None,
    earliest: datetime.datetime,
    deadline: datetime.datetime,
    use_best_hour: bool = True,
) -> tuple[datetime.datetime | None, str]:
    """When this message may go out, or (None, reason) when no slot exists before the deadline.

    Quiet hours always apply; the customer's window unless the topic is immediate; preferred
    weekdays and the learned best hour only for flexible topics; a pause holds marketing only.
    """
    window = window_for(topic, channel, preference)
    if window is None:
        return None, Reason.QUIET_HOURS
    zone = customer.zone
    if preference and preference.paused_until and topic.is_marketing:
        resume = datetime.datetime.combine(
            preference.paused_until + datetime.timedelta(days=1), datetime.time(0, 0), tzinfo=zone
        )
        if resume > earliest:
            earliest = resume
            if earliest > deadline:
                return None, Reason.PAUSED
    flexible = topic.urgency == Topic.Urgency.FLEXIBLE
    slot = next_slot(
        earliest=earliest,
        zone=zone,
        window=window,
        deadline=deadline,
        weekdays=(preference.weekdays if preference and flexible else None),
        preferred_hour=(preference.best_hour if preference and flexible and use_best_hour else None),
    )
    return slot, ("" if slot else Reason.DEADLINE)


_last_nudge: dict[str, float] = {}


def kick_dispatcher(channels: set[str]) -> None:
    """Wake a drainer for each channel with rows due now: best effort, at most twice a second per
    channel and process, so a burst of sales becomes a handful of tasks, not one per sale."""
    from notifications.tasks import drain_task

    for channel in sorted(channels):
        at = time.monotonic()
        if at - _last_nudge.get(channel, -1.0) >= 0.5:
            _last_nudge[channel] = at
            nudge(drain_task, channel)


def _outbox_rows(
    *,
    customer: Customer,
    topic: Topic,
    preference: Preference | None,
    book: ConsentBook,
    suppressed: set,
    context: dict,
    dedupe_key: str,
    now: datetime.datetime,
) -> list[Notification]:
    """The rows one occasion writes for one customer: planned, scheduled or suppressed with a reason."""
    deadline = now + datetime.timedelta(hours=topic.deadline_hours)
    rows = []
    for plan in plan_channels(customer, topic, preference, book, suppressed):
        row = Notification(
            customer=customer,
            topic=topic,
            channel=plan.channel,
            context=context,
            dedupe_key=f"{dedupe_key}:{plan.channel}",
            deadline=deadline,
            send_at=now,
        )
        reason = plan.reason or ("" if customer.is_active else Reason.INACTIVE)
        if not reason:
            slot, reason = schedule_slot(
                customer=customer,
                topic=topic,
                channel=plan.channel,
                preference=preference,
                earliest=now,
                deadline=deadline,
            )
            if slot:
                row.send_at = slot
        if reason:
            row.status, row.reason = Status.SUPPRESSED, reason
        rows.append(row)
    return rows


def _write_rows(rows: list[Notification], now: datetime.datetime) -> None:
    with transaction.atomic():
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
        due = {row.channel for row in rows if row.status == Status.SCHEDULED and row.send_at <= now}
        if due:
            transaction.on_commit(partial(kick_dispatcher, due), robust=True)


def notify(
    *, customer: Customer, topic: Topic | str, context: dict, dedupe_key: str, now: datetime.datetime | None = None
) -> list[Notification]:
    """Plan, schedule and write the outbox rows for one occasion, in the caller's transaction.

    One row per channel the topic plans, each with its ``send_at`` in the customer's own time,
    or suppressed with the reason when it cannot go. The same ``dedupe_key`` again writes
    nothing. Rows due now wake the dispatcher after commit; the rest wait for beat.
    """
    now = now or timezone.now()
    if isinstance(topic, str):
        topic = Topic.objects.get(code=topic)
    if not topic.is_active:
        return []
    rows = _outbox_rows(
        customer=customer,
        topic=topic,
        preference=Preference.objects.filter(customer=customer).first(),
        book=ConsentBook.for_customers([customer.pk]),
        suppressed=suppressed_contacts([customer]),
        context=context,
        dedupe_key=dedupe_key,
        now=now,
    )
    if not rows:
        return []
    _write_rows(rows, now)
    return list(Notification.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows]).order_by("id"))


def consent_record(
    *,
    customer: Customer,
    channel: str,
    action: str,
    source: str,
    topic: Topic | None = None,
    scope: str | None = None,
    wording: str = "",
    wording_version: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    staff=None,
    reason: str = "",
) -> ConsentEvent:
    """Append one consent event and refresh the customer's badge in the same transaction.

    ``scope`` defaults to the topic when one is given, else to the whole channel (service
    messages included, as an SMS STOP means). "No more news by SMS" is ``scope="marketing"``
    and "unsubscribe from everything" ``scope="everything"``: one row each, covering topics
    created later too; ``channel`` of an "everything" event is where the customer acted.
    """
    Scope = ConsentEvent.Scope
    scope = scope or (Scope.TOPIC if topic is not None else Scope.CHANNEL)
    if (scope == Scope.TOPIC) != (topic is not None):
        raise ValueError("a consent event names a topic exactly when its scope is one topic")
    with transaction.atomic():
        event = ConsentEvent.objects.create(
            customer=customer,
            channel=channel,
            topic=topic,
            scope=scope,
            action=action,
            source=source,
            wording=wording,
            wording_version=wording_version,
            ip_address=ip_address,
            user_agent=user_agent[:400],
            staff=staff,
            reason=reason,
        )
        badge_refresh(customer=customer)
    return event


def badge_refresh(*, customer: Customer) -> str:
    badge = badge_for(ConsentBook.for_customers([customer.pk]), customer.pk)
    Preference.objects.update_or_create(customer=customer, defaults={"badge": badge})
    return badge


def preference_update(*, customer: Customer, **fields) -> Preference:
    """Change a customer's preferences (the surveys and preference pages write through here)."""
    allowed = {f.name for f in Preference._meta.get_fields()} - {"id", "customer", "badge", "updated_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown preference fields: {', '.join(sorted(unknown))}")
    preference, _created = Preference.objects.get_or_create(customer=customer)
    for name, value in fields.items():
        setattr(preference, name, value)
    preference.full_clean()
    preference.save()
    return preference


def messenger_link_start(*, customer: Customer) -> str:
    """A one-time Telegram deep link that connects the customer's chat when they press Start."""
    import secrets

    code = secrets.token_urlsafe(24)
    Preference.objects.update_or_create(
        customer=customer, defaults={"messenger_link_code": code, "messenger_link_created_at": timezone.now()}
    )
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={code}"
