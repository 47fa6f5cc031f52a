import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from loyalty import services, signals
from loyalty.models import BonusAccount, BonusLot, BonusTransaction, EarningRule, LotMovement
from loyalty.program import lot_expiry
from tests.loyalty.factories import TierFactory, days, purchase


def assert_ledger_consistent(account: BonusAccount) -> None:
    account.refresh_from_db()
    lots = account.lots.aggregate(total=Sum("remaining", default=0))["total"]
    ledger = account.transactions.aggregate(total=Sum("points", default=0))["total"]
    assert account.balance == lots == ledger >= 0
    for tx in account.transactions.all():
        assert tx.points == (tx.movements.aggregate(total=Sum("points", default=0))["total"])
    for lot in account.lots.all():
        assert lot.remaining == lot.movements.aggregate(total=Sum("points"))["total"]
    # The debt is explained by the ledger too: refunds add to it, repayments take from it.
    assert account.debt == account.transactions.aggregate(total=Sum("debt_change", default=0))["total"] >= 0
    assert account.balance == 0 or account.debt == 0


def test_purchase_accrues_one_point_per_euro_into_a_month_end_lot(customer, store):
    result = purchase(customer, store=store, amount="123.99")
    account = customer.bonus_account
    assert (result.points_earned, result.balance) == (123, 123)
    lot = account.lots.get()
    local = lot.expires_at.astimezone(datetime.UTC)
    assert lot.expires_at == lot_expiry(lot.credit.occurred_at)
    assert lot.expires_at - timezone.now() > days(360)
    assert local.day >= 28 or local.month in (1, 2)  # month end in the programme's zone
    assert_ledger_consistent(account)


def test_other_currencies_convert_to_the_base_currency(customer, store):
    assert purchase(customer, store=store, amount="1000.00", currency="SEK").points_earned == 87


def test_unknown_currency_is_refused_and_writes_nothing(customer, store):
    from loyalty.program import UnknownCurrency

    with pytest.raises(UnknownCurrency):
        purchase(customer, store=store, currency="XYZ")
    assert not BonusTransaction.objects.exists()


def test_redemption_takes_first_to_expire_first_ties_by_id(customer, store):
    now = timezone.now()
    early = purchase(customer, store=store, amount="10", occurred_at=now - days(200))
    purchase(customer, store=store, amount="20", occurred_at=now - days(100))
    account = customer.bonus_account
    # Two lots with the same expiry: the older id goes first.
    same_a, same_b = (purchase(customer, store=store, amount="5", occurred_at=now) for _ in range(2))
    del same_a, same_b

    purchase(customer, store=store, amount="0", redeem=33)

    remaining = list(account.lots.order_by("expires_at", "id").values_list("points", "remaining"))
    assert remaining == [(10, 0), (20, 0), (5, 2), (5, 5)]
    assert early.points_earned == 10
    assert_ledger_consistent(account)


def test_redeeming_more_than_the_balance_changes_nothing(customer, store):
    purchase(customer, store=store, amount="50")
    before = list(BonusTransaction.objects.values_list("id", flat=True))
    with pytest.raises(services.InsufficientPoints, match="Only 50 points are available"):
        purchase(customer, store=store, amount="10", redeem=51)
    assert list(BonusTransaction.objects.values_list("id", flat=True)) == before
    assert BonusAccount.objects.get().balance == 50
    purchase(customer, store=store, amount="0", redeem=49)
    with pytest.raises(services.InsufficientPoints, match="Only 1 point is available"):  # one, not "1 points"
        purchase(customer, store=store, amount="0", redeem=2)


def test_same_receipt_twice_is_a_duplicate(customer, store):
    purchase(customer, store=store, receipt_id="R-1")
    with pytest.raises(services.DuplicateEvent):
        purchase(customer, store=store, receipt_id="R-1")
    assert BonusTransaction.objects.count() == 1


def test_expiry_takes_only_what_is_left_of_a_lot(customer, store):
    now = timezone.now()
    purchase(customer, store=store, amount="100", occurred_at=now - days(300))
    purchase(customer, store=store, amount="30", redeem=60)  # 60 taken from the older lot
    account = customer.bonus_account
    BonusLot.objects.filter(points=100).update(expires_at=now - days(1))  # now it is due

    assert services.lots_expire_due(now=now) == 1
    assert services.lots_expire_due(now=now) == 0  # safe to run twice

    expiry = account.transactions.get(kind="expiry")
    assert expiry.points == -40
    account.refresh_from_db()
    assert account.balance == 30
    assert_ledger_consistent(account)


def test_reversal_takes_back_what_it_earned_and_gives_back_what_it_spent(customer, store):
    purchase(customer, store=store, amount="100")
    purchase(customer, store=store, amount="50", redeem=80, receipt_id="R-X")
    account = customer.bonus_account
    account.refresh_from_db()
    assert account.balance == 100 - 80 + 50

    result = services.purchase_reverse(store=store, receipt_id="R-X")

    assert (result.points_returned, result.points_taken_back, result.balance) == (80, 50, 100)
    again = services.purchase_reverse(store=store, receipt_id="R-X")
    assert again.already_reversed and again.transaction_id == result.transaction_id and again.balance == 100
    assert account.transactions.filter(kind="reversal").count() == 1
    assert_ledger_consistent(account)


def test_reversal_takes_back_what_it_can_and_the_rest_becomes_a_debt(customer, store):
    purchase(customer, store=store, amount="100", receipt_id="R-1")
    purchase(customer, store=store, amount="0", redeem=90)
    result = services.purchase_reverse(store=store, receipt_id="R-1", reason="refund")
    assert (result.points_taken_back, result.balance, result.debt) == (100, 0, 90)
    reversal = BonusTransaction.objects.get(kind="reversal")
    assert (reversal.points, reversal.debt_change) == (-10, 90)
    assert "90 points it earned were already spent" in reversal.reason
    assert_ledger_consistent(customer.bonus_account)


def test_reversing_an_unknown_receipt_is_not_found(store):
    with pytest.raises(services.ReceiptNotFound):
        services.purchase_reverse(store=store, receipt_id="nope")


def test_adjustment_needs_reason_and_respects_balance(customer, admin_user, store):
    purchase(customer, store=store, amount="20")
    with pytest.raises(services.LoyaltyError):
        services.points_adjust(customer=customer, points=5, reason=" ", staff=admin_user)
    with pytest.raises(services.InsufficientPoints):
        services.points_adjust(customer=customer, points=-21, reason="typo", staff=admin_user)
    services.points_adjust(customer=customer, points=-5, reason="cashier typo", staff=admin_user)
    services.points_adjust(customer=customer, points=7, reason="goodwill", staff=admin_user)
    account = customer.bonus_account
    account.refresh_from_db()
    assert account.balance == 22
    assert_ledger_consistent(account)


def test_database_refuses_negative_balances_and_lots(customer, store):
    purchase(customer, store=store, amount="5")
    with pytest.raises(IntegrityError), transaction.atomic():
        BonusAccount.objects.update(balance=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        BonusLot.objects.update(remaining=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        BonusLot.objects.update(remaining=10**6)
    with pytest.raises(IntegrityError), transaction.atomic():
        BonusAccount.objects.update(debt=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        BonusAccount.objects.update(debt=1)  # a balance beside a debt: the debt would have been paid


def test_tier_and_earning_rules_multiply(customer, store, store_factory):
    TierFactory(code="silver", min_spend=Decimal("0"), earn_rate=Decimal("1"))
    TierFactory(code="gold", min_spend=Decimal("500"), earn_rate=Decimal("2"))
    today = timezone.now().date()
    EarningRule.objects.create(name="store promo", multiplier=Decimal("1.5"), store=store)
    EarningRule.objects.create(
        name="past promo", multiplier=Decimal("10"), starts_on=today - days(10), ends_on=today - days(5)
    )

    first = purchase(customer, store=store, amount="600")
    assert (first.points_earned, first.tier.code) == (900, "gold")  # silver rate 1 × 1.5, then upgraded
    second = purchase(customer, store=store, amount="100")
    assert second.points_earned == 300  # gold rate 2 × 1.5
    elsewhere = purchase(customer, store=store_factory(), amount="100")
    assert elsewhere.points_earned == 200


def test_signals_are_sent_inside_the_ledger_transaction_with_what_a_notification_needs(customer, store):
    received = []

    def receiver(sender, event, **kwargs):
        # Inside the sale's transaction, which already holds the sale: a receiver's writes share its fate.
        received.append((event, transaction.get_connection().in_atomic_block, BonusTransaction.objects.count()))

    signals.bonus_accrued.connect(receiver)
    signals.bonus_redeemed.connect(receiver)
    try:
        purchase(customer, store=store, amount="40")
        purchase(customer, store=store, amount="10", redeem=15)
    finally:
        signals.bonus_accrued.disconnect(receiver)
        signals.bonus_redeemed.disconnect(receiver)
    assert all(in_transaction for _event, in_transaction, _count in received)
    assert [count for _event, _in, count in received] == [1, 3, 3]
    events = [event for event, _in, _count in received]
    kinds = [(e.kind, e.points, e.balance) for e in events]
    assert kinds == [("accrued", 40, 40), ("redeemed", 15, 35), ("accrued", 10, 35)]
    assert all(e.customer_id == customer.pk and e.store_id == store.pk for e in events)
    assert events[0].expires_at is not None and events[0].dedupe_key.startswith("bonus-accrued:")


def test_nothing_is_sent_when_the_transaction_rolls_back(customer, store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(services.InsufficientPoints):
        purchase(customer, store=store, amount="10", redeem=999)
    assert callbacks == []
    assert not LotMovement.objects.exists()


# --- Refunds of points already spent: the debt --------------------------------------------------

NOON = datetime.datetime(2026, 3, 10, 12, 0, tzinfo=datetime.UTC)


def _balance_and_debt(customer) -> tuple[int, int]:
    account = BonusAccount.objects.get(customer=customer)
    return account.balance, account.debt


def test_refunding_both_sales_after_the_points_were_spent_leaves_nothing(customer, store, time_machine):
    time_machine.move_to(NOON, tick=False)
    purchase(customer, store=store, amount="100", receipt_id="EARN")
    purchase(customer, store=store, amount="0", redeem=100, receipt_id="SPEND")

    first = services.purchase_reverse(store=store, receipt_id="EARN")
    second = services.purchase_reverse(store=store, receipt_id="SPEND")

    # Both sales undone: no points given away for free ...
    assert (first.balance, second.balance) == (0, 0)
    # ... and nothing owed either: the spent 100 were owed until the second refund returned them.
    assert (first.points_taken_back, first.debt, second.points_returned, second.debt) == (100, 100, 100, 0)
    assert _balance_and_debt(customer) == (0, 0)
    assert_ledger_consistent(customer.bonus_account)


def _owe_100(customer, store) -> None:
    purchase(customer, store=store, amount="100", receipt_id="EARN")
    purchase(customer, store=store, amount="0", redeem=100, receipt_id="SPEND")
    services.purchase_reverse(store=store, receipt_id="EARN")
    assert _balance_and_debt(customer) == (0, 100)


def test_a_later_purchase_pays_the_debt_before_its_points_can_be_spent(customer, store, time_machine):
    time_machine.move_to(NOON, tick=False)
    _owe_100(customer, store)
    reversal = BonusTransaction.objects.get(kind="reversal")
    assert (reversal.points, reversal.debt_change) == (0, 100)

    result = purchase(customer, store=store, amount="150", receipt_id="LATER")

    assert (result.points_earned, result.balance) == (150, 50)
    assert _balance_and_debt(customer) == (0 + 50, 0)
    repayment = BonusTransaction.objects.get(kind="debt_repayment")
    assert (repayment.points, repayment.debt_change, repayment.receipt_id) == (-100, -100, "LATER")
    assert BonusLot.objects.get(credit__receipt_id="LATER").remaining == 50
    with pytest.raises(services.InsufficientPoints):
        purchase(customer, store=store, amount="0", redeem=51)
    assert_ledger_consistent(customer.bonus_account)


def test_a_refund_of_a_sale_that_paid_a_debt_owes_it_again(customer, store, time_machine):
    time_machine.move_to(NOON, tick=False)
    _owe_100(customer, store)
    purchase(customer, store=store, amount="150", receipt_id="LATER")

    result = services.purchase_reverse(store=store, receipt_id="LATER")

    assert (result.points_taken_back, result.balance, result.debt) == (150, 0, 100)
    assert_ledger_consistent(customer.bonus_account)


def test_gifts_and_staff_credits_pay_the_debt_first(customer, store, admin_user, time_machine):
    time_machine.move_to(NOON, tick=False)
    _owe_100(customer, store)

    services.gift_grant(customer=customer, points=30, reason="sorry", source="test:gift", key="g-1")
    assert _balance_and_debt(customer) == (0, 70)
    services.points_adjust(customer=customer, points=100, reason="goodwill", staff=admin_user)
    assert _balance_and_debt(customer) == (30, 0)

    repaid = BonusTransaction.objects.filter(kind="debt_repayment").order_by("id")
    assert list(repaid.values_list("points", flat=True)) == [-30, -70]
    assert_ledger_consistent(customer.bonus_account)


def test_replaying_a_refund_or_a_purchase_does_not_touch_the_debt(customer, store, time_machine):
    time_machine.move_to(NOON, tick=False)
    _owe_100(customer, store)
    purchase(customer, store=store, amount="40", receipt_id="LATER")
    before = BonusTransaction.objects.count()

    again = services.purchase_reverse(store=store, receipt_id="EARN")
    with pytest.raises(services.DuplicateEvent):
        purchase(customer, store=store, amount="40", receipt_id="LATER")

    assert again.already_reversed and (again.points_taken_back, again.debt) == (100, 60)
    assert BonusTransaction.objects.count() == before
    assert _balance_and_debt(customer) == (0, 60)
    assert_ledger_consistent(customer.bonus_account)


def test_a_refund_takes_nothing_back_for_points_that_expired_unspent(customer, store, time_machine):
    time_machine.move_to(NOON, tick=False)
    purchase(customer, store=store, amount="100", receipt_id="OLD")
    time_machine.move_to(NOON + days(400), tick=False)  # past the end of the lot's month, a year on
    assert services.lots_expire_due(now=timezone.now()) == 1
    purchase(customer, store=store, amount="50", receipt_id="NEW")

    result = services.purchase_reverse(store=store, receipt_id="OLD")

    # The 100 points are gone already: taking them again from the new sale's points would charge twice.
    assert (result.points_taken_back, result.balance, result.debt) == (0, 50, 0)
    assert_ledger_consistent(customer.bonus_account)


@pytest.mark.parametrize("order", [("EARN", "SPEND"), ("SPEND", "EARN")])
def test_returned_points_settle_the_refunds_even_after_their_lot_expired(customer, store, time_machine, order):
    time_machine.move_to(NOON, tick=False)
    purchase(customer, store=store, amount="100", receipt_id="EARN")
    purchase(customer, store=store, amount="0", redeem=100, receipt_id="SPEND")
    time_machine.move_to(NOON + days(400), tick=False)  # the lot SPEND drew from has expired

    for receipt_id in order:
        services.purchase_reverse(store=store, receipt_id=receipt_id)

    assert _balance_and_debt(customer) == (0, 0)
    assert_ledger_consistent(customer.bonus_account)
