"""Checks a topic can declare, run at send time: is the message still true, and with what numbers?

Each check takes the rows of one batch that declare it and returns, per row id, the context to
render with (updated) or None when the message is stale: one query per check and batch.
"""

import datetime
import logging
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from loyalty.models import BonusAccount, BonusLot, BonusTransaction
from notifications.models import Notification, OfferState

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
        BonusAccount.objects.filter(customer_id__any={row.customer_id for row in rows}).values_list(
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
            customer_id__any={row.customer_id for row in rows}
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
        for customer_id, balance, tier in BonusAccount.objects.filter(customer_id__any=customer_ids).values_list(
            "customer_id", "balance", "tier__name"
        )
    }
    expiring = dict(
        BonusLot.objects.filter(
            account__customer_id__any=customer_ids,
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


class Stale:
    """A check's answer for a stale row when it can say why (None says only "stale")."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __bool__(self):
        return False


def _moment(value) -> datetime.datetime | None:
    """An ISO date (the end of that day, UTC) or date-time from a message's context."""
    if not value:
        return None
    moment = parse_datetime(str(value))
    if moment is None:
        day = parse_date(str(value))
        if day is None:
            return None
        moment = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0, 0), tzinfo=datetime.UTC)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


def _price(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def stale_offer_reason(context: dict, state: OfferState | None, *, bought_since: bool, now) -> str:
    """Why an offer is no longer true ("" while it is): what the message quotes against what holds now.

    ``context["offer"]``: ``key`` (the OfferState to compare with), ``price`` (as quoted),
    ``valid_until`` (ISO), ``until_purchase`` (a purchase by the customer ends it: a come-back
    or first-purchase offer is pointless once they bought).
    """
    offer = context.get("offer") or {}
    valid_until = _moment(offer.get("valid_until") or context.get("valid_until"))
    if valid_until and valid_until <= now:
        return "expired"
    if offer.get("until_purchase") and bought_since:
        return "already bought"
    if state is not None:
        if not state.in_stock:
            return "stock gone"
        if state.valid_until and state.valid_until <= now:
            return "expired"
        quoted = _price(offer.get("price"))
        if quoted is not None and state.price is not None and quoted != state.price:
            return "price changed"
    return ""


def offer_now(context: dict, state: OfferState | None, *, now) -> dict:
    """The offer a message quotes as it is at ``now`` (for the live offer page): the current price
    (the quoted one while the shop states none), stock, the earlier of the two ends, and whether it
    has ended (expired or sold out; a changed price is shown, not ended)."""
    offer = context.get("offer") or {}
    ends = [
        moment
        for moment in (_moment(offer.get("valid_until") or context.get("valid_until")), state and state.valid_until)
        if moment
    ]
    valid_until = min(ends) if ends else None
    in_stock = state.in_stock if state is not None else True
    price = state.price if state is not None and state.price is not None else _price(offer.get("price"))
    quoted = _price(offer.get("price"))
    return {
        "price": price,
        "quoted_price": quoted if quoted is not None and quoted != price else None,
        "in_stock": in_stock,
        "valid_until": valid_until,
        "expired": bool(valid_until and valid_until <= now),
        "ended": not in_stock or bool(valid_until and valid_until <= now),
    }


def offer(rows: list[Notification]) -> dict[int, dict | None]:
    """Offers re-checked at send time: expired, sold out, repriced, or already bought. At most two
    queries per batch (the offers' states, the latest purchase of the customers whose offer ends
    with one); a stale row's answer says why, for the row's detail."""
    now = timezone.now()
    keys = {
        str((row.context.get("offer") or {}).get("key")) for row in rows if (row.context.get("offer") or {}).get("key")
    }
    states = {state.key: state for state in OfferState.objects.filter(key__any=keys)} if keys else {}
    buyers = {row.customer_id for row in rows if (row.context.get("offer") or {}).get("until_purchase")}
    last_purchase = {}
    if buyers:
        last_purchase = dict(
            BonusTransaction.objects.filter(
                account__customer_id__in=buyers, kind=BonusTransaction.Kind.ACCRUAL, reverses__isnull=True
            )
            .values_list("account__customer_id")
            .annotate(latest=Max("occurred_at"))
        )
    result = {}
    for row in rows:
        key = str((row.context.get("offer") or {}).get("key") or "")
        latest = last_purchase.get(row.customer_id)
        why = stale_offer_reason(
            row.context, states.get(key), bought_since=bool(latest and latest > row.created_at), now=now
        )
        result[row.pk] = Stale(why) if why else row.context
    return result


CHECKS = {
    "expiry_points": expiry_points,
    "bonus_balance": bonus_balance,
    "not_returned": not_returned,
    "account_summary": account_summary,
    "offer": offer,
}


def check_batch(rows: list[Notification]) -> dict[int, dict | Stale | None]:
    """Every declared check for a batch: row id → fresh context, or None / Stale(reason) when stale."""
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
