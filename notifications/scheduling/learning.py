"""Send-time and frequency learning: when each customer reads, and which topics they ignore.

The hour: every customer starts from their segment's reading hours (the *prior*: how often the
customers who speak their language opened or clicked in each local hour of the week, shrunk toward
everyone's), and their own opens and clicks move the estimate as they come, weighted against
``PRIOR_STRENGTH`` pseudo-reads of the prior: no threshold, a first open already counts. A message
aims at the last allowed hour at or before the hour they read in (the evening before, for someone
who reads before the window opens). The weekday: a customer who opens the e-mails sent on one
weekday clearly more often than the others (rates shrunk toward their overall rate) gets that day,
and a flexible message waits for it when it comes before the deadline. One flexible message in
``EXPLORE_PERCENT`` goes to a random allowed hour instead, chosen from its dedupe key
(reproducible), so a customer whose reading time changed is noticed.

The frequency: a marketing topic a customer has left unopened ``IGNORED_TO_THIN`` times in a row is
sent to them less often (about one message in two, then three, at most four) until they open one.

One periodic job (``send_times_learn``) reads the outbox set-based and writes the priors and the
customers' estimates; planning only reads what it stored. ``explain`` says it in words for the
"why am I getting this?" page. Switched off per topic (``Topic.learn_send_time``) or per customer
(``Preference.learn_send_time``).
"""

import datetime
import zlib
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.table_cache import TableCache
from notifications.models import Channel, Notification, Preference, SendTimePrior, Topic
from notifications.scheduling.slots import intersect, parse_time

HOURS_OF_WEEK = 7 * 24
PRIOR_STRENGTH = 2.0  # the prior weighs as much as this many of the customer's own reads
SEGMENT_STRENGTH = 10.0  # a segment's hours are shrunk toward everyone's by this many reads
WEEKDAY_STRENGTH = 4.0  # a weekday's open rate is shrunk toward the customer's overall rate by this many sends
CLEAR_WEEKDAY = 1.5  # a weekday is waited for only when its open rate is this many times the customer's overall
EXPLORE_PERCENT = 10
IGNORED_TO_THIN = 3
MOST_THINNING = 4
OPEN_GRACE = datetime.timedelta(days=2)  # a message younger than this may still be opened
POPULATION = ""
READ_CHUNK = 10_000


def segment_of(language: str | None) -> str:
    return f"lang:{language}" if language else POPULATION


# --- What planning reads ------------------------------------------------------------------------


def _priors() -> dict[str, list[float]]:
    """segment → its share of reads in each local hour of the day."""
    return {prior.segment: _shares(_hours(prior.counts)) for prior in SendTimePrior.objects.all()}


_PRIORS = TableCache("notifications.send_time_priors", _priors, models=(SendTimePrior,))


def learning_applies(topic: Topic, preference) -> bool:
    """Whether learned times and frequencies apply to this topic for this customer."""
    return topic.learn_send_time and (preference is None or getattr(preference, "learn_send_time", True))


def explore_pick(occasion: str | None) -> int | None:
    """For one flexible message in EXPLORE_PERCENT (chosen by its key), a number picking a random allowed hour."""
    if not occasion:
        return None
    digest = zlib.crc32(occasion.encode())
    if digest % 100 >= EXPLORE_PERCENT:
        return None
    return (digest // 100) % 24


def _window_hours(window) -> list[int]:
    """Local hours whose start lies inside the window (start inclusive, end exclusive)."""
    if window is None:
        return []
    start, end = window
    return [h for h in range(24) if datetime.time(h) >= start and (end is None or datetime.time(h) < end)]


def planned_time(*, language: str | None, preference, window, pick: int | None) -> tuple[int | None, int | None]:
    """(local hour, weekday or None) a flexible message aims at; (None, None) when nothing is known.

    ``pick`` (from :func:`explore_pick`) explores: a random hour of the window. Otherwise the
    customer's learned hour and weekday, or, before the job has seen them, their segment's.
    """
    hours = _window_hours(window)
    if pick is not None and hours:
        return hours[pick % len(hours)], None
    if preference is not None and preference.best_hour is not None:
        return preference.best_hour, getattr(preference, "best_weekday", None)
    priors = _PRIORS.get()
    prior = priors.get(segment_of(language)) or priors.get(POPULATION)
    if prior is None:
        return None, None
    return best_send_hour(prior, hours), None


def best_send_hour(reads: list[float], allowed: list[int]) -> int | None:
    """The allowed hour a message should arrive in for these reads (weights per local hour).

    A read at an allowed hour is best served by a message at that hour; a read at an hour outside
    the window by the last allowed hour before it (the evening before, for an early reader), so the
    message is on top of the inbox when they look.
    """
    if not allowed:
        return None
    scores = dict.fromkeys(allowed, 0.0)
    for hour, weight in enumerate(reads):
        if weight:
            earlier = [h for h in allowed if h <= hour]
            scores[earlier[-1] if earlier else allowed[-1]] += weight
    return max(allowed, key=lambda h: (scores[h], -h))


def thin_every(ignored: int) -> int:
    """Send one message in this many of a topic left unopened ``ignored`` times in a row."""
    if ignored < IGNORED_TO_THIN:
        return 1
    return min(MOST_THINNING, 1 + ignored // IGNORED_TO_THIN)


def thinned(topic: Topic, preference, occasion: str) -> bool:
    """Whether this occasion is one this customer is spared (a marketing topic they keep ignoring)."""
    if not topic.is_marketing or preference is None or not learning_applies(topic, preference):
        return False
    every = thin_every(int((preference.ignored_topics or {}).get(topic.code, 0)))
    return every > 1 and zlib.crc32(f"thin|{occasion}".encode()) % every != 0


# --- The periodic job ---------------------------------------------------------------------------


def _hours(counts) -> list[float]:
    counts = list(counts or []) + [0] * (HOURS_OF_WEEK - len(counts or []))
    return [sum(counts[d * 24 + h] for d in range(7)) for h in range(24)]


def _shares(values: list[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values] if total else [1 / len(values)] * len(values)


def _clear_weekday(by_day: dict[int, tuple[int, int]]) -> int | None:
    """The weekday whose messages this customer opens clearly more often, from (sent, opened) per
    weekday sent on, each day's rate shrunk toward the customer's overall rate; None when none stands out."""
    sent = sum(s for s, _o in by_day.values())
    opened = sum(o for _s, o in by_day.values())
    if not sent or not opened:
        return None
    overall = opened / sent
    rates = {day: (o + WEEKDAY_STRENGTH * overall) / (s + WEEKDAY_STRENGTH) for day, (s, o) in by_day.items()}
    best = max(rates, key=lambda day: (rates[day], -day))
    return best if rates[best] >= CLEAR_WEEKDAY * overall else None


READS_SQL = """
SELECT n.customer_id, c.language,
       (EXTRACT(ISODOW FROM n.opened_at AT TIME ZONE c.time_zone)::int - 1) * 24
       + EXTRACT(HOUR FROM n.opened_at AT TIME ZONE c.time_zone)::int,
       COUNT(*)
FROM notifications_notification n
JOIN crm_customer c ON c.id = n.customer_id
LEFT JOIN notifications_preference p ON p.customer_id = n.customer_id
WHERE n.opened_at >= %(since)s AND n.opened_at < %(now)s AND COALESCE(p.learn_send_time, TRUE)
GROUP BY 1, 2, 3
"""

# Per customer and local weekday a message was sent on: e-mails sent and how many were opened.
SENDS_SQL = """
SELECT n.customer_id, EXTRACT(ISODOW FROM n.sent_at AT TIME ZONE c.time_zone)::int - 1,
       COUNT(*), COUNT(n.opened_at)
FROM notifications_notification n
JOIN crm_customer c ON c.id = n.customer_id
LEFT JOIN notifications_preference p ON p.customer_id = n.customer_id
WHERE n.channel = %(email)s AND n.sent_at >= %(since)s AND n.sent_at < %(until)s
  AND COALESCE(p.learn_send_time, TRUE)
GROUP BY 1, 2
"""


def _sends(since: datetime.datetime, until: datetime.datetime) -> dict[int, dict[int, tuple[int, int]]]:
    """customer → {local weekday sent on: (e-mails sent, opened)}."""
    result: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(SENDS_SQL, {"email": Channel.EMAIL, "since": since, "until": until})
            for customer_id, day, sent, opened in cursor.fetchall():
                result[customer_id][int(day)] = (int(sent), int(opened))
        return result
    counted: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    rows = (
        Notification.objects.filter(channel=Channel.EMAIL, sent_at__gte=since, sent_at__lt=until)
        .exclude(customer__preference__learn_send_time=False)
        .values_list("customer_id", "customer__time_zone", "sent_at", "opened_at")
        .order_by()
    )
    for customer_id, zone, sent_at, opened_at in rows.iterator(chunk_size=5000):
        tally = counted[(customer_id, sent_at.astimezone(ZoneInfo(zone)).weekday())]
        tally[0] += 1
        tally[1] += opened_at is not None
    for (customer_id, day), (sent, opened) in counted.items():
        result[customer_id][day] = (sent, opened)
    return result


def _reads(since: datetime.datetime, now: datetime.datetime):
    """(customer, language, hour of the week, reads): opens (a click counts as an open) by local hour."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(READS_SQL, {"since": since, "now": now})
            yield from cursor.fetchall()
        return
    counted: dict[tuple, int] = defaultdict(int)
    rows = (
        Notification.objects.filter(opened_at__gte=since, opened_at__lt=now)
        .exclude(customer__preference__learn_send_time=False)
        .values_list("customer_id", "customer__language", "customer__time_zone", "opened_at")
        .order_by()
    )
    for customer_id, language, zone, opened_at in rows.iterator(chunk_size=5000):
        local = opened_at.astimezone(ZoneInfo(zone))
        counted[(customer_id, language, local.weekday() * 24 + local.hour)] += 1
    for (customer_id, language, slot), count in counted.items():
        yield customer_id, language, slot, count


IGNORED_SQL = """
SELECT n.customer_id, t.code, COUNT(*)
FROM notifications_notification n
JOIN notifications_topic t ON t.id = n.topic_id
WHERE n.channel = %(email)s AND n.sent_at >= %(since)s AND n.sent_at < %(until)s
  AND t.kind = 'marketing' AND t.learn_send_time
  AND n.opened_at IS NULL AND n.clicked_at IS NULL
  AND NOT EXISTS (
      SELECT 1 FROM notifications_notification o
      WHERE o.customer_id = n.customer_id AND o.channel = n.channel AND o.topic_id = n.topic_id
        AND o.sent_at >= n.sent_at AND o.opened_at IS NOT NULL
  )
GROUP BY 1, 2
HAVING COUNT(*) >= %(least)s
"""


def send_times_learn(*, now: datetime.datetime | None = None, days: int = 90) -> dict[str, int]:
    """The periodic job: priors per segment, each customer's best hour and weekday, ignored topics.

    Reads the outbox with two grouped statements; writes the priors (a handful of rows) and the
    preferences that changed in bulk. Returns counts of what it wrote.
    """
    now = now or timezone.now()
    since = now - datetime.timedelta(days=days)
    own: dict[int, dict[int, int]] = defaultdict(dict)
    language_of: dict[int, str] = {}
    segments: dict[str, list[int]] = defaultdict(lambda: [0] * HOURS_OF_WEEK)
    for customer_id, language, slot, count in _reads(since, now):
        own[customer_id][int(slot)] = int(count)
        language_of[customer_id] = language
        segments[segment_of(language)][int(slot)] += int(count)
        segments[POPULATION][int(slot)] += int(count)
    readers: dict[str, int] = defaultdict(int)
    for language in language_of.values():
        readers[segment_of(language)] += 1
    readers[POPULATION] = len(language_of)

    population = _shares(_hours(segments[POPULATION]))
    shrunk: dict[str, list[float]] = {}
    for segment, counts in segments.items():
        hours = _hours(counts)
        shrunk[segment] = _shares([hours[h] + SEGMENT_STRENGTH * population[h] for h in range(24)])
    sends = _sends(since, now - OPEN_GRACE)

    ignored = _ignored(now)
    with transaction.atomic():
        SendTimePrior.objects.bulk_create(
            [
                SendTimePrior(segment=segment, counts=counts, reads=sum(counts), customers=readers[segment])
                for segment, counts in segments.items()
            ],
            update_conflicts=True,
            unique_fields=["segment"],
            update_fields=["counts", "reads", "customers", "updated_at"],
        )
        changed = _update_preferences(own, language_of, shrunk, ignored, sends)
    _PRIORS.clear()
    return {"segments": len(segments), "customers": changed}


def _ignored(now: datetime.datetime) -> dict[int, dict[str, int]]:
    """customer → {topic code: marketing e-mails in a row not opened} (at least IGNORED_TO_THIN)."""
    params = {
        "email": Channel.EMAIL,
        "since": now - datetime.timedelta(days=120),
        "until": now - OPEN_GRACE,
        "least": IGNORED_TO_THIN,
    }
    with connection.cursor() as cursor:
        cursor.execute(IGNORED_SQL, params)
        rows = cursor.fetchall()
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for customer_id, code, count in rows:
        result[customer_id][code] = int(count)
    return result


def _estimate(counts: dict[int, int], prior: list[float], window_hours: list[int]) -> tuple[int | None, int]:
    """(best hour to arrive in, inside the window; own reads) from the customer's reads by hour of
    the week and the prior's shares by hour, the prior counting for PRIOR_STRENGTH reads."""
    hours = [PRIOR_STRENGTH * prior[h] for h in range(24)]
    for slot, count in counts.items():
        hours[slot % 24] += count
    return best_send_hour(hours, window_hours or list(range(24))), sum(counts.values())


def _update_preferences(own, language_of, shrunk, ignored, sends) -> int:
    default = settings.NOTIFICATION_DEFAULT_WINDOW
    wanted = set(own) | set(ignored)
    existing = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), READ_CHUNK):  # a bounded list of ids per statement
        chunk = ordered[start : start + READ_CHUNK]
        for p in Preference.objects.filter(customer_id__in=chunk).only(
            "id",
            "customer_id",
            "window_start",
            "window_end",
            "best_hour",
            "best_weekday",
            "learned_from",
            "ignored_topics",
            "learn_send_time",
        ):
            existing[p.customer_id] = p
    # Customers who stopped ignoring every topic: their counts go back to nothing.
    stale = [
        pk
        for pk, customer_id in Preference.objects.exclude(ignored_topics={}).values_list("pk", "customer_id")
        if customer_id not in wanted
    ]
    changed, new = [], []
    for customer_id in wanted:
        preference = existing.get(customer_id)
        if preference is not None and not preference.learn_send_time:
            continue
        values = {"ignored_topics": ignored.get(customer_id, {})}
        if customer_id in own:
            prior = shrunk.get(segment_of(language_of[customer_id])) or shrunk[POPULATION]
            start = (preference.window_start if preference else None) or parse_time(default[0])
            end = (preference.window_end if preference else None) or parse_time(default[1])
            window = intersect((start, end))
            values["best_hour"], values["learned_from"] = _estimate(own[customer_id], prior, _window_hours(window))
            values["best_weekday"] = _clear_weekday(sends.get(customer_id, {}))
        if preference is None:
            new.append(Preference(customer_id=customer_id, **values))
        elif any(getattr(preference, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(preference, name, value)
            changed.append(preference)
    fields = ["best_hour", "best_weekday", "learned_from", "ignored_topics"]
    Preference.objects.bulk_update(changed, fields, batch_size=2000)
    Preference.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    if stale:
        Preference.objects.filter(pk__in=stale).update(ignored_topics={})
    return len(changed) + len(new) + len(stale)


# --- In words, for the "why am I getting this?" page --------------------------------------------

WEEKDAYS = (
    lambda: _("Monday"),
    lambda: _("Tuesday"),
    lambda: _("Wednesday"),
    lambda: _("Thursday"),
    lambda: _("Friday"),
    lambda: _("Saturday"),
    lambda: _("Sunday"),
)


def explain(customer, topic: Topic) -> list[str]:
    """What learning does to this customer's messages of this topic, as sentences to show them."""
    preference = Preference.objects.filter(customer=customer).first()
    lines = []
    if not topic.learn_send_time:
        return [_("Messages about “%(topic)s” go out at the first time you allow.") % {"topic": topic.name}]
    if preference is not None and not preference.learn_send_time:
        return [_("You asked us not to learn when you read: messages go out at the first time you allow.")]
    if topic.urgency == Topic.Urgency.FLEXIBLE:
        zone = customer.time_zone
        if preference is not None and preference.best_hour is not None and preference.learned_from:
            lines.append(
                _(
                    "We send these around %(hour)02d:00 (%(zone)s), when you usually read our messages "
                    "(learned from %(count)s of your opens and clicks)."
                )
                % {"hour": preference.best_hour, "zone": zone, "count": preference.learned_from}
            )
            if preference.best_weekday is not None:
                lines.append(
                    _("When it can wait, a message waits for %(day)s, the day you read most.")
                    % {"day": WEEKDAYS[preference.best_weekday]()}
                )
        else:
            hour, _day = planned_time(language=customer.language, preference=None, window=_any_window(), pick=None)
            if hour is not None:
                lines.append(
                    _(
                        "We send these around %(hour)02d:00 (%(zone)s), when customers like you read most; "
                        "your own opens will adjust it."
                    )
                    % {"hour": hour, "zone": zone}
                )
        lines.append(
            _("About one message in %(n)s goes out at another hour, to notice if your habits change.")
            % {"n": 100 // EXPLORE_PERCENT}
        )
    ignored = int(((preference.ignored_topics or {}) if preference else {}).get(topic.code, 0))
    every = thin_every(ignored)
    if topic.is_marketing and every > 1:
        lines.append(
            _(
                "You have not opened the last %(ignored)s messages about “%(topic)s”, so you get only "
                "about one in %(every)s of them. Opening one brings them back."
            )
            % {"ignored": ignored, "topic": topic.name, "every": every}
        )
    return lines


def _any_window():
    start, end = settings.NOTIFICATION_DEFAULT_WINDOW
    return intersect((parse_time(start), parse_time(end)))
