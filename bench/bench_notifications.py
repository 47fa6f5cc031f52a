"""Notification fan-out and dispatch: notifications/s, Celery tasks and queries per 1,000 messages.

Runs in-process on the benchmark PostgreSQL database (BENCH_DATABASE_URL, default crm_bench, seeded
by bench_pos_api or here), with a no-op channel backend so the figures are the pipeline's own.
BENCH_NOTIFY_CUSTOMERS (default 100000) customers get one "service" message each.
"""

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench")
COUNT = int(os.environ.get("BENCH_NOTIFY_CUSTOMERS", "100000"))
DISPATCH_SAMPLE = int(os.environ.get("BENCH_DISPATCH_SAMPLE", "10000"))  # rows dispatched (the rest stay scheduled)
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=DB_URL,
    DEBUG="false",
    CELERY_BROKER_URL="memory://",
    LOG_LEVEL="WARNING",
    PUBLIC_BASE_URL="https://crm.example.com",
)
sys.path.insert(0, str(ROOT))
name = DB_URL.rsplit("/", 1)[1]
subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], capture_output=True)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from crm.models import Customer  # noqa: E402
from notifications.delivery import dispatch  # noqa: E402
from notifications.models import Notification  # noqa: E402
from notifications.outbox.fanout import notify_many  # noqa: E402
from notifications.outbox.write import notify  # noqa: E402

call_command("migrate", "--noinput", verbosity=0)
have = Customer.objects.count()
if have < COUNT:
    call_command("seed_demo", "--customers", str(COUNT - have), verbosity=0)
settings.NOTIFICATION_BACKENDS = {
    "email": "notifications.delivery.channels.sms.NullChannel",
    "sms": "notifications.delivery.channels.sms.NullChannel",
}
run = str(int(time.time()))


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __len__(self):
        return self.count

    def __enter__(self):
        self._wrap = connection.execute_wrapper(self)
        self._wrap.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrap.__exit__(*exc)


customers = list(Customer.objects.order_by("id")[:COUNT])

# One occasion for one customer per call (what loyalty events do), on a sample.
sample = customers[:1000]
started = time.perf_counter()
with QueryCounter() as single_queries:
    for customer in sample:
        notify(customer=customer, topic="service", context={"text": "x"}, dedupe_key=f"single:{run}:{customer.pk}")
single_seconds = time.perf_counter() - started
Notification.objects.filter(dedupe_key__startswith=f"single:{run}:").delete()

# A campaign: the same occasion for every customer, set-based.
started = time.perf_counter()
with QueryCounter() as fanout_queries:
    notify_many(
        customers=Customer.objects.filter(pk__lte=customers[-1].pk),
        topic="service",
        context={"title": "Bench", "text": "x"},
        dedupe_prefix=f"bench:{run}",
    )
fanout_seconds = time.perf_counter() - started
rows = Notification.objects.filter(dedupe_key__startswith=f"bench:{run}:")
written = rows.count()
# Only a sample is due now; the rest wait (immediate topics would otherwise all be due at once).
rows.update(send_at=django.utils.timezone.now() + datetime.timedelta(days=1))
due = list(rows.order_by("pk").values_list("pk", flat=True)[:DISPATCH_SAMPLE])
Notification.objects.filter(pk__in=due).update(send_at=django.utils.timezone.now())

tasks = 0
started = time.perf_counter()
with QueryCounter() as dispatch_queries:
    outcome = dispatch.drain()
    tasks += 1  # one drain task drains the whole sample
dispatch_seconds = time.perf_counter() - started
sent = rows.filter(status="sent").count()
Notification.objects.filter(dedupe_key__startswith=f"bench:{run}:").delete()  # keep the bench database small
print(
    f"customers: {len(customers)}  notifications written: {written}  dispatched sample: {len(due)}  sent: {sent} "
    f"(SMS in quiet hours are deferred, not sent)"
)
print(
    f"notify, one customer per call: {len(sample) / single_seconds:.0f} notifications/s, "
    f"{len(single_queries) * 1000 / len(sample):.0f} queries per 1,000"
)
print(
    f"fan-out, notify_many (set-based): {written / fanout_seconds:.0f} notifications/s, "
    f"{len(fanout_queries) * 1000 / written:.1f} queries per 1,000"
)
print(
    f"dispatch (claim + re-check + render + no-op send): {len(due) / dispatch_seconds:.0f} notifications/s, "
    f"{tasks * 1000 / len(due):.0f} Celery tasks and {len(dispatch_queries) * 1000 / len(due):.0f} queries per 1,000"
)
