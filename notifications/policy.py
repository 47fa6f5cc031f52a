"""Who may be told what, on which channel, when: consent, contact points, windows and caps.

Every function here reads; the batch loaders take many customers at once so the dispatcher
checks a whole batch with a handful of queries.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Min, Q
from phonenumber_field.phonenumber import PhoneNumber

from crm.models import Customer
from notifications.models import Channel, ConsentEvent, ContactSuppression, Notification, Preference, Topic
from notifications.scheduling import intersect, parse_time

Reason = Notification.Reason
AVAILABLE_CHANNELS = {Channel.EMAIL, Channel.SMS}  # channels with a backend; the others come with their issue


def channel_available(channel: str) -> bool:
    return channel in settings.NOTIFICATION_BACKENDS


def phone_e164(customer: Customer) -> str:
    """The customer's phone as stored (E.164), or "".

    Not ``str(customer.phone)`` or ``if customer.phone``: both re-validate the number against the
    numbering plan, which costs more than everything else the dispatcher does for an SMS.
    """
    phone = customer.phone
    return phone.as_e164 if isinstance(phone, PhoneNumber) else (phone or "")


def contact_point(customer: Customer, channel: str, preference: Preference | None = None) -> str:
    """Where a message on ``channel`` goes for this customer; "" when there is nowhere."""
    if channel == Channel.MESSENGER:
        if preference is None or not preference.messenger:
            return ""
        if preference.messenger == "telegram" and preference.telegram_chat_id:
            return f"telegram:{preference.telegram_chat_id}"
        if preference.messenger == "whatsapp" and phone_e164(customer):
            return f"whatsapp:{phone_e164(customer)}"
        return ""
    if channel == Channel.EMAIL:
        return customer.email
    if channel == Channel.SMS:
        return phone_e164(customer)
    if channel == Channel.POSTAL:
        if customer.address_line and customer.city:
            return f"{customer.address_line}, {customer.postal_code} {customer.city}".replace("  ", " ")
        return ""
    return ""


def suppressed_contacts(customers) -> set[tuple[str, str]]:
    """(channel, address) pairs among these customers' contact points that bounced or complained."""
    emails = {c.email for c in customers if c.email}
    phones = {phone for c in customers if (phone := phone_e164(c))}
    if not emails and not phones:
        return set()
    rows = ContactSuppression.objects.filter(
        Q(channel=Channel.EMAIL, address__in=emails) | Q(channel=Channel.SMS, address__in=phones)
    ).values_list("channel", "address")
    return set(rows)


GRANTED = ConsentEvent.Action.GRANTED
WITHDRAWN = ConsentEvent.Action.WITHDRAWN
Scope = ConsentEvent.Scope
BADGE_CHANNELS = (Channel.EMAIL, Channel.SMS)


NEWEST = ("-created_at", "-id")  # the order a ConsentBook reads events in


class ConsentBook:
    """The consent events of some customers, read once; answers "may we?" per channel and topic.

    Each event covers what its scope says: one topic on one channel (``topic``); all marketing on
    one channel, including topics created later (``marketing``); every message on one channel,
    service included (``channel``, an SMS STOP); all marketing on every channel, the standing
    "only what the law requires" (``everything``). A grant of marketing on a channel also lifts
    an earlier block of that channel's service messages: who agrees to offers there agrees to
    hear from us there; withdrawing offers leaves service messages alone.

    Precedence for one topic on one channel, latest evidence first:

    1. A broad withdrawal (marketing, channel or everything) newer than the customer's own
       choice for this topic decides: withdrawn. So "no more by SMS" beats every earlier topic
       grant by SMS, and holds for a topic created tomorrow.
    2. Otherwise the latest choice for this very topic on this channel decides, even against a
       newer broad *grant*: the most specific thing the customer said stands ("no promotions by
       e-mail" survives ticking "e-mail" again), and a topic grant after a broad withdrawal lifts
       it for that topic and channel only.
    3. Otherwise the latest broad event decides.
    4. With no evidence, marketing needs an explicit grant; transactional messages go, except on
       a messenger, which carries nothing until the customer opts in.

    "Newer" is the order the events were recorded in (``created_at``, then ``id``).
    """

    def __init__(self, events: list[ConsentEvent]):
        self._events: dict[int, list[ConsentEvent]] = defaultdict(list)
        for event in events:  # newest first
            self._events[event.customer_id].append(event)

    @classmethod
    def for_customers(cls, customer_ids) -> "ConsentBook":
        events = ConsentEvent.objects.filter(customer_id__in=list(customer_ids)).select_related("topic")
        return cls(list(events.order_by(*NEWEST)))

    def has_events(self, customer_id: int) -> bool:
        """Whether this customer ever said anything about consent (else the defaults decide)."""
        return customer_id in self._events

    @staticmethod
    def _covers_broadly(event: ConsentEvent, channel: str, marketing: bool) -> bool:
        """Whether a topic-less event covers every topic of this kind on this channel."""
        if event.scope == Scope.EVERYTHING:
            return marketing
        if event.channel != channel:
            return False
        if event.scope == Scope.CHANNEL:
            return True
        if event.scope == Scope.MARKETING:
            return marketing or event.action == GRANTED
        return False

    def decision(self, customer_id: int, channel: str, topic: Topic) -> ConsentEvent | None:
        """The event that decides this topic on this channel (None: nothing said, the default applies)."""
        broad_grant = None
        for event in self._events.get(customer_id, ()):
            if event.scope == Scope.TOPIC:
                if event.channel == channel and event.topic_id == topic.pk:
                    return event
            elif self._covers_broadly(event, channel, topic.is_marketing):
                if event.action == WITHDRAWN and broad_grant is None:
                    return event
                if event.action == GRANTED and broad_grant is None:
                    broad_grant = event
        return broad_grant

    def allows(self, customer_id: int, channel: str, topic: Topic) -> bool:
        event = self.decision(customer_id, channel, topic)
        if event is None:
            # Messengers carry nothing, not even service messages, without the customer's opt-in.
            return not topic.is_marketing and channel != Channel.MESSENGER
        return event.action == GRANTED

    def _broad(self, customer_id: int, channel: str, marketing: bool) -> ConsentEvent | None:
        for event in self._events.get(customer_id, ()):
            if event.scope != Scope.TOPIC and self._covers_broadly(event, channel, marketing):
                return event
        return None

    def marketing_on(self, customer_id: int, channel: str) -> bool:
        """A standing grant of marketing on this channel: every topic, new ones included, unless withdrawn singly."""
        event = self._broad(customer_id, channel, marketing=True)
        return event is not None and event.action == GRANTED

    def marketing_off(self, customer_id: int, channel: str) -> bool:
        """A standing withdrawal of marketing on this channel: no topic, new ones included, unless granted singly."""
        event = self._broad(customer_id, channel, marketing=True)
        return event is not None and event.action == WITHDRAWN

    def service_off(self, customer_id: int, channel: str) -> bool:
        """The whole channel is off (an SMS STOP): not even service messages go there."""
        event = self._broad(customer_id, channel, marketing=False)
        return event is not None and event.action == WITHDRAWN

    def topic_withdrawn(self, customer_id: int, channel: str, topic: Topic) -> bool:
        """The customer's own latest word on this topic on this channel is "no"."""
        for event in self._events.get(customer_id, ()):
            if event.scope == Scope.TOPIC and event.channel == channel and event.topic_id == topic.pk:
                return event.action == WITHDRAWN
        return False

    def marketing_channels(self, customer_id: int) -> set[str]:
        """Channels with a standing marketing grant (for the badge)."""
        return {channel for channel in Channel.values if self.marketing_on(customer_id, channel)}

    def withdrawn_everything(self, customer_id: int) -> bool:
        """The standing "only what the law requires": withdrawn everything, and no marketing granted since."""
        for event in self._events.get(customer_id, ()):
            if event.scope == Scope.EVERYTHING:
                return event.action == WITHDRAWN
            if event.action == GRANTED and (event.scope != Scope.TOPIC or event.topic.is_marketing):
                return False
        return False


def badge_for(book: ConsentBook, customer_id: int) -> str:
    marketing = book.marketing_channels(customer_id) & set(BADGE_CHANNELS)
    if marketing == set(BADGE_CHANNELS):
        return Preference.Badge.FULL
    if marketing == {Channel.EMAIL}:
        return Preference.Badge.EMAIL_ONLY
    if marketing == {Channel.SMS}:
        return Preference.Badge.SMS_ONLY
    if all(book.service_off(customer_id, channel) for channel in BADGE_CHANNELS):
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
