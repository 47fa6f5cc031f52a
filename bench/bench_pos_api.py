"""POS API benchmark: purchases/s and latency percentiles against a running server.

Sets up its own PostgreSQL database (BENCH_DATABASE_URL, default crm_bench on 127.0.0.1) with a
few hundred thousand customers (BENCH_CUSTOMERS, default 200000; seeded once and kept), starts
gunicorn on 127.0.0.1, and posts BENCH_REQUESTS purchases (default 3000) from BENCH_CLIENTS
concurrent clients (default 8), each with its own Idempotency-Key and receipt.
"""

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench")
CUSTOMERS = int(os.environ.get("BENCH_CUSTOMERS", "200000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DATABASE_URL": DB_URL,
    "DEBUG": "false",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/14",
    "LOG_LEVEL": "WARNING",
    "PUBLIC_BASE_URL": "https://crm.example.com",  # DEBUG is off: links must be HTTPS (a system check)
}


def manage(*args: str) -> str:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=ENV, check=True, capture_output=True, text=True
    ).stdout


def shell(code: str) -> str:
    return manage("shell", "-c", code).strip().splitlines()[-1]


def prepare() -> str:
    name = DB_URL.rsplit("/", 1)[1]
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], capture_output=True)
    manage("migrate", "--noinput")
    have = int(shell("from crm.models import Customer; print(Customer.objects.count())"))
    if have < CUSTOMERS:
        print(f"seeding {CUSTOMERS - have} customers ...", flush=True)
        manage("seed_demo", "--customers", str(CUSTOMERS - have))
    store = shell("from crm.models import Store; print(Store.objects.order_by('code').first().code)")
    return manage("create_pos_key", store).strip()


def main() -> None:
    key = prepare()
    cards = shell(
        "from crm.models import Customer; import json; "
        "print(json.dumps(list(Customer.objects.order_by('?').values_list('external_id', flat=True)[:5000])))"
    )
    cards = json.loads(cards)
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{PORT}",
            "-w",
            "3",
            "--threads",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=ENV,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", PORT, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        run_id = f"{int(time.time())}"
        latencies: list[float] = []
        errors: list[int] = []
        lock = threading.Lock()
        counter = iter(range(REQUESTS))

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            rng = random.Random()
            for i in counter:
                body = json.dumps(
                    {
                        "customer": {"external_id": rng.choice(cards)},
                        "receipt_id": f"B-{run_id}-{i}",
                        "amount": f"{rng.randint(100, 20000) / 100:.2f}",
                        "currency": "EUR",
                    }
                )
                headers = {
                    "Authorization": f"Bearer {key}",
                    "Idempotency-Key": f"{run_id}-{i}",
                    "Content-Type": "application/json",
                }
                started = time.perf_counter()
                conn.request("POST", "/api/v1/purchases/", body, headers)
                response = conn.getresponse()
                response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status != 201:
                        errors.append(response.status)

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(f"customers: {CUSTOMERS}  requests: {len(latencies)}  clients: {CLIENTS}  errors: {len(errors)}")
    print(f"purchases/s: {len(latencies) / wall:.0f}  p50: {p50:.1f} ms  p99: {p99:.1f} ms")
    if errors:
        sys.exit(f"non-201 responses: {sorted(set(errors))}")


if __name__ == "__main__":
    main()
