"""The programme's rules that are not stored per row: conversion, validity and earning."""

import calendar
import datetime
import math
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from config.table_cache import TableCache
from loyalty.models import EarningRule, Tier

# Tier spend and the segments' purchase counts look back this far.
ROLLING_YEAR = datetime.timedelta(days=365)


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


# --- Tiers and earning rules: a few rows, read on every sale, so kept per process --------------


def _tiers() -> list[Tier]:
    return sorted(Tier.objects.all(), key=lambda tier: (tier.min_spend, tier.pk))


def _rules() -> list[EarningRule]:
    return list(EarningRule.objects.filter(is_active=True))


_TIERS = TableCache("loyalty.tiers", _tiers, models=(Tier,))
_RULES = TableCache("loyalty.earning_rules", _rules, models=(EarningRule,))


def tiers() -> list[Tier]:
    """Every tier, lowest minimum spend first."""
    return _TIERS.get()


def earning_rules() -> list[EarningRule]:
    return _RULES.get()


def tier_for_spend(spend: Decimal) -> Tier | None:
    """The highest tier whose minimum this 12-month spend reaches, or None."""
    reached = [tier for tier in tiers() if tier.min_spend <= spend]
    return reached[-1] if reached else None


def tier_by_id(tier_id: int | None) -> Tier | None:
    return next((tier for tier in tiers() if tier.pk == tier_id), None) if tier_id else None
