"""The segment rules added for the builder, each against factory data, and AND/OR groups."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.segments import segment_customers, validate_rules
from crm.models import Tag
from notifications.consent.services import consent_record
from notifications.preferences.services import preference_update
from tests.loyalty.factories import TierFactory, days, purchase

NOW = datetime.datetime(2025, 3, 12, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def members(rules, now=NOW):
    return set(segment_customers(rules, now=now))


def test_district_home_work_and_frequent(customer_factory, district_factory, store_factory):
    kalamaja, kesklinn = district_factory(name="Kalamaja"), district_factory(name="Kesklinn")
    lives, works, shops, shops_elsewhere_more = customer_factory.create_batch(4)
    lives.home_district = kalamaja
    lives.save()
    preference_update(customer=works)
    works.preference.districts.add(kalamaja)
    there, elsewhere = store_factory(district=kalamaja), store_factory(district=kesklinn)
    for _ in range(2):
        purchase(shops, store=there, occurred_at=NOW - days(10))
    purchase(shops, store=elsewhere, occurred_at=NOW - days(10))
    purchase(shops_elsewhere_more, store=there, occurred_at=NOW - days(10))
    for _ in range(2):
        purchase(shops_elsewhere_more, store=elsewhere, occurred_at=NOW - days(10))
    assert members({"districts_home": [kalamaja.pk]}) == {lives}
    assert members({"districts_work": [kalamaja.pk]}) == {works}
    assert members({"districts_frequent": [kalamaja.pk]}) == {works, shops}
    assert members({"districts_frequent": [kesklinn.pk]}) == {shops_elsewhere_more}
    # A year later the purchases no longer make anyone a regular of the district.
    assert members({"districts_frequent": [kalamaja.pk]}, now=NOW + days(400)) == {works}


def test_age_band_and_birthday_month(customer_factory):
    eighteen_today = customer_factory(birth_date=datetime.date(2007, 3, 12))
    seventeen = customer_factory(birth_date=datetime.date(2007, 3, 13))
    thirty_four = customer_factory(birth_date=datetime.date(1990, 3, 13))
    thirty_five = customer_factory(birth_date=datetime.date(1990, 3, 12))
    customer_factory(birth_date=None)
    assert members({"age": {"min": 18, "max": 34}}) == {eighteen_today, thirty_four}
    assert members({"age": {"max": 17}}) == {seventeen}
    assert members({"age": {"min": 35}}) == {thirty_five}
    december = customer_factory(birth_date=datetime.date(1980, 12, 24))
    assert members({"birth_months": [12, 1]}) == {december}
    assert members({"birth_months": [3]}) == {eighteen_today, seventeen, thirty_four, thirty_five}


def test_balance_band(customer_factory, store_factory):
    store = store_factory()
    rich, poor, no_account = customer_factory.create_batch(3)
    purchase(rich, store=store, amount="500", occurred_at=NOW - days(1))
    purchase(poor, store=store, amount="5", occurred_at=NOW - days(1))
    rich.bonus_account.refresh_from_db()
    poor.bonus_account.refresh_from_db()
    assert rich.bonus_account.balance > 100 > poor.bonus_account.balance
    assert members({"balance": {"min": 100}}) == {rich}
    assert members({"balance": {"max": 100}}) == {poor, no_account}
    assert members({"balance": {"min": 1, "max": 100}}) == ({poor} if poor.bonus_account.balance else set())


def test_rfm_score_bands(customer_factory, store_factory):
    store = store_factory()
    champion, lapsed, never = customer_factory.create_batch(3)
    for _ in range(12):
        purchase(champion, store=store, amount="100", occurred_at=NOW - days(3))
    purchase(lapsed, store=store, amount="20", occurred_at=NOW - days(200))
    assert members({"rfm": {"recency": [5, 5], "frequency": [5, 5], "monetary": [5, 5]}}) == {champion}
    assert members({"rfm": {"recency": [2, 2]}}) == {lapsed}
    assert members({"rfm": {"recency": [1, 2]}}) == {lapsed, never}
    assert members({"rfm": {"frequency": [1, 1], "monetary": [1, 1]}}) == {lapsed, never}
    assert members({"rfm": {"monetary": [2, 4]}}) == set()


def test_consent_per_channel(customer_factory):
    email_only, both, withdrew, stopped_sms = customer_factory.create_batch(4)
    consent_record(customer=email_only, channel="email", action="granted", source="survey")
    for channel in ("email", "sms"):
        consent_record(customer=both, channel=channel, action="granted", source="survey")
        consent_record(customer=stopped_sms, channel=channel, action="granted", source="survey")
    consent_record(customer=withdrew, channel="email", action="granted", source="survey")
    consent_record(customer=withdrew, channel="email", action="withdrawn", source="unsubscribe")
    consent_record(customer=stopped_sms, channel="sms", action="withdrawn", source="keyword", scope="channel")
    assert members({"consent": ["email"]}) == {email_only, both, stopped_sms}
    assert members({"consent": ["email", "sms"]}) == {both}
    assert members({"consent": ["postal"]}) == set()


def test_tags(customer_factory):
    vip, press = Tag.objects.create(name="vip"), Tag.objects.create(name="press")
    a, b, _c = customer_factory.create_batch(3)
    a.tags.add(vip, press)
    b.tags.add(press)
    assert members({"tags": ["vip"]}) == {a}
    assert members({"tags": ["vip", "press"]}) == {a, b}


def test_any_and_all_groups_nest(customer_factory):
    et_young = customer_factory(language="et", birth_date=datetime.date(2000, 1, 1))
    et_old = customer_factory(language="et", birth_date=datetime.date(1950, 1, 1))
    ru_young = customer_factory(language="ru", birth_date=datetime.date(2000, 1, 1))
    young = {"age": {"max": 30}}
    assert members({"any": [{"languages": ["ru"]}, {"age": {"min": 60}}]}) == {et_old, ru_young}
    assert members({"languages": ["et"], "any": [young, {"birth_months": [7]}]}) == {et_young}
    assert members({"all": [{"languages": ["et"]}, young]}) == {et_young}
    assert members({"any": [{"all": [{"languages": ["et"]}, young]}, {"languages": ["ru"]}]}) == {et_young, ru_young}


def test_every_new_rule_in_groups_is_still_one_query(customer_factory, district_factory, django_assert_num_queries):
    district = district_factory()
    Tag.objects.create(name="vip")
    customer_factory.create_batch(5)
    rules = {
        "any": [
            {"districts_frequent": [district.pk], "age": {"min": 18}, "consent": ["email"]},
            {"rfm": {"recency": [3, 5], "monetary": [2, 5]}, "balance": {"min": 10}, "tags": ["vip"]},
            {"all": [{"birth_months": [1]}, {"districts_work": [district.pk]}, {"districts_home": [district.pk]}]},
        ]
    }
    with django_assert_num_queries(1):
        list(segment_customers(rules, now=NOW))


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"age": {"min": 40, "max": 30}}, "minimum is above the maximum"),
        ({"age": {"min": "old"}}, "“age” must look like"),
        ({"balance": {"least": 5}}, "“balance” must look like"),
        ({"birth_months": [13]}, "“birth_months”"),
        ({"rfm": {"recency": [5, 1]}}, "“rfm”"),
        ({"rfm": {"loyalty": [1, 5]}}, "“rfm”"),
        ({"consent": ["pigeon"]}, "“consent”"),
        ({"tags": ["nope"]}, "Unknown tags: nope"),
        ({"any": {"languages": ["et"]}}, "“any” must be a list"),
        ({"any": [{"languages": ["klingon"]}]}, "klingon"),
        ({"all": [{"districts_home": ["Atlantis"]}]}, "Atlantis"),
        ({"districts_work": "Kalamaja"}, "“districts_work”"),
    ],
)
def test_bad_new_rules_are_refused_with_the_reason(db, rules, message):
    with pytest.raises(ValidationError) as error:
        validate_rules(rules)
    assert message in " ".join(error.value.messages)


RULE_POOL = [
    {"languages": ["et"]},
    {"languages": ["ru"]},
    {"age": {"max": 30}},
    {"age": {"min": 50}},
    {"birth_months": [1, 2, 3]},
    {"tiers": ["gold"]},
    {"rfm": {"monetary": [3, 5]}},
    {"balance": {"min": 50}},
]


@pytest.fixture
def mixed_people(customer_factory, store_factory):
    TierFactory(code="gold", min_spend=Decimal("300"), earn_rate=Decimal("1"))
    store = store_factory()
    people = []
    for i, (language, year, month) in enumerate(
        [("et", 2000, 1), ("ru", 1960, 2), ("et", 1970, 6), ("en", 2001, 3), ("ru", 1999, 11), ("et", None, None)]
    ):
        birth = datetime.date(year, month, 1) if year else None
        person = customer_factory(language=language, birth_date=birth)
        if i % 2 == 0:
            purchase(person, store=store, amount=str(150 * (i + 1)), occurred_at=NOW - days(5))
        people.append(person)
    return people


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.sampled_from(RULE_POOL), second=st.sampled_from(RULE_POOL))
def test_or_is_the_union_and_and_is_the_intersection(mixed_people, first, second):
    one, other = members(first), members(second)
    assert members({"any": [first, second]}) == one | other
    assert members({"all": [first, second]}) == one & other
