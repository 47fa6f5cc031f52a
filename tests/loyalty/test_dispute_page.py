"""The "this wasn't me" page a bonus message links to (/d/<token>/)."""

from crm.models import Customer
from loyalty.models import Dispute
from notifications.delivery.rendering import dispute_url
from notifications.preferences.services import preference_update
from tests.loyalty.factories import purchase

BASE = "https://crm.example.com"


def path_of(url: str) -> str:
    return url.replace(BASE, "")


def test_dispute_from_a_bonus_message_is_recorded_for_staff(client, customer, store_factory):
    result = purchase(customer, store=store_factory(), amount="30", cashier_id="K9")
    url = path_of(dispute_url(customer, result.transaction_ids[0]))
    assert client.get(url).status_code == 200 and not Dispute.objects.exists()
    response = client.post(url, {"comment": "I was abroad that day"})
    assert response.status_code == 200
    dispute = Dispute.objects.get()
    assert dispute.customer == customer and dispute.customer_comment == "I was abroad that day"
    assert dispute.transaction.cashier_id == "K9"


def test_dispute_page_opens_in_the_language_the_customer_chose_for_messages(client, customer, store_factory):
    preference_update(customer=customer, language="et")
    result = purchase(customer, store=store_factory(), amount="30")
    response = client.get(path_of(dispute_url(customer, result.transaction_ids[0])))
    assert response.status_code == 200 and response["Referrer-Policy"] == "no-referrer"
    assert '<html lang="et">' in response.content.decode()


def test_a_revoked_dispute_link_writes_nothing(client, customer, store_factory):
    result = purchase(customer, store=store_factory(), amount="30")
    url = path_of(dispute_url(customer, result.transaction_ids[0]))
    Customer.objects.filter(pk=customer.pk).update(token_version=1)
    response = client.post(url, {"comment": "not me"})
    assert response.status_code == 404 and "This link is no longer valid" in response.content.decode()
    assert not Dispute.objects.exists()
