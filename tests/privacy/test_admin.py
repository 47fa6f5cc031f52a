import json

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from crm.models import Customer
from privacy.models import DataRequest


def staff_member(client, *codenames: str) -> User:
    """A staff user who may see and change every store's customers, plus the given privacy permissions."""
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    wanted = ["view_customer", "change_customer", "view_all_customers", *codenames]
    user.user_permissions.set(Permission.objects.filter(codename__in=wanted))
    client.force_login(user)
    return user


def test_staff_download_a_customers_data_as_json_and_read_it_as_a_page(client, full_customer):
    user = staff_member(client, "export_customer")
    customer = full_customer.customer
    change = client.get(reverse("admin:crm_customer_change", args=[customer.pk])).content.decode()
    json_url = reverse("admin:privacy_customer_data_json", args=[customer.pk])
    page_url = reverse("admin:privacy_customer_data", args=[customer.pk])
    assert json_url in change and page_url in change

    response = client.get(json_url)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    data = json.loads(response.content)
    assert data["sections"]["crm.customer"]["rows"][0]["email"] == full_customer.values["e-mail"]

    page = client.get(page_url)
    assert page.status_code == 200
    text = page.content.decode()
    assert full_customer.values["message body"] in text and "Consent events" in text
    assert list(DataRequest.objects.values_list("kind", "source", "staff", "customer")) == [
        (DataRequest.Kind.EXPORT_PAGE, DataRequest.Source.ADMIN, user.pk, customer.pk),
        (DataRequest.Kind.EXPORT_JSON, DataRequest.Source.ADMIN, user.pk, customer.pk),
    ]


def test_staff_without_the_export_permission_get_403_and_no_links(client, full_customer):
    staff_member(client)
    customer = full_customer.customer
    change = client.get(reverse("admin:crm_customer_change", args=[customer.pk])).content.decode()
    for name in ("privacy_customer_data_json", "privacy_customer_data"):
        url = reverse(f"admin:{name}", args=[customer.pk])
        assert url not in change
        assert client.get(url).status_code == 403
    assert not DataRequest.objects.exists()


def test_customers_are_never_deleted_in_the_admin(staff_client, customer):
    assert staff_client.get(reverse("admin:crm_customer_delete", args=[customer.pk])).status_code == 403
    changelist = staff_client.get(reverse("admin:crm_customer_changelist"))
    assert "delete_selected" not in dict(changelist.context["action_form"].fields["action"].choices)
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_erase_action_needs_its_own_permission(client, full_customer):
    staff_member(client, "export_customer")
    changelist = client.get(reverse("admin:crm_customer_changelist"))
    assert changelist.context["action_form"] is None  # no action left to offer
    response = client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "erase_customers", "_selected_action": [full_customer.customer.pk], "confirm": "yes", "reason": "x"},
    )
    assert response.status_code in (200, 302)
    full_customer.customer.refresh_from_db()
    assert full_customer.customer.erased_at is None


def test_erase_action_asks_for_confirmation_and_a_reason_then_erases(client, full_customer, bystander):
    user = staff_member(client, "erase_customer")
    url = reverse("admin:crm_customer_changelist")
    chosen = {"action": "erase_customers", "_selected_action": [full_customer.customer.pk]}

    confirm = client.post(url, chosen)
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "cannot be undone" in page and full_customer.values["e-mail"] in page
    without_reason = client.post(url, {**chosen, "confirm": "yes", "reason": ""})
    assert without_reason.status_code == 200 and "This field is required" in without_reason.content.decode()
    full_customer.customer.refresh_from_db()
    assert full_customer.customer.erased_at is None

    done = client.post(url, {**chosen, "confirm": "yes", "reason": "Customer asked by e-mail"}, follow=True)
    assert done.status_code == 200 and "1 customer erased" in done.content.decode()
    full_customer.customer.refresh_from_db()
    bystander.customer.refresh_from_db()
    assert full_customer.customer.erased_at and bystander.customer.erased_at is None
    assert DataRequest.objects.get(kind=DataRequest.Kind.ERASURE).staff == user


def test_an_erased_customer_is_read_only_in_the_admin(staff_client, full_customer, staff):
    from privacy.erasure import customer_erase

    customer_erase(customer=full_customer.customer, staff=staff, reason="asked")
    url = reverse("admin:crm_customer_change", args=[full_customer.customer.pk])
    response = staff_client.get(url)
    assert response.status_code == 200 and not response.context["has_change_permission"]
    staff_client.post(url, {"first_name": "Back", "email": "back@example.org"})
    full_customer.customer.refresh_from_db()
    assert full_customer.customer.first_name == "" and full_customer.customer.email == ""


@pytest.mark.parametrize("view", ["privacy_customer_data", "privacy_customer_data_json"])
def test_export_pages_take_a_fixed_number_of_queries(staff_client, full_customer, django_assert_max_num_queries, view):
    with django_assert_max_num_queries(45):
        response = staff_client.get(reverse(f"admin:{view}", args=[full_customer.customer.pk]))
    assert response.status_code == 200


def test_data_requests_are_read_only_evidence(staff_client, full_customer, staff):
    from privacy.erasure import customer_erase

    record = customer_erase(customer=full_customer.customer, staff=staff, reason="asked")
    changelist = staff_client.get(reverse("admin:privacy_datarequest_changelist"))
    assert changelist.status_code == 200 and "asked" in changelist.content.decode()
    assert staff_client.get(reverse("admin:privacy_datarequest_delete", args=[record.pk])).status_code == 403
