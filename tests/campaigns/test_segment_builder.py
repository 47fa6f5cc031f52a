"""The segment builder: rule rows ⇄ rules, the admin form with no JSON, the preview and the live count."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns.models import Segment
from campaigns.segment_builder import SegmentBuilderForm, rules_to_rows
from crm.models import Tag
from notifications.preferences.services import preference_update
from surveys.models import Answer, Question, Response, Survey
from tests.loyalty.factories import TierFactory


def post_data(rows, *, name="Segment", **extra) -> dict:
    """The form's POST data for rows given as initial dicts (lists become several values)."""
    data = {
        "name": name,
        "rule-TOTAL_FORMS": str(len(rows)),
        "rule-INITIAL_FORMS": "0",
        "rule-MIN_NUM_FORMS": "0",
        "rule-MAX_NUM_FORMS": "1000",
        **extra,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            if key.startswith("_") or value is None:
                continue
            data[f"rule-{i}-{key}"] = [str(v) for v in value] if isinstance(value, list) else str(value)
    return data


@pytest.fixture
def world(db, district_factory, store_factory):
    kalamaja = district_factory(name="Kalamaja")
    store = store_factory(code="TLN-01", district=kalamaja)
    TierFactory(code="gold", min_spend=Decimal("300"), earn_rate=Decimal("1"))
    Tag.objects.create(name="vip")
    survey = Survey.objects.create(slug="halls", kind="preference", title="Halls")
    hall = Question.objects.create(
        survey=survey,
        kind="single",
        text="Favourite hall?",
        choices=[{"value": "women", "label": "Women's hall"}, {"value": "men", "label": "Men's hall"}],
    )
    return {"district": kalamaja, "store": store, "question": hall}


def every_rule(world) -> list[dict]:
    district, hall = world["district"].pk, world["question"].pk
    return [
        {"districts": [district]},
        {"districts_home": [district], "languages": ["et", "ru"]},
        {"districts_work": [district], "districts_frequent": [district]},
        {"store": {"code": "TLN-01", "mode": "last_purchase"}, "gender": "female"},
        {"age": {"min": 18, "max": 34}, "birth_months": [12, 1], "tiers": ["gold"]},
        {"balance": {"min": 100}, "rfm": {"recency": [4, 5], "monetary": [2, 5]}},
        {"bought_within_days": 90, "min_purchases_12m": 3, "min_spend_12m": "200.00"},
        {"consent": ["email", "sms"], "badges": ["full"], "tags": ["vip"]},
        {"answers": [{"question": hall, "value": "women"}]},
        {"any": [{"languages": ["et"], "tiers": ["gold"]}, {"age": {"max": 25}}, {"tags": ["vip"]}]},
    ]


def test_rules_to_rows_to_rules_round_trip(world):
    for rules in every_rule(world):
        rows = rules_to_rows(rules)
        assert rows is not None, rules
        form = SegmentBuilderForm(post_data(rows))
        assert form.is_valid(), (rules, form.errors, [f.errors for f in form.rows.forms])
        assert form.cleaned_data["rules"] == rules


def test_rules_the_builder_cannot_show_are_kept_untouched(staff_client, world):
    nested = {"all": [{"any": [{"languages": ["et"]}, {"tags": ["vip"]}]}]}
    assert rules_to_rows(nested) is None
    segment = Segment.objects.create(name="Hand-written", rules=nested)
    page = staff_client.get(reverse("admin:campaigns_segment_change", args=[segment.pk]))
    assert "cannot be shown as rows" in page.content.decode()
    response = staff_client.post(
        reverse("admin:campaigns_segment_change", args=[segment.pk]), post_data([], name="Renamed")
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert segment.name == "Renamed" and segment.rules == nested


def test_adding_a_segment_through_the_rows_stores_the_rules(staff_client, world):
    rows = [
        {"group": "A", "kind": "district", "district_mode": "districts_home", "districts": [world["district"].pk]},
        {"group": "A", "kind": "age", "low": 18, "high": 30},
        {"group": "B", "kind": "tier", "tiers": ["gold"]},
        {"group": "B", "kind": "answer", "answer": f"{world['question'].pk}:women"},
        {"group": "A", "kind": ""},  # an empty extra row is ignored
    ]
    response = staff_client.post(reverse("admin:campaigns_segment_add"), post_data(rows, name="Young locals or gold"))
    assert response.status_code == 302, response.context["adminform"].form.rows.errors
    assert Segment.objects.get().rules == {
        "any": [
            {"districts_home": [world["district"].pk], "age": {"min": 18, "max": 30}},
            {"tiers": ["gold"], "answers": [{"question": world["question"].pk, "value": "women"}]},
        ]
    }


def test_the_add_page_shows_choices_by_name_and_no_json(staff_client, world):
    page = staff_client.get(reverse("admin:campaigns_segment_add")).content.decode()
    assert "Kalamaja, Tallinn" in page and "Halls › Favourite hall? › Women&#x27;s hall" in page
    assert 'name="rules"' not in page and "{&quot;" not in page


def test_editing_shows_the_stored_rules_as_rows_and_saves_them_back(staff_client, world):
    rules = every_rule(world)[-1]
    segment = Segment.objects.create(name="Either", rules=rules)
    url = reverse("admin:campaigns_segment_change", args=[segment.pk])
    response = staff_client.get(url)
    rows = response.context["adminform"].form.rows
    shown = sorted((f["group"].value(), f["kind"].value()) for f in rows.initial_forms)
    assert shown == [("A", "language"), ("A", "tier"), ("B", "age"), ("C", "tag")]
    assert '<option value="gold" selected>' in response.content.decode()
    # Change one row (group C: vip → none; the age row's bound) and save.
    data = post_data(rules_to_rows(rules), name="Either")
    data["rule-2-high"] = "40"
    data["rule-3-DELETE"] = "on"
    assert staff_client.post(url, data).status_code == 302
    segment.refresh_from_db()
    assert segment.rules == {"any": [{"languages": ["et"], "tiers": ["gold"]}, {"age": {"max": 40}}]}


def test_row_mistakes_are_shown_on_the_rows(staff_client, world):
    add = reverse("admin:campaigns_segment_add")
    rows = [
        {"group": "A", "kind": "language", "languages": ["et"]},
        {"group": "A", "kind": "language", "languages": ["ru"]},
    ]
    response = staff_client.post(add, post_data(rows))
    assert response.status_code == 200 and "two rows of the same kind" in response.content.decode()
    response = staff_client.post(add, post_data([{"group": "A", "kind": "age", "low": 40, "high": 30}]))
    assert "upper bound is below" in response.content.decode()
    response = staff_client.post(add, post_data([{"group": "A", "kind": "district"}]))
    assert "Choose at least one." in response.content.decode()
    assert not Segment.objects.exists()


def test_preview_shows_the_count_and_sample_of_unsaved_rules(staff_client, world, customer_factory):
    et = customer_factory.create_batch(12, language="et", home_district=world["district"])
    customer_factory(language="ru")
    rows = [{"group": "A", "kind": "language", "languages": ["et"]}]
    response = staff_client.post(reverse("admin:campaigns_segment_add"), post_data(rows, _preview="Preview"))
    page = response.content.decode()
    assert response.status_code == 200 and not Segment.objects.exists()
    assert "12 customers match these rules now." in page
    sample = response.context["preview"]["sample"]
    assert len(sample) == 10 and set(sample) <= set(et)
    assert reverse("admin:crm_customer_change", args=[sample[0].pk]) in page and "Kalamaja, Tallinn" in page
    assert "Please correct" not in page


def test_add_rows_gives_three_more_empty_rows(staff_client, world):
    rows = [{"group": "A", "kind": "language", "languages": ["et"]}]
    response = staff_client.post(reverse("admin:campaigns_segment_add"), post_data(rows, _addrows="Add rows"))
    assert len(response.context["adminform"].form.rows.forms) == 4 and not Segment.objects.exists()


def test_the_live_count_answers_json_for_unsaved_rows(staff_client, world, customer_factory):
    customer_factory.create_batch(3, language="et")
    customer_factory(language="ru")
    url = reverse("admin:campaigns_segment_count")
    rows = [{"group": "A", "kind": "language", "languages": ["et"]}]
    rows_only = {key: value for key, value in post_data(rows).items() if key.startswith("rule-")}
    assert staff_client.get(url, rows_only).json() == {"count": 3}
    assert staff_client.get(url).json() == {"count": 4}
    bad = staff_client.get(url, post_data([{"group": "A", "kind": "age"}]))
    assert bad.status_code == 400 and bad.json()["errors"]


def test_the_live_count_needs_view_segment(client, django_user_model, world):
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:campaigns_segment_count")).status_code == 403


def test_a_segment_with_work_districts_counts_in_the_preview(staff_client, world, customer_factory):
    works = customer_factory()
    preference_update(customer=works)
    works.preference.districts.add(world["district"])
    rows = [{"group": "A", "kind": "district", "district_mode": "districts_work", "districts": [world["district"].pk]}]
    response = staff_client.post(reverse("admin:campaigns_segment_add"), post_data(rows, _preview="Preview"))
    assert response.context["preview"]["count"] == 1


def test_answers_in_a_completed_response_reach_the_segment_through_the_builder(staff_client, world, customer_factory):
    fan = customer_factory()
    response = Response.objects.create(
        survey=world["question"].survey, customer=fan, completed_at=datetime.datetime.now(datetime.UTC)
    )
    Answer.objects.create(response=response, question=world["question"], value="women")
    rows = [{"group": "A", "kind": "answer", "answer": f"{world['question'].pk}:women"}]
    page = staff_client.post(reverse("admin:campaigns_segment_add"), post_data(rows, _preview="Preview"))
    assert list(page.context["preview"]["sample"]) == [fan]


def test_the_builder_page_reads_each_list_once_whatever_the_rows(
    staff_client, world, district_factory, store_factory, django_assert_max_num_queries
):
    district_factory.create_batch(5)
    store_factory.create_batch(5)
    rules = {"any": [{"languages": ["et"], "tiers": ["gold"], "tags": ["vip"]}, {"age": {"max": 25}}]}
    segment = Segment.objects.create(name="Either", rules=rules)
    url = reverse("admin:campaigns_segment_change", args=[segment.pk])
    staff_client.get(url)  # warm the session and content types
    with django_assert_max_num_queries(16):
        staff_client.get(url)
    counts = []
    for empty_rows in (1, 20):
        data = post_data(rules_to_rows(rules) + [{"group": "A"}] * empty_rows, name="Either", _preview="Preview")
        with django_assert_max_num_queries(24) as done:
            assert staff_client.post(url, data).context["preview"]["count"] == 0
        counts.append(len(done.captured_queries))
    assert counts[0] == counts[1]


def test_marketing_previews_names_without_links_to_customer_records(client, world, customer_factory):
    from django.contrib.auth.models import Group, User

    member = customer_factory(language="et")
    user = User.objects.create_user("marketer", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="marketing"))
    client.force_login(user)
    rows = [{"group": "A", "kind": "language", "languages": ["et"]}]
    response = client.post(reverse("admin:campaigns_segment_add"), post_data(rows, _preview="Preview"))
    page = response.content.decode()
    assert response.context["preview"]["count"] == 1 and str(member) in page
    assert reverse("admin:crm_customer_change", args=[member.pk]) not in page
