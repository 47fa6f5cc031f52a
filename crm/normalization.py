"""Normalising contact points before they are stored or looked up.

Phones are stored in E.164; local formats are read in the configured default region
(``DEFAULT_PHONE_REGION``) unless a region is given. E-mails are stored in lower case.
"""

import zoneinfo
from functools import cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _


def normalize_email(raw: str) -> str:
    """Trim and lower-case an e-mail address; raise ValidationError if it is not one."""
    email = (raw or "").strip().lower()
    if not email:
        return ""
    validate_email(email)
    return email


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return the E.164 form of a phone number written in any common format.

    Raises ValidationError for text that is not a valid number of a real numbering plan.
    """
    text = (raw or "").strip()
    if not text:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region or settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid_phone", params={"value": raw}
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("“%(value)s” is not a valid phone number."), code="invalid_phone", params={"value": raw}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_none(raw: str, region: str | None = None) -> str | None:
    """The E.164 form of ``raw``, or None when it is not a valid number (for searches)."""
    try:
        return normalize_phone(raw, region) or None
    except ValidationError:
        return None


@cache
def available_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in available_time_zones():
        raise ValidationError(
            _("“%(value)s” is not an IANA time zone (e.g. Europe/Tallinn)."),
            code="invalid_time_zone",
            params={"value": value},
        )
