"""Many rows into tables at once, for seeding: COPY on PostgreSQL, multi-row INSERTs elsewhere.

A seeder gives plain tuples (no model instances: building a million of them costs more than
writing them) and picks the primary keys itself (``ids_next`` / ``ids_take``), so rows of other
tables can point at rows not written yet. Fields left out get their model default. Timestamps
are written as given, ``auto_now`` fields included: a demo history keeps the order it happened in.

Values written fastest are ``str``, ``int``, ``bool`` and ``None``: a time as ``moment_text`` of
its epoch second, an amount as its decimal text; JSON fields take Python values. The ORM reads
the same texts back on SQLite.

On PostgreSQL the tables written are locked against other writers (readers go on) until the
caller's transaction ends, so the ids a seeder picks are its alone; ``load_mode`` also takes a
big load's indexes and checks off until it is done.
"""

import datetime
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice

from django.db import connection, models
from django.utils import timezone
from psycopg.copy import QueuedLibpqWriter


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _quoted(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _lock(model: type[models.Model]) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("bulk loading runs inside the caller's transaction")
    if _postgresql():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {_quoted(model)} IN EXCLUSIVE MODE")


def _sequence(cursor, model: type[models.Model]) -> str:
    cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [_quoted(model), model._meta.pk.column])
    return cursor.fetchone()[0]


def ids_next(model: type[models.Model]) -> int:
    """The primary key the next row of this table gets; the seeder counts on from it and then calls ``ids_take``."""
    _lock(model)
    with connection.cursor() as cursor:
        if _postgresql():
            sequence = _sequence(cursor, model)
            cursor.execute("SELECT nextval(%s)", [sequence])
            (first,) = cursor.fetchone()
            cursor.execute("SELECT setval(%s, %s, false)", [sequence, first])  # handed out by ids_take, not now
            return first
        # SQLite: one writer at a time, and AUTOINCREMENT moves past ids written explicitly.
        column = connection.ops.quote_name(model._meta.pk.column)
        cursor.execute(f"SELECT MAX({column}) FROM {_quoted(model)}")
        (last,) = cursor.fetchone()
        return (last or 0) + 1


def ids_take(model: type[models.Model], first: int, count: int) -> None:
    """Mark ``count`` ids from ``first`` (what ``ids_next`` said) as used, so later rows get the ones after."""
    if not _postgresql() or count == 0:
        return
    with connection.cursor() as cursor:
        sequence = _sequence(cursor, model)
        cursor.execute("SELECT nextval(%s)", [sequence])
        (given,) = cursor.fetchone()
        if given != first:
            raise RuntimeError(f"ids of {model.__name__} from {first} were taken by someone else")
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])


def ids_reserve(model: type[models.Model], count: int) -> int:
    """The first of ``count`` consecutive primary keys that no other row will get."""
    first = ids_next(model)
    ids_take(model, first, count)
    return first


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_days: dict[int, str] = {}
_times_of_day: list[str] = []


def moment_text(second: int) -> str:
    """An epoch second as the text of a UTC time, e.g. "2026-03-01 09:30:00+00:00" (fast: parts are cached)."""
    if not _times_of_day:
        _times_of_day.extend(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00:00" for s in range(86400))
    day, rest = divmod(second, 86400)
    text = _days.get(day)
    if text is None:
        text = _days[day] = (_EPOCH + datetime.timedelta(days=day)).strftime("%Y-%m-%d ")
    return text + _times_of_day[rest]


class EpochSecond(models.Func):
    """A time as whole seconds since 1970 (UTC), read without building a datetime for every row."""

    output_field = models.BigIntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::bigint", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps SQLite times as UTC text.
        template = "CAST((julianday(%(expressions)s) - 2440587.5) * 86400 + 0.5 AS INTEGER)"
        return self.as_sql(compiler, connection, template=template, **extra)


def _completed(model: type[models.Model], fields: Sequence[str]) -> tuple[list[models.Field], tuple]:
    """Every concrete field to write (the given ones first) and the values of those left out."""
    given = [model._meta.get_field(name) for name in fields]
    given_names = {field.name for field in given}
    now = timezone.now()
    rest, values = [], []
    for field in model._meta.concrete_fields:
        if field.name in given_names or field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        else:
            value = field.get_default()  # "" for text fields without one
            if value is None and not field.null:
                raise ValueError(f"{model.__name__}.{field.name} has no default: give it")
        rest.append(field)
        values.append(value)
    return given + rest, tuple(values)


def _json_text(value) -> str:
    return "{}" if value == {} else "[]" if value == [] else json.dumps(value)


def _copy_text(field: models.Field, value):
    if isinstance(field, models.JSONField):
        return _json_text(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return value


def rows_load(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple], *, batch_size: int = 1000
) -> int:
    """Write ``rows`` (tuples of values in the order of ``fields``) into the model's table; returns how many.

    No model ``save()``, signals or validation: the caller writes rows that are valid already.
    ``rows`` may be a generator, but must not query the database: the COPY holds the connection.
    """
    _lock(model)
    columns, defaults = _completed(model, fields)
    names = ", ".join(connection.ops.quote_name(field.column) for field in columns)
    table = _quoted(model)
    written = 0
    with connection.cursor() as cursor:
        if _postgresql():
            given = len(fields)
            # Defaults are the same in every row: turned into text once (JSON as JSON text).
            defaults = tuple(_copy_text(field, value) for field, value in zip(columns[given:], defaults, strict=True))
            json_given = [i for i, field in enumerate(columns[:given]) if isinstance(field, models.JSONField)]
            # A thread sends what is ready while the next rows are formatted (psycopg's QueuedLibpqWriter).
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({names}) FROM STDIN", writer=QueuedLibpqWriter(raw)) as copy:
                write = copy.write_row
                if json_given:
                    for row in rows:
                        values = list(row)
                        for i in json_given:
                            values[i] = _json_text(values[i])
                        write((*values, *defaults))
                        written += 1
                elif defaults:
                    for row in rows:
                        write(row + defaults)
                        written += 1
                else:
                    for row in rows:
                        write(row)
                        written += 1
            return written
        # SQLite (``make run``'s few hundred customers): INSERTs of many rows each, values prepared as
        # the ORM prepares them. Not bulk_create: it would stamp auto_now fields with the time of the seed.
        per_row = len(columns)
        batch_size = max(1, min(batch_size, connection.ops.bulk_batch_size(columns, [None] * batch_size)))
        placeholders = f"({', '.join(['%s'] * per_row)})"
        iterator = iter(rows)
        while chunk := list(islice(iterator, batch_size)):
            params = [
                field.get_db_prep_save(value, connection)
                for row in chunk
                for field, value in zip(columns, (*row, *defaults), strict=True)
            ]
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholders] * len(chunk))}", params)
            written += len(chunk)
    return written


@contextmanager
def load_mode(*tables: type[models.Model]) -> Iterator[None]:
    """Build these tables' indexes and check their foreign keys once, after a big load, not row by row.

    PostgreSQL keeps every index current and checks every foreign key (a lookup and a row lock)
    for each row written; for millions of rows that costs several times the writing. Here the
    tables' foreign keys, unique constraints and indexes (all but the primary key) are dropped
    and, at the end, created again exactly as they were: every row is still checked, with one
    sort or join per index and key, and a seeder's mistake still fails the transaction. Until the
    transaction ends the tables are closed to other sessions, readers too. Elsewhere: does nothing.
    """
    if not _postgresql():
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("bulk loading runs inside the caller's transaction")
    constraints, indexes = [], []
    with connection.cursor() as cursor:
        # Checks the transaction still owes run now: a table with pending checks cannot be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for model in tables:
            table = _quoted(model)
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY contype, conname",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {connection.ops.quote_name(name)}")
                constraints.append((table, name, definition))
            cursor.execute(
                "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY c.relname",
                [table],
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                indexes.append(definition)
    yield
    with connection.cursor() as cursor:
        for definition in indexes:
            cursor.execute(definition)
        # Unique constraints before the foreign keys, which may need them.
        for table, name, definition in sorted(constraints, key=lambda c: c[2].startswith("FOREIGN KEY")):
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys are all initially deferred
