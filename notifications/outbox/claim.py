"""The outbox's hot path: claim due rows under a lease, and record what became of them, in bulk.

Claim: one statement takes up to N due rows (the partial index ``notif_due_idx`` covers only rows
waiting to go, ordered by ``send_at``, so history never slows it) and marks them ``sending`` with a
lease; a second statement, only when the first came up short, takes rows whose lease ran out
(a worker died). On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim
disjoint rows at once.

Fencing: every claim bumps ``attempts``, and that number is the claimer's token. Recording
applies only where the row is still ``sending`` under the same token, so a worker that outlived
its lease (and whose rows were claimed again by another) cannot overwrite the newer outcome.

Record: the outcomes of a whole batch in one ``UPDATE … FROM (VALUES …)`` on PostgreSQL.
"""

import datetime
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from notifications.models import Notification

Status = Notification.Status
TABLE = Notification._meta.db_table
WAITING = (Status.SCHEDULED, Status.DEFERRED)


@dataclass(frozen=True, order=True)
class Claim:
    id: int
    token: int  # the row's ``attempts`` after this claim: the fencing token


@dataclass
class Outcome:
    """What became of one claimed row; ``None`` fields keep the row's current value."""

    id: int
    token: int
    status: str
    reason: str = ""
    detail: str = ""
    send_at: datetime.datetime | None = None
    sent_at: datetime.datetime | None = None
    channel: str | None = None
    provider_message_id: str | None = None
    subject: str | None = None
    body: str | None = None
    context: dict | None = None
    sms_segments: int | None = None
    sms_encoding: str | None = None
    letter_batch_id: int | None = None
    extra: dict = field(default_factory=dict)


def _lock_clause() -> str:
    return " FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""


def _claim(where: str, order: str, params: list, *, now, limit: int) -> list[Claim]:
    lease_until = now + datetime.timedelta(seconds=settings.NOTIFICATION_LEASE_SECONDS)
    sql = (
        f"UPDATE {TABLE} SET status = %s, lease_until = %s, attempts = attempts + 1, updated_at = %s "
        f"WHERE id IN (SELECT id FROM {TABLE} WHERE {where} ORDER BY {order} LIMIT %s{_lock_clause()}) "
        "RETURNING id, attempts"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [Status.SENDING, lease_until, now, *params, limit])
        rows = cursor.fetchall()
    return sorted(Claim(pk, token) for pk, token in rows)


def claim(*, now: datetime.datetime, limit: int, channel: str | None = None) -> list[Claim]:
    """Lease up to ``limit`` rows that are due (or whose lease ran out) to the caller, oldest first."""
    only_channel = " AND channel = %s" if channel else ""
    extra = [channel] if channel else []
    with transaction.atomic():
        claims = _claim(
            f"status IN (%s, %s) AND send_at <= %s{only_channel}",
            "send_at, id",
            [*WAITING, now, *extra],
            now=now,
            limit=limit,
        )
        if len(claims) < limit:
            claims += _claim(
                f"status = %s AND lease_until < %s{only_channel}",
                "lease_until, id",
                [Status.SENDING, now, *extra],
                now=now,
                limit=limit - len(claims),
            )
    return claims


COLUMNS = [
    # (column, PostgreSQL type, keep the current value when the outcome says None)
    ("status", "varchar", False),
    ("reason", "varchar", False),
    ("detail", "varchar", False),
    ("send_at", "timestamptz", True),
    ("sent_at", "timestamptz", True),
    ("channel", "varchar", True),
    ("provider_message_id", "varchar", True),
    ("subject", "varchar", True),
    ("body", "text", True),
    ("context", "jsonb", True),
    ("sms_segments", "smallint", True),
    ("sms_encoding", "varchar", True),
    ("letter_batch_id", "bigint", True),
]


# The row's detail is its history of decisions (a re-plan, a fallback, a provider error): a new note
# is appended, and the oldest text gives way when it outgrows the column.
DETAIL_SQL = (
    "detail = right(CASE WHEN v.detail = '' THEN n.detail WHEN n.detail = '' THEN v.detail "
    "ELSE n.detail || '; ' || v.detail END, 255)"
)


def _joined_detail(old: str, new: str) -> str:
    return ("; ".join(filter(None, [old, new])))[-255:]


def record(outcomes: list[Outcome], *, now: datetime.datetime) -> set[int]:
    """Write the outcomes of a batch; returns the ids recorded (the others lost their lease).

    On PostgreSQL one statement whatever the batch size: the outcomes travel as one JSON document
    (``jsonb_to_recordset``), which Python encodes in C; the statement text never changes.
    """
    if not outcomes:
        return set()
    if connection.vendor != "postgresql":
        return _record_one_by_one(outcomes, now=now)
    document = json.dumps([_row(outcome) for outcome in outcomes], cls=DjangoJSONEncoder, separators=(",", ":"))
    with connection.cursor() as cursor:
        cursor.execute(RECORD_SQL, [now, document, Status.SENDING])
        return {pk for (pk,) in cursor.fetchall()}


def _row(outcome: Outcome) -> dict:
    """One outcome as the JSON object RECORD_SQL reads (a missing key reads as NULL: keep the value)."""
    row = {"id": outcome.id, "token": outcome.token}
    for column, _kind, _keep in COLUMNS:
        value = getattr(outcome, column)
        if column == "detail":
            value = value or ""
        elif value is None:
            continue
        elif column in ("subject", "provider_message_id"):
            value = value[:255]
        row[column] = value
    return row


RECORD_SQL = (
    f"UPDATE {TABLE} AS n SET "
    + ", ".join(
        DETAIL_SQL
        if column == "detail"
        else (f"{column} = COALESCE(v.{column}, n.{column})" if keep else f"{column} = v.{column}")
        for column, _kind, keep in COLUMNS
    )
    + ", lease_until = NULL, updated_at = %s "
    + "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, token integer, "
    + ", ".join(f"{column} {kind}" for column, kind, _keep in COLUMNS)
    + ") WHERE n.id = v.id AND n.status = %s AND n.attempts = v.token RETURNING n.id"
)


def _record_one_by_one(outcomes: list[Outcome], *, now: datetime.datetime) -> set[int]:
    """SQLite (the local default): the same fenced update, a row at a time."""
    recorded = set()
    with transaction.atomic():
        details = dict(
            Notification.objects.filter(pk__in=[outcome.id for outcome in outcomes]).values_list("pk", "detail")
        )
        for outcome in outcomes:
            fields = {"lease_until": None, "updated_at": now}
            for column, _kind, keep in COLUMNS:
                value = getattr(outcome, column)
                if value is None and keep:
                    continue
                fields[column] = (
                    _joined_detail(details.get(outcome.id, ""), value or "") if column == "detail" else value
                )
            updated = Notification.objects.filter(pk=outcome.id, status=Status.SENDING, attempts=outcome.token).update(
                **fields
            )
            if updated:
                recorded.add(outcome.id)
    return recorded
