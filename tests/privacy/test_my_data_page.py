import json

from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from notifications.delivery.rendering import preferences_url
from privacy.models import DataRequest

BASE = "https://crm.example.com"


def paths(person) -> tuple[str, str]:
    preferences = preferences_url(person.customer).replace(BASE, "")
    token = preferences.split("/")[2]
    return preferences, reverse("my-data", args=[token])


def test_preference_centre_offers_the_download_and_the_post_returns_the_json(client, full_customer, bystander):
    preferences, my_data = paths(full_customer)
    page = client.get(preferences).content.decode()
    assert f'action="{my_data}"' in page and "Download my data" in page

    response = client.post(my_data)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "no-referrer"
    data = json.loads(response.content)
    text = response.content.decode()
    assert data["customer"] == str(full_customer.customer.public_id)
    assert full_customer.values["message body"] in text and bystander.values["e-mail"] not in text
    [request] = DataRequest.objects.all()
    assert (request.kind, request.source, request.staff, request.customer) == (
        DataRequest.Kind.EXPORT_JSON,
        DataRequest.Source.CUSTOMER,
        None,
        full_customer.customer,
    )


def test_get_explains_and_writes_nothing(client, full_customer):
    _preferences, my_data = paths(full_customer)
    response = client.get(my_data, {"lang": "en"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "Download my data" in text and full_customer.values["e-mail"] not in text
    assert not DataRequest.objects.exists()


def test_the_download_keeps_csrf(full_customer):
    _preferences, my_data = paths(full_customer)
    assert Client(enforce_csrf_checks=True).post(my_data).status_code == 403
    assert not DataRequest.objects.exists()


def test_a_revoked_or_forged_link_gets_the_invalid_link_page(client, full_customer, staff):
    from privacy.erasure import customer_erase

    _preferences, my_data = paths(full_customer)
    assert client.post(my_data.replace("/p/", "/p/x")).status_code == 404
    customer_erase(customer=full_customer.customer, staff=staff, reason="asked")
    assert client.post(my_data).status_code == 404
    assert DataRequest.objects.filter(kind=DataRequest.Kind.EXPORT_JSON).count() == 0


def test_the_download_is_rate_limited_per_ip(client, full_customer, settings):
    settings.PUBLIC_PAGES_RATE_PER_MINUTE = 2
    cache.clear()
    _preferences, my_data = paths(full_customer)
    assert [client.post(my_data).status_code for _ in range(3)] == [200, 200, 429]
    cache.clear()
