"""Writes of the notification engine: the outbox, consent and preferences."""

import datetime
import time
from collections import defaultdict
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import nudge
from crm.models import Customer
from notifications.models import Channel, ConsentEvent, Notification, Preference, Topic, occasion_keys, occasion_of
from notifications.policy import ConsentBook, badge_for, plan_channels, suppressed_contacts, window_for
from notifications.scheduling import is_inside, next_slot

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
    present = list(Notification.objects.filter(dedupe_key__in=occasion_keys(dedupe_key)).order_by("id"))
    if present:
        return present  # this occasion was planned before (its rows may be on other channels by now)
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
    if topic.coalesce:
        with transaction.atomic():  # the row joined stays locked until this occasion's rows are written
            _coalesce(rows, occasion=dedupe_key, now=now)
            _write_rows(rows, now)
    else:
        _write_rows(rows, now)
    return list(Notification.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows]).order_by("id"))


# --- Coalescing: events due together become one message -------------------------------------------


def _event_of(context: dict, occasion: str) -> dict:
    return {
        "occasion": occasion,
        "points": context.get("points") or 0,
        "receipt_id": context.get("receipt_id") or "",
        "transaction_ids": list(context.get("transaction_ids") or []),
    }


def _joined_context(target: Notification, context: dict, occasion: str) -> dict | None:
    """The target's context with this occasion's event added; None when it is in there already."""
    events = target.context.get("events") or [_event_of(target.context, occasion_of(target.dedupe_key))]
    if any(event["occasion"] == occasion for event in events):
        return None
    events = [*events, _event_of(context, occasion)]
    return {
        **target.context,
        "events": events,
        "count": len(events),
        "points": sum(event["points"] for event in events),
        # The balance after the latest event; the bonus_balance freshness check renders the one at send time.
        "balance": context.get("balance", target.context.get("balance")),
        "transaction_ids": [tx for event in events for tx in event["transaction_ids"]],
    }


def _coalesce(rows: list[Notification], *, occasion: str, now: datetime.datetime) -> None:
    """Fold this occasion into a row already waiting for the same customer, topic, channel and slot.

    The joined row's context collects the events (each with its points, receipt and transactions),
    their count and the total points. The occasion still gets its own row, cancelled as coalesced
    and naming the row it joined, so its dedupe key stays taken and a replay changes nothing. Only a
    row no dispatcher has claimed yet (scheduled, never attempted) is joined, and under its row lock,
    so a message being sent never changes under its sender; a concurrent twin of the same event finds
    it in the events and adds nothing.
    """
    waiting = [row for row in rows if row.status == Status.SCHEDULED]
    if not waiting or Notification.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows]).exists():
        return  # nothing to join, or a replay: the insert writes nothing either
    targets = list(
        Notification.objects.select_for_update()
        .filter(
            customer_id=waiting[0].customer_id,
            topic_id=waiting[0].topic_id,
            status=Status.SCHEDULED,
            attempts=0,
            channel__in={row.channel for row in waiting},
            send_at__in={row.send_at for row in waiting},
        )
        .order_by("pk")
    )
    joined = {}
    for row in waiting:
        target = next((t for t in targets if (t.channel, t.send_at) == (row.channel, row.send_at)), None)
        if target is None:
            continue
        context = _joined_context(target, row.context, occasion)
        if context is not None:
            target.context, target.updated_at = context, now
            joined[target.pk] = target
        row.status, row.reason = Status.CANCELLED, Reason.COALESCED
        row.detail = f"coalesced into notification {target.pk}"
    if joined:
        Notification.objects.bulk_update(list(joined.values()), ["context", "updated_at"])


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
    replan: bool = True,
) -> ConsentEvent:
    """Append one consent event and refresh the customer's badge in the same transaction.

    ``scope`` defaults to the topic when one is given, else to the whole channel (service
    messages included, as an SMS STOP means). "No more news by SMS" is ``scope="marketing"``
    and "unsubscribe from everything" ``scope="everything"``: one row each, covering topics
    created later too; ``channel`` of an "everything" event is where the customer acted.

    The customer's queued rows are re-planned in the same transaction; a caller recording several
    events of one decision passes ``replan=False`` and re-plans once after the last.
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
        if replan:
            queued_notifications_replan(customers=[customer], cause=CONSENT_CHANGE)
    return event


def badge_refresh(*, customer: Customer) -> str:
    badge = badge_for(ConsentBook.for_customers([customer.pk]), customer.pk)
    Preference.objects.update_or_create(customer=customer, defaults={"badge": badge})
    return badge


# Preference fields that decide a queued message's channel or slot (language is read at send time,
# but a language change is a change of mind all the same).
PLANNING_FIELDS = frozenset(
    {
        "preferred_channels",
        "window_start",
        "window_end",
        "weekdays",
        "paused_until",
        "language",
        "best_hour",
        "messenger",
        "telegram_chat_id",
    }
)


def preference_update(*, customer: Customer, **fields) -> Preference:
    """Change a customer's preferences (the surveys and preference pages write through here).

    A change to how or when the customer wants to hear from us re-plans their queued rows at once.
    """
    allowed = {f.name for f in Preference._meta.get_fields()} - {"id", "customer", "badge", "updated_at"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown preference fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        preference, _created = Preference.objects.get_or_create(customer=customer)
        changed = {name for name, value in fields.items() if getattr(preference, name) != value}
        for name, value in fields.items():
            setattr(preference, name, value)
        preference.full_clean()
        preference.save()
        if changed & PLANNING_FIELDS:
            queued_notifications_replan(customers=[customer], cause=PREFERENCE_CHANGE)
    return preference


def messenger_link_start(*, customer: Customer) -> str:
    """A one-time Telegram deep link that connects the customer's chat when they press Start."""
    import secrets

    code = secrets.token_urlsafe(24)
    Preference.objects.update_or_create(
        customer=customer, defaults={"messenger_link_code": code, "messenger_link_created_at": timezone.now()}
    )
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?start={code}"


# --- Change of mind: re-planning queued rows ------------------------------------------------------

PREFERENCE_CHANGE = "preference change"
CONSENT_CHANGE = "consent change"
CONTACT_CHANGE = "contact change"
CUSTOMER_CHANGE = "customer change"
WAITING = (Status.SCHEDULED, Status.DEFERRED)


def queued_notifications_replan(
    *, customers: Iterable[Customer], cause: str, now: datetime.datetime | None = None
) -> int:
    """Re-plan the rows these customers have waiting, after a change of preferences, consent or contact points.

    Runs in the caller's transaction, so the change and its consequences commit together. Only
    waiting rows (scheduled or deferred) are touched, under a row lock that a dispatcher's claim
    skips; rows being sent or done are history. Each row gets the channel its occasion's plan gives
    now (the topic's plan and chain, the preferred channel, consent and contact points), never a
    channel another row of the same occasion has, and keeps its slot while that still fits the
    rules, else gets the next slot before its deadline. A row that can go nowhere is suppressed with
    the reason. What changed is appended to the row's detail. A constant number of queries for any
    number of customers; returns how many rows changed.
    """
    by_id = {customer.pk: customer for customer in customers}
    if not by_id:
        return 0
    now = now or timezone.now()
    # No savepoint of its own: it is one step of the caller's change, which fails as a whole.
    with transaction.atomic(savepoint=False):
        rows = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(customer_id__in=by_id, status__in=WAITING)
            .select_related("topic")
            .order_by("pk")
        )
        if not rows:
            return 0
        preferences = {p.customer_id: p for p in Preference.objects.filter(customer_id__in=by_id)}
        book = ConsentBook.for_customers(by_id)
        suppressed = suppressed_contacts(by_id.values())
        by_occasion: dict[tuple[int, str], list[Notification]] = defaultdict(list)
        for row in rows:
            by_occasion[(row.customer_id, occasion_of(row.dedupe_key))].append(row)
        taken = _channels_taken(by_occasion, exclude={row.pk for row in rows})
        changed = []
        for (customer_id, occasion), group in by_occasion.items():
            customer, preference = by_id[customer_id], preferences.get(customer_id)
            placed = _placed(customer, group[0].topic, preference, book, suppressed, group, taken[occasion])
            for row, channel, reason in placed:
                if _replanned(row, customer, preference, channel=channel, reason=reason, cause=cause, now=now):
                    changed.append(row)
        if changed:
            Notification.objects.bulk_update(
                changed, ["channel", "send_at", "status", "reason", "detail", "updated_at"]
            )
    return len(changed)


def _channels_taken(by_occasion: dict, *, exclude: set[int]) -> dict[str, set[str]]:
    """Per occasion, the channels its other rows (sent, being sent, suppressed, ...) are on: one query."""
    keys = [f"{occasion}:{channel}" for _customer, occasion in by_occasion for channel in Channel.values]
    customer_ids = {customer_id for customer_id, _occasion in by_occasion}
    taken: dict[str, set[str]] = defaultdict(set)
    siblings = Notification.objects.filter(customer_id__in=customer_ids, dedupe_key__in=keys).exclude(pk__in=exclude)
    for key, channel in siblings.values_list("dedupe_key", "channel"):
        taken[occasion_of(key)].add(channel)
    return taken


def _placed(
    customer: Customer,
    topic: Topic,
    preference: Preference | None,
    book: ConsentBook,
    suppressed: set,
    group: list[Notification],
    taken: set[str],
) -> list[tuple[Notification, str, str]]:
    """Each waiting row of one occasion with its channel now, or with the reason it has none.

    A row already on a channel the plan still uses stays there; the others take the plan's
    remaining channels in the plan's order; a row left over is suppressed with the reason of the
    planned channel that cannot be used.
    """
    if not customer.is_active:
        return [(row, row.channel, Reason.INACTIVE) for row in group]
    plans = [plan for plan in plan_channels(customer, topic, preference, book, suppressed) if plan.channel not in taken]
    usable = [plan.channel for plan in plans if not plan.reason]
    blocked = [plan.reason for plan in plans if plan.reason]
    placed, unplaced = [], []
    for row in group:
        if row.channel in usable:
            usable.remove(row.channel)
            placed.append((row, row.channel, ""))
        else:
            unplaced.append(row)
    for row in unplaced:
        if usable:
            placed.append((row, usable.pop(0), ""))
        else:
            placed.append((row, row.channel, blocked.pop(0) if blocked else Reason.CHANNEL_UNAVAILABLE))
    return placed


def _still_fits(
    row: Notification, customer: Customer, preference: Preference | None, channel: str, now: datetime.datetime
) -> bool:
    """Whether the row's slot is still allowed on ``channel``: window, quiet hours, weekdays, pause, deadline.

    A slot that still fits is kept (a wider window does not pull a message earlier), except that a
    row held for a pause that no longer holds is planned again from now.
    """
    topic, moment = row.topic, row.send_at
    if moment > row.deadline:
        return False
    local = moment.astimezone(customer.zone)
    pause = preference.paused_until if preference and topic.is_marketing else None
    if pause and local.date() <= pause:
        return False
    held_for_pause = row.status == Status.DEFERRED and row.reason == Reason.PAUSED
    if held_for_pause and not (pause and _local_day(now, customer) <= pause):
        return False
    flexible = topic.urgency == Topic.Urgency.FLEXIBLE
    if flexible and preference and preference.weekdays and local.weekday() not in preference.weekdays:
        return False
    return is_inside(moment, zone=customer.zone, window=window_for(topic, channel, preference))


def _replanned(
    row: Notification,
    customer: Customer,
    preference: Preference | None,
    *,
    channel: str,
    reason: str,
    cause: str,
    now: datetime.datetime,
) -> bool:
    """Apply the new plan to one row in memory; True when anything changed (and is noted in its detail)."""
    before = (row.channel, row.send_at, row.status, row.reason)
    if reason:
        row.status, row.reason = Status.SUPPRESSED, reason
    elif not _still_fits(row, customer, preference, channel, now):
        slot, why_not = schedule_slot(
            customer=customer,
            topic=row.topic,
            channel=channel,
            preference=preference,
            earliest=now,
            deadline=row.deadline,
        )
        row.channel = channel
        if slot is None:
            row.status, row.reason = Status.SUPPRESSED, why_not
        else:
            row.send_at = slot
            paused = bool(row.topic.is_marketing and preference and preference.paused_until)
            if paused and slot.astimezone(customer.zone).date() > preference.paused_until >= _local_day(now, customer):
                row.status, row.reason = Status.DEFERRED, Reason.PAUSED
            else:
                row.status, row.reason = Status.SCHEDULED, ""
    else:
        row.channel = channel
    if (row.channel, row.send_at, row.status, row.reason) == before:
        return False
    note = f"re-planned after a {cause}: {_what_changed(before, row, customer)}"
    row.detail = note if not row.detail else f"{row.detail}; {note}"
    if len(row.detail) > 255:
        row.detail = "…" + row.detail[-254:]  # the newest decisions matter most
    row.updated_at = now
    return True


def _local_day(moment: datetime.datetime, customer: Customer) -> datetime.date:
    return moment.astimezone(customer.zone).date()


def _what_changed(before: tuple, row: Notification, customer: Customer) -> str:
    """E.g. "sms → email, 09:00 → 18:00 (Europe/Tallinn)" or "suppressed: no_consent"."""
    channel, send_at, status, _reason = before
    parts = []
    if row.channel != channel:
        parts.append(f"{channel} → {row.channel}")
    if row.status == Status.SUPPRESSED:
        parts.append(f"suppressed: {row.reason}")
        return ", ".join(parts)
    if row.send_at != send_at:
        old, new = send_at.astimezone(customer.zone), row.send_at.astimezone(customer.zone)
        shown = "%H:%M" if old.date() == new.date() else "%Y-%m-%d %H:%M"
        parts.append(f"{old:{shown}} → {new:{shown}} ({customer.zone.key})")
    if row.status != status or row.reason:
        parts.append(f"{row.status}" + (f": {row.reason}" if row.reason else ""))
    return ", ".join(parts)
