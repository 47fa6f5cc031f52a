"""One place that moves the test run's clock, in this process and in the processes it starts.

`pytest --now=2027-03-28T00:30:00+00:00` runs every test as if it were then (the clock ticks on),
which proves the suite does not depend on the date or hour it happens to run at. Subprocesses
(the real Celery workers) get the same moment through TEST_CLOCK_AT and `tests.celery_worker`.
"""

import datetime
import os

import time_machine

ENV = "TEST_CLOCK_AT"
_traveller: time_machine.travel | None = None


def travel(moment: datetime.datetime) -> None:
    global _traveller
    if moment.tzinfo is None:
        raise ValueError(f"--now needs a UTC offset, e.g. {moment.isoformat()}+00:00")
    stop()
    _traveller = time_machine.travel(moment, tick=True)
    _traveller.start()


def stop() -> None:
    global _traveller
    if _traveller is not None:
        _traveller.stop()
        _traveller = None


def subprocess_env() -> dict[str, str]:
    """Environment entries that put a child process on this process's clock."""
    if _traveller is None:
        return {}
    return {ENV: datetime.datetime.now(datetime.UTC).isoformat()}


def follow_parent() -> None:
    """Called first thing in a child process: take the parent's clock if it was moved."""
    if at := os.environ.get(ENV):
        travel(datetime.datetime.fromisoformat(at))
