"""What an admin page must not do to a table of millions of rows, read from the statements it ran."""

import json
import re

from django.db import connection


def whole_table_aggregates(queries: list[dict], table: str, kinds=("COUNT", "MIN", "MAX", "DISTINCT")) -> list[str]:
    """Statements that count or aggregate every row of ``table`` (nothing narrows them: no WHERE,
    no LIMIT): a full ``COUNT(*)``, a date hierarchy's first/last date or its distinct years,
    facet counts, a list filter's distinct values. EXPLAIN runs nothing and is left out."""
    aggregate = re.compile(
        r"^SELECT\s+(?:DISTINCT\b|.*?\b(?:" + "|".join(k for k in kinds if k != "DISTINCT") + r")\()"
        if "DISTINCT" in kinds
        else r"^SELECT\s+.*?\b(?:" + "|".join(kinds) + r")\(",
        re.IGNORECASE | re.DOTALL,
    )
    marker = f'FROM "{table}"'
    found = []
    for query in queries:
        sql = query["sql"]
        if marker not in sql or not aggregate.match(sql):
            continue
        rest = sql.split(marker, 1)[1]
        if " WHERE " not in rest and " LIMIT " not in rest:
            found.append(sql)
    return found


def unindexed_reads(queryset) -> list[str]:
    """The tables the query reads row by row, or along a whole index (no condition on the index's
    first column), when PostgreSQL may use any index it has: none means every condition of the
    query is looked up in an index, at any table size.

    Unordered and without the joins ``select_related`` adds for display, so that walking a whole
    index for its order cannot stand in for reading the table."""
    sql, params = queryset.order_by().select_related(None).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = on")
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = []

    def walk(node):
        kind = node["Node Type"]
        if kind == "Seq Scan":
            found.append(f"{kind} on {node['Relation Name']}")
        elif "Index Name" in node and not _constrains_first_column(node["Index Name"], node.get("Index Cond", "")):
            found.append(f"{kind} on {node['Index Name']} without its first column: {node.get('Index Cond')}")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def _constrains_first_column(index: str, condition: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.attname FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid
            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
            WHERE c.relname = %s
            """,
            [index],
        )
        column = cursor.fetchone()[0]
    if column is None:  # an expression index: its condition is the expression
        return bool(condition)
    return re.search(rf"(?<!\w){re.escape(column)}\b", condition) is not None
