"""Change of mind: a customer's waiting rows follow a change of preferences, consent or contact points.

The rows keep their occasion; planning and scheduling are the same code ``notify`` uses, applied
to rows already written, in the transaction of the change that caused them.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from crm.models import Customer
from notifications.consent.book import ConsentBook
from notifications.models import Channel, Notification, Preference, Topic, occasion_of
from notifications.outbox.planning import plan_channels, suppressed_contacts
from notifications.scheduling.rules import schedule_slot, window_for
from notifications.scheduling.slots import is_inside

Status = Notification.Status
Reason = Notification.Reason

PREFERENCE_CHANGE = "preference change"
CONSENT_CHANGE = "consent change"
CONTACT_CHANGE = "contact change"
CUSTOMER_CHANGE = "customer change"
WAITING = (Status.SCHEDULED, Status.DEFERRED)


def queued_notifications_replan(
    *,
    customers: Iterable[Customer],
    cause: str,
    now: datetime.datetime | None = None,
    book: ConsentBook | None = None,
) -> int:
    """Re-plan the rows these customers have waiting, after a change of preferences, consent or contact points.

    Runs in the caller's transaction, so the change and its consequences commit together. Only
    waiting rows (scheduled or deferred) are touched, under a row lock that a dispatcher's claim
    skips; rows being sent or done are history. Each row gets the channel its occasion's plan gives
    now (the topic's plan and chain, the preferred channel, consent and contact points), never a
    channel another row of the same occasion has, and keeps its slot while that still fits the
    rules, else gets the next slot before its deadline. A row that can go nowhere is suppressed with
    the reason. What changed is appended to the row's detail. A constant number of queries for any
    number of customers (one when nothing waits); returns how many rows changed. ``book``: the
    customers' consent as the caller holds it after its change, so it is not read again.
    """
    by_id = {customer.pk: customer for customer in customers}
    if not by_id:
        return 0
    now = now or timezone.now()
    # No savepoint of its own: it is one step of the caller's change, which fails as a whole.
    with transaction.atomic(savepoint=False):
        # The preferences come with the rows (a customer without a row needs none).
        rows = list(
            Notification.objects.select_for_update(of=("self",))
            .filter(customer_id__in=by_id, status__in=WAITING)
            .select_related("topic", "customer__preference")
            .order_by("pk")
        )
        if not rows:
            return 0
        preferences = {row.customer_id: _preference_of(row.customer) for row in rows}
        book = book if book is not None else ConsentBook.for_customers(by_id)
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


def _preference_of(customer: Customer) -> Preference | None:
    try:
        return customer.preference
    except Preference.DoesNotExist:
        return None


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
            occasion=row.occasion,
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
