import csv

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdminMixin
from audit.models import AuditEntry
from audit.services import audit_record
from crm.access import StoreScopedMixin
from crm.admin import CustomerSearchMixin
from crm.admin_scale import LargeTableAdmin
from surveys.charts import bar_chart
from surveys.models import Question, Response, Survey
from surveys.selectors import DistrictResults, district_results, responses_for_export, survey_results

RESULTS_PERMISSION = "surveys.view_results"
EXPORT_PERMISSION = "surveys.export_results"
# The survey's own pages, each behind its permission: (URL name suffix, permission, link text).
# Inviting a segment is campaigns' page (campaigns.admin adds it: segments live there).
SURVEY_PAGES = [
    ("results", RESULTS_PERMISSION, _("results")),
    ("districts", RESULTS_PERMISSION, _("by district")),
    ("export", EXPORT_PERMISSION, "CSV"),
]


def _page_url(name: str, survey: Survey) -> str:
    if name == "districts":  # one page for every survey, filtered to this one
        return reverse("admin:surveys_survey_districts") + f"?survey={survey.pk}"
    return reverse(f"admin:surveys_survey_{name}", args=[survey.pk])


class QuestionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.survey} · {obj.text}"


class DistrictResultsForm(forms.Form):
    """The filters of the results by district (a GET form: the page's address says what it shows)."""

    survey = forms.ModelChoiceField(
        queryset=Survey.objects.all(), required=False, label=_("survey"), empty_label=_("every survey")
    )
    question = QuestionChoiceField(
        queryset=Question.objects.select_related("survey").order_by("survey", "position", "id"),
        required=False,
        label=_("question"),
        empty_label=_("every question"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        survey = self.data.get("survey")
        if survey and str(survey).isdigit():
            self.fields["question"].queryset = self.fields["question"].queryset.filter(survey_id=survey)

    def clean(self):
        data = super().clean()
        survey, question = data.get("survey"), data.get("question")
        if survey is not None and question is None and "question" not in self.data:
            # First visit: the survey's own "where would you like a store" question, if it has one.
            data["question"] = survey.questions.filter(kind=Question.Kind.DISTRICT, binding="").first()
        return data


class QuestionInline(admin.StackedInline):
    model = Question
    extra = 0
    ordering = ["position", "id"]
    fields = [("position", "kind", "required"), "text", "binding", "choices", "translations"]


@admin.register(Survey)
class SurveyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The survey builder: questions in order, each optionally bound to a preference or consent."""

    list_display = ["title", "kind", "is_active", "starts_at", "ends_at", "links"]
    list_filter = ["kind", "is_active"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [QuestionInline]
    pages = SURVEY_PAGES

    @admin.display(description=_("results"))
    def links(self, obj, pages=None):
        pages = self.pages if pages is None else pages
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            ((_page_url(name, obj), text) for name, _perm, text in pages),
        )

    def get_list_display(self, request):
        """The links column holds only the pages the user may open (none: no column)."""
        shown = [name for name in super().get_list_display(request) if name != "links"]
        pages = [page for page in self.pages if request.user.has_perm(page[1])]
        if not pages:
            return shown

        @admin.display(description=_("results"))
        def links(obj):
            return self.links(obj, pages)

        return [*shown, links]

    def get_urls(self):
        return [
            path("districts/", self.admin_site.admin_view(self.districts_view), name="surveys_survey_districts"),
            path(
                "districts.csv",
                self.admin_site.admin_view(self.districts_export_view),
                name="surveys_survey_districts_export",
            ),
            path("<int:pk>/results/", self.admin_site.admin_view(self.results_view), name="surveys_survey_results"),
            path("<int:pk>/export.csv", self.admin_site.admin_view(self.export_view), name="surveys_survey_export"),
            *super().get_urls(),
        ]

    def results_view(self, request, pk):
        if not request.user.has_perm(RESULTS_PERMISSION):
            raise PermissionDenied
        survey = get_object_or_404(Survey, pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Results: %(survey)s") % {"survey": survey},
            "survey": survey,
            "results": survey_results(survey),
            "completed": survey.responses.filter(completed_at__isnull=False).count(),
            "partial": survey.responses.filter(completed_at__isnull=True).count(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/surveys/results.html", context)

    def _district_results(self, request) -> tuple[DistrictResultsForm, DistrictResults | None]:
        form = DistrictResultsForm(request.GET)
        if not form.is_valid():
            return form, None
        return form, district_results(survey=form.cleaned_data["survey"], question=form.cleaned_data["question"])

    def districts_view(self, request):
        """Where respondents live and work, and where they would like a store: tables and charts."""
        if not request.user.has_perm(RESULTS_PERMISSION):
            raise PermissionDenied
        form, results = self._district_results(request)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Survey results by district"),
            "form": form,
            "results": results,
            "opts": self.model._meta,
        }
        if results is not None:
            context["charts"] = {
                "home": bar_chart([(row.label, row.respondents) for row in results.home]),
                "work": bar_chart([(row.label, row.respondents) for row in results.work]),
                "choices": bar_chart([(row.label, row.answers) for row in results.choices]),
            }
            if request.user.has_perm(EXPORT_PERMISSION):
                context["export_url"] = reverse("admin:surveys_survey_districts_export") + "?" + request.GET.urlencode()
        return TemplateResponse(request, "admin/surveys/districts.html", context)

    def districts_export_view(self, request):
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        _form, results = self._district_results(request)
        if results is None:
            return redirect(reverse("admin:surveys_survey_districts") + "?" + request.GET.urlencode())
        survey, question = results.survey, results.question
        audit_record(
            request=request,
            action=AuditEntry.Action.EXPORT,
            object_type="surveys.survey",
            object_id=str(survey.pk) if survey else "",
            object_repr=gettext("Results by district: %(survey)s") % {"survey": survey or gettext("every survey")},
            changes={"report": [None, "districts"], "question": [None, question.pk if question else None]},
        )
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"survey-{survey.slug}-districts.csv" if survey else "surveys-districts.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerow(["table", "district_or_answer", "respondents", "answers"])
        for table, rows in (("home district", results.home), ("work district", results.work)):
            for row in rows:
                writer.writerow([table, row.label, row.respondents, row.answers])
        for row in results.choices:
            writer.writerow([f"answer: {question.text}", row.label, row.respondents, row.answers])
        return response

    def export_view(self, request, pk):
        if not request.user.has_perm(EXPORT_PERMISSION):
            raise PermissionDenied
        survey = get_object_or_404(Survey, pk=pk)
        audit_record(request=request, action=AuditEntry.Action.EXPORT, obj=survey, changes={"format": [None, "csv"]})
        questions = list(survey.questions.all())
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="survey-{survey.slug}.csv"'
        writer = csv.writer(response)
        writer.writerow(["response", "customer", "language", "completed_at", *[q.text for q in questions]])
        for row in responses_for_export(survey):
            values = {a.question_id: a.value for a in row.answers.all()}
            writer.writerow(
                [
                    row.pk,
                    row.customer.public_id,
                    row.language,
                    row.completed_at.isoformat() if row.completed_at else "",
                    *[";".join(map(str, v)) if isinstance(v := values.get(q.pk, ""), list) else v for q in questions],
                ]
            )
        return response


@admin.register(Response)
class ResponseAdmin(StoreScopedMixin, CustomerSearchMixin, LargeTableAdmin):
    """Every answer sheet, latest started first; a survey's results and export are on the survey."""

    list_display = ["survey", "customer", "language", "completed_at", "updated_at"]
    list_filter = ["survey", ("completed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["survey", "customer"]
    search_fields = ["customer"]  # see CustomerSearchMixin
    readonly_fields = ["survey", "customer", "language", "completed_at"]
    ordering = ["-id"]
