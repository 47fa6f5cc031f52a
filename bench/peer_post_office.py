"""The peer's figures: django-post-office queueing and sending e-mail on the benchmark database.

Needs ``bench.settings`` (post_office installed, its dummy backend, its tuned POST_OFFICE) and a
migrated database; nothing happens on import. Each function measures in this process through the
default database connection, and counts every query on it.

The peer gets the fastest path its public API offers:

- queueing: ``mail.send_many()``, one ``bulk_create`` per call (``mail.send()`` saves, and
  validates, one row at a time). The keyword arguments (recipient, template, context) are built
  before the clock starts; only post-office's own work is timed.
- sending: ``send_queued_mail_until_done()``, what its ``send_queued_mail`` command runs, with
  ``processes=1`` (so the work and its queries stay in this process) and a lock file of its own.

The messages are like ours: one stored template, a per-recipient context, rendered when sent
(``render_on_delivery=True``, which post-office recommends for many messages from one template).
"""

import tempfile
import time
from pathlib import Path

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection

SUBJECT = "{{ title }}"
BODY = "Hello {{ first_name }},\n\n{{ text }}"
QUEUE_CHUNK = 10_000  # messages per send_many() call: one INSERT each, memory bounded at large n


class QueryCounter:
    """Counts the queries run on the default connection inside the ``with`` block."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self._wrapper.__exit__(*exc)


def _figures(messages: int, seconds: float, queries: int) -> dict:
    return {
        "messages": messages,
        "seconds": seconds,
        "per_second": messages / seconds if seconds else float("inf"),
        "queries": queries,
    }


def _template():
    from post_office.models import EmailTemplate

    template, _created = EmailTemplate.objects.get_or_create(
        name="bench-service", language="", default_template=None, defaults={"subject": SUBJECT, "content": BODY}
    )
    return template


def _kwargs_list(n: int, template, *, render_on_delivery: bool) -> list[dict]:
    return [
        {
            "recipients": [f"customer{i}@example.com"],
            "template": template,
            "context": {"title": "Bench", "first_name": f"Customer {i}", "text": "x"},
            "render_on_delivery": render_on_delivery,
        }
        for i in range(n)
    ]


def _queue(kwargs_list: list[dict], chunk: int) -> None:
    from post_office import mail

    for start in range(0, len(kwargs_list), chunk):
        mail.send_many(kwargs_list[start : start + chunk])


def queue_rate(n: int, *, chunk: int = QUEUE_CHUNK, render_on_delivery: bool = True) -> dict:
    """Queue ``n`` e-mails to ``n`` distinct recipients; the rows are left queued (see ``cleanup``).

    Returns ``{"messages", "seconds", "per_second", "queries"}``.
    """
    kwargs_list = _kwargs_list(n, _template(), render_on_delivery=render_on_delivery)
    with QueryCounter() as queries:
        started = time.perf_counter()
        _queue(kwargs_list, chunk)
        seconds = time.perf_counter() - started
    return _figures(n, seconds, queries.count)


def dispatch_rate(n: int, *, render_on_delivery: bool = True, processes: int = 1) -> dict:
    """Queue ``n`` e-mails (not timed) on an empty queue, then time post-office sending all of them.

    Returns ``{"messages", "seconds", "per_second", "queries"}``; ``messages`` counts the rows that
    ended up sent.
    """
    from post_office.mail import send_queued_mail_until_done
    from post_office.models import STATUS, Email

    cleanup()
    _queue(_kwargs_list(n, _template(), render_on_delivery=render_on_delivery), QUEUE_CHUNK)
    with tempfile.TemporaryDirectory() as folder, QueryCounter() as queries:
        started = time.perf_counter()
        send_queued_mail_until_done(lockfile=str(Path(folder) / "post_office"), processes=processes)
        seconds = time.perf_counter() - started
    sent = Email.objects.filter(status=STATUS.sent).count()
    if sent != n:
        raise AssertionError(f"post-office sent {sent} of {n} queued e-mails")
    return _figures(sent, seconds, queries.count)


def cleanup() -> None:
    """Empty post-office's tables (e-mails, logs, attachments, templates) in one statement."""
    tables = [
        model._meta.db_table for model in apps.get_app_config("post_office").get_models(include_auto_created=True)
    ]
    with connection.cursor() as cursor:
        for sql in connection.ops.sql_flush(no_style(), tables, allow_cascade=True):
            cursor.execute(sql)


def line(name: str, ours: float, peer: float, unit: str, higher_is_better: bool = True) -> str:
    r"""One comparison as a line a script can read.

    Format: ``<name>: ours <value> <unit> | peer <value> <unit> | ratio <ratio>×``, where the
    ratio is how many times better ours is: ``ours / peer`` when a higher value is better
    (messages/s), ``peer / ours`` when a lower one is (queries per 1,000, seconds). Above 1 means
    ours is better. Numbers are plain decimals, never in exponent form: values of 100 and more
    are rounded to whole numbers, from 10 to 100 to one decimal, smaller ones to two; the ratio
    always has two decimals; a zero denominator gives ``inf`` (and 0 against 0 gives 1.00). So each line matches
    ``^(.+): ours (\S+) (.+) \| peer (\S+) (.+) \| ratio (\S+)×$``.
    Example: ``dispatch: ours 2400 messages/s | peer 1100 messages/s | ratio 2.18×``.
    """
    numerator, denominator = (ours, peer) if higher_is_better else (peer, ours)
    if numerator == denominator:
        ratio = 1.0  # including 0 against 0
    else:
        ratio = numerator / denominator if denominator else float("inf")
    return f"{name}: ours {_number(ours)} {unit} | peer {_number(peer)} {unit} | ratio {ratio:.2f}×"


def _number(value: float) -> str:
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
