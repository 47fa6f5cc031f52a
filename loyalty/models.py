import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from crm.models import Customer, Store


class Tier(models.Model):
    """A level earned by 12-month spend, with its own earning rate."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64)
    min_spend = models.DecimalField(
        _("minimum 12-month spend"), max_digits=12, decimal_places=2, default=0, help_text=_("In the base currency")
    )
    earn_rate = models.DecimalField(
        _("points per currency unit"),
        max_digits=6,
        decimal_places=3,
        default=1,
        help_text=_("Base points per unit of the base currency, before multipliers"),
    )
    birthday_gift_points = models.PositiveIntegerField(
        _("birthday gift"),
        null=True,
        blank=True,
        help_text=_("Points credited on the customer's birthday; empty: the programme's default, 0: a greeting only"),
    )
    holiday_gift_points = models.PositiveIntegerField(
        _("holiday gift"),
        default=0,
        help_text=_("Points credited with a holiday greeting that offers a gift; 0: a greeting only"),
    )

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["min_spend"]
        constraints = [
            models.CheckConstraint(condition=Q(min_spend__gte=0), name="loyalty_tier_min_spend_gte_0"),
            models.CheckConstraint(condition=Q(earn_rate__gte=0), name="loyalty_tier_earn_rate_gte_0"),
        ]

    def __str__(self):
        return self.name


class EarningRule(models.Model):
    """A multiplier on earned points: for a store, a tier and/or a date range (a promotion).

    Every active rule that applies to a purchase multiplies its points; a rule with no store,
    tier or dates applies to every purchase.
    """

    name = models.CharField(_("name"), max_length=100)
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2, default=1)
    store = models.ForeignKey(Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE)
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.CASCADE)
    starts_on = models.DateField(pgettext_lazy("start date", "from"), null=True, blank=True)
    ends_on = models.DateField(_("until (inclusive)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(multiplier__gte=0), name="loyalty_rule_multiplier_gte_0"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True) | Q(ends_on__isnull=True) | Q(ends_on__gte=F("starts_on")),
                name="loyalty_rule_dates_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.name} ×{self.multiplier}"


class BonusAccount(models.Model):
    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="bonus_account"
    )
    # Cached sum of the ledger, written only under this row's lock (SELECT ... FOR UPDATE).
    balance = models.IntegerField(_("balance"), default=0)
    # Points a refund should have taken back but that were already spent: the next points that
    # arrive (purchases, gifts, credits, returned points) pay it before they can be spent.
    # The cached sum of the ledger's debt changes, written under the same lock.
    debt = models.IntegerField(
        _("debt"), default=0, help_text=_("Points owed: refunded sales' points that were already spent")
    )
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), null=True, blank=True, on_delete=models.SET_NULL)
    # The rolling year, kept by every purchase and refund under the row lock (so a sale never sums
    # a year of ledger) and recounted each night from the ledger, dropping what aged out
    # (services.rolling_year_recount). The tier follows spend_12m; segments read all three.
    spend_12m = models.DecimalField(
        _("12-month spend"), max_digits=14, decimal_places=2, default=0, help_text=_("In the base currency")
    )
    purchases_12m = models.PositiveIntegerField(_("purchases in 12 months"), default=0)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("bonus account")
        verbose_name_plural = _("bonus accounts")
        ordering = ["-id"]
        permissions = [
            ("view_liability", _("Can see the points liability report")),
            ("adjust_points", _("Can adjust a customer's points balance")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_account_balance_gte_0"),
            models.CheckConstraint(condition=Q(debt__gte=0), name="loyalty_account_debt_gte_0"),
            # Points that arrive pay the debt first, so points and a debt never sit side by side.
            models.CheckConstraint(condition=Q(balance=0) | Q(debt=0), name="loyalty_account_balance_or_debt"),
        ]

    def __str__(self):
        return ngettext("%(customer)s: %(balance)s point", "%(customer)s: %(balance)s points", self.balance) % {
            "customer": self.customer,
            "balance": self.balance,
        }


class BonusTransaction(models.Model):
    """One append-only line of the ledger. Its points equal the sum of its lot movements."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", _("accrual")
        REDEMPTION = "redemption", _("redemption")
        EXPIRY = "expiry", _("expiry")
        GIFT = "gift", _("gift")
        ADJUSTMENT = "adjustment", _("adjustment")
        REVERSAL = "reversal", _("reversal")
        DEBT_REPAYMENT = "debt_repayment", _("debt repayment")

    account = models.ForeignKey(
        BonusAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="transactions",
        db_index=False,  # loyalty_tx_account_idx (account, -occurred_at) serves it: one index write less per sale
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    points = models.IntegerField(_("points"), help_text=_("Positive adds to the balance, negative takes from it"))
    debt_change = models.IntegerField(
        _("debt change"),
        default=0,
        help_text=_("Positive: points a refund could not take back (owed); negative: owed points repaid"),
    )
    # Unique per source: a POS retry, a re-run job or a double click writes nothing twice.
    source = models.CharField(_("source"), max_length=64)
    idempotency_key = models.CharField(_("idempotency key"), max_length=128)
    occurred_at = models.DateTimeField(_("occurred"))
    store = models.ForeignKey(Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.PROTECT)
    receipt_id = models.CharField(_("receipt"), max_length=64, blank=True)
    cashier_id = models.CharField(_("cashier"), max_length=64, blank=True)
    amount = models.DecimalField(_("purchase amount"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    # The amount in the programme's base currency: what tier spend adds up (negative on refunds).
    base_amount = models.DecimalField(_("amount in base currency"), max_digits=12, decimal_places=2, default=0)
    reason = models.TextField(_("reason"), blank=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True, on_delete=models.PROTECT
    )
    reverses = models.ForeignKey(
        "self", verbose_name=_("reverses"), null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("bonus transaction")
        verbose_name_plural = _("bonus transactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "idempotency_key"], name="loyalty_tx_unique_idempotency_key"),
            models.CheckConstraint(
                condition=~Q(kind__in=["accrual", "gift"]) | Q(points__gte=0), name="loyalty_tx_credit_not_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["redemption", "expiry"]) | Q(points__lt=0), name="loyalty_tx_debit_negative"
            ),
            models.CheckConstraint(
                condition=~Q(kind="adjustment") | (~Q(reason="") & Q(staff__isnull=False)),
                name="loyalty_tx_adjustment_has_reason_and_staff",
            ),
            # Only a refund runs up a debt, and a repayment pays exactly the points it takes.
            models.CheckConstraint(
                condition=Q(debt_change=0) | Q(kind="reversal", debt_change__gt=0) | Q(kind="debt_repayment"),
                name="loyalty_tx_debt_change_by_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="debt_repayment") | (Q(points__lt=0) & Q(debt_change=F("points"))),
                name="loyalty_tx_repayment_pays_what_it_takes",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-occurred_at"], name="loyalty_tx_account_idx"),
            # Receipt first: staff find a receipt without knowing its store (admin search); the store's
            # own index serves the store filter.
            models.Index(fields=["receipt_id", "store"], name="loyalty_tx_by_receipt_idx"),
            # The admin's filter by kind: gifts, staff adjustments, refunds and debt repayments are rare
            # and are what staff look for; the kinds every sale and the expiry job write are left out,
            # so the index costs the till next to nothing.
            models.Index(
                fields=["kind"],
                condition=~Q(kind__in=["accrual", "redemption", "expiry"]),
                name="loyalty_tx_kind_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.points:+d}"


class BonusLot(models.Model):
    """Points credited together that expire together; redemption takes from the first to expire."""

    account = models.ForeignKey(BonusAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="lots")
    credit = models.OneToOneField(
        BonusTransaction, verbose_name=_("credited by"), on_delete=models.PROTECT, related_name="lot"
    )
    points = models.PositiveIntegerField(_("points credited"))
    remaining = models.IntegerField(_("points remaining"))
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("bonus lot")
        verbose_name_plural = _("bonus lots")
        ordering = ["expires_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("points")), name="loyalty_lot_remaining_in_range"
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "expires_at", "id"], condition=Q(remaining__gt=0), name="loyalty_lot_open_idx"
            ),
            models.Index(fields=["expires_at"], condition=Q(remaining__gt=0), name="loyalty_lot_due_idx"),
        ]

    def __str__(self):
        return f"{self.remaining}/{self.points} → {self.expires_at:%Y-%m-%d}"


class LotMovement(models.Model):
    """Points a transaction put into (+) or took out of (−) a lot."""

    transaction = models.ForeignKey(BonusTransaction, on_delete=models.PROTECT, related_name="movements")
    lot = models.ForeignKey(BonusLot, on_delete=models.PROTECT, related_name="movements")
    points = models.IntegerField()

    class Meta:
        verbose_name = _("lot movement")
        verbose_name_plural = _("lot movements")
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(points=0), name="loyalty_movement_not_zero")]

    def __str__(self):
        return f"{self.points:+d}"


class ExpiryWarning(models.Model):
    """A warning sent for a lot at one of the configured offsets: at most once per lot and offset."""

    lot = models.ForeignKey(BonusLot, on_delete=models.CASCADE, related_name="warnings")
    days_before = models.PositiveSmallIntegerField(_("days before"))
    points = models.PositiveIntegerField(_("points at warning"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("expiry warning")
        verbose_name_plural = _("expiry warnings")
        constraints = [
            models.UniqueConstraint(fields=["lot", "days_before"], name="loyalty_expiry_warning_once"),
        ]

    def __str__(self):
        return f"{self.lot_id} −{self.days_before}d"


class Dispute(models.Model):
    """A customer's "this wasn't me" about a bonus event: how cashier fraud comes to light."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CONFIRMED = "confirmed", _("confirmed: not the customer")
        REJECTED = "rejected", _("rejected: the customer's own")

    transaction = models.ForeignKey(
        BonusTransaction, verbose_name=_("bonus event"), on_delete=models.PROTECT, related_name="disputes"
    )
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.OPEN)
    customer_comment = models.TextField(_("customer's words"), blank=True)
    staff_note = models.TextField(_("staff note"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("resolved by"), null=True, blank=True, on_delete=models.PROTECT
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    created_at = models.DateTimeField(_("reported"), auto_now_add=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["transaction"], name="loyalty_dispute_once_per_event")]

    def __str__(self):
        return _("Dispute of %(event)s") % {"event": self.transaction}


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class PosApiKey(models.Model):
    """A point-of-sale system's key, bound to its store. Only the SHA-256 of the key is stored."""

    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="pos_keys")
    name = models.CharField(_("name"), max_length=100, blank=True, help_text=_("e.g. till 3"))
    prefix = models.CharField(_("key starts with"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("POS API key")
        verbose_name_plural = _("POS API keys")
        ordering = ["store__code", "-created_at"]

    def __str__(self):
        return f"{self.store.code} {self.prefix}…"

    @staticmethod
    def generate() -> str:
        return "pos_" + secrets.token_urlsafe(32)


class IdempotencyRecord(models.Model):
    """The first response to a POS request with an Idempotency-Key, replayed for repeats."""

    # Not indexed alone: the unique (api_key, key) serves look-ups by key (one index write less per request).
    api_key = models.ForeignKey(PosApiKey, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    endpoint = models.CharField(max_length=100)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="loyalty_idempotency_once")]
        indexes = [models.Index(fields=["created_at"], name="loyalty_idempotency_age_idx")]

    def __str__(self):
        return self.key


class PosLockout(models.Model):
    """An address locked out of the POS API after too many failed key checks (staff may lift it)."""

    ip = models.GenericIPAddressField(_("address"))
    failures = models.PositiveIntegerField(_("failed attempts"))
    key_prefix = models.CharField(_("last key tried starts with"), max_length=12, blank=True)
    locked_until = models.DateTimeField(_("locked until"))
    created_at = models.DateTimeField(_("locked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("POS API lockout")
        verbose_name_plural = _("POS API lockouts")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["ip", "-locked_until"], name="loyalty_poslockout_ip_idx")]

    def __str__(self):
        return f"{self.ip} → {self.locked_until:%Y-%m-%d %H:%M}"
