"""The admin on tables of millions of rows: counts the planner estimates, and inlines that show a few rows.

Django's changelist counts its rows exactly (``SELECT COUNT(*)``) on every request. That reads the
whole table, or every row a filter matches, and grows with it: 32 s at 10M outbox rows. Here a list
the planner expects to be long shows the planner's estimate ("about 10,000,000 notifications"), and
only a short one is counted, with a LIMIT, so an estimate that was too low cannot make it slow.
"""

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.utils.functional import cached_property


def estimated_row_count(queryset: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows a queryset returns (EXPLAIN, no execution); None elsewhere.

    Unfiltered, it is the table's ``pg_class.reltuples`` scaled to the table's current size, as
    the planner keeps it (autovacuum's ANALYZE); filtered, the planner's estimate for the filters.
    """
    if connections[queryset.db].vendor != "postgresql":
        return None
    text = queryset.order_by().values("pk").explain(format="json")
    if not text:
        return 0  # a condition that can match nothing (``pk__in=[]``): Django runs no statement
    plan = json.loads(text)
    if isinstance(plan, list):
        plan = plan[0]
    return int(plan["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts exactly only what is short; a long list gets the planner's estimate.

    ``is_estimate`` tells the template (admin/pagination.html) to say "about".
    """

    # Lists the planner expects to hold at most this many rows are counted, and the count stops
    # one row beyond it: an index or a short scan, a few milliseconds.
    exact_up_to = 10_000
    is_estimate = False

    @cached_property
    def count(self) -> int:
        estimate = estimated_row_count(self.object_list)
        if estimate is None:
            return super().count
        if estimate > self.exact_up_to:
            self.is_estimate = True
            return estimate
        counted = self.object_list.order_by().values("pk")[: self.exact_up_to + 1].count()
        if counted > self.exact_up_to:
            # The estimate was too low: at least this many, so say "about".
            self.is_estimate = True
        return counted


class LargeTableAdmin(admin.ModelAdmin):
    """A changelist that stays fast at millions of rows.

    No exact counts (above); no per-filter counts ("facets" count every choice over the table);
    no sorting by a column header (a sort on an unindexed column reads and sorts every row);
    50 rows a page. Subclasses order by an indexed column (``-id`` for append-only rows: the
    primary key's order is the order of creation), filter on indexed columns or bounded choices,
    search with exact or prefix matches an index serves, and use no ``date_hierarchy`` (it reads
    every row's date to list the years).
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ()
    list_per_page = 50


class IndexPrefixFilterMixin:
    """For a list filter on a column that is not the first of its composite index.

    PostgreSQL before 18 cannot skip an index's leading columns, so a rare value of a later column
    would be looked for by reading the table newest first. Naming every value of the columns
    before it (``status IN (all statuses) AND topic = 7``) lets the index find it directly: one
    short descent per combination. ``leading`` maps each such field, in index order, to its
    values or to a function returning them.
    """

    leading: dict = {}

    def queryset(self, request, queryset):
        filtered = super().queryset(request, queryset)
        if not self.used_parameters or filtered is None:
            return filtered
        every = {f"{field}__in": values() if callable(values) else values for field, values in self.leading.items()}
        return filtered.filter(**every)


def index_prefix_filter(base: type, **leading) -> type:
    """``base`` (a FieldListFilter) that names every value of ``leading``'s columns when it filters."""
    return type(f"IndexPrefix{base.__name__}", (IndexPrefixFilterMixin, base), {"leading": leading})


class NewestInlineFormSet(BaseInlineFormSet):
    """The first ``shown`` rows of the inline's ordering, never all of them."""

    shown = 20

    def get_queryset(self):
        if not hasattr(self, "_shown_queryset"):
            self._shown_queryset = super().get_queryset()[: self.shown]
        return self._shown_queryset


class BoundedInlineMixin:
    """For an inline whose rows can number thousands (a customer's interactions, an account's ledger).

    Only the first ``shown`` rows of its ordering are on the page (newest first); the change
    page links to the full, paginated list.
    """

    formset = NewestInlineFormSet
    shown = 20

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.shown = self.shown
        return formset
