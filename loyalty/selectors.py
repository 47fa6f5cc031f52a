import datetime

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
