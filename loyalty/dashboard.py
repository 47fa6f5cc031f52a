"""Loyalty's dashboard panel (crm.dashboard): the points liability and what expires ahead."""

import datetime
import itertools

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from crm.charts import bars
from crm.dashboard import LIABILITY, register_panel
from loyalty.models import BonusLot

AHEAD = (30, 60, 90)


def liability_ahead(now: datetime.datetime) -> dict:
    """Points not yet spent nor expired (the open lots' remainders), and how many of them expire
    within each of the next 30, 60 and 90 days: loyalty_lot_due_idx holds only open lots."""
    open_lots = BonusLot.objects.filter(remaining__gt=0, expires_at__gt=now)
    sums = {
        f"within_{days}": Sum("remaining", filter=Q(expires_at__lte=now + datetime.timedelta(days=days)), default=0)
        for days in AHEAD
    }
    return open_lots.aggregate(
        outstanding=Sum("remaining", default=0), accounts=Count("account", distinct=True), **sums
    )


def _liability(request, period) -> dict:
    figures = liability_ahead(period.now)
    within = {0: 0, **{days: figures[f"within_{days}"] for days in AHEAD}}
    edges = [0, *AHEAD]
    rows = [
        (str(_("%(from)s–%(to)s days") % {"from": low, "to": high}), within[high] - within[low])
        for low, high in itertools.pairwise(edges)
    ]
    rows.append((str(_("later")), figures["outstanding"] - within[AHEAD[-1]]))
    return {
        "figures": [
            (_("points outstanding"), figures["outstanding"]),
            (_("accounts holding points"), figures["accounts"]),
            *((_("expiring within %(days)s days") % {"days": days}, figures[f"within_{days}"]) for days in AHEAD),
        ],
        "charts": [bars(_("Points expiring ahead"), rows, str(_("points")))],
    }


def register() -> None:
    register_panel(
        "liability",
        _("Points liability"),
        _liability,
        template="admin/crm/dashboard/charts.html",
        permission="loyalty.view_liability",
        order=LIABILITY,
    )
