import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from crm.models import Customer
from crm.normalization import normalize_email, normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        # Estonia: mobile numbers written locally, with spaces, with the country code, with 00.
        ("5123 4567", "EE", "+37251234567"),
        ("51234567", "EE", "+37251234567"),
        ("+372 5123 4567", "FI", "+37251234567"),
        ("00372 5123 4567", "SE", "+37251234567"),
        ("(+372) 512-34-567", "EE", "+37251234567"),
        # Finland: the trunk 0 is dropped.
        ("040 123 4567", "FI", "+358401234567"),
        ("040-1234567", "FI", "+358401234567"),
        ("+358 40 123 4567", "EE", "+358401234567"),
        # Sweden.
        ("070-123 45 67", "SE", "+46701234567"),
        ("0701234567", "SE", "+46701234567"),
        ("+46 70 123 45 67", "EE", "+46701234567"),
        # Russia: the domestic 8 prefix and the usual brackets and dashes.
        ("8 (916) 123-45-67", "RU", "+79161234567"),
        ("8-916-123-45-67", "RU", "+79161234567"),
        ("+7 916 123 45 67", "EE", "+79161234567"),
    ],
)
def test_phone_normalised_to_e164(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["12", "hello", "+372 1", "+999 1234 5678", "0000000000000000"])
def test_invalid_phone_rejected(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw, "EE")


def test_default_region_reads_local_numbers(settings):
    settings.DEFAULT_PHONE_REGION = "FI"
    assert normalize_phone("040 123 4567") == "+358401234567"


def test_email_trimmed_and_lower_cased():
    assert normalize_email("  Mari.Tamm@Example.EE ") == "mari.tamm@example.ee"
    with pytest.raises(ValidationError):
        normalize_email("not-an-address")


def test_customer_clean_normalises_email_and_rejects_bad_time_zone(db):
    customer = Customer(email="Anna@Example.com", time_zone="Europe/Tallin")
    with pytest.raises(ValidationError) as excinfo:
        customer.full_clean()
    assert "time_zone" in excinfo.value.message_dict
    assert customer.email == "anna@example.com"


@pytest.mark.parametrize("zone", ["Europe/Tallinn", "Europe/Helsinki", "Europe/Stockholm", "Europe/Moscow"])
def test_customer_accepts_iana_zones(db, zone):
    Customer(email="a@example.com", time_zone=zone).full_clean()


def test_customer_needs_email_or_phone(db):
    with pytest.raises(ValidationError):
        Customer(first_name="Nobody").full_clean()
    with pytest.raises(IntegrityError):
        Customer.objects.create(first_name="Nobody")


def test_email_phone_and_external_id_unique_when_present(customer_factory):
    customer_factory(email="", phone="+37251111111", external_id="")
    customer_factory(email="", phone="+37252222222", external_id="")  # blanks do not collide
    for duplicate in ({"email": "x@example.com"}, {"phone": "+37253333333"}, {"external_id": "CARD-1"}):
        customer_factory(**duplicate)
        with pytest.raises(IntegrityError), transaction.atomic():
            customer_factory(**duplicate)


def test_phone_stored_in_e164(customer_factory):
    customer = customer_factory(phone="+372 5123 4567")
    customer.refresh_from_db()
    assert str(customer.phone) == "+37251234567"
    assert Customer.objects.filter(phone="+37251234567").exists()
