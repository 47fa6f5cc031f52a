"""Send-time optimisation: learn each customer's best local hour from when they open and click."""

import datetime
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from notifications.models import Notification, Preference


def best_hours_learn(*, now: datetime.datetime | None = None, days: int = 90, min_events: int = 3) -> int:
    """Set ``Preference.best_hour`` to the local hour a customer most often opened (or clicked) in.

    Customers with fewer than ``min_events`` engagements keep what they have. Returns how many
    customers got a (new) best hour. Reads once and writes in two bulk statements.
    """
    now = now or timezone.now()
    rows = (
        Notification.objects.filter(opened_at__gte=now - datetime.timedelta(days=days))
        .values_list("customer_id", "customer__time_zone", "opened_at")
        .order_by()
    )
    hours: dict[int, Counter] = defaultdict(Counter)
    for customer_id, zone, opened_at in rows.iterator(chunk_size=5000):
        hours[customer_id][opened_at.astimezone(ZoneInfo(zone)).hour] += 1
    best = {
        customer_id: min(counter.items(), key=lambda item: (-item[1], item[0]))[0]
        for customer_id, counter in hours.items()
        if sum(counter.values()) >= min_events
    }
    if not best:
        return 0
    with transaction.atomic():
        existing = {p.customer_id: p for p in Preference.objects.filter(customer_id__in=best)}
        changed = [p for cid, p in existing.items() if p.best_hour != best[cid]]
        for preference in changed:
            preference.best_hour = best[preference.customer_id]
        Preference.objects.bulk_update(changed, ["best_hour"], batch_size=2000)
        new = [Preference(customer_id=cid, best_hour=hour) for cid, hour in best.items() if cid not in existing]
        Preference.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    return len(changed) + len(new)
