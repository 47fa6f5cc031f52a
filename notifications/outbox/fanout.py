"""Fan-out: the same occasion for many customers (a campaign, a survey invitation), set-based.

The caller's queryset is walked in ranges of ids sized by the members' density (each read costs
its chunk, never the rest of the table). Per chunk: one query reads what planning needs of the
customers and their preferences (no model instances, the phone as stored, one fetch), one their
consent, one their suppressed contact points; once per call, one reads the occasions an earlier
run with the same dedupe prefix wrote. Planning is the same code ``notify`` uses
(``plan_channels``, ``schedule_slot``): customers with no consent events and nothing suppressed
share one outcome per distinct (state, contact points, zone, preferences), computed once, and a
slot is computed once per distinct (zone, channel, window, weekdays, pause, learned hour). On
PostgreSQL the rows go in with ``COPY``, each outcome's text formatted once and sent in pieces;
elsewhere with one bulk insert per chunk.

An occasion's channels are one message (an SMS teaser and the e-mail with the detail) and are not
spaced apart; the spacing from a customer's other occasions, which would need each customer's own
contacts, is left to the dispatcher's re-check.
"""

import datetime
import json
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField, JSONField, Max, Min, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from crm.models import Customer
from notifications.consent.book import NEWEST, ConsentBook
from notifications.models import Channel, ConsentEvent, ContactSuppression, Notification, Topic, occasion_of
from notifications.outbox.planning import plan_channels
from notifications.outbox.write import kick_dispatcher
from notifications.scheduling.learning import explore_pick, thinned
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
    # A dry run's plans: (customer's zone, the rows planned for them) → how many customers.
    plans: Counter = field(default_factory=Counter)


class _Person:
    """What planning and scheduling read of a customer (duck-typed like Customer)."""

    __slots__ = ("address_line", "city", "email", "is_active", "language", "phone", "pk", "postal_code", "time_zone")

    def __init__(self, values: tuple):
        (self.pk, self.email, self.phone, self.address_line, self.postal_code, self.city, self.is_active) = values[:7]
        self.time_zone, self.language = values[7], values[8]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)  # ZoneInfo caches one instance per key


class _Prefs:
    """What planning and scheduling read of a customer's preferences (duck-typed like Preference)."""

    __slots__ = (
        "best_hour",
        "best_weekday",
        "ignored_topics",
        "learn_send_time",
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
            self.best_weekday,
            self.learn_send_time,
            self.ignored_topics,
            self.messenger,
            self.telegram_chat_id,
        ) = values


PERSON = ("pk", "email", "phone_e164", "address_line", "postal_code", "city", "is_active", "time_zone", "language")
PREFS = tuple(
    f"preference__{name}"
    for name in (
        "preferred_channels", "window_start", "window_end", "weekdays", "paused_until", "best_hour",
        "best_weekday", "learn_send_time", "ignored_topics", "messenger", "telegram_chat_id",
    )
)  # fmt: skip
NO_IGNORED = ("{}", None)  # ignored_topics as read (text) when no topic is ignored


class _Outcome:
    """One plan as rows to write, shared by every customer it applies to (most share a handful).

    ``rows`` are (channel, status, reason, send_at); ``lines`` the same rows as COPY text around
    the customer's id (written ``f"{pk}{head}{pk}{rest}"``); ``count`` how the customer lands in
    FanOut; ``due`` the channels with a row due at once.
    """

    __slots__ = ("count", "due", "lines", "rows")

    def __init__(self, rows: tuple[tuple[str, str, str, datetime.datetime], ...], now: datetime.datetime):
        self.rows = rows
        self.lines: tuple[tuple[str, str], ...] | None = None  # formatted by the writer on first use
        if any(status == Status.SCHEDULED for _, status, _, _ in rows):
            self.count = Status.SCHEDULED
        else:  # no row at all only when the topic plans no channel
            self.count = rows[0][2] if rows else Reason.CHANNEL_UNAVAILABLE
        self.due = {channel for channel, status, _, at in rows if status == Status.SCHEDULED and at <= now}


class _Planner:
    """Plans one occasion for customer after customer, computing each distinct plan and slot once."""

    def __init__(
        self,
        topic: Topic,
        now: datetime.datetime,
        prefix: str,
        not_before: datetime.datetime | None = None,
        deadline: datetime.datetime | None = None,
    ):
        self.topic, self.now, self.prefix = topic, now, prefix
        self.earliest = max(now, not_before) if not_before else now
        self.deadline = deadline or self.earliest + datetime.timedelta(hours=topic.deadline_hours)
        self.flexible = topic.urgency == Topic.Urgency.FLEXIBLE
        self.learn = self.flexible and topic.learn_send_time
        self._slots: dict[tuple, tuple[datetime.datetime | None, str]] = {}
        self._shared: dict[tuple, _Outcome] = {}
        self._outcomes: dict[tuple, _Outcome] = {}
        self._json: dict[str, object] = {}

    def _parsed(self, text: str | None):
        """A JSON column as read (text), parsed once per distinct value; treat the result as read-only."""
        if text is None:
            return None
        if text not in self._json:
            self._json[text] = json.loads(text)
        return self._json[text]

    def slot(
        self, person: _Person, prefs: _Prefs | None, channel: str, occasion: str
    ) -> tuple[datetime.datetime | None, str]:
        key = (person.time_zone, channel)
        if self.learn:
            # What the learned hour may depend on: the segment (before the customer's own reads are
            # learned) and the message's exploration pick; the same pick is derived from the occasion again.
            key += (person.language, explore_pick(occasion))
        if prefs is not None:
            key += (
                prefs.window_start,
                prefs.window_end,
                tuple(prefs.weekdays or ()) if self.flexible else (),
                prefs.paused_until if self.topic.is_marketing else None,
                (prefs.best_hour, prefs.best_weekday, prefs.learn_send_time) if self.flexible else None,
            )
        if key not in self._slots:
            self._slots[key] = schedule_slot(
                customer=person,
                topic=self.topic,
                channel=channel,
                preference=prefs,
                earliest=self.earliest,
                deadline=self.deadline,
                occasion=occasion,
            )
        return self._slots[key]

    def outcome(self, values: tuple, book: ConsentBook, suppressed: set) -> _Outcome:
        """The rows for one customer as read (``PERSON``, the preference's id, ``PREFS``).

        Customers who said nothing about consent and have nothing suppressed share their outcome
        with everyone who has the same contact points, state, zone and preferences: the key holds
        every value planning and scheduling read of them but the id.
        """
        pk, email, phone, address_line, _postal_code, city, is_active, time_zone, language, prefs_id = values[:10]
        occasion = f"{self.prefix}:{pk}"
        if not book.has_events(pk) and not (
            suppressed and ((Channel.EMAIL, email) in suppressed or (Channel.SMS, phone) in suppressed)
        ):
            key = (is_active, bool(email), bool(phone), bool(address_line and city), time_zone)
            if self.learn:
                key += (language, explore_pick(occasion))
            if prefs_id is not None:
                *prefs, telegram_chat_id = values[10:]
                key += (bool(telegram_chat_id), *prefs)
                if prefs[8] not in NO_IGNORED:  # ignored_topics: whether this occasion is one they are spared
                    key += (thinned(self.topic, self._prefs(values), occasion),)
            shared = self._shared.get(key)
            if shared is None:
                shared = self._shared[key] = self._outcome(values, book, suppressed, occasion)
            return shared
        return self._outcome(values, book, suppressed, occasion)

    def _prefs(self, values: tuple) -> _Prefs | None:
        if values[9] is None:
            return None
        prefs = _Prefs(values[10:])
        prefs.preferred_channels = self._parsed(prefs.preferred_channels)
        prefs.weekdays = self._parsed(prefs.weekdays)
        prefs.ignored_topics = self._parsed(prefs.ignored_topics)
        return prefs

    def _outcome(self, values: tuple, book: ConsentBook, suppressed: set, occasion: str) -> _Outcome:
        person = _Person(values[:9])
        prefs = self._prefs(values)
        spared = thinned(self.topic, prefs, occasion)
        rows = []
        for plan in plan_channels(person, self.topic, prefs, book, suppressed):
            reason = plan.reason or ("" if person.is_active else Reason.INACTIVE)
            if not reason and spared:
                reason = Reason.THINNED
            send_at = self.earliest
            if not reason:
                slot, reason = self.slot(person, prefs, plan.channel, occasion)
                send_at = slot or self.earliest
            rows.append((plan.channel, Status.SUPPRESSED if reason else Status.SCHEDULED, reason, send_at))
        rows = tuple(rows)
        if rows not in self._outcomes:
            self._outcomes[rows] = _Outcome(rows, self.now)
        return self._outcomes[rows]


def notify_many(
    *,
    customers: QuerySet[Customer],
    topic: Topic | str,
    context: dict,
    dedupe_prefix: str,
    now: datetime.datetime | None = None,
    chunk_size: int = 10_000,
    not_before: datetime.datetime | None = None,
    deadline: datetime.datetime | None = None,
    dry_run: bool = False,
) -> FanOut:
    """Plan, schedule and write one occasion's outbox rows for every customer in ``customers``.

    Runs in the caller's transaction. Dedupe keys are ``{dedupe_prefix}:{customer id}:{channel}``,
    so running a fan-out again writes nothing new. Returns a FanOut report of what happened to
    each customer. Rows due at once wake the dispatcher after commit; the rest wait for beat.

    ``not_before`` / ``deadline``: the occasion's own span (an opening-hours change goes the day
    before, and not on the day); by default from ``now`` for the topic's deadline hours.
    ``dry_run`` plans and counts but writes nothing: the report's ``plans`` then say which rows
    each customer would get (a campaign's forecast).
    """
    now = now or timezone.now()
    if isinstance(topic, str):
        topic = Topic.objects.get(code=topic)
    if not topic.is_active:
        return FanOut(customers=customers.count(), topic_inactive=True)
    planner = _Planner(topic, now, dedupe_prefix, not_before, deadline)
    writer = _Writer(topic=topic, context=context, prefix=dedupe_prefix, deadline=planner.deadline, now=now)
    report = FanOut()
    due_channels: set[str] = set()
    # Walked in primary-key order straight through the caller's queryset (its filters, segment
    # subqueries included), one range of ids at a time: each chunk reads an index range whose width
    # follows the members' density, so its cost is the chunk's, never the rest of the table's (a
    # LIMIT alone lets the planner, with stale statistics, read and sort everything after the chunk).
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
    bounds = customers.aggregate(first=Min("pk"), last=Max("pk"))
    last_pk, end, step = (bounds["first"] - 1, bounds["last"], chunk_size) if bounds["first"] is not None else (0, 0, 0)
    with transaction.atomic():
        while last_pk < end:
            span_start, limit = last_pk + 1, min(last_pk + step, end)
            chunk = _read(
                members.filter(pk__gt=last_pk, pk__lte=limit).values_list(*PERSON, "preference__id", *PREFS)[
                    :chunk_size
                ]
            )
            if len(chunk) == chunk_size:  # a full chunk: go on after its last customer, in a range as wide as it took
                last_pk = chunk[-1][0]
                step = max(chunk_size, last_pk - span_start + 1)
            else:  # the range held fewer members: the next one is wider
                last_pk = limit
                step *= 2 if 2 * len(chunk) < chunk_size else 1
            if not chunk:
                continue
            # A queryset joined through a multi-valued relation may repeat a customer: plan each once.
            chunk = list({values[0]: values for values in chunk}.values())
            # The chunk is a range of ids: reading by range keeps each statement small (no list of
            # ten thousand parameters); rows of non-members in the range are simply not used.
            span = {"customer_id__gte": span_start, "customer_id__lte": last_pk}
            book = ConsentBook(list(ConsentEvent.objects.filter(**span).select_related("topic").order_by(*NEWEST)))
            suppressed = _suppressed(span_start, last_pk)
            outcome = planner.outcome
            planned = [(values[0], outcome(values, book, suppressed)) for values in chunk]
            if dry_run:
                report.plans.update(
                    (values[7], planned_outcome.rows)
                    for values, (_, planned_outcome) in zip(chunk, planned, strict=True)
                )
            if present:
                new = []
                for pk, planned_outcome in planned:
                    if f"{dedupe_prefix}:{pk}" not in present:
                        new.append((pk, planned_outcome))
                    elif planned_outcome.rows:
                        report.already_present += 1
                    else:
                        report.suppressed[Reason.CHANNEL_UNAVAILABLE] += 1
            else:
                new = planned
            report.customers += len(planned)
            for planned_outcome, customers_count in Counter(planned_outcome for _, planned_outcome in new).items():
                if planned_outcome.count == Status.SCHEDULED:
                    report.queued += customers_count
                else:
                    report.suppressed[planned_outcome.count] += customers_count
                report.rows_written += customers_count * len(planned_outcome.rows)
                due_channels |= planned_outcome.due
            if not dry_run:
                writer.write(new)
        if due_channels and not dry_run:
            kick_dispatcher(due_channels)
    return report


def _read(query: QuerySet) -> list[tuple]:
    """The rows of a values_list query straight from the cursor, in one fetch.

    JSON columns (the preference's) stay text: the planner parses each distinct value once. Other
    columns go through the backend's converters, if it has any (SQLite's times and dates; none on
    PostgreSQL, whose driver returns Python values).
    """
    compiler = query.query.get_compiler(using=query.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # e.g. pk__in=[]: the query would match nothing
        return []
    converters = {
        position: (convs, expression)
        for position, (convs, expression) in compiler.get_converters(
            [column[0] for column in compiler.select[: compiler.col_count]]
        ).items()
        if not isinstance(expression.output_field, JSONField)
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [tuple(row) for row in compiler.apply_converters(rows, converters)] if converters else rows


def _suppressed(first: int, last: int) -> set[tuple[str, str]]:
    """Suppressed (channel, address) pairs among the contact points of customers first..last."""
    in_range = Customer.objects.filter(pk__gte=first, pk__lte=last)
    rows = ContactSuppression.objects.filter(
        Q(channel=Channel.EMAIL, address__in=in_range.exclude(email="").values("email"))
        | Q(channel=Channel.SMS, address__in=in_range.exclude(phone="").values("phone"))
    ).values_list("channel", "address")
    return set(rows)


class _Writer:
    """Writes planned customers' rows. On PostgreSQL with ``COPY``, as COPY text: the columns
    every row shares are formatted once, each outcome's rows once, and the text goes to the server
    in pieces as it is built, so that the server inserts while Python formats. Elsewhere (or when a
    concurrent run with the same prefix won some rows) with a bulk insert that skips conflicts."""

    PIECE = 2_000  # customers per piece of COPY text

    def __init__(self, *, topic: Topic, context: dict, prefix: str, deadline, now):
        self.topic, self.context, self.prefix, self.deadline = topic, context, prefix, deadline
        fields = [f for f in Notification._meta.concrete_fields if not f.primary_key]
        fixed = {}
        for f in fields:
            default = f.get_default()
            fixed[f.column] = json.dumps(default) if f.get_internal_type() == "JSONField" else default
        fixed.update(
            topic_id=topic.pk,
            context=json.dumps(context),
            deadline=deadline,
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        self.varying = ("customer_id", "channel", "status", "reason", "send_at", "dedupe_key")
        self.shared = [f.column for f in fields if f.column not in self.varying]
        self.tail = "\t".join(_copy_text(fixed[column]) for column in self.shared)
        self.key_prefix = _copy_text(prefix)

    def write(self, planned: list[tuple[int, "_Outcome"]]) -> None:
        if not planned:
            return
        if connection.vendor == "postgresql":
            try:
                with transaction.atomic():
                    self._copy(planned)
                return
            except IntegrityError:
                pass  # a concurrent run with the same prefix won some rows: insert the rest one by one below
        Notification.objects.bulk_create(
            [
                Notification(
                    customer_id=pk,
                    topic=self.topic,
                    channel=channel,
                    context=self.context,
                    status=status,
                    reason=reason,
                    send_at=send_at,
                    deadline=self.deadline,
                    dedupe_key=f"{self.prefix}:{pk}:{channel}",
                )
                for pk, outcome in planned
                for channel, status, reason, send_at in outcome.rows
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )

    def _lines(self, outcome: "_Outcome") -> tuple[tuple[str, str], ...]:
        if outcome.lines is None:
            outcome.lines = tuple(
                (f"\t{channel}\t{status}\t{reason}\t{at.isoformat()}\t{self.key_prefix}:", f":{channel}\t{self.tail}\n")
                for channel, status, reason, at in outcome.rows
            )
        return outcome.lines

    def _copy(self, planned: list[tuple[int, "_Outcome"]]) -> None:
        lines_of = {outcome: self._lines(outcome) for outcome in {outcome for _, outcome in planned}}
        table = connection.ops.quote_name(Notification._meta.db_table)
        columns = ", ".join([*self.varying, *self.shared])
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for start in range(0, len(planned), self.PIECE):
                    copy.write(
                        "".join(
                            [
                                f"{pk}{head}{pk}{rest}"
                                for pk, outcome in planned[start : start + self.PIECE]
                                for head, rest in lines_of[outcome]
                            ]
                        )
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
