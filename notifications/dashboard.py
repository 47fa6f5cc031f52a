"""Notifications' dashboard panels (crm.dashboard): messages per channel and outcome by week,
unsubscribes and their reasons, consent coverage per channel.

Every read of the outbox is bounded by the period on notif_created_brin; consent events and
unsubscribe answers by their created_at indexes; the badges by their own index.
"""

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm.charts import bars, stacked_bars
from crm.dashboard import CONSENT, MESSAGES, UNSUBSCRIBES, register_panel, week_of, week_starts
from notifications.models import Channel, ConsentEvent, Notification, Preference, UnsubscribeFeedback

S = Notification.Status
# What became of a message, as staff ask it: out, still waiting, held back by a policy, broken, stopped.
OUTCOMES = [
    (_("sent"), {S.SENT, S.DELIVERED}),
    (_("waiting"), {S.SCHEDULED, S.SENDING, S.PRINTING, S.DEFERRED}),
    (_("suppressed"), {S.SUPPRESSED}),
    (_("failed"), {S.FAILED}),
    (_("cancelled"), {S.CANCELLED}),
]
SENT = [S.SENT, S.DELIVERED]
TEMPLATE = "admin/crm/dashboard/charts.html"


def _in_period(period):
    return Notification.objects.filter(created_at__gte=period.since, created_at__lte=period.now)


def _outcome(status: str) -> int:
    return next(i for i, (_label, statuses) in enumerate(OUTCOMES) if status in statuses)


def messages_by_week(period) -> dict[str, dict]:
    """{channel: {week: [count per outcome]}} of the messages written in the period."""
    counts = (
        _in_period(period)
        .annotate(week=TruncWeek("created_at"))
        .values_list("channel", "week", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    table: dict[str, dict] = {}
    for channel, week, status, n in counts:
        weeks = table.setdefault(channel, {})
        row = weeks.setdefault(week_of(week), [0] * len(OUTCOMES))
        row[_outcome(status)] += n
    return table


def _messages(request, period) -> dict:
    table = messages_by_week(period)
    weeks = week_starts(period.since, period.now)
    charts = []
    for channel in Channel:
        if channel.value not in table:
            continue
        rows = [(week.isoformat(), table[channel.value].get(week, [0] * len(OUTCOMES))) for week in weeks]
        charts.append(
            stacked_bars(
                _("%(channel)s by week") % {"channel": capfirst(channel.label)},
                rows,
                [str(label) for label, _statuses in OUTCOMES],
            )
        )
    total = sum(sum(r) for weeks_of in table.values() for r in weeks_of.values())
    return {"figures": [(_("messages written"), total)], "charts": charts}


def unsubscribe_figures(period) -> dict:
    sent = _in_period(period).filter(status__in=SENT).count()
    withdrawals = ConsentEvent.objects.filter(
        action=ConsentEvent.Action.WITHDRAWN, created_at__gte=period.since, created_at__lte=period.now
    ).count()
    reasons = list(
        UnsubscribeFeedback.objects.filter(created_at__gte=period.since, created_at__lte=period.now)
        .values_list("reason__label")
        .annotate(n=Count("id"))
        .order_by("-n")[:8]
    )
    return {
        "sent": sent,
        "withdrawals": withdrawals,
        "rate": round(100 * withdrawals / sent, 2) if sent else None,
        "reasons": [(label or str(_("no reason given")), n) for label, n in reasons],
    }


def _unsubscribes(request, period) -> dict:
    figures = unsubscribe_figures(period)
    rate = "—" if figures["rate"] is None else f"{figures['rate']} %"
    return {
        "figures": [
            (_("consents withdrawn"), figures["withdrawals"]),
            (_("messages sent"), figures["sent"]),
            (_("withdrawn per message sent"), rate),
        ],
        "charts": [bars(_("Top reasons given"), figures["reasons"], str(_("answers")))],
    }


# Which badges hold marketing consent on which channel (Preference.Badge, kept by the consent services).
MARKETING_BY_BADGE = {
    Channel.EMAIL: {Preference.Badge.FULL, Preference.Badge.EMAIL_ONLY},
    Channel.SMS: {Preference.Badge.FULL, Preference.Badge.SMS_ONLY},
}


def consent_coverage(period) -> dict:
    badges = dict(Preference.objects.values_list("badge").annotate(n=Count("id")).order_by())
    customers = sum(badges.values())
    coverage = {channel: sum(badges.get(badge, 0) for badge in held) for channel, held in MARKETING_BY_BADGE.items()}
    changes = (
        ConsentEvent.objects.filter(created_at__gte=period.since, created_at__lte=period.now)
        .values_list("channel", "action")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_channel: dict[str, list[int]] = {}
    for channel, action, n in changes:
        by_channel.setdefault(channel, [0, 0])[0 if action == ConsentEvent.Action.GRANTED else 1] += n
    return {"badges": badges, "customers": customers, "coverage": coverage, "changes": by_channel}


def _consent(request, period) -> dict:
    data = consent_coverage(period)
    customers = data["customers"]
    figures = [
        (
            _("%(channel)s marketing consent") % {"channel": channel.label},
            f"{round(100 * n / customers)} %" if customers else "—",
        )
        for channel, n in data["coverage"].items()
    ]
    badge_rows = [(str(badge.label), data["badges"].get(badge.value, 0)) for badge in Preference.Badge]
    change_rows = [
        (str(channel.label), data["changes"].get(channel.value, [0, 0]))
        for channel in Channel
        if channel.value in data["changes"]
    ]
    return {
        "figures": figures,
        "charts": [
            bars(_("Customers by consent badge"), badge_rows, str(_("customers"))),
            stacked_bars(_("Consent changes in the period"), change_rows, [str(_("granted")), str(_("withdrawn"))]),
        ],
    }


def register() -> None:
    register_panel(
        "messages",
        _("Messages per channel and outcome"),
        _messages,
        template=TEMPLATE,
        permission="notifications.view_notification",
        order=MESSAGES,
    )
    register_panel(
        "unsubscribes",
        _("Unsubscribes"),
        _unsubscribes,
        template=TEMPLATE,
        permission="notifications.view_unsubscribefeedback",
        order=UNSUBSCRIBES,
    )
    register_panel(
        "consent",
        _("Consent coverage"),
        _consent,
        template=TEMPLATE,
        permission="notifications.view_consentevent",
        order=CONSENT,
    )
