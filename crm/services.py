"""Writes to the CRM: every create and update goes through here."""

import copy
import csv
import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, TextIO

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer, District, Interaction, Language, Store
from crm.normalization import normalize_email, normalize_phone, validate_time_zone
from crm.signals import customer_changed, customers_changed
from crm.zones import moment_in

IMPORT_BATCH_SIZE = 2000
IMPORT_FIELDS = (
    "external_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "birth_date",
    "language",
    "time_zone",
    "district",
    "store",
    "address_line",
    "postal_code",
    "city",
    "country",
    "gender",
)


def customer_create(**fields) -> Customer:
    """Create a customer from normalised, validated fields (model validation runs here)."""
    customer = Customer(**fields)
    customer.full_clean()
    customer.save()
    return customer


def interaction_record(*, customer: Customer, kind: str, summary: str, staff=None, store=None) -> Interaction:
    interaction = Interaction(customer=customer, kind=kind, summary=summary, staff=staff, store=store)
    interaction.full_clean()
    interaction.save()
    return interaction


# --- CSV import -------------------------------------------------------------------------------


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, missing columns)."""


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str
    # The reasons by column, for a preview that shows them beside the cells.
    by_column: dict[str, list[str]] = field(default_factory=dict, compare=False)

    def __post_init__(self):
        # A quoted cell may hold line breaks; a report keeps one line per rejected row.
        object.__setattr__(self, "reason", " ".join(self.reason.split()))

    def __str__(self):
        return _("line %(line)s: %(reason)s") % {"line": self.line, "reason": self.reason}


@dataclass
class ImportReport:
    """What an import did, or would do on a dry run: every data row counts exactly once.

    ``created`` rows made a new customer, ``updated`` rows changed at least one value,
    ``unchanged`` rows matched a customer that already had all their values, and
    ``errors`` holds the rejected rows, in line order.
    """

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(rejected)s rejected") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.errors),
        }


class CustomerImportRowForm(forms.Form):
    """Validates and normalises one CSV row. Blank cells mean "leave as it is"."""

    external_id = forms.CharField(max_length=64, required=False)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.CharField(max_length=254, required=False)
    phone = forms.CharField(max_length=40, required=False)
    birth_date = forms.DateField(required=False, input_formats=["%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"])
    language = forms.ChoiceField(choices=[("", ""), *Language.choices], required=False)
    time_zone = forms.CharField(max_length=64, required=False, validators=[validate_time_zone])
    district = forms.CharField(max_length=100, required=False)
    store = forms.CharField(max_length=32, required=False)
    address_line = forms.CharField(max_length=255, required=False)
    postal_code = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, required=False)
    gender = forms.ChoiceField(choices=Customer.Gender.choices, required=False)

    def __init__(self, *args, region: str | None, districts: dict, stores: dict, **kwargs):
        super().__init__(*args, **kwargs)
        self.region = region
        self.districts = districts
        self.stores = stores

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])

    def clean_phone(self):
        # A local number is read in the row's own country when the file gives one.
        country = (self.data.get("country") or "").strip().upper()
        return normalize_phone(self.cleaned_data["phone"], country or self.region)

    def clean_birth_date(self):
        value = self.cleaned_data["birth_date"]
        if value and not (datetime.date(1900, 1, 1) <= value <= datetime.date.today()):
            raise ValidationError(_("birth date %(value)s is not plausible"), params={"value": value})
        return value

    def clean_country(self):
        return self.cleaned_data["country"].upper()

    def clean_store(self):
        code = self.cleaned_data["store"]
        if not code:
            return None
        try:
            return self.stores[code]
        except KeyError:
            raise ValidationError(_("unknown store code “%(code)s”"), params={"code": code}) from None

    def clean(self):
        data = super().clean()
        if (
            not data.get("email")
            and not data.get("phone")
            and not self.has_error("email")
            and not self.has_error("phone")
        ):
            raise ValidationError(_("an e-mail address or a phone number is required"))
        name = data.get("district")
        if name:
            key = (name.lower(), (data.get("city") or "").lower())
            district = self.districts.get(key) or self.districts.get((name.lower(), ""))
            if district is None:
                self.add_error("district", _("unknown district “%(name)s”") % {"name": name})
            data["district"] = district
        else:
            data["district"] = None
        return data

    def error_text(self) -> str:
        parts = []
        for name, errors in self.errors.items():
            text = "; ".join(errors)
            parts.append(text if name == "__all__" else f"{name}: {text}")
        return "; ".join(parts)

    def customer_fields(self) -> dict:
        """The non-blank values, under the Customer model's field names."""
        data = dict(self.cleaned_data)
        data["home_district"] = data.pop("district")
        data["home_store"] = data.pop("store")
        return {name: value for name, value in data.items() if value not in ("", None)}


def _district_index() -> dict:
    index = {}
    for district in District.objects.all():
        index[(district.name.lower(), district.city.lower())] = district
        # A bare name resolves only while it is unambiguous across cities.
        key = (district.name.lower(), "")
        index[key] = None if key in index else district
    return {key: value for key, value in index.items() if value is not None}


def _existing_customers(rows: list[dict]) -> list[Customer]:
    ext = {r["external_id"] for r in rows if r.get("external_id")}
    emails = {r["email"] for r in rows if r.get("email")}
    phones = {r["phone"] for r in rows if r.get("phone")}
    found: dict[int, Customer] = {}
    for values, lookup in ((ext, "external_id__in"), (emails, "email__in"), (phones, "phone__in")):
        values = sorted(values)
        for start in range(0, len(values), IMPORT_BATCH_SIZE):
            chunk = values[start : start + IMPORT_BATCH_SIZE]
            for customer in Customer.objects.filter(Q(**{lookup: chunk})).select_related("home_district", "home_store"):
                found[customer.pk] = customer
    return list(found.values())


IMPORT_IDENTIFIERS = ("external_id", "email", "phone")


def import_columns_check(columns: list[str]) -> None:
    """Refuse a file whose header cannot be imported (the CSV command and the admin import share it)."""
    if not set(columns) & {"email", "phone"}:
        raise ImportFileError(_("the file needs an “email” or a “phone” column"))
    unknown = set(columns) - set(IMPORT_FIELDS)
    if unknown:
        raise ImportFileError(_("unknown columns: %(columns)s") % {"columns": ", ".join(sorted(unknown))})


@dataclass
class CustomerImport:
    """An import worked out in memory: the report, and per line what it does to which customer.

    ``outcomes`` maps a line to "created", "updated", "unchanged" or its RowError; ``customers``
    maps a line to the customer it touches (the very object that ``customers_import_write``
    stores); ``before`` holds, when asked for, a copy of an existing customer as it was before
    the line (what a preview compares with).
    """

    report: ImportReport
    plan: "_ImportPlan"
    outcomes: dict[int, str | RowError] = field(default_factory=dict)
    customers: dict[int, Customer] = field(default_factory=dict)
    before: dict[int, Customer] = field(default_factory=dict)


def customers_import_prepare(
    *, rows: Iterable[tuple[int, dict]], region: str | None = None, keep_before: bool = False
) -> CustomerImport:
    """Validate, normalise and match rows (line number, {column: text}) as ``customers_import_csv`` does.

    Nothing is written; ``customers_import_write`` writes the result.
    """
    districts = _district_index()
    stores = {store.code: store for store in Store.objects.all()}
    report = ImportReport()
    valid: list[tuple[int, dict]] = []
    outcomes: dict[int, str | RowError] = {}
    for line, row in rows:
        row = {name: (value or "").strip() for name, value in row.items()}
        form = CustomerImportRowForm(row, region=region, districts=districts, stores=stores)
        if form.is_valid():
            valid.append((line, form.customer_fields()))
        else:
            error = RowError(line, form.error_text(), by_column=_errors_by_column(form))
            report.errors.append(error)
            outcomes[line] = error

    plan = _ImportPlan(_existing_customers([fields for _line, fields in valid]))
    prepared = CustomerImport(report=report, plan=plan, outcomes=outcomes)
    for line, fields in valid:
        touched = plan.customer_of(fields)
        if keep_before and touched is not None and touched.pk is not None:
            prepared.before[line] = copy.copy(touched)
        outcome = plan.apply(line, fields)
        outcomes[line] = outcome
        if isinstance(outcome, RowError):
            report.errors.append(outcome)
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
            prepared.customers[line] = touched if touched is not None else plan.to_create[-1]
    report.errors.sort(key=lambda error: error.line)
    return prepared


def customers_import_write(*, prepared: CustomerImport) -> None:
    """Store what ``customers_import_prepare`` worked out: new customers and changed ones, in bulk."""
    plan = prepared.plan
    to_update = list(plan.to_update.values())
    now = timezone.now()
    for customer in to_update:
        customer.updated_at = now  # bulk_update does not apply auto_now
    with transaction.atomic():
        Customer.objects.bulk_create(plan.to_create, batch_size=IMPORT_BATCH_SIZE)
        if to_update:
            Customer.objects.bulk_update(
                to_update, fields=sorted(plan.changed_fields | {"updated_at"}), batch_size=IMPORT_BATCH_SIZE
            )
            # As customer_update does for one: a phone filled in re-plans the customer's queued messages.
            customers_changed.send(
                sender=Customer,
                changes={customer: frozenset(plan.changed_by[customer.pk]) for customer in to_update},
            )


def _errors_by_column(form: forms.Form) -> dict[str, list[str]]:
    return {(_COLUMN_OF_FIELD.get(name, name)): list(errors) for name, errors in form.errors.items()}


def customers_import_csv(*, file: TextIO, region: str | None = None, dry_run: bool = False) -> ImportReport:
    """Import customers from CSV: normalise, report bad rows by line number, never duplicate.

    A row finds its customer by external id, e-mail or phone and sets its other non-blank
    cells. Identifiers are filled in when blank but never replaced: a loyalty card or an
    e-mail pointing at the wrong customer must not silently move to another person, so a row
    whose identifiers belong to different customers, or differ from ones its customer already
    has, is rejected. Rows for the same customer in one file are merged; a later row that
    contradicts an earlier one is rejected, so the result never depends on row order. Nothing
    of a rejected row is written; the good rows are written in one transaction. Counts compare
    with what is stored, so re-running a file reports every row unchanged, and a dry run
    reports exactly what a real run would do.
    """
    reader = csv.reader(file)
    header = next(reader, None)
    if header is None:
        raise ImportFileError(_("the file is empty"))
    columns = [name.strip().lower() for name in header]
    import_columns_check(columns)

    def rows():
        while True:
            line = reader.line_num + 1  # where the record starts: a quoted cell may span lines
            record = next(reader, None)
            if record is None:
                return
            if record:  # not a blank line
                yield line, dict(zip(columns, record, strict=False))

    prepared = customers_import_prepare(rows=rows(), region=region)
    if not dry_run:
        customers_import_write(prepared=prepared)
    return prepared.report


class _ImportPlan:
    """The customers an import creates and changes, built row by row in memory.

    Customers are keyed by ``id()``: the ones a file creates have no primary key yet.
    """

    def __init__(self, existing: list[Customer]):
        self.by_identifier: dict[tuple[str, str], Customer] = {}
        self.stated: dict[int, dict[str, int]] = {}  # customer → field → first line that gave it
        self.created_on: dict[int, int] = {}
        self.to_create: list[Customer] = []
        self.to_update: dict[int, Customer] = {}
        self.changed_fields: set[str] = set()
        self.changed_by: dict[int, set[str]] = {}  # existing customer's pk → its changed fields
        for customer in existing:
            self._remember(customer)

    def customer_of(self, fields: dict) -> Customer | None:
        """The one customer known so far that the row's identifiers find (None: none, or several)."""
        found = {
            id(customer): customer
            for name in IMPORT_IDENTIFIERS
            if (customer := self.by_identifier.get((name, str(fields.get(name) or "")))) is not None
        }
        return next(iter(found.values())) if len(found) == 1 else None

    def apply(self, line: int, fields: dict) -> Literal["created", "updated", "unchanged"] | RowError:
        """Add one validated row; return "created", "updated", "unchanged" or the row's error."""
        matches: dict[int, tuple[Customer, list[str]]] = {}
        for name in IMPORT_IDENTIFIERS:
            customer = self.by_identifier.get((name, str(fields.get(name) or "")))
            if customer is not None:
                matches.setdefault(id(customer), (customer, []))[1].append(name)
        if len(matches) > 1:
            owners = "; ".join(
                f"{name}: {self._label(customer)}" for customer, names in matches.values() for name in names
            )
            return RowError(
                line, _("its identifiers belong to different existing customers (%(owners)s)") % {"owners": owners}
            )
        if not matches:
            customer = Customer(**fields)
            self.to_create.append(customer)
            self.created_on[id(customer)] = line
            self.stated[id(customer)] = dict.fromkeys(fields, line)
            self._remember(customer)
            return "created"

        [(customer, matched_by)] = matches.values()
        stated = self.stated.setdefault(id(customer), {})
        problems = [
            self._contradiction(name, stated)
            if name in stated
            else self._replaced_identifier(name, fields[name], customer, matched_by)
            for name in IMPORT_IDENTIFIERS
            if name in fields and str(getattr(customer, name) or "") not in ("", str(fields[name]))
        ]
        problems += [
            self._contradiction(name, stated)
            for name, value in fields.items()
            if name not in IMPORT_IDENTIFIERS and name in stated and not _same(getattr(customer, name), value)
        ]
        if problems:
            return RowError(line, "; ".join(problems))

        for name in fields:
            stated.setdefault(name, line)
        changes = {name: value for name, value in fields.items() if not _same(getattr(customer, name), value)}
        if not changes:
            return "unchanged"
        for name, value in changes.items():
            setattr(customer, name, value)
        self._remember(customer)  # identifiers it has just been given
        if customer.pk is not None:
            self.to_update[customer.pk] = customer
            self.changed_fields.update(changes)
            self.changed_by.setdefault(customer.pk, set()).update(changes)
        return "updated"

    def _remember(self, customer: Customer) -> None:
        for name in IMPORT_IDENTIFIERS:
            value = str(getattr(customer, name) or "")
            if value:
                self.by_identifier[(name, value)] = customer

    def _label(self, customer: Customer) -> str:
        """Name a customer in a report without spelling out their contact details."""
        if customer.pk is None:
            return _("the new customer from line %(line)s") % {"line": self.created_on[id(customer)]}
        if customer.external_id:
            return _("customer %(external_id)s") % {"external_id": customer.external_id}
        contact = _masked("email", customer.email) if customer.email else _masked("phone", str(customer.phone))
        return _("customer %(contact)s") % {"contact": contact}

    def _replaced_identifier(self, name: str, value, customer: Customer, matched_by: list[str]) -> str:
        return _(
            "%(column)s “%(value)s” differs from the %(column)s of %(customer)s (matched by %(matched_by)s); "
            "an identifier already set is never replaced"
        ) % {
            "column": name,
            "value": _masked(name, str(value)),
            "customer": self._label(customer),
            "matched_by": ", ".join(matched_by),
        }

    @staticmethod
    def _contradiction(name: str, stated: dict[str, int]) -> str:
        return _("%(column)s differs from line %(line)s for the same customer") % {
            "column": _COLUMN_OF_FIELD.get(name, name),
            "line": stated[name],
        }


# The CSV columns that the row form renames to Customer fields.
_COLUMN_OF_FIELD = {"home_district": "district", "home_store": "store"}


def _masked(name: str, value: str) -> str:
    """An e-mail or phone shown in a report keeps only enough to recognise it."""
    if name == "email":
        local, _at, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if name == "phone":
        return value[:4] + "*" * max(len(value) - 6, 3) + value[-2:]
    return value


def _same(current, new) -> bool:
    if hasattr(current, "as_e164"):  # PhoneNumber
        return current.as_e164 == str(new)
    return current == new


def customer_update(*, customer: Customer, **fields) -> Customer:
    """Change a customer's own data (other apps, e.g. surveys, and the admin write through here).

    Sends ``customer_changed`` with the fields whose value changed, in the same transaction, so a
    new phone number or a removed e-mail re-plans the customer's queued messages before commit.
    """
    with transaction.atomic():
        before = {name: getattr(customer, name) for name in fields}
        for name, value in fields.items():
            setattr(customer, name, value)
        customer.full_clean()
        customer.save()
        changed = frozenset(name for name in fields if not _same(before[name], getattr(customer, name)))
        if changed:
            customer_changed.send(sender=Customer, customer=customer, fields=changed)
    return customer


# What erasure blanks on the customer row: everything that says who the customer is or where
# they can be found. Language and time zone stay (they identify nobody, and the ledger's jobs read them).
PERSONAL_FIELDS = {
    "first_name": "",
    "last_name": "",
    "email": "",
    "phone": "",
    "external_id": "",
    "birth_date": None,
    "gender": "",
    "address_line": "",
    "postal_code": "",
    "city": "",
    "country": "",
    "home_district": None,
    "home_store": None,
}


def customer_anonymise(*, customer: Customer, now: datetime.datetime | None = None) -> Customer:
    """Blank the customer's personal fields, close the account and revoke every link sent to them.

    The row itself stays, so the ledger and the consent history keep their customer. Through
    ``customer_update``: other apps hear that the contact points and ``is_active`` changed (queued
    messages are suppressed) in the same transaction.
    """
    return customer_update(
        customer=customer,
        **PERSONAL_FIELDS,
        is_active=False,
        token_version=customer.token_version + 1,
        erased_at=now or timezone.now(),
    )


def callback_schedule(*, customer: Customer, due_at, subject: str, notes: str = "", assigned_to=None):
    from crm.models import Callback

    return Callback.objects.create(
        customer=customer, due_at=due_at, subject=subject[:200], notes=notes, assigned_to=assigned_to
    )


def callback_reminders_send(*, now=None) -> int:
    """Remind staff of the calls due now: once per callback, to the assignee (or all staff)."""
    from django.contrib.auth import get_user_model
    from django.core.mail import send_mail

    from crm.models import Callback

    now = now or timezone.now()
    sent = 0
    staff_emails = list(
        get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="").values_list("email", flat=True)
    )
    due = Callback.objects.filter(status=Callback.Status.OPEN, due_at__lte=now, reminded_at__isnull=True)
    for callback in due.select_related("customer", "assigned_to").order_by("due_at")[:500]:
        with transaction.atomic():
            claimed = Callback.objects.filter(pk=callback.pk, reminded_at__isnull=True).update(reminded_at=now)
            if not claimed:
                continue
            recipients = (
                [callback.assigned_to.email] if callback.assigned_to and callback.assigned_to.email else staff_emails
            )
            if recipients:
                send_mail(
                    subject=_("Call %(customer)s now: %(subject)s")
                    % {"customer": callback.customer, "subject": callback.subject},
                    message="\n".join(
                        [
                            str(callback.customer),
                            str(callback.customer.phone or ""),
                            _("Agreed for %(time)s, the customer's local time (%(zone)s)")
                            % {
                                "time": moment_in(callback.due_at, callback.customer.zone),
                                "zone": callback.customer.time_zone,
                            },
                            callback.subject,
                            "",
                            callback.notes,
                        ]
                    ),
                    from_email=None,
                    recipient_list=recipients,
                )
            sent += 1
    return sent
