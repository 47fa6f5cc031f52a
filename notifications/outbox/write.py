"""Writing the outbox: the rows one occasion plans for one customer, in the caller's transaction.

Planning (``outbox.planning``) picks the channels, scheduling (``scheduling.rules``) the slots;
rows due together for the same customer may be folded into one message (coalescing). Rows due
now wake the dispatcher after commit, best effort; beat picks up whatever a nudge missed.
"""

import datetime
import functools
import json
import time
from dataclasses import dataclass
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from config.celery import nudge
from config.sql import from_row, insert_many_unless_present, select_list
from crm.models import Customer
from notifications.consent.book import CONSENT_FIELDS, ConsentBook
from notifications.models import (
    ConsentEvent,
    Notification,
    Preference,
    Topic,
    occasion_keys,
    occasion_of,
    topic_by_code,
    topic_by_id,
)
from notifications.outbox.planning import phone_e164, plan_channels, suppressed_contacts
from notifications.scheduling.learning import thinned
from notifications.scheduling.rules import planned_contacts, schedule_slot, spaced_slot

Status = Notification.Status
Reason = Notification.Reason


DRAIN_TASK = "notifications.tasks.drain_task"
_last_nudge: dict[str, float] = {}


def kick_dispatcher(channels: set[str]) -> None:
    """Wake a drainer for each channel with rows due now: best effort, at most once a second per
    channel and process, so a burst of sales becomes a handful of tasks, not one per sale (a
    drainer empties the channel's due rows, those of the sales after its wake-up included)."""
    for channel in sorted(channels):
        at = time.monotonic()
        if at - _last_nudge.get(channel, -1.0) >= 1.0:
            _last_nudge[channel] = at
            nudge(DRAIN_TASK, channel)


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
    not_before: datetime.datetime | None = None,
    deadline: datetime.datetime | None = None,
    contacts: list[datetime.datetime] | None = None,
) -> list[Notification]:
    """The rows one occasion writes for one customer: planned, scheduled or suppressed with a reason.

    ``not_before`` / ``deadline``: the occasion's own span (an appointment's reminder goes the day
    before and is no use after it); by default from ``now`` for the topic's deadline hours.
    ``contacts``: the customer's counted contacts (sent or planned) when the topic counts against
    the caps; the rows are spaced from them where the window and deadline allow.
    """
    earliest = max(now, not_before) if not_before else now
    deadline = deadline or earliest + datetime.timedelta(hours=topic.deadline_hours)
    rows = []
    spared = thinned(topic, preference, dedupe_key)  # a topic this customer keeps ignoring: sent less often
    for plan in plan_channels(customer, topic, preference, book, suppressed):
        row = Notification(
            customer=customer,
            topic=topic,
            channel=plan.channel,
            context=context,
            dedupe_key=f"{dedupe_key}:{plan.channel}",
            deadline=deadline,
            send_at=earliest,
        )
        reason = plan.reason or ("" if customer.is_active else Reason.INACTIVE)
        if not reason and spared:
            reason = Reason.THINNED
        if not reason:
            slot, reason = schedule_slot(
                customer=customer,
                topic=topic,
                channel=plan.channel,
                preference=preference,
                earliest=earliest,
                deadline=deadline,
                occasion=dedupe_key,
            )
            if slot and contacts is not None:
                # Spaced from the customer's other contacts; this occasion's channels are one message.
                slot = spaced_slot(
                    slot,
                    contacts,
                    reschedule=lambda earliest, channel=plan.channel: schedule_slot(
                        customer=customer,
                        topic=topic,
                        channel=channel,
                        preference=preference,
                        earliest=earliest,
                        deadline=deadline,
                    ),
                )
            if slot:
                row.send_at = slot
        if reason:
            row.status, row.reason = Status.SUPPRESSED, reason
        rows.append(row)
    return rows


def _write_rows(rows: list[Notification], now: datetime.datetime) -> None:
    if len(rows) <= 10 and connection.vendor == "postgresql":
        insert_many_unless_present(rows)  # one occasion's rows: the POS sale's path
    else:
        Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=2000)
    due = {row.channel for row in rows if row.status == Status.SCHEDULED and row.send_at <= now}
    if due:
        transaction.on_commit(partial(kick_dispatcher, due), robust=True)


@dataclass(frozen=True)
class _Facts:
    preference: Preference | None
    book: ConsentBook
    suppressed: set
    # The rows of this topic still waiting for this customer (scheduled, never attempted, due from
    # now on), each {id, channel, send_at, dedupe_key, context}, locked for this transaction;
    # None where the facts did not look (coalescing then looks itself).
    waiting: list[dict] | None = None


def _planning_facts(customer: Customer, topic: Topic, now: datetime.datetime) -> _Facts:
    """What planning reads of the customer, in one query on PostgreSQL (the POS sale's budget):
    their preference, consent book, suppressed contact points, and the messages of this topic
    still waiting for them, locked, that coalescing may join (new rows are never due before now,
    so rows due earlier are left to the dispatcher)."""
    if connection.vendor != "postgresql":
        return _Facts(
            Preference.objects.filter(customer=customer).first(),
            ConsentBook.for_customers([customer.pk]),
            suppressed_contacts([customer]),
        )
    with connection.cursor() as cursor:
        cursor.execute(
            _facts_sql(),
            {
                "customer": customer.pk,
                "email": customer.email or None,
                "phone": phone_e164(customer) or None,
                "topic": topic.pk,
                "coalesce": topic.coalesce,
                "now": now,
            },
        )
        row = cursor.fetchone()
    split = len(Preference._meta.concrete_fields)
    preference = from_row(Preference, row[:split]) if row[0] is not None else None
    consent, suppressed, waiting = (map(_json, column) for column in row[split:])
    book = ConsentBook([ConsentEvent(**event, topic=topic_by_id(event["topic_id"])) for event in consent])
    waiting = [{**item, "send_at": datetime.datetime.fromisoformat(item["send_at"])} for item in waiting]
    return _Facts(preference, book, {(item["channel"], item["address"]) for item in suppressed}, waiting)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value  # Django leaves jsonb as text


@functools.cache
def _facts_sql() -> str:
    """One statement text for every sale, built once (the ORM would compile it each time)."""
    consent = ", ".join(f"'{field}', e.{field}" for field in CONSENT_FIELDS)
    return (
        f"SELECT {select_list(Preference, 'p')}, "
        f"ARRAY(SELECT jsonb_build_object({consent}) FROM notifications_consentevent e "
        "WHERE e.customer_id = c.id ORDER BY e.created_at DESC, e.id DESC), "
        "ARRAY(SELECT jsonb_build_object('channel', s.channel, 'address', s.address) "
        "FROM notifications_contactsuppression s WHERE (s.channel = 'email' AND s.address = %(email)s) "
        "OR (s.channel = 'sms' AND s.address = %(phone)s)), "
        "ARRAY(SELECT jsonb_build_object('id', n.id, 'channel', n.channel, 'send_at', n.send_at, "
        "'dedupe_key', n.dedupe_key, 'context', n.context) FROM notifications_notification n "
        "WHERE %(coalesce)s AND n.customer_id = c.id AND n.topic_id = %(topic)s AND n.status = 'scheduled' "
        "AND n.attempts = 0 AND n.send_at >= %(now)s ORDER BY n.id FOR UPDATE OF n) "
        "FROM (SELECT %(customer)s::bigint AS id) c LEFT JOIN notifications_preference p ON p.customer_id = c.id"
    )


def notify(
    *,
    customer: Customer,
    topic: Topic | str,
    context: dict,
    dedupe_key: str,
    now: datetime.datetime | None = None,
    new_occasion: bool = False,
    not_before: datetime.datetime | None = None,
    deadline: datetime.datetime | None = None,
) -> list[Notification]:
    """Plan, schedule and write the outbox rows for one occasion, in the caller's transaction.

    One row per channel the topic plans, each with its ``send_at`` in the customer's own time,
    or suppressed with the reason when it cannot go. The same ``dedupe_key`` again writes
    nothing. Rows due now wake the dispatcher after commit; the rest wait for beat.

    ``not_before`` / ``deadline``: when the occasion itself says when its message is of use (a
    reminder the day before an appointment); otherwise from now for the topic's deadline hours.

    ``new_occasion``: the key names something written in this very transaction (a sale's ledger
    line), so nothing was planned for it yet: the look for earlier rows is skipped, and the rows
    returned are the ones built (without primary keys) instead of being read back.
    """
    now = now or timezone.now()
    if isinstance(topic, str):
        topic = topic_by_code(topic)
    if not topic.is_active:
        return []
    if not new_occasion:
        present = list(Notification.objects.filter(dedupe_key__in=occasion_keys(dedupe_key)).order_by("id"))
        if present:
            return present  # this occasion was planned before (its rows may be on other channels by now)
    facts = _planning_facts(customer, topic, now)
    rows = _outbox_rows(
        customer=customer,
        topic=topic,
        preference=facts.preference,
        book=facts.book,
        suppressed=facts.suppressed,
        context=context,
        dedupe_key=dedupe_key,
        now=now,
        not_before=not_before,
        deadline=deadline,
        # Service messages pass the spacing: only counted topics read the customer's contacts.
        contacts=planned_contacts(customer.pk, now=now) if topic.counts_against_cap else None,
    )
    if not rows:
        return []
    if topic.coalesce and facts.waiting != []:
        _coalesce(rows, occasion=dedupe_key, now=now, new_occasion=new_occasion, waiting=facts.waiting)
    _write_rows(rows, now)
    if new_occasion:
        return rows
    return list(Notification.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows]).order_by("id"))


# --- Coalescing: events due together become one message -------------------------------------------


def _event_of(context: dict, occasion: str) -> dict:
    return {
        "occasion": occasion,
        "points": context.get("points") or 0,
        "receipt_id": context.get("receipt_id") or "",
        "transaction_ids": list(context.get("transaction_ids") or []),
    }


def _joined_context(target: dict, context: dict, occasion: str) -> dict | None:
    """The waiting row's context with this occasion's event added; None when it is in there already."""
    joined = target["context"]
    events = joined.get("events") or [_event_of(joined, occasion_of(target["dedupe_key"]))]
    if any(event["occasion"] == occasion for event in events):
        return None
    events = [*events, _event_of(context, occasion)]
    return {
        **joined,
        "events": events,
        "count": len(events),
        "points": sum(event["points"] for event in events),
        # The balance after the latest event; the bonus_balance freshness check renders the one at send time.
        "balance": context.get("balance", joined.get("balance")),
        "transaction_ids": [tx for event in events for tx in event["transaction_ids"]],
    }


def _coalesce(
    rows: list[Notification],
    *,
    occasion: str,
    now: datetime.datetime,
    new_occasion: bool = False,
    waiting: list[dict] | None = None,
) -> None:
    """Fold this occasion into a row already waiting for the same customer, topic, channel and slot.

    The joined row's context collects the events (each with its points, receipt and transactions),
    their count and the total points. The occasion still gets its own row, cancelled as coalesced
    and naming the row it joined, so its dedupe key stays taken and a replay changes nothing. Only a
    row no dispatcher has claimed yet (scheduled, never attempted) is joined, and under its row lock
    (taken by the planning facts' query, ``waiting``, or here), so a message being sent never
    changes under its sender; a concurrent twin of the same event finds it in the events and adds
    nothing.
    """
    new = [row for row in rows if row.status == Status.SCHEDULED]
    if not new:
        return
    if not new_occasion and Notification.objects.filter(dedupe_key__in=[row.dedupe_key for row in rows]).exists():
        return  # a replay: the insert writes nothing either
    if waiting is None:
        waiting = list(
            Notification.objects.select_for_update()
            .filter(
                customer_id=new[0].customer_id,
                topic_id=new[0].topic_id,
                status=Status.SCHEDULED,
                attempts=0,
                channel__in={row.channel for row in new},
                send_at__in={row.send_at for row in new},
            )
            .order_by("pk")
            .values("id", "channel", "send_at", "dedupe_key", "context")
        )
    joined = {}
    for row in new:
        target = next((t for t in waiting if (t["channel"], t["send_at"]) == (row.channel, row.send_at)), None)
        if target is None:
            continue
        context = _joined_context(target, row.context, occasion)
        if context is not None:
            target["context"] = joined[target["id"]] = context
        row.status, row.reason = Status.CANCELLED, Reason.COALESCED
        row.detail = f"coalesced into notification {target['id']}"
    if joined:
        _save_contexts(joined, now)


def _save_contexts(contexts: dict[int, dict], now: datetime.datetime) -> None:
    """The joined rows' new contexts in one statement (the ORM's bulk_update costs a sale ~0.5 ms to build)."""
    context, updated_at = (Notification._meta.get_field(name) for name in ("context", "updated_at"))
    cases = " ".join(["WHEN %s THEN %s"] * len(contexts))
    params = [value for pk, new in contexts.items() for value in (pk, context.get_db_prep_save(new, connection))]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Notification._meta.db_table} SET context = CASE id {cases} END, updated_at = %s "
            f"WHERE id IN ({', '.join(['%s'] * len(contexts))})",
            [*params, updated_at.get_db_prep_save(now, connection), *contexts],
        )
