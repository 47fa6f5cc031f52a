"""Run every benchmark in bench/ (files named bench_*.py) and print their figures."""

import pathlib
import runpy
import sys

here = pathlib.Path(__file__).parent
sys.path.insert(0, str(here.parent))
benches = sorted(here.glob("bench_*.py"))
if not benches:
    print("no benchmarks yet")
for path in benches:
    print(f"== {path.stem}")
    runpy.run_path(str(path), run_name="__main__")
