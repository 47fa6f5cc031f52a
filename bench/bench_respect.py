"""The respect benchmark (issue 18): a simulated month of customers with hidden habits, through
the real services, with learning on, off, and a fixed 10:00 send. See ``bench/respect.py``.

Prints violations of each rule (all must be 0), reach before the deadline, open rate and
unsubscribes per variant. Environment: BENCH_RESPECT_CUSTOMERS (default 1000; BENCH_SCALE does not
apply: the figures are rates), BENCH_RESPECT_DAYS (default 30), BENCH_RESPECT_DATABASE_URL
(default crm_bench_respect, emptied by every run).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
os.environ.setdefault("LOG_LEVEL", "WARNING")

DB_URL = os.environ.get("BENCH_RESPECT_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crm_bench_respect")
CUSTOMERS = int(os.environ.get("BENCH_RESPECT_CUSTOMERS", "1000"))
DAYS = int(os.environ.get("BENCH_RESPECT_DAYS", "30"))

name = DB_URL.rsplit("/", 1)[1]
subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], capture_output=True)
os.environ["BENCH_DATABASE_URL"] = DB_URL

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from bench.respect import VARIANTS, simulate, table  # noqa: E402

call_command("migrate", "--noinput", verbosity=0)
results = []
for variant in VARIANTS:
    started = time.monotonic()
    results.append(simulate(customers=CUSTOMERS, days=DAYS, variant=variant))
    print(f"  {variant}: simulated in {time.monotonic() - started:.0f} s", flush=True)
print(f"respect: {CUSTOMERS} customers, {DAYS} days (hidden reading hours, weekdays, interest, tolerance)")
print(table(results))
learning, off, fixed = results
ahead = learning.open_rate > max(off.open_rate, fixed.open_rate) and learning.unsubscribed < min(
    off.unsubscribed, fixed.unsubscribed
)
print(f"  target: every violation 0; learning ahead of both baselines on opens and unsubscribes: {ahead}")
