"""Signed, salted tokens for links in messages: no ids or personal data in URLs."""

from django.core import signing

MAX_AGE = {"unsubscribe": 60 * 60 * 24 * 90, "preferences": 60 * 60 * 24 * 90, "dispute": 60 * 60 * 24 * 60}


def make_token(purpose: str, **data) -> str:
    return signing.dumps(data, salt=f"notifications.{purpose}", compress=True)


def read_token(purpose: str, token: str) -> dict | None:
    """The token's data, or None when it is tampered with, unknown or expired (all the same)."""
    try:
        return signing.loads(token, salt=f"notifications.{purpose}", max_age=MAX_AGE[purpose])
    except signing.BadSignature:
        return None
