"""Campaign writes: launch (members, holdout, outbox rows), pause, resume, cancel, gifts, test-send.

Every step is set-based: the members go in with one ``INSERT … SELECT`` from the segment's query,
the outbox rows with notifications' fan-out (``notify_many``), and pause, resume and cancel are one
``UPDATE`` each over the campaign's rows, found by their dedupe key's prefix (indexed).
"""

import datetime
import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, CharField, Count, F, Value, When
from django.db.models.functions import MD5, Cast, Concat, Greatest, Substr
from django.template import Context, Template
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.models import Campaign, CampaignMember, CampaignVariant
from campaigns.segments import segment_customers, validate_rules
from config.celery import nudge
from crm.models import Customer
from loyalty.services import gift_grant
from notifications.delivery.rendering import content_template, render
from notifications.models import Channel, Notification
from notifications.outbox.fanout import FanOut, notify_many

Status = Notification.Status
QUEUED = [Status.SCHEDULED, Status.DEFERRED]
# How many members one gift task credits (a task per 500 recipients: far under one per 100 messages).
GIFT_BATCH = 500
# Holdout buckets: the first four hex digits of md5("<campaign id>:<customer id>"), 0 … 65535.
BUCKETS = 16**4


class CampaignError(ValidationError):
    """A campaign that cannot do what was asked (launch twice, resume a draft, …), worded for staff."""


def holdout_threshold(percent: int) -> str:
    """The bucket (four hex digits) below which a customer is held out: ``percent`` of all buckets."""
    return f"{BUCKETS * percent // 100:04x}"


def is_held_out(*, campaign_id: int, customer_id: int, percent: int) -> bool:
    """The same choice the database makes (``with_bucket``): stable, so a report can be rebuilt."""
    bucket = hashlib.md5(f"{campaign_id}:{customer_id}".encode()).hexdigest()[:4]
    return bucket < holdout_threshold(percent)


def with_bucket(customers, campaign_id: int):
    """The customers with their holdout bucket: four hex digits of md5("<campaign>:<customer>").

    Fixed-width lowercase hex compares as text the way its numbers do, on every database.
    """
    key = Concat(Value(f"{campaign_id}:"), Cast("pk", CharField()), output_field=CharField())
    return customers.annotate(holdout_bucket=Substr(MD5(key), 1, 4))


def variant_bounds(variants) -> list[tuple[str, int]]:
    """Each variant's upper bucket (four hex digits, exclusive) by its share, in label order; the
    last one takes every bucket left (so shares that do not add up to 100 still cover everyone)."""
    variants = list(variants)
    bounds, total = [], 0
    for variant in variants[:-1]:
        total += variant.share_percent
        bounds.append((f"{min(BUCKETS * total // 100, BUCKETS - 1):04x}", variant.pk))
    return bounds


def _variant_key(campaign_id: int) -> str:
    # Its own salt, so the variant does not follow the holdout's bucket.
    return f"{campaign_id}:variant:"


def variant_of(*, campaign_id: int, customer_id: int, variants) -> int | None:
    """The variant (its id) the database gives a recipient (``with_variant``), chosen by a stable hash."""
    variants = list(variants)
    if not variants:
        return None
    bucket = hashlib.md5(f"{_variant_key(campaign_id)}{customer_id}".encode()).hexdigest()[:4]
    for bound, pk in variant_bounds(variants):
        if bucket < bound:
            return pk
    return variants[-1].pk


def with_variant(customers, campaign_id: int, variants):
    """The customers with ``variant_pk``: their variant's id by md5("<campaign>:variant:<customer>")
    (None when the campaign has no variants)."""
    variants = list(variants)
    if not variants:
        return customers.annotate(variant_pk=Cast(Value(None), output_field=BigIntegerField()))
    key = Concat(Value(_variant_key(campaign_id)), Cast("pk", CharField()), output_field=CharField())
    customers = customers.annotate(variant_bucket=Substr(MD5(key), 1, 4))
    whens = [When(variant_bucket__lt=bound, then=Value(pk)) for bound, pk in variant_bounds(variants)]
    return customers.annotate(variant_pk=Case(*whens, default=Value(variants[-1].pk), output_field=BigIntegerField()))


def campaign_rows(campaign: Campaign):
    """The campaign's outbox rows (one indexed prefix range of dedupe keys)."""
    return Notification.objects.filter(dedupe_key__startswith=f"{campaign.occasion_prefix}:")


def campaign_context(campaign: Campaign, variant: CampaignVariant | None = None) -> dict:
    """What each outbox row carries: the campaign's id (reports, unsubscribe attribution) and its text;
    for a variant, its label and its own text per channel × language over the campaign's."""
    content: dict[str, dict[str, list[str]]] = {}
    items = sorted(campaign.contents.all(), key=lambda item: item.variant_id is not None)
    for item in items:
        if item.variant_id is None or (variant is not None and item.variant_id == variant.pk):
            content.setdefault(item.channel, {})[item.language] = [item.subject, item.body]
    context = {"campaign": campaign.pk, "content": content}
    if variant is not None:
        context["variant"] = variant.label
    return context


def recipients_of(campaign: Campaign, variant: CampaignVariant | None = None):
    """The customers a launched campaign sends to: its members outside the holdout (of one variant)."""
    filters = {"campaign_memberships__campaign_id": campaign.pk, "campaign_memberships__holdout": False}
    if variant is not None:
        filters["campaign_memberships__variant_id"] = variant.pk
    return Customer.objects.filter(**filters)


def _members_insert(campaign: Campaign, variants: list[CampaignVariant], *, now: datetime.datetime) -> None:
    """Every customer of the segment now, as a member, held out or not: one INSERT … SELECT."""
    customers = with_bucket(segment_customers(campaign.segment.rules, now=now), campaign.pk)
    members = (
        with_variant(customers, campaign.pk, variants)
        .annotate(member_id=F("pk"))
        .values_list("member_id", "holdout_bucket", "variant_pk")
        .order_by()
    )
    sql, params = members.query.sql_with_params()
    threshold = holdout_threshold(campaign.holdout_percent)
    table = connection.ops.quote_name(CampaignMember._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            # Columns by the names the members' query gives them; "WHERE true" keeps SQLite's parser
            # from reading ON CONFLICT as part of the SELECT (its documented ambiguity).
            f"INSERT INTO {table} (campaign_id, customer_id, holdout, variant_id, created_at) "
            "SELECT %s, member.member_id, member.holdout_bucket < %s, "
            "CASE WHEN member.holdout_bucket < %s THEN NULL ELSE member.variant_pk END, %s "
            f"FROM ({sql}) AS member WHERE true "
            "ON CONFLICT DO NOTHING",
            [campaign.pk, threshold, threshold, now, *params],
        )


def _check_launchable(campaign: Campaign, variants: list[CampaignVariant], now: datetime.datetime) -> None:
    if campaign.status != Campaign.Status.DRAFT:
        raise CampaignError(
            _("Only a draft campaign can be launched; this one is %(status)s.")
            % {"status": campaign.get_status_display()}
        )
    if campaign.deadline <= max(campaign.starts_at or now, now):
        raise CampaignError(_("The deadline has to be after the start."))
    if not campaign.contents.exists():
        raise CampaignError(_("Write the content for at least one channel first."))
    if len(variants) == 1:
        raise CampaignError(_("An A/B test needs at least two variants (or none)."))
    if variants and sum(variant.share_percent for variant in variants) != 100:
        raise CampaignError(_("The variants' shares have to add up to 100%."))
    start = max(campaign.starts_at or now, now)
    late = [v.label for v in variants if start + datetime.timedelta(hours=v.delay_hours) >= campaign.deadline]
    if late:
        raise CampaignError(_("Variant %(labels)s would be held back past the deadline.") % {"labels": ", ".join(late)})
    try:
        validate_rules(campaign.segment.rules)
    except ValidationError as error:
        raise CampaignError(
            _("The segment's rules need fixing first: %(problems)s") % {"problems": " ".join(error.messages)}
        ) from None


def campaign_launch(*, campaign: Campaign, now: datetime.datetime | None = None) -> FanOut:
    """Launch: the segment's members are fixed (holdout included), each recipient's rows are planned
    and written in one transaction, gifts are credited by tasks after commit.

    A constant number of queries whatever the segment's size (members: one statement; rows:
    notifications' fan-out, chunked by id range and written with COPY).
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().select_related("segment", "topic").get(pk=campaign.pk)
        variants = list(campaign.variants.all())  # label order: A first
        _check_launchable(campaign, variants, now)
        _members_insert(campaign, variants, now=now)
        start = max(campaign.starts_at or now, now)
        report = FanOut()
        # One fan-out per variant (its rows carry its own text and start): a constant number of
        # queries per variant, whatever the segment's size.
        for variant in variants or [None]:
            delay = datetime.timedelta(hours=variant.delay_hours if variant else 0)
            part = notify_many(
                customers=recipients_of(campaign, variant),
                topic=campaign.topic,
                context=campaign_context(campaign, variant),
                dedupe_prefix=campaign.occasion_prefix,
                now=now,
                not_before=start + delay,
                deadline=campaign.deadline,
            )
            _fanout_add(report, part)
        counts = dict(
            CampaignMember.objects.filter(campaign=campaign)
            .values_list("holdout")
            .annotate(n=Count("id"))
            .values_list("holdout", "n")
        )
        campaign.recipients, campaign.holdout = counts.get(False, 0), counts.get(True, 0)
        campaign.status = Campaign.Status.SCHEDULED if start > now else Campaign.Status.RUNNING
        campaign.launched_at = now
        campaign.save(update_fields=["recipients", "holdout", "status", "launched_at", "updated_at"])
        if campaign.gift_points:
            campaign_id = campaign.pk
            transaction.on_commit(lambda: _gift_nudge(campaign_id, 0), robust=True)
    return report


def _fanout_add(total: FanOut, part: FanOut) -> None:
    total.customers += part.customers
    total.queued += part.queued
    total.suppressed.update(part.suppressed)
    total.already_present += part.already_present
    total.rows_written += part.rows_written
    total.topic_inactive = total.topic_inactive or part.topic_inactive
    total.plans.update(part.plans)


GIFT_TASK = "campaigns.tasks.campaign_gifts_task"


def _gift_nudge(campaign_id: int, after: int) -> None:
    nudge(GIFT_TASK, campaign_id, after)


def campaign_gifts_grant(*, campaign_id: int, after: int = 0, batch: int | None = None) -> int | None:
    """Credit the gift to the next ``batch`` recipients after customer id ``after``; returns the last
    customer id done (None when none were left). Once per campaign × customer: the ledger's
    idempotency key ``campaign:<id>:<customer>`` makes a repeated batch credit nothing twice."""
    batch = batch or GIFT_BATCH
    campaign = Campaign.objects.get(pk=campaign_id)
    if not campaign.gift_points or campaign.status == Campaign.Status.CANCELLED:
        return None
    customers = list(recipients_of(campaign).filter(pk__gt=after).order_by("pk")[:batch])
    for customer in customers:
        gift_grant(
            customer=customer,
            points=campaign.gift_points,
            reason=_("Gift: %(campaign)s") % {"campaign": campaign.name},
            source="campaign",
            key=f"{campaign.occasion_prefix}:{customer.pk}",
        )
    return customers[-1].pk if len(customers) == batch else None


def campaign_pause(*, campaign: Campaign, now: datetime.datetime | None = None) -> int:
    """Hold the campaign's queued rows (the dispatcher claims only scheduled and deferred ones)."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING):
            raise CampaignError(_("Only a launched campaign can be paused."))
        held = (
            campaign_rows(campaign)
            .filter(status__in=QUEUED)
            .update(status=Status.HELD, updated_at=now or timezone.now())
        )
        campaign.status = Campaign.Status.PAUSED
        campaign.save(update_fields=["status", "updated_at"])
    return held


def campaign_resume(*, campaign: Campaign, now: datetime.datetime | None = None) -> int:
    """Queue the held rows again. A row whose time passed while paused is due now: the dispatcher
    re-checks the customer's window, quiet hours, caps and the deadline at send time and defers
    it into the next slot (or drops it after the deadline), as it does for every row."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status != Campaign.Status.PAUSED:
            raise CampaignError(_("Only a paused campaign can be resumed."))
        resumed = (
            campaign_rows(campaign)
            .filter(status=Status.HELD)
            .update(status=Status.SCHEDULED, send_at=Greatest(F("send_at"), Value(now)), updated_at=now)
        )
        start = campaign.starts_at or campaign.launched_at or now
        campaign.status = Campaign.Status.SCHEDULED if start > now else Campaign.Status.RUNNING
        campaign.save(update_fields=["status", "updated_at"])
    return resumed


def campaign_cancel(*, campaign: Campaign, now: datetime.datetime | None = None) -> int:
    """Cancel every queued or held row: a cancelled campaign sends nothing more."""
    now = now or timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if campaign.status in (Campaign.Status.DRAFT, Campaign.Status.CANCELLED, Campaign.Status.FINISHED):
            raise CampaignError(_("Only a launched campaign can be cancelled."))
        cancelled = (
            campaign_rows(campaign)
            .filter(status__in=[*QUEUED, Status.HELD])
            .update(
                status=Status.CANCELLED,
                reason=Notification.Reason.BY_STAFF,
                detail=_("campaign cancelled")[:255],
                updated_at=now,
            )
        )
        campaign.status = Campaign.Status.CANCELLED
        campaign.save(update_fields=["status", "updated_at"])
    return cancelled


def campaign_finish_if_done(*, campaign: Campaign) -> bool:
    """A launched campaign with nothing left to send (nothing queued, held or being sent) is finished."""
    if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING):
        return False
    if campaign_rows(campaign).filter(status__in=[*QUEUED, Status.HELD, Status.SENDING]).exists():
        return False
    finished = Campaign.objects.filter(pk=campaign.pk, status=campaign.status).update(
        status=Campaign.Status.FINISHED, updated_at=timezone.now()
    )
    if finished:
        campaign.status = Campaign.Status.FINISHED
    return bool(finished)


def campaign_test_send(
    *, campaign: Campaign, email: str, language: str, first_name: str = "", variant: CampaignVariant | None = None
) -> None:
    """Send the campaign's content to a staff address at once, as a customer would read it in
    ``language``: the e-mail rendered in full (brand, contacts, unsubscribe), the other channels'
    texts after it (a variant's own text where it has one). Nothing is written to the outbox: a test
    is not counted anywhere."""
    context = campaign_context(campaign, variant)
    stand_in = Customer(first_name=first_name, email=email, language=language)
    subject, parts = campaign.name, []
    for channel in sorted(context["content"], key=lambda c: c != Channel.EMAIL):
        row = Notification(pk=0, customer=stand_in, topic=campaign.topic, channel=channel, context=context)
        template = content_template(row, language)
        if channel == Channel.EMAIL:
            message = render(row, template=template, language=language)
            subject, body = message.subject, message.body
        else:
            body = Template(template.body).render(
                Context({**context, "customer": stand_in, "brand": settings.BRAND_NAME})
            )
        parts.append(f"— {Channel(channel).label} —\n{body.strip()}")
    EmailMessage(
        subject=_("[Test] %(subject)s") % {"subject": subject},
        body="\n\n".join(parts),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
    ).send()
