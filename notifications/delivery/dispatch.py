"""The dispatcher: claim due rows, re-check them as a batch, render, send, record.

A batch goes through four steps and only the first and the last write:

1. claim (``outbox.claim``): one short transaction leases up to N rows to this worker.
2. decide: consent, contact, suppression, pause, quiet hours, window, weekly cap, deadline and
   freshness are re-checked for the whole batch from a fixed number of queries; a channel that
   can no longer be used falls back along the topic's chain when another channel is free.
3. send: provider calls happen outside any database transaction, each with a key derived from
   the notification (the e-mail Message-ID, ``Message.idempotency_key``), so a retry after a
   crash is the same message to the provider and to the recipient's mail client.
4. record (``outbox.record``): the outcomes in bulk, fenced by the claim's token, at the end of
   the batch or every ``NOTIFICATION_RECORD_SECONDS`` while a slow provider is being called.

A worker that dies between sending and recording leaves its rows ``sending``; when the lease runs
out they are claimed again and re-sent under the same idempotency key.
"""

import datetime
import gc
import logging
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from itertools import groupby

from django.conf import settings
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils import timezone, translation

from crm.models import Customer
from loyalty.program import program_zone
from notifications.consent.book import ConsentBook
from notifications.delivery import freshness
from notifications.delivery.channels import ProviderError, backend_for
from notifications.delivery.rendering import RenderError, pick_template, render
from notifications.delivery.sms_encoding import sms_segments
from notifications.models import (
    Channel,
    LetterBatch,
    MessageTemplate,
    Notification,
    Preference,
    Topic,
    occasion_keys,
    occasion_of,
)
from notifications.outbox.claim import WAITING, Claim, Outcome, claim, record
from notifications.outbox.planning import contact_point, suppressed_contacts
from notifications.scheduling.rules import (
    ContactLog,
    contact_cap,
    contact_spacing,
    next_contact_at,
    schedule_slot,
    weekly_cap,
    window_for,
)
from notifications.scheduling.slots import last_slot, next_slot

logger = logging.getLogger(__name__)
Status = Notification.Status
Reason = Notification.Reason
ON_TIME = datetime.timedelta(seconds=60)  # a row this close to its slot is inside it
FAR = datetime.datetime.max.replace(tzinfo=datetime.UTC)  # no deadline: the first open slot, whenever it is
# Channels that may stand in for one the customer can no longer get (consent, contact, bounce).
FALLBACK_REASONS = {Reason.NO_CONSENT, Reason.NO_CONTACT, Reason.SUPPRESSED_CONTACT}
# What deciding, rendering and sending a claimed row read of it (its customer and topic in full).
CUSTOMER_FIELDS = tuple(
    field.name
    for field in Customer._meta.concrete_fields
    if field.name not in ("phone", "erased_at", "created_at", "updated_at")
)
SEND_FIELDS = (
    *("customer_id", "topic_id", "channel", "context", "dedupe_key", "deadline", "status", "attempts"),
    "created_at",  # an offer that ends with a purchase is stale after one made since it was planned
)


def drain(
    *,
    now: datetime.datetime | None = None,
    channel: str | None = None,
    max_batches: int | None = None,
    max_seconds: float | None = None,
    limit: int | None = None,
) -> dict[str, int]:
    """Claim and deliver batch after batch until nothing is due; returns how many ended in each status.

    ``now`` fixes the clock (tests); ``channel`` drains one channel's rows only, so a slow SMS
    gateway never holds up e-mail; ``max_batches``/``max_seconds`` bound one task's work.
    """
    totals: Counter = Counter()
    started = time.monotonic()
    batches = 0
    size = limit or settings.NOTIFICATION_BATCH_SIZE
    while max_batches is None or batches < max_batches:
        if max_seconds is not None and time.monotonic() - started > max_seconds:
            break
        at = now or timezone.now()
        batch_started = time.monotonic()
        claims = claim(now=at, limit=size, channel=channel)
        if not claims:
            break
        totals.update(deliver(claims, now=at))
        batches += 1
        if not limit:
            size = next_batch_size(len(claims), time.monotonic() - batch_started)
    return dict(totals)


def next_batch_size(delivered: int, seconds: float) -> int:
    """The next claim's size: what this pace delivers in NOTIFICATION_BATCH_SECONDS, between
    NOTIFICATION_BATCH_SIZE and NOTIFICATION_BATCH_MAX."""
    smallest, largest = (
        settings.NOTIFICATION_BATCH_SIZE,
        max(settings.NOTIFICATION_BATCH_SIZE, settings.NOTIFICATION_BATCH_MAX),
    )
    pace = delivered / seconds if seconds > 0 else float("inf")
    return int(max(smallest, min(largest, pace * settings.NOTIFICATION_BATCH_SECONDS)))


def drainers_wanted(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """How many drainers each channel with work should have: one per batch due, at most
    NOTIFICATION_DRAINERS_PER_CHANNEL (they claim disjoint rows, so a backlog is drained by every
    free worker process), and one for a channel whose rows are only stranded (a dead worker's)."""
    now = now or timezone.now()
    batch, most = settings.NOTIFICATION_BATCH_SIZE, settings.NOTIFICATION_DRAINERS_PER_CHANNEL
    due = Notification.objects.filter(status__in=WAITING, send_at__lte=now)
    stranded = Notification.objects.filter(status=Status.SENDING, lease_until__lt=now)
    wanted = {}
    for channel in Channel.values:
        waiting = due.filter(channel=channel)[: batch * most].count()  # bounded: an index range, not a census
        if waiting or stranded.filter(channel=channel).exists():
            wanted[channel] = max(1, min(most, -(-waiting // batch)))
    return wanted


class _Batch:
    """What the re-checks need for a whole batch, read with a fixed number of queries."""

    def __init__(self, rows: list[Notification], now: datetime.datetime):
        customer_ids = {row.customer_id for row in rows}
        preferences = Preference.objects.filter(customer_id__any=customer_ids).order_by()
        self.preferences = {p.customer_id: p for p in preferences}
        self.book = ConsentBook.for_customers(customer_ids)
        self.suppressed = suppressed_contacts({row.customer_id: row.customer for row in rows}.values())
        # Only rows of topics that count against the caps consult the contact log.
        self.contacts = ContactLog({row.customer_id for row in rows if row.topic.counts_against_cap}, now=now)
        self.templates = _templates({row.topic_id for row in rows})
        self.fresh = freshness.check_batch(rows)
        self._siblings: dict[str, set[tuple[int, str]]] | None = None
        self._rows = rows
        self._slots: dict[tuple, datetime.datetime | None] = {}
        self.rendered: dict[tuple, str] = {}  # texts rendered once per distinct input (rendering.render's memo)

    def next_slot(self, now, zone, window, deadline, weekdays) -> datetime.datetime | None:
        """``slots.next_slot`` from ``now``: computed once per zone, window and weekdays in a batch
        (most of its rows share them), then held against each row's deadline."""
        key = (zone, window, frozenset(weekdays or ()))
        if key not in self._slots:
            self._slots[key] = next_slot(earliest=now, zone=zone, window=window, deadline=FAR, weekdays=weekdays)
        slot = self._slots[key]
        return slot if slot is not None and slot <= deadline else None

    def count_send(self, row: Notification, channel: str, at: datetime.datetime) -> None:
        if row.topic.counts_against_cap:
            self.contacts.add(row.customer_id, channel, at, row.occasion)

    def taken_channels(self, row: Notification) -> set[str]:
        """Channels the row's occasion has other rows on now (read once per batch, when first needed)."""
        if self._siblings is None:
            keys = [key for r in self._rows for key in occasion_keys(r.occasion)]
            self._siblings = defaultdict(set)
            for pk, key, channel in Notification.objects.filter(dedupe_key__any=keys).values_list(
                "pk", "dedupe_key", "channel"
            ):
                self._siblings[occasion_of(key)].add((pk, channel))
        return {channel for pk, channel in self._siblings[row.occasion] if pk != row.pk}


def _templates(topic_ids: set[int]) -> dict:
    templates = MessageTemplate.objects.filter(topic_id__in=topic_ids).order_by()
    return {(t.topic_id, t.channel, t.language): t for t in templates}


def _problem(row: Notification, channel: str, batch: _Batch) -> str:
    customer = row.customer
    preference = batch.preferences.get(customer.pk)
    address = contact_point(customer, channel, preference)
    if not address:
        return Reason.NO_CONTACT
    if (channel, address) in batch.suppressed:
        return Reason.SUPPRESSED_CONTACT
    if not batch.book.allows(customer.pk, channel, row.topic):
        return Reason.NO_CONSENT
    return ""


def _fallback(row: Notification, batch: _Batch) -> str | None:
    """Another channel of the topic's chain this customer can get now, not used by the occasion yet."""
    topic, preference = row.topic, batch.preferences.get(row.customer_id)
    preferred = (preference.preferred_channels or {}).get(topic.code) if preference else None
    chain = [c for c in dict.fromkeys([preferred, *topic.channels, *topic.alternatives]) if c]
    allowed = set(topic.channels) | set(topic.alternatives)
    taken = batch.taken_channels(row)
    for channel in chain:
        if channel in allowed and channel not in taken and channel in settings.NOTIFICATION_BACKENDS:
            if not _problem(row, channel, batch):
                return channel
    return None


def _deferral(row: Notification, batch: _Batch, *, channel: str, earliest, reason, token) -> Outcome:
    slot, why_not = schedule_slot(
        customer=row.customer,
        topic=row.topic,
        channel=channel,
        preference=batch.preferences.get(row.customer_id),
        earliest=earliest,
        deadline=row.deadline,
        occasion=row.occasion,  # a deferred flexible message still aims at the customer's hour
    )
    if slot is None:
        final = reason if reason != Reason.QUIET_HOURS else (why_not or reason)
        return Outcome(row.pk, token, Status.SUPPRESSED, final, channel=channel)
    return Outcome(row.pk, token, Status.DEFERRED, reason, send_at=slot, channel=channel)


def _decide(row: Notification, batch: _Batch, token: int, now: datetime.datetime, language: str) -> Outcome | tuple:
    """The row's fate by the rules as they stand now: an Outcome, or (message, outcome-to-be) to send."""
    customer, topic = row.customer, row.topic
    preference = batch.preferences.get(customer.pk)
    channel, detail = row.channel, ""

    def done(status, reason="", **fields):
        note = "; ".join(filter(None, [detail, fields.pop("detail", "")]))
        return Outcome(row.pk, token, status, reason, detail=note, channel=channel, **fields)

    if not customer.is_active:
        return done(Status.SUPPRESSED, Reason.INACTIVE)
    if now > row.deadline:
        return done(Status.SUPPRESSED, Reason.DEADLINE)
    problem = _problem(row, channel, batch)
    if problem in FALLBACK_REASONS:
        substitute = _fallback(row, batch)
        if substitute:
            detail = f"fell back from {channel}: {problem}"
            channel, problem = substitute, ""
    if problem:
        return done(Status.SUPPRESSED, problem)
    if topic.is_marketing and preference and preference.paused_until:
        if now.astimezone(customer.zone).date() <= preference.paused_until:
            return _deferral(row, batch, channel=channel, earliest=now, reason=Reason.PAUSED, token=token)
    # Quiet hours and the customer's window (and weekdays for flexible topics), now.
    window = window_for(topic, channel, preference)
    flexible = topic.urgency == Topic.Urgency.FLEXIBLE
    weekdays = preference.weekdays if preference and flexible else None
    slot = batch.next_slot(now, customer.zone, window, row.deadline, weekdays)
    if slot is None and weekdays:  # no preferred weekday before the deadline: the last slot, as planned
        slot = last_slot(earliest=now, zone=customer.zone, window=window, deadline=row.deadline)
    if slot is None:
        return done(Status.SUPPRESSED, Reason.QUIET_HOURS if window is None else Reason.DEADLINE)
    if slot > now + ON_TIME:
        return done(Status.DEFERRED, Reason.QUIET_HOURS, send_at=slot)
    # Frequency cap over the rolling week.
    cap = weekly_cap(channel, preference) if topic.counts_against_cap else None
    if cap is not None:
        count, oldest = batch.contacts.on_channel(customer.pk, channel, now)
        if count >= cap:
            return _deferral(
                row,
                batch,
                channel=channel,
                earliest=oldest + datetime.timedelta(days=7),
                reason=Reason.CAPPED,
                token=token,
            )
    # Across channels: spacing between any two contacts and the weekly number of contacts.
    if topic.counts_against_cap:
        wait, reason = next_contact_at(
            batch.contacts.times(customer.pk, besides=row.occasion),
            now=now,
            cap=contact_cap(preference),
            spacing=contact_spacing(),
        )
        if wait is None and reason:
            return done(Status.SUPPRESSED, reason, detail="the customer wants no such contact")
        if wait is not None:
            return _deferral(row, batch, channel=channel, earliest=wait, reason=reason, token=token)
    context = row.context
    if topic.freshness_check:
        context = batch.fresh.get(row.pk)
        if not context and not isinstance(context, dict):  # None, or Stale(why)
            return done(Status.CANCELLED, Reason.STALE, detail=getattr(context, "reason", ""))
        row.context = context
    row.channel = channel
    try:
        message = render(
            row,
            template=pick_template(batch.templates, row, language),
            language=language,
            preference=preference,
            memo=batch.rendered,
        )
    except RenderError as exc:
        return done(Status.SUPPRESSED, exc.reason, detail=exc.detail)
    batch.count_send(row, channel, now)
    # The context is written back only where the freshness check renewed it (a big JSON otherwise rewritten).
    renewed = context if topic.freshness_check else None
    return message, done(Status.SENT, context=renewed, subject=message.subject, body=message.body)


def _language(row: Notification, batch: _Batch) -> str:
    preference = batch.preferences.get(row.customer_id)
    return (preference.language if preference and preference.language else "") or row.customer.language


@contextmanager
def _collector_paused():
    """Python's cycle collector off for one batch, then back as it was.

    A batch makes tens of thousands of short-lived objects that reference counting frees; the
    collector would stop the batch again and again to walk every object of the process (Django's
    included) for the few cycles among them. Those wait until the batch ends, which bounds them.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def deliver(claims: list[Claim], *, now: datetime.datetime | None = None) -> dict[str, int]:
    """Deliver one claimed batch; returns how many rows ended in each status ("skipped": lease lost)."""
    with _collector_paused():
        return _deliver(claims, now=now or timezone.now())


def _deliver(claims: list[Claim], *, now: datetime.datetime) -> dict[str, int]:
    tokens = {claim.id: claim.token for claim in claims}
    # The rows, then their customers: two look-ups by primary key (a join lets the planner hash the
    # whole customer table). Not the history columns (a claimed row has none yet).
    rows = list(Notification.objects.filter(pk__any=tokens).order_by().only(*SEND_FIELDS))
    # Still ours: claimed again by nobody since (the record is fenced by the token anyway).
    rows = [row for row in rows if row.status == Status.SENDING and row.attempts == tokens[row.pk]]
    if not rows:
        return {}
    customers = (
        Customer.objects.filter(pk__any={row.customer_id for row in rows})
        .order_by()
        # Not the phone field: loading it parses every number (phonenumbers), a large share of a
        # message's cost. The phone comes as stored (E.164) in plain text instead, which is all
        # phone_e164 reads. Nor the bookkeeping times no message shows (each costs a parse).
        .only(*CUSTOMER_FIELDS)
        .annotate(phone_as_stored=Cast("phone", CharField()))
        .in_bulk()
    )
    for customer in customers.values():
        customer.__dict__["phone"] = customer.phone_as_stored or ""
    for row in rows:
        row.customer = customers[row.customer_id]
    topics = Topic.objects.in_bulk({row.topic_id for row in rows})  # a few topics, not one instance per row
    for row in rows:
        row.topic = topics[row.topic_id]
    batch = _Batch(rows, now)
    # Rendered language by language: switching the active translation costs more than a short template.
    languages = {row.pk: _language(row, batch) for row in rows}
    rows.sort(key=lambda row: (languages[row.pk], row.pk))
    decided = []
    for language, group in groupby(rows, key=lambda row: languages[row.pk]):
        with translation.override(language):
            decided += [_decide(row, batch, tokens[row.pk], now, language) for row in group]
    outcomes = [item for item in decided if isinstance(item, Outcome)]
    to_send = [item for item in decided if not isinstance(item, Outcome)]
    letter_batch_id = None
    if any(outcome.channel == Channel.POSTAL for _message, outcome in to_send):
        day = now.astimezone(program_zone()).date()
        letter_batch_id = LetterBatch.objects.get_or_create(day=day)[0].pk
    totals: Counter = Counter()
    recorded = _send_all(to_send, outcomes, letter_batch_id, now=now)
    for outcome in outcomes:
        totals[outcome.status if outcome.id in recorded else "skipped"] += 1
    return dict(totals)


def _send_all(to_send, outcomes: list[Outcome], letter_batch_id, *, now) -> set[int]:
    """Call the providers (no transaction is open here) and record as we go; returns recorded ids.

    Each provider's outcome is appended to ``outcomes``, so the caller counts every row.
    """
    recorded: set[int] = set()
    pending: list[Outcome] = list(outcomes)
    last_record = time.monotonic()
    backends: dict[str, object] = {}
    for message, outcome in to_send:
        backend = backends.setdefault(outcome.channel, backend_for(outcome.channel))
        row_attempts = outcome.token
        try:
            provider_id = backend.send(message)
        except ProviderError as exc:
            logger.warning("notification %s: provider error: %s", outcome.id, exc)
            if exc.permanent or row_attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
                outcome = Outcome(outcome.id, outcome.token, Status.FAILED, Reason.PROVIDER_ERROR, str(exc))
            else:
                retry_at = now + datetime.timedelta(minutes=2**row_attempts)
                outcome = Outcome(
                    outcome.id, outcome.token, Status.SCHEDULED, Reason.PROVIDER_ERROR, str(exc), send_at=retry_at
                )
        else:
            outcome.provider_message_id = provider_id
            if outcome.channel == Channel.SMS:
                outcome.sms_encoding, outcome.sms_segments = sms_segments(message.body)
            if outcome.channel == Channel.POSTAL:
                # Filed into the day's batch; it counts as sent when staff mark the batch posted.
                outcome.status, outcome.letter_batch_id = Status.PRINTING, letter_batch_id
            else:
                outcome.sent_at = now
        outcomes.append(outcome)
        pending.append(outcome)
        if time.monotonic() - last_record >= settings.NOTIFICATION_RECORD_SECONDS:
            recorded |= record(pending, now=now)
            pending, last_record = [], time.monotonic()
    recorded |= record(pending, now=now)
    return recorded
