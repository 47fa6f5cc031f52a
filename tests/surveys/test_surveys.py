import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.links.tokens import customer_token
from crm.models import Callback
from notifications.consent.book import ConsentBook
from notifications.models import ConsentEvent, Notification, Preference, Topic
from notifications.outbox.write import notify
from surveys.models import Answer, Invitation, Question, Response
from surveys.services import survey_invite
from tests.loyalty.factories import purchase


def survey_path(customer, survey):
    return reverse("survey", args=[customer_token("survey", customer, s=survey.slug)])


def field(survey, text):
    return f"q{Question.objects.get(survey=survey, text=text).pk}"


@pytest.fixture
def estonian(customer_factory, district_factory):
    customer = customer_factory(country="EE", language="en")
    return customer


def full_answers(survey, districts):
    home, work = districts
    return {
        field(survey, "May we e-mail you news and offers?"): "yes",
        field(survey, "Which topics interest you?"): ["promotion", "store-opening"],
        field(survey, "When do you like to read our messages?"): "17:00-21:00",
        field(survey, "Which days suit you best?"): ["1", "3"],
        field(survey, "How often?"): "1",
        field(survey, "Bonus messages by?"): "email",
        field(survey, "Where do you live?"): str(home.pk),
        field(survey, "Where do you work or shop often?"): [str(work.pk)],
        field(survey, "Anything else?"): "More vegan food please",
        field(survey, "How likely are you to recommend us?"): "9",
        field(survey, "Favourite department?"): "women",
    }


def test_answers_become_preferences_consent_and_districts(client, preference_survey, estonian, district_factory):
    districts = (district_factory(name="Kalamaja", city="Tallinn"), district_factory(name="Kesklinn", city="Tallinn"))
    response = client.post(survey_path(estonian, preference_survey), full_answers(preference_survey, districts))
    assert response.status_code == 200 and "Thank you" in response.content.decode()

    estonian.refresh_from_db()
    assert estonian.home_district == districts[0]
    preference = Preference.objects.get(customer=estonian)
    assert (preference.window_start, preference.window_end) == (datetime.time(17), datetime.time(21))
    assert preference.weekdays == [1, 3] and preference.max_per_week == {"email": 1, "sms": 1}
    assert preference.preferred_channels["bonus-credited"] == "email"
    assert list(preference.districts.all()) == [districts[1]]
    assert preference.badge == "email_only"
    consent = ConsentEvent.objects.get(customer=estonian, channel="email", topic=None)
    assert (consent.action, consent.source, consent.wording) == (
        "granted",
        "survey",
        "May we e-mail you news and offers?",
    )
    book = ConsentBook.for_customers([estonian.pk])
    assert book.allows(estonian.pk, "email", Topic.objects.get(code="promotion"))
    assert not book.allows(estonian.pk, "email", Topic.objects.get(code="new-products"))
    assert not book.allows(estonian.pk, "sms", Topic.objects.get(code="promotion"))  # no SMS consent given
    assert Response.objects.get().completed_at is not None and Answer.objects.count() == 11

    # The next notification follows the new preferences: e-mail, Tuesday or Thursday, 17–21 local.
    [row] = notify(customer=estonian, topic="promotion", context={"text": "x"}, dedupe_key="after-survey")
    local = row.send_at.astimezone(estonian.zone)
    assert row.channel == "email" and row.status == "scheduled"
    assert local.weekday() in (1, 3) and datetime.time(17) <= local.time() < datetime.time(21)


@pytest.mark.parametrize(
    ("question", "value", "message"),
    [
        ("May we e-mail you news and offers?", "", "required"),
        ("May we e-mail you news and offers?", "maybe", "valid choice"),
        ("Which topics interest you?", ["not-a-topic"], "valid choice"),
        ("When do you like to read our messages?", "03:00-04:00", "valid choice"),
        ("Which days suit you best?", ["9"], "valid choice"),
        ("How often?", "99", "valid choice"),
        ("Bonus messages by?", "pigeon", "valid choice"),
        ("Where do you live?", "999999", "valid choice"),
        ("Where do you work or shop often?", ["999999"], "valid choice"),
        ("How likely are you to recommend us?", "11", "valid choice"),
        ("Favourite department?", "garden", "valid choice"),
        ("Anything else?", "x" * 2001, "at most 2000"),
    ],
)
def test_each_question_type_validates_and_keeps_the_valid_answers(
    client, preference_survey, estonian, district_factory, question, value, message
):
    districts = (district_factory(name="A", city="Tallinn"), district_factory(name="B", city="Tallinn"))
    data = full_answers(preference_survey, districts)
    data[field(preference_survey, question)] = value
    response = client.post(survey_path(estonian, preference_survey), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field(preference_survey, question)] and message in str(errors)
    partial = Response.objects.get()
    assert partial.completed_at is None
    assert Answer.objects.filter(response=partial).count() == 10  # the valid answers are kept
    assert not ConsentEvent.objects.exists() and not Preference.objects.filter(window_start__isnull=False).exists()


def test_one_response_per_customer_unless_updates_are_allowed(client, preference_survey, estonian, district_factory):
    districts = (district_factory(name="A", city="Tallinn"), district_factory(name="B", city="Tallinn"))
    url = survey_path(estonian, preference_survey)
    client.post(url, full_answers(preference_survey, districts))
    events = ConsentEvent.objects.count()
    again = full_answers(preference_survey, districts)
    again[field(preference_survey, "When do you like to read our messages?")] = "08:00-12:00"
    second = client.post(url, again)
    assert "already answered" in second.content.decode()
    assert "already answered" in client.get(url).content.decode()
    assert Preference.objects.get(customer=estonian).window_start == datetime.time(17)
    assert ConsentEvent.objects.count() == events and Response.objects.count() == 1

    preference_survey.allow_updates = True
    preference_survey.save()
    assert client.get(url).context["form"].initial[field(preference_survey, "How often?")] == 1
    client.post(url, again)
    assert Preference.objects.get(customer=estonian).window_start == datetime.time(8)
    assert Response.objects.count() == 1


def test_survey_link_rules(client, preference_survey, estonian):
    url = survey_path(estonian, preference_survey)
    assert client.get(url).status_code == 200
    assert client.get(url[:-4] + "xyz/").status_code == 404
    russian = client.get(url, {"lang": "ru"}).content.decode()
    assert "Расскажите" in russian and "Отправить ответы" in russian and "вечером (17–21)" in russian
    preference_survey.ends_at = timezone.now() - datetime.timedelta(days=1)
    preference_survey.save()
    assert client.get(url).status_code == 404


def test_invitation_is_a_notification_with_the_customers_own_link(customer, preference_survey, settings):
    from django.core import mail

    from notifications.consent.services import consent_record
    from tests.notifications.test_pipeline import send_due

    consent_record(customer=customer, channel="email", action="granted", source="survey")
    Preference.objects.filter(customer=customer).update(window_start=datetime.time(0), window_end=datetime.time(23, 59))
    Topic.objects.filter(code="survey-invitation").update(urgency="timely")
    invitation = survey_invite(survey=preference_survey, customer=customer)
    row = Notification.objects.get(topic__code="survey-invitation")
    Notification.objects.filter(pk=row.pk).update(send_at=timezone.now())
    send_due()
    assert invitation.pk and "https://crm.example.com/s/" in mail.outbox[0].body


def test_feedback_invitation_after_purchase_once_per_period_and_low_score_calls_back(
    client, customer, store_factory, feedback_survey, django_capture_on_commit_callbacks
):
    from notifications.consent.services import consent_record

    consent_record(customer=customer, channel="email", action="granted", source="survey")
    store = store_factory()
    with django_capture_on_commit_callbacks(execute=True):
        purchase(customer, store=store, amount="20")
    invitation = Invitation.objects.get()
    row = Notification.objects.get(topic__code="survey-invitation")
    assert row.status == "scheduled"
    assert row.send_at >= invitation.created_at + datetime.timedelta(hours=20) - datetime.timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        purchase(customer, store=store, amount="30")  # within 90 days: no second invitation
    assert Invitation.objects.count() == 1

    url = survey_path(customer, feedback_survey)
    score = field(feedback_survey, "How likely are you to recommend us?")
    client.post(url, {score: "3", field(feedback_survey, "What could we do better?"): "Long queue"})
    callback = Callback.objects.get(customer=customer)
    assert "Low score 3" in callback.subject and "Long queue" in callback.notes
    assert callback.due_at > timezone.now() and callback.due_at.weekday() < 5


def test_a_good_score_needs_no_callback(client, customer, feedback_survey):
    client.post(
        survey_path(customer, feedback_survey), {field(feedback_survey, "How likely are you to recommend us?"): "10"}
    )
    assert not Callback.objects.exists()


def test_results_nps_and_csv_export(staff_client, customer_factory, feedback_survey, django_assert_max_num_queries):
    score = field(feedback_survey, "How likely are you to recommend us?")
    for value in ("10", "9", "8", "3"):
        Client = type(staff_client)
        Client().post(survey_path(customer_factory(), feedback_survey), {score: value})
    with django_assert_max_num_queries(15):
        response = staff_client.get(reverse("admin:surveys_survey_results", args=[feedback_survey.pk]))
    scale = response.context["results"][0]
    assert scale["nps"] == 25 and dict(scale["counts"])["10"] == 1  # (2 promoters - 1 detractor) / 4
    export = staff_client.get(reverse("admin:surveys_survey_export", args=[feedback_survey.pk]))
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][-2:] == ["How likely are you to recommend us?", "What could we do better?"]
    assert sorted(r[-2] for r in rows[1:]) == ["10", "3", "8", "9"]
    assert staff_client.get(reverse("admin:surveys_survey_change", args=[feedback_survey.pk])).status_code == 200


def test_staff_invite_a_segment_once(staff_client, customer_factory, preference_survey):
    from campaigns.models import Segment

    customer_factory.create_batch(3, language="ru")
    customer_factory(language="et")
    segment = Segment.objects.create(name="Russian speakers", rules={"languages": ["ru"]})
    url = reverse("admin:surveys_survey_invite", args=[preference_survey.pk])
    assert staff_client.post(url, {"segment": segment.pk}).status_code == 302
    staff_client.post(url, {"segment": segment.pk})  # again: nobody is invited twice
    assert Invitation.objects.count() == 3
    assert Notification.objects.filter(topic__code="survey-invitation").count() == 3
