"""Raw-SQL helpers for the few hot paths whose statements the ORM cannot chain or make conditional."""

import json

from django.db import connection
from django.db.models import Lookup


def insert_parts(obj) -> tuple[list, list[str], list]:
    """The fields, placeholders and values Django would insert for ``obj`` (its pk left to the database)."""
    fields = [field for field in obj._meta.concrete_fields if not field.primary_key]
    values = [field.get_db_prep_save(field.pre_save(obj, add=True), connection) for field in fields]
    return fields, ["%s"] * len(fields), values


def columns(fields) -> str:
    return ", ".join(connection.ops.quote_name(field.column) for field in fields)


def insert_unless_present(obj) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: whether ``obj`` was written (its pk then set).

    A row that conflicts with one a concurrent transaction is writing waits for that transaction:
    written when it rolls back, not when it commits. No savepoint is needed around it.
    """
    fields, marks, values = insert_parts(obj)
    table = connection.ops.quote_name(obj._meta.db_table)
    sql = f"INSERT INTO {table} ({columns(fields)}) VALUES ({', '.join(marks)}) ON CONFLICT DO NOTHING RETURNING id"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, connection.alias
    return True


def select_list(model, alias: str) -> str:
    """``alias.column, ...`` for every concrete field of ``model``, in ``_meta`` order (see ``from_row``)."""
    qn = connection.ops.quote_name
    return ", ".join(f"{alias}.{qn(field.column)}" for field in model._meta.concrete_fields)


def from_row(model, values):
    """An instance of ``model`` from values in ``select_list`` order, converted as the ORM would."""
    fields = model._meta.concrete_fields
    converted = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def insert_many_unless_present(objs: list) -> None:
    """``bulk_create(objs, ignore_conflicts=True)`` as one fixed statement text per row count
    (the ORM compiles a bulk insert anew each time; the sale's path sends one per sale)."""
    if not objs:
        return
    parts = [insert_parts(obj) for obj in objs]
    fields = parts[0][0]
    rows = ", ".join(f"({', '.join(marks)})" for _fields, marks, _values in parts)
    table = connection.ops.quote_name(objs[0]._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns(fields)}) VALUES {rows} ON CONFLICT DO NOTHING",
            [value for _fields, _marks, values in parts for value in values],
        )


class AnyOf(Lookup):
    """``field__any=values``: what ``__in`` selects, with the values as one array parameter.

    ``__in`` writes a placeholder per value: for the thousand ids of a dispatch batch, building,
    quoting and parsing that statement costs several times the query itself. ``= ANY(%s)`` sends
    one array (on SQLite, one JSON list). The values must already be the column's type (ints for
    keys, strings for text); they are not converted one by one.
    """

    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*lhs_params, self.rhs]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(self.rhs)]
