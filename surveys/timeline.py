"""Surveys' entries on the customer's timeline (crm.timeline): each response with its answers."""

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm.timeline import Entry, older_than, register_source
from surveys.models import Answer, Response

ANSWERS_SHOWN = 20


def _response_rows(customer, before):
    # The response's customer foreign key index: a customer answers a handful of surveys.
    return Response.objects.filter(customer=customer, **older_than("updated_at", before)).order_by("-updated_at", "-id")


def _value(value) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _responses(customer, before, limit):
    answers = Prefetch("answers", queryset=Answer.objects.select_related("question").order_by("question__position"))
    entries = []
    for response in _response_rows(customer, before).select_related("survey").prefetch_related(answers)[:limit]:
        if response.completed_at:
            state = _("completed")
        elif response.awaiting_confirmation:
            state = _("awaiting confirmation")
        else:
            state = _("started")
        lines = [f"{a.question.text}: {_value(a.value)}" for a in list(response.answers.all())[:ANSWERS_SHOWN]]
        entries.append(
            Entry(
                at=response.updated_at,
                kind="survey",
                title=_("Survey “%(survey)s”: %(state)s") % {"survey": response.survey.title, "state": state},
                detail="\n".join(lines),
                link=reverse("admin:surveys_response_change", args=[response.pk]),
            )
        )
    return entries


def register() -> None:
    register_source("survey", _("Survey answers"), _responses, permission="surveys.view_response", rows=_response_rows)
