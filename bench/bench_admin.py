"""The staff admin at scale: every big changelist and the customer page, timed.

Builds its own PostgreSQL database once per scale (BENCH_ADMIN_DATABASE_URL, default
crm_bench_admin_<scale>; kept between runs) with BENCH_SCALE customers (default 100k; 1m for the
issue's million) and ten outbox rows each (BENCH_ADMIN_CUSTOMERS and BENCH_ADMIN_NOTIFICATIONS
override them), plus accounts, ledger lines and lots, consent events, delivery events,
inbound messages, interactions, callbacks, preferences and survey responses in proportion, all with
``INSERT … SELECT generate_series`` (at 1m the first run takes about ten minutes on this 2-core
machine, at 100k about one; later runs reuse it). One "busy" customer has thousands of messages,
ledger lines and interactions: the customer page and the account page are timed for them.

Then a superuser is logged in with Django's test client and each page is requested
BENCH_ADMIN_RUNS times (default 20; a page that is still slow after BENCH_ADMIN_PAGE_BUDGET
seconds, default 20, stops early and says after how many; BENCH_ADMIN_ONLY=words,… times only the
pages whose names contain one of them). Each page prints
``admin <page> p95: ours X ms | target 300 ms | met yes/no`` with its query count and whether any
statement counted a whole table.

The work is done by admin_pages.py in a child process: Django is set up there with settings and a
database of its own, which must not leak into the other benchmarks bench/run.py runs in its process.
"""

import subprocess
import sys
from pathlib import Path

subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "admin_pages.py")], check=True)
