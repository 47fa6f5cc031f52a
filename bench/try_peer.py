"""Show the peer's figures on their own: ``python bench/try_peer.py [n ...]`` (default 10000).

Not a benchmark that bench/run.py runs (it runs only bench_*.py files): a quick check that
django-post-office (requirements-bench.txt) is installed and measures on the benchmark database
(BENCH_DATABASE_URL, created here if missing).
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(sizes: list[int]) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command

    from bench import peer_post_office as peer

    name = settings.DATABASES["default"]["NAME"]
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {name}"], capture_output=True)
    call_command("migrate", "--noinput", verbosity=0)
    print(f"database {name}, POST_OFFICE = {settings.POST_OFFICE}")
    for n in sizes:
        peer.cleanup()
        queued = peer.queue_rate(n)
        peer.cleanup()
        sent = peer.dispatch_rate(n)
        peer.cleanup()
        for label, figures in (("queue (send_many)", queued), ("dispatch (send_queued_mail)", sent)):
            print(
                f"n={n} {label}: {figures['per_second']:.0f} messages/s in {figures['seconds']:.2f} s, "
                f"{figures['queries'] * 1000 / figures['messages']:.1f} queries per 1,000"
            )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000])
