"""Domain signals: how the rest of the system hears about bonus events.

`loyalty` never imports `notifications`; it sends these inside the transaction that makes the
event (a transactional outbox: receivers write in it, and commit or roll back with it), each with
one ``event`` keyword argument (a :class:`BonusEvent`).
"""

import datetime
from dataclasses import dataclass, field

from django.dispatch import Signal

from crm.models import Customer

bonus_accrued = Signal()
bonus_redeemed = Signal()
bonus_gifted = Signal()
bonus_reversed = Signal()
bonus_adjusted = Signal()
bonus_expiring = Signal()
bonus_expired = Signal()
# Not a bonus event: the POS reports an order ready for pickup or a booked appointment; receivers
# remind the customer (one ``reminder`` keyword argument, a :class:`ServiceReminder`).
service_reminder = Signal()


@dataclass(frozen=True)
class BonusEvent:
    """What a notification about a bonus event needs, without touching the ledger again."""

    kind: str
    customer_id: int
    account_id: int
    points: int  # always positive: how many points this event is about
    balance: int  # the balance after the event
    occurred_at: datetime.datetime
    transaction_ids: tuple[int, ...] = ()
    store_id: int | None = None
    receipt_id: str = ""
    expires_at: datetime.datetime | None = None  # for credits and expiry warnings
    days_left: int | None = None  # for expiry warnings
    days_before: int | None = None  # the warning offset that fired
    lot_ids: tuple[int, ...] = field(default=())
    # The customer when the sender has it loaded already (a POS sale): receivers need not read it again.
    customer: Customer | None = field(default=None, compare=False, repr=False)

    @property
    def dedupe_key(self) -> str:
        """A stable key for this event: the same event must never be notified twice."""
        if self.kind == "expiring":
            return f"bonus-expiring:{self.account_id}:{self.days_before}:{min(self.lot_ids)}"
        return f"bonus-{self.kind}:{self.transaction_ids[0]}"

    @property
    def is_new(self) -> bool:
        """Whether the key names ledger lines written in this very transaction: nothing was planned for it yet."""
        return self.kind != "expiring"


@dataclass(frozen=True)
class ServiceReminder:
    """An order ready for pickup or an appointment, as the POS reported it."""

    kind: str  # "order_ready" or "appointment"
    customer: Customer
    store_id: int
    store_name: str
    reference: str  # the order or booking number at the store
    at: datetime.datetime | None  # the appointment (or when the order was ready)
    notify_from: datetime.datetime  # when the reminder may go out (an appointment: the day before)
    note: str = ""

    @property
    def dedupe_key(self) -> str:
        return f"{self.kind}:{self.store_id}:{self.reference}"
