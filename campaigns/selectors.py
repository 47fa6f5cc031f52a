"""Campaign reads: live progress, the forecast before launch, the report and the holdout comparison.

The forecast is notifications' own planning run dry (``notify_many(dry_run=True)``): the same
channel plan, consent, contact points, windows, pauses and deadline the launch will use, so the
forecast and the launch cannot disagree on a rule. Weekly limits are decided at send time; the
forecast counts who is at their limit today.
"""

import datetime
import math
import zoneinfo
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import Count, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Campaign, CampaignMember, CampaignVariant
from campaigns.segments import segment_customers
from campaigns.services import campaign_rows, holdout_threshold, with_bucket, with_variant
from loyalty.models import BonusTransaction, Dispute
from notifications.models import DeliveryEvent, Notification, UnsubscribeFeedback
from notifications.outbox.fanout import notify_many
from notifications.scheduling.rules import weekly_cap

Status = Notification.Status
QUEUED = (Status.SCHEDULED, Status.DEFERRED, Status.HELD, Status.SENDING)
DONE = (Status.SENT, Status.DELIVERED, Status.PRINTING)
Z_95 = 1.959964


# --- Progress -------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Rows per channel: queued (waiting, held or being sent), sent, suppressed, failed, cancelled."""

    by_channel: dict[str, Counter] = field(default_factory=dict)
    totals: Counter = field(default_factory=Counter)


def campaign_progress(campaign: Campaign) -> Progress:
    """One grouped query over the campaign's rows."""
    progress = Progress()
    rows = campaign_rows(campaign).values_list("channel", "status").annotate(n=Count("id")).order_by()
    for channel, status, count in rows:
        if status in QUEUED:
            bucket = "queued"
        elif status in DONE:
            bucket = "sent"
        else:
            bucket = status
        progress.by_channel.setdefault(channel, Counter())[bucket] += count
        progress.totals[bucket] += count
    return progress


# --- Forecast -------------------------------------------------------------------------------------


@dataclass
class Forecast:
    members: int = 0  # in the segment now
    holdout: int = 0
    recipients: int = 0  # customers with at least one message planned
    by_channel: Counter = field(default_factory=Counter)  # messages planned per channel
    suppressed: Counter = field(default_factory=Counter)  # customers who get nothing, by reason
    suppressed_rows: Counter = field(default_factory=Counter)  # (channel, reason) → rows not sent
    over_cap: Counter = field(default_factory=Counter)  # channel → customers at their weekly limit now
    hours: list[int] = field(default_factory=lambda: [0] * 24)  # messages by the customer's local hour
    days: Counter = field(default_factory=Counter)  # messages by the customer's local date
    first: datetime.datetime | None = None
    finish: datetime.datetime | None = None
    topic_inactive: bool = False
    by_variant: dict[str, int] = field(default_factory=dict)  # variant label → customers with a message


def forecast_recipients(campaign: Campaign, *, now: datetime.datetime):
    """The segment now without the holdout: the customers a launch now would send to."""
    customers = with_bucket(segment_customers(campaign.segment.rules, now=now), campaign.pk)
    return customers.filter(holdout_bucket__gte=holdout_threshold(campaign.holdout_percent))


def campaign_forecast(campaign: Campaign, *, now: datetime.datetime | None = None) -> Forecast:
    """What a launch now would do, planned by notifications exactly as the launch plans, written nowhere."""
    now = now or timezone.now()
    forecast = Forecast()
    forecast.members = segment_customers(campaign.segment.rules, now=now).count()
    recipients = forecast_recipients(campaign, now=now)
    start = max(campaign.starts_at or now, now)
    variants = list(campaign.variants.all())
    plans: Counter = Counter()
    planned = 0
    # Each variant planned on its own (its share of the recipients, its own start), as the launch does.
    for variant in variants or [None]:
        customers = recipients
        delay = datetime.timedelta(0)
        if variant is not None:
            customers = with_variant(recipients, campaign.pk, variants).filter(variant_pk=variant.pk)
            delay = datetime.timedelta(hours=variant.delay_hours)
        report = notify_many(
            customers=customers,
            topic=campaign.topic,
            context={},
            dedupe_prefix=f"forecast:{campaign.pk}",
            now=now,
            not_before=start + delay,
            deadline=campaign.deadline,
            dry_run=True,
        )
        forecast.topic_inactive = report.topic_inactive
        forecast.recipients += report.queued
        forecast.suppressed.update(report.suppressed)
        planned += report.customers
        plans.update(report.plans)
        if variant is not None:
            forecast.by_variant[variant.label] = report.queued
    forecast.holdout = forecast.members - planned if not forecast.topic_inactive else 0
    for (zone_name, rows), customers in plans.items():
        zone = zoneinfo.ZoneInfo(zone_name)
        for channel, status, reason, send_at in rows:
            if status != Status.SCHEDULED:
                forecast.suppressed_rows[channel, reason] += customers
                continue
            forecast.by_channel[channel] += customers
            local = send_at.astimezone(zone)
            forecast.hours[local.hour] += customers
            forecast.days[local.date()] += customers
            forecast.first = min(forecast.first or send_at, send_at)
            forecast.finish = max(forecast.finish or send_at, send_at)
    forecast.over_cap = _over_cap(recipients, campaign, now=now)
    return forecast


def _over_cap(recipients, campaign: Campaign, *, now: datetime.datetime) -> Counter:
    """Customers already at their weekly limit on a channel of the topic's plan: one grouped query."""
    if not campaign.topic.counts_against_cap:
        return Counter()
    channels = list(dict.fromkeys([*campaign.topic.channels, *campaign.topic.alternatives]))
    sends = (
        Notification.objects.filter(
            customer_id__in=recipients.values("pk"),
            channel__in=channels,
            topic__counts_against_cap=True,
            sent_at__gt=now - datetime.timedelta(days=7),
        )
        .values_list("customer_id", "channel", "customer__preference__max_per_week")
        .annotate(n=Count("id"))
        .order_by()
    )
    over = Counter()
    for _customer, channel, caps, count in sends:
        cap = weekly_cap(channel, SimpleNamespace(max_per_week=caps or {}) if caps else None)
        if cap is not None and count >= cap:
            over[channel] += 1
    return over


# --- Report ---------------------------------------------------------------------------------------


@dataclass
class ChannelReport:
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    bounced: int = 0
    unsubscribed: int = 0


@dataclass
class Comparison:
    """Recipients against the holdout: per member, within the report window after launch."""

    days: int
    recipients: int
    holdout: int
    purchases: tuple[float, float]  # mean per member: recipients, holdout
    spend: tuple[float, float]
    purchases_difference: "Difference | None"
    spend_difference: "Difference | None"


@dataclass(frozen=True)
class Difference:
    value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0


def welch_difference(a: tuple[int, float, float], b: tuple[int, float, float], *, z: float = Z_95) -> Difference | None:
    """The difference of two means with its confidence interval (Welch's standard error, normal
    approximation), from each group's (n, sum, sum of squares). None when a group has fewer than two."""
    (n1, s1, q1), (n2, s2, q2) = a, b
    if n1 < 2 or n2 < 2:
        return None
    m1, m2 = s1 / n1, s2 / n2
    v1 = max(q1 - n1 * m1 * m1, 0.0) / (n1 - 1)
    v2 = max(q2 - n2 * m2 * m2, 0.0) / (n2 - 1)
    error = math.sqrt(v1 / n1 + v2 / n2)
    return Difference(m1 - m2, m1 - m2 - z * error, m1 - m2 + z * error)


EMPTY_GROUP = {"n": 0, "p": 0, "pp": 0, "s": 0, "ss": 0}


def _member_groups(campaign: Campaign, days: int) -> dict[tuple[bool, int | None], dict]:
    """Per (held out, variant id): members, purchases and spend in ``days`` after launch with their
    squares: one grouped query (each member's figures from the ledger by correlated subqueries)."""
    window = Q(
        account__customer_id=OuterRef("customer_id"),
        kind=BonusTransaction.Kind.ACCRUAL,
        occurred_at__gte=campaign.launched_at,
        occurred_at__lt=campaign.launched_at + datetime.timedelta(days=days),
    )
    sales = BonusTransaction.objects.filter(window).values("account__customer_id")
    purchases = Coalesce(Subquery(sales.annotate(n=Count("id")).values("n")[:1], output_field=IntegerField()), Value(0))
    money = DecimalField(max_digits=14, decimal_places=2)
    spend = Coalesce(
        Subquery(sales.annotate(s=Sum("base_amount")).values("s")[:1], output_field=money), Value(Decimal(0))
    )
    return {
        (row.pop("holdout"), row.pop("variant_id")): row
        for row in CampaignMember.objects.filter(campaign=campaign)
        .annotate(purchases=purchases, spend=spend)
        .values("holdout", "variant_id")
        .annotate(
            n=Count("id"),
            p=Sum("purchases"),
            pp=Sum(F("purchases") * F("purchases")),
            s=Sum("spend"),
            ss=Sum(F("spend") * F("spend"), output_field=money),
        )
        .order_by()
    }


def _summed(rows) -> dict:
    total = dict(EMPTY_GROUP)
    for row in rows:
        for key in total:
            total[key] += row[key] or 0
    return total


def _figures(row, total, squares):
    return (row["n"], float(row[total] or 0), float(row[squares] or 0))


def _mean(row, total):
    return float(row[total] or 0) / row["n"] if row["n"] else 0.0


def holdout_comparison(campaign: Campaign, *, days: int | None = None) -> Comparison | None:
    """Purchases and spend per member in ``days`` after launch, recipients (every variant) vs holdout."""
    if not campaign.launched_at:
        return None
    days = days or campaign.report_days
    groups = _member_groups(campaign, days)
    sent = _summed(row for (held, _variant), row in groups.items() if not held)
    held = _summed(row for (held, _variant), row in groups.items() if held)
    figures, mean = _figures, _mean

    return Comparison(
        days=days,
        recipients=sent["n"],
        holdout=held["n"],
        purchases=(mean(sent, "p"), mean(held, "p")),
        spend=(mean(sent, "s"), mean(held, "s")),
        purchases_difference=welch_difference(figures(sent, "p", "pp"), figures(held, "p", "pp")),
        spend_difference=welch_difference(figures(sent, "s", "ss"), figures(held, "s", "ss")),
    )


@dataclass
class VariantOutcome:
    """One variant's purchases and spend per member, against the holdout and against the first variant."""

    label: str
    members: int
    purchases: float
    spend: float
    purchases_vs_holdout: Difference | None
    spend_vs_holdout: Difference | None
    purchases_vs_first: Difference | None  # None for the first variant itself
    spend_vs_first: Difference | None


def variant_comparison(campaign: Campaign, *, days: int | None = None) -> list[VariantOutcome]:
    """Each variant vs the holdout, and each variant after the first (B, C, …) vs the first (A):
    the same grouped query and the same confidence interval as the holdout comparison."""
    variants = list(campaign.variants.all())
    if not campaign.launched_at or not variants:
        return []
    groups = _member_groups(campaign, days or campaign.report_days)
    held = _summed(row for (is_held, _variant), row in groups.items() if is_held)
    first = groups.get((False, variants[0].pk), EMPTY_GROUP)
    outcomes = []
    for index, variant in enumerate(variants):
        row = groups.get((False, variant.pk), EMPTY_GROUP)
        outcomes.append(
            VariantOutcome(
                label=variant.label,
                members=row["n"],
                purchases=_mean(row, "p"),
                spend=_mean(row, "s"),
                purchases_vs_holdout=welch_difference(_figures(row, "p", "pp"), _figures(held, "p", "pp")),
                spend_vs_holdout=welch_difference(_figures(row, "s", "ss"), _figures(held, "s", "ss")),
                purchases_vs_first=welch_difference(_figures(row, "p", "pp"), _figures(first, "p", "pp"))
                if index
                else None,
                spend_vs_first=welch_difference(_figures(row, "s", "ss"), _figures(first, "s", "ss"))
                if index
                else None,
            )
        )
    return outcomes


@dataclass
class Report:
    by_channel: dict[str, ChannelReport]
    unsubscribe_reasons: Counter  # (channel, reason label) → how many
    disputes: int
    comparison: Comparison | None
    # Variant label → the same figures for its recipients only; empty without variants.
    by_variant: dict[str, "Report"] = field(default_factory=dict)
    variant_outcomes: list[VariantOutcome] = field(default_factory=list)


def campaign_report(campaign: Campaign) -> Report:
    """Per channel: sent, delivered, opened, clicked (the rows), bounced (provider events),
    unsubscribed (feedback left through a link in one of its messages); disputes of its gifts.
    With variants, the same for each variant's recipients, and each variant's outcome."""
    report = _channel_report(campaign)
    report.comparison = holdout_comparison(campaign)
    for variant in campaign.variants.all():
        report.by_variant[variant.label] = _channel_report(campaign, variant)
    report.variant_outcomes = variant_comparison(campaign)
    return report


def _channel_report(campaign: Campaign, variant: CampaignVariant | None = None) -> Report:
    prefix = Q(dedupe_key__startswith=f"{campaign.occasion_prefix}:")
    customers = Q()
    if variant is not None:
        customers = Q(
            customer_id__in=CampaignMember.objects.filter(campaign=campaign, variant=variant).values("customer_id")
        )
    rows = Notification.objects.filter(prefix, customers)
    by_channel: dict[str, ChannelReport] = {}
    for row in (
        rows.values("channel")
        .annotate(
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            delivered=Count("id", filter=Q(delivered_at__isnull=False)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        )
        .order_by("channel")
    ):
        channel = row.pop("channel")
        by_channel[channel] = ChannelReport(**row)
    bounces = (
        DeliveryEvent.objects.filter(
            notification__in=rows,
            event_type__in=["bounced", "rejected", "complained"],
        )
        .values_list("notification__channel")
        .annotate(n=Count("notification_id", distinct=True))
        .order_by()
    )
    for channel, count in bounces:
        by_channel.setdefault(channel, ChannelReport()).bounced = count
    feedback = UnsubscribeFeedback.objects.filter(
        Q(notification__dedupe_key__startswith=f"{campaign.occasion_prefix}:")
        | Q(notification__isnull=True, campaign=str(campaign.pk))
    )
    disputes = Dispute.objects.filter(
        transaction__source="campaign", transaction__idempotency_key__startswith=f"{campaign.occasion_prefix}:"
    )
    if variant is not None:
        members = CampaignMember.objects.filter(campaign=campaign, variant=variant).values("customer_id")
        feedback = feedback.filter(customer_id__in=members)
        disputes = disputes.filter(transaction__account__customer_id__in=members)
    reasons: Counter = Counter()
    for channel, label, count in feedback.values_list("channel", "reason__label").annotate(n=Count("id")).order_by():
        by_channel.setdefault(channel, ChannelReport()).unsubscribed += count
        reasons[channel, label or ""] += count
    return Report(by_channel=by_channel, unsubscribe_reasons=reasons, disputes=disputes.count(), comparison=None)
