"""The programme's rules that are not stored per row: conversion, validity and earning."""

import calendar
import datetime
import math
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings


class UnknownCurrency(ValueError):
    pass


def to_base_currency(amount: Decimal, currency: str) -> Decimal:
    try:
        rate = Decimal(str(settings.LOYALTY_EXCHANGE_RATES[currency]))
    except KeyError:
        raise UnknownCurrency(currency) from None
    return (amount * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def points_for(base_amount: Decimal, *, rate: Decimal, multipliers: list[Decimal]) -> int:
    """Whole points earned; fractions are dropped, never rounded up."""
    value = base_amount * rate
    for multiplier in multipliers:
        value *= multiplier
    return max(0, math.floor(value))


def program_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.LOYALTY_TIME_ZONE)


def lot_expiry(earned_at: datetime.datetime, *, months: int | None = None) -> datetime.datetime:
    """End of the month, ``months`` after earning, in the programme's zone.

    Points earned in the same month expire together: one warning and one expiry per month,
    not one per purchase.
    """
    months = settings.LOYALTY_POINTS_VALID_MONTHS if months is None else months
    local = earned_at.astimezone(program_zone())
    year, month = divmod(local.month - 1 + months, 12)
    year += local.year
    month += 1
    last_day = calendar.monthrange(year, month)[1]
    end = datetime.datetime(year, month, last_day, 23, 59, 59, tzinfo=program_zone())
    return end.astimezone(datetime.UTC)


def gift_expiry(granted_at: datetime.datetime, days: int | None = None) -> datetime.datetime:
    days = settings.LOYALTY_GIFT_VALID_DAYS if days is None else days
    return granted_at + datetime.timedelta(days=days)
