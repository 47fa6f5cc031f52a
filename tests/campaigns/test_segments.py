import datetime
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaigns.models import Segment
from campaigns.segments import segment_customers, validate_rules
from notifications.consent.services import consent_record
from notifications.preferences.services import preference_update
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
    with pytest.raises(ValidationError, match="question"):
        validate_rules({"answers": [{"q": 1}]})


def test_segment_admin_shows_size_and_sample(staff_client, survey_with_answers):
    single = survey_with_answers[0]
    segment = Segment.objects.create(
        name="Women's hall fans", rules={"answers": [{"question": single.pk, "value": "women"}]}
    )
    response = staff_client.get(reverse("admin:campaigns_segment_change", args=[segment.pk]))
    assert response.status_code == 200 and str(survey_with_answers[2]) in response.content.decode()


NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def test_recency_does_not_narrow_frequency_or_value(clock, customer_factory, store_factory):
    """Each rule looks at the ledger on its own: "bought lately" must not hide the older purchases."""
    store = store_factory()
    loyal, lapsed, occasional = customer_factory.create_batch(3)
    for ago, amount in ((200, "150"), (100, "40"), (10, "20")):
        purchase(loyal, store=store, amount=amount, occurred_at=clock - days(ago))
    for ago in (200, 100, 50):
        purchase(lapsed, store=store, amount="100", occurred_at=clock - days(ago))
    purchase(occasional, store=store, amount="500", occurred_at=clock - days(5))
    recent = {"bought_within_days": 30}
    assert set(segment_customers({**recent, "min_purchases_12m": 3}, now=clock)) == {loyal}
    assert set(segment_customers({**recent, "min_spend_12m": "200"}, now=clock)) == {loyal, occasional}
    assert set(segment_customers({**recent, "min_spend_12m": "211"}, now=clock)) == {occasional}
    assert set(segment_customers({**recent, "min_purchases_12m": 2, "min_spend_12m": "200"}, now=clock)) == {loyal}


def test_several_matching_districts_do_not_multiply_purchases(clock, customer_factory, district_factory, store_factory):
    kalamaja, pelgulinn = district_factory(name="Kalamaja"), district_factory(name="Pelgulinn")
    customer = customer_factory()
    preference_update(customer=customer)
    customer.preference.districts.add(kalamaja, pelgulinn)
    for ago in (20, 10):
        purchase(customer, store=store_factory(), amount="60", occurred_at=clock - days(ago))
    districts = {"districts": [kalamaja.pk, pelgulinn.pk]}
    assert list(segment_customers({**districts, "min_purchases_12m": 2}, now=clock)) == [customer]
    assert list(segment_customers({**districts, "min_purchases_12m": 3}, now=clock)) == []
    assert list(segment_customers({**districts, "min_spend_12m": "120"}, now=clock)) == [customer]
    assert list(segment_customers({**districts, "min_spend_12m": "121"}, now=clock)) == []


def test_a_refunded_purchase_is_neither_a_purchase_nor_spend(clock, customer_factory, store_factory):
    from loyalty.services import purchase_reverse

    store = store_factory()
    customer = customer_factory()
    purchase(customer, store=store, amount="50", occurred_at=clock - days(30))
    refunded = purchase(customer, store=store, amount="250", occurred_at=clock - days(20), receipt_id="R-REFUND")
    purchase_reverse(store=store, receipt_id="R-REFUND")
    assert refunded.points_earned
    assert list(segment_customers({"min_spend_12m": "50"}, now=clock)) == [customer]
    assert list(segment_customers({"min_spend_12m": "200"}, now=clock)) == []
    assert list(segment_customers({"min_purchases_12m": 2}, now=clock)) == []
    assert list(segment_customers({"bought_within_days": 25}, now=clock)) == []


@pytest.fixture
def kalamaja_people(customer_factory, district_factory):
    kalamaja = district_factory(name="Kalamaja", city="Tallinn")
    lives, works, _elsewhere = customer_factory.create_batch(3)
    lives.home_district = kalamaja
    lives.save()
    preference_update(customer=works)
    works.preference.districts.add(kalamaja)
    return kalamaja, {lives, works}


@pytest.mark.parametrize("written", ["Kalamaja", "kalamaja", " Kalamaja, Tallinn ", "id"])
def test_districts_by_name_or_id_save_and_count_in_the_admin(staff_client, kalamaja_people, written):
    kalamaja, people = kalamaja_people
    value = kalamaja.pk if written == "id" else written
    validate_rules({"districts": [value]})
    segment = Segment.objects.create(name="Kalamaja", rules={"districts": [value]})
    assert set(segment_customers(segment.rules)) == people
    page = staff_client.get(reverse("admin:campaigns_segment_change", args=[segment.pk])).content.decode()
    assert '<div class="readonly">2</div>' in page


def test_an_unknown_or_ambiguous_district_is_refused(kalamaja_people, district_factory):
    district_factory(name="Kesklinn", city="Tallinn")
    district_factory(name="Kesklinn", city="Tartu")
    with pytest.raises(ValidationError, match="Atlantis"):
        validate_rules({"districts": ["Atlantis"]})
    with pytest.raises(ValidationError) as error:
        validate_rules({"districts": ["Kesklinn"]})
    assert "Kesklinn, Tallinn" in str(error.value) and "Kesklinn, Tartu" in str(error.value)
    validate_rules({"districts": ["Kesklinn, Tartu"]})


@pytest.mark.parametrize(
    "rules",
    [
        '{"districts": "Kalamaja"}',
        '{"districts": [999999]}',
        '{"districts": [{"id": 1}]}',
        '{"languages": "et"}',
        '{"languages": ["klingon"]}',
        '{"badges": ["vip"]}',
        '{"tiers": ["platinum"]}',
        '{"gender": "robot"}',
        '{"bought_within_days": "soon"}',
        '{"bought_within_days": -5}',
        '{"min_purchases_12m": 2.5}',
        '{"min_spend_12m": "lots"}',
        '{"min_spend_12m": "NaN"}',
        '{"answers": 5}',
        '{"answers": [{"question": "twelve", "value": "x"}]}',
        '{"answers": [{"question": 999999, "value": "x"}]}',
        '{"store": "NOPE-1"}',
        '{"store": {"code": "NOPE-1"}}',
        '{"store": {"mode": "most_purchases"}}',
        '["districts"]',
    ],
)
def test_invalid_rule_values_are_refused_with_a_message_not_an_error(store_factory, rules):
    store_factory(code="TLN-01")
    with pytest.raises(ValidationError) as error:
        validate_rules(json.loads(rules))
    assert error.value.messages


def test_a_store_mode_must_be_known(store_factory):
    store_factory(code="TLN-01")
    with pytest.raises(ValidationError, match="sometimes"):
        validate_rules({"store": {"code": "TLN-01", "mode": "sometimes"}})


@pytest.mark.parametrize(
    "rules", [{"bought_within_days": "soon"}, {"shoe_size": 42}, {"answers": 5}, {"districts": ["Atlantis"]}]
)
def test_a_segment_saved_with_bad_rules_shows_the_problem_not_an_error_page(staff_client, rules):
    segment = Segment.objects.create(name="Broken", rules=rules)
    response = staff_client.get(reverse("admin:campaigns_segment_change", args=[segment.pk]))
    assert response.status_code == 200 and "Rules need fixing" in response.content.decode()


@pytest.fixture
def two_stores(store_factory):
    return store_factory(code="TLN-01"), store_factory(code="TRT-01")


def test_customers_of_a_store_by_most_purchases_in_12_months(clock, customer_factory, two_stores):
    tallinn, tartu = two_stores
    mostly_tallinn, torn, mostly_tartu, long_ago_tallinn, _never = customer_factory.create_batch(5)
    visits = {
        mostly_tallinn: [(tallinn, 40), (tallinn, 30), (tartu, 20), (tallinn, 300)],
        torn: [(tallinn, 40), (tallinn, 30), (tartu, 20), (tartu, 10)],
        mostly_tartu: [(tallinn, 5), (tartu, 30), (tartu, 20)],
        long_ago_tallinn: [(tallinn, 400), (tallinn, 380), (tallinn, 370), (tartu, 100)],
    }
    for customer, bought in visits.items():
        for store, ago in bought:
            purchase(customer, store=store, amount="10", occurred_at=clock - days(ago))
    assert set(segment_customers({"store": "TLN-01"}, now=clock)) == {mostly_tallinn, torn}
    most = {"code": "trt-01", "mode": "most_purchases"}
    assert set(segment_customers({"store": most}, now=clock)) == {torn, mostly_tartu, long_ago_tallinn}


def test_customers_of_a_store_by_last_purchase(clock, customer_factory, two_stores):
    tallinn, tartu = two_stores
    back_in_tallinn, moved_to_tartu, both_at_once, _never = customer_factory.create_batch(4)
    for customer, bought in {
        back_in_tallinn: [(tartu, 90), (tartu, 60), (tallinn, 400), (tallinn, 3)],
        moved_to_tartu: [(tallinn, 90), (tallinn, 60), (tartu, 30)],
        both_at_once: [(tallinn, 8), (tartu, 8)],
    }.items():
        for store, ago in bought:
            purchase(customer, store=store, amount="10", occurred_at=clock - days(ago))
    last = {"code": "TLN-01", "mode": "last_purchase"}
    assert set(segment_customers({"store": last}, now=clock)) == {back_in_tallinn, both_at_once}
    last["code"] = tartu.pk
    assert set(segment_customers({"store": last}, now=clock)) == {moved_to_tartu, both_at_once}
    # Later purchases than the evaluation time do not count (a segment evaluated "as of" a day).
    as_of = clock - days(5)
    assert set(segment_customers({"store": last}, now=as_of)) == {back_in_tallinn, moved_to_tartu, both_at_once}


def test_every_rule_together_is_still_one_query(clock, customer_factory, two_stores, django_assert_num_queries):
    rules = {
        "districts": ["Kalamaja", 1],
        "languages": ["en"],
        "badges": ["full"],
        "tiers": ["gold"],
        "gender": "female",
        "bought_within_days": 30,
        "min_purchases_12m": 2,
        "min_spend_12m": "100",
        "store": {"code": "TLN-01", "mode": "last_purchase"},
        "answers": [{"question": 1, "value": "women"}],
    }
    with django_assert_num_queries(1):
        list(segment_customers(rules, now=clock))
    with django_assert_num_queries(1):
        list(segment_customers({**rules, "store": "TLN-01"}, now=clock))


def _plan(queryset) -> str:
    from django.db import connection

    sql, params = queryset.query.get_compiler(using="default").as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN SELECT COUNT(*) FROM ({sql}) counted", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ({"min_purchases_12m": 2}, {"regular"}),
        ({"min_spend_12m": "100"}, {"big"}),
        # nothing spent is enough: no account, and a refund this year of last year's sale (which the
        # rolling year had already dropped, so it takes nothing off)
        ({"min_spend_12m": "0"}, {"regular", "big", "refunded", "never"}),
        ({"min_purchases_12m": 1, "min_spend_12m": "60"}, {"regular", "big"}),
    ],
)
def test_frequency_and_spend_over_everyone_never_read_the_ledger(
    clock, customer_factory, store_factory, django_assert_num_queries, rules, expected
):
    """Over a million customers any ledger aggregate costs seconds: the rules compare the figures
    each account keeps, in one query that does not touch the ledger at all."""
    from loyalty.services import purchase_reverse

    store = store_factory()
    people = dict(zip(("regular", "big", "refunded", "never"), customer_factory.create_batch(4), strict=True))
    for ago in (40, 20, 5):
        purchase(people["regular"], store=store, amount="30", occurred_at=clock - days(ago))
    purchase(people["big"], store=store, amount="400", occurred_at=clock - days(100))
    purchase(people["refunded"], store=store, amount="80", occurred_at=clock - days(400), receipt_id="R-OLD")
    purchase_reverse(store=store, receipt_id="R-OLD")
    everyone = segment_customers(rules, now=clock)
    assert "loyalty_bonustransaction" not in str(everyone.query)
    with django_assert_num_queries(1):
        chosen = set(everyone.values_list("pk", flat=True))
    assert chosen == {people[name].pk for name in expected}


def test_recency_reads_the_ledger_only_row_by_row_for_the_few_it_must(clock, customer_factory, store_factory):
    """The ledger subquery is tied to the account row, so the database cannot swap it for one hashed
    pass over the window's whole ledger (which cost a second at a million customers); the only
    hashed subquery is the refunds'."""
    import re

    from loyalty.services import purchase_reverse

    store = store_factory()
    for customer in customer_factory.create_batch(3):
        purchase(customer, store=store, amount="30", occurred_at=clock - days(3), receipt_id=f"R-{customer.pk}")
    purchase_reverse(store=store, receipt_id=f"R-{customer.pk}")
    plan = _plan(segment_customers({"bought_within_days": 30, "min_purchases_12m": 1}, now=clock))
    assert sorted(re.findall(r"(hashed )?SubPlan \d+\)", plan)) == ["", "hashed "], plan


def test_frequency_and_spend_are_the_accounts_rolling_year_until_the_nightly_recount(
    time_machine, customer_factory, store_factory
):
    """The rules read the figures the account keeps: a sale that left the year still counts until
    the night's recount drops it (up to a day stale), then it does not."""
    from loyalty.models import BonusAccount
    from loyalty.services import rolling_year_recount

    time_machine.move_to(NOW, tick=False)
    store = store_factory()
    customer, _never = customer_factory.create_batch(2)
    purchase(customer, store=store, amount="150", occurred_at=NOW - days(360))
    purchase(customer, store=store, amount="60", occurred_at=NOW - days(10))
    twice, much = {"min_purchases_12m": 2}, {"min_spend_12m": "200"}
    assert list(segment_customers(twice)) == list(segment_customers(much)) == [customer]

    time_machine.move_to(NOW + days(10), tick=False)  # the first sale is 370 days old now
    assert list(segment_customers(twice)) == list(segment_customers(much)) == [customer]
    assert rolling_year_recount() == 1
    assert list(segment_customers(twice)) == list(segment_customers(much)) == []
    assert list(segment_customers({"min_purchases_12m": 1, "min_spend_12m": "60"})) == [customer]

    # the kept figures, not the ledger, decide
    BonusAccount.objects.filter(customer=customer).update(purchases_12m=7, spend_12m=Decimal("999"))
    assert list(segment_customers({"min_purchases_12m": 7, "min_spend_12m": "999"})) == [customer]


def test_recency_is_exact_whatever_the_latest_purchase_kept_on_the_account(clock, customer_factory, store_factory):
    """The account's latest purchase counts refunded sales too; the rule still asks for a purchase
    in the window that no refund undid, on or before the evaluation time."""
    from loyalty.services import purchase_reverse

    store = store_factory()
    only_refunded, refunded_latest, kept, later = customer_factory.create_batch(4)
    purchase(only_refunded, store=store, amount="40", occurred_at=clock - days(100))
    purchase(only_refunded, store=store, amount="40", occurred_at=clock - days(5), receipt_id="R-1")
    purchase(refunded_latest, store=store, amount="40", occurred_at=clock - days(20))
    purchase(refunded_latest, store=store, amount="40", occurred_at=clock - days(2), receipt_id="R-2")
    for receipt in ("R-1", "R-2"):
        purchase_reverse(store=store, receipt_id=receipt)
    purchase(kept, store=store, amount="40", occurred_at=clock - days(25))
    purchase(later, store=store, amount="40", occurred_at=clock - days(25))
    purchase(later, store=store, amount="40", occurred_at=clock - days(1))

    assert set(segment_customers({"bought_within_days": 30}, now=clock)) == {refunded_latest, kept, later}
    assert set(segment_customers({"bought_within_days": 10}, now=clock)) == {later}
    # as of four days ago: the latest purchase kept on the account comes after that
    as_of = clock - days(4)
    assert set(segment_customers({"bought_within_days": 10}, now=as_of)) == set()
    assert set(segment_customers({"bought_within_days": 30}, now=as_of)) == {refunded_latest, kept, later}


def test_a_segment_count_is_one_query(clock, customer_factory, store_factory, django_assert_num_queries):
    store = store_factory()
    for customer in customer_factory.create_batch(3, language="et"):
        purchase(customer, store=store, amount="120", occurred_at=clock - days(3))
    rules = {"languages": ["et"], "bought_within_days": 30, "min_purchases_12m": 1, "min_spend_12m": "100"}
    with django_assert_num_queries(1):
        assert segment_customers(rules, now=clock).count() == 3
