import json

import pytest
from openapi_spec_validator import validate

from crm.models import Customer
from loyalty.models import BonusTransaction, IdempotencyRecord, PosApiKey
from tests.loyalty.factories import make_pos_key, purchase


@pytest.fixture
def pos(store):
    key, raw = make_pos_key(store)
    return {"key": key, "headers": {"Authorization": f"Bearer {raw}"}}


def post(client, pos, path, body, key="key-1", **headers):
    extra = dict(pos["headers"], **headers)
    if key is not None:
        extra["Idempotency-Key"] = key
    return client.post(f"/api/v1/{path}/", data=json.dumps(body), content_type="application/json", headers=extra)


def purchase_body(**overrides):
    body = {
        "customer": {"external_id": "CARD-1"},
        "receipt_id": "R-100",
        "amount": "45.90",
        "currency": "EUR",
    }
    body.update(overrides)
    return body


@pytest.fixture
def card_holder(customer_factory):
    return customer_factory(external_id="CARD-1", phone="+37251234567", email="mari@example.ee")


def test_purchase_accrues_and_reports_balance(client, pos, card_holder):
    response = post(client, pos, "purchases", purchase_body(cashier_id="K7"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points_earned"] == 45 and body["points_redeemed"] == 0 and body["balance"] == 45
    assert body["customer_id"] == str(card_holder.public_id) and not body["customer_created"]
    tx = BonusTransaction.objects.get(pk=body["transaction_ids"][0])
    assert (tx.store, tx.cashier_id, tx.receipt_id) == (pos["key"].store, "K7", "R-100")


@pytest.mark.parametrize(
    "ref",
    [{"phone": "5123 4567"}, {"phone": "+372 5123-4567"}, {"email": "MARI@example.ee"}, {"external_id": "CARD-1"}],
)
def test_customer_identified_by_card_phone_in_any_format_or_email(client, pos, card_holder, ref):
    response = post(client, pos, "purchases", purchase_body(customer=ref))
    assert response.status_code == 201
    assert response.json()["customer_id"] == str(card_holder.public_id)


def test_redeem_with_purchase(client, pos, card_holder):
    purchase(card_holder, store=pos["key"].store, amount="200")
    response = post(client, pos, "purchases", purchase_body(redeem_points=150, amount="10.00"))
    assert response.status_code == 201
    body = response.json()
    assert (body["points_redeemed"], body["points_earned"], body["balance"]) == (150, 10, 60)
    assert len(body["transaction_ids"]) == 2


def test_same_key_same_body_replays_and_writes_nothing(client, pos, card_holder):
    first = post(client, pos, "purchases", purchase_body())
    second = post(client, pos, "purchases", purchase_body())
    assert second.status_code == 201 and second.json() == first.json()
    assert BonusTransaction.objects.count() == 1


def test_same_key_different_body_is_refused(client, pos, card_holder):
    post(client, pos, "purchases", purchase_body())
    response = post(client, pos, "purchases", purchase_body(amount="99.00"))
    assert response.status_code == 422
    assert response.json()["field"] == "Idempotency-Key"
    assert BonusTransaction.objects.count() == 1


def test_same_receipt_with_a_new_key_is_a_conflict(client, pos, card_holder):
    post(client, pos, "purchases", purchase_body())
    response = post(client, pos, "purchases", purchase_body(), key="key-2")
    assert response.status_code == 409
    assert response.json() == {
        "error": "duplicate",
        "message": "Receipt R-100 was already recorded in this store.",
        "field": "receipt_id",
        "errors": [],
    }


def test_redeeming_more_than_the_balance_is_409_and_changes_nothing(client, pos, card_holder):
    purchase(card_holder, store=pos["key"].store, amount="20")
    before = BonusTransaction.objects.count()
    response = post(client, pos, "purchases", purchase_body(redeem_points=21))
    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_points" and response.json()["field"] == "redeem_points"
    assert BonusTransaction.objects.count() == before
    assert not IdempotencyRecord.objects.exists()  # a failed request may be retried with the same key
    assert post(client, pos, "purchases", purchase_body(redeem_points=20)).status_code == 201


def test_unknown_customer_is_404_or_created_on_request(client, pos, db):
    body = purchase_body(customer={"phone": "5555 1234", "external_id": "NEW-1"})
    missing = post(client, pos, "purchases", body)
    assert missing.status_code == 404 and missing.json()["field"] == "customer"
    assert not Customer.objects.exists()

    created = post(
        client, pos, "purchases", {**body, "create_customer": True, "new_customer": {"first_name": "Liis"}}, key="k2"
    )
    assert created.status_code == 201 and created.json()["customer_created"]
    customer = Customer.objects.get()
    assert (str(customer.phone), customer.external_id, customer.first_name) == ("+37255551234", "NEW-1", "Liis")
    assert customer.home_store == pos["key"].store and customer.time_zone == pos["key"].store.time_zone


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"currency": "eur"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"receipt_id": ""}, "receipt_id"),
        ({"redeem_points": -5}, "redeem_points"),
        ({"customer": {}}, "customer"),
        ({"customer": {"phone": "12"}}, "customer.phone"),
        ({"customer": {"email": "nope"}}, "customer.email"),
        ({"occurred_at": "2026-01-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": "2999-01-01T10:00:00Z"}, "occurred_at"),
        ({"occurred_at": "1970-01-01T00:00:00Z"}, "occurred_at"),
        ({"amount": "0"}, "amount"),
        ({"create_customer": True, "customer": {"external_id": "ONLY-CARD"}}, "customer"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(client, pos, card_holder, overrides, field):
    body = purchase_body(**overrides)
    response = post(client, pos, "purchases", body)
    assert 400 <= response.status_code < 500
    payload = response.json()
    assert payload["field"] == field, payload
    assert payload["message"]
    assert not BonusTransaction.objects.exists() and not IdempotencyRecord.objects.exists()


def test_missing_field_and_malformed_json(client, pos, card_holder):
    body = purchase_body()
    del body["amount"]
    response = post(client, pos, "purchases", body)
    assert response.status_code == 422 and response.json()["field"] == "amount"
    broken = client.post(
        "/api/v1/purchases/",
        data="{not json",
        content_type="application/json",
        headers={**pos["headers"], "Idempotency-Key": "x"},
    )
    assert 400 <= broken.status_code < 500
    assert set(broken.json()) >= {"error", "message", "field"}
    assert not BonusTransaction.objects.exists()


def test_idempotency_key_is_required(client, pos, card_holder):
    response = post(client, pos, "purchases", purchase_body(), key=None)
    assert response.status_code == 422 and response.json()["field"] == "Idempotency-Key"


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Token abc", "Bearer "])
def test_requests_without_a_valid_key_are_401(client, card_holder, auth, store):
    headers = {"Idempotency-Key": "k"} | ({"Authorization": auth} if auth else {})
    response = client.post(
        "/api/v1/purchases/", data=json.dumps(purchase_body()), content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    body = response.json()
    assert (body["error"], body["field"]) == ("unauthorized", "Authorization") and body["message"]
    assert not BonusTransaction.objects.exists()


def test_revoked_key_is_401(client, pos, card_holder):
    PosApiKey.objects.update(is_active=False)
    assert post(client, pos, "purchases", purchase_body()).status_code == 401


def test_refund_reverses_and_is_idempotent(client, pos, card_holder):
    post(client, pos, "purchases", purchase_body(amount="100.00"))
    first = post(client, pos, "refunds", {"receipt_id": "R-100"}, key="refund-1")
    assert first.status_code == 200
    assert (first.json()["points_taken_back"], first.json()["balance"]) == (100, 0)
    replay = post(client, pos, "refunds", {"receipt_id": "R-100"}, key="refund-1")
    assert replay.json() == first.json()
    again = post(client, pos, "refunds", {"receipt_id": "R-100"}, key="refund-2")
    assert again.status_code == 200 and again.json()["already_reversed"] is True
    assert again.json()["transaction_id"] == first.json()["transaction_id"]
    assert BonusTransaction.objects.filter(kind="reversal").count() == 1


def test_refund_of_unknown_receipt_or_another_stores_receipt_is_404(client, pos, card_holder, store_factory):
    other_key, other_raw = make_pos_key(store_factory())
    post(client, pos, "purchases", purchase_body())
    other = {"key": other_key, "headers": {"Authorization": f"Bearer {other_raw}"}}
    for who, receipt in ((pos, "nope"), (other, "R-100")):
        response = post(client, who, "refunds", {"receipt_id": receipt}, key=f"r-{receipt}")
        assert response.status_code == 404 and response.json()["field"] == "receipt_id"


def test_balance_with_next_expiry(client, pos, card_holder, django_assert_max_num_queries):
    purchase(card_holder, store=pos["key"].store, amount="30")
    purchase(card_holder, store=pos["key"].store, amount="12")
    client.get("/api/v1/customers/CARD-1/balance/", headers=pos["headers"])  # the process's caches, read once
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/customers/CARD-1/balance/", headers=pos["headers"])
    assert response.status_code == 200
    body = response.json()
    assert body["balance"] == 42 and body["next_expiry"]["points"] == 42
    missing = client.get("/api/v1/customers/NOPE/balance/", headers=pos["headers"])
    assert missing.status_code == 404 and missing.json()["field"] == "external_id"


def test_openapi_document_validates_and_docs_are_served(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert {"/api/v1/purchases/", "/api/v1/refunds/", "/api/v1/customers/{external_id}/balance/"} <= set(
        schema["paths"]
    )
    assert client.get("/api/v1/docs").status_code == 200


def test_a_sale_paid_entirely_with_points_may_have_amount_zero(client, pos, card_holder):
    post(client, pos, "purchases", purchase_body(amount="100"), key="earn")
    response = post(client, pos, "purchases", purchase_body(receipt_id="R-2", amount="0", redeem_points=60))
    assert response.status_code == 201, response.content
    assert response.json()["balance"] == 40


def test_occurred_at_accepts_a_late_till_within_the_window(client, pos, card_holder, time_machine):
    time_machine.move_to("2026-11-24T12:00:00+00:00", tick=False)
    yesterday = post(client, pos, "purchases", purchase_body(occurred_at="2026-11-23T18:00:00+02:00"))
    assert yesterday.status_code == 201, yesterday.content
    too_old = post(client, pos, "purchases", purchase_body(receipt_id="R-9", occurred_at="2026-10-01T12:00:00Z"))
    assert too_old.status_code == 422 and too_old.json()["field"] == "occurred_at"


def test_openapi_states_every_constraint(client, db):
    components = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    ref = components["CustomerRef"]
    assert sorted(option["required"][0] for option in ref["anyOf"]) == ["email", "external_id", "phone"]
    purchase = components["PurchaseIn"]["properties"]
    number, text = purchase["amount"]["anyOf"]
    assert number["minimum"] == 0 and number["multipleOf"] == 0.01
    assert text["pattern"] and "greater than 0" in purchase["amount"]["description"]
    assert "days back" in purchase["occurred_at"]["description"]
    responses = client.get("/api/v1/openapi.json").json()["paths"]["/api/v1/purchases/"]["post"]["responses"]
    assert responses["401"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")


def test_balance_shows_the_points_owed_after_a_refund_of_spent_points(client, pos, card_holder):
    store = pos["key"].store
    purchase(card_holder, store=store, amount="100", receipt_id="EARN")
    purchase(card_holder, store=store, amount="0", redeem=100)
    refund = post(client, pos, "refunds", {"receipt_id": "EARN"}, key="refund-earn")
    assert (refund.json()["points_taken_back"], refund.json()["balance"]) == (100, 0)

    body = client.get("/api/v1/customers/CARD-1/balance/", headers=pos["headers"]).json()

    assert (body["balance"], body["debt"]) == (0, 100)
