"""A change of mind writes in bulk: one INSERT for its consent events, the badge once, one re-plan.

Given a customer who agreed to news and offers by e-mail and SMS, with messages waiting in the
outbox; when they unsubscribe from everything, stop SMS, save the preference centre with several
topics changed, or answer the preference survey; then the change costs a fixed, small number of
queries (at most 10 for the write, however many topics and channels it touches), and its effects
are all there: the events, the badge, the waiting rows re-planned.
"""

import datetime

import pytest
from django.urls import reverse

from crm.links.tokens import customer_token
from notifications.consent.book import MARKETING_CHANNELS, ConsentBook, badge_for
from notifications.consent.services import Evidence
from notifications.delivery.rendering import preferences_url, unsubscribe_urls
from notifications.models import Channel, ConsentEvent, Notification, Preference, Topic
from notifications.preferences.services import survey_answers_apply
from notifications.public.preference_centre import preferences_save, unsubscribe_apply
from notifications.selectors import marketing_topics
from tests.notifications.test_pipeline import grant

NOON = datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.UTC)
BASE = "https://crm.example.com"
WRITE_QUERIES = 10
WORDINGS = {"marketing_email": "E-mail", "marketing_sms": "SMS", "marketing_messenger": "Messenger", "topics": "Topics"}


@pytest.fixture
def waiting(customer_factory, time_machine):
    """A customer with e-mail and SMS marketing on and six messages waiting for tomorrow."""
    time_machine.move_to(NOON, tick=False)
    customer = customer_factory(phone="+37251234567", language="en", time_zone="Europe/Tallinn")
    grant(customer, Channel.EMAIL)
    grant(customer, Channel.SMS)
    tomorrow = NOON + datetime.timedelta(days=1)
    for code in ("promotion", "new-products", "bonus-credited"):
        for channel in (Channel.EMAIL, Channel.SMS):
            Notification.objects.create(
                customer=customer,
                topic=Topic.objects.get(code=code),
                channel=channel,
                context={"text": "x"},
                send_at=tomorrow,
                deadline=tomorrow + datetime.timedelta(days=3),
                dedupe_key=f"{code}:{channel}:{customer.pk}:{channel}",  # an occasion of its own
            )
    return customer


def _badge_is_what_the_events_say(customer) -> None:
    book = ConsentBook.for_customers([customer.pk])
    assert Preference.objects.get(customer=customer).badge == badge_for(book, customer.pk)


def _marketing_waiting(customer) -> set[str]:
    rows = Notification.objects.filter(customer=customer, topic__kind="marketing", status__in=["scheduled", "deferred"])
    return set(rows.values_list("channel", flat=True))


def test_unsubscribe_from_everything_writes_in_bulk(waiting, django_assert_max_num_queries):
    promotion = Topic.objects.get(code="promotion")
    evidence = Evidence("203.0.113.9", "pytest", ConsentEvent.Source.UNSUBSCRIBE)
    with django_assert_max_num_queries(WRITE_QUERIES):
        unsubscribe_apply(
            customer=waiting, topic=promotion, channel="email", choice="everything", evidence=evidence, wording="All"
        )
    assert Preference.objects.get(customer=waiting).badge == "service_only"
    _badge_is_what_the_events_say(waiting)
    assert _marketing_waiting(waiting) == set()
    assert Notification.objects.filter(customer=waiting, topic__code="bonus-credited", status="scheduled").count() == 2


def test_no_more_by_sms_writes_in_bulk(waiting, django_assert_max_num_queries):
    promotion = Topic.objects.get(code="promotion")
    evidence = Evidence("203.0.113.9", "pytest", ConsentEvent.Source.UNSUBSCRIBE)
    with django_assert_max_num_queries(WRITE_QUERIES):
        unsubscribe_apply(
            customer=waiting, topic=promotion, channel="sms", choice="channel", evidence=evidence, wording="No SMS"
        )
    assert Preference.objects.get(customer=waiting).badge == "email_only"
    _badge_is_what_the_events_say(waiting)
    assert _marketing_waiting(waiting) == {"email"}


def test_saving_the_preference_centre_with_several_topics_changed_writes_in_bulk(
    waiting, django_assert_max_num_queries
):
    codes = [topic.code for topic in marketing_topics()]
    data = {
        "marketing_email": True,
        "marketing_sms": False,  # "no more by SMS", and four topics off on every channel
        "topics": ["promotion", "new-products"],
        "window_start": datetime.time(10),
        "window_end": datetime.time(18),
        "weekdays": [1],
        "language": "et",
        "paused_until": None,
        "max_email": 1,
        "max_sms": 1,
    }
    assert len(codes) - 2 >= 4
    evidence = Evidence("203.0.113.9", "pytest", ConsentEvent.Source.PREFERENCE_PAGE)
    with django_assert_max_num_queries(WRITE_QUERIES):
        changes = preferences_save(customer=waiting, data=data, evidence=evidence, wordings=WORDINGS)
    assert len(changes) >= 8
    events = ConsentEvent.objects.filter(customer=waiting, source="preference_page")
    assert events.filter(scope="topic", action="withdrawn").count() == (len(codes) - 2) * len(MARKETING_CHANNELS)
    assert all(event.wording for event in events)
    _badge_is_what_the_events_say(waiting)
    assert Preference.objects.get(customer=waiting).badge == "email_only"
    preference = Preference.objects.get(customer=waiting)
    assert (preference.window_start, preference.weekdays, preference.language) == (datetime.time(10), [1], "et")
    assert _marketing_waiting(waiting) == {"email"}


def test_survey_answers_apply_in_bulk(waiting, django_assert_max_num_queries):
    codes = [topic.code for topic in marketing_topics()]
    answers = [
        ("consent_email", True, "May we e-mail you news and offers?"),
        ("consent_sms", False, "May we text you news and offers?"),
        ("topics", ["promotion", "new-products"], "Which topics interest you?"),
        ("time_window", "17:00-21:00", "When?"),
        ("weekdays", ["1", "3"], "Which days?"),
        ("frequency", "1", "How often?"),
        ("preferred_channel", "email", "Bonus messages by?"),
    ]
    evidence = Evidence("203.0.113.9", "pytest", ConsentEvent.Source.SURVEY)
    with django_assert_max_num_queries(WRITE_QUERIES):
        survey_answers_apply(customer=waiting, answers=answers, evidence=evidence)
    events = ConsentEvent.objects.filter(customer=waiting, source="survey")
    assert events.filter(scope="marketing", channel="sms", action="withdrawn").count() == 1
    assert events.filter(scope="topic", action="withdrawn").count() == (len(codes) - 2) * len(MARKETING_CHANNELS)
    assert events.filter(scope="topic", action="granted").count() == 2  # on e-mail, the channel left on
    _badge_is_what_the_events_say(waiting)
    preference = Preference.objects.get(customer=waiting)
    assert (preference.window_start, preference.weekdays, preference.max_per_week["email"]) == (
        datetime.time(17),
        [1, 3],
        1,
    )
    assert preference.preferred_channels["bonus-credited"] == "email"
    assert _marketing_waiting(waiting) == {"email"}


# The same changes through the customer pages: the write above, plus reading the link's customer,
# message and preferences, and rendering the result (what will still come, in words).
PAGE_QUERIES = 13


def test_the_unsubscribe_page_posts_everything_in_few_queries(client, waiting, django_assert_max_num_queries):
    promo = Notification.objects.get(customer=waiting, topic__code="promotion", channel="email")
    url = unsubscribe_urls(promo)[0].replace(BASE, "")
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.post(url, {"choice": "everything"})
    assert response.status_code == 200 and _marketing_waiting(waiting) == set()
    _badge_is_what_the_events_say(waiting)


def test_the_unsubscribe_page_posts_no_more_sms_in_few_queries(client, waiting, django_assert_max_num_queries):
    promo = Notification.objects.get(customer=waiting, topic__code="promotion", channel="sms")
    url = unsubscribe_urls(promo)[0].replace(BASE, "")
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.post(url, {"choice": "channel"})
    assert response.status_code == 200 and _marketing_waiting(waiting) == {"email"}
    _badge_is_what_the_events_say(waiting)


def test_the_preference_centre_posts_in_few_queries(client, waiting, django_assert_max_num_queries):
    url = preferences_url(waiting).replace(BASE, "")
    form = client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value not in (None, "", [], False)}
    data.update(topics=["promotion"], window_start="10:00:00", window_end="18:00:00", weekdays=["1"], language="et")
    data.pop("marketing_sms")
    with django_assert_max_num_queries(16):  # the districts (read to check and to show), the send-time priors
        response = client.post(url, data)
    assert response.status_code == 200 and len(response.context["changes"]) >= 6
    assert _marketing_waiting(waiting) == {"email"}
    _badge_is_what_the_events_say(waiting)


def test_the_survey_page_applies_answers_in_few_queries(client, waiting, django_assert_max_num_queries):
    from surveys.models import Question, Survey

    survey = Survey.objects.create(slug="prefs", kind=Survey.Kind.PREFERENCE, title="Tell us")
    consent = Question.objects.create(
        survey=survey, position=0, kind="consent", text="E-mail?", binding="consent_email", required=True
    )
    topics = Question.objects.create(survey=survey, position=1, kind="multiple", text="Topics?", binding="topics")
    url = reverse("survey", args=[customer_token("survey", waiting, s=survey.slug)])
    with django_assert_max_num_queries(24):  # the survey, its questions, the response and its answers too
        response = client.post(url, {f"q{consent.pk}": "yes", f"q{topics.pk}": ["promotion"]})
    assert response.status_code == 200
    _badge_is_what_the_events_say(waiting)
