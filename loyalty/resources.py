"""Points adjustments from a file (django-import-export), for the admin's import.

A row names its customer by loyalty card (``external_id``), ``email`` or ``phone`` and gives
``points`` (positive adds, negative takes away) and a ``reason``. Each row goes through
``services.points_adjust``, which appends the ledger lines under the account's lock: the balance
follows the ledger, a deduction larger than the balance is refused, and nothing writes a balance
directly. Each row carries an idempotency key: the optional ``reference`` column when given,
otherwise the customer, the points, the reason and which repetition of that same line in the file
it is. Importing the same file again therefore changes nothing (its rows show as skipped); a
line repeated in one file counts as many times as it is written. To give the same customer the
same adjustment again in a later file, give it a new ``reference``.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _
from import_export import fields, resources

from crm.access import store_scoped
from crm.models import Customer
from crm.normalization import phone_or_none
from loyalty import services
from loyalty.models import BonusTransaction

ADJUSTMENT_COLUMNS = ("external_id", "email", "phone", "points", "reason", "reference")
IDENTIFIERS = ("external_id", "email", "phone")
# The ledger source of imported adjustments, whoever imports them: a file re-imported by a
# colleague is the same file.
IMPORT_SOURCE = "staff-import"


@dataclass(frozen=True)
class _Line:
    customer: Customer | None
    key: str
    error: tuple[str, str] | None  # (column, message)


def _identifier(column: str, value) -> str:
    text = str(value or "").strip()
    if column == "email":
        return text.lower()
    if column == "phone":
        return phone_or_none(text) or "" if text else ""
    return text


class AdjustmentResource(resources.ModelResource):
    external_id = fields.Field(attribute="external_id", column_name="external_id")
    email = fields.Field(attribute="email", column_name="email")
    phone = fields.Field(attribute="phone", column_name="phone")
    reference = fields.Field(attribute="reference", column_name="reference")

    class Meta:
        model = BonusTransaction
        fields = ADJUSTMENT_COLUMNS
        import_order = ADJUSTMENT_COLUMNS
        import_id_fields = ()
        report_skipped = True
        clean_model_instances = False  # points_adjust validates, under the account's lock

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lines: dict[int, _Line] = {}
        self.done: set[str] = set()
        self.line = 0
        self.user = None

    def before_import(self, dataset, **kwargs):
        """Find every row's customer and key at once: three lookups and one for keys already used."""
        self.user = kwargs["user"]
        columns = [str(name or "").strip().lower() for name in dataset.headers or []]
        missing = [name for name in ("points", "reason") if name not in columns]
        if missing or not set(columns) & set(IDENTIFIERS):
            raise ValueError(
                _("The file needs the columns “points”, “reason” and one of “external_id”, “email”, “phone”.")
            )
        dataset.headers = columns
        rows = [dict(zip(columns, values, strict=False)) for values in dataset]
        wanted = {name: {_identifier(name, row.get(name)) for row in rows} - {""} for name in IDENTIFIERS}
        found: dict[tuple[str, str], Customer] = {}
        if any(wanted.values()):
            query = (
                Q(external_id__in=wanted["external_id"]) | Q(email__in=wanted["email"]) | Q(phone__in=wanted["phone"])
            )
            customers = store_scoped(Customer.objects.filter(query, erased_at__isnull=True), self.user)
            for customer in customers:
                for name in IDENTIFIERS:
                    value = str(getattr(customer, name) or "")
                    if value:
                        found[(name, value)] = customer
        repeats: Counter = Counter()
        for number, row in enumerate(rows, 1):
            self.lines[number] = self._line(row, found, repeats)
        keys = [line.key for line in self.lines.values() if line.key]
        self.done = set(
            BonusTransaction.objects.filter(source=IMPORT_SOURCE, idempotency_key__in=keys).values_list(
                "idempotency_key", flat=True
            )
        )

    def _line(self, row: dict, found: dict, repeats: Counter) -> _Line:
        given = [(name, _identifier(name, row.get(name))) for name in IDENTIFIERS if str(row.get(name) or "").strip()]
        if not given:
            return _Line(None, "", ("external_id", _("Name the customer by external_id, email or phone.")))
        matches = {found[key].pk: found[key] for key in given if key in found}
        if len(matches) != 1:
            column = given[0][0]
            if matches:
                return _Line(None, "", (column, _("The identifiers name different customers.")))
            return _Line(None, "", (column, _("No customer you may see has this %(column)s.") % {"column": column}))
        [customer] = matches.values()
        reference = str(row.get("reference") or "").strip()
        if reference:
            return _Line(customer, f"ref:{reference}", None)
        points, reason = str(row.get("points") or "").strip(), str(row.get("reason") or "").strip()
        same = (customer.pk, points, reason)
        repeats[same] += 1
        digest = hashlib.sha256(f"{customer.pk}\n{points}\n{reason}".encode()).hexdigest()[:32]
        return _Line(customer, f"row:{digest}:{repeats[same]}", None)

    def import_row(self, row, instance_loader, **kwargs):
        self.line = kwargs["row_number"]
        return super().import_row(row, instance_loader, **kwargs)

    def get_or_init_instance(self, instance_loader, row):
        return BonusTransaction(kind=BonusTransaction.Kind.ADJUSTMENT), True

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        line = self.lines[self.line]
        if line.error:
            errors.setdefault(line.error[0], []).append(line.error[1])
        if errors:
            raise ValidationError(errors)

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return not import_validation_errors and self.lines[self.line].key in self.done

    def save_instance(self, instance, is_create, row, **kwargs):
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return
        line = self.lines[self.line]
        try:
            tx = services.points_adjust(
                customer=line.customer,
                points=instance.points or 0,
                reason=instance.reason or "",
                staff=self.user,
                key=line.key,
                source=IMPORT_SOURCE,
            )
        except services.DuplicateEvent as error:
            raise ValidationError({"reference": [error.message]}) from None
        except services.LoyaltyError as error:
            column = error.field if error.field in ADJUSTMENT_COLUMNS else "points"
            raise ValidationError({column: [error.message]}) from None
        instance.pk, instance.account_id, instance.occurred_at = tx.pk, tx.account_id, tx.occurred_at
