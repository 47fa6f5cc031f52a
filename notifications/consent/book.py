"""Consent as customers gave it: their events read once, answering "may we?" per channel and topic.

The book is read for many customers at once, so the dispatcher and the planners check a whole
batch with one query; the badge sums up what a customer agreed to.
"""

from collections import defaultdict

from notifications.models import Channel, ConsentEvent, Preference, Topic

GRANTED = ConsentEvent.Action.GRANTED
WITHDRAWN = ConsentEvent.Action.WITHDRAWN
Scope = ConsentEvent.Scope
BADGE_CHANNELS = (Channel.EMAIL, Channel.SMS)
# Channels a customer may take news and offers on (the pages and surveys ask about these). Letters
# carry only the topics that plan them (greetings, thanks), and only where the customer agreed.
MARKETING_CHANNELS = (Channel.EMAIL, Channel.SMS, Channel.MESSENGER, Channel.POSTAL)


NEWEST = ("-created_at", "-id")  # the order a ConsentBook reads events in
# What a ConsentBook reads of an event (a book may be built from these alone, see outbox.write).
CONSENT_FIELDS = ("id", "customer_id", "channel", "topic_id", "scope", "action")


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
        events = ConsentEvent.objects.filter(customer_id__any=list(customer_ids)).select_related("topic")
        return cls(list(events.order_by(*NEWEST)))

    def with_events(self, events: list[ConsentEvent]) -> "ConsentBook":
        """This book with ``events`` (oldest first) recorded after everything in it, without reading it again."""
        book = ConsentBook([])
        for customer_id, known in self._events.items():
            book._events[customer_id] = list(known)
        for event in events:
            book._events[event.customer_id].insert(0, event)
        return book

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
