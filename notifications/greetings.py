"""Birthday and holiday greetings: early on the day, in the customer's own time zone and language.

Run hourly (beat job "greetings"): each run looks at the time zones where it is now a customer's
birthday or a greeted holiday, so every customer is greeted on their own day, and the message's
send time is the start of their window that day ("be first"). A gift, where the tier offers one,
goes through the ledger (``loyalty.services.gift_grant``): its bonus event becomes the greeting,
with the points in it. The others get the greeting alone, set-based. Every occasion is keyed
by the customer and the year, so running the job again (or every hour of the day) greets once.
"""

import datetime
from functools import lru_cache

import holidays
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from crm.models import Customer, Language
from crm.selectors import customers_with_birthday, local_days
from loyalty.services import birthday_gift_points, birthday_gifts_grant, gift_grant
from notifications.models import HolidayGreeting
from notifications.outbox.fanout import notify_many

BIRTHDAY_TOPIC = "birthday-greeting"
HOLIDAY_TOPIC = "holiday-greeting"
# The holiday calendar's names for our customers' languages (its own codes), English otherwise.
CALENDAR_LANGUAGE = {"en": "en_US", "et": "et", "fi": "fi", "ru": "ru", "sv": "sv"}


def birthday_greetings_send(*, now: datetime.datetime | None = None) -> int:
    """Greet everyone whose birthday it is where they live; the tier's gift with it. Returns greeted."""
    now = now or timezone.now()
    greeted = birthday_gifts_grant(now=now)  # those with a gift: the gift's message is the greeting
    for day, birthdays in customers_with_birthday(now=now):
        without_gift = birthdays.annotate(gift=birthday_gift_points()).filter(gift=0)
        with transaction.atomic():
            greeted += notify_many(
                customers=without_gift, topic=BIRTHDAY_TOPIC, context={}, dedupe_prefix=f"birthday:{day.year}", now=now
            ).queued
    return greeted


@lru_cache(maxsize=256)
def holiday_names(country: str, day: datetime.date, language: str) -> list[str]:
    """The holidays of ``country`` on ``day`` as the calendar names them in ``language`` (English if it has not).

    A pure function of its arguments, asked for each zone, greeting and language of an hourly run:
    each calendar is built once per process. Treat the list as read-only."""
    calendar = holidays.country_holidays(country, years=day.year)
    wanted = CALENDAR_LANGUAGE.get(language, "en_US")
    if wanted not in calendar.supported_languages:
        wanted = "en_US"
    return holidays.country_holidays(country, years=day.year, language=wanted).get_list(day)


def _country_customers(country: str) -> Q:
    """A customer's country is their own, else the shop's home country (``DEFAULT_PHONE_REGION``)."""
    if country == settings.DEFAULT_PHONE_REGION:
        return Q(country=country) | Q(country="")
    return Q(country=country)


def _holiday_gift_points() -> Coalesce:
    return Coalesce("bonus_account__tier__holiday_gift_points", Value(0))


def _greet_on_holiday(greeting: HolidayGreeting, customers: QuerySet[Customer], day: datetime.date, now) -> int:
    english = holiday_names(greeting.country, day, "en")
    position = english.index(greeting.holiday)
    key = f"holiday:{greeting.country}:{slugify(greeting.holiday)}:{day.year}"
    greeted = 0
    for language in Language.values:
        names = holiday_names(greeting.country, day, language)
        name = names[position] if len(names) == len(english) else greeting.holiday
        speakers = customers.filter(language=language)
        if greeting.with_gift:
            gifted = speakers.annotate(gift=_holiday_gift_points()).filter(gift__gt=0).order_by("pk")
            for customer in gifted.iterator(chunk_size=500):
                if gift_grant(
                    customer=customer,
                    points=customer.gift,
                    reason=_("Holiday gift: %(holiday)s") % {"holiday": greeting.holiday},
                    source="system:holiday",
                    key=f"{key}:{customer.pk}",
                    occasion="holiday",
                    occasion_name=name,
                ):
                    greeted += 1
            speakers = speakers.annotate(gift=_holiday_gift_points()).filter(gift=0)
        with transaction.atomic():
            greeted += notify_many(
                customers=speakers, topic=HOLIDAY_TOPIC, context={"holiday": name}, dedupe_prefix=key, now=now
            ).queued
    return greeted


def holiday_greetings_send(*, now: datetime.datetime | None = None) -> int:
    """Greet, where it is now a greeted holiday, the customers of that country. Returns greeted."""
    now = now or timezone.now()
    greetings = list(HolidayGreeting.objects.filter(is_active=True))
    if not greetings:
        return 0
    greeted = 0
    for zone_name, day in local_days(now):
        for greeting in greetings:
            if greeting.holiday not in holiday_names(greeting.country, day, "en"):
                continue
            customers = Customer.objects.filter(
                _country_customers(greeting.country), is_active=True, time_zone=zone_name
            )
            greeted += _greet_on_holiday(greeting, customers, day, now)
    return greeted


def greetings_send(*, now: datetime.datetime | None = None) -> int:
    now = now or timezone.now()
    return birthday_greetings_send(now=now) + holiday_greetings_send(now=now)


def upcoming_holidays(country: str, *, today: datetime.date | None = None, days: int = 366) -> list[tuple]:
    """The country's holidays from ``today`` on, in English: what staff may pick to greet."""
    today = today or timezone.localdate()
    calendar = holidays.country_holidays(country, years=[today.year, today.year + 1], language="en_US")
    until = today + datetime.timedelta(days=days)
    return sorted((day, name) for day, name in calendar.items() if today <= day <= until)
