import pytest
from django.urls import reverse

from crm.models import Interaction
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
