"""Signed, salted tokens for links in messages: no ids or personal data in URLs."""

from django.core import signing

# Unsubscribe links must keep working for at least 60 days (RFC 8058 recipients come back late).
MAX_AGE = {
    "unsubscribe": 60 * 60 * 24 * 90,
    "preferences": 60 * 60 * 24 * 90,
    "dispute": 60 * 60 * 24 * 90,
    "survey-confirm": 60 * 60 * 24 * 7,
    "survey": 60 * 60 * 24 * 90,
}


def customer_token(purpose: str, customer, preference=None, **data) -> str:
    """A token for one customer; bumping the customer's token_version revokes all of them."""
    version = preference.token_version if preference is not None else 0
    return make_token(purpose, c=str(customer.public_id), v=version, **data)


def read_customer_token(purpose: str, token: str):
    """(customer, data) for a valid, unrevoked token; None for anything else, all alike."""
    from crm.models import Customer
    from notifications.models import Preference

    data = read_token(purpose, token)
    if not data:
        return None
    customer = Customer.objects.filter(public_id=data.get("c"), is_active=True).first()
    if customer is None:
        return None
    version = Preference.objects.filter(customer=customer).values_list("token_version", flat=True).first() or 0
    if data.get("v", 0) != version:
        return None
    return customer, data


def make_token(purpose: str, **data) -> str:
    return signing.dumps(data, salt=f"notifications.{purpose}", compress=True)


def read_token(purpose: str, token: str) -> dict | None:
    """The token's data, or None when it is tampered with, unknown or expired (all the same)."""
    try:
        return signing.loads(token, salt=f"notifications.{purpose}", max_age=MAX_AGE[purpose])
    except signing.BadSignature:
        return None
