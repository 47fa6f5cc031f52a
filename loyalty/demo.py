"""A demo purchase history: what the tills would have posted for demo customers over the last year.

The ledger comes out as ``purchase_record`` would have written it, a sale at a time, but a chunk
of customers in a few COPY statements: per purchase an accrual at the rate of the tier held then
(the base rate when there are no tiers), its lot expiring at the month end the programme gives,
and the lot's movement; for some customers a redemption on their latest receipt, recorded before
that receipt's accrual as the till does, taking from the lots first to expire first; each
account's balance is what its lots hold and its tier what its year's spend earns. Earning rules
(promotions) are not replayed, and every lot is still open: the history is younger than a lot's
validity.
"""

import datetime
import random
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.bulk_load import EpochSecond, ids_next, ids_take, moment_text, rows_load
from crm.models import Customer, Store
from loyalty.models import BonusAccount, BonusLot, BonusTransaction, LotMovement, Tier
from loyalty.program import lot_expiry

ACCRUAL, REDEMPTION = BonusTransaction.Kind.ACCRUAL, BonusTransaction.Kind.REDEMPTION
CURRENCIES = {"EE": "EUR", "FI": "EUR", "SE": "SEK", "RU": "RUB"}
HISTORY_DAYS = 360  # shorter than a lot's validity (12 months to a month end): no lot has expired yet
BUYERS = 0.7  # the share of customers who bought anything
MEAN_EXTRA_PURCHASES = 1.7  # a buyer's purchases after the first, on average
MOST_PURCHASES = 12
REDEEMERS = 0.2  # the share of repeat buyers who spent points on their latest receipt
AT_HOME_STORE = 0.85
CHUNK = 20_000  # customers read and written at a time: memory stays flat however many there are

TX_FIELDS = (
    "id", "account", "kind", "points", "source", "idempotency_key", "occurred_at", "store", "receipt_id",
    "amount", "currency", "base_amount", "created_at",
)  # fmt: skip
LOT_FIELDS = ("id", "account", "credit", "points", "remaining", "expires_at", "created_at")
MOVEMENT_FIELDS = ("transaction", "lot", "points")
ACCOUNT_FIELDS = (
    "id", "customer", "balance", "tier", "spend_12m", "purchases_12m", "last_purchase_at", "created_at", "updated_at"
)  # fmt: skip


def _ratio(value) -> tuple[int, int]:
    return Decimal(str(value)).as_integer_ratio()


def _amount_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


@dataclass
class _Chunk:
    """One chunk's rows, with ids counted on from the next free id of each table."""

    account: int
    transaction: int
    lot: int
    accounts: list[tuple] = field(default_factory=list)
    transactions: list[tuple] = field(default_factory=list)
    lots: list[tuple] = field(default_factory=list)
    movements: list[tuple] = field(default_factory=list)
    purchases: int = 0


class _History:
    """Draws each customer's purchases and writes them as the ledger's rules would (see the module)."""

    def __init__(self, *, rng: random.Random, now: datetime.datetime):
        self.draw, self.expo = rng.random, rng.expovariate
        self.now = int(now.timestamp())
        stores = list(Store.objects.filter(is_active=True).select_related("district"))
        self.store_codes = {store.pk: f"pos:{store.code}" for store in stores}
        by_country: dict[str, list[int]] = defaultdict(list)
        for store in stores:
            by_country[store.district.country].append(store.pk)
        self.stores_by_country = dict(by_country)
        self.any_store = [store.pk for store in stores]
        rates = settings.LOYALTY_EXCHANGE_RATES
        base = settings.LOYALTY_BASE_CURRENCY
        self.currencies = {}  # country -> (currency, its rate as p/q)
        for country, currency in CURRENCIES.items():
            currency = currency if currency in rates else base
            self.currencies[country] = (currency, *_ratio(rates.get(currency, 1)))
        self.base_currency = (base, *_ratio(rates.get(base, 1)))
        tiers = list(Tier.objects.order_by("min_spend"))
        # Spend (cents) from which each tier holds, and (tier id, earning rate as p/q); the base rate below.
        self.tier_floors = [int(tier.min_spend * 100) for tier in tiers]
        self.tiers = [(tier.pk, *_ratio(tier.earn_rate)) for tier in tiers]
        self.base_rate = (None, *_ratio(settings.LOYALTY_POINTS_PER_UNIT))
        self.expiry_by_hour: dict[int, str | None] = {}

    def _tier(self, spend_cents: int) -> tuple[int | None, int, int]:
        position = bisect(self.tier_floors, spend_cents)
        return self.tiers[position - 1] if position else self.base_rate

    def _expiry(self, second: int) -> str:
        """``lot_expiry`` as text: the same for a whole hour unless a month ends inside it (then to the second)."""
        hour = second // 3600
        text = self.expiry_by_hour.get(hour, "")
        if text == "":
            start, end = (datetime.datetime.fromtimestamp(s, datetime.UTC) for s in (hour * 3600, hour * 3600 + 3599))
            first, last = lot_expiry(start), lot_expiry(end)
            text = self.expiry_by_hour[hour] = moment_text(int(first.timestamp())) if first == last else None
        if text is None:
            return moment_text(int(lot_expiry(datetime.datetime.fromtimestamp(second, datetime.UTC)).timestamp()))
        return text

    def customer(
        self, chunk: _Chunk, customer_id: int, card: str, home_store: int | None, country: str, joined: int
    ) -> None:
        draw = self.draw
        if draw() >= BUYERS:
            return
        since = max(joined, self.now - HISTORY_DAYS * 86400)
        span = self.now - 3600 - since
        stores = self.stores_by_country.get(country) or self.any_store
        if span < 3600 or not stores:
            return
        count = 1 + min(MOST_PURCHASES - 1, int(self.expo(1 / MEAN_EXTRA_PURCHASES)))
        moments = sorted(since + int(draw() * span) for _ in range(count))
        currency, rate_p, rate_q = self.currencies.get(country, self.base_currency)
        redeems = count > 1 and draw() < REDEEMERS
        account = chunk.account
        chunk.account += 1
        lots: list[list] = []  # [id, account, credit, points, remaining, expires_at, created_at], in order of expiry
        spend = balance = 0
        tier = None
        transactions, movements = chunk.transactions, chunk.movements
        for number, moment in enumerate(moments, start=1):
            at = moment_text(moment)
            store = home_store if home_store in self.store_codes and draw() < AT_HOME_STORE else None
            store = store or stores[int(draw() * len(stores))]
            source, receipt = self.store_codes[store], f"{card}-{number}"
            if redeems and number == count and balance >= 20:
                wanted = max(1, int(balance * (0.3 + 0.7 * draw())))
                tx = chunk.transaction
                chunk.transaction += 1
                transactions.append(
                    (tx, account, REDEMPTION, -wanted, source, f"receipt:{receipt}:redemption", at, store, receipt,
                     None, "", "0", at)
                )  # fmt: skip
                need = wanted
                for lot in lots:
                    step = min(need, lot[4])
                    if step:
                        lot[4] -= step
                        need -= step
                        movements.append((tx, lot[0], -step))
                    if not need:
                        break
                balance -= wanted
            # A price of about 5-180 in the base currency, in the local one; points as the till reckons them.
            amount = max(1, (500 + int(draw() ** 2 * 17_500)) * rate_q // rate_p)
            base = (2 * amount * rate_p + rate_q) // (2 * rate_q)  # to_base_currency: cents, half up
            tier, earn_p, earn_q = self._tier(spend)
            points = base * earn_p // (100 * earn_q)
            tx = chunk.transaction
            chunk.transaction += 1
            transactions.append(
                (tx, account, ACCRUAL, points, source, f"receipt:{receipt}:accrual", at, store, receipt,
                 _amount_text(amount), currency, _amount_text(base), at)
            )  # fmt: skip
            spend += base
            chunk.purchases += 1
            if points:
                lots.append([chunk.lot, account, tx, points, points, self._expiry(moment), at])
                movements.append((tx, chunk.lot, points))
                chunk.lot += 1
                balance += points
        tier, _p, _q = self._tier(spend)
        chunk.lots.extend(map(tuple, lots))
        last = moment_text(moments[-1])
        chunk.accounts.append(
            (account, customer_id, balance, tier, _amount_text(spend), count, last, moment_text(moments[0]), last)
        )


def _customers(customer_ids: range) -> Iterator[list[tuple]]:
    for low in range(customer_ids.start, customer_ids.stop, CHUNK):
        yield list(
            Customer.objects.filter(pk__gte=low, pk__lt=min(low + CHUNK, customer_ids.stop))
            .annotate(joined=EpochSecond("created_at"))
            .order_by("pk")
            .values_list("pk", "external_id", "home_store_id", "country", "joined")
        )


def _first_card(customer_ids: range) -> str:
    """What the draws are keyed by besides the seed: the first customer's card, not an id the database gave."""
    return Customer.objects.filter(pk=customer_ids.start).values_list("external_id", flat=True).first() or ""


def purchase_history_seed(*, customer_ids: range, seed: int = 1, now: datetime.datetime | None = None) -> int:
    """Give demo customers (by id) accounts and a year of purchases; returns how many purchases.

    The same seed gives the same history for the same customers and ``now``.
    """
    history = _History(rng=random.Random(f"loyalty-demo:{seed}:{_first_card(customer_ids)}"), now=now or timezone.now())
    purchases = 0
    with transaction.atomic():
        for customers in _customers(customer_ids):
            chunk = _Chunk(
                account=ids_next(BonusAccount), transaction=ids_next(BonusTransaction), lot=ids_next(BonusLot)
            )
            for customer_id, card, home_store, country, joined in customers:
                history.customer(chunk, customer_id, card or f"C{customer_id}", home_store, country, joined)
            rows_load(BonusAccount, ACCOUNT_FIELDS, chunk.accounts)
            rows_load(BonusTransaction, TX_FIELDS, chunk.transactions)
            rows_load(BonusLot, LOT_FIELDS, chunk.lots)
            rows_load(LotMovement, MOVEMENT_FIELDS, chunk.movements)
            for model, rows in ((BonusAccount, chunk.accounts), (BonusTransaction, chunk.transactions),
                                (BonusLot, chunk.lots)):  # fmt: skip
                if rows:
                    ids_take(model, rows[0][0], len(rows))
            purchases += chunk.purchases
    return purchases
