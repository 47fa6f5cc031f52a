"""Who may be told what, on which channel, when: consent, contact points, windows and caps.

Every function here reads; the batch loaders take many customers at once so the dispatcher
checks a whole batch with a handful of queries.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, Q

from crm.models import Customer
from notifications.models import Channel, ConsentEvent, ContactSuppression, Notification, Preference, Topic
from notifications.scheduling import intersect, parse_time

Reason = Notification.Reason
AVAILABLE_CHANNELS = {Channel.EMAIL, Channel.SMS}  # channels with a backend; the others come with their issue


def channel_available(channel: str) -> bool:
    return channel in settings.NOTIFICATION_BACKENDS


def contact_point(customer: Customer, channel: str, preference: Preference | None = None) -> str:
    """Where a message on ``channel`` goes for this customer; "" when there is nowhere."""
    if channel == Channel.MESSENGER:
        if preference is None or not preference.messenger:
            return ""
        if preference.messenger == "telegram" and preference.telegram_chat_id:
            return f"telegram:{preference.telegram_chat_id}"
        if preference.messenger == "whatsapp" and customer.phone:
            return f"whatsapp:{customer.phone}"
        return ""
    if channel == Channel.EMAIL:
        return customer.email
    if channel == Channel.SMS:
        return str(customer.phone) if customer.phone else ""
    if channel == Channel.POSTAL:
        if customer.address_line and customer.city:
            return f"{customer.address_line}, {customer.postal_code} {customer.city}".replace("  ", " ")
        return ""
    return ""


def suppressed_contacts(customers) -> set[tuple[str, str]]:
    """(channel, address) pairs among these customers' contact points that bounced or complained."""
    emails = {c.email for c in customers if c.email}
    phones = {str(c.phone) for c in customers if c.phone}
    if not emails and not phones:
        return set()
    rows = ContactSuppression.objects.filter(
        Q(channel=Channel.EMAIL, address__in=emails) | Q(channel=Channel.SMS, address__in=phones)
    ).values_list("channel", "address")
    return set(rows)


class ConsentBook:
    """The consent events of some customers, read once; answers "may we?" per channel and topic.

    The latest event for the channel that covers the topic (the topic itself or all topics)
    decides. Marketing needs an explicit grant; transactional messages go unless withdrawn.
    """

    def __init__(self, events: list[ConsentEvent]):
        self._events: dict[tuple[int, str], list[ConsentEvent]] = defaultdict(list)
        for event in events:  # newest first
            self._events[(event.customer_id, event.channel)].append(event)

    @classmethod
    def for_customers(cls, customer_ids) -> "ConsentBook":
        return cls(list(ConsentEvent.objects.filter(customer_id__in=list(customer_ids)).order_by("-created_at", "-id")))

    def latest(self, customer_id: int, channel: str, topic: Topic | None) -> ConsentEvent | None:
        for event in self._events.get((customer_id, channel), ()):
            if event.topic_id is None or (topic is not None and event.topic_id == topic.pk):
                return event
        return None

    def allows(self, customer_id: int, channel: str, topic: Topic) -> bool:
        event = self.latest(customer_id, channel, topic)
        if event is None:
            # Messengers carry nothing, not even service messages, without the customer's opt-in.
            return not topic.is_marketing and channel != Channel.MESSENGER
        return event.action == ConsentEvent.Action.GRANTED

    def marketing_channels(self, customer_id: int) -> set[str]:
        """Channels with a standing all-topics marketing grant (for the badge)."""
        granted = set()
        for channel in Channel.values:
            event = self.latest(customer_id, channel, None)
            if event is not None and event.action == ConsentEvent.Action.GRANTED:
                granted.add(channel)
        return granted

    def withdrawn_everything(self, customer_id: int) -> bool:
        return all(
            (event := self.latest(customer_id, channel, None)) is not None
            and event.action == ConsentEvent.Action.WITHDRAWN
            for channel in (Channel.EMAIL, Channel.SMS)
        )


def badge_for(book: ConsentBook, customer_id: int) -> str:
    marketing = book.marketing_channels(customer_id) & {Channel.EMAIL, Channel.SMS}
    if marketing == {Channel.EMAIL, Channel.SMS}:
        return Preference.Badge.FULL
    if marketing == {Channel.EMAIL}:
        return Preference.Badge.EMAIL_ONLY
    if marketing == {Channel.SMS}:
        return Preference.Badge.SMS_ONLY
    if book.withdrawn_everything(customer_id):
        return Preference.Badge.NONE
    return Preference.Badge.SERVICE_ONLY


@dataclass(frozen=True)
class Plan:
    channel: str
    reason: str = ""  # empty: may be scheduled; otherwise why not


def plan_channels(
    customer: Customer,
    topic: Topic,
    preference: Preference | None,
    book: ConsentBook,
    suppressed: set[tuple[str, str]] = frozenset(),
) -> list[Plan]:
    """The channels this message goes out on, with a reason for each one it cannot.

    The topic's plan, with the customer's preferred channel for the topic taking the place of
    the plan's first channel when the topic allows it; a planned channel the customer cannot
    get (no contact point, no consent, no backend) falls back to an alternative (no phone →
    e-mail). A channel that has no workable alternative is kept with its reason.
    """
    planned = list(topic.channels)
    preferred = (preference.preferred_channels or {}).get(topic.code) if preference else None
    alternatives = list(topic.alternatives)
    if preferred and preferred in topic.alternatives and preferred not in planned and planned:
        # The customer's choice first; the topic's own channel becomes its first fallback.
        alternatives.insert(0, planned[0])
        planned[0] = preferred
    alternatives = [c for c in dict.fromkeys(alternatives) if c not in planned]
    result: list[Plan] = []
    used: set[str] = set()

    def problem(channel: str) -> str:
        if not channel_available(channel):
            return Reason.CHANNEL_UNAVAILABLE
        address = contact_point(customer, channel, preference)
        if not address:
            return Reason.NO_CONTACT
        if (channel, address) in suppressed:
            return Reason.SUPPRESSED_CONTACT
        if not book.allows(customer.pk, channel, topic):
            return Reason.NO_CONSENT
        return ""

    for channel in planned:
        reason = problem(channel)
        if reason:
            substitute = next((alt for alt in alternatives if alt not in used and not problem(alt)), None)
            if substitute:
                alternatives.remove(substitute)
                used.add(substitute)
                result.append(Plan(substitute))
                continue
        used.add(channel)
        result.append(Plan(channel, reason))
    return result


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
