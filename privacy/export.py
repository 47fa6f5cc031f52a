"""Everything the CRM holds about one customer, as plain JSON and as a page staff can read.

Built from ``privacy.registry``: one section per model, one query per section, plus one per
reference field that is shown by name (a topic, a store) and one per many-to-many field, whatever
the number of rows.
"""

import datetime
import json
import uuid
import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import DateTimeField, Field
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crm.models import Customer
from privacy.models import DataRequest
from privacy.registry import HOLDINGS, Holding, contact_points

FORMAT = "crm-customer-data/1"
HELD = {holding.model for holding in HOLDINGS}


def customer_export(customer: Customer) -> dict:
    """Every row of every model that holds data about ``customer``, JSON-ready (only str, numbers,
    booleans, None, lists and dicts).

    Rows refer to each other by id (a lot movement names its lot and transaction, both exported
    too); anything else they refer to (a topic, a store, a survey question) is given by name.
    """
    contacts = contact_points(customer)
    return {
        "format": FORMAT,
        "exported_at": timezone.now().isoformat(),
        "brand": settings.BRAND_NAME,
        "customer": str(customer.public_id),
        "sections": {holding.label: _section(holding, customer, contacts) for holding in HOLDINGS},
    }


def _section(holding: Holding, customer: Customer, contacts: frozenset[str]) -> dict:
    fields = holding.exported_fields()
    columns = [f for f in fields if f.concrete]
    rows = list(holding.rows(customer, contacts).order_by("pk").values("pk", *(f.attname for f in columns)))
    names = {f.name: _names_of(f, {row[f.attname] for row in rows}) for f in columns if _by_name(f)}
    linked = {f.name: _linked(holding, f, [row["pk"] for row in rows]) for f in fields if f.many_to_many}
    out = []
    for row in rows:
        item = {}
        for f in fields:
            if f.many_to_many:
                item[f.name] = linked[f.name].get(row["pk"], [])
            elif f.name in names:
                item[f.name] = names[f.name].get(row[f.attname])
            else:
                item[f.name] = _plain(row[f.attname])
        out.append(item)
    return {"title": str(holding.title), "fields": [f.name for f in fields], "rows": out}


def _by_name(f: Field) -> bool:
    """A reference to something outside the export (a topic, a store) is shown by its name."""
    return f.is_relation and f.related_model not in HELD


def _names_of(f: Field, ids: set) -> dict:
    ids.discard(None)
    if not ids:
        return {}
    return {obj.pk: str(obj) for obj in f.related_model._base_manager.filter(pk__in=ids)}


def _linked(holding: Holding, f: Field, pks: list) -> dict:
    if not pks:
        return {}
    pairs = list(
        holding.model._base_manager.filter(pk__in=pks, **{f"{f.name}__isnull": False}).values_list("pk", f.name)
    )
    names = _names_of(f, {target for _pk, target in pairs})
    linked: dict = {}
    for pk, target in pairs:
        linked.setdefault(pk, []).append(names.get(target))
    return linked


def _plain(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.date | datetime.time):  # datetimes too
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return str(value)  # a phone number in E.164, an IP address


def customer_export_record(*, customer: Customer, kind: str, source: str, staff=None) -> dict:
    """The export, and the request for it kept as evidence (who took a copy, when), together."""
    with transaction.atomic():
        DataRequest.objects.create(customer=customer, kind=kind, source=source, staff=staff)
        return customer_export(customer)


def export_json(export: dict) -> str:
    return json.dumps(export, ensure_ascii=False, indent=2)


def export_filename(export: dict) -> str:
    day = export["exported_at"][:10]
    return f"customer-data-{export['customer']}-{day}.json"


def readable_sections(export: dict, zone: zoneinfo.ZoneInfo) -> list[dict]:
    """The export as tables for a page: headings in words, choices by their label, times in
    ``zone`` (the customer's), empty sections last."""
    sections = []
    for holding in HOLDINGS:
        section = export["sections"][holding.label]
        fields = [holding.model._meta.get_field(name) for name in section["fields"]]
        headers = [capfirst(f.verbose_name) for f in fields]
        rows = [[_shown(f, row[f.name], zone) for f in fields] for row in section["rows"]]
        # A section of one row (the customer, the preferences) reads better down the page.
        pairs = list(zip(headers, rows[0], strict=True)) if len(rows) == 1 else []
        sections.append({"title": section["title"], "headers": headers, "rows": rows, "pairs": pairs})
    return sorted(sections, key=lambda section: not section["rows"])


def local_time(value: str, zone: zoneinfo.ZoneInfo) -> str:
    return datetime.datetime.fromisoformat(value).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _shown(f: Field, value, zone: zoneinfo.ZoneInfo) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(f, DateTimeField):
        return local_time(value, zone)
    if f.choices and not isinstance(value, list | dict):
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(value, list) and f.many_to_many:
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
