import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import Segment
from crm.segments import segment_customers
from notifications.services import consent_record, preference_update
from surveys.models import Answer, Question, Response, Survey
from tests.loyalty.factories import TierFactory, days, purchase


@pytest.fixture
def survey_with_answers(customer_factory):
    survey = Survey.objects.create(slug="depts", kind="preference", title="Departments")
    single = Question.objects.create(survey=survey, kind="single", text="Favourite hall?")
    multiple = Question.objects.create(survey=survey, kind="multiple", text="Topics?")
    women, men, unfinished = customer_factory.create_batch(3)
    for customer, hall, topics, completed in (
        (women, "women", ["promotion", "store-opening"], True),
        (men, "men", ["new-products"], True),
        (unfinished, "women", ["promotion"], False),
    ):
        response = Response.objects.create(
            survey=survey, customer=customer, completed_at=datetime.datetime.now(datetime.UTC) if completed else None
        )
        Answer.objects.create(response=response, question=single, value=hall)
        Answer.objects.create(response=response, question=multiple, value=topics)
    return single, multiple, women, men


def test_segment_by_survey_answers_single_and_multiple(survey_with_answers):
    single, multiple, women, men = survey_with_answers
    assert list(segment_customers({"answers": [{"question": single.pk, "value": "women"}]})) == [women]
    assert list(segment_customers({"answers": [{"question": multiple.pk, "value": "promotion"}]})) == [women]
    assert set(segment_customers({"answers": [{"question": multiple.pk, "value": "new-products"}]})) == {men}


def test_segment_by_district_language_badge_and_tier(customer_factory, district_factory, store_factory):
    kalamaja = district_factory(name="Kalamaja", city="Tallinn")
    lives, works, _elsewhere = customer_factory.create_batch(3, language="et")
    lives.home_district = kalamaja
    lives.save()
    preference_update(customer=works)
    works.preference.districts.add(kalamaja)
    assert set(segment_customers({"districts": [kalamaja.pk]})) == {lives, works}
    assert set(segment_customers({"districts": [kalamaja.pk], "languages": ["ru"]})) == set()
    consent_record(customer=lives, channel="email", action="granted", source="survey")
    assert list(segment_customers({"badges": ["email_only"]})) == [lives]
    TierFactory(code="gold", min_spend=Decimal("100"), earn_rate=Decimal("2"))
    purchase(works, store=store_factory(), amount="150")
    assert list(segment_customers({"tiers": ["gold"]})) == [works]


def test_segment_by_purchase_recency_frequency_and_value(customer_factory, store_factory):
    store = store_factory()
    loyal, lapsed, big = customer_factory.create_batch(3)
    now = datetime.datetime.now(datetime.UTC)
    for _ in range(3):
        purchase(loyal, store=store, amount="20", occurred_at=now - days(5))
    purchase(lapsed, store=store, amount="20", occurred_at=now - days(200))
    purchase(big, store=store, amount="500", occurred_at=now - days(40))
    assert set(segment_customers({"bought_within_days": 60})) == {loyal, big}
    assert list(segment_customers({"min_purchases_12m": 3})) == [loyal]
    assert list(segment_customers({"min_spend_12m": "300"})) == [big]


def test_segment_is_one_query_whatever_its_size(customer_factory, django_assert_num_queries, survey_with_answers):
    single = survey_with_answers[0]
    customer_factory.create_batch(20)
    rules = {
        "languages": ["en"],
        "bought_within_days": 30,
        "min_purchases_12m": 1,
        "answers": [{"question": single.pk, "value": "women"}],
    }
    with django_assert_num_queries(1):
        list(segment_customers(rules))


def test_bad_rules_are_refused_with_the_reason(staff_client):
    with pytest.raises(ValidationError, match="Unknown rules: shoe_size"):
        segment_customers({"shoe_size": 42})
    response = staff_client.post(reverse("admin:crm_segment_add"), {"name": "x", "rules": '{"answers": [{"q": 1}]}'})
    assert response.status_code == 200 and "question" in str(response.context["adminform"].form.errors)
    assert not Segment.objects.exists()


def test_segment_admin_shows_size_and_sample(staff_client, survey_with_answers):
    single = survey_with_answers[0]
    segment = Segment.objects.create(
        name="Women's hall fans", rules={"answers": [{"question": single.pk, "value": "women"}]}
    )
    response = staff_client.get(reverse("admin:crm_segment_change", args=[segment.pk]))
    assert response.status_code == 200 and str(survey_with_answers[2]) in response.content.decode()
