"""Run every benchmark in bench/ (files named bench_*.py) and print their figures.

Each runs in its own process: each sets Django up on its own database (a second ``django.setup()``
in one process would keep the first one's), and one's memory or connections never skew the next.
"""

import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).parent
benches = sorted(here.glob("bench_*.py"))
if not benches:
    print("no benchmarks yet")
failed = []
for path in benches:
    print(f"== {path.stem}", flush=True)
    if subprocess.run([sys.executable, str(path)], cwd=here.parent).returncode:
        failed.append(path.stem)
if failed:
    sys.exit(f"benchmarks that failed: {', '.join(failed)}")
