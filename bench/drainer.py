"""One drainer process for the benchmark: ``python bench/drainer.py`` (BENCH_DATABASE_URL).

Sets Django up, says "ready", waits for a line on stdin, drains the outbox once (what a Celery
worker process does when beat wakes it), then prints what it sent and when, as JSON. Several
started together show how the outbox scales across worker processes (SKIP LOCKED claims).
"""

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from config.celery import warm_up
    from notifications.delivery.dispatch import drain

    warm_up()  # as a Celery worker does when it starts

    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    outcome = drain(channel=os.environ.get("BENCH_DRAIN_CHANNEL") or None)
    print(json.dumps({"started": started, "finished": time.time(), "outcome": outcome}), flush=True)
