"""Every write to the bonus ledger.

All changes to one account happen under that account's row lock (``SELECT ... FOR UPDATE``),
so the cached balance, the lots and the ledger always agree, and the database's check
constraints refuse anything that would make a balance or a lot negative. Signals go out
only after the transaction commits.

A refund takes back what its sale earned even when those points were already spent: what the
balance cannot give back becomes the account's debt (never a negative lot), and the next points
that arrive pay it before they can be spent, in a ``debt_repayment`` line of the ledger. So for
every account ``earned − taken back − spent − expired == balance − debt``.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Max, OuterRef, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from config.sql import columns, from_row, insert_parts, select_list
from crm.models import Customer, Store
from crm.selectors import customers_with_birthday
from loyalty import signals
from loyalty.models import (
    BonusAccount,
    BonusLot,
    BonusTransaction,
    Dispute,
    ExpiryWarning,
    LotMovement,
    Tier,
)
from loyalty.program import (
    ROLLING_YEAR,
    earning_rules,
    gift_expiry,
    lot_expiry,
    points_for,
    program_zone,
    tier_by_id,
    tier_for_spend,
    to_base_currency,
)

Kind = BonusTransaction.Kind


class LoyaltyError(Exception):
    code = "loyalty_error"
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field:
            self.field = field


class InsufficientPoints(LoyaltyError):
    code = "insufficient_points"


class DuplicateEvent(LoyaltyError):
    code = "duplicate"


class ReceiptNotFound(LoyaltyError):
    code = "receipt_not_found"


# --- Locking and the two primitive moves ----------------------------------------------------------


def account_lock(*, customer: Customer) -> BonusAccount:
    """The customer's account, created on first use, locked for the current transaction."""
    account, _created = BonusAccount.objects.get_or_create(customer=customer)
    return BonusAccount.objects.select_for_update().get(pk=account.pk)


_LOCK_BY = {}


def account_lock_by(*, external_id: str = "", email: str = "", phone: str = "") -> BonusAccount | None:
    """The account of the customer one identifier finds, locked, in one statement with its customer.

    The till's hot path: the card (or phone, or e-mail) lookup, the row lock and whether any lot
    is due to expire (``has_due_lots``) come back in one round trip, in one statement text per
    identifier, built once (the ORM would compile it on every sale). None when
    the customer is unknown or has no account yet (``account_lock`` then creates it); callers with
    several identifiers use ``crm.selectors.customer_find``, which decides which of them wins.
    """
    given = [
        (column, value) for column, value in (("external_id", external_id), ("email", email), ("phone", phone)) if value
    ]
    if len(given) != 1:
        raise ValueError("exactly one identifier")
    [(column, value)] = given
    if connection.vendor != "postgresql":
        due = BonusLot.objects.filter(account=OuterRef("pk"), remaining__gt=0, expires_at__lte=timezone.now())
        return (
            BonusAccount.objects.select_for_update(of=("self",))
            .select_related("customer")
            .annotate(has_due_lots=Exists(due))
            .filter(**{f"customer__{column}": value})
            .first()
        )
    if column not in _LOCK_BY:
        _LOCK_BY[column] = (
            f"SELECT {select_list(BonusAccount, 'a')}, {select_list(Customer, 'c')}, "
            "EXISTS (SELECT 1 FROM loyalty_bonuslot l WHERE l.account_id = a.id AND l.remaining > 0 "
            "AND l.expires_at <= %s) "
            f"FROM loyalty_bonusaccount a JOIN crm_customer c ON c.id = a.customer_id WHERE c.{column} = %s "
            "ORDER BY a.id LIMIT 1 FOR UPDATE OF a"
        )
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_BY[column], [timezone.now(), value])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(BonusAccount._meta.concrete_fields)
    account = from_row(BonusAccount, row[:split])
    account.customer = from_row(Customer, row[split:-1])
    account.has_due_lots = row[-1]
    return account


def _emit(signal, **event_fields) -> None:
    """Announce a bonus event inside the ledger's transaction (a transactional outbox).

    Receivers (notifications' outbox rows, surveys' invitations) write in this same transaction,
    so a message commits with the sale that causes it or rolls back with it: never a sale
    without its message, never a message about a sale that did not happen.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("bonus events are sent inside the ledger's transaction")
    signal.send(sender=BonusTransaction, event=signals.BonusEvent(**event_fields))


def _credit(
    account: BonusAccount,
    *,
    kind: str,
    points: int,
    expires_at: datetime.datetime,
    at: datetime.datetime,
    save: bool = False,
    **fields,
) -> BonusTransaction:
    """Write a positive transaction and the lot it opens; the lot pays the account's debt first.

    ``save``: then save the account's cached figures too (``_save_balance``), in the same
    statement where the credit takes the one-statement way.
    """
    if points > 0 and not account.debt and connection.vendor == "postgresql":
        account.balance += points
        return _insert_credit(account, kind=kind, points=points, expires_at=expires_at, save=save, **fields)
    tx = BonusTransaction.objects.create(account=account, kind=kind, points=points, **fields)
    if points > 0:
        lot = BonusLot.objects.create(
            account=account, credit=tx, points=points, remaining=points, expires_at=expires_at
        )
        LotMovement.objects.create(transaction=tx, lot=lot, points=points)
        account.balance += points
        _repay_debt(account, arrived=[lot], cause=tx, at=at)
    if save:
        _save_balance(account)
    return tx


def _insert_credit(
    account: BonusAccount, *, kind: str, points: int, expires_at: datetime.datetime, save: bool, **fields
) -> BonusTransaction:
    """A credit's ledger line, its lot and the lot's opening movement (and with ``save`` the
    account's cached figures, already updated in ``account``), in one statement.

    The same rows ``_credit`` writes one by one, chained by a data-modifying CTE so a sale costs
    one round trip for them (the POS path's query budget); the idempotency key's unique index
    refuses a duplicate exactly as a plain insert would.
    """
    qn = connection.ops.quote_name
    tx = BonusTransaction(account=account, kind=kind, points=points, **fields)
    lot = BonusLot(account=account, points=points, remaining=points, expires_at=expires_at)
    tx_fields, tx_marks, tx_values = insert_parts(tx)
    lot_fields, lot_marks, lot_values = insert_parts(lot)
    credit = lot_fields.index(BonusLot._meta.get_field("credit"))
    lot_marks[credit], lot_values = "tx.id", lot_values[:credit] + lot_values[credit + 1 :]
    movement = LotMovement._meta
    sql = (
        f"WITH tx AS (INSERT INTO {qn(tx._meta.db_table)} ({columns(tx_fields)}) "
        f"VALUES ({', '.join(tx_marks)}) RETURNING id), "
        f"lot AS (INSERT INTO {qn(lot._meta.db_table)} ({columns(lot_fields)}) "
        f"SELECT {', '.join(lot_marks)} FROM tx RETURNING id, {qn('credit_id')}), "
        f"mv AS (INSERT INTO {qn(movement.db_table)} ({qn('transaction_id')}, {qn('lot_id')}, {qn('points')}) "
        f"SELECT credit_id, id, %s FROM lot RETURNING transaction_id, lot_id) "
    )
    params = [*tx_values, *lot_values, points]
    if save:
        account.updated_at = timezone.now()
        saved = [BonusAccount._meta.get_field(name) for name in _BALANCE_FIELDS]
        sets = ", ".join(f"{qn(field.column)} = %s" for field in saved)
        sql = f"{sql[:-1]}, saved AS (UPDATE {qn(BonusAccount._meta.db_table)} SET {sets} WHERE id = %s) "
        params += [field.get_db_prep_save(getattr(account, field.attname), connection) for field in saved]
        params.append(account.pk)
    sql += "SELECT transaction_id, lot_id FROM mv"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        tx.pk, lot.pk = cursor.fetchone()
    lot.credit = tx
    for obj in (tx, lot):
        obj._state.adding, obj._state.db = False, connection.alias
    return tx


def _repay_debt(
    account: BonusAccount, *, arrived: list[BonusLot], cause: BonusTransaction, at: datetime.datetime
) -> BonusTransaction | None:
    """Pay what the account owes from points that just arrived in ``arrived``, before anyone can spend them.

    While there is a debt the balance is zero, so whatever these lots hold has just arrived. They
    pay first to expire first, even a lot already due: returned points settle a debt before they
    can expire. The repayment is its own ledger line, keyed by the transaction that brought the
    points, so it is written once with it.
    """
    moves: list[tuple[BonusLot, int]] = []
    need = account.debt
    for lot in sorted(arrived, key=lambda lot: (lot.expires_at, lot.pk)):
        if need == 0:
            break
        step = min(need, lot.remaining)
        if step:
            moves.append((lot, -step))
            need -= step
    repaid = account.debt - need
    if not repaid:
        return None
    tx = BonusTransaction.objects.create(
        account=account,
        kind=Kind.DEBT_REPAYMENT,
        points=-repaid,
        debt_change=-repaid,
        source="system:debt",
        idempotency_key=f"repaid-by:{cause.pk}",
        occurred_at=at,
        store=cause.store,
        receipt_id=cause.receipt_id,
        reason=ngettext(
            "Repays %(points)s point owed from the points that just came in.",
            "Repays %(points)s points owed from the points that just came in.",
            repaid,
        )
        % {"points": repaid},
    )
    _apply_movements(account, tx, moves)
    account.debt -= repaid
    return tx


def _take(account: BonusAccount, points: int, *, at: datetime.datetime, first: list[BonusLot] = ()) -> list[tuple]:
    """Plan taking ``points`` from the account's open lots, first to expire first (ties by id).

    ``first`` lots are drawn before the rest, in the order given and even if already due (a refund
    takes back its own accrual's lot first, then the points it has just returned, before they can
    expire). Returns (lot, points) pairs; raises InsufficientPoints when the lots hold too few.
    """
    taken: list[tuple[BonusLot, int]] = []
    need = points
    preferred_ids = {lot.pk for lot in first}
    rest = (
        account.lots.filter(remaining__gt=0, expires_at__gt=at)
        .exclude(pk__in=preferred_ids)
        .order_by("expires_at", "id")
    )
    for lot in [*first, *rest]:
        if need == 0:
            break
        if lot.remaining <= 0:
            continue
        step = min(need, lot.remaining)
        taken.append((lot, step))
        need -= step
    if need:
        raise InsufficientPoints(
            ngettext(
                "Only %(available)s point is available.", "Only %(available)s points are available.", points - need
            )
            % {"available": points - need},
            field="redeem_points",
        )
    return taken


def _apply_movements(account: BonusAccount, tx: BonusTransaction, moves: list[tuple[BonusLot, int]]) -> None:
    """Write signed movements of ``tx`` and update lots and the cached balance to match."""
    LotMovement.objects.bulk_create(LotMovement(transaction=tx, lot=lot, points=delta) for lot, delta in moves)
    for lot, delta in moves:
        lot.remaining += delta
    BonusLot.objects.bulk_update([lot for lot, _delta in moves], ["remaining"])
    account.balance += sum(delta for _lot, delta in moves)


def _expire_due(account: BonusAccount, *, at: datetime.datetime) -> BonusTransaction | None:
    """Expire what is left of the account's lots that are due (caller holds the account lock)."""
    due = list(account.lots.filter(remaining__gt=0, expires_at__lte=at).order_by("expires_at", "id"))
    if not due:
        return None
    points = sum(lot.remaining for lot in due)
    # A lot can expire twice (a refund may return points into it after it expired), so the key
    # names the lot and its latest movement: unique, and the same if this very expiry is retried.
    last_movement = due[0].movements.aggregate(last=Max("id"))["last"]
    tx = BonusTransaction.objects.create(
        account=account,
        kind=Kind.EXPIRY,
        points=-points,
        source="system:expiry",
        idempotency_key=f"lot:{due[0].pk}:after:{last_movement}",
        occurred_at=at,
    )
    _apply_movements(account, tx, [(lot, -lot.remaining) for lot in due])
    _emit(
        signals.bonus_expired,
        kind="expired",
        customer_id=account.customer_id,
        account_id=account.pk,
        points=points,
        balance=account.balance,
        occurred_at=at,
        transaction_ids=(tx.pk,),
        lot_ids=tuple(lot.pk for lot in due),
    )
    return tx


_BALANCE_FIELDS = ("balance", "debt", "tier", "spend_12m", "purchases_12m", "last_purchase_at", "updated_at")


def _save_balance(account: BonusAccount) -> None:
    account.save(update_fields=_BALANCE_FIELDS)


# --- Purchases and refunds ----------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseResult:
    customer: Customer
    points_earned: int
    points_redeemed: int
    balance: int
    transaction_ids: tuple[int, ...]
    tier: Tier | None


def earning_multipliers(*, store: Store | None, tier: Tier | None, on: datetime.date) -> list[Decimal]:
    """The multipliers of every active rule for this store, tier and day (rules are read once per process)."""
    store_id, tier_id = (store.pk if store else None), (tier.pk if tier else None)
    return [
        rule.multiplier
        for rule in earning_rules()
        if rule.store_id in (None, store_id)
        and rule.tier_id in (None, tier_id)
        and (rule.starts_on is None or rule.starts_on <= on)
        and (rule.ends_on is None or rule.ends_on >= on)
    ]


def _count_in_rolling_year(
    account: BonusAccount, *, base_amount: Decimal, occurred_at: datetime.datetime, now: datetime.datetime, sign: int
) -> None:
    """Add (sign 1) or take back (sign -1, a refund) one sale in the account's rolling year, and
    set the tier its spend earns. A sale older than a year is not in it any more: a refund of one
    changes nothing. The nightly ``rolling_year_recount`` drops what ages out meanwhile."""
    if sign > 0 and (account.last_purchase_at is None or occurred_at > account.last_purchase_at):
        account.last_purchase_at = occurred_at
    if occurred_at > now - ROLLING_YEAR:
        account.spend_12m += sign * base_amount
        account.purchases_12m = max(0, account.purchases_12m + sign)
    tier = tier_for_spend(account.spend_12m)
    account.tier_id = tier.pk if tier else None


def purchase_record(
    *,
    customer: Customer | None = None,
    account: BonusAccount | None = None,
    store: Store,
    receipt_id: str,
    amount: Decimal,
    currency: str,
    occurred_at: datetime.datetime,
    redeem_points: int = 0,
    cashier_id: str = "",
    savepoint: bool = True,
) -> PurchaseResult:
    """Record a purchase: redeem points (if asked) from the balance before it, then accrue.

    Give the customer, or their ``account`` already locked in the caller's transaction
    (``account_lock_by``, the POS path). A receipt is recorded once per store; the same receipt
    again raises DuplicateEvent. Redeeming more than is available raises InsufficientPoints and
    writes nothing. ``savepoint=False`` is for a caller whose own transaction rolls back whole
    on any error (the POS API): it saves the savepoint's two round trips.
    """
    base_amount = to_base_currency(amount, currency)
    source = f"pos:{store.code}"
    common = {
        "source": source,
        "occurred_at": occurred_at,
        "store": store,
        "receipt_id": receipt_id,
        "cashier_id": cashier_id,
    }
    now = timezone.now()
    try:
        with transaction.atomic(savepoint=savepoint):
            if account is None:
                account = account_lock(customer=customer)
            customer = account.customer
            if getattr(account, "has_due_lots", True):
                _expire_due(account, at=now)
            tx_ids: list[int] = []
            if redeem_points:
                redemption = BonusTransaction.objects.create(
                    account=account,
                    kind=Kind.REDEMPTION,
                    points=-redeem_points,
                    idempotency_key=f"receipt:{receipt_id}:redemption",
                    **common,
                )
                _apply_movements(account, redemption, [(lot, -p) for lot, p in _take(account, redeem_points, at=now)])
                tx_ids.append(redemption.pk)
            tier = tier_by_id(account.tier_id)
            rate = tier.earn_rate if tier else Decimal(settings.LOYALTY_POINTS_PER_UNIT)
            local_day = occurred_at.astimezone(program_zone()).date()
            earned = points_for(
                base_amount, rate=rate, multipliers=earning_multipliers(store=store, tier=tier, on=local_day)
            )
            expires_at = lot_expiry(occurred_at)
            _count_in_rolling_year(account, base_amount=base_amount, occurred_at=occurred_at, now=now, sign=1)
            accrual = _credit(
                account,
                kind=Kind.ACCRUAL,
                points=earned,
                expires_at=expires_at,
                at=now,
                save=True,
                idempotency_key=f"receipt:{receipt_id}:accrual",
                amount=amount,
                currency=currency,
                base_amount=base_amount,
                **common,
            )
            tx_ids.append(accrual.pk)
            event = {
                "customer_id": customer.pk,
                "customer": customer,
                "account_id": account.pk,
                "balance": account.balance,
                "occurred_at": occurred_at,
                "store_id": store.pk,
                "receipt_id": receipt_id,
            }
            if redeem_points:
                _emit(
                    signals.bonus_redeemed, kind="redeemed", points=redeem_points, transaction_ids=(tx_ids[0],), **event
                )
            if earned:
                _emit(
                    signals.bonus_accrued,
                    kind="accrued",
                    points=earned,
                    transaction_ids=(accrual.pk,),
                    expires_at=expires_at,
                    **event,
                )
    except IntegrityError as exc:
        if "loyalty_tx_unique_idempotency_key" in str(exc):
            raise DuplicateEvent(
                _("Receipt %(receipt)s was already recorded in this store.") % {"receipt": receipt_id},
                field="receipt_id",
            ) from None
        raise
    return PurchaseResult(customer, earned, redeem_points, account.balance, tuple(tx_ids), tier_by_id(account.tier_id))


@dataclass(frozen=True)
class RefundResult:
    customer: Customer
    points_taken_back: int  # what the sale earned and the refund took back: from the balance or as a debt
    points_returned: int
    balance: int
    transaction_id: int
    already_reversed: bool
    debt: int = 0  # points the customer owes after the refund


def _expired_from(lot: BonusLot | None) -> int:
    """Points of ``lot`` that expired unspent: they are gone already, so a refund cannot take them back."""
    if lot is None:
        return 0
    expired = lot.movements.filter(transaction__kind=Kind.EXPIRY).aggregate(total=Sum("points", default=0))
    return -expired["total"]


def purchase_reverse(*, store: Store, receipt_id: str, reason: str = "") -> RefundResult:
    """Reverse a whole receipt: take back what it earned, give back what it spent.

    The points it earned are taken back from its own lot first, then from the points this refund
    returns, then first to expire first; what the balance cannot cover (it was spent) becomes the
    account's debt, noted in the reversal's ``debt_change`` and reason. Points of its lot that
    expired unspent are not taken back: the customer already lost them. Returned points pay that
    debt (and any older one) before anything else, even into a lot that has expired since.
    Reversing the same receipt again returns the first reversal.
    """
    source = f"pos:{store.code}"
    key = f"receipt:{receipt_id}:reversal"
    originals = list(
        BonusTransaction.objects.filter(
            source=source, idempotency_key__in=[f"receipt:{receipt_id}:accrual", f"receipt:{receipt_id}:redemption"]
        ).select_related("account__customer")
    )
    if not originals:
        raise ReceiptNotFound(
            _("No purchase with receipt %(receipt)s in this store.") % {"receipt": receipt_id}, field="receipt_id"
        )
    customer = originals[0].account.customer
    accrual = next((t for t in originals if t.kind == Kind.ACCRUAL), None)
    redemption = next((t for t in originals if t.kind == Kind.REDEMPTION), None)
    now = timezone.now()
    with transaction.atomic():
        account = account_lock(customer=customer)
        existing = BonusTransaction.objects.filter(source=source, idempotency_key=key).first()
        if existing:
            returned = sum(m.points for m in existing.movements.all() if m.points > 0)
            taken_back = returned - existing.points + existing.debt_change
            return RefundResult(customer, taken_back, returned, account.balance, existing.pk, True, debt=account.debt)
        _expire_due(account, at=now)
        tx = BonusTransaction.objects.create(
            account=account,
            kind=Kind.REVERSAL,
            points=0,  # the net of its movements, set below in this same transaction
            source=source,
            idempotency_key=key,
            occurred_at=now,
            store=store,
            receipt_id=receipt_id,
            amount=-accrual.amount if accrual and accrual.amount is not None else None,
            currency=accrual.currency if accrual else "",
            base_amount=-accrual.base_amount if accrual else 0,
            reverses=accrual or redemption,
        )
        # Give back what the receipt spent, into the lots it came from ...
        returned = 0
        arrived: list[BonusLot] = []
        if redemption:
            restore = [(m.lot, -m.points) for m in redemption.movements.select_related("lot")]
            _apply_movements(account, tx, restore)
            returned = sum(delta for _lot, delta in restore)
            arrived = sorted((lot for lot, _delta in restore), key=lambda lot: (lot.expires_at, lot.pk))
        # ... take back what it earned, its own lot first; what was spent is owed ...
        own_lot = BonusLot.objects.filter(credit=accrual).first() if accrual else None
        to_take = max(0, (accrual.points if accrual else 0) - _expired_from(own_lot))
        taken = min(to_take, account.balance)
        if taken:
            first = [own_lot, *arrived] if own_lot else arrived
            _apply_movements(account, tx, [(lot, -p) for lot, p in _take(account, taken, at=now, first=first)])
        owed = to_take - taken
        account.debt += owed
        tx.points = returned - taken
        tx.debt_change = owed
        tx.reason = reason
        if owed:
            shortfall = ngettext(
                "%(points)s point it earned was already spent: the customer owes it.",
                "%(points)s points it earned were already spent: the customer owes them.",
                owed,
            ) % {"points": owed}
            tx.reason = f"{reason} {shortfall}".strip()
        tx.save(update_fields=["points", "debt_change", "reason"])
        # ... and what is left of the returned points pays an older debt before it can expire.
        _repay_debt(account, arrived=arrived, cause=tx, at=now)
        _expire_due(account, at=now)  # a returned lot may have expired meanwhile
        if accrual:
            _count_in_rolling_year(
                account, base_amount=accrual.base_amount, occurred_at=accrual.occurred_at, now=now, sign=-1
            )
        _save_balance(account)
        _emit(
            signals.bonus_reversed,
            kind="reversed",
            customer_id=customer.pk,
            account_id=account.pk,
            points=abs(tx.points),
            balance=account.balance,
            occurred_at=now,
            transaction_ids=(tx.pk,),
            store_id=store.pk,
            receipt_id=receipt_id,
        )
    return RefundResult(customer, to_take, returned, account.balance, tx.pk, False, debt=account.debt)


# --- Staff adjustments and gifts ------------------------------------------------------------------


def points_adjust(
    *, customer: Customer, points: int, reason: str, staff, key: str | None = None, source: str | None = None
) -> BonusTransaction:
    """A staff correction, positive or negative, with a required reason.

    ``source`` and ``key`` name the adjustment for idempotency (default: this staff member, now):
    an adjustment whose (source, key) is already in the ledger raises DuplicateEvent and changes
    nothing, so a file of adjustments imported twice credits nobody twice.
    """
    if not points:
        raise LoyaltyError(_("An adjustment must change the balance."), field="points")
    if not reason.strip():
        raise LoyaltyError(_("Say why the balance is adjusted."), field="reason")
    now = timezone.now()
    common = {
        "kind": Kind.ADJUSTMENT,
        "source": source or f"staff:{staff.pk}",
        "idempotency_key": key or f"adjust:{now.isoformat()}:{customer.pk}",
        "occurred_at": now,
        "reason": reason.strip(),
        "staff": staff,
    }
    try:
        return _adjust(customer, points, now, common)
    except IntegrityError as exc:
        if "loyalty_tx_unique_idempotency_key" in str(exc):
            raise DuplicateEvent(_("This adjustment is in the ledger already."), field="key") from None
        raise


def _adjust(customer: Customer, points: int, now: datetime.datetime, common: dict) -> BonusTransaction:
    with transaction.atomic():
        account = account_lock(customer=customer)
        _expire_due(account, at=now)
        if points > 0:
            tx = _credit(account, points=points, expires_at=lot_expiry(now), at=now, **common)
        else:
            moves = [(lot, -p) for lot, p in _take(account, -points, at=now)]
            tx = BonusTransaction.objects.create(account=account, points=points, **common)
            _apply_movements(account, tx, moves)
        _save_balance(account)
        _emit(
            signals.bonus_adjusted,
            kind="adjusted",
            customer_id=customer.pk,
            account_id=account.pk,
            points=abs(points),
            balance=account.balance,
            occurred_at=now,
            transaction_ids=(tx.pk,),
        )
    return tx


def gift_grant(
    *,
    customer: Customer,
    points: int,
    reason: str,
    source: str,
    key: str,
    valid_days: int | None = None,
    occasion: str = "",
    occasion_name: str = "",
) -> BonusTransaction | None:
    """Credit gift points once per (source, key); returns None if that gift was already given.

    ``occasion`` ("birthday", "holiday", ...) and its ``occasion_name`` (the holiday's name) travel
    with the bonus event, so the message that follows greets for the occasion.
    """
    if points <= 0:
        raise LoyaltyError(_("A gift must be at least one point."), field="points")
    now = timezone.now()
    try:
        with transaction.atomic():
            account = account_lock(customer=customer)
            tx = _credit(
                account,
                kind=Kind.GIFT,
                points=points,
                expires_at=gift_expiry(now, valid_days),
                at=now,
                source=source,
                idempotency_key=key,
                occurred_at=now,
                reason=reason,
            )
            _save_balance(account)
            _emit(
                signals.bonus_gifted,
                kind="gifted",
                customer_id=customer.pk,
                account_id=account.pk,
                points=points,
                balance=account.balance,
                occurred_at=now,
                transaction_ids=(tx.pk,),
                expires_at=tx.lot.expires_at,
                occasion=occasion,
                occasion_name=occasion_name,
            )
    except IntegrityError as exc:
        if "loyalty_tx_unique_idempotency_key" in str(exc):
            return None
        raise
    return tx


# --- Jobs ---------------------------------------------------------------------------------------


# The rolling year of every account in a batch, recounted from the ledger: spend and purchases of
# the sales of the last 12 months that were not refunded, the latest sale, and the tier the spend earns.
_RECOUNT_SQL = """
WITH sales AS (
    SELECT sale.account_id,
           COALESCE(SUM(sale.base_amount) FILTER (WHERE sale.occurred_at > %(since)s AND refund.id IS NULL), 0) AS spend,
           COUNT(*) FILTER (WHERE sale.occurred_at > %(since)s AND refund.id IS NULL) AS purchases,
           MAX(sale.occurred_at) AS last_at
    FROM loyalty_bonustransaction sale
    LEFT JOIN loyalty_bonustransaction refund ON refund.reverses_id = sale.id AND refund.kind = 'reversal'
    WHERE sale.kind = 'accrual' AND sale.account_id = ANY(%(ids)s)
    GROUP BY sale.account_id
), counted AS (
    SELECT account.id, COALESCE(sales.spend, 0) AS spend, COALESCE(sales.purchases, 0) AS purchases, sales.last_at,
           (SELECT tier.id FROM loyalty_tier tier WHERE tier.min_spend <= COALESCE(sales.spend, 0)
            ORDER BY tier.min_spend DESC, tier.id DESC LIMIT 1) AS tier_id
    FROM loyalty_bonusaccount account LEFT JOIN sales ON sales.account_id = account.id
    WHERE account.id = ANY(%(ids)s)
)
UPDATE loyalty_bonusaccount account
SET spend_12m = counted.spend, purchases_12m = counted.purchases, last_purchase_at = counted.last_at,
    tier_id = counted.tier_id, updated_at = %(now)s
FROM counted
WHERE account.id = counted.id
  AND (account.spend_12m, account.purchases_12m, account.last_purchase_at, account.tier_id)
      IS DISTINCT FROM (counted.spend, counted.purchases, counted.last_at, counted.tier_id)
"""


def rolling_year_recount(*, now: datetime.datetime | None = None, batch_size: int = 5000) -> int:
    """Recount every account's rolling year from the ledger, set-based; returns how many changed.

    Purchases and refunds keep the figures current; this nightly job drops the sales that aged
    out of the year (and the tiers they held up) and repairs any drift. Each batch locks its
    accounts first, so the sums it then reads include every sale committed before the lock and a
    sale in flight waits for the batch, never lost between the count and the write.
    """
    now = now or timezone.now()
    changed, after = 0, 0
    while True:
        with transaction.atomic():
            ids = list(
                BonusAccount.objects.select_for_update()
                .filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return changed
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(_RECOUNT_SQL, {"ids": ids, "since": now - ROLLING_YEAR, "now": now})
                    changed += cursor.rowcount
            else:  # the embedded SQLite of `make run`: demo sizes, account by account
                changed += sum(_recount_one(account, now=now) for account in BonusAccount.objects.filter(pk__in=ids))
        after = ids[-1]


def _recount_one(account: BonusAccount, *, now: datetime.datetime) -> bool:
    """``_RECOUNT_SQL`` for one account, in the ORM."""
    sales = account.transactions.filter(kind=Kind.ACCRUAL)
    kept = sales.filter(occurred_at__gt=now - ROLLING_YEAR, reversals__isnull=True)
    before = (account.spend_12m, account.purchases_12m, account.last_purchase_at, account.tier_id)
    account.spend_12m = kept.aggregate(total=Sum("base_amount"))["total"] or Decimal(0)
    account.purchases_12m = kept.count()
    account.last_purchase_at = sales.aggregate(last=Max("occurred_at"))["last"]
    tier = tier_for_spend(account.spend_12m)
    account.tier_id = tier.pk if tier else None
    if (account.spend_12m, account.purchases_12m, account.last_purchase_at, account.tier_id) == before:
        return False
    account.save(update_fields=["spend_12m", "purchases_12m", "last_purchase_at", "tier", "updated_at"])
    return True


def lots_expire_due(*, now: datetime.datetime | None = None, batch_size: int = 200) -> int:
    """Expire every lot that is due, a batch of accounts per transaction. Safe to run twice."""
    now = now or timezone.now()
    expired = 0
    while True:
        account_ids = list(
            BonusLot.objects.filter(remaining__gt=0, expires_at__lte=now)
            .order_by("account_id")
            .values_list("account_id", flat=True)
            .distinct()[:batch_size]
        )
        if not account_ids:
            return expired
        with transaction.atomic():
            for account in BonusAccount.objects.select_for_update().filter(pk__in=account_ids).order_by("pk"):
                if _expire_due(account, at=now):
                    expired += 1
                    _save_balance(account)


def expiry_warnings_send(*, now: datetime.datetime | None = None) -> int:
    """Warn once per lot and offset (e.g. 30 and 7 days) before points expire.

    A lot is warned at the smallest configured offset it has reached and not been warned at or
    below (a lot first seen 5 days before expiry gets the 7-day warning, never a late 30-day one);
    lots of one account warned together make one event. Returns the number of events sent.
    """
    now = now or timezone.now()
    offsets = sorted(set(settings.LOYALTY_EXPIRY_WARNING_DAYS))
    events = 0
    claimed: set[int] = set()
    for days in offsets:
        horizon = now + datetime.timedelta(days=days)
        lots = list(
            BonusLot.objects.filter(remaining__gt=0, expires_at__gt=now, expires_at__lte=horizon)
            .exclude(pk__in=claimed)
            .exclude(warnings__days_before__lte=days)
            .select_related("account")
            .order_by("account_id", "expires_at", "id")
        )
        claimed.update(lot.pk for lot in lots)
        if not lots:
            continue
        with transaction.atomic():
            ExpiryWarning.objects.bulk_create(
                [ExpiryWarning(lot=lot, days_before=days, points=lot.remaining) for lot in lots],
                ignore_conflicts=True,
            )
            by_account: dict[int, list[BonusLot]] = defaultdict(list)
            for lot in lots:
                by_account[lot.account_id].append(lot)
            for account_id, account_lots in by_account.items():
                first = account_lots[0]
                _emit(
                    signals.bonus_expiring,
                    kind="expiring",
                    customer_id=first.account.customer_id,
                    account_id=account_id,
                    points=sum(lot.remaining for lot in account_lots),
                    balance=first.account.balance,
                    occurred_at=now,
                    expires_at=first.expires_at,
                    days_left=max(0, (first.expires_at - now).days),
                    days_before=days,
                    lot_ids=tuple(lot.pk for lot in account_lots),
                )
                events += 1
    return events


def birthday_gift_points() -> Coalesce:
    """Each customer's birthday gift: their tier's, else the programme's default (a tier may say 0)."""
    return Coalesce("bonus_account__tier__birthday_gift_points", Value(settings.LOYALTY_BIRTHDAY_GIFT_POINTS))


def birthday_gifts_grant(*, now: datetime.datetime | None = None) -> int:
    """Credit the birthday gift to customers whose birthday it is in their own time zone.

    The gift's size is the customer's tier's (``Tier.birthday_gift_points``), else
    ``LOYALTY_BIRTHDAY_GIFT_POINTS``; the message it causes is a birthday greeting. Once per
    customer per year (the gift's key is the year); run it hourly.
    """
    granted = 0
    for local_day, birthdays in customers_with_birthday(now=now):
        year = local_day.year
        customers = (
            birthdays.annotate(gift=birthday_gift_points())
            .filter(gift__gt=0)
            .exclude(
                bonus_account__transactions__source="system:birthday",
                bonus_account__transactions__idempotency_key__endswith=f":{year}",
            )
            .order_by("pk")
        )
        for customer in customers.iterator(chunk_size=500):
            if gift_grant(
                customer=customer,
                points=customer.gift,
                reason=_("Birthday gift"),
                source="system:birthday",
                key=f"{customer.pk}:{year}",
                occasion="birthday",
            ):
                granted += 1
    return granted


# --- Store reminders ------------------------------------------------------------------------------


def store_reminder_post(
    *,
    customer: Customer,
    store: Store,
    kind: str,
    reference: str,
    at: datetime.datetime,
    until: datetime.datetime | None = None,
    note: str = "",
    cancelled: bool = False,
) -> signals.StoreReminder:
    """Announce an order ready or an appointment (or its cancellation) in the caller's transaction.

    Loyalty owns the till's API but not messages: receivers (notifications) write the reminder in
    this same transaction, so the till's 2xx means the reminder is planned.
    """
    if kind not in ("order_ready", "appointment"):
        raise LoyaltyError(_("kind: one of order_ready, appointment"), field="kind")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("store reminders are sent inside the caller's transaction")
    reminder = signals.StoreReminder(
        kind=kind,
        customer=customer,
        store_id=store.pk,
        store_name=store.name,
        reference=reference,
        at=at,
        until=until,
        note=note,
        cancelled=cancelled,
    )
    signals.store_reminder.send(sender=Store, reminder=reminder)
    return reminder


# --- Disputes -------------------------------------------------------------------------------------


def dispute_open(*, transaction_id: int, customer: Customer, comment: str = "") -> Dispute:
    """Record a customer's "this wasn't me" about one of their bonus events (once per event)."""
    tx = BonusTransaction.objects.select_related("account").get(pk=transaction_id, account__customer=customer)
    dispute, created = Dispute.objects.get_or_create(
        transaction=tx, defaults={"customer": customer, "customer_comment": comment.strip()}
    )
    if not created and comment.strip() and not dispute.customer_comment:
        dispute.customer_comment = comment.strip()
        dispute.save(update_fields=["customer_comment"])
    return dispute


def dispute_resolve(*, dispute: Dispute, status: str, staff, note: str = "") -> Dispute:
    if status not in (Dispute.Status.CONFIRMED, Dispute.Status.REJECTED):
        raise LoyaltyError(_("A dispute is resolved as confirmed or rejected."), field="status")
    dispute.status = status
    dispute.staff_note = note or dispute.staff_note
    dispute.resolved_by = staff
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "staff_note", "resolved_by", "resolved_at"])
    return dispute
