import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from crm.models import Customer
from notifications.models import ConsentEvent, Notification, Preference
from surveys.models import Question, Response
from tests.notifications.test_pipeline import send_due


@pytest.fixture
def open_survey(preference_survey):
    preference_survey.open_link = True
    preference_survey.save()
    return preference_survey


def answers(survey):
    def f(text):
        return f"q{Question.objects.get(survey=survey, text=text).pk}"

    return {
        f("May we e-mail you news and offers?"): "yes",
        f("When do you like to read our messages?"): "17:00-21:00",
        f("How often?"): "2",
    }


def _confirm_link(body: str) -> str:
    return re.search(r"https://crm\.example\.com(/s/confirm/[^\s]+/)", body).group(1)


def test_new_customer_answers_count_only_after_confirming_the_address(client, open_survey):
    url = reverse("survey-open", args=[open_survey.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {"who-first_name": "Kadri", "who-email": "Kadri@Example.ee", **answers(open_survey)})
    assert "change nothing" in response.content.decode()
    customer = Customer.objects.get(email="kadri@example.ee")
    assert Response.objects.get().awaiting_confirmation is True
    assert not ConsentEvent.objects.exists()  # no consent counts yet
    assert not Preference.objects.filter(customer=customer, window_start__isnull=False).exists()

    Notification.objects.update(send_at=timezone.now())
    send_due()
    confirm = _confirm_link(mail.outbox[-1].body)
    assert client.get(confirm).status_code == 200 and not ConsentEvent.objects.exists()  # GET changes nothing
    client.post(confirm)
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.channel, event.action, event.source) == ("email", "granted", "survey")
    assert Preference.objects.get(customer=customer).window_start.hour == 17
    client.post(confirm)  # twice: once only
    assert ConsentEvent.objects.count() == 1


def test_open_link_needs_a_contact_point_and_reveals_nothing_about_customers(client, open_survey, customer_factory):
    url = reverse("survey-open", args=[open_survey.slug])
    missing = client.post(url, answers(open_survey))
    assert missing.status_code == 200 and "so we can confirm it is you" in missing.content.decode()
    assert not Customer.objects.exists()
    existing = customer_factory(email="known@example.com")
    page = client.post(url, {"who-email": "known@example.com", **answers(open_survey)}).content.decode()
    new = client.post(url, {"who-email": "new@example.com", **answers(open_survey)}).content.decode()
    assert "change nothing" in page and "change nothing" in new
    assert not ConsentEvent.objects.filter(customer=existing).exists()  # a stranger cannot change her choices


def test_closed_or_non_open_surveys_are_not_reachable(client, preference_survey):
    assert client.get(reverse("survey-open", args=[preference_survey.slug])).status_code == 404
    assert client.get(reverse("survey-open", args=["nope"])).status_code == 404
    assert client.get("/s/confirm/forged/").status_code == 404
