"""Run every benchmark in bench/ (files named bench_*.py) and print their figures.

Each runs in its own process: each sets Django up on its own database (a second ``django.setup()``
in one process would keep the first one's), and one's memory or connections never skew the next.
"""

import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).parent
# The POS latency first: the others bulk-load millions of rows into the same PostgreSQL, whose
# flushing would otherwise be measured as the till's wait (a shop's server is not seeding at opening).
benches = sorted(here.glob("bench_*.py"), key=lambda path: (path.stem != "bench_pos_api", path.stem))
if not benches:
    print("no benchmarks yet")
failed = []
for path in benches:
    print(f"== {path.stem}", flush=True)
    if subprocess.run([sys.executable, str(path)], cwd=here.parent).returncode:
        failed.append(path.stem)
if failed:
    sys.exit(f"benchmarks that failed: {', '.join(failed)}")
