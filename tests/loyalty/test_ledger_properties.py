"""The ledger's invariants over thousands of random steps, on PostgreSQL."""

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from loyalty import services
from loyalty.models import BonusAccount, BonusLot, BonusTransaction
from tests.crm.factories import CustomerFactory, StoreFactory
from tests.loyalty.factories import days


class LedgerMachine(RuleBasedStateMachine):
    """Earn, redeem, expire, reverse and replay against one account; a model tracks the balance."""

    @initialize()
    def setup(self):
        self.customer = CustomerFactory()
        self.store = StoreFactory()
        self.expected = 0
        self.receipts: dict[str, int] = {}  # receipt -> points earned
        self.reversed: set[str] = set()
        self.counter = 0

    def _receipt(self) -> str:
        self.counter += 1
        return f"{self.customer.pk}-{self.counter}"

    @rule(amount=st.integers(0, 500), age_days=st.integers(0, 300), redeem=st.integers(0, 400))
    def purchase(self, amount, age_days, redeem):
        receipt = self._receipt()
        call = {
            "customer": self.customer,
            "store": self.store,
            "receipt_id": receipt,
            "amount": Decimal(amount),
            "currency": "EUR",
            "occurred_at": timezone.now() - days(age_days),
            "redeem_points": redeem,
        }
        if redeem > self.expected:
            with pytest.raises(services.InsufficientPoints):
                services.purchase_record(**call)
            return
        result = services.purchase_record(**call)
        assert result.points_earned == amount
        self.expected += amount - redeem
        assert result.balance == self.expected
        self.receipts[receipt] = amount

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def replay_purchase(self, data):
        receipt = data.draw(st.sampled_from(sorted(self.receipts)))
        before = BonusTransaction.objects.count()
        with pytest.raises(services.DuplicateEvent):
            services.purchase_record(
                customer=self.customer,
                store=self.store,
                receipt_id=receipt,
                amount=Decimal(1),
                currency="EUR",
                occurred_at=timezone.now(),
            )
        assert BonusTransaction.objects.count() == before

    @rule(data=st.data())
    def expire_a_lot(self, data):
        open_lots = list(BonusLot.objects.filter(account__customer=self.customer, remaining__gt=0).order_by("id"))
        if not open_lots:
            return
        lot = data.draw(st.sampled_from(open_lots))
        BonusLot.objects.filter(pk=lot.pk).update(expires_at=timezone.now() - days(1))  # time passes for it
        services.lots_expire_due()
        self.expected -= lot.remaining

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def reverse(self, data):
        receipt = data.draw(st.sampled_from(sorted(self.receipts)))
        if receipt in self.reversed:
            first = BonusTransaction.objects.get(
                source=f"pos:{self.store.code}", idempotency_key=f"receipt:{receipt}:reversal"
            )
            again = services.purchase_reverse(store=self.store, receipt_id=receipt)
            assert again.already_reversed and again.transaction_id == first.pk
            assert again.balance == self.expected
            return
        redemption = BonusTransaction.objects.filter(
            source=f"pos:{self.store.code}", idempotency_key=f"receipt:{receipt}:redemption"
        ).first()
        now = timezone.now()
        returned_alive = 0
        if redemption:
            returned_alive = -sum(
                m.points for m in redemption.movements.select_related("lot") if m.lot.expires_at > now
            )
        result = services.purchase_reverse(store=self.store, receipt_id=receipt)
        taken = min(self.receipts[receipt], self.expected + returned_alive)
        self.expected += returned_alive - taken
        assert result.points_taken_back == taken
        assert result.balance == self.expected
        self.reversed.add(receipt)

    @invariant()
    def ledger_agrees(self):
        if not hasattr(self, "customer"):
            return
        account = BonusAccount.objects.filter(customer=self.customer).first()
        if account is None:
            assert self.expected == 0
            return
        lots = account.lots.aggregate(total=Sum("remaining", default=0))["total"]
        ledger = account.transactions.aggregate(total=Sum("points", default=0))["total"]
        assert account.balance == lots == ledger == self.expected >= 0
        assert not account.lots.filter(remaining__lt=0).exists()


@pytest.mark.django_db
def test_ledger_invariants_hold_over_thousands_of_steps():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
