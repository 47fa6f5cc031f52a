import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from campaigns.models import Segment
from campaigns.segments import segment_customers
from notifications.consent.services import consent_record
from notifications.models import Notification, Topic
from surveys.models import Invitation
from surveys.services import survey_invite, survey_invite_many

NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def russian_speakers(time_machine, customer_factory, preference_survey):
    """Six members: one invited before, one who said yes to e-mail, two who did not, two without e-mail."""
    time_machine.move_to(NOW, tick=False)
    invited_before, agreed, _silent, _silent_too = customer_factory.create_batch(4, language="ru")
    phone_only = customer_factory.create_batch(2, language="ru", email="")
    customer_factory(language="et")
    survey_invite(survey=preference_survey, customer=invited_before)
    consent_record(customer=agreed, channel="email", action="granted", source="survey")
    return Segment.objects.create(name="Russian speakers", rules={"languages": ["ru"]}), agreed, phone_only


def test_the_invitation_report_tells_queued_from_suppressed_by_reason(russian_speakers, preference_survey):
    segment, agreed, _phone_only = russian_speakers
    report = survey_invite_many(survey=preference_survey, customers=segment_customers(segment.rules))
    assert (report.planned, report.already_invited, report.invited, report.queued) == (6, 1, 5, 1)
    assert report.suppressed == {"no_consent": 2, "no_contact": 2}
    assert report.duplicates == 0 and not report.topic_inactive
    queued = Notification.objects.filter(
        topic__code="survey-invitation", status="scheduled", dedupe_key__contains="segment"
    )
    assert list(queued.values_list("customer", flat=True)) == [agreed.pk]
    again = survey_invite_many(survey=preference_survey, customers=segment_customers(segment.rules))
    assert (again.planned, again.already_invited, again.invited, again.queued, again.suppressed) == (6, 6, 0, 0, {})


def test_the_admin_says_how_many_were_queued_and_why_the_rest_were_not(
    staff_client, russian_speakers, preference_survey
):
    segment = russian_speakers[0]
    url = reverse("admin:surveys_survey_invite", args=[preference_survey.pk])
    response = staff_client.post(url, {"segment": segment.pk})
    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "6 customers in “Russian speakers”" in message
    assert "1 invitation queued" in message
    assert "4 invitations not sent" in message
    assert "no consent for this channel and topic: 2" in message
    assert "no contact point for this channel: 2" in message
    assert "1 already invited before" in message
    assert "planned" not in message


def test_a_switched_off_topic_invites_nobody_and_says_so(staff_client, russian_speakers, preference_survey):
    Topic.objects.filter(code="survey-invitation").update(is_active=False)
    segment = russian_speakers[0]
    report = survey_invite_many(survey=preference_survey, customers=segment_customers(segment.rules))
    assert report.topic_inactive and (report.invited, report.queued) == (0, 0)
    assert Invitation.objects.count() == 1  # only the one from before: the rest can be invited once it is on
    response = staff_client.post(
        reverse("admin:surveys_survey_invite", args=[preference_survey.pk]), {"segment": segment.pk}
    )
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "switched off" in message and "Survey invitation" in message


@pytest.mark.parametrize("rules", [{"bought_within_days": "soon"}, {"districts": ["Atlantis"]}, {"answers": 5}])
def test_inviting_a_segment_with_broken_rules_is_a_form_error(staff_client, preference_survey, customer, rules):
    segment = Segment.objects.create(name="Broken", rules=rules)
    response = staff_client.post(
        reverse("admin:surveys_survey_invite", args=[preference_survey.pk]), {"segment": segment.pk}
    )
    assert response.status_code == 200 and "Broken" in str(response.context["form"].errors)
    assert not Invitation.objects.exists()


def test_inviting_a_segment_written_with_district_names_works(
    staff_client, preference_survey, customer_factory, district_factory
):
    kalamaja = district_factory(name="Kalamaja", city="Tallinn")
    lives_there = customer_factory(home_district=kalamaja)
    customer_factory()
    segment = Segment.objects.create(name="Kalamaja", rules={"districts": ["Kalamaja"]})
    response = staff_client.post(
        reverse("admin:surveys_survey_invite", args=[preference_survey.pk]), {"segment": segment.pk}
    )
    assert response.status_code == 302
    assert list(Invitation.objects.values_list("customer", flat=True)) == [lives_there.pk]
