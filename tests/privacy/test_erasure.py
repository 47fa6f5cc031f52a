import datetime

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import ProtectedError, Sum
from django.test import Client

from crm.models import Customer
from loyalty.models import BonusAccount, BonusTransaction, Dispute
from notifications.delivery.rendering import preferences_url, unsubscribe_urls
from notifications.models import ConsentEvent, Notification, Preference
from privacy.erasure import customer_erase
from privacy.models import DataRequest

# Values the fixture shares with other rows of the database (a city, the store's district), or
# that erasure keeps by design (the truncated IP address keeps its network, not the address).
SHARED = {"IP address"}


def tables_holding(value: str) -> list[str]:
    """Every table (of every installed app, join tables included) with a row whose text holds ``value``."""
    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy or not model._meta.managed:
                continue
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(f"SELECT count(*) FROM {table} AS t WHERE strpos(lower(t::text), lower(%s)) > 0", [value])
            if cursor.fetchone()[0]:
                found.append(model._meta.db_table)
    return found


def ledger_of(customer: Customer) -> dict:
    account = BonusAccount.objects.get(customer=customer)
    transactions = BonusTransaction.objects.filter(account=account)
    return {
        "balance": account.balance,
        "debt": account.debt,
        "points": transactions.aggregate(total=Sum("points"))["total"],
        "rows": sorted(transactions.values_list("pk", "kind", "points", "amount", "occurred_at", "store_id")),
        "disputes": sorted(Dispute.objects.filter(customer=customer).values_list("pk", "status", "transaction_id")),
    }


def consent_proof_of(customer: Customer) -> list[tuple]:
    return sorted(
        ConsentEvent.objects.filter(customer=customer).values_list(
            "pk", "channel", "topic_id", "scope", "action", "source", "wording", "wording_version", "created_at"
        )
    )


def test_erasure_leaves_no_personal_value_yet_keeps_the_ledger_and_the_consent_proof(
    full_customer, bystander, staff, django_capture_on_commit_callbacks
):
    customer = full_customer.customer
    for label, value in full_customer.values.items():
        assert tables_holding(value), label  # the scan finds what the fixture wrote
    ledger, proof = ledger_of(customer), consent_proof_of(customer)
    promotion = Notification.objects.get(customer=customer, topic__code="promotion")
    links = [preferences_url(customer), *unsubscribe_urls(promotion)[:1]]

    with django_capture_on_commit_callbacks(execute=True):
        record = customer_erase(customer=customer, staff=staff, reason="Asked in the store, ticket 4411")

    for label, value in full_customer.values.items():
        if label not in SHARED:
            assert tables_holding(value) == [], label
    for label, value in bystander.values.items():
        assert tables_holding(value), label  # nobody else loses anything

    customer.refresh_from_db()
    assert customer.erased_at is not None and not customer.is_active
    assert (customer.email, str(customer.phone), customer.first_name, customer.external_id) == ("", "", "", "")
    assert customer.birth_date is None and customer.home_store is None
    assert ledger_of(customer) == ledger
    assert consent_proof_of(customer) == proof
    granted = ConsentEvent.objects.get(customer=customer, action="granted")
    assert (granted.ip_address, granted.user_agent) == ("203.0.113.0", "")  # the network, not the device

    promotion.refresh_from_db()
    assert promotion.status == Notification.Status.SUPPRESSED and promotion.reason == Notification.Reason.INACTIVE
    assert promotion.context == {}
    preference = Preference.objects.get(customer=customer)
    assert (preference.telegram_chat_id, preference.messenger, preference.messenger_link_code) == ("", "", "")
    assert not preference.districts.exists()

    for url in links:
        assert Client().get(url.replace("https://crm.example.com", "")).status_code == 404
    assert (record.kind, record.staff, record.customer) == (DataRequest.Kind.ERASURE, staff, customer)
    assert record.reason == "Asked in the store, ticket 4411"


def test_a_customer_is_erased_once(full_customer, staff):
    customer_erase(customer=full_customer.customer, staff=staff, reason="asked")
    with pytest.raises(ValidationError):
        customer_erase(customer=full_customer.customer, staff=staff, reason="again")
    assert DataRequest.objects.filter(kind=DataRequest.Kind.ERASURE).count() == 1


def test_erasure_needs_a_reason(full_customer, staff):
    with pytest.raises(ValidationError):
        customer_erase(customer=full_customer.customer, staff=staff, reason="  ")
    full_customer.customer.refresh_from_db()
    assert full_customer.customer.erased_at is None


def test_deleting_a_customer_never_takes_the_consent_proof_with_it(customer):
    from notifications.consent.services import consent_record

    consent_record(customer=customer, channel="email", action="granted", source="survey", wording="yes")
    with pytest.raises(ProtectedError):
        customer.delete()
    assert ConsentEvent.objects.filter(customer=customer).count() == 1


def test_a_message_being_sent_during_erasure_cannot_write_its_text_back(full_customer, staff):
    """The sender read the row before erasure; what it records afterwards is refused (its lease is
    fenced off), so no text comes back, and the row is settled when the lease runs out."""
    from notifications.outbox.claim import Outcome, record

    customer = full_customer.customer
    in_flight = Notification.objects.filter(customer=customer, topic__code="promotion").get()
    Notification.objects.filter(pk=in_flight.pk).update(status=Notification.Status.SENDING, attempts=1)

    customer_erase(customer=customer, staff=staff, reason="asked")
    recorded = record(
        [
            Outcome(
                id=in_flight.pk, token=1, status="sent", subject="Hi Quilla", body=full_customer.values["message body"]
            )
        ],
        now=in_flight.created_at,
    )

    assert recorded == set()
    in_flight.refresh_from_db()
    assert (in_flight.subject, in_flight.body) == ("", "")


def test_letters_not_yet_posted_leave_their_batch(full_customer, staff):
    from notifications.models import LetterBatch

    batch = LetterBatch.objects.create(day=datetime.date(2027, 1, 4))
    letter = Notification.objects.filter(customer=full_customer.customer, topic__code="promotion").get()
    Notification.objects.filter(pk=letter.pk).update(
        channel="postal", status=Notification.Status.PRINTING, letter_batch=batch, body="Quilla, Salajane tänav"
    )

    customer_erase(customer=full_customer.customer, staff=staff, reason="asked")

    letter.refresh_from_db()
    assert (letter.status, letter.letter_batch, letter.body) == (Notification.Status.CANCELLED, None, "")
    assert not batch.letters.exists()


def test_erasure_takes_the_customers_tags_and_leaves_the_tag(full_customer, staff):
    from crm.models import Tag

    vip = Tag.objects.create(name="vip")
    customer = full_customer.customer
    customer.tags.add(vip)
    customer_erase(customer=customer, staff=staff, reason="asked")
    assert not customer.tags.exists() and Tag.objects.filter(name="vip").exists()
