"""The customer's timeline: every app tells what it knows about one customer, crm merges it.

crm knows nothing of loyalty, notifications or surveys (the arrows point to crm): each of them
registers its sources here from its ``AppConfig.ready()``, and the timeline page renders whatever
is registered. A source answers ``fetch(customer, before, limit)``: at most ``limit`` entries
strictly older than ``before`` (None: the newest), newest first, read by one indexed query per
source (``rows(customer, before)`` gives that query, so tests can check its plan). A page merges
one such read per shown source by time and cuts it at ``limit``: a page costs a constant number of
queries at any size of history.
"""

import dataclasses
import datetime
from collections.abc import Callable

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm.models import Callback, Customer, Interaction


@dataclasses.dataclass(frozen=True)
class Entry:
    at: datetime.datetime
    kind: str
    title: str
    detail: str = ""
    link: str = ""
    # Further moments worth showing in both zones (e.g. a message's "send at"), as (label, moment).
    moments: tuple[tuple[str, datetime.datetime | None], ...] = ()


Fetch = Callable[[Customer, datetime.datetime | None, int], list[Entry]]
Rows = Callable[[Customer, datetime.datetime | None], QuerySet]


@dataclasses.dataclass(frozen=True)
class Source:
    kind: str
    label: str
    fetch: Fetch
    # Who may see these entries: the same right that opens their rows in the admin.
    permission: str
    rows: Rows | None = None


_SOURCES: dict[str, Source] = {}


def register_source(kind: str, label, fetch: Fetch, *, permission: str, rows: Rows | None = None) -> None:
    """Add (or replace, on a reload) the source of entries of ``kind``."""
    _SOURCES[kind] = Source(kind, label, fetch, permission, rows)


def sources(user=None) -> list[Source]:
    """The registered sources, those ``user`` may read when given, in registration order."""
    return [s for s in _SOURCES.values() if user is None or user.has_perm(s.permission)]


def older_than(field: str, before: datetime.datetime | None) -> dict:
    return {f"{field}__lt": before} if before is not None else {}


@dataclasses.dataclass(frozen=True)
class Page:
    entries: list[Entry]
    # The cursor of the next (older) page, None at the end.
    next_before: datetime.datetime | None


def timeline_page(
    customer: Customer, *, shown: list[Source], before: datetime.datetime | None = None, limit: int = 50
) -> Page:
    """The ``limit`` newest entries older than ``before`` of the ``shown`` sources.

    Entries at one instant are never split across pages: when the cut would fall inside such a
    group, the page ends before it (unless the group fills the page), so the next page's ``before``
    loses none of them.
    """
    merged: list[Entry] = []
    for source in shown:
        merged.extend(source.fetch(customer, before, limit + 1))
    merged.sort(key=lambda entry: entry.at, reverse=True)
    if len(merged) <= limit:
        return Page(merged, None)
    page = merged[:limit]
    if merged[limit].at == page[-1].at:
        whole = [entry for entry in page if entry.at != page[-1].at]
        if whole:
            page = whole
    return Page(page, page[-1].at)


# --- crm's own sources ---------------------------------------------------------------------------


def _interaction_rows(customer, before):
    # crm_interaction_timeline_idx (customer, -occurred_at)
    return Interaction.objects.filter(customer=customer, **older_than("occurred_at", before)).order_by(
        "-occurred_at", "-id"
    )


def _interactions(customer, before, limit):
    return [
        Entry(
            at=i.occurred_at,
            kind="interaction",
            title=f"{capfirst(i.get_kind_display())}: {i.summary[:120]}",
            detail=" · ".join(str(part) for part in (i.staff, i.store) if part),
            link=reverse("admin:crm_interaction_change", args=[i.pk]),
        )
        for i in _interaction_rows(customer, before).select_related("staff", "store")[:limit]
    ]


def _callback_rows(customer, before):
    # The customer's callbacks by the foreign key's index: a customer has a handful.
    return Callback.objects.filter(customer=customer, **older_than("created_at", before)).order_by("-created_at", "-id")


def _callbacks(customer, before, limit):
    return [
        Entry(
            at=c.created_at,
            kind="callback",
            title=_("Callback agreed: %(subject)s") % {"subject": c.subject},
            detail=" · ".join(
                part for part in (c.get_status_display(), str(c.assigned_to or ""), c.notes[:200]) if part
            ),
            link=reverse("admin:crm_callback_change", args=[c.pk]),
            moments=((_("call at"), c.due_at),),
        )
        for c in _callback_rows(customer, before).select_related("assigned_to")[:limit]
    ]


def register_crm_sources() -> None:
    register_source(
        "interaction", _("Interactions"), _interactions, permission="crm.view_interaction", rows=_interaction_rows
    )
    register_source("callback", _("Callbacks"), _callbacks, permission="crm.view_callback", rows=_callback_rows)
