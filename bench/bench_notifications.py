"""The notification engine against django-post-office, on the same PostgreSQL database, in one run.

Every comparison is printed as ``name: ours … | peer … | ratio …×`` (see peer_post_office.line),
followed by its target. Neither side sends anything: ours uses no-op channel backends, the peer
Django's dummy e-mail backend; ours runs its policies (consent, contact points, suppressions,
quiet hours, windows, caps, deadlines), renders each message with its unsubscribe and preference
links and records the outcome; the peer renders and records.

Environment: BENCH_DATABASE_URL (default crm_bench, kept between runs), BENCH_SCALE (customers in
the fan-out: default 100k; "1m" measures a million), BENCH_DISPATCH (messages dispatched, default
20000), BENCH_HISTORY (sent rows kept in the outbox for the claim test, default ten per
customer of BENCH_SCALE: 1M, or 10M at 1m; generated
once, kept), BENCH_EMPTY_DATABASE_URL (default crm_bench_empty), BENCH_ROUNDS (timed one-process
dispatch runs per side, interleaved, the median printed: default 3).
"""

import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _count(text: str) -> int:
    text = text.strip().lower()
    for suffix, factor in (("m", 1_000_000), ("k", 1_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench")
EMPTY_URL = os.environ.get("BENCH_EMPTY_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_empty")
SCALE = _count(os.environ.get("BENCH_SCALE", "100k"))
DISPATCH = _count(os.environ.get("BENCH_DISPATCH", "20000"))
HISTORY = _count(os.environ.get("BENCH_HISTORY", str(10 * SCALE)))  # sent rows behind the claim: 10 per customer
EVENTS = 1000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))  # timed dispatch runs per side


def _create_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], capture_output=True)


_create_database(DB_URL)
_create_database(EMPTY_URL)
os.environ["BENCH_DATABASE_URL"] = DB_URL

import django  # noqa: E402

django.setup()

from celery.signals import task_prerun  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402

from bench import peer_post_office as peer  # noqa: E402
from bench.peer_post_office import QueryCounter, line  # noqa: E402
from config.celery import app, warm_up  # noqa: E402
from crm.demo import seed_customers  # noqa: E402
from crm.models import Customer  # noqa: E402
from notifications import tasks  # noqa: E402
from notifications.models import Notification, Topic  # noqa: E402
from notifications.outbox.fanout import notify_many  # noqa: E402
from notifications.outbox.write import notify  # noqa: E402

call_command("migrate", "--noinput", verbosity=0)
run = str(int(time.time()))


def target(text: str) -> None:
    print(f"  target: {text}")


def last_id() -> int:
    return Notification.objects.aggregate(last=Max("id"))["last"] or 0


def forget(after: int) -> None:
    """Delete the rows this run wrote (the outbox's history stays for the claim test), and vacuum
    them away as autovacuum would in production (it is off on some machines here): dead rows left
    in the indexes would slow the next measurement, never the peer's, whose tables are emptied."""
    Notification.objects.filter(id__gt=after).delete()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE notifications_notification")


class Tasks:
    """Counts Celery tasks run (eagerly, in this process) while active."""

    def __init__(self):
        self.count = 0

    def _seen(self, **kwargs):
        self.count += 1

    def __enter__(self):
        app.conf.task_always_eager = True
        task_prerun.connect(self._seen)
        return self

    def __exit__(self, *exc):
        task_prerun.disconnect(self._seen)
        app.conf.task_always_eager = False


# --- Customers ------------------------------------------------------------------------------------
have = Customer.objects.count()
if have < SCALE:
    started = time.perf_counter()
    seed_customers(count=SCALE - have)
    print(f"seeded {SCALE - have} customers in {time.perf_counter() - started:.0f} s")
# The planner's statistics, whatever the server's autovacuum does (it is off on some machines here).
with connection.cursor() as cursor:
    cursor.execute("ANALYZE crm_customer, notifications_preference, notifications_consentevent")
Topic.objects.filter(code="service").update(is_active=True)

# --- Fan-out: one occasion for every customer vs post-office queueing as many e-mails ----------------
mark = last_id()
members = Customer.objects.filter(pk__lte=Customer.objects.order_by("pk").values_list("pk", flat=True)[SCALE - 1])
with transaction.atomic():
    started = time.perf_counter()
    report = notify_many(customers=members, topic="service", context={"title": "Bench", "text": "x"}, dedupe_prefix=run)
    ours_fanout_seconds = time.perf_counter() - started
forget(mark)
peer.cleanup()
peer_queue = peer.queue_rate(report.rows_written)
peer.cleanup()
ours_fanout = report.rows_written / ours_fanout_seconds
print(f"== fan-out of one occasion to {report.customers} customers ({report.rows_written} outbox rows)")
print(line("fan-out messages/s", ours_fanout, peer_queue["per_second"], "messages/s"))
target("ours ≥ 5× the peer's queueing rate")
print(
    line(
        "fan-out seconds for 1M customers (extrapolated)", 1e6 / ours_fanout, 1e6 / peer_queue["per_second"], "s", False
    )
)
target(f"ours ≤ 20 s (measured at {report.customers} customers; BENCH_SCALE=1m measures a million)")

# --- Dispatch: due messages through claim, policies, render, send, record ----------------------------
# In ROUNDS rounds, each side's turn next to the other's, and the median of each: a checkpoint or a
# neighbour's burst on this shared machine moves one round, not the figure.
email_bound = Customer.objects.exclude(email="").order_by("pk").values_list("pk", flat=True)[DISPATCH - 1]
due = Customer.objects.exclude(email="").filter(pk__lte=email_bound)


def checkpoint() -> None:
    """Earlier writes (the fan-out's, the other round's) flushed before a timed run, not during it."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def ours_dispatch(round_number: int) -> dict:
    mark = last_id()
    with transaction.atomic():
        notify_many(
            customers=due,
            topic="service",
            context={"title": "Bench", "text": "x"},
            dedupe_prefix=f"{run}-d{round_number}",
        )
    waiting = Notification.objects.filter(id__gt=mark, status="scheduled").count()
    checkpoint()
    warm_up()  # what a worker process does when it starts (the peer's send command has nothing like it)
    with QueryCounter() as queries, Tasks() as celery_tasks:
        started = time.perf_counter()
        beats = 0
        while Notification.objects.filter(id__gt=mark, status="scheduled").exists():
            tasks.dispatch_due_task()  # what beat does: wakes the e-mail drainer, which drains
            beats += 1
        seconds = time.perf_counter() - started
    sent = Notification.objects.filter(id__gt=mark, status="sent").count()
    forget(mark)
    return {
        "waiting": waiting,
        "sent": sent,
        "per_second": sent / seconds,
        "queries": queries.count * 1000 / sent,
        "tasks": (celery_tasks.count + beats) * 1000 / sent,
    }


@contextmanager
def peer_as_shipped():
    """post-office with its own defaults (no Celery) while inside, still sending nothing."""
    settings.POST_OFFICE = {"BACKENDS": tuned_settings["BACKENDS"], "CELERY_ENABLED": False}
    try:
        yield
    finally:
        settings.POST_OFFICE = tuned_settings


def peer_dispatch(messages: int, *, tuned: bool) -> dict:
    checkpoint()
    if tuned:
        return peer.dispatch_rate(messages)
    with peer_as_shipped():
        return peer.dispatch_rate(messages)


def median(results: list[dict], key: str = "per_second") -> float:
    return statistics.median(result[key] for result in results)


def spread(results: list[dict]) -> str:
    return ", ".join(f"{result['per_second']:.0f}" for result in results)


tuned_settings = dict(settings.POST_OFFICE)
ours_rounds, peer_rounds, tuned_rounds = [], [], []
for round_number in range(ROUNDS):
    ours_rounds.append(ours_dispatch(round_number))
    sent = ours_rounds[-1]["sent"]
    peer_rounds.append(peer_dispatch(sent, tuned=False))
    tuned_rounds.append(peer_dispatch(sent, tuned=True))
    peer.cleanup()
waiting = ours_rounds[-1]["waiting"]
ours_dispatch_rate = median(ours_rounds)
ours_queries, ours_tasks = median(ours_rounds, "queries"), median(ours_rounds, "tasks")
peer_default = {
    "per_second": median(peer_rounds),
    "queries": median(peer_rounds, "queries"),
    "messages": median(peer_rounds, "messages"),
}
print(f"== dispatch of {sent} due e-mails (of {waiting} queued), one process, median of {ROUNDS} rounds")
print(line("dispatch messages/s (peer as shipped)", ours_dispatch_rate, peer_default["per_second"], "messages/s"))
target("ours ≥ 2× the peer, with our policies on and none for the peer")
print(f"  rounds: ours {spread(ours_rounds)} | peer {spread(peer_rounds)} messages/s")
print(line("dispatch messages/s (peer tuned)", ours_dispatch_rate, median(tuned_rounds), "messages/s"))
print(
    line(
        "dispatch queries per 1,000 messages",
        ours_queries,
        peer_default["queries"] * 1000 / peer_default["messages"],
        "queries",
        False,
    )
)
target("ours ≤ 100")
print(line("dispatch Celery tasks per 1,000 messages", ours_tasks, 0, "tasks", False))
target("ours ≤ 10 (the peer sends from a cron command, without Celery)")

# --- The same with two worker processes on each side ---------------------------------------------------


def drain_in_parallel(processes: int) -> float:
    """Messages/s of ``processes`` drainer processes started together on the due rows."""
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "drainer.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "BENCH_DATABASE_URL": DB_URL},
        )
        for _ in range(processes)
    ]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [json.loads(worker.communicate()[0].strip().splitlines()[-1]) for worker in workers]
    sent = sum(result["outcome"].get("sent", 0) for result in results)
    return sent / (max(r["finished"] for r in results) - min(r["started"] for r in results))


mark = last_id()
with transaction.atomic():
    notify_many(customers=due, topic="service", context={"title": "Bench", "text": "x"}, dedupe_prefix=f"{run}-p")
ours_parallel = drain_in_parallel(2)
forget(mark)
with peer_as_shipped():
    peer_parallel = peer.dispatch_rate(sent, processes=2)
peer.cleanup()
print(f"== dispatch of {sent} due e-mails, two processes each (the Procfile's worker concurrency)")
print(
    line("dispatch messages/s, 2 processes (peer as shipped)", ours_parallel, peer_parallel["per_second"], "messages/s")
)
target("ours ≥ 2× the peer")

# --- Event-driven messages: each its own transaction, as sales are -----------------------------------
mark = last_id()
people = list(Customer.objects.exclude(email="").order_by("pk")[:EVENTS])
with Tasks() as celery_tasks:
    for customer in people:
        with transaction.atomic():
            notify(customer=customer, topic="service", context={"text": "x"}, dedupe_key=f"{run}-e:{customer.pk}")
forget(mark)
print(f"== {EVENTS} event messages, each written in its own transaction (a sale's)")
print(line("Celery tasks per 1,000 event messages", celery_tasks.count * 1000 / EVENTS, 0, "tasks", False))
target("ours ≤ 10: wake-ups are debounced; the rows wait in the outbox, beat is the backstop")

# --- Claim latency: an empty outbox vs one with millions of sent rows ---------------------------------
history = Notification.objects.filter(dedupe_key__startswith="history:").count() if HISTORY else 0
if history < HISTORY:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO notifications_notification (customer_id, topic_id, channel, context, status, reason, detail,
                send_at, deadline, attempts, dedupe_key, provider_message_id, subject, body, sent_at, sms_encoding,
                created_at, updated_at)
            SELECT c.id, t.id, 'email', '{}', 'sent', '', '', now() - g * interval '1 second', now(), 1,
                'history:' || g, '', '', '', now() - g * interval '1 second', '', now(), now()
            FROM generate_series(%s, %s) g
            JOIN crm_customer c ON c.id = (SELECT min(id) FROM crm_customer) + g %% %s
            CROSS JOIN (SELECT id FROM notifications_topic WHERE code = 'service') t
            """,
            [history + 1, HISTORY, Customer.objects.count()],
        )
        cursor.execute("VACUUM ANALYZE notifications_notification")
    print(f"wrote {HISTORY - history} sent rows of history in {time.perf_counter() - started:.0f} s (kept)")


def claim_latency(url: str) -> dict:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "claim_latency.py")],
        env={**os.environ, "BENCH_DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


subprocess.run(
    [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
    env={**os.environ, "BENCH_DATABASE_URL": EMPTY_URL},
    check=True,
)
empty = claim_latency(EMPTY_URL)
full = claim_latency(DB_URL)
print(f"== claim of 50 due rows: an outbox holding {full['rows']} rows vs an empty one (the peer column)")
print(line("claim p99 with history vs an empty outbox", full["p99_ms"], empty["p99_ms"], "ms", False))
target("ratio ≥ 0.50× (p99 with history ≤ 2× the empty outbox's): the claim reads a partial index of waiting rows")
