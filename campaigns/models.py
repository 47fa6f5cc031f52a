from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from crm.models import Customer, Language
from notifications.models import Channel


class Segment(models.Model):
    """A named group of customers defined by rules, evaluated to a queryset when used (see campaigns.segments)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    rules = models.JSONField(
        _("rules"),
        default=dict,
        # Two messages, so the first keeps its translations while the second waits for its own.
        help_text=format_lazy(
            "{} {}",
            _(
                'All must hold, e.g. {"districts": ["Kalamaja, Tallinn", 4], "languages": ["et"], "badges": ["full"], '
                '"tiers": ["gold"], "gender": "female", "bought_within_days": 90, "min_purchases_12m": 3, '
                '"min_spend_12m": "200", "store": {"code": "TLN-01", "mode": "most_purchases"}, '
                '"answers": [{"question": 12, "value": "women"}]}. Districts by id, name or "name, city"; '
                'store mode "most_purchases" (last 12 months) or "last_purchase".'
            ),
            _(
                "min_purchases_12m and min_spend_12m read each bonus account's rolling year (refunded sales "
                "left out), which every sale updates and a nightly recount trims: a sale older than 12 months "
                "still counts until that night."
            ),
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        # The table keeps the name it had when segments lived in crm (the data stays where it is).
        db_table = "crm_segment"
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Campaign(models.Model):
    """One occasion sent to one segment: content per channel and language, a start, a deadline.

    Its outbox rows are notifications' own, keyed ``campaign:<id>:<customer>:<channel>`` (the
    dedupe prefix ``occasion_prefix``) and carrying ``{"campaign": id, "content": …}`` in their
    context: notifications renders the campaign's text without knowing campaigns exist.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SCHEDULED = "scheduled", _("scheduled: launched, starts later")
        RUNNING = "running", _("running")
        PAUSED = "paused", _("paused")
        CANCELLED = "cancelled", _("cancelled")
        FINISHED = "finished", _("finished")

    name = models.CharField(_("name"), max_length=150)
    topic = models.ForeignKey(
        "notifications.Topic",
        verbose_name=_("occasion"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The topic: its channel plan, consent, urgency and weekly limits apply"),
    )
    segment = models.ForeignKey(Segment, verbose_name=_("segment"), on_delete=models.PROTECT, related_name="campaigns")
    gift_points = models.PositiveIntegerField(
        _("gift points"), default=0, help_text=_("Credited once to each recipient (not the holdout); 0: no gift")
    )
    starts_at = models.DateTimeField(_("send not before"), null=True, blank=True, help_text=_("Empty: at launch"))
    deadline = models.DateTimeField(_("deadline"), help_text=_("A message not sent by then is not sent at all"))
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout (%)"),
        default=5,
        validators=[MaxValueValidator(50)],
        help_text=_("This share of the segment gets nothing, so the report can compare (chosen by a stable hash)"),
    )
    report_days = models.PositiveSmallIntegerField(
        _("report window (days)"), default=14, help_text=_("Purchases this many days after launch are compared")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    recipients = models.PositiveIntegerField(_("recipients"), default=0)
    holdout = models.PositiveIntegerField(_("held out"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("launch_campaign", _("Can launch, pause, resume and cancel campaigns")),
            ("view_report", _("Can see campaign reports")),
            ("test_send_campaign", _("Can send a campaign's content to a staff address")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(holdout_percent__lte=50), name="campaigns_holdout_at_most_half"),
        ]

    def __str__(self):
        return self.name

    @property
    def occasion_prefix(self) -> str:
        """The dedupe prefix of its outbox rows (each key: ``<prefix>:<customer id>:<channel>``)."""
        return f"campaign:{self.pk}"


class CampaignVariant(models.Model):
    """One arm of an A/B test: a share of the recipients, its own content where it has any (the
    campaign's otherwise), and optionally its messages held back a number of hours (a timing arm).

    A campaign without variants sends its one content to every recipient, as it always did.
    Each recipient's variant is chosen at launch by a stable hash (``services.variant_of``).
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(_("label"), max_length=8, help_text=_("e.g. A, B"))
    share_percent = models.PositiveSmallIntegerField(
        _("share (%)"),
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Of the recipients (not the holdout); the variants' shares add up to 100"),
    )
    delay_hours = models.PositiveSmallIntegerField(
        _("hold back (hours)"),
        default=0,
        validators=[MaxValueValidator(24 * 14)],
        help_text=_("Its messages go no earlier than this many hours after the campaign's start"),
    )

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("A/B variants")
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="campaigns_variant_label_once"),
        ]

    def __str__(self):
        return self.label


class CampaignContent(models.Model):
    """A campaign's text on one channel in one language (e.g. an SMS teaser and the e-mail's detail);
    with a variant, that variant's own text (the campaign's is used where the variant has none)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="contents")
    variant = models.ForeignKey(
        CampaignVariant,
        verbose_name=_("variant"),
        on_delete=models.CASCADE,
        related_name="contents",
        null=True,
        blank=True,
        help_text=_("Empty: every variant's (unless a variant has its own)"),
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("E-mail only"))
    body = models.TextField(_("body"), help_text=_("Django template: {{ customer.first_name }}, {{ brand }}, …"))

    class Meta:
        verbose_name = _("content")
        verbose_name_plural = _("content per channel and language")
        ordering = ["channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "channel", "language"],
                condition=Q(variant__isnull=True),
                name="campaigns_content_once",
            ),
            models.UniqueConstraint(
                fields=["variant", "channel", "language"],
                condition=Q(variant__isnull=False),
                name="campaigns_variant_content_once",
            ),
        ]

    def __str__(self):
        if self.variant_id:
            return f"{self.variant} · {self.channel} / {self.language}"
        return f"{self.channel} / {self.language}"


class CampaignMember(models.Model):
    """Who was in the segment at launch: a recipient, or one of the holdout who gets nothing."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="campaign_memberships")
    holdout = models.BooleanField(_("held out"), default=False)
    variant = models.ForeignKey(
        CampaignVariant,
        verbose_name=_("variant"),
        on_delete=models.PROTECT,
        related_name="members",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("added"))

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaigns_member_once"),
        ]

    def __str__(self):
        return f"{self.campaign_id} · {self.customer_id}"
