"""Customers and stores as files (django-import-export resources), for the admin's import and export.

A customer file has the columns of ``manage.py import_customers`` and is read by the same code
(crm.services): the same normalisation (E.164 phones, lower-case e-mails), the same matching by
external id, e-mail or phone, the same refusal to replace an identifier or to take contradicting
rows, and the same bulk writes. django-import-export only walks the rows for the preview: each
row shows what it does to its customer, or why it is refused, column by column.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from crm.models import Customer, District, Store
from crm.normalization import normalize_phone
from crm.services import (
    IMPORT_FIELDS,
    CustomerImport,
    RowError,
    customers_import_prepare,
    customers_import_write,
    import_columns_check,
)


class PhoneWidget(widgets.CharWidget):
    """A phone in any common format in, E.164 out (crm.normalization)."""

    def clean(self, value, row=None, **kwargs):
        try:
            return normalize_phone(str(value or ""))
        except ValidationError as error:
            raise ValueError(" ".join(error.messages)) from None

    def render(self, value, obj=None, **kwargs):
        return str(value or "")


class DistrictWidget(widgets.ForeignKeyWidget):
    """A district as "name, city" (as staff and segments name it), or a bare name while it is unambiguous."""

    def __init__(self, **kwargs):
        super().__init__(District, **kwargs)

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip()
        if not text:
            return None
        name, _comma, city = (part.strip() for part in text.partition(","))
        found = list(District.objects.filter(name__iexact=name, **({"city__iexact": city} if city else {}))[:2])
        if len(found) != 1:
            raise ValueError(_("unknown or ambiguous district “%(name)s”") % {"name": text})
        return found[0]

    def render(self, value, obj=None, **kwargs):
        return str(value) if value is not None else ""


class CustomerResource(resources.ModelResource):
    """The columns of ``import_customers``. The whole file is worked out at once in ``before_import``
    (crm.services.customers_import_prepare); each row then only shows its part of it."""

    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())
    # The district by name with the customer's city beside it, as the import reads it.
    district = fields.Field(
        attribute="home_district", column_name="district", widget=widgets.ForeignKeyWidget(District, "name")
    )
    store = fields.Field(attribute="home_store", column_name="store", widget=widgets.ForeignKeyWidget(Store, "code"))

    class Meta:
        model = Customer
        fields = IMPORT_FIELDS
        import_order = export_order = IMPORT_FIELDS
        import_id_fields = ()
        skip_unchanged = True
        report_skipped = True
        # The row form of crm.services validates; the model's checks would ask the database about
        # uniqueness row by row, which the matching has answered for the whole file at once.
        clean_model_instances = False
        # No savepoint per row: the rows are written together by after_import (save_instance stores nothing).
        use_bulk = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.prepared: CustomerImport | None = None
        self.line = 0

    def before_import(self, dataset, **kwargs):
        columns = [str(name or "").strip().lower() for name in dataset.headers or []]
        import_columns_check(columns)
        dataset.headers = columns
        rows = (
            (number, dict(zip(columns, (str(v) if v is not None else "" for v in values), strict=False)))
            for number, values in enumerate(dataset, 1)
            if any(str(v or "").strip() for v in values)  # a blank line
        )
        self.prepared = customers_import_prepare(rows=rows, keep_before=True)

    def import_row(self, row, instance_loader, **kwargs):
        self.line = kwargs["row_number"]
        return super().import_row(row, instance_loader, **kwargs)

    def get_or_init_instance(self, instance_loader, row):
        outcome = self.prepared.outcomes.get(self.line)
        if outcome is None:  # a blank line
            return Customer(), False
        if isinstance(outcome, RowError):
            raise ValidationError(outcome.by_column or {NON_FIELD_ERRORS: [outcome.reason]})
        before = self.prepared.before.get(self.line)
        if before is not None:  # an existing customer, as stored
            return before, False
        # A customer new in this file: the object the import will store (its id comes with it).
        return self.prepared.customers[self.line], outcome == "created"

    def import_instance(self, instance, row, **kwargs):
        customer = self.prepared.customers.get(self.line)
        if customer is None or customer is instance:
            return
        for field in Customer._meta.concrete_fields:
            name = field.name if field.is_relation else field.attname
            setattr(instance, name, getattr(customer, name))

    def skip_row(self, instance, original, row, import_validation_errors=None):
        return self.prepared.outcomes.get(self.line) in (None, "unchanged")

    def save_instance(self, instance, is_create, row, **kwargs):
        """Nothing row by row: ``after_import`` writes the whole file in bulk."""

    def after_import(self, dataset, result, **kwargs):
        if kwargs.get("dry_run") or result.has_errors() or result.has_validation_errors():
            return
        customers_import_write(prepared=self.prepared)


STORE_COLUMNS = ("code", "name", "district", "address", "phone", "time_zone", "opening_hours", "is_active")


class StoreResource(resources.ModelResource):
    """Stores by their POS code: a file's row updates the store with its code or adds one."""

    district = fields.Field(attribute="district", column_name="district", widget=DistrictWidget())
    phone = fields.Field(attribute="phone", column_name="phone", widget=PhoneWidget())

    class Meta:
        model = Store
        fields = STORE_COLUMNS
        import_order = export_order = STORE_COLUMNS
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return super().get_queryset().select_related("district")
