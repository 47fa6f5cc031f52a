"""A real Celery worker, on the real broker (Redis), against the test database."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from config.celery import app
from notifications import tasks
from notifications.delivery.channels.base import notification_key
from notifications.models import Notification
from tests import clock
from tests.notifications.factories import due_notification

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
ROOT = Path(settings.BASE_DIR)


def _wait(predicate, timeout=40.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def worker(tmp_path):
    """Start workers on demand; each logs to a file and is stopped at the end."""
    app.control.purge()
    sends = tmp_path / "sends.jsonl"
    sends.touch()
    processes = []

    def start(slow_seconds: float = 0.0) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "TEST_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
            "TEST_EMAIL_CHANNEL": "tests.notifications.backends.SlowFileChannel",
            "SLOW_CHANNEL_FILE": str(sends),
            "SLOW_CHANNEL_SECONDS": str(slow_seconds),
            "NOTIFICATION_LEASE_SECONDS": str(settings.NOTIFICATION_LEASE_SECONDS),
            **clock.subprocess_env(),
        }
        log = (tmp_path / f"worker-{len(processes)}.log").open("w")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.celery_worker",
                "-A",
                "config",
                "worker",
                "-P",
                "solo",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"test{len(processes)}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        logfile = tmp_path / f"worker-{len(processes) - 1}.log"
        assert _wait(lambda: "ready." in logfile.read_text(), timeout=60), logfile.read_text()
        return process

    def attempts() -> list[dict]:
        return [json.loads(line) for line in sends.read_text().splitlines() if line.strip()]

    def sent_ids() -> list[int]:
        return [attempt["n"] for attempt in attempts()]

    start.sent_ids = sent_ids
    start.attempts = attempts
    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _statuses(ids):
    return list(Notification.objects.filter(pk__in=ids).values_list("status", flat=True))


def test_worker_sends_a_dispatched_batch_exactly_once(worker, customer_factory):
    worker()
    rows = [due_notification(c, "service") for c in customer_factory.create_batch(12)]
    ids = [r.pk for r in rows]

    assert tasks.dispatch_due_task() == ["email"]  # beat wakes the e-mail drainer on the real broker
    assert _wait(lambda: set(_statuses(ids)) == {"sent"}), _statuses(ids)
    assert tasks.dispatch_due_task() == []
    assert sorted(worker.sent_ids()) == sorted(ids)


def test_worker_killed_after_the_provider_accepted_loses_nothing_and_the_provider_sees_one_send(
    worker, customer_factory, settings
):
    settings.NOTIFICATION_LEASE_SECONDS = 3
    first = worker(slow_seconds=0.7)
    rows = [due_notification(c, "service") for c in customer_factory.create_batch(8)]
    ids = [r.pk for r in rows]
    keys = {notification_key(pk) for pk in ids}
    assert tasks.dispatch_due_task() == ["email"]

    assert _wait(lambda: len(worker.sent_ids()) >= 3)
    first.send_signal(signal.SIGKILL)  # mid-batch: some sends accepted by the provider but not recorded
    first.wait(timeout=10)
    accepted_before = {attempt["key"] for attempt in worker.attempts()}
    assert 3 <= len(accepted_before) < 8
    assert "sending" in _statuses(ids)

    worker(slow_seconds=0)
    time.sleep(settings.NOTIFICATION_LEASE_SECONDS + 0.5)  # the dead worker's lease runs out
    assert tasks.dispatch_due_task() == ["email"]  # its rows are stranded: claimed again
    assert _wait(lambda: set(_statuses(ids)) == {"sent"}), _statuses(ids)
    attempts = worker.attempts()
    # Every message reached the provider; a message re-sent after the crash carried the key of its
    # first attempt, so the provider (and the recipient's mail client, by Message-ID) sees one send.
    assert {attempt["key"] for attempt in attempts} == keys
    assert all(attempt["key"] == notification_key(attempt["n"]) for attempt in attempts)
    resent = [attempt["key"] for attempt in attempts if attempt["pid"] != attempts[0]["pid"]]
    assert set(resent) <= keys and len(resent) == len(set(resent))
    provider_ids = dict(Notification.objects.filter(pk__in=ids).values_list("pk", "provider_message_id"))
    assert provider_ids == {pk: f"slow-{notification_key(pk)}" for pk in ids}
