"""Erasure: a customer's personal data goes, the ledger's totals and the consent proof stay.

A customer is never deleted (the admin offers no delete, and the consent history and the ledger
protect the row): the row is anonymised instead, and every model ``privacy.registry`` lists is
anonymised as its entry says, in one transaction and a statement or two per model.

What stays, and why:
- the ledger (every transaction, lot and movement, with points and amounts): the balance and the
  shop's liability must still add up; staff's words in it lose any mention of the customer;
- the consent history (channel, topic, scope, action, source, wording, time): the proof that the
  messages sent before were allowed. The IP address keeps its network only (IPv4 /24, IPv6 /48)
  and the user agent goes: once the customer is anonymous they identify a person and prove
  nothing more. A complaint about a message sent before is matched through the link in that
  message (it names the customer's public id, which stays), not through the address;
- the customer row, inactive, with ``erased_at``, its public id, language and time zone.
"""

import datetime
import ipaddress
import operator
from functools import reduce

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Replace
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEntry
from crm.models import Customer
from crm.services import customer_anonymise
from notifications.models import Notification
from privacy.models import DataRequest
from privacy.registry import ERASED, HOLDINGS, NETWORK_ONLY, Holding, contact_points


def customer_erase(*, customer: Customer, staff, reason: str, now: datetime.datetime | None = None) -> DataRequest:
    """Erase ``customer``'s personal data and record who did it, when and why; returns the record.

    Every link sent to the customer stops working, messages still waiting are suppressed (the
    customer is inactive) and letters not yet posted leave their batch. Raises ValidationError
    without a reason, or when the customer was erased before.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the customer's data is erased."), code="reason")
    now = now or timezone.now()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.erased_at:
            raise ValidationError(_("This customer's personal data was erased before."), code="erased")
        # Taken before the customer row is blanked: other rows are found and cleaned by them.
        contacts = contact_points(customer)
        mentions = _mentions(customer, contacts)
        rows = {holding: holding.rows(customer, contacts) for holding in HOLDINGS}

        _admin_history_scrub(rows, mentions)
        _audit_trail_scrub(rows, mentions)
        _messages_in_flight_stop(customer, now)
        customer_anonymise(customer=customer, now=now)
        for holding, found in rows.items():
            _anonymise(holding, found, mentions)
        return DataRequest.objects.create(
            customer=customer,
            kind=DataRequest.Kind.ERASURE,
            source=DataRequest.Source.ADMIN,
            staff=staff,
            reason=reason,
        )


def _messages_in_flight_stop(customer: Customer, now: datetime.datetime) -> None:
    """Letters not yet posted leave their batch. A message a sender holds right now cannot be
    called back, but its lease is fenced off (a new attempt number): what that sender records
    afterwards (the text as sent) is refused, and when the lease runs out the dispatcher finds
    the customer inactive and suppresses the row."""
    messages = Notification.objects.filter(customer=customer)
    messages.filter(status=Notification.Status.PRINTING).update(
        status=Notification.Status.CANCELLED, reason=Notification.Reason.INACTIVE, letter_batch=None, updated_at=now
    )
    messages.filter(status=Notification.Status.SENDING).update(attempts=F("attempts") + 1, updated_at=now)


def _mentions(customer: Customer, contacts: frozenset[str]) -> list[str]:
    """What staff may have written about the customer in text that stays: longest first, so a full
    name goes before its parts; values of one or two letters are left (they would mangle words)."""
    values = {customer.full_name, customer.first_name, customer.last_name, customer.external_id}
    values |= {customer.address_line, *contacts}
    return sorted((value for value in values if len(value) > 2), key=lambda value: (-len(value), value))


def _scrubbed(expression, mentions: list[str]):
    return reduce(lambda text, value: Replace(text, Value(value), Value(ERASED)), mentions, expression)


def _anonymise(holding: Holding, rows, mentions: list[str]) -> None:
    # The fields that find rows by contact point (a sender, a recipient) are blanked last: every
    # statement before still finds the same rows.
    if holding.delete:
        rows.delete()
        return
    if holding.scrub and mentions:
        rows.update(**{name: _scrubbed(F(name), mentions) for name in holding.scrub})
    for name in holding.clear:
        link = holding.model._meta.get_field(name)
        link.remote_field.through.objects.filter(**{f"{link.m2m_field_name()}__in": rows}).delete()
    for name in (name for name, value in holding.erase.items() if value is NETWORK_ONLY):
        _networks_only(rows.filter(holding.erase_where), name)
    plain = {name: value for name, value in holding.erase.items() if value is not NETWORK_ONLY}
    if plain:
        rows.filter(holding.erase_where).update(**plain)


def network_of(address: str) -> str:
    """The network an address belongs to, as an address: 203.0.113.77 → 203.0.113.0 (IPv6: its /48)."""
    ip = ipaddress.ip_address(address)
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def _networks_only(rows, name: str) -> None:
    # A handful of rows per customer, and no portable SQL for it: one bulk statement from Python.
    found = list(rows.exclude(**{name: None}).only("pk", name))
    for row in found:
        setattr(row, name, network_of(getattr(row, name)))
    rows.model._base_manager.bulk_update(found, [name])


def _admin_history_scrub(rows: dict[Holding, object], mentions: list[str]) -> None:
    """The admin's change history names each object as it was ("Mari Tamm"): those names go too."""
    if not mentions:
        return
    for holding, found in rows.items():
        content_type = ContentType.objects.get_for_model(holding.model)
        ids = found.annotate(object_key=Cast("pk", CharField())).values("object_key")
        LogEntry.objects.filter(content_type=content_type, object_id__in=ids).update(
            object_repr=_scrubbed(F("object_repr"), mentions),
            change_message=_scrubbed(F("change_message"), mentions),
        )


def _audit_trail_scrub(rows: dict[Holding, object], mentions: list[str]) -> None:
    """The audit trail keeps who did what to these rows, and which fields changed; the values
    before and after, and the names the rows had, go."""
    about = reduce(
        operator.or_,
        (
            Q(object_type=holding.label, object_id__in=found.annotate(key=Cast("pk", CharField())).values("key"))
            for holding, found in rows.items()
        ),
    )
    entries = AuditEntry.objects.filter(about)
    if mentions:
        entries.update(object_repr=_scrubbed(F("object_repr"), mentions))
    changed = [entry for entry in entries.exclude(changes={}).only("pk", "changes")]
    for entry in changed:
        entry.changes = {name: [ERASED, ERASED] for name in entry.changes}
    AuditEntry.objects.bulk_update(changed, ["changes"])
