"""Demo preferences and consent for demo customers: what an import and an opt-in survey would have left.

Every customer gets a preference row (some chose a time window, days, a language, fewer
messages, districts for local news, a channel for bonus messages); some agreed to news and
offers by e-mail or SMS, from an imported sign-up form or from the survey, with the wording
they were shown; survey respondents said no to some topics; a few later withdrew everything.
Each badge is what ``badge_for`` reads from that customer's events. Written a chunk of
customers at a time with COPY (``crm.bulk_load``).
"""

import datetime
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from crm.bulk_load import EpochSecond, ids_next, ids_take, moment_text, rows_load
from crm.models import Customer, District
from notifications.consent.book import MARKETING_CHANNELS, ConsentBook, badge_for
from notifications.consent.services import WORDING_VERSION
from notifications.models import Channel, ConsentEvent, Preference
from notifications.selectors import marketing_topics

Scope, Source = ConsentEvent.Scope, ConsentEvent.Source
GRANTED, WITHDRAWN = ConsentEvent.Action.GRANTED, ConsentEvent.Action.WITHDRAWN
CHUNK = 20_000

EMAIL_MARKETING = 0.55  # of customers with an e-mail address
SMS_MARKETING = 0.35  # of customers with a phone
FROM_SURVEY = 0.25  # of those who agreed: through the opt-in survey, not the imported sign-up form
TOPIC_DECLINED = 0.25  # a survey respondent's "not interested" per topic
WITHDREW_EVERYTHING = 0.03
WINDOWS = [(datetime.time(8), datetime.time(12)), (datetime.time(9), datetime.time(17)),
           (datetime.time(17), datetime.time(21)), (datetime.time(10), datetime.time(20))]  # fmt: skip
BONUS_TOPICS = ("bonus-credited", "bonus-debited", "bonus-expiring", "bonus-expired", "gift")
BONUS_BY_SMS = dict.fromkeys(BONUS_TOPICS, Channel.SMS)
BONUS_BY_EMAIL = dict.fromkeys(BONUS_TOPICS, Channel.EMAIL)
IMPORT_VERSION = "signup-form-2024"
FEWER = {Channel.EMAIL: 1, Channel.SMS: 1}
WORDINGS = {
    (Source.IMPORT, Channel.EMAIL): "Yes, e-mail me news and offers.",
    (Source.IMPORT, Channel.SMS): "Yes, text me news and offers.",
    (Source.SURVEY, Channel.EMAIL): "May we e-mail you news and offers?",
    (Source.SURVEY, Channel.SMS): "May we send you news and offers by SMS?",
    "topics": "Which topics interest you?",
    "everything": "Please send me only what the law requires.",
}

PREFERENCE_FIELDS = (
    "id", "customer", "preferred_channels", "window_start", "window_end", "weekdays", "max_per_week", "language",
    "badge", "updated_at",
)  # fmt: skip
CONSENT_FIELDS = (
    "customer", "channel", "topic", "scope", "action", "source", "wording", "wording_version", "created_at",
)  # fmt: skip


@dataclass
class _Chunk:
    preference: int  # the next preference id
    preferences: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    districts: list[tuple[int, int]] = field(default_factory=list)  # (preference, district)


class _Choices:
    """Draws each customer's consent and preferences (see the module) and reads the badge they earn."""

    def __init__(self, *, rng: random.Random, now: datetime.datetime):
        self.draw = rng.random
        self.now = int(now.timestamp())
        self.topics = list(marketing_topics())
        by_city: dict[tuple[str, str], list[int]] = defaultdict(list)
        districts = list(District.objects.values_list("pk", "country", "city"))
        for pk, country, city in districts:
            by_city[(country, city)].append(pk)
        self.neighbours = {pk: by_city[(country, city)] for pk, country, city in districts}
        self.badges: dict[tuple, str] = {}  # events as (scope, channel, action, topic), oldest first -> badge
        self.windows = [(start.isoformat(), end.isoformat()) for start, end in WINDOWS]

    def _badge(self, said: tuple) -> str:
        """The badge ``badge_for`` gives these events: the few patterns are each read once."""
        if said not in self.badges:
            topics = {topic.pk: topic for topic in self.topics}
            events = [
                SimpleNamespace(
                    customer_id=0, scope=scope, channel=channel, action=action, topic_id=topic, topic=topics.get(topic)
                )
                for scope, channel, action, topic in reversed(said)  # the book reads the newest first
            ]
            self.badges[said] = badge_for(ConsentBook(events), 0)
        return self.badges[said]

    def customer(self, chunk: _Chunk, customer_id: int, has_email: bool, has_phone: bool, district, joined: int):
        draw, now = self.draw, self.now
        said = []  # (scope, channel, action, topic, source, wording, version, second), oldest first
        survey = draw() < FROM_SURVEY
        source, version = (Source.SURVEY, WORDING_VERSION) if survey else (Source.IMPORT, IMPORT_VERSION)
        at = joined + int((now - joined) * draw()) if survey else joined
        granted = []
        if has_email and draw() < EMAIL_MARKETING:
            granted.append(Channel.EMAIL)
        if has_phone and draw() < SMS_MARKETING:
            granted.append(Channel.SMS)
        for channel in granted:
            said.append((Scope.MARKETING, channel, GRANTED, None, source, WORDINGS[(source, channel)], version, at))
        if granted and survey:
            for topic in self.topics:
                if draw() < TOPIC_DECLINED:
                    # As the survey records a topic left unticked: "no" to it on every channel for news.
                    for channel in MARKETING_CHANNELS:
                        said.append(
                            (Scope.TOPIC, channel, WITHDRAWN, topic.pk, source, WORDINGS["topics"], version, at)
                        )
        if granted and draw() < WITHDREW_EVERYTHING:
            later = at + 1 + int((now - at) * draw())
            said.append((Scope.EVERYTHING, granted[0], WITHDRAWN, None, Source.IMPORT, WORDINGS["everything"],
                         IMPORT_VERSION, later))  # fmt: skip
        events = chunk.events
        for n, (scope, channel, action, topic, source_, wording, version_, second) in enumerate(said):
            # A microsecond apart: the book reads events in the order they were recorded.
            created = f"{moment_text(second)[:19]}.{n:06d}+00:00"
            events.append((customer_id, channel, topic, scope, action, source_, wording, version_, created))
        badge = self._badge(tuple(event[:4] for event in said))
        start, end = self.windows[int(draw() * len(self.windows))] if draw() < 0.3 else (None, None)
        weekdays = sorted({int(draw() * 7) for _ in range(1 + int(draw() * 2))}) if draw() < 0.15 else []
        fewer = FEWER if draw() < 0.1 else {}
        language = "en" if draw() < 0.1 else ""
        channels = {}
        if draw() < 0.15:
            channels = BONUS_BY_SMS if has_phone else BONUS_BY_EMAIL
        preference = chunk.preference
        chunk.preference += 1
        chunk.preferences.append(
            (preference, customer_id, channels, start, end, weekdays, fewer, language, badge, moment_text(joined))
        )
        neighbours = self.neighbours.get(district)
        if neighbours and draw() < 0.1:
            for chosen in {neighbours[int(draw() * len(neighbours))] for _ in range(2)}:
                chunk.districts.append((preference, chosen))


def _customers(customer_ids: range) -> Iterator[list[tuple]]:
    reachable = {
        "has_email": ExpressionWrapper(~Q(email=""), output_field=BooleanField()),
        "has_phone": ExpressionWrapper(~Q(phone=""), output_field=BooleanField()),
        "joined": EpochSecond("created_at"),
    }
    for low in range(customer_ids.start, customer_ids.stop, CHUNK):
        yield list(
            Customer.objects.filter(pk__gte=low, pk__lt=min(low + CHUNK, customer_ids.stop))
            .annotate(**reachable)
            .order_by("pk")
            .values_list("pk", "has_email", "has_phone", "home_district_id", "joined")
        )


def consent_and_preferences_seed(*, customer_ids: range, seed: int = 1, now: datetime.datetime | None = None) -> int:
    """Give demo customers (by id) preferences, consent events and the badge those earn; returns how many events.

    The customers have no preferences yet (they were just seeded). The same seed gives the same choices
    for the same customers and ``now``.
    """
    first_card = Customer.objects.filter(pk=customer_ids.start).values_list("external_id", flat=True).first() or ""
    # Keyed by the seed and the first customer's card, not by ids the database gave: the same seed, the same choices.
    choices = _Choices(rng=random.Random(f"notifications-demo:{seed}:{first_card}"), now=now or timezone.now())
    events = 0
    with transaction.atomic():
        for customers in _customers(customer_ids):
            chunk = _Chunk(preference=ids_next(Preference))
            for customer_id, has_email, has_phone, district, joined in customers:
                choices.customer(chunk, customer_id, has_email, has_phone, district, joined)
            rows_load(Preference, PREFERENCE_FIELDS, chunk.preferences)
            rows_load(ConsentEvent, CONSENT_FIELDS, chunk.events)
            rows_load(Preference.districts.through, ("preference", "district"), chunk.districts)
            if chunk.preferences:
                ids_take(Preference, chunk.preferences[0][0], len(chunk.preferences))
            events += len(chunk.events)
    return events
