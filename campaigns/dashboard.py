"""Campaigns' dashboard panel (crm.dashboard's CAMPAIGNS slot): the latest campaigns' results."""

from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign
from crm.charts import stacked_bars
from crm.dashboard import CAMPAIGNS, register_panel
from notifications.models import Notification

SHOWN = 5


def campaign_results(campaigns: list[Campaign]) -> dict[int, dict[str, int]]:
    """Sent, opened and clicked per campaign in one query: each campaign's rows are one indexed
    range of dedupe keys (notif_dedupe_key_once), labelled by the campaign they belong to."""
    if not campaigns:
        return {}
    ranges = Q()
    label = []
    for campaign in campaigns:
        prefix = f"{campaign.occasion_prefix}:"
        ranges |= Q(dedupe_key__startswith=prefix)
        label.append(When(dedupe_key__startswith=prefix, then=Value(campaign.pk)))
    rows = (
        Notification.objects.filter(ranges)
        .annotate(campaign=Case(*label, output_field=IntegerField()))
        .values("campaign")
        .annotate(
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        )
        .order_by()
    )
    return {row.pop("campaign"): row for row in rows}


def _campaigns(request, period) -> dict:
    latest = list(
        Campaign.objects.filter(launched_at__gte=period.since)
        .exclude(status=Campaign.Status.DRAFT)
        .order_by("-launched_at")[:SHOWN]
    )
    results = campaign_results(latest)
    zero = {"sent": 0, "opened": 0, "clicked": 0}
    figures = [(results.get(c.pk, zero), c) for c in latest]
    rows = [
        (campaign.name, [r["clicked"], r["opened"] - r["clicked"], r["sent"] - r["opened"]]) for r, campaign in figures
    ]
    return {
        "figures": [
            (_("campaigns launched"), len(latest)),
            (_("messages sent by them"), sum(r["sent"] for r, _c in figures)),
        ],
        "charts": [
            stacked_bars(
                _("Latest campaigns: messages sent"),
                rows,
                [str(_("clicked")), str(_("opened, not clicked")), str(_("not opened"))],
            )
        ]
        if latest
        else [],
    }


def register() -> None:
    register_panel(
        "campaigns",
        _("Campaign results"),
        _campaigns,
        template="admin/crm/dashboard/charts.html",
        permission="campaigns.view_report",
        order=CAMPAIGNS,
    )
