"""When a message may go out for this customer: window, quiet hours, pause, weekdays, learned hour, caps.

The rules read settings and the customer's preferences and hand the times to the pure functions
of ``scheduling.slots``; planners (notify, fan-out, re-planning) and the dispatcher share them.
"""

import datetime

from django.conf import settings
from django.db.models import Count, Min

from crm.models import Customer
from notifications.models import Notification, Preference, Topic
from notifications.scheduling import learning
from notifications.scheduling.slots import intersect, last_slot, next_slot, parse_time

Reason = Notification.Reason


def window_for(topic: Topic, channel: str, preference: Preference | None):
    """Local hours a message may go out in: quiet hours always; the customer's window unless immediate."""
    quiet = settings.NOTIFICATION_QUIET_HOURS.get(channel)
    quiet = (parse_time(quiet[0]), parse_time(quiet[1])) if quiet else None
    if topic.urgency == Topic.Urgency.IMMEDIATE:
        return intersect(quiet)
    default = settings.NOTIFICATION_DEFAULT_WINDOW
    start = (preference.window_start if preference else None) or parse_time(default[0])
    end = (preference.window_end if preference else None) or parse_time(default[1])
    return intersect(quiet, (start, end))


def weekly_cap(channel: str, preference: Preference | None) -> int | None:
    caps = {**settings.NOTIFICATION_DEFAULT_MAX_PER_WEEK, **((preference.max_per_week or {}) if preference else {})}
    value = caps.get(channel)
    return None if value is None else int(value)


def recent_counted_sends(
    customer_ids, *, now: datetime.datetime
) -> dict[tuple[int, str], tuple[int, datetime.datetime]]:
    """(customer, channel) → (how many capped messages went out in the last 7 days, the oldest)."""
    rows = (
        Notification.objects.filter(
            customer_id__in=list(customer_ids),
            topic__counts_against_cap=True,
            sent_at__gt=now - datetime.timedelta(days=7),
        )
        .values("customer_id", "channel")
        .annotate(count=Count("id"), oldest=Min("sent_at"))
    )
    return {(row["customer_id"], row["channel"]): (row["count"], row["oldest"]) for row in rows}


def schedule_slot(
    *,
    customer: Customer,
    topic: Topic,
    channel: str,
    preference: Preference | None,
    earliest: datetime.datetime,
    deadline: datetime.datetime,
    use_best_hour: bool = True,
    occasion: str | None = None,
) -> tuple[datetime.datetime | None, str]:
    """When this message may go out, or (None, reason) when no slot exists before the deadline.

    Quiet hours always apply; the customer's window unless the topic is immediate; preferred
    weekdays and the learned best hour only for flexible topics; a pause holds marketing only.
    Preferred weekdays are a wish: when none comes before the deadline, the message takes the
    last slot the window allows before it (issue 18: waiting must not become dropping).

    The learned hour (``scheduling.learning``: the customer's own or their segment's) and a learned
    weekday apply to flexible topics where learning is on; ``occasion`` (the dedupe key) picks the
    few messages placed at a random allowed hour instead, the same one each time it is planned.
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
    weekdays = preference.weekdays if preference and flexible else None
    hour = best_weekday = None
    if flexible and use_best_hour and learning.learning_applies(topic, preference):
        hour, best_weekday = learning.planned_time(
            language=getattr(customer, "language", None),
            preference=preference,
            window=window,
            pick=learning.explore_pick(occasion),
        )
    slot = None
    if best_weekday is not None and not weekdays:  # the day they read most, when it comes before the deadline
        slot = next_slot(
            earliest=earliest, zone=zone, window=window, deadline=deadline, weekdays=[best_weekday], preferred_hour=hour
        )
    slot = slot or next_slot(
        earliest=earliest, zone=zone, window=window, deadline=deadline, weekdays=weekdays, preferred_hour=hour
    )
    if slot is None and weekdays:
        # No preferred weekday before the deadline: the last slot the window allows, rather than nothing.
        slot = last_slot(earliest=earliest, zone=zone, window=window, deadline=deadline)
    return slot, ("" if slot else Reason.DEADLINE)
