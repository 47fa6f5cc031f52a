"""Fan-out: the same occasion for many customers (a campaign, a survey invitation), set-based.

Per chunk of customers: one query reads what planning needs of them and their preferences (no
model instances, the phone as stored), one reads their consent, one their suppressed contact
points, one the rows an earlier run with the same dedupe prefix wrote. Planning is the same
code ``notify`` uses (``plan_channels``, ``schedule_slot``), and a slot is computed once per
distinct (zone, channel, window, weekdays, pause, learned hour): most customers share one.
On PostgreSQL the rows go in with ``COPY``; elsewhere with one bulk insert per chunk.
"""

import datetime
import json
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from crm.models import Customer
from notifications.consent.book import NEWEST, ConsentBook
from notifications.models import Channel, ConsentEvent, ContactSuppression, Notification, Topic, occasion_of
from notifications.outbox.planning import contact_point, plan_channels
from notifications.outbox.write import kick_dispatcher
from notifications.scheduling.rules import schedule_slot

Status = Notification.Status
Reason = Notification.Reason


@dataclass
class FanOut:
    """What one ``notify_many`` call did, counted in customers, so callers can tell staff the truth.

    Every customer considered lands in exactly one count: ``queued`` (at least one message
    scheduled by this call), ``suppressed`` (nothing can go: counted by the reason on the row of
    the customer's first channel, e.g. no_consent, no_contact) or ``already_present`` (an earlier
    call with the same dedupe prefix wrote this customer's rows; nothing new). ``rows_written``
    counts outbox rows inserted; ``topic_inactive`` means the topic is switched off and nothing
    was planned at all.
    """

    customers: int = 0
    queued: int = 0
    suppressed: Counter = field(default_factory=Counter)
    already_present: int = 0
    rows_written: int = 0
    topic_inactive: bool = False

    def add(self, planned: list["_Row"], new: list["_Row"]) -> None:
        self.customers += 1
        self.rows_written += len(new)
        if planned and not new:
            self.already_present += 1
        elif any(row.status == Status.SCHEDULED for row in new):
            self.queued += 1
        else:
            # No row at all only when the topic plans no channel.
            self.suppressed[new[0].reason if new else Reason.CHANNEL_UNAVAILABLE] += 1


class _Person:
    """What planning and scheduling read of a customer (duck-typed like Customer)."""

    __slots__ = ("address_line", "city", "email", "is_active", "phone", "pk", "postal_code", "time_zone")

    def __init__(self, values: tuple):
        (self.pk, self.email, self.phone, self.address_line, self.postal_code, self.city, self.is_active) = values[:7]
        self.time_zone = values[7]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)  # ZoneInfo caches one instance per key


class _Prefs:
    """What planning and scheduling read of a customer's preferences (duck-typed like Preference)."""

    __slots__ = (
        "best_hour",
        "messenger",
        "paused_until",
        "preferred_channels",
        "telegram_chat_id",
        "weekdays",
        "window_end",
        "window_start",
    )  # fmt: skip

    def __init__(self, values: tuple):
        (
            self.preferred_channels,
            self.window_start,
            self.window_end,
            self.weekdays,
            self.paused_until,
            self.best_hour,
            self.messenger,
            self.telegram_chat_id,
        ) = values


PERSON = ("pk", "email", "phone_e164", "address_line", "postal_code", "city", "is_active", "time_zone")
PREFS = tuple(
    f"preference__{name}"
    for name in (
        "preferred_channels", "window_start", "window_end", "weekdays", "paused_until", "best_hour",
        "messenger", "telegram_chat_id",
    )
)  # fmt: skip


@dataclass(frozen=True)
class _Row:
    customer_id: int
    channel: str
    status: str
    reason: str
    send_at: datetime.datetime

    def dedupe_key(self, prefix: str) -> str:
        return f"{prefix}:{self.customer_id}:{self.channel}"


class _Planner:
    """Plans one occasion for customer after customer, computing each distinct slot once."""

    def __init__(self, topic: Topic, now: datetime.datetime):
        self.topic, self.now = topic, now
        self.deadline = now + datetime.timedelta(hours=topic.deadline_hours)
        self.flexible = topic.urgency == Topic.Urgency.FLEXIBLE
        self._slots: dict[tuple, tuple[datetime.datetime | None, str]] = {}
        self._shared_plans: dict[tuple, tuple[tuple[str, str], ...]] = {}
        self.channels = list(dict.fromkeys([*topic.channels, *topic.alternatives]))

    def slot(self, person: _Person, prefs: _Prefs | None, channel: str) -> tuple[datetime.datetime | None, str]:
        key = (person.time_zone, channel)
        if prefs is not None:
            key += (
                prefs.window_start,
                prefs.window_end,
                tuple(prefs.weekdays or ()) if self.flexible else (),
                prefs.paused_until if self.topic.is_marketing else None,
                prefs.best_hour if self.flexible else None,
            )
        if key not in self._slots:
            self._slots[key] = schedule_slot(
                customer=person,
                topic=self.topic,
                channel=channel,
                preference=prefs,
                earliest=self.now,
                deadline=self.deadline,
            )
        return self._slots[key]

    def rows(self, person: _Person, prefs: _Prefs | None, book: ConsentBook, suppressed: set) -> list[_Row]:
        plans = self._plans(person, prefs, book, suppressed)
        rows = []
        for channel, reason in plans:
            send_at = self.now
            if not reason:
                slot, reason = self.slot(person, prefs, channel)
                send_at = slot or self.now
            rows.append(_Row(person.pk, channel, Status.SUPPRESSED if reason else Status.SCHEDULED, reason, send_at))
        return rows

    def _plans(self, person, prefs, book, suppressed) -> tuple[tuple[str, str], ...]:
        """The channel plan; customers who said nothing about consent and have nothing suppressed
        share it with everyone who has the same contact points and preferred channel."""
        if book.has_events(person.pk) or (
            suppressed and ((Channel.EMAIL, person.email) in suppressed or (Channel.SMS, person.phone) in suppressed)
        ):
            return self._plan(person, prefs, book, suppressed)
        key = (
            person.is_active,
            (prefs.preferred_channels or {}).get(self.topic.code) if prefs else None,
            *(bool(contact_point(person, channel, prefs)) for channel in self.channels),
        )
        if key not in self._shared_plans:
            self._shared_plans[key] = self._plan(person, prefs, book, suppressed)
        return self._shared_plans[key]

    def _plan(self, person, prefs, book, suppressed) -> tuple[tuple[str, str], ...]:
        return tuple(
            (plan.channel, plan.reason or ("" if person.is_active else Reason.INACTIVE))
            for plan in plan_channels(person, self.topic, prefs, book, suppressed)
        )


def notify_many(
    *,
    customers: QuerySet[Customer],
    topic: Topic | str,
    context: dict,
    dedupe_prefix: str,
    now: datetime.datetime | None = None,
    chunk_size: int = 10_000,
) -> FanOut:
    """Plan, schedule and write one occasion's outbox rows for every customer in ``customers``.

    Runs in the caller's transaction. Dedupe keys are ``{dedupe_prefix}:{customer id}:{channel}``,
    so running a fan-out again writes nothing new. Returns a FanOut report of what happened to
    each customer. Rows due at once wake the dispatcher after commit; the rest wait for beat.
    """
    now = now or timezone.now()
    if isinstance(topic, str):
        topic = Topic.objects.get(code=topic)
    if not topic.is_active:
        return FanOut(customers=customers.count(), topic_inactive=True)
    planner = _Planner(topic, now)
    report = FanOut()
    due_channels: set[str] = set()
    # Walked in primary-key order straight through the caller's queryset (its filters, segment
    # subqueries included), so each chunk is an index range scan, whatever the table's size.
    members = customers.annotate(phone_e164=Cast("phone", output_field=CharField())).order_by("pk")
    # Occasions an earlier run with this prefix planned, on whatever channel their rows are now (a
    # fallback or a re-plan moves a row, its key stays): each customer's occasion is planned once.
    # One indexed prefix query: nothing at all for a new campaign.
    present = {
        occasion_of(key)
        for key in Notification.objects.filter(dedupe_key__startswith=f"{dedupe_prefix}:").values_list(
            "dedupe_key", flat=True
        )
    }
    last_pk = 0
    with transaction.atomic():
        while True:
            chunk = list(members.filter(pk__gt=last_pk).values_list(*PERSON, "preference__id", *PREFS)[:chunk_size])
            if not chunk:
                break
            last_pk = chunk[-1][0]
            # A queryset joined through a multi-valued relation may repeat a customer: plan each once.
            chunk = list({values[0]: values for values in chunk}.values())
            people = [(_Person(values[:8]), _Prefs(values[9:]) if values[8] else None) for values in chunk]
            # The chunk is a range of ids: reading by range keeps each statement small (no list of
            # ten thousand parameters); rows of non-members in the range are simply not used.
            span = {"customer_id__gte": people[0][0].pk, "customer_id__lte": last_pk}
            book = ConsentBook(list(ConsentEvent.objects.filter(**span).select_related("topic").order_by(*NEWEST)))
            suppressed = _suppressed(people[0][0].pk, last_pk)
            planned = [planner.rows(person, prefs, book, suppressed) for person, prefs in people]
            new_rows = []
            for (person, _prefs), rows in zip(people, planned, strict=True):
                new = [] if f"{dedupe_prefix}:{person.pk}" in present else rows
                report.add(rows, new)
                new_rows.extend(new)
            _write(new_rows, topic=topic, context=context, prefix=dedupe_prefix, deadline=planner.deadline, now=now)
            due_channels |= {row.channel for row in new_rows if row.status == Status.SCHEDULED and row.send_at <= now}
        if due_channels:
            kick_dispatcher(due_channels)
    return report


def _suppressed(first: int, last: int) -> set[tuple[str, str]]:
    """Suppressed (channel, address) pairs among the contact points of customers first..last."""
    in_range = Customer.objects.filter(pk__gte=first, pk__lte=last)
    rows = ContactSuppression.objects.filter(
        Q(channel=Channel.EMAIL, address__in=in_range.exclude(email="").values("email"))
        | Q(channel=Channel.SMS, address__in=in_range.exclude(phone="").values("phone"))
    ).values_list("channel", "address")
    return set(rows)


def _write(rows: list[_Row], *, topic: Topic, context: dict, prefix: str, deadline, now) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                _copy(rows, topic=topic, context=context, prefix=prefix, deadline=deadline, now=now)
            return
        except IntegrityError:
            pass  # a concurrent run with the same prefix won some rows: insert the rest one by one below
    Notification.objects.bulk_create(
        [
            Notification(
                customer_id=row.customer_id,
                topic=topic,
                channel=row.channel,
                context=context,
                status=row.status,
                reason=row.reason,
                send_at=row.send_at,
                deadline=deadline,
                dedupe_key=row.dedupe_key(prefix),
            )
            for row in rows
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )


def _copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy(rows: list[_Row], *, topic: Topic, context: dict, prefix: str, deadline, now) -> None:
    """COPY the rows in, written as COPY text: the columns every row shares are formatted once."""
    fields = [f for f in Notification._meta.concrete_fields if not f.primary_key]
    fixed = {}
    for f in fields:
        default = f.get_default()
        fixed[f.column] = json.dumps(default) if f.get_internal_type() == "JSONField" else default
    fixed.update(
        topic_id=topic.pk, context=json.dumps(context), deadline=deadline, attempts=0, created_at=now, updated_at=now
    )
    varying = ("customer_id", "channel", "status", "reason", "send_at", "dedupe_key")
    shared = [f.column for f in fields if f.column not in varying]
    tail = "\t".join(_copy_text(fixed[column]) for column in shared)
    key_prefix = _copy_text(prefix)
    times: dict[datetime.datetime, str] = {}
    lines = []
    for row in rows:
        at = times.get(row.send_at) or times.setdefault(row.send_at, row.send_at.isoformat())
        lines.append(
            f"{row.customer_id}\t{row.channel}\t{row.status}\t{row.reason}\t{at}\t"
            f"{key_prefix}:{row.customer_id}:{row.channel}\t{tail}\n"
        )
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join([*varying, *shared])}) FROM STDIN") as copy:
            copy.write("".join(lines))
