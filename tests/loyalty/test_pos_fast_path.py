"""The till's path: a sale in at most 8 queries, the rolling year kept by each sale and recounted
each night, configuration read once per process, and POS keys that cannot be guessed at leisure."""

import datetime
import json
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import services
from loyalty.models import BonusAccount, BonusTransaction, EarningRule, PosLockout
from notifications.models import Notification
from tests.crm.factories import CustomerFactory, StoreFactory
from tests.loyalty.factories import TierFactory, days, make_pos_key, purchase

NOW = datetime.datetime(2026, 6, 10, 10, 0, tzinfo=datetime.UTC)


def sale(client, raw_key, receipt, *, card="CARD-1", amount="45.90", ip="10.0.0.5", **extra):
    body = {"customer": {"external_id": card}, "receipt_id": receipt, "amount": amount, "currency": "EUR", **extra}
    return client.post(
        "/api/v1/purchases/",
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw_key}", "Idempotency-Key": receipt},
        REMOTE_ADDR=ip,
    )


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")


def statements(queries) -> list[str]:
    """The statements a request sends, its transaction's BEGIN and COMMIT aside."""
    return [query["sql"] for query in queries.captured_queries if not query["sql"].startswith(TRANSACTION_CONTROL)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # topics come from a data migration
def test_a_sale_takes_at_most_8_queries_with_its_message_written(client, time_machine):
    """Counted as production runs it: the request's own transaction, no test transaction around it."""
    time_machine.move_to(NOW, tick=False)
    store = StoreFactory()
    _key, raw = make_pos_key(store)
    TierFactory(code="silver", name="Silver", min_spend=Decimal("50"), earn_rate=Decimal("2"))
    EarningRule.objects.create(name="Double at this store", multiplier=2, store=store)
    customer = CustomerFactory(external_id="CARD-1")
    assert sale(client, raw, "R-1").status_code == 201  # the account exists; caches are warm
    Notification.objects.filter(customer=customer).update(status=Notification.Status.SENT, attempts=1)

    with CaptureQueriesContext(connection) as queries:
        response = sale(client, raw, "R-2")

    assert response.status_code == 201, response.content
    assert len(statements(queries)) <= 8, "\n".join(statements(queries))
    body = response.json()
    # 45.90 at the base rate, doubled by the store's rule; the sale lifts the year's spend to 91.80: silver
    assert body["points_earned"] == 91 and body["tier"] == "Silver"
    account = BonusAccount.objects.get(customer=customer)
    assert account.balance == 182 and account.spend_12m == Decimal("91.80") and account.purchases_12m == 2
    # the message about it is in the outbox, written in the sale's transaction
    assert Notification.objects.get(customer=customer, dedupe_key__startswith="bonus-accrued:", status="scheduled")

    # the third sale's message joins the second's, still waiting: the planning facts' query finds it and
    # locks it, one more statement changes it
    with CaptureQueriesContext(connection) as queries:
        assert sale(client, raw, "R-3").json()["points_earned"] == 183  # silver rate now, doubled
    assert len(statements(queries)) <= 7, "\n".join(statements(queries))
    waiting = Notification.objects.get(customer=customer, status="scheduled")
    assert waiting.context["count"] == 2 and waiting.context["points"] == 91 + 183


@pytest.mark.django_db
def test_a_sale_with_lots_due_expires_them_first(client, time_machine):
    time_machine.move_to(NOW, tick=False)
    customer = CustomerFactory(external_id="CARD-1")
    store = StoreFactory()
    _key, raw = make_pos_key(store)
    purchase(customer, store=store, amount="30", occurred_at=NOW)
    time_machine.move_to(NOW + days(500), tick=False)

    response = sale(client, raw, "LATER", amount="10")

    assert response.status_code == 201
    assert response.json()["balance"] == 10
    assert BonusTransaction.objects.filter(account__customer=customer, kind="expiry", points=-30).exists()


@pytest.mark.django_db
def test_tier_follows_the_rolling_year_and_the_nightly_recount_drops_what_aged_out(time_machine):
    time_machine.move_to(NOW, tick=False)
    TierFactory(code="gold", name="Gold", min_spend=Decimal("100"))
    customer, store = CustomerFactory(), StoreFactory()
    purchase(customer, store=store, amount="80", occurred_at=NOW, receipt_id="OLD")
    time_machine.move_to(NOW + days(200), tick=False)
    result = purchase(customer, store=store, amount="30", occurred_at=NOW + days(200), receipt_id="NEW")
    assert result.tier.code == "gold"

    time_machine.move_to(NOW + days(370), tick=False)
    account = BonusAccount.objects.get(customer=customer)
    assert account.tier.code == "gold"  # the sales keep it; only the night looks back
    assert services.rolling_year_recount() == 1
    account.refresh_from_db()
    assert (account.tier, account.spend_12m, account.purchases_12m) == (None, Decimal("30.00"), 1)
    assert account.last_purchase_at == NOW + days(200)
    assert services.rolling_year_recount() == 0  # nothing left to correct

    # a refund of the sale that aged out takes nothing from this year's spend
    services.purchase_reverse(store=store, receipt_id="OLD")
    account.refresh_from_db()
    assert (account.spend_12m, account.purchases_12m) == (Decimal("30.00"), 1)
    assert services.rolling_year_recount() == 0


sales = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=40_000),  # cents
        st.integers(min_value=0, max_value=29),  # days back (within the POS window)
        st.booleans(),  # refunded later
        st.integers(min_value=0, max_value=400),  # days the clock moves on after it
    ),
    min_size=1,
    max_size=8,
)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=sales)
def test_what_sales_and_refunds_keep_is_what_the_recount_finds(steps):
    """Property: after any sales and refunds, the kept figures equal a recount from the ledger,
    except for sales that aged out since (which only the recount drops); after the recount, a
    second one changes nothing."""
    TierFactory(code="silver", min_spend=Decimal("100"))
    TierFactory(code="gold", min_spend=Decimal("400"))
    customer, store = CustomerFactory(), StoreFactory()
    at = NOW
    receipts = []
    with time_machine.travel(at, tick=False) as clock:
        for number, (cents, back, refunded, later) in enumerate(steps):
            occurred = at - days(back)
            purchase(
                customer, store=store, amount=str(Decimal(cents) / 100), occurred_at=occurred, receipt_id=f"S{number}"
            )
            receipts.append((f"S{number}", refunded))
            at += days(later)
            clock.move_to(at)
        for receipt, refunded in receipts:
            if refunded:
                services.purchase_reverse(store=store, receipt_id=receipt)
        kept = BonusAccount.objects.get(customer=customer)
        services.rolling_year_recount()
        counted = BonusAccount.objects.get(customer=customer)
        since = timezone.now() - datetime.timedelta(days=365)
        live = BonusTransaction.objects.filter(
            account=counted, kind="accrual", occurred_at__gt=since, reversals__isnull=True
        )
        assert counted.spend_12m == sum((tx.base_amount for tx in live), Decimal(0))
        assert counted.purchases_12m == live.count()
        expected_tier = "gold" if counted.spend_12m >= 400 else "silver" if counted.spend_12m >= 100 else None
        assert (counted.tier.code if counted.tier else None) == expected_tier
        if not BonusTransaction.objects.filter(account=counted, kind="accrual", occurred_at__lte=since).exists():
            # nothing aged out: the sales and refunds had kept exactly this
            assert (kept.spend_12m, kept.purchases_12m, kept.tier_id) == (
                counted.spend_12m,
                counted.purchases_12m,
                counted.tier_id,
            )
        assert services.rolling_year_recount() == 0


@pytest.mark.django_db
def test_configuration_changes_take_effect_at_once_in_this_process(client):
    store = StoreFactory()
    key, raw = make_pos_key(store)
    CustomerFactory(external_id="CARD-1")
    assert sale(client, raw, "A").json()["points_earned"] == 45
    rule = EarningRule.objects.create(name="Triple", multiplier=3)
    assert sale(client, raw, "B").json()["points_earned"] == 137
    rule.delete()
    key.is_active = False
    key.save()
    assert sale(client, raw, "C").status_code == 401  # a revoked key stops at once


@pytest.mark.django_db
def test_an_address_guessing_keys_is_locked_out_and_staff_can_lift_it(client, settings):
    settings.LOYALTY_POS_AUTH_FAILURE_LIMIT = 5
    store = StoreFactory()
    _key, raw = make_pos_key(store)
    CustomerFactory(external_id="CARD-1")
    for attempt in range(5):
        assert sale(client, f"pos_guess{attempt}", f"G{attempt}", ip="203.0.113.9").status_code == 401

    locked = sale(client, raw, "REAL", ip="203.0.113.9")  # even the right key, from that address
    assert locked.status_code == 429
    assert locked.json()["error"] == "locked_out" and locked.json()["field"] == "Authorization"
    assert not BonusTransaction.objects.filter(receipt_id="REAL").exists()
    lockout = PosLockout.objects.get(ip="203.0.113.9")
    assert lockout.failures == 5 and lockout.key_prefix == "pos_guess4"
    assert sale(client, raw, "OTHER", ip="198.51.100.7").status_code == 201  # other tills carry on

    lockout.delete()  # what an administrator does in the admin
    assert sale(client, raw, "REAL", ip="203.0.113.9").status_code == 201


@pytest.mark.django_db
def test_a_till_without_a_key_is_not_counted_as_guessing(client, settings):
    settings.LOYALTY_POS_AUTH_FAILURE_LIMIT = 2
    for _ in range(3):
        response = client.post("/api/v1/purchases/", data="{}", content_type="application/json", REMOTE_ADDR="10.1.1.1")
        assert response.status_code == 401
    assert not PosLockout.objects.exists()


@pytest.mark.django_db
def test_administrators_see_lockouts_and_lift_them_in_the_admin(client, staff_client, settings):
    settings.LOYALTY_POS_AUTH_FAILURE_LIMIT = 1
    store = StoreFactory()
    _key, raw = make_pos_key(store)
    CustomerFactory(external_id="CARD-1")
    sale(client, "pos_wrong", "X", ip="203.0.113.20")
    lockout = PosLockout.objects.get()

    page = staff_client.get(reverse("admin:loyalty_poslockout_changelist"))
    assert page.status_code == 200 and "203.0.113.20" in page.content.decode()
    staff_client.post(reverse("admin:loyalty_poslockout_delete", args=[lockout.pk]), {"post": "yes"})

    assert not PosLockout.objects.exists()
    assert sale(client, raw, "AFTER", ip="203.0.113.20").status_code == 201
