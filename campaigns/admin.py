"""Segments and campaigns, and the pages that use them: a survey's invitation of a segment;
a campaign's forecast, launch, pause, resume, cancel, live progress, report and test-send.

Segments live here (campaigns sits on top of the other apps), so the survey admin's "invite a
segment" page is added here too: ``SurveyAdmin`` is registered again as a subclass with the page
(surveys never imports campaigns). Its URL name and permission are the ones it always had.
"""

import json

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdminMixin
from audit.models import AuditEntry
from audit.services import audit_record
from campaigns import selectors, services
from campaigns.charts import bar_chart
from campaigns.models import Campaign, CampaignContent, CampaignVariant, Segment
from campaigns.segment_builder import SegmentBuilderForm, builder_context, segment_count_view
from campaigns.segments import segment_customers, validate_rules
from crm.models import Language
from notifications.models import Channel, Notification, Topic
from surveys.admin import SURVEY_PAGES, SurveyAdmin
from surveys.models import Survey
from surveys.services import InvitationReport, survey_invite_many

INVITE_PERMISSION = "surveys.invite_segment"
VIEW_PERMISSION = "campaigns.view_campaign"
LAUNCH_PERMISSION = "campaigns.launch_campaign"
REPORT_PERMISSION = "campaigns.view_report"
TEST_SEND_PERMISSION = "campaigns.test_send_campaign"


@admin.register(Segment)
class SegmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Segments built from rule rows (campaigns.segment_builder), with a count and a sample before saving.

    A segment whose rules no longer hold (saved before they were checked, written by code, or
    naming a district or store that has since been removed) shows what to fix instead of a
    count, never an error page.
    """

    form = SegmentBuilderForm
    change_form_template = "admin/segments/change_form.html"
    list_display = ["name", "created_at"]
    fields = ["name", "size", "sample"]
    readonly_fields = ["size", "sample", "rules_as_stored"]

    def get_urls(self):
        count = self.admin_site.admin_view(self.segment_count)
        return [path("count/", count, name="campaigns_segment_count"), *super().get_urls()]

    def segment_count(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return segment_count_view(request)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(builder_context(context["adminform"].form, user=request.user))
        context["rules_as_stored"] = self.rules_as_stored(obj) if obj else ""
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.display(description=_("rules as stored (advanced, read-only)"))
    def rules_as_stored(self, obj):
        return json.dumps(obj.rules, indent=2, ensure_ascii=False)

    @admin.display(description=_("customers now"))
    def size(self, obj):
        if not obj.pk:
            return "—"
        try:
            validate_rules(obj.rules)
            return segment_customers(obj.rules).count()
        except ValidationError as error:
            return _("Rules need fixing: %(problems)s") % {"problems": " ".join(error.messages)}

    @admin.display(description=_("a few of them"))
    def sample(self, obj):
        if not obj.pk:
            return "—"
        try:
            customers = segment_customers(obj.rules)
        except ValidationError:
            return "—"
        return ", ".join(str(c) for c in customers.order_by("pk")[:10]) or "—"


class InviteForm(forms.Form):
    segment = forms.ModelChoiceField(queryset=Segment.objects.all(), label=_("segment"))

    def clean_segment(self):
        """A segment whose rules no longer hold is refused here, with what to fix, rather than half-used."""
        segment = self.cleaned_data["segment"]
        try:
            validate_rules(segment.rules)
        except ValidationError as error:
            raise ValidationError(
                _("Segment “%(segment)s” cannot be used until its rules are fixed: %(problems)s"),
                params={"segment": segment, "problems": " ".join(error.messages)},
            ) from None
        return segment


def invitation_message(report: InvitationReport, segment: Segment) -> str:
    """What inviting a segment did, in the staff member's language: each count on its own."""
    if report.topic_inactive:
        return gettext(
            "Nobody was invited: the topic “%(topic)s” is switched off. Switch it on under Topics and invite again."
        ) % {"topic": Topic.objects.get(code="survey-invitation")}
    parts = [
        ngettext("%(count)d invitation queued", "%(count)d invitations queued", report.queued)
        % {"count": report.queued}
    ]
    not_sent = sum(report.suppressed.values())
    if not_sent:
        labels = dict(Notification.Reason.choices)
        reasons = ", ".join(f"{labels.get(reason, reason)}: {count}" for reason, count in report.suppressed.items())
        parts.append(
            ngettext(
                "%(count)d invitation not sent (%(reasons)s)",
                "%(count)d invitations not sent (%(reasons)s)",
                not_sent,
            )
            % {"count": not_sent, "reasons": reasons}
        )
    if report.duplicates:
        parts.append(
            ngettext(
                "%(count)d already had this invitation in the outbox",
                "%(count)d already had this invitation in the outbox",
                report.duplicates,
            )
            % {"count": report.duplicates}
        )
    if report.already_invited:
        parts.append(
            ngettext(
                "%(count)d already invited before",
                "%(count)d already invited before",
                report.already_invited,
            )
            % {"count": report.already_invited}
        )
    members = ngettext(
        "%(count)d customer in “%(segment)s”", "%(count)d customers in “%(segment)s”", report.planned
    ) % {"count": report.planned, "segment": segment}
    return gettext("%(members)s: %(outcomes)s.") % {"members": members, "outcomes": "; ".join(parts)}


admin.site.unregister(Survey)


@admin.register(Survey)
class SurveyInvitingAdmin(SurveyAdmin):
    """The survey builder, with its "invite a segment" page."""

    pages = [*SURVEY_PAGES, ("invite", INVITE_PERMISSION, _("invite"))]

    def get_urls(self):
        return [
            path("<int:pk>/invite/", self.admin_site.admin_view(self.invite_view), name="surveys_survey_invite"),
            *super().get_urls(),
        ]

    def invite_view(self, request, pk):
        """Invite a segment: one invitation per customer per survey, each a policy-checked notification.

        The message reports what really happened: how many were queued, how many cannot be sent
        and why, and how many had been invited before.
        """
        if not request.user.has_perm(INVITE_PERMISSION):
            raise PermissionDenied
        survey = get_object_or_404(Survey, pk=pk)
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            segment = form.cleaned_data["segment"]
            report = survey_invite_many(survey=survey, customers=segment_customers(segment.rules))
            audit_record(
                request=request,
                action=AuditEntry.Action.INVITE,
                obj=survey,
                changes={
                    "segment": [None, {"id": segment.pk, "name": segment.name, "rules": segment.rules}],
                    "queued": [None, report.queued],
                    "planned": [None, report.planned],
                },
            )
            level = messages.SUCCESS if report.queued else messages.WARNING
            messages.add_message(request, level, invitation_message(report, segment))
            return redirect("admin:surveys_survey_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Invite to %(survey)s") % {"survey": survey},
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/surveys/invite.html", context)


class DraftOnlyInline(admin.TabularInline):
    """Edited while the campaign is a draft; read-only once launched."""

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and (obj is None or obj.status == Campaign.Status.DRAFT)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.status == Campaign.Status.DRAFT)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == Campaign.Status.DRAFT)


class VariantFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        shares = [
            form.cleaned_data["share_percent"]
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("share_percent")
        ]
        if len(shares) == 1:
            raise ValidationError(_("An A/B test needs at least two variants (or none)."))
        if shares and sum(shares) != 100:
            raise ValidationError(_("The variants' shares have to add up to 100%."))


class CampaignVariantInline(DraftOnlyInline):
    """A/B variants: each a share of the recipients, its own content (below) and an optional hold-back."""

    model = CampaignVariant
    formset = VariantFormSet
    extra = 0
    fields = ["label", "share_percent", "delay_hours"]

    # Variants are part of writing the campaign's content: whoever may write content may split it
    # (the roles' content permissions; no new permission in the role matrix).
    def _may(self, request, action, obj):
        draft = obj is None or obj.status == Campaign.Status.DRAFT
        return request.user.has_perm(f"campaigns.{action}_campaigncontent") and (draft or action == "view")

    def has_view_permission(self, request, obj=None):
        return self._may(request, "view", obj)

    def has_add_permission(self, request, obj=None):
        return self._may(request, "add", obj)

    def has_change_permission(self, request, obj=None):
        return self._may(request, "change", obj)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, "delete", obj)


class CampaignContentInline(DraftOnlyInline):
    model = CampaignContent
    extra = 2
    fields = ["variant", "channel", "language", "subject", "body"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Only this campaign's own variants can be chosen (none before it is saved).
        field = formset.form.base_fields.get("variant")
        if field is not None:
            field.queryset = CampaignVariant.objects.filter(campaign=obj) if obj else CampaignVariant.objects.none()
        return formset


class TestSendForm(forms.Form):
    email = forms.EmailField(label=_("send to (staff e-mail)"))
    language = forms.ChoiceField(label=_("language"), choices=Language.choices)
    first_name = forms.CharField(label=_("first name to show"), required=False, max_length=100)
    variant = forms.ModelChoiceField(
        label=_("A/B variant"),
        queryset=CampaignVariant.objects.none(),
        required=False,
        empty_label=_("the campaign's own content"),
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["variant"].queryset = campaign.variants.all()
        if not campaign.variants.exists():
            del self.fields["variant"]


# The campaign's own pages: (URL name suffix, permission, link text).
CAMPAIGN_PAGES = [
    ("forecast", VIEW_PERMISSION, _("forecast")),
    ("control", VIEW_PERMISSION, _("progress and controls")),
    ("report", REPORT_PERMISSION, _("report")),
    ("test_send", TEST_SEND_PERMISSION, _("test-send")),
]
# What each control does, and the campaign states it applies to.
CONTROLS = {
    "launch": (services.campaign_launch, _("Launch")),
    "pause": (services.campaign_pause, _("Pause")),
    "resume": (services.campaign_resume, _("Resume")),
    "cancel": (services.campaign_cancel, _("Cancel the campaign")),
}
CONTROLS_FOR = {
    Campaign.Status.DRAFT: ["launch"],
    Campaign.Status.SCHEDULED: ["pause", "cancel"],
    Campaign.Status.RUNNING: ["pause", "cancel"],
    Campaign.Status.PAUSED: ["resume", "cancel"],
}


@admin.register(Campaign)
class CampaignAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Campaigns: written as drafts (content per channel and language), forecast, then launched.

    After launch the campaign is read-only here; its pages (progress and controls, report) act on it.
    """

    list_display = ["name", "topic", "segment", "status", "starts_at", "deadline", "launched_at", "recipients"]
    list_filter = ["status", "topic"]
    list_select_related = ["topic", "segment"]
    search_fields = ["name"]
    inlines = [CampaignVariantInline, CampaignContentInline]
    readonly_fields = ["status", "launched_at", "recipients", "holdout", "languages"]
    fields = [
        "name",
        "topic",
        "segment",
        ("starts_at", "deadline"),
        "gift_points",
        ("holdout_percent", "report_days"),
        "status",
        ("launched_at", "recipients", "holdout"),
        "languages",
    ]

    @admin.display(description=_("languages"))
    def languages(self, obj):
        """Per channel, the languages with their own text and the ones that read another's instead
        (the default language's, else the first there is: as rendering falls back)."""
        if obj is None or obj.pk is None:
            return "—"
        written: dict[str, set[str]] = {}
        for channel, language in obj.contents.filter(variant__isnull=True).values_list("channel", "language"):
            written.setdefault(channel, set()).add(language)
        if not written:
            return gettext("No text yet: add it per channel and language below.")
        channels, names = dict(Channel.choices), dict(Language.choices)
        lines = []
        for channel, languages in sorted(written.items()):
            fallback = settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in languages else sorted(languages)[0]
            missing = [names[code] for code in Language.values if code not in languages]
            line = f"{channels.get(channel, channel)}: {', '.join(str(names[code]) for code in sorted(languages))}"
            if missing:
                line += " · " + gettext("%(languages)s read the %(fallback)s text") % {
                    "languages": ", ".join(str(name) for name in missing),
                    "fallback": names[fallback],
                }
            lines.append(line)
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return [*fields, "name", "topic", "segment", "starts_at", "deadline", "gift_points", "holdout_percent"]
        return fields

    def has_delete_permission(self, request, obj=None):
        # A launched campaign is the record of what was sent: cancelled, never deleted.
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == Campaign.Status.DRAFT)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The campaign's pages the user may open, as buttons above the form."""
        pages = [
            (reverse(f"admin:campaigns_campaign_{name}", args=[object_id]), text)
            for name, permission, text in CAMPAIGN_PAGES
            if request.user.has_perm(permission)
        ]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "campaign_pages": pages})

    def get_urls(self):
        def page(view, suffix, route):
            return path(f"<int:pk>/{route}/", self.admin_site.admin_view(view), name=f"campaigns_campaign_{suffix}")

        return [
            page(self.forecast_view, "forecast", "forecast"),
            page(self.control_view, "control", "control"),
            page(self.report_view, "report", "report"),
            page(self.test_send_view, "test_send", "test-send"),
            *super().get_urls(),
        ]

    def _page(self, request, pk, permission):
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return get_object_or_404(Campaign.objects.select_related("topic", "segment"), pk=pk)

    def _context(self, request, campaign, title, **extra):
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "campaign": campaign,
            "opts": self.model._meta,
            "original": campaign,
            **extra,
        }

    def forecast_view(self, request, pk):
        campaign = self._page(request, pk, VIEW_PERMISSION)
        try:
            validate_rules(campaign.segment.rules)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("admin:campaigns_campaign_change", campaign.pk)
        forecast = selectors.campaign_forecast(campaign)
        labels = dict(Notification.Reason.choices)
        context = self._context(
            request,
            campaign,
            _("Forecast: %(campaign)s") % {"campaign": campaign},
            forecast=forecast,
            suppressed=[(labels.get(reason, reason), count) for reason, count in forecast.suppressed.most_common()],
            suppressed_rows=[
                (Channel(channel).label, labels.get(reason, reason), count)
                for (channel, reason), count in sorted(forecast.suppressed_rows.items())
            ],
            channels=[(Channel(channel).label, count) for channel, count in sorted(forecast.by_channel.items())],
            over_cap=[(Channel(channel).label, count) for channel, count in sorted(forecast.over_cap.items())],
            days=sorted(forecast.days.items()),
            variants=sorted(forecast.by_variant.items()),
            hours_chart=bar_chart(
                [(f"{hour:02d}", [count]) for hour, count in enumerate(forecast.hours)],
                series=[_("messages")],
                title=_("Messages by the hour of the customer's own clock"),
            ),
            zone=timezone.get_current_timezone_name(),
            can_launch=request.user.has_perm(LAUNCH_PERMISSION) and campaign.status == Campaign.Status.DRAFT,
        )
        return TemplateResponse(request, "admin/campaigns/forecast.html", context)

    def control_view(self, request, pk):
        """Progress (live: the page reads the rows each time) and the controls its state allows."""
        campaign = self._page(request, pk, VIEW_PERMISSION)
        allowed = CONTROLS_FOR.get(campaign.status, [])
        if request.method == "POST":
            if not request.user.has_perm(LAUNCH_PERMISSION):
                raise PermissionDenied
            action = request.POST.get("action", "")
            if action not in allowed:
                messages.error(
                    request,
                    gettext("That cannot be done to a campaign that is %(status)s.")
                    % {"status": campaign.get_status_display()},
                )
                return redirect("admin:campaigns_campaign_control", campaign.pk)
            before = campaign.status
            try:
                CONTROLS[action][0](campaign=campaign)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("admin:campaigns_campaign_control", campaign.pk)
            campaign.refresh_from_db()
            audit_record(
                request=request,
                action=AuditEntry.Action.CHANGE,
                obj=campaign,
                changes={"status": [before, campaign.status]},
            )
            messages.success(
                request, gettext("The campaign is %(status)s now.") % {"status": campaign.get_status_display()}
            )
            return redirect("admin:campaigns_campaign_control", campaign.pk)
        services.campaign_finish_if_done(campaign=campaign)
        allowed = CONTROLS_FOR.get(campaign.status, [])
        progress = selectors.campaign_progress(campaign)
        columns = [
            "queued",
            "sent",
            Notification.Status.SUPPRESSED,
            Notification.Status.FAILED,
            Notification.Status.CANCELLED,
        ]
        column_labels = [_("queued"), _("sent"), _("suppressed"), _("failed"), _("cancelled")]
        rows = [
            (Channel(channel).label, [counts.get(column, 0) for column in columns])
            for channel, counts in sorted(progress.by_channel.items())
        ]
        context = self._context(
            request,
            campaign,
            _("Progress: %(campaign)s") % {"campaign": campaign},
            column_labels=column_labels,
            rows=rows,
            totals=[progress.totals.get(column, 0) for column in columns],
            controls=[(name, CONTROLS[name][1]) for name in allowed]
            if request.user.has_perm(LAUNCH_PERMISSION)
            else [],
        )
        return TemplateResponse(request, "admin/campaigns/control.html", context)

    def report_view(self, request, pk):
        campaign = self._page(request, pk, REPORT_PERMISSION)
        report = selectors.campaign_report(campaign)
        figures = ["sent", "delivered", "opened", "clicked", "bounced", "unsubscribed"]
        labels = [_("sent"), _("delivered"), _("opened"), _("clicked"), _("bounced"), _("unsubscribed")]
        rows = [
            (Channel(channel).label, [getattr(figures_of, name) for name in figures])
            for channel, figures_of in sorted(report.by_channel.items())
        ]
        context = self._context(
            request,
            campaign,
            _("Report: %(campaign)s") % {"campaign": campaign},
            report=report,
            labels=labels,
            rows=rows,
            chart=bar_chart(rows, series=labels, title=_("Messages per channel")),
            reasons=[
                (Channel(channel).label, label or gettext("no reason given"), count)
                for (channel, label), count in sorted(report.unsubscribe_reasons.items())
            ],
            comparison=report.comparison,
            comparison_rows=[
                (_("purchases"), report.comparison.purchases, report.comparison.purchases_difference),
                (_("spend"), report.comparison.spend, report.comparison.spend_difference),
            ]
            if report.comparison
            else [],
            variant_rows=[
                (label, Channel(channel).label, [getattr(figures_of, name) for name in figures], part.disputes)
                for label, part in report.by_variant.items()
                for channel, figures_of in sorted(part.by_channel.items())
            ],
            outcome_rows=[
                (
                    outcome,
                    [
                        (_("purchases"), outcome.purchases, outcome.purchases_vs_holdout, outcome.purchases_vs_first),
                        (_("spend"), outcome.spend, outcome.spend_vs_holdout, outcome.spend_vs_first),
                    ],
                )
                for outcome in report.variant_outcomes
            ],
            first_variant=report.variant_outcomes[0].label if report.variant_outcomes else "",
        )
        return TemplateResponse(request, "admin/campaigns/report.html", context)

    def test_send_view(self, request, pk):
        campaign = self._page(request, pk, TEST_SEND_PERMISSION)
        form = TestSendForm(
            request.POST or None, initial={"email": request.user.email, "language": "en"}, campaign=campaign
        )
        if request.method == "POST" and form.is_valid():
            if not campaign.contents.exists():
                form.add_error(None, gettext("Write the content for at least one channel first."))
            else:
                services.campaign_test_send(campaign=campaign, **form.cleaned_data)
                messages.success(
                    request,
                    gettext("Test sent to %(email)s; it is not counted in the campaign.")
                    % {"email": form.cleaned_data["email"]},
                )
                return redirect("admin:campaigns_campaign_change", campaign.pk)
        context = self._context(request, campaign, _("Test-send: %(campaign)s") % {"campaign": campaign}, form=form)
        return TemplateResponse(request, "admin/campaigns/test_send.html", context)
