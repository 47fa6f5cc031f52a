"""When a message may go out for this customer: window, quiet hours, pause, weekdays, learned hour, caps.

The rules read settings and the customer's preferences and hand the times to the pure functions
of ``scheduling.slots``; planners (notify, fan-out, re-planning) and the dispatcher share them.
"""

import bisect
import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import Q

from crm.models import Customer
from notifications.models import Notification, Preference, Topic, occasion_of
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


def contact_cap(preference: Preference | None) -> int:
    """Contacts a week across every channel: the customer's own answer when they gave one
    (``max_per_week["all"]``, or the sum of their per-channel answers when that is lower), else
    the house default."""
    default = settings.NOTIFICATION_CONTACT_MAX_PER_WEEK
    answers = (preference.max_per_week or {}) if preference else {}
    if answers.get("all") is not None:
        return int(answers["all"])
    per_channel = [int(value) for key, value in answers.items() if key in settings.NOTIFICATION_DEFAULT_MAX_PER_WEEK]
    if per_channel:
        caps = {**settings.NOTIFICATION_DEFAULT_MAX_PER_WEEK, **{k: int(v) for k, v in answers.items() if k != "all"}}
        return min(default, sum(int(v) for k, v in caps.items() if k in settings.NOTIFICATION_DEFAULT_MAX_PER_WEEK))
    return default


def contact_spacing() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.NOTIFICATION_CONTACT_MIN_SPACING_HOURS)


WEEK = datetime.timedelta(days=7)


def next_contact_at(
    sent: list[datetime.datetime], *, now: datetime.datetime, cap: int, spacing: datetime.timedelta
) -> tuple[datetime.datetime | None, str]:
    """When one more counted contact may go after the customer's counted contacts ``sent`` (any
    channel, sorted, none after ``now``; each one a contact: an SMS and an e-mail minutes apart are
    two); (None, "") when it may go ``now``, (the earliest instant, the rule that holds it) when
    it must wait, (None, CAPPED) when the customer wants no such contact at all (a cap of 0).

    Spacing: no two contacts closer than ``spacing``. Cap: never more than ``cap`` contacts in any
    rolling 7 days, i.e. the new one comes at least a week after the ``cap``-th latest. A pure
    function: the dispatcher calls it with what it read for the whole batch.
    """
    if cap <= 0:
        return None, Reason.CAPPED  # no marketing contact at all: nothing to wait for
    candidates = []
    if sent:
        candidates.append((sent[-1] + spacing, Reason.SPACING))
    if len(sent) >= cap:
        candidates.append((sent[-cap] + WEEK, Reason.CAPPED))
    later = [candidate for candidate in candidates if candidate[0] > now]
    if not later:
        return None, ""
    return max(later)


def planned_contacts(customer_id: int, *, now: datetime.datetime) -> list[datetime.datetime]:
    """The customer's counted contacts around ``now``: sent in the last week, or waiting to go."""
    rows = Notification.objects.filter(
        Q(sent_at__gt=now - WEEK) | Q(status__in=["scheduled", "deferred"], send_at__gt=now - contact_spacing()),
        customer_id=customer_id,
        topic__counts_against_cap=True,
    ).values_list("sent_at", "send_at")
    return sorted(sent_at or send_at for sent_at, send_at in rows)


def spaced_slot(slot: datetime.datetime, contacts: list[datetime.datetime], *, reschedule) -> datetime.datetime:
    """``slot`` moved past any contact closer than the spacing, when ``reschedule(earliest)`` (the
    customer's window and deadline) offers a later slot; else ``slot`` as it was, and the
    dispatcher decides with what has actually gone out by then (a planned contact may not go)."""
    spacing = contact_spacing()
    candidate = slot
    for _ in range(len(contacts) + 1):
        clash = [at for at in contacts if abs(at - candidate) < spacing]
        if not clash:
            return candidate
        later, _reason = reschedule(max(clash) + spacing)
        if later is None:
            return slot
        candidate = later
    return slot


class ContactLog:
    """Counted contacts (messages of topics that count against the caps) of a batch's customers over
    the last 7 days, read in one query; the sends the batch makes are added as it goes.

    Serves the per-channel caps and the cross-channel rules (spacing, weekly contacts) alike.
    One occasion on several channels (an SMS teaser and the e-mail with the detail) is one message
    to the cross-channel rules: its rows are not spaced from each other (``times(besides=...)``).
    """

    def __init__(self, customer_ids, *, now: datetime.datetime):
        self.sends: dict[int, list[tuple[datetime.datetime, str, str]]] = defaultdict(list)
        if not customer_ids:
            return
        rows = (
            Notification.objects.filter(
                customer_id__any=list(customer_ids),
                topic__counts_against_cap=True,
                sent_at__gt=now - WEEK,
            )
            .order_by()
            .values_list("customer_id", "sent_at", "channel", "dedupe_key")
        )
        for customer_id, sent_at, channel, dedupe_key in rows:
            self.sends[customer_id].append((sent_at, channel, occasion_of(dedupe_key)))
        for sends in self.sends.values():
            sends.sort()

    def add(self, customer_id: int, channel: str, at: datetime.datetime, occasion: str = "") -> None:
        bisect.insort(self.sends[customer_id], (at, channel, occasion))

    def on_channel(self, customer_id: int, channel: str, now: datetime.datetime) -> tuple[int, datetime.datetime]:
        """(how many went out on ``channel`` in the last 7 days, the oldest of them)."""
        times = [at for at, ch, _occasion in self.sends.get(customer_id, ()) if ch == channel and at > now - WEEK]
        return len(times), (times[0] if times else now)

    def times(self, customer_id: int, *, besides: str = "") -> list[datetime.datetime]:
        """The customer's counted contacts, those of the occasion ``besides`` left out."""
        return [at for at, _channel, occasion in self.sends.get(customer_id, ()) if not besides or occasion != besides]


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
