"""Store occasions staff announce: an opening-hours change and a store opening (issue 16).

- **Opening-hours change**: an SMS (a service message, the customer's chain otherwise) the day
  before, inside each customer's window, only to that store's customers: those whose home store
  it is and those who bought there in the last year. Not sent on the day itself: then it is late.
- **Store opening**: news (marketing, so consent and caps apply) to those who live in the store's
  district or one of its neighbours, or chose one of them for local news.

Staff write the text once per language (English required); a customer whose language has no text
gets the English one. Set-based: one fan-out per language, however many customers.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from crm.models import Customer, Language, Store
from loyalty.models import BonusTransaction
from notifications.models import Preference
from notifications.outbox.fanout import FanOut, notify_many

HOURS_TOPIC = "opening-hours"
OPENING_TOPIC = "store-opening"


@dataclass
class Announcement:
    """What an announcement did (or would do): customers per language and outcome."""

    customers: int = 0
    queued: int = 0
    suppressed: dict = field(default_factory=dict)
    by_language: dict = field(default_factory=dict)

    def add(self, language: str, report: FanOut) -> None:
        self.customers += report.customers
        self.queued += report.queued
        self.by_language[language] = report.customers
        for reason, count in report.suppressed.items():
            self.suppressed[reason] = self.suppressed.get(reason, 0) + count


def store_customers(store: Store, *, now: datetime.datetime | None = None) -> QuerySet[Customer]:
    """The store's customers: it is their home store, or they bought there in the last year."""
    now = now or timezone.now()
    bought_there = BonusTransaction.objects.filter(
        account__customer=OuterRef("pk"),
        store=store,
        kind=BonusTransaction.Kind.ACCRUAL,
        occurred_at__gt=now - datetime.timedelta(days=365),
    )
    return Customer.objects.filter(Q(home_store=store) | Exists(bought_there), is_active=True)


def district_customers(store: Store) -> QuerySet[Customer]:
    """Those who live in the store's district or a neighbouring one, or chose one of them for local news."""
    districts = [store.district_id, *store.district.neighbours.values_list("pk", flat=True)]
    chose = Preference.districts.through.objects.filter(preference__customer=OuterRef("pk"), district_id__in=districts)
    return Customer.objects.filter(Q(home_district__in=districts) | Exists(chose), is_active=True)


def _announce(customers, *, topic: str, texts: dict, prefix: str, now, not_before=None, deadline=None) -> Announcement:
    english = texts[settings.LANGUAGE_CODE]
    result = Announcement()
    with transaction.atomic():
        for language in Language.values:
            report = notify_many(
                customers=customers.filter(language=language),
                topic=topic,
                context={"text": texts.get(language) or english},
                dedupe_prefix=prefix,
                now=now,
                not_before=not_before,
                deadline=deadline,
            )
            result.add(language, report)
    return result


def opening_hours_change_announce(
    *, store: Store, day: datetime.date, texts: dict[str, str], now: datetime.datetime | None = None
) -> Announcement:
    """Tell the store's customers, the day before ``day`` (store time), what changes that day."""
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(store.time_zone)
    day_before = datetime.datetime.combine(day - datetime.timedelta(days=1), datetime.time(0, 0), tzinfo=zone)
    on_the_day = datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=zone)
    if now >= on_the_day:
        raise ValueError("the day has begun: an opening-hours change is announced the day before")
    return _announce(
        store_customers(store, now=now),
        topic=HOURS_TOPIC,
        texts=texts,
        prefix=f"hours:{store.code}:{day.isoformat()}",
        now=now,
        not_before=day_before,
        deadline=on_the_day,
    )


def store_opening_announce(
    *, store: Store, texts: dict[str, str], now: datetime.datetime | None = None
) -> Announcement:
    """Tell the store's district and its neighbours that the store opens (once per store)."""
    now = now or timezone.now()
    return _announce(
        district_customers(store), topic=OPENING_TOPIC, texts=texts, prefix=f"opening:{store.code}", now=now
    )
