"""Reads shared by the admin, the API and tasks."""

from django.db.models import Q, QuerySet

from crm.models import Customer
from crm.normalization import phone_or_none


def customer_find(*, external_id: str = "", email: str = "", phone: str = "") -> Customer | None:
    """The customer identified by any one of the given identifiers (checked in that order).

    Phones may be written in any common format; e-mails in any case.
    """
    if external_id:
        found = Customer.objects.filter(external_id=external_id.strip()).first()
        if found:
            return found
    if email:
        found = Customer.objects.filter(email=email.strip().lower()).first()
        if found:
            return found
    if phone:
        e164 = phone_or_none(phone)
        if e164:
            return Customer.objects.filter(phone=e164).first()
    return None


def customer_search(term: str) -> QuerySet[Customer]:
    """Customers matching a staff search: name, e-mail, external id, or a phone in any format."""
    term = term.strip()
    query = Q(external_id=term) | Q(email__istartswith=term)
    words = term.split()
    if words:
        name_q = Q()
        for word in words:
            name_q &= Q(first_name__istartswith=word) | Q(last_name__istartswith=word)
        query |= name_q
    e164 = phone_or_none(term)
    if e164:
        query |= Q(phone=e164)
    digits = "".join(ch for ch in term if ch.isdigit())
    if len(digits) >= 5 and len(digits) >= len(term.replace(" ", "")) - 2:
        # Part of a number ("5123 45"): E.164 keeps the digits in order.
        query |= Q(phone__contains=digits)
    return Customer.objects.filter(query)
