"""POS API benchmark (issue 14): purchase latency at a steady arrival rate, against production's web server.

A database of its own per scale (BENCH_POS_DATABASE_URL, default crm_bench_pos_<scale> on
127.0.0.1) holds BENCH_SCALE demo customers (default 100k; BENCH_SCALE=1m is the issue's million),
with a year of purchases, preferences and consent; seeded once (a million in about 2 minutes) and kept. The web server is started exactly as
deploy/Procfile's ``web`` line runs it (gunicorn, gthread workers), with production settings and
a Redis cache, as the README's production section sets it up.

Load is open-loop: requests are sent on a fixed schedule of BENCH_RATE per second (default 200)
for BENCH_SECONDS (default 20), whatever the server's pace, and each latency counts from the
request's scheduled time, so a slow server shows as a long tail, not as a slower client. Each
purchase is a new receipt of a random card among 20,000, with its own Idempotency-Key, sent on one
of BENCH_SENDERS connections opened (and used once) before the measured seconds, as tills behind a
balancer keep theirs. The messages earlier runs left waiting count as sent before a run starts.

Prints the rate achieved, p50/p95/p99 (target: p99 ≤ 50 ms at 200/s) and the SQL statements one
purchase sends (target ≤ 8), measured in-process against the same database.
"""

import http.client
import json
import os
import queue
import random
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
SCALE = os.environ.get("BENCH_SCALE", "100k").strip().lower()
DB_URL = os.environ.get("BENCH_POS_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/crm_bench_pos_{SCALE}")
CUSTOMERS = int(float(SCALE.rstrip("km")) * {"k": 1_000, "m": 1_000_000}.get(SCALE[-1], 1))
RATE = float(os.environ.get("BENCH_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
SENDERS = int(os.environ.get("BENCH_SENDERS", "48"))  # connections kept open, like tills behind a balancer
PORT = int(os.environ.get("BENCH_PORT", "8765"))
P99_TARGET_MS, STATEMENTS_TARGET = 50.0, 8
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PUBLIC_BASE_URL": "https://crm.example.com",
    "DATABASE_URL": DB_URL,
    "CACHE_URL": "redis://127.0.0.1:6379/10",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
    "LOG_LEVEL": "WARNING",
    "PORT": str(PORT),
}


def manage(*args: str) -> str:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=ENV, check=True, capture_output=True, text=True
    ).stdout


def shell(code: str) -> str:
    return manage("shell", "-c", code).strip().splitlines()[-1]


DB_NAME = DB_URL.rsplit("/", 1)[1]


def psql(sql: str, *, database: str = "postgres") -> bool:
    """One statement as the server's superuser; whether it succeeded."""
    command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qc", sql]
    return subprocess.run(command, capture_output=True).returncode == 0


def prepare() -> tuple[str, list[str]]:
    name = DB_NAME
    psql(f"CREATE DATABASE {name}")  # fails harmlessly when it exists
    # As the README's production section sets PostgreSQL up: full-page images in the WAL compressed.
    # A sale dirties a dozen scattered pages (the account, index leaves); the first write to each after
    # a checkpoint logs the whole page, and uncompressed that WAL tripled the p99 after each checkpoint.
    # Set on this database only (the machine's server keeps its own configuration for everything else).
    for method in ("lz4", "on"):  # lz4 where the server was built with it
        if psql(f"ALTER DATABASE {name} SET wal_compression = '{method}'"):
            break
    manage("migrate", "--noinput")
    have = int(shell("from crm.models import Customer; print(Customer.objects.count())"))
    if have < CUSTOMERS:
        print(f"seeding {CUSTOMERS - have} customers (once; kept for later runs) ...", flush=True)
        started = time.perf_counter()
        manage("seed_demo", "--customers", str(CUSTOMERS - have))
        print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    # The previous runs' messages went out, as the dispatcher sends each at its customer's hour in
    # production (this bench runs no worker). Left waiting, every run would fold its sales into the same
    # few thousand messages, whose contexts grew to a hundred events each, a state no shop reaches.
    assert psql(
        "UPDATE notifications_notification SET status = 'sent', attempts = 1, sent_at = now(), updated_at = now() "
        "WHERE status = 'scheduled'",
        database=name,
    )
    # The planner's statistics and the tables' hint bits as autovacuum keeps them in production (it is
    # off on some machines here; each run adds thousands of waiting messages the previous statistics
    # never saw, and a freshly seeded table's first readers would each dirty its pages).
    psql("VACUUM ANALYZE", database=name)
    # And a checkpoint now: the seeding's and the previous benchmarks' bulk writes (a million outbox
    # rows) are flushed before the measurement, not during it, as they would be long before a shop opens.
    psql("CHECKPOINT", database=name)
    store = shell("from crm.models import Store; print(Store.objects.order_by('code').first().code)")
    key = manage("create_pos_key", store).strip()
    cards = json.loads(
        shell(
            "from crm.models import Customer; import json; from django.db.models import Max; "
            "top = Customer.objects.aggregate(m=Max('pk'))['m']; import random; r = random.Random(7); "
            "ids = r.sample(range(1, top + 1), 40000); "
            "print(json.dumps(list(Customer.objects.filter(pk__in=ids).exclude(external_id='')"
            ".values_list('external_id', flat=True)[:20000])))"
        )
    )
    return key, cards


def statements_per_purchase(key: str, card: str) -> int:
    """One purchase through the API in-process, counting the statements it sends (BEGIN/COMMIT aside)."""
    code = (
        "import json, time; from django.db import connection; from django.test import Client; "
        "from django.test.utils import CaptureQueriesContext; c = Client(); "
        f"h = {{'Authorization': 'Bearer {key}', 'X-Forwarded-Proto': 'https'}}; "
        f"body = lambda r: json.dumps({{'customer': {{'external_id': '{card}'}}, 'receipt_id': r, "
        "'amount': '12.30', 'currency': 'EUR'}); run = str(time.time()); "
        "c.post('/api/v1/purchases/', body('W' + run), content_type='application/json', "
        "headers={**h, 'Idempotency-Key': 'W' + run}, HTTP_HOST='127.0.0.1'); "
        "cq = CaptureQueriesContext(connection); cq.__enter__(); "
        "r = c.post('/api/v1/purchases/', body('Q' + run), content_type='application/json', "
        "headers={**h, 'Idempotency-Key': 'Q' + run}, HTTP_HOST='127.0.0.1'); cq.__exit__(None, None, None); "
        "assert r.status_code == 201, r.content; "
        "print(len([q for q in cq.captured_queries if not q['sql'].startswith(('BEGIN', 'COMMIT'))]))"
    )
    return int(shell(code))


def web_command() -> list[str]:
    """deploy/Procfile's web line, its ${VAR:-default}s filled from the environment."""
    line = next(line for line in (ROOT / "deploy" / "Procfile").read_text().splitlines() if line.startswith("web:"))
    expanded = re.sub(
        r"\$\{(\w+):-([^}]*)\}", lambda m: ENV.get(m.group(1), m.group(2)), line.removeprefix("web:").strip()
    )
    # The access log goes on being written, to /dev/null instead of the terminal.
    return [("/dev/null" if part == "-" else part) for part in shlex.split(expanded)]


def wait_until_up() -> None:
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit("the web server did not come up")


def load(key: str, cards: list[str], *, rate: float, seconds: float, tag: str) -> tuple[list[float], list, float]:
    """Send purchases on a fixed schedule; latency counts from each request's scheduled time."""
    total = int(rate * seconds)
    schedule: queue.Queue = queue.Queue()
    latencies: list[float] = []
    errors: list = []
    lock = threading.Lock()
    rng = random.Random(tag)

    connected = threading.Barrier(SENDERS + 1)

    def sender():
        # A till's connection is open and kept alive before the measured sales: one request on it first.
        # (A connection gunicorn has accepted but not yet read from holds one of its worker's threads
        # until the first bytes come, so 48 connections opened at once stall the first sales behind them.)
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        connected.wait()
        while True:
            item = schedule.get()
            if item is None:
                return
            due, number, card, cents = item
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            body = json.dumps(
                {"customer": {"external_id": card}, "receipt_id": f"B-{tag}-{number}", "amount": f"{cents / 100:.2f}",
                 "currency": "EUR"}
            )  # fmt: skip
            headers = {
                "Authorization": f"Bearer {key}",
                "Idempotency-Key": f"{tag}-{number}",
                "Content-Type": "application/json",
                "X-Forwarded-Proto": "https",  # as the load balancer in front of gunicorn says
            }
            try:
                conn.request("POST", "/api/v1/purchases/", body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
                status = type(exc).__name__
            done = time.perf_counter()
            with lock:
                latencies.append(done - due)
                if status != 201:
                    errors.append(status)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    connected.wait()
    start = time.perf_counter() + 0.5
    for number in range(total):
        schedule.put((start + number / rate, number, rng.choice(cards), rng.randint(100, 20000)))
    for _ in threads:
        schedule.put(None)
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - start


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))] * 1000


def main() -> None:
    key, cards = prepare()
    statements = statements_per_purchase(key, cards[0])
    command = web_command()
    server = subprocess.Popen(command, cwd=ROOT, env=ENV)
    try:
        wait_until_up()
        run = str(int(time.time()))
        load(key, cards, rate=min(RATE, 100), seconds=3, tag=f"warm{run}")  # connections, caches, JIT of plans
        # Statistics that have seen the outbox and the idempotency keys with rows in them (a fresh
        # database's were taken while they were empty), as autovacuum would have them by now.
        psql("ANALYZE", database=DB_NAME)
        latencies, errors, wall = load(key, cards, rate=RATE, seconds=SECONDS, tag=run)
    finally:
        server.terminate()
        server.wait(timeout=20)
    latencies.sort()
    p99 = percentile(latencies, 0.99)
    print(f"server: {' '.join(command[1:])}")
    print(f"customers: {CUSTOMERS}  offered: {RATE:.0f}/s for {SECONDS:.0f} s  errors: {len(errors)}")
    print(
        f"purchases/s: {len(latencies) / wall:.0f}  p50: {statistics.median(latencies) * 1000:.1f} ms  "
        f"p95: {percentile(latencies, 0.95):.1f} ms"
    )
    print(
        f"purchase p99 at {RATE:.0f}/s: ours {p99:.1f} ms | target {P99_TARGET_MS:.0f} ms | met {'yes' if p99 <= P99_TARGET_MS else 'no'}"
    )
    print(
        f"SQL statements per purchase: ours {statements} | target {STATEMENTS_TARGET} | "
        f"met {'yes' if statements <= STATEMENTS_TARGET else 'no'}"
    )
    if errors:
        sys.exit(f"non-201 responses: {sorted(set(map(str, errors)))}")


if __name__ == "__main__":
    main()
