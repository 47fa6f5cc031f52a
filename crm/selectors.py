"""Reads shared by the admin, the API and tasks."""

import datetime
import zoneinfo
from collections.abc import Iterator

import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.models import Customer, Interaction
from crm.normalization import phone_or_none


def customer_find(*, external_id: str = "", email: str = "", phone: str = "") -> Customer | None:
    """The customer identified by any one of the given identifiers (checked in that order).

    Phones may be written in any common format; e-mails in any case.
    """
    if external_id:
        found = Customer.objects.filter(external_id=external_id.strip()).first()
        if found:
            return found
    if email:
        found = Customer.objects.filter(email=email.strip().lower()).first()
        if found:
            return found
    if phone:
        e164 = phone_or_none(phone)
        if e164:
            return Customer.objects.filter(phone=e164).first()
    return None


def customer_interactions(customer: Customer) -> QuerySet[Interaction]:
    """A customer's history, latest first, with who and where (crm_interaction_timeline_idx)."""
    return (
        Interaction.objects.filter(customer=customer).select_related("staff", "store").order_by("-occurred_at", "-id")
    )


def customer_search(term: str) -> QuerySet[Customer]:
    """Customers matching a staff search: name, e-mail, external id, or a phone in any format.

    Every branch is an exact or prefix match that an index serves (see Customer.Meta), so a
    search reads a few index pages at a million customers: names and e-mails by their beginning
    (any case), cards exactly, phones whole in any format or by their first digits ("5123 45").
    """
    term = term.strip()
    if not term:
        return Customer.objects.none()
    # The unique indexes on e-mail and phone leave out empty values: saying so lets them serve prefixes.
    query = Q(external_id=term) | (Q(email__startswith=term.lower()) & ~Q(email=""))
    name_q = Q()
    for word in term.split():
        name_q &= Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
    query |= name_q
    e164 = phone_or_none(term)
    if e164:
        query |= Q(phone=e164)
    else:
        prefixes = phone_prefixes(term)
        if prefixes:
            phone_q = Q()
            for prefix in prefixes:
                phone_q |= Q(phone__startswith=prefix)
            query |= phone_q & ~Q(phone="")
    return Customer.objects.filter(query)


def phone_prefixes(term: str) -> list[str]:
    """The E.164 beginnings a partly typed number can have: as typed with its country code
    ("372 5123", "+372 5123", "00372 5123"), or as a national number of the default region ("5123 45")."""
    text = term.replace(" ", "").replace("-", "")
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 5 or len(digits) < len(text) - 1:
        return []
    if text.startswith("00"):
        return ["+" + digits[2:]]
    if text.startswith("+"):
        return ["+" + digits]
    region_code = phonenumbers.country_code_for_region(settings.DEFAULT_PHONE_REGION)
    return [f"+{region_code}{digits.lstrip('0')}", "+" + digits]


def customer_ids_matching(term: str, *, limit: int = 1000) -> list[int]:
    """The newest ``limit`` customers a staff search finds, as ids, for searching other tables by customer.

    A list, not a subquery: joined with other conditions by OR, ``customer_id = ANY(ids)`` still uses
    the table's customer index, where ``customer_id IN (SELECT …)`` would make PostgreSQL read every row.
    """
    return list(customer_search(term).order_by("-pk").values_list("pk", flat=True)[:limit])


def _birthday_on(day: datetime.date) -> Q:
    """Born on this day of the year; on 28 February of a common year, those born on 29 February too."""
    birthdays = Q(birth_date__month=day.month, birth_date__day=day.day)
    leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
    if day.month == 2 and day.day == 28 and not leap:
        birthdays |= Q(birth_date__month=2, birth_date__day=29)
    return birthdays


def local_days(now: datetime.datetime | None = None) -> Iterator[tuple[str, datetime.date]]:
    """Each time zone active customers live in, with the date it is there at ``now`` (one query)."""
    now = now or timezone.now()
    zones = Customer.objects.filter(is_active=True).order_by().values_list("time_zone", flat=True).distinct()
    for zone_name in sorted(zones):
        yield zone_name, now.astimezone(zoneinfo.ZoneInfo(zone_name)).date()


def customers_with_birthday(*, now: datetime.datetime | None = None) -> Iterator[tuple[datetime.date, QuerySet]]:
    """Per time zone, the local date and the active customers whose birthday it is there at ``now``."""
    for zone_name, day in local_days(now):
        yield day, Customer.objects.filter(_birthday_on(day), is_active=True, time_zone=zone_name)
