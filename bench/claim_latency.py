"""Claim latency on one database: ``python bench/claim_latency.py`` prints p50/p99 in ms as JSON.

Run by bench_notifications.py once per database (BENCH_DATABASE_URL): an empty outbox and one
holding millions of sent rows. It writes BENCH_CLAIM_DUE due rows, claims them BENCH_CLAIM_LIMIT
at a time (what a drainer does), times each claim, and deletes what it wrote.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DUE = int(os.environ.get("BENCH_CLAIM_DUE", "10000"))
LIMIT = int(os.environ.get("BENCH_CLAIM_LIMIT", "50"))
CUSTOMERS = 1000


def main() -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import datetime

    from django.db.models import Max
    from django.utils import timezone

    from crm.demo import seed_customers
    from crm.models import Customer
    from notifications.models import Notification, Topic
    from notifications.outbox.claim import claim

    if Customer.objects.count() < CUSTOMERS:
        seed_customers(count=CUSTOMERS)
    customer_ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:CUSTOMERS])
    topic = Topic.objects.get(code="service")
    mark = Notification.objects.aggregate(last=Max("id"))["last"] or 0
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(
                customer_id=customer_ids[i % len(customer_ids)],
                topic=topic,
                channel="email",
                dedupe_key=f"claim-bench:{now.timestamp()}:{i}",
                send_at=now - datetime.timedelta(seconds=DUE - i),
                deadline=now + datetime.timedelta(days=1),
            )
            for i in range(DUE)
        ],
        batch_size=5000,
    )
    timings = []
    try:
        while True:
            started = time.perf_counter()
            claims = claim(now=timezone.now(), limit=LIMIT)
            timings.append((time.perf_counter() - started) * 1000)
            if not claims:
                break
    finally:
        Notification.objects.filter(id__gt=mark).delete()
    timings.sort()
    return {
        "claims": len(timings),
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "rows": Notification.objects.count(),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
