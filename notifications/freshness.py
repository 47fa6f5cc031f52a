"""Checks a topic can declare, run at send time: is the message still true, and with what numbers?

Each returns the context to render with (updated), or None when the message is stale.
"""

from django.db.models import Sum
from django.utils import timezone

from loyalty.models import BonusLot
from notifications.models import Notification


def expiry_points(notification: Notification) -> dict | None:
    """An expiry warning is about points still there: render the amount left, or cancel."""
    lot_ids = notification.context.get("lot_ids") or []
    left = BonusLot.objects.filter(pk__in=lot_ids, remaining__gt=0, expires_at__gt=timezone.now()).aggregate(
        total=Sum("remaining")
    )["total"]
    if not left:
        return None
    return {**notification.context, "points": left}


CHECKS = {"expiry_points": expiry_points}
