import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Callback, Interaction
from crm.selectors import customer_search
from tests.admin_queries import unindexed_reads, whole_table_aggregates
from tests.crm.factories import InteractionFactory


@pytest.fixture
def many_customers(customer_factory, store_factory):
    store = store_factory()
    return customer_factory.create_batch(40, home_store=store, home_district=store.district)


def test_customer_changelist_renders_with_bounded_queries(staff_client, many_customers, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:crm_customer_changelist"))
    assert response.status_code == 200
    assert many_customers[0].email in response.content.decode()


@pytest.mark.parametrize(
    "term", ["5123 4567", "+372 5123 4567", "0037251234567", "51234567", "MARI.tamm@example.ee", "CARD-X1", "Tamm"]
)
def test_customer_search_by_name_email_card_and_phone_in_any_format(staff_client, customer_factory, term):
    wanted = customer_factory(
        first_name="Mari", last_name="Tamm", email="mari.tamm@example.ee", phone="+37251234567", external_id="CARD-X1"
    )
    other = customer_factory(first_name="Jaan", last_name="Sepp")
    response = staff_client.get(reverse("admin:crm_customer_changelist"), {"q": term})
    assert response.status_code == 200
    results = list(response.context["cl"].result_list)
    assert wanted in results and other not in results


def test_customer_change_page_shows_interactions_with_bounded_queries(
    staff_client, customer, django_assert_max_num_queries
):
    InteractionFactory.create_batch(15, customer=customer, summary="Called about the order")
    with django_assert_max_num_queries(25):
        response = staff_client.get(reverse("admin:crm_customer_change", args=[customer.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("Called about the order") == 15


def test_interaction_added_inline_is_attributed_to_staff(staff_client, customer, admin_user):
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "phone": str(customer.phone),
            "home_district": "",
            "home_store": "",
            "interactions-TOTAL_FORMS": "1",
            "interactions-INITIAL_FORMS": "0",
            "interactions-0-occurred_at_0": "2026-11-20",
            "interactions-0-occurred_at_1": "10:00:00",
            "interactions-0-kind": "call",
            "interactions-0-summary": "Agreed to call back on Friday",
        }
    )
    data.pop("birth_date", None)
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    interaction = Interaction.objects.get(customer=customer)
    assert interaction.staff == admin_user and interaction.summary == "Agreed to call back on Friday"


@pytest.mark.parametrize("model", ["district", "store", "interaction"])
def test_other_changelists_render(staff_client, model, store_factory):
    store_factory()
    InteractionFactory()
    assert staff_client.get(reverse(f"admin:crm_{model}_changelist")).status_code == 200


# --- At scale: the same pages with a million customers ------------------------------------------------


@pytest.fixture
def crm_rows(customer_factory, store_factory, admin_user):
    """30 of each listed row, each with its own customer, store and staff member: an N+1 shows."""
    store = store_factory()
    customers = customer_factory.create_batch(30, home_store=store, home_district=store.district)
    Interaction.objects.bulk_create(
        Interaction(
            customer=c, kind=Interaction.Kind.CALL, summary="Asked about the card", staff=admin_user, store=store
        )
        for c in customers
    )
    Callback.objects.bulk_create(
        Callback(customer=c, due_at=timezone.now(), subject="Call back about the card", assigned_to=admin_user)
        for c in customers
    )
    return customers


# The queries each changelist runs: session, user, the planner's estimate, a bounded count, the
# page; the filters' choices (customers: cities, districts, stores; callbacks: staff) and the
# callbacks' date hierarchy (first and last due date, the years).
CRM_CHANGELISTS = {"customer": 8, "interaction": 5, "callback": 8}


@pytest.mark.parametrize("model", CRM_CHANGELISTS)
def test_changelist_counts_no_whole_table_and_runs_bounded_queries(
    staff_client, crm_rows, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(CRM_CHANGELISTS[model]) as captured:
        # "_facets" asks for per-choice counts over the table: on a big table they are never run.
        response = staff_client.get(reverse(f"admin:crm_{model}_changelist"), {"_facets": "1"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 30
    # Callbacks are thousands, not millions: their date hierarchy may read every due date.
    kinds = ("COUNT",) if model == "callback" else ("COUNT", "MIN", "MAX", "DISTINCT")
    assert whole_table_aggregates(captured.captured_queries, f"crm_{model}", kinds) == []


def test_customer_changelist_is_newest_first_by_primary_key(staff_client, crm_rows):
    response = staff_client.get(reverse("admin:crm_customer_changelist"))
    assert list(response.context["cl"].result_list) == sorted(crm_rows, key=lambda c: -c.pk)
    assert response.context["cl"].queryset.query.order_by[0] == "-id"


@pytest.mark.parametrize("term", ["Tamm", "mari T", "MARI.TAMM@", "CARD-X1", "+372 5123 4567", "5123 45", "+372 5123"])
def test_customer_search_is_served_by_indexes(customer_factory, term):
    """Prefix and exact matches only: at a million customers a search reads index pages, not the table."""
    wanted = customer_factory(
        first_name="Mari", last_name="Tamm", email="mari.tamm@example.ee", phone="+37251234567", external_id="CARD-X1"
    )
    customer_factory(first_name="Jaan", last_name="Sepp", phone="+37259990000")
    found = customer_search(term)
    assert list(found) == [wanted]
    assert unindexed_reads(found) == []


def test_customer_page_shows_the_latest_interactions_only(staff_client, customer, django_assert_max_num_queries):
    old = timezone.now() - datetime.timedelta(days=30)
    Interaction.objects.bulk_create(
        Interaction(customer=customer, kind="note", summary=f"Old note {i}", occurred_at=old) for i in range(60)
    )
    Interaction.objects.create(customer=customer, kind="call", summary="The latest call")
    # Session, user, the customer, the latest interactions; the content type (until Django caches it).
    with django_assert_max_num_queries(5):
        response = staff_client.get(reverse("admin:crm_customer_change", args=[customer.pk]))
    content = response.content.decode()
    assert content.count("Old note") == 19 and "The latest call" in content
    all_of_them = reverse("admin:crm_interaction_changelist") + f"?customer__id__exact={customer.pk}"
    assert all_of_them in content
    listed = staff_client.get(all_of_them).context["cl"]
    assert listed.result_count == 61
