"""Real concurrency on PostgreSQL: row locks and the idempotency record's unique index."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from loyalty.models import BonusAccount, BonusTransaction
from tests.loyalty.factories import make_pos_key, purchase

# serialized_rollback: restore the topics the data migration created, which a flush removes.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _run_together(count: int, call):
    """Start ``count`` calls at the same moment, each on its own database connection."""
    barrier = threading.Barrier(count)

    def worker(i):
        try:
            barrier.wait(timeout=30)
            return call(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


@pytest.fixture
def setup(customer_factory, store_factory):
    store = store_factory()
    customer = customer_factory(external_id="CARD-C")
    purchase(customer, store=store, amount="1000")
    _key, raw = make_pos_key(store)
    return customer, {"Authorization": f"Bearer {raw}"}


def _post(headers, key, body):
    return Client().post(
        "/api/v1/purchases/",
        data=json.dumps(body),
        content_type="application/json",
        headers={**headers, "Idempotency-Key": key},
    )


def test_fifty_parallel_redemptions_of_100_against_1000_exactly_ten_succeed(setup):
    customer, headers = setup

    def redeem(i):
        body = {
            "customer": {"external_id": "CARD-C"},
            "receipt_id": f"P-{i}",
            "amount": "0",
            "currency": "EUR",
            "redeem_points": 100,
        }
        return _post(headers, f"redeem-{i}", body).status_code

    statuses = _run_together(50, redeem)

    assert statuses.count(201) == 10
    assert statuses.count(409) == 40
    account = BonusAccount.objects.get(customer=customer)
    assert account.balance == 0
    assert account.transactions.filter(kind="redemption").count() == 10


def test_concurrent_replays_of_one_key_make_one_transaction_and_identical_responses(setup):
    customer, headers = setup
    body = {
        "customer": {"external_id": "CARD-C"},
        "receipt_id": "SAME",
        "amount": "25.00",
        "currency": "EUR",
        "redeem_points": 5,
    }

    # PostgreSQL here allows 100 connections; 90 at once leave room for the test's own.
    responses = _run_together(90, lambda i: _post(headers, "one-key", body))
    responses += [_post(headers, "one-key", body) for _ in range(10)]

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert BonusTransaction.objects.filter(receipt_id="SAME").count() == 2  # one redemption + one accrual
    assert BonusAccount.objects.get(customer=customer).balance == 1000 - 5 + 25
