"""Seeding, segment counts and worker memory at scale (issue 14), on a database of its own.

Prints, each as ``name: ours <value> <unit> | target <value> <unit> | met yes/no``:

- seed 1M customers seconds: ``manage.py seed_demo`` (customers, a year of purchases in the
  ledger, preferences, consent) into an empty database. The default run seeds 100k and scales
  the time up tenfold (index builds grow a little faster than that); BENCH_SCALE=1m seeds 1M.
- segment count over N customers: ``segment_customers(rules).count()`` for typical rules, the
  median of three runs each, and the slowest of them (target 1 s). Frequency and spend read the
  rolling year kept on each bonus account, recency its latest purchase (see campaigns.segments).
- worker memory: N notifications scheduled in the future (plus a batch due now), then the
  tracemalloc peak of one beat tick (``dispatch_due_task``) and of one drain (claim, send, record
  one batch), at two sizes: flat means the bigger outbox costs the tick no more memory. Default
  20k and 200k; BENCH_SCALE=1m: 500k and 5M.
- periodic tasks after ``beat_sync``: the fixed set of settings.BEAT_JOBS, whatever the customers.

Environment: BENCH_SEED_DATABASE_URL (default crm_bench_seed on 127.0.0.1; dropped and created
again every run), BENCH_SCALE (default 100k). The bench runs in a process of its own, so it never
touches the database another bench in the same ``bench/run.py`` configured.
"""

import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_URL = os.environ.get("BENCH_SEED_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_seed")
CHILD = "BENCH_SEED_CHILD"


def _count(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("m", 1_000_000), ("k", 1_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


SCALE = _count(os.environ.get("BENCH_SCALE", "100k"))
MILLION = 1_000_000
FUTURE_SIZES = (500_000, 5_000_000) if SCALE >= MILLION else (20_000, 200_000)
DUE_NOW = 500  # a batch for the drain to claim, render, send and record

SEGMENTS = {
    "district": {"districts": ["Kesklinn, Tallinn"]},
    "language": {"languages": ["et"]},
    "badge": {"badges": ["full", "email_only"]},
    "recency": {"bought_within_days": 90},
    "frequency": {"min_purchases_12m": 3},
    "recency+frequency": {"bought_within_days": 90, "min_purchases_12m": 3},
    "spend": {"min_spend_12m": "200"},
    "district home": {"districts_home": ["Kesklinn, Tallinn"]},
    "district frequent": {"districts_frequent": ["Kesklinn, Tallinn"]},
    "age band": {"age": {"min": 25, "max": 34}},
    "birthday month": {"birth_months": [12]},
    "balance": {"balance": {"min": 100}},
    "rfm": {"rfm": {"recency": [4, 5], "frequency": [3, 5], "monetary": [3, 5]}},
    "consent e-mail": {"consent": ["email"]},
    "any of language or badge": {"any": [{"languages": ["ru"]}, {"badges": ["full"]}]},
    "district+language+badge+recency": {
        "districts": ["Kesklinn, Tallinn"],
        "languages": ["et"],
        "badges": ["full"],
        "bought_within_days": 90,
    },
}


def met(ours: float, target: float) -> str:
    return "yes" if ours <= target else "no"


def line(name: str, ours: float, target: float, unit: str) -> None:
    shown = f"{ours:.0f}" if ours >= 100 else f"{ours:.1f}"
    print(f"{name}: ours {shown} {unit} | target {target:.0f} {unit} | met {met(ours, target)}", flush=True)


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], capture_output=True, check=False)


def child() -> None:
    name = DB_URL.rsplit("/", 1)[1]
    _psql(f"DROP DATABASE IF EXISTS {name}")
    _psql(f"CREATE DATABASE {name}")
    sys.path.insert(0, str(ROOT))
    import logging

    import django

    django.setup()
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)  # the in-memory broker has no host, as it should
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django_celery_beat.models import PeriodicTask

    call_command("migrate", "--noinput", verbosity=0)

    # --- Seeding -------------------------------------------------------------------------------
    started = time.perf_counter()
    call_command("seed_demo", "--customers", str(SCALE), "--seed", "14", stdout=open(os.devnull, "w"))
    seconds = time.perf_counter() - started
    how = "measured" if SCALE >= MILLION else f"{SCALE} seeded in {seconds:.1f} s, times {MILLION / SCALE:g}"
    # The machine may be shared: a load above its cores means the figures below are inflated.
    print(f"  ({how}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    line("seed 1M customers seconds", seconds * MILLION / SCALE, 120, "s")

    # --- Segment counts ------------------------------------------------------------------------
    from campaigns.segments import segment_customers
    from crm.models import Customer

    customers = Customer.objects.count()
    slowest = 0.0
    for label, rules in SEGMENTS.items():
        queryset = segment_customers(rules)
        runs = []
        for _ in range(3):
            began = time.perf_counter()
            size = queryset.count()
            runs.append((time.perf_counter() - began) * 1000)
        median = statistics.median(runs)
        slowest = max(slowest, median)
        line(f"segment count over {customers} customers, {label} ({size} match)", median, 1000, "ms")
    line(f"segment count over {customers} customers (slowest rule)", slowest, 1000, "ms")

    # --- Periodic tasks ------------------------------------------------------------------------
    call_command("beat_sync", stdout=open(os.devnull, "w"))
    tasks = PeriodicTask.objects.count()
    print(
        f"periodic tasks after beat_sync with {customers} customers: ours {tasks} | "
        f"target {len(settings.BEAT_JOBS)} (settings.BEAT_JOBS) | met {'yes' if tasks == len(settings.BEAT_JOBS) else 'no'}",
        flush=True,
    )

    # --- Worker memory with the outbox full of future messages ---------------------------------
    from config.celery import app
    from notifications.delivery import dispatch
    from notifications.models import Notification, Topic
    from notifications.tasks import dispatch_due_task

    app.conf.task_always_eager = False  # a tick only nudges drainers; the drain is measured on its own
    service = Topic.objects.get(code="service")
    service.is_active = True
    service.save(update_fields=["is_active"])
    first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first()

    def schedule(rows: int, *, offset: int, due: bool) -> None:
        """``rows`` outbox rows, one customer after another, in the future (or due now), in one statement."""
        when = "now() - interval '1 minute'" if due else "now() + (1 + n %% 30) * interval '1 day'"
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {Notification._meta.db_table}
                    (customer_id, topic_id, channel, context, status, reason, detail, send_at, deadline, attempts,
                     dedupe_key, provider_message_id, subject, body, sms_encoding, created_at, updated_at)
                SELECT %s + n %% %s, %s, 'email', '{{"title": "Hello", "text": "Open until 22."}}', 'scheduled', '', '',
                       {when}, now() + interval '40 days', 0, 'bench-memory:' || n || ':email', '', '', '', '', now(),
                       now()
                FROM generate_series(%s, %s) AS n
                """,
                [first_customer, customers, service.pk, offset, offset + rows - 1],
            )

    def peak(work) -> float:
        tracemalloc.start()
        tracemalloc.reset_peak()
        work()
        _current, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top / 1024

    # Warm up first (imports, templates, translations, compiled queries): the figures are what a
    # running worker's tick costs, not what its first tick loads once.
    schedule(DUE_NOW, offset=2 * 10**9, due=True)
    dispatch_due_task()
    dispatch.drain(max_batches=2)
    written, figures = 0, []
    for size in FUTURE_SIZES:
        began = time.perf_counter()
        schedule(size - written, offset=written, due=False)
        schedule(DUE_NOW, offset=10**9 + written, due=True)
        written = size
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Notification._meta.db_table}")
        filled = time.perf_counter() - began
        tick = peak(dispatch_due_task)
        drain = peak(lambda: dispatch.drain(max_batches=1))
        figures.append((size, tick, drain))
        print(
            f"  {size} notifications in the future (written in {filled:.0f} s): "
            f"dispatch_due_task peak {tick:.0f} KiB, one drain batch peak {drain:.0f} KiB",
            flush=True,
        )
    (small, tick_small, drain_small), (big, tick_big, drain_big) = figures
    growth = max(tick_big / tick_small, drain_big / drain_small)
    print(
        f"worker memory, {big} vs {small} future notifications: ours {growth:.2f}× the peak | target flat (≤ 1.5×) "
        f"| met {'yes' if growth <= 1.5 else 'no'}",
        flush=True,
    )


def main() -> None:
    env = {
        **os.environ,
        CHILD: "1",
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "BENCH_DATABASE_URL": DB_URL,
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([sys.executable, __file__], env=env, cwd=ROOT, check=True)


if __name__ == "__main__":
    if os.environ.get(CHILD):
        child()
    else:
        main()
