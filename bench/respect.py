"""A simulated month of customers with hidden habits, driven through the real services (issue 18).

Each simulated customer has a true reading hour and favourite weekday, an interest in offers and a
tolerance for how many a week they accept; the CRM never sees these, only what the customer does.
The clock (time-machine) moves an hour at a time through a month that crosses a DST change:

- campaigns are launched with ``notify_many`` (each launch twice: a replay must write nothing);
- purchases go through ``loyalty.services.purchase_record`` (its signal writes the service SMS);
- consent is granted and withdrawn with ``consent_record``;
- the dispatcher (``dispatch.drain``) sends what is due through a test channel backend;
- the customers' opens, unsubscribes and a few bounces come back as provider events
  (``delivery_event_record``), processed as the task a webhook wakes processes them;
- the learning job runs once a night.

Afterwards every message sent is checked against the rules (window, stated weekdays, quiet hours,
consent at send time, weekly cap, spacing between contacts, offer validity, duplicates, deadline).
Variants: ``learning`` (send-time and frequency learning on), ``off`` (learning switched off for
the topics: sent at the first allowed time after the launch) and ``fixed`` (learning off, each
campaign launched at 10:00 in every customer's zone).
"""

import dataclasses
import datetime
import heapq
import itertools
import math
import random
import zoneinfo
from collections import Counter, defaultdict
from decimal import Decimal

import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

from crm.models import Customer, District, Store
from loyalty.services import purchase_record
from notifications.consent.book import NEWEST, ConsentBook
from notifications.consent.services import consent_record
from notifications.delivery.dispatch import drain
from notifications.inbound.events import delivery_event_process, delivery_event_record
from notifications.models import ConsentEvent, Notification, Preference, Topic, occasion_of
from notifications.outbox.fanout import notify_many
from notifications.scheduling.learning import send_times_learn
from notifications.scheduling.rules import weekly_cap, window_for
from notifications.scheduling.slots import is_inside, next_slot, parse_time

UTC = datetime.UTC
VARIANTS = ("learning", "off", "fixed")
# A Monday; Europe springs forward on 29 March 2026, inside the month.
START = datetime.datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
ZONES = [("Europe/Tallinn", 0.4), ("Europe/Helsinki", 0.3), ("Europe/Stockholm", 0.15), ("Europe/Riga", 0.15)]
LANGUAGES = {
    "Europe/Tallinn": [("et", 0.6), ("ru", 0.4)],
    "Europe/Helsinki": [("fi", 0.8), ("sv", 0.2)],
    "Europe/Stockholm": [("sv", 1.0)],
    "Europe/Riga": [("ru", 0.5), ("en", 0.5)],
}
# When each language's customers mostly read (local hour): the segment a prior can learn.
READING_HOUR = {"et": 19, "fi": 12, "ru": 20, "sv": 8, "en": 17}
# Marketing campaigns by weekday: (topic, local launch hour in UTC for "learning"/"off").
CAMPAIGNS = {1: "promotion", 4: "promotion"}
LAUNCH_UTC_HOUR = 7
FIXED_LOCAL_HOUR = 10
NOTIFY_TOPICS = ("promotion", "store-opening")
BUCKET = datetime.timedelta(hours=1)


def _pick(rng: random.Random, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


@dataclasses.dataclass
class Habit:
    """What the CRM never sees: how one customer reads and how much they take."""

    hour: int
    weekday: int
    interest: float
    tolerance: int
    bounces: bool
    withdraws_on: int | None  # day of the month the customer withdraws e-mail marketing


def _habits(n: int, seed: int) -> list[tuple[dict, Habit]]:
    rng = random.Random(seed)
    people = []
    for i in range(n):
        zone = _pick(rng, ZONES)
        language = _pick(rng, LANGUAGES[zone])
        if rng.random() < 0.7:
            hour = min(22, max(7, round(rng.gauss(READING_HOUR[language], 1.5))))
        else:
            hour = rng.randint(7, 22)
        ignorer = rng.random() < 0.25
        habit = Habit(
            hour=hour,
            weekday=rng.randrange(7),
            interest=rng.uniform(0.02, 0.1) if ignorer else rng.uniform(0.35, 0.85),
            tolerance=1 if ignorer else rng.choice([1, 2, 2, 3, 3, 4]),
            bounces=rng.random() < 0.01,
            withdraws_on=rng.randrange(3, 28) if rng.random() < 0.03 else None,
        )
        fields = {
            "first_name": f"Sim{i}",
            "email": f"sim{i}@example.com",
            "phone": f"+3725{i:07d}" if rng.random() < 0.8 else "",
            "external_id": f"SIM-{i:07d}",
            "language": language,
            "time_zone": zone,
            "email_consent": rng.random() < 0.85,
            "sms_consent": rng.random() < 0.7,
            "window": (datetime.time(10), datetime.time(18)) if rng.random() < 0.1 else None,
            "weekdays": sorted(rng.sample(range(7), 3)) if rng.random() < 0.15 else [],
            "purchases": [
                (day, rng.randint(8 * 60, 22 * 60 - 1)) for day in range(40) if rng.random() < 0.02
            ],  # (day, local minute of the day)
            "rng": random.Random(rng.random()),
        }
        people.append((fields, habit))
    return people


@dataclasses.dataclass
class Result:
    variant: str
    customers: int
    days: int
    violations: dict[str, int]
    marketing_sent: int = 0
    email_marketing_sent: int = 0
    opened: int = 0
    unsubscribed: int = 0
    planned: int = 0
    reached: int = 0
    thinned: int = 0
    service_sent: int = 0

    @property
    def open_rate(self) -> float:
        return self.opened / self.email_marketing_sent if self.email_marketing_sent else 0.0

    @property
    def reach(self) -> float:
        return self.reached / self.planned if self.planned else 0.0


def _reset() -> None:
    """Empty what a previous variant left (the topics and templates stay: they come from migrations)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE crm_customer, crm_store, crm_district, notifications_deliveryevent, "
            "notifications_sendtimeprior RESTART IDENTITY CASCADE"
        )


def _setup(people, variant: str):
    district = District.objects.create(name="Centre", city="Tallinn", country="EE")
    store = Store.objects.create(code="SIM-01", name="Sim store", district=district, address="Main 1")
    customers = Customer.objects.bulk_create(
        [
            Customer(
                first_name=f["first_name"],
                email=f["email"],
                phone=f["phone"],
                external_id=f["external_id"],
                language=f["language"],
                time_zone=f["time_zone"],
            )
            for f, _habit in people
        ]
    )
    preferences = []
    for customer, (f, _habit) in zip(customers, people, strict=True):
        if f["window"] or f["weekdays"]:
            start, end = f["window"] or (None, None)
            preferences.append(
                Preference(customer=customer, window_start=start, window_end=end, weekdays=f["weekdays"])
            )
    Preference.objects.bulk_create(preferences)
    # The consent the shop imported before the month (changes during the month go through consent_record).
    granted = {"action": ConsentEvent.Action.GRANTED, "source": ConsentEvent.Source.IMPORT}
    ConsentEvent.objects.bulk_create(
        [
            *(
                ConsentEvent(customer=customer, channel="email", scope=ConsentEvent.Scope.MARKETING, **granted)
                for customer, (f, _habit) in zip(customers, people, strict=True)
                if f["email_consent"]
            ),
            *(
                ConsentEvent(customer=customer, channel="sms", scope=ConsentEvent.Scope.CHANNEL, **granted)
                for customer, (f, _habit) in zip(customers, people, strict=True)
                if f["sms_consent"] and f["phone"]
            ),
        ]
    )
    learn = variant == "learning"
    for topic in Topic.objects.filter(code__in=NOTIFY_TOPICS):
        topic.learn_send_time = learn
        topic.save()
    return store, customers


def _sessions(habit: Habit, zone, after: datetime.datetime, rng: random.Random):
    """The customer's reading sessions after ``after``: one a day at their hour, more likely on their day."""
    day = after.astimezone(zone).date()
    for offset in range(4):
        date = day + datetime.timedelta(days=offset)
        moment = datetime.datetime.combine(date, datetime.time(habit.hour, rng.randrange(60)), tzinfo=zone)
        moment = moment.astimezone(UTC)
        if moment < after:
            continue
        if rng.random() < (0.95 if date.weekday() == habit.weekday else 0.6):
            yield moment


class _Simulation:
    def __init__(self, *, customers: int, days: int, seed: int, variant: str):
        self.n, self.days, self.variant = customers, days, variant
        self.people = _habits(customers, seed)
        self.events: list[tuple] = []  # (when, sequence, kind, notification id, customer index)
        self.sequence = 0
        self.sent_marketing: dict[int, list[datetime.datetime]] = defaultdict(list)
        self.unsubscribed: set[int] = set()
        self.bounced: set[int] = set()

    def push(self, when, kind, notification_id, index):
        self.sequence += 1
        heapq.heappush(self.events, (when, self.sequence, kind, notification_id, index))

    def launches(self, day: int) -> list[tuple[datetime.datetime, str, str | None]]:
        """(moment, topic, zone or None for everyone) of the campaigns launched on ``day``."""
        date = (START + datetime.timedelta(days=day)).date()
        topic = CAMPAIGNS.get(date.weekday())
        if topic is None:
            return []
        if self.variant != "fixed":
            return [(datetime.datetime.combine(date, datetime.time(LAUNCH_UTC_HOUR), tzinfo=UTC), topic, None)]
        return [
            (
                datetime.datetime.combine(
                    date, datetime.time(FIXED_LOCAL_HOUR), tzinfo=zoneinfo.ZoneInfo(zone)
                ).astimezone(UTC),
                topic,
                zone,
            )
            for zone, _share in ZONES
        ]

    def run(self) -> Result:
        _reset()
        end = START + datetime.timedelta(days=self.days)
        with time_machine.travel(START - datetime.timedelta(days=1), tick=False) as clock:
            store, customers = _setup(self.people, self.variant)
            self.customers = customers
            self.index = {customer.pk: i for i, customer in enumerate(customers)}
            launches = [launch for day in range(self.days) for launch in self.launches(day)]
            purchases = sorted(
                (
                    datetime.datetime.combine(
                        (START + datetime.timedelta(days=day)).date(),
                        datetime.time(minute // 60, minute % 60),
                        tzinfo=zoneinfo.ZoneInfo(f["time_zone"]),
                    ).astimezone(UTC),
                    i,
                )
                for i, (f, _habit) in enumerate(self.people)
                for day, minute in f["purchases"]
                if day < self.days
            )
            withdrawals = sorted(
                (START + datetime.timedelta(days=habit.withdraws_on, hours=11), i)
                for i, (_f, habit) in enumerate(self.people)
                if habit.withdraws_on is not None and habit.withdraws_on < self.days
            )
            now = START
            while now < end:
                step_end = now + BUCKET
                for at, i in [p for p in purchases if now <= p[0] < step_end]:
                    clock.move_to(at)
                    purchase_record(
                        customer=customers[i],
                        store=store,
                        receipt_id=f"R-{i}-{at.timestamp():.0f}",
                        amount=Decimal("25.00"),
                        currency="EUR",
                        occurred_at=at,
                    )
                for at, i in [w for w in withdrawals if now <= w[0] < step_end]:
                    clock.move_to(at)
                    consent_record(
                        customer=customers[i],
                        channel="email",
                        scope="marketing",
                        action="withdrawn",
                        source="preference_page",
                    )
                for at, topic, zone in [launch for launch in launches if now <= launch[0] < step_end]:
                    clock.move_to(at)
                    campaign = f"{at.date().isoformat()}-{topic}"  # one occasion whatever the zone's hour
                    members = Customer.objects.all() if zone is None else Customer.objects.filter(time_zone=zone)
                    hours = Topic.objects.get(
                        code=topic
                    ).deadline_hours  # the offer lasts as long as the message may wait
                    context = {
                        "title": "Spring offer",
                        "text": "Our spring offer.",
                        "valid_until": (at + datetime.timedelta(hours=hours)).isoformat(),
                    }
                    for _replay in range(2):
                        notify_many(
                            customers=members, topic=topic, context=context, dedupe_prefix=f"sim-{campaign}", now=at
                        )
                now = step_end
                clock.move_to(now)
                self.feed(now)
                if drain(now=now).get("sent"):
                    self.respond(now - BUCKET, now)
                if now.hour == 2:
                    send_times_learn(now=now)
            self.feed(end + datetime.timedelta(days=5))
        return self.result(end)

    def feed(self, now: datetime.datetime) -> None:
        """The provider's events up to ``now``, recorded and processed like a webhook's."""
        while self.events and self.events[0][0] <= now:
            when, _seq, kind, notification_id, index = heapq.heappop(self.events)
            if kind == "unsubscribed" and index in self.unsubscribed:
                continue
            if kind == "unsubscribed":
                self.unsubscribed.add(index)
            event = delivery_event_record(
                provider="sim",
                channel="email",
                event_type=kind,
                occurred_at=when,
                event_id=f"{kind}-{notification_id}",
                metadata={"notification_id": notification_id},
                recipient=self.customers[index].email if kind == "bounced" else "",
            )
            if event is not None:  # what the task the webhook wakes does (the sweep is beat's backstop)
                delivery_event_process(event.pk)

    def respond(self, since: datetime.datetime, until: datetime.datetime) -> None:
        """What each customer does with the e-mails sent in the last step."""
        rows = Notification.objects.filter(sent_at__gt=since, sent_at__lte=until, status="sent").values_list(
            "pk", "customer_id", "channel", "topic__counts_against_cap", "topic__kind", "sent_at"
        )
        for pk, customer_id, channel, capped, kind, sent_at in rows:
            index = self.index[customer_id]
            fields, habit = self.people[index]
            if capped:
                self.sent_marketing[index].append(sent_at)
            if channel != "email" or kind != "marketing":
                continue
            if habit.bounces and index not in self.bounced:
                self.bounced.add(index)
                self.push(sent_at + datetime.timedelta(minutes=1), "bounced", pk, index)
                continue
            rng, zone = fields["rng"], zoneinfo.ZoneInfo(fields["time_zone"])
            session = next(_sessions(habit, zone, sent_at, rng), None)
            if session is None:
                continue
            age = (session - sent_at).total_seconds() / 3600
            # On top of the inbox when they look: likely opened; buried under a day's mail: less so.
            if rng.random() < habit.interest * (0.3 + 0.7 * math.exp(-age / 3)):
                self.push(session + datetime.timedelta(minutes=rng.randrange(10)), "opened", pk, index)
                continue
            week = [at for at in self.sent_marketing[index] if session - datetime.timedelta(days=7) <= at <= session]
            if rng.random() < (0.15 if len(week) > habit.tolerance else 0.003):
                self.push(session + datetime.timedelta(minutes=5), "unsubscribed", pk, index)

    def result(self, end) -> Result:
        checked = check_rules()
        marketing = Notification.objects.filter(topic__kind="marketing", topic__code__in=NOTIFY_TOPICS)
        sent = marketing.filter(sent_at__isnull=False)
        email = sent.filter(channel="email")
        # Messages that could go (consent and a contact point at planning) and whose deadline fell in the month.
        deliverable = marketing.filter(deadline__lte=end).exclude(
            status="suppressed", reason__in=["no_consent", "no_contact", "thinned"]
        )
        return Result(
            variant=self.variant,
            customers=self.n,
            days=self.days,
            violations=checked,
            marketing_sent=sent.count(),
            email_marketing_sent=email.count(),
            opened=email.filter(opened_at__isnull=False).count(),
            unsubscribed=len(self.unsubscribed),
            planned=deliverable.count(),
            reached=deliverable.filter(sent_at__isnull=False, sent_at__lte=end).count(),
            thinned=marketing.filter(reason="thinned").count(),
            service_sent=Notification.objects.filter(topic__kind="transactional", sent_at__isnull=False).count(),
        )


RULES = ("window", "weekdays", "quiet hours", "consent", "cap", "spacing", "freshness", "duplicates", "deadline")


def check_rules() -> dict[str, int]:
    """Every message sent, checked against each rule as it stood when it went out."""
    found = dict.fromkeys(RULES, 0)
    topics = {topic.pk: topic for topic in Topic.objects.all()}
    customers = {customer.pk: customer for customer in Customer.objects.all()}
    preferences = {p.customer_id: p for p in Preference.objects.all()}
    events = defaultdict(list)
    for event in ConsentEvent.objects.select_related("topic").order_by(*NEWEST):
        events[event.customer_id].append(event)
    spacing = datetime.timedelta(hours=getattr(settings, "CONTACT_MIN_SPACING_HOURS", 4))
    rows = list(
        Notification.objects.filter(sent_at__isnull=False)
        .order_by("sent_at", "pk")
        .values_list("customer_id", "topic_id", "channel", "sent_at", "deadline", "context", "dedupe_key")
    )
    capped_sends = defaultdict(list)
    contacts = defaultdict(list)
    per_occasion = Counter()
    for customer_id, topic_id, channel, sent_at, deadline, context, key in rows:
        topic, customer = topics[topic_id], customers[customer_id]
        preference = preferences.get(customer_id)
        zone = customer.zone
        window = window_for(topic, channel, preference)
        if topic.urgency != Topic.Urgency.IMMEDIATE and not is_inside(sent_at, zone=zone, window=window):
            found["window"] += 1
        quiet = settings.NOTIFICATION_QUIET_HOURS.get(channel)
        if quiet and not is_inside(sent_at, zone=zone, window=(parse_time(quiet[0]), parse_time(quiet[1]))):
            found["quiet hours"] += 1
        stated = preference.weekdays if preference and topic.urgency == Topic.Urgency.FLEXIBLE else []
        if stated and sent_at.astimezone(zone).weekday() not in stated:
            # Sent on another day although one of the stated days still came before the deadline.
            if next_slot(earliest=sent_at, zone=zone, window=window, deadline=deadline, weekdays=stated):
                found["weekdays"] += 1
        then = [event for event in events[customer_id] if event.created_at <= sent_at]
        if not ConsentBook(then).allows(customer_id, channel, topic):
            found["consent"] += 1
        if topic.counts_against_cap:
            capped_sends[(customer_id, channel)].append(sent_at)
            contacts[customer_id].append(sent_at)
        valid_until = (context or {}).get("valid_until")
        if valid_until and sent_at > datetime.datetime.fromisoformat(valid_until):
            found["freshness"] += 1
        per_occasion[(occasion_of(key), channel)] += 1
        if sent_at > deadline:
            found["deadline"] += 1
    found["duplicates"] = sum(count - 1 for count in per_occasion.values() if count > 1)
    for (customer_id, channel), times in capped_sends.items():
        cap = weekly_cap(channel, preferences.get(customer_id))
        if cap is None:
            continue
        for i, at in enumerate(times):
            if i >= cap and at - times[i - cap] < datetime.timedelta(days=7):
                found["cap"] += 1
    for times in contacts.values():
        found["spacing"] += sum(1 for a, b in itertools.pairwise(times) if b - a < spacing)
    return found


def simulate(*, customers: int = 1000, days: int = 30, seed: int = 18, variant: str = "learning") -> Result:
    """Run one variant of the simulated month in the current database (which it empties first)."""
    backends = {
        channel: "notifications.delivery.channels.sms.NullChannel" for channel in settings.NOTIFICATION_BACKENDS
    }
    with override_settings(NOTIFICATION_BACKENDS=backends):
        return _Simulation(customers=customers, days=days, seed=seed, variant=variant).run()


def table(results: list[Result]) -> str:
    """The figures side by side, one column per variant."""
    head = f"{'':28}" + "".join(f"{r.variant:>12}" for r in results)
    lines = [head]
    for rule in RULES:
        lines.append(f"{'violations: ' + rule:28}" + "".join(f"{r.violations[rule]:>12}" for r in results))
    rows = [
        ("marketing messages sent", lambda r: f"{r.marketing_sent}"),
        ("  of them e-mails", lambda r: f"{r.email_marketing_sent}"),
        ("spared (ignored topic)", lambda r: f"{r.thinned}"),
        ("reach before deadline", lambda r: f"{r.reach:.3f}"),
        ("e-mails opened", lambda r: f"{r.opened}"),
        ("open rate", lambda r: f"{r.open_rate:.3f}"),
        ("unsubscribed customers", lambda r: f"{r.unsubscribed}"),
        ("service messages sent", lambda r: f"{r.service_sent}"),
    ]
    for label, value in rows:
        lines.append(f"{label:28}" + "".join(f"{value(r):>12}" for r in results))
    return "\n".join(lines)
