from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods

from notifications.csrf import csrf_token_required
from notifications.models import ConsentEvent
from notifications.preference_centre import Evidence
from notifications.ratelimit import client_ip, rate_limited
from notifications.tokens import read_customer_token
from notifications.views import _invalid, _language, _page, no_referrer
from surveys.forms import SurveyForm
from surveys.models import Answer, Response, Survey
from surveys.services import AlreadyAnswered, response_save


@no_referrer
@rate_limited("survey")
@csrf_token_required
@require_http_methods(["GET", "POST"])
def survey(request, token: str):
    resolved = read_customer_token("survey", token)
    if resolved is None:
        return _invalid(request)
    customer, data = resolved
    now = timezone.now()
    found = Survey.objects.filter(slug=data.get("s"), is_active=True).first()
    if found is None or (found.starts_at and found.starts_at > now) or (found.ends_at and found.ends_at < now):
        return _invalid(request)
    language = _language(request, customer)
    response = Response.objects.filter(survey=found, customer=customer).first()
    context = {"survey": found, "title": found.text_in("title", language), "intro": found.text_in("intro", language)}
    if response and response.completed_at and not found.allow_updates:
        return _page(request, "surveys/done.html", {**context, "already": True}, language)
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
            evidence = Evidence(
                client_ip(request) or None, request.headers.get("User-Agent", "")[:400], ConsentEvent.Source.SURVEY
            )
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
                return _page(request, "surveys/done.html", {**context, "already": True}, language)
            if valid:
                return _page(request, "surveys/done.html", context, language)
    return _page(request, "surveys/survey.html", {**context, "form": form}, language)
