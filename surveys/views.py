from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from crm.links.pages import invalid_link, page_language, render_page, token_page
from crm.links.tokens import make_token, read_customer_token, read_token
from notifications.consent.services import Evidence
from notifications.delivery.rendering import absolute
from notifications.models import ConsentEvent
from surveys.forms import RespondentForm, SurveyForm
from surveys.models import Answer, Response, Survey
from surveys.services import (
    AlreadyAnswered,
    confirmation_request,
    open_respondent,
    response_confirm,
    response_save,
)


@token_page("survey")
def survey(request, token: str):
    resolved = read_customer_token("survey", token)
    if resolved is None:
        return invalid_link(request)
    customer, data = resolved
    now = timezone.now()
    found = Survey.objects.filter(slug=data.get("s"), is_active=True).first()
    if found is None or (found.starts_at and found.starts_at > now) or (found.ends_at and found.ends_at < now):
        return invalid_link(request)
    language = page_language(request, customer)
    response = Response.objects.filter(survey=found, customer=customer).first()
    context = {"survey": found, "title": found.text_in("title", language), "intro": found.text_in("intro", language)}
    if response and response.completed_at and not found.allow_updates:
        return render_page(request, "surveys/done.html", {**context, "already": True}, language)
    questions = list(found.questions.all())
    initial = {}
    if response:
        for answer in Answer.objects.filter(response=response):
            initial[f"q{answer.question_id}"] = answer.value
    with translation.override(language):
        form = SurveyForm(
            request.POST or None, initial=initial, questions=questions, language=language, customer=customer
        )
        if request.method == "POST":
            evidence = Evidence.from_request(request, ConsentEvent.Source.SURVEY)
            valid = form.is_valid()
            wordings = {q.pk: q.text_in(language) for q in questions}
            try:
                response_save(
                    survey=found,
                    customer=customer,
                    answers=form.answers(only_valid=not valid),
                    complete=valid,
                    language=language,
                    evidence=evidence,
                    wordings=wordings,
                )
            except AlreadyAnswered:
                return render_page(request, "surveys/done.html", {**context, "already": True}, language)
            if valid:
                return render_page(request, "surveys/done.html", context, language)
    return render_page(request, "surveys/survey.html", {**context, "form": form}, language)


def _open_survey(slug: str):
    now = timezone.now()
    found = Survey.objects.filter(slug=slug, is_active=True, open_link=True).first()
    if found is None or (found.starts_at and found.starts_at > now) or (found.ends_at and found.ends_at < now):
        return None
    return found


@token_page("survey-open")
def open_survey(request, slug: str):
    """A survey anyone may answer; the answers act only after the e-mail or phone is confirmed."""
    found = _open_survey(slug)
    if found is None:
        return invalid_link(request)
    asked = request.GET.get("lang", "")
    language = asked if asked in LANGUAGES else getattr(request, "LANGUAGE_CODE", "en")
    language = language if language in LANGUAGES else "en"
    context = {"survey": found, "title": found.text_in("title", language), "intro": found.text_in("intro", language)}
    with translation.override(language):
        respondent = RespondentForm(request.POST or None, prefix="who")
        form = SurveyForm(request.POST or None, questions=list(found.questions.all()), language=language, customer=None)
        if request.method == "POST" and respondent.is_valid() and form.is_valid():
            who = respondent.cleaned_data
            customer = open_respondent(
                email=who["email"],
                phone=who["phone"],
                first_name=who["first_name"],
                language=language,
                time_zone=settings.DEFAULT_CUSTOMER_TIME_ZONE,
            )
            evidence = Evidence.from_request(request, ConsentEvent.Source.SURVEY)
            try:
                response = response_save(
                    survey=found,
                    customer=customer,
                    answers=form.answers(),
                    complete=True,
                    language=language,
                    evidence=evidence,
                    confirmed=False,
                )
            except AlreadyAnswered:
                response = None
            if response is not None:
                token = make_token("survey-confirm", r=response.pk)
                confirmation_request(response=response, confirm_url=absolute(reverse("survey-confirm", args=[token])))
            # The same answer whoever the address belongs to: the page reveals nothing about customers.
            return render_page(request, "surveys/check_inbox.html", context, language)
    return render_page(request, "surveys/survey.html", {**context, "form": form, "respondent": respondent}, language)


@token_page("survey-confirm")
def confirm(request, token: str):
    """GET shows a button (mail scanners prefetch links); only the POST confirms."""
    data = read_token("survey-confirm", token)
    response = Response.objects.select_related("survey", "customer").filter(pk=(data or {}).get("r")).first()
    if response is None:
        return invalid_link(request)
    language = response.language or "en"
    context = {"survey": response.survey, "title": response.survey.text_in("title", language)}
    if request.method == "POST":
        evidence = Evidence.from_request(request, ConsentEvent.Source.SURVEY)
        response_confirm(response_id=response.pk, evidence=evidence)
        return render_page(request, "surveys/done.html", context, language)
    if not response.awaiting_confirmation:
        return render_page(request, "surveys/done.html", context, language)
    return render_page(request, "surveys/confirm.html", context, language)


LANGUAGES = {code for code, _name in settings.LANGUAGES}
