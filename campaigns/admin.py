"""Segments, and the pages that use them: a survey's invitation of a segment.

Segments live here (campaigns sits on top of the other apps), so the survey admin's "invite a
segment" page is added here too: ``SurveyAdmin`` is registered again as a subclass with the page
(surveys never imports campaigns). Its URL name and permission are the ones it always had.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdminMixin
from audit.models import AuditEntry
from audit.services import audit_record
from campaigns.models import Segment
from campaigns.segments import segment_customers, validate_rules
from notifications.models import Notification, Topic
from surveys.admin import SURVEY_PAGES, SurveyAdmin
from surveys.models import Survey
from surveys.services import InvitationReport, survey_invite_many

INVITE_PERMISSION = "surveys.invite_segment"


class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ["name", "rules"]

    def clean_rules(self):
        rules = self.cleaned_data["rules"]
        validate_rules(rules)
        return rules


@admin.register(Segment)
class SegmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Segments with a live count and a sample, so staff see whom a rule reaches before using it.

    A segment whose rules no longer hold (saved before they were checked, written by code, or
    naming a district or store that has since been renamed or removed) shows what to fix instead
    of a count, never an error page.
    """

    form = SegmentForm
    list_display = ["name", "created_at"]
    readonly_fields = ["size", "sample"]

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
