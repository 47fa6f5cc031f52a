"""Checks a topic can declare, run at send time: is the message still true, and with what numbers?

Each check takes the rows of one batch that declare it and returns, per row id, the context to
render with (updated) or None when the message is stale: one query per check and batch.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from loyalty.models import BonusAccount, BonusLot
from notifications.models import Notification

logger = logging.getLogger(__name__)


def expiry_points(rows: list[Notification]) -> dict[int, dict | None]:
    """An expiry warning is about points still there: render the amount left, or cancel."""
    lot_ids = {lot for row in rows for lot in row.context.get("lot_ids") or []}
    left = dict(
        BonusLot.objects.filter(pk__in=lot_ids, remaining__gt=0, expires_at__gt=timezone.now())
        .values_list("pk")
        .annotate(total=Sum("remaining"))
    )
    result = {}
    for row in rows:
        points = sum(left.get(lot, 0) for lot in row.context.get("lot_ids") or [])
        result[row.pk] = {**row.context, "points": points} if points else None
    return result


def bonus_balance(rows: list[Notification]) -> dict[int, dict | None]:
    """A bonus message tells the balance as it is when it goes (a coalesced message's events may
    be hours old, and points may have moved since): the events stay true, the balance is re-read."""
    balances = dict(
        BonusAccount.objects.filter(customer_id__in={row.customer_id for row in rows}).values_list(
            "customer_id", "balance"
        )
    )
    return {
        row.pk: {**row.context, "balance": balances[row.customer_id]} if row.customer_id in balances else row.context
        for row in rows
    }


def not_returned(rows: list[Notification]) -> dict[int, dict | None]:
    """ "We miss you" and "time for your usual visit" are stale once the customer has bought since
    the message was planned; otherwise they tell the balance as it is when they go."""
    accounts = {
        customer_id: (balance, last_purchase_at)
        for customer_id, balance, last_purchase_at in BonusAccount.objects.filter(
            customer_id__in={row.customer_id for row in rows}
        ).values_list("customer_id", "balance", "last_purchase_at")
    }
    result = {}
    for row in rows:
        balance, last_purchase_at = accounts.get(row.customer_id, (0, None))
        came_back = last_purchase_at is not None and last_purchase_at > row.created_at
        result[row.pk] = None if came_back else {**row.context, "balance": balance}
    return result


def account_summary(rows: list[Notification]) -> dict[int, dict | None]:
    """The balance, tier and points expiring within 30 days, as they are when the summary goes."""
    now = timezone.now()
    customer_ids = {row.customer_id for row in rows}
    accounts = {
        customer_id: (balance, tier)
        for customer_id, balance, tier in BonusAccount.objects.filter(customer_id__in=customer_ids).values_list(
            "customer_id", "balance", "tier__name"
        )
    }
    expiring = dict(
        BonusLot.objects.filter(
            account__customer_id__in=customer_ids,
            remaining__gt=0,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=30),
        )
        .values_list("account__customer_id")
        .annotate(total=Sum("remaining"))
    )
    result = {}
    for row in rows:
        balance, tier = accounts.get(row.customer_id, (0, None))
        fresh = {"balance": balance, "tier": tier or "", "expiring": expiring.get(row.customer_id, 0)}
        result[row.pk] = {**row.context, **fresh}
    return result


CHECKS = {
    "expiry_points": expiry_points,
    "bonus_balance": bonus_balance,
    "not_returned": not_returned,
    "account_summary": account_summary,
}


def check_batch(rows: list[Notification]) -> dict[int, dict | None]:
    """Every declared check for a batch: row id → fresh context, or None when stale."""
    by_check: dict[str, list[Notification]] = defaultdict(list)
    for row in rows:
        if row.topic.freshness_check:
            by_check[row.topic.freshness_check].append(row)
    result: dict[int, dict | None] = {}
    for check, checked in by_check.items():
        if check not in CHECKS:
            logger.warning("unknown freshness check %r: rows sent as they are", check)
            result.update({row.pk: row.context for row in checked})
            continue
        result.update(CHECKS[check](checked))
    return result
