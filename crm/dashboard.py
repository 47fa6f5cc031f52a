"""The staff dashboard: panels that apps register, each shown to those with its permission.

crm knows nothing of the apps above it (the arrows point to crm): loyalty, notifications and
surveys register their panels from ``AppConfig.ready()``, and so may campaigns (its results
panel takes the ``CAMPAIGNS`` slot). A panel's ``build(request, period)`` returns its template's
context; every figure it computes is set-based and bounded by the period (an indexed time range)
or by an index that holds only what it counts (open lots, open callbacks).
"""

import dataclasses
import datetime
from collections.abc import Callable

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.access import store_scoped
from crm.models import Callback
from crm.zones import both_zones

# The order panels appear in; an app picks its slot (or any number between).
CALLBACKS, MESSAGES, UNSUBSCRIBES, CONSENT, LIABILITY, FEEDBACK, CAMPAIGNS = 10, 20, 30, 40, 50, 60, 70


@dataclasses.dataclass(frozen=True)
class Period:
    """The weeks the dashboard looks back over, ending now."""

    weeks: int
    now: datetime.datetime

    @property
    def since(self) -> datetime.datetime:
        return self.now - datetime.timedelta(weeks=self.weeks)


@dataclasses.dataclass(frozen=True)
class Panel:
    key: str
    title: str
    build: Callable
    template: str
    permission: str
    order: int


_PANELS: dict[str, Panel] = {}


def register_panel(key: str, title, build: Callable, *, template: str, permission: str, order: int = 100) -> None:
    """Add (or replace) the panel ``key``: ``build(request, period) -> dict`` renders ``template``."""
    _PANELS[key] = Panel(key, title, build, template, permission, order)


def unregister_panel(key: str) -> None:
    _PANELS.pop(key, None)


def panels(user) -> list[Panel]:
    return sorted((p for p in _PANELS.values() if user.has_perm(p.permission)), key=lambda p: (p.order, p.key))


def week_starts(since: datetime.datetime, now: datetime.datetime) -> list[datetime.date]:
    """The Mondays (in the current zone) of every week the period touches, oldest first."""
    first = timezone.localtime(since).date()
    first -= datetime.timedelta(days=first.weekday())
    last = timezone.localtime(now).date()
    weeks = []
    while first <= last:
        weeks.append(first)
        first += datetime.timedelta(days=7)
    return weeks


def week_of(moment: datetime.datetime) -> datetime.date:
    """The Monday of the week of a ``TruncWeek`` value (already in the current zone)."""
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


# --- crm's own panel: the calls due ---------------------------------------------------------------

DUE_SHOWN = 20


def _due_callbacks(request, period: Period) -> dict:
    """Open calls due by the end of tomorrow, for this staff member (theirs and nobody's), of the
    customers they may see: crm_callback_due_idx reads the open ones by due time."""
    until = period.now + datetime.timedelta(days=1)
    rows = (
        store_scoped(Callback.objects.all(), request.user, "customer")
        .filter(
            Q(assigned_to__isnull=True) | Q(assigned_to=request.user), status=Callback.Status.OPEN, due_at__lte=until
        )
        .select_related("customer")
        .order_by("due_at")[:DUE_SHOWN]
    )
    return {
        "callbacks": [
            {
                "callback": c,
                "when": both_zones(c.due_at, c.customer.zone),
                "overdue": c.due_at <= period.now,
            }
            for c in rows
        ]
    }


def register_crm_panels() -> None:
    register_panel(
        "callbacks",
        _("Calls due (yours and unassigned)"),
        _due_callbacks,
        template="admin/crm/dashboard/callbacks.html",
        permission="crm.view_callback",
        order=CALLBACKS,
    )


def dashboard_context(request, *, weeks: int) -> dict:
    period = Period(weeks=weeks, now=timezone.now())
    shown = []
    for panel in panels(request.user):
        shown.append({"panel": panel, **panel.build(request, period)})
    return {"panels": shown, "period": period}
