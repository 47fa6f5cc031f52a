"""Survey answers, their effects (preferences, consent, home district, follow-up calls) and invitations."""

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from config.table_cache import TableCache
from crm.models import Customer, District
from crm.services import callback_schedule, customer_update
from notifications.consent.services import Evidence
from notifications.models import ConsentEvent, Topic
from notifications.outbox.fanout import notify_many
from notifications.outbox.write import notify
from notifications.preferences.services import survey_answers_apply
from surveys.models import Answer, Invitation, Question, Response, Survey


class AlreadyAnswered(Exception):
    pass


def _first_workday_morning(after: datetime.datetime, zone) -> datetime.datetime:
    """9:00 on the next weekday as the customer's clock shows it, in UTC: staff call them then."""
    day = after.astimezone(zone).date() + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(9), tzinfo=zone).astimezone(datetime.UTC)


def response_save(
    *,
    survey: Survey,
    customer: Customer,
    answers: dict[Question, object],
    complete: bool,
    language: str,
    evidence: Evidence,
    wordings: dict[int, str] | None = None,
    confirmed: bool = True,
) -> Response:
    """Keep the answers given so far; when complete, apply what the bound questions ask for.

    A completed response is changed only if the survey allows updates (then its effects apply
    again with the new answers). Consent answers are recorded with the survey as source and the
    question's wording, as shown, as evidence.
    """
    wordings = wordings or {}
    with transaction.atomic():
        response, _created = Response.objects.select_for_update().get_or_create(
            survey=survey, customer=customer, defaults={"language": language}
        )
        if response.completed_at and not survey.allow_updates:
            raise AlreadyAnswered
        Answer.objects.filter(response=response, question__in=list(answers)).delete()
        Answer.objects.bulk_create(Answer(response=response, question=q, value=v) for q, v in answers.items())
        response.language = language
        if complete:
            response.completed_at = timezone.now()
            response.awaiting_confirmation = not confirmed
        response.save()
        if complete and confirmed:
            _apply(response, answers, evidence, wordings)
    return response


def response_confirm(*, response_id: int, evidence: Evidence) -> Response | None:
    """The customer confirmed the contact point of an open-link response: now its answers act."""
    with transaction.atomic():
        response = (
            Response.objects.select_for_update()
            .select_related("survey", "customer")
            .filter(pk=response_id, awaiting_confirmation=True)
            .first()
        )
        if response is None:
            return None
        response.awaiting_confirmation, response.confirmed_at = False, timezone.now()
        response.save(update_fields=["awaiting_confirmation", "confirmed_at", "updated_at"])
        answers = {a.question: a.value for a in response.answers.select_related("question")}
        wordings = {q.pk: q.text_in(response.language) for q in answers}
        _apply(response, answers, evidence, wordings)
    return response


def open_respondent(*, email: str, phone: str, first_name: str, language: str, time_zone: str) -> Customer:
    """The customer behind an open-link answer: found by e-mail or phone, or created (with no consent)."""
    from crm.selectors import customer_find
    from crm.services import customer_create

    found = customer_find(email=email, phone=phone)
    if found:
        return found
    return customer_create(email=email, phone=phone, first_name=first_name, language=language, time_zone=time_zone)


def confirmation_request(*, response: Response, confirm_url: str) -> None:
    """Ask the respondent to confirm (a service message on their e-mail or phone)."""
    notify(
        customer=response.customer,
        topic="service",
        context={
            "title": _("Please confirm your answers"),
            "text": _("Confirm your answers to “%(survey)s”: %(url)s")
            % {"survey": response.survey.title, "url": confirm_url},
        },
        dedupe_key=f"survey-confirm:{response.pk}:{response.updated_at.timestamp()}",
    )


def _apply(response: Response, answers: dict[Question, object], evidence: Evidence, wordings: dict[int, str]) -> None:
    customer = response.customer
    bound = [(q.binding, value, wordings.get(q.pk, q.text)) for q, value in answers.items() if q.binding]
    home = next((value for binding, value, _w in bound if binding == "home_district"), None)
    if home:
        customer_update(customer=customer, home_district=District.objects.get(pk=home))
    survey_answers_apply(
        customer=customer,
        answers=[item for item in bound if item[0] != "home_district"],
        evidence=Evidence(evidence.ip_address, evidence.user_agent, ConsentEvent.Source.SURVEY),
    )
    survey = response.survey
    low = [
        v
        for q, v in answers.items()
        if q.kind == Question.Kind.SCALE and v is not None and int(v) <= survey.follow_up_below
    ]
    if low:
        callback_schedule(
            customer=customer,
            due_at=_first_workday_morning(timezone.now(), customer.zone),
            subject=_("Low score %(score)s in “%(survey)s”") % {"score": min(low), "survey": survey.title},
            notes="\n".join(f"{q.text}: {v}" for q, v in answers.items()),
        )


def _invitation_context(survey: Survey) -> dict:
    return {"survey": survey.slug, "title": survey.title, "text": survey.intro or survey.title}


def survey_invite(*, survey: Survey, customer: Customer, reason: str = "", at: datetime.datetime | None = None):
    """Invite one customer; the invitation is a notification that every policy applies to."""
    with transaction.atomic():
        invitation = Invitation.objects.create(survey=survey, customer=customer, reason=reason)
        notify(
            customer=customer,
            topic="survey-invitation",
            context=_invitation_context(survey),
            dedupe_key=f"survey:{survey.pk}:invitation:{invitation.pk}",
            now=at,
        )
    return invitation


@dataclass(frozen=True)
class InvitationReport:
    """What inviting a segment did, in customers; the counts add up, so staff read the truth.

    ``planned``: segment members considered. Of them, ``already_invited`` had been invited to
    this survey before (skipped) and ``invited`` were invited now. Of those, ``queued`` have
    their message scheduled, ``suppressed`` counts the ones whose message cannot go by reason
    (Notification.Reason codes such as no_consent and no_contact; the row keeps the reason), and
    ``duplicates`` already had this segment invitation in the outbox. ``topic_inactive``: the
    survey-invitation topic is switched off, so nobody was invited.
    """

    planned: int
    already_invited: int = 0
    invited: int = 0
    queued: int = 0
    suppressed: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    topic_inactive: bool = False


def survey_invite_many(*, survey: Survey, customers: QuerySet[Customer]) -> InvitationReport:
    """Invite a whole segment at once (set-based); a customer is invited once per survey.

    Invitations and their outbox rows are written in one transaction. A customer whose message is
    suppressed (no consent, no contact point, ...) still counts as invited, as the row shows staff
    why; while the topic is switched off nobody is invited, so they can be once it is on again.
    """
    topic = Topic.objects.get(code="survey-invitation")
    if not topic.is_active:
        return InvitationReport(planned=customers.count(), topic_inactive=True)
    with transaction.atomic():
        # One snapshot of the members, so the counts add up even if the segment changes meanwhile.
        members = list(customers.order_by().values_list("pk", flat=True))
        invited_before = set(
            Invitation.objects.filter(survey=survey, customer_id__in=customers.values("pk")).values_list(
                "customer_id", flat=True
            )
        )
        ids = [pk for pk in members if pk not in invited_before]
        Invitation.objects.bulk_create(Invitation(survey=survey, customer_id=pk, reason="segment") for pk in ids)
        fan_out = notify_many(
            customers=Customer.objects.filter(pk__in=ids),
            topic=topic,
            context=_invitation_context(survey),
            dedupe_prefix=f"survey:{survey.pk}:segment",
        )
    return InvitationReport(
        planned=len(members),
        already_invited=len(members) - len(ids),
        invited=len(ids),
        queued=fan_out.queued,
        suppressed={str(reason): count for reason, count in fan_out.suppressed.most_common()},
        duplicates=fan_out.already_present,
    )


def _feedback_surveys() -> list[Survey]:
    return list(Survey.objects.filter(kind=Survey.Kind.FEEDBACK, is_active=True))


# Asked on every sale, changed a few times a year: read once per process (config/table_cache.py).
_FEEDBACK_SURVEYS = TableCache("surveys.feedback", _feedback_surveys, models=(Survey,))


def feedback_invite_after_purchase(*, customer_id: int, purchased_at: datetime.datetime) -> list[Invitation]:
    """Ask how a purchase went, some hours later inside the customer's window, at most once per N days."""
    invited = []
    now = timezone.now()
    for survey in _FEEDBACK_SURVEYS.get():
        if (survey.starts_at and survey.starts_at > now) or (survey.ends_at and survey.ends_at < now):
            continue
        since = now - datetime.timedelta(days=survey.invite_every_days)
        if Invitation.objects.filter(survey=survey, customer_id=customer_id, created_at__gte=since).exists():
            continue
        customer = Customer.objects.get(pk=customer_id)
        at = purchased_at + datetime.timedelta(hours=survey.invite_after_hours)
        invited.append(survey_invite(survey=survey, customer=customer, reason="purchase", at=max(at, now)))
    return invited
