"""The ledger's invariants over thousands of random steps, on PostgreSQL.

A small in-memory model of the account's lots (first to expire first, refunds, the debt) runs
beside the real services; after every step the database must agree with it lot by lot, and

    earned − taken back − spent − expired == balance − debt

with balance ≥ 0, debt ≥ 0 and never both above zero.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings as django_settings
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
from loyalty.program import gift_expiry, lot_expiry
from tests.crm.factories import CustomerFactory, StoreFactory
from tests.loyalty.factories import days

START = datetime.datetime(2026, 1, 15, 9, 30, tzinfo=datetime.UTC)


@dataclass
class Lot:
    seq: int  # creation order, which is the database's id order
    expires_at: datetime.datetime
    remaining: int
    expired: int = 0  # points that expired unspent


@dataclass
class Receipt:
    earned: int
    redeemed: int
    lot: Lot | None
    draws: list[tuple[Lot, int]] = field(default_factory=list)


class LedgerModel:
    """What the account should hold, computed without the database."""

    def __init__(self):
        self.lots: list[Lot] = []
        self.debt = 0
        self.earned = self.taken_back = self.spent = self.expired = 0

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots)

    def available(self, now) -> int:
        return sum(lot.remaining for lot in self.lots if lot.expires_at > now)

    def expire_due(self, now):
        for lot in self.lots:
            if lot.remaining and lot.expires_at <= now:
                self.expired += lot.remaining
                lot.expired += lot.remaining
                lot.remaining = 0

    def take(self, points, now, first=()) -> list[tuple[Lot, int]]:
        chosen = {id(lot) for lot in first}
        rest = sorted(
            (lot for lot in self.lots if id(lot) not in chosen and lot.expires_at > now),
            key=lambda lot: (lot.expires_at, lot.seq),
        )
        draws = []
        for lot in [*first, *rest]:
            step = min(points, lot.remaining)
            if step:
                lot.remaining -= step
                points -= step
                draws.append((lot, step))
        assert points == 0
        return draws

    def repay(self, arrived):
        for lot in sorted(arrived, key=lambda lot: (lot.expires_at, lot.seq)):
            step = min(self.debt, lot.remaining)
            lot.remaining -= step
            self.debt -= step

    def credit(self, points, expires_at) -> Lot | None:
        self.earned += points
        if not points:
            return None
        lot = Lot(seq=len(self.lots), expires_at=expires_at, remaining=points)
        self.lots.append(lot)
        self.repay([lot])
        return lot

    def refund(self, receipt: Receipt, now) -> int:
        self.expire_due(now)
        for lot, points in receipt.draws:
            lot.remaining += points
        self.spent -= receipt.redeemed
        arrived = sorted((lot for lot, _points in receipt.draws), key=lambda lot: (lot.expires_at, lot.seq))
        to_take = receipt.earned - (receipt.lot.expired if receipt.lot else 0)
        taken = min(to_take, self.balance)
        first = [receipt.lot, *arrived] if receipt.lot else arrived
        self.take(taken, now, first=first)
        self.debt += to_take - taken
        self.taken_back += to_take
        self.repay(arrived)
        self.expire_due(now)
        return to_take


class LedgerMachine(RuleBasedStateMachine):
    """Sell, redeem, gift, refund whole receipts, let time pass and replay, against one account."""

    @initialize()
    def setup(self):
        self.traveller = time_machine.travel(START, tick=False)
        self.clock = self.traveller.start()
        self.customer = CustomerFactory()
        self.store = StoreFactory()
        self.model = LedgerModel()
        self.receipts: dict[str, Receipt] = {}
        self.reversed: dict[str, int] = {}  # receipt -> points the refund took back
        self.counter = 0

    def teardown(self):
        if hasattr(self, "traveller"):
            self.traveller.stop()

    def _receipt(self) -> str:
        self.counter += 1
        return f"{self.customer.pk}-{self.counter}"

    @rule(amount=st.one_of(st.just(0), st.integers(1, 300)), age_days=st.integers(0, 60), data=st.data())
    def sale(self, amount, age_days, data):
        now = timezone.now()
        available = self.model.available(now)
        # Often all of it (a later refund then leaves a debt), sometimes more (refused, nothing written).
        redeem = data.draw(st.one_of(st.just(0), st.just(available), st.integers(0, available + 20)), label="redeem")
        receipt_id = self._receipt()
        occurred_at = now - days(age_days)
        call = {
            "customer": self.customer,
            "store": self.store,
            "receipt_id": receipt_id,
            "amount": Decimal(amount),
            "currency": "EUR",
            "occurred_at": occurred_at,
            "redeem_points": redeem,
        }
        if redeem > available:
            with pytest.raises(services.InsufficientPoints):
                services.purchase_record(**call)
            return
        result = services.purchase_record(**call)
        self.model.expire_due(now)
        draws = self.model.take(redeem, now) if redeem else []
        self.model.spent += redeem
        lot = self.model.credit(amount, lot_expiry(occurred_at))
        self.receipts[receipt_id] = Receipt(earned=amount, redeemed=redeem, lot=lot, draws=draws)
        assert (result.points_earned, result.points_redeemed, result.balance) == (amount, redeem, self.model.balance)

    @rule(points=st.integers(1, 200))
    def gift(self, points):
        gift = services.gift_grant(
            customer=self.customer, points=points, reason="goodwill", source="test:gift", key=self._receipt()
        )
        assert gift is not None
        self.model.credit(points, gift_expiry(timezone.now()))

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def refund(self, data):
        receipt_id = data.draw(st.sampled_from(sorted(self.receipts)), label="receipt")
        if receipt_id in self.reversed:
            before = BonusTransaction.objects.count()
            first = BonusTransaction.objects.get(
                source=f"pos:{self.store.code}", idempotency_key=f"receipt:{receipt_id}:reversal"
            )
            again = services.purchase_reverse(store=self.store, receipt_id=receipt_id)
            assert again.already_reversed and again.transaction_id == first.pk
            assert again.points_taken_back == self.reversed[receipt_id]
            assert (again.balance, again.debt) == (self.model.balance, self.model.debt)
            assert BonusTransaction.objects.count() == before
            return
        result = services.purchase_reverse(store=self.store, receipt_id=receipt_id)
        receipt = self.receipts[receipt_id]
        taken_back = self.model.refund(receipt, timezone.now())
        assert (result.points_taken_back, result.points_returned) == (taken_back, receipt.redeemed)
        assert (result.balance, result.debt) == (self.model.balance, self.model.debt)
        self.reversed[receipt_id] = taken_back

    @precondition(lambda self: self.receipts)
    @rule(data=st.data())
    def replay_sale(self, data):
        receipt_id = data.draw(st.sampled_from(sorted(self.receipts)), label="receipt")
        before = BonusTransaction.objects.count()
        with pytest.raises(services.DuplicateEvent):
            services.purchase_record(
                customer=self.customer,
                store=self.store,
                receipt_id=receipt_id,
                amount=Decimal(1),
                currency="EUR",
                occurred_at=timezone.now(),
            )
        assert BonusTransaction.objects.count() == before

    @rule(
        elapsed=st.one_of(st.integers(1, 40), st.integers(300, 500)).map(days),
        run_job=st.booleans(),
    )
    def time_passes(self, elapsed, run_job):
        """The clock moves on; the expiry job may run, or the next write expires what is due."""
        self.clock.shift(elapsed)
        if run_job:
            services.lots_expire_due(now=timezone.now())
            self.model.expire_due(timezone.now())

    @invariant()
    def ledger_agrees(self):
        if not hasattr(self, "customer"):
            return
        model = self.model
        account = BonusAccount.objects.filter(customer=self.customer).first()
        balance, debt = (account.balance, account.debt) if account else (0, 0)
        assert model.earned - model.taken_back - model.spent - model.expired == balance - debt
        assert (balance, debt) == (model.balance, model.debt)
        assert balance >= 0 and debt >= 0 and not (balance > 0 and debt > 0)
        if account is None:
            return
        lots = list(BonusLot.objects.filter(account=account).order_by("id").values_list("remaining", flat=True))
        assert lots == [lot.remaining for lot in model.lots]
        ledger = account.transactions.aggregate(points=Sum("points", default=0), debt=Sum("debt_change", default=0))
        assert (ledger["points"], ledger["debt"]) == (balance, debt)


@pytest.mark.django_db
def test_ledger_invariants_hold_over_thousands_of_steps():
    assert Decimal(django_settings.LOYALTY_POINTS_PER_UNIT) == 1  # the model earns one point per euro
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=50,
            deadline=None,
            database=None,  # nothing written outside tmp dirs; a failure prints its steps
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
