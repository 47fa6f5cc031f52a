import datetime

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from loyalty.models import BonusLot, Dispute


def liability_report(*, now: datetime.datetime | None = None) -> dict:
    """Points outstanding and how many of them expire within 30 and 90 days."""
    now = now or timezone.now()
    open_lots = BonusLot.objects.filter(remaining__gt=0, expires_at__gt=now)
    return open_lots.aggregate(
        outstanding=Sum("remaining", default=0),
        accounts=Count("account", distinct=True),
        expiring_30=Sum("remaining", filter=Q(expires_at__lte=now + datetime.timedelta(days=30)), default=0),
        expiring_90=Sum("remaining", filter=Q(expires_at__lte=now + datetime.timedelta(days=90)), default=0),
    )


def dispute_counts() -> dict[str, list[dict]]:
    """Disputes per store and per cashier (open and confirmed): where fraud shows first."""
    live = Dispute.objects.exclude(status=Dispute.Status.REJECTED)
    by_store = (
        live.values("transaction__store__code", "transaction__store__name")
        .annotate(open=Count("id", filter=Q(status="open")), confirmed=Count("id", filter=Q(status="confirmed")))
        .order_by("-confirmed", "-open")
    )
    by_cashier = (
        live.exclude(transaction__cashier_id="")
        .values("transaction__store__code", "transaction__cashier_id")
        .annotate(open=Count("id", filter=Q(status="open")), confirmed=Count("id", filter=Q(status="confirmed")))
        .order_by("-confirmed", "-open")[:50]
    )
    return {"by_store": list(by_store), "by_cashier": list(by_cashier)}


# A customer's purchase cycle: the median gap between their purchases in the last year, learned
# from at least MIN_GAPS gaps and only when it is at least MIN_CYCLE (same-day visits are no cycle).
# Due once the cycle has passed since the last purchase, until half a cycle more (then it is lapsed,
# which re-engagement handles). Refunded sales are no purchases.
PURCHASE_CYCLES_SQL = """
WITH recent AS (
    SELECT a.customer_id, t.occurred_at,
           t.occurred_at - lag(t.occurred_at) OVER (PARTITION BY t.account_id ORDER BY t.occurred_at) AS gap
    FROM loyalty_bonusaccount a
    JOIN loyalty_bonustransaction t ON t.account_id = a.id
    WHERE a.last_purchase_at BETWEEN %(since)s AND %(now)s
      AND t.kind = 'accrual' AND t.occurred_at > %(since)s AND t.occurred_at <= %(now)s
      AND NOT EXISTS (SELECT 1 FROM loyalty_bonustransaction r WHERE r.reverses_id = t.id AND r.kind = 'reversal')
), cycles AS (
    SELECT customer_id, max(occurred_at) AS last_at, count(gap) AS gaps,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM gap)) AS cycle_seconds
    FROM recent GROUP BY customer_id
)
SELECT customer_id FROM cycles
WHERE gaps >= %(min_gaps)s AND cycle_seconds >= %(min_cycle)s
  AND last_at + make_interval(secs => cycle_seconds) <= %(now)s
  AND last_at + make_interval(secs => cycle_seconds * 1.5) > %(now)s
"""
MIN_GAPS = 2
MIN_CYCLE = datetime.timedelta(days=3)


def purchase_cycle_due(*, now: datetime.datetime | None = None) -> list[int]:
    """Customers whose usual time to come back has come (one statement over the last year's ledger)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            PURCHASE_CYCLES_SQL,
            {
                "now": now,
                "since": now - datetime.timedelta(days=365),
                "min_gaps": MIN_GAPS,
                "min_cycle": MIN_CYCLE.total_seconds(),
            },
        )
        return [customer_id for (customer_id,) in cursor.fetchall()]
