"""Signed, salted tokens for links in messages: no ids or personal data in URLs.

Every app's customer pages read them (preference centre, unsubscribe, dispute, surveys); raising
a customer's ``token_version`` revokes every link already sent to that customer.
"""

from django.core import signing

from crm.models import Customer

# Unsubscribe links must keep working for at least 60 days (RFC 8058 recipients come back late).
MAX_AGE = {
    "unsubscribe": 60 * 60 * 24 * 90,
    "preferences": 60 * 60 * 24 * 90,
    "dispute": 60 * 60 * 24 * 90,
    "survey-confirm": 60 * 60 * 24 * 7,
    "survey": 60 * 60 * 24 * 90,
}


def customer_token(purpose: str, customer: Customer, **data) -> str:
    """A token for one customer; raising the customer's token_version revokes all of them."""
    return make_token(purpose, c=str(customer.public_id), v=customer.token_version, **data)


def read_customer_token(purpose: str, token: str) -> tuple[Customer, dict] | None:
    """(customer, data) for a valid, unrevoked token; None for anything else, all alike."""
    data = read_token(purpose, token)
    if not data:
        return None
    customer = Customer.objects.filter(public_id=data.get("c"), is_active=True).first()
    if customer is None or data.get("v", 0) != customer.token_version:
        return None
    return customer, data


def make_token(purpose: str, **data) -> str:
    # The salt keeps the prefix of the app that first signed these links: links already sent stay valid.
    return signing.dumps(
        data, salt=f"notifications.{purpose}", compress=False
    )  # payloads are short; zlib only costs time


def read_token(purpose: str, token: str) -> dict | None:
    """The token's data, or None when it is tampered with, unknown or expired (all the same)."""
    try:
        return signing.loads(token, salt=f"notifications.{purpose}", max_age=MAX_AGE[purpose])
    except signing.BadSignature:
        return None
