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
# Not a bonus event: the till tells a customer their order is ready, or reminds them of a booking.
store_reminder = Signal()


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
    # What a gift celebrates ("birthday", "holiday") and its name (the holiday's, in the customer's language).
    occasion: str = ""
    occasion_name: str = ""
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
class StoreReminder:
    """A store's service message about one order or booking (``reference``), sent in the till's transaction.

    ``kind``: "order_ready" or "appointment". ``at``: when the order was ready or the appointment
    is; ``until``: when a ready order must be picked up by. ``cancelled``: the order or booking is
    off, and any reminder still waiting for it is withdrawn. Posting the same reference with
    another time replaces the reminder still waiting.
    """

    kind: str
    customer: Customer
    store_id: int
    store_name: str
    reference: str
    at: datetime.datetime
    until: datetime.datetime | None = None
    note: str = ""
    cancelled: bool = False
